package esp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hookgate/hookgate/event"
)

// Errors Parse returns, wrapped with the source and the details; test them
// with errors.Is. An error that wraps none of them is a bug or a limit.
var (
	// ErrUnauthenticated marks a request that failed the source's
	// verification: a bad or missing signature, wrong credentials, a stale
	// timestamp, a replayed token or a topic not on the allow-list. The
	// handler answers 401 and stores nothing.
	ErrUnauthenticated = errors.New("unauthenticated")

	// ErrMalformed marks a request whose body is not in the source's format
	// as a whole (not JSON, not the expected shape, too many events). The
	// handler answers 400. A single bad event of a batch is a Rejection
	// instead.
	ErrMalformed = errors.New("malformed body")

	// ErrUnavailable marks a verification that could not be done for now,
	// such as an SNS signing certificate that could not be fetched. The
	// handler answers 503 so that the ESP retries.
	ErrUnavailable = errors.New("verification unavailable")
)

// Request is an ESP's webhook request as the handler received it.
type Request struct {
	// Method is the HTTP method; empty means POST. Adapters read every
	// request as a POST, except that Mandrill answers its HEAD probe of a
	// new webhook URL with an empty Result; the handler should pass HEAD
	// requests to the mandrill adapter and refuse other methods.
	Method string

	// Header holds the request headers. Keys need not be canonical.
	Header http.Header

	// Body is the raw request body, read whole. Adapters verify these exact
	// bytes before they parse them.
	Body []byte
}

// Result is what one authentic request yields.
type Result struct {
	// Events are the canonical events, in the order of the ESP's items. One
	// item may give several events (a hard bounce gives two, an SES record
	// one per recipient).
	Events []*event.Event

	// Rejected are the items that were authentic but invalid, with Index
	// the item's position in the ESP's batch (0 for single-event sources).
	// They never sink the valid ones.
	Rejected []event.Rejection

	// Unmapped counts authentic items of a kind hookgate has no canonical
	// type for (an SES "Subscription" record, a SendGrid resubscribe, an
	// SNS UnsubscribeConfirmation...). They are not errors: the handler
	// answers 2xx so the ESP does not retry them.
	Unmapped int

	// Subscription is set when the request was an authentic SNS
	// SubscriptionConfirmation for an allowed topic. See Confirmer.
	Subscription *Subscription
}

// Subscription is an SNS request to confirm that this route wants a topic's
// notifications.
type Subscription struct {
	// TopicARN is the topic asking to be confirmed; it is on the allow-list.
	TopicARN string `json:"topic_arn"`

	// SubscribeURL is the URL to GET to confirm; it is an https URL on an
	// sns.<region>.amazonaws.com host.
	SubscribeURL string `json:"subscribe_url"`

	// AutoConfirm is true when the route's auto_confirm is set: the handler
	// should confirm through the adapter's Confirmer. Otherwise an operator
	// confirms by hand (the handler logs SubscribeURL).
	AutoConfirm bool `json:"auto_confirm"`
}

// Adapter verifies and translates one ESP's webhook requests. Adapters are
// safe for concurrent use.
type Adapter interface {
	// Source names the ESP, as hookgate_ingest takes it ("sendgrid", ...).
	Source() string

	// Verifies reports whether the adapter refuses requests that do not
	// come from the configured sender. When it is false the route accepts
	// unsigned requests and the handler should warn at start-up.
	Verifies() bool

	// Parse verifies r with the source's scheme, over the raw body, and then
	// translates its items into canonical events, applying d. The error
	// wraps ErrUnauthenticated, ErrMalformed or ErrUnavailable; invalid
	// items are Result.Rejected, not errors.
	Parse(ctx context.Context, r *Request, d event.Defaults) (*Result, error)
}

// Confirmer is implemented by adapters whose ESP asks for subscriptions to be
// confirmed (SES through SNS).
type Confirmer interface {
	// Confirm GETs the SubscribeURL of s, when s.AutoConfirm is set, through
	// the adapter's HTTP client. It fails for a subscription that is not to
	// be confirmed automatically or a URL off the ESP's hosts.
	Confirm(ctx context.Context, s *Subscription) error
}

// Source names, as hookgate_ingest takes them.
const (
	SourceSendGrid  = "sendgrid"
	SourceMailgun   = "mailgun"
	SourcePostmark  = "postmark"
	SourceSES       = "ses"
	SourceMandrill  = "mandrill"
	SourceSparkPost = "sparkpost"
	SourceBrevo     = "brevo"
	SourceResend    = "resend"
)

// Sources returns the names of the ESPs with an adapter, in alphabetical
// order. The caller may modify the returned slice.
func Sources() []string {
	return []string{
		SourceBrevo, SourceMailgun, SourceMandrill, SourcePostmark,
		SourceResend, SourceSendGrid, SourceSES, SourceSparkPost,
	}
}

// BasicAuth is a user name and password the ESP sends in an Authorization:
// Basic header.
type BasicAuth struct {
	// User is the user name.
	User string `json:"user"`

	// Password is the password.
	Password string `json:"password"`
}

// Config holds every source's verification settings, as hookgate_ingest
// takes them; each source reads its own and New refuses the others. A source
// given none of its verification settings accepts unsigned requests.
type Config struct {
	// VerificationKey is SendGrid's signed-webhook public key: base64 of a
	// DER (SubjectPublicKeyInfo) ECDSA P-256 key, as the SendGrid dashboard
	// shows it. PEM is accepted too.
	VerificationKey string `json:"verification_key,omitempty"`

	// SigningKey is Mailgun's HTTP webhook signing key.
	SigningKey string `json:"signing_key,omitempty"`

	// BasicAuth, for Postmark, SparkPost and Brevo, is the user and password
	// the ESP must send.
	BasicAuth *BasicAuth `json:"basic_auth,omitempty"`

	// Bearer, for Postmark, SparkPost and Brevo, is the token the ESP must
	// send as "Authorization: Bearer <token>". With BasicAuth also set,
	// either credential is accepted.
	Bearer string `json:"bearer,omitempty"`

	// TopicARNs are the SNS topics SES events may come from. Without them
	// any topic is accepted, even one in another AWS account.
	TopicARNs []string `json:"topic_arn,omitempty"`

	// CertFile is a PEM file with the SNS signing certificate to trust
	// instead of fetching the one each message names.
	CertFile string `json:"cert_file,omitempty"`

	// AutoConfirm makes SNS subscription confirmations for the TopicARNs
	// confirm themselves. It requires TopicARNs.
	AutoConfirm bool `json:"auto_confirm,omitempty"`

	// WebhookKey is Mandrill's webhook key.
	WebhookKey string `json:"webhook_key,omitempty"`

	// URL is the webhook URL exactly as configured at Mandrill, which
	// Mandrill signs; required with WebhookKey.
	URL string `json:"url,omitempty"`

	// Secret is Resend's webhook signing secret ("whsec_...").
	Secret string `json:"secret,omitempty"`

	// Tolerance is how far a signed timestamp may lie from now, either way,
	// for the sources that sign one (SendGrid, Mailgun, SES, Resend). Zero
	// means the source's default (DefaultTolerance, or 5 minutes for
	// Resend).
	Tolerance time.Duration `json:"tolerance,omitempty"`

	// HTTPClient fetches SNS signing certificates and confirms
	// subscriptions; http.DefaultClient when nil.
	HTTPClient *http.Client `json:"-"`

	// Now is the clock timestamps are checked against; time.Now when nil.
	Now func() time.Time `json:"-"`
}

// DefaultTolerance is the default age limit of signed timestamps for
// SendGrid, Mailgun and SES, which may retry for up to a day without saying
// whether retries are signed afresh. It matches hookgate's default dedupe
// window, so a replay inside it is a duplicate.
const DefaultTolerance = 24 * time.Hour

// settings names Config's source-specific settings as the Caddyfile does, with
// the sources that take each.
var settings = []struct {
	name    string
	set     func(Config) bool
	sources []string
}{
	{"verification_key", func(c Config) bool { return c.VerificationKey != "" },
		[]string{SourceSendGrid}},
	{"signing_key", func(c Config) bool { return c.SigningKey != "" },
		[]string{SourceMailgun}},
	{"basic_auth", func(c Config) bool { return c.BasicAuth != nil },
		[]string{SourcePostmark, SourceSparkPost, SourceBrevo}},
	{"bearer", func(c Config) bool { return c.Bearer != "" },
		[]string{SourcePostmark, SourceSparkPost, SourceBrevo}},
	{"topic_arn", func(c Config) bool { return len(c.TopicARNs) > 0 },
		[]string{SourceSES}},
	{"cert_file", func(c Config) bool { return c.CertFile != "" },
		[]string{SourceSES}},
	{"auto_confirm", func(c Config) bool { return c.AutoConfirm },
		[]string{SourceSES}},
	{"webhook_key", func(c Config) bool { return c.WebhookKey != "" },
		[]string{SourceMandrill}},
	{"url", func(c Config) bool { return c.URL != "" },
		[]string{SourceMandrill}},
	{"secret", func(c Config) bool { return c.Secret != "" },
		[]string{SourceResend}},
	{"tolerance", func(c Config) bool { return c.Tolerance != 0 },
		[]string{SourceSendGrid, SourceMailgun, SourceSES, SourceResend}},
}

// Settings returns the names of the settings source takes, as the Caddyfile
// spells them; nil for an unknown source.
func Settings(source string) []string {
	var out []string
	for _, s := range settings {
		if slices.Contains(s.sources, source) {
			out = append(out, s.name)
		}
	}
	return out
}

// Given returns the names of the settings cfg sets, as the Caddyfile spells
// them.
func (cfg Config) Given() []string {
	var out []string
	for _, s := range settings {
		if s.set(cfg) {
			out = append(out, s.name)
		}
	}
	return out
}

// NamesDomains reports whether the events of source name their sending
// domain. Those of SendGrid and Brevo do not, nor do most of Postmark's, and
// they are rejected unless the route supplies a domain.
func NamesDomains(source string) bool {
	switch source {
	case SourceSendGrid, SourceBrevo, SourcePostmark:
		return false
	}
	return true
}

// New returns the adapter of a source configured with cfg. It refuses an
// unknown source and settings the source does not take; errors name the
// setting at fault.
func New(source string, cfg Config) (Adapter, error) {
	if !slices.Contains(Sources(), source) {
		return nil, fmt.Errorf("unknown source %q; want one of %v", source, Sources())
	}
	for _, s := range settings {
		if s.set(cfg) && !slices.Contains(s.sources, source) {
			return nil, fmt.Errorf("%s: not a setting of source %s", s.name, source)
		}
	}

	auth := AuthConfig{BasicAuth: cfg.BasicAuth, Bearer: cfg.Bearer}
	switch source {
	case SourceSendGrid:
		return NewSendGrid(SendGridConfig{
			VerificationKey: cfg.VerificationKey, Tolerance: cfg.Tolerance, Now: cfg.Now,
		})
	case SourceMailgun:
		return NewMailgun(MailgunConfig{
			SigningKey: cfg.SigningKey, Tolerance: cfg.Tolerance, Now: cfg.Now,
		})
	case SourcePostmark:
		return NewPostmark(auth)
	case SourceSES:
		return NewSES(SESConfig{
			TopicARNs: cfg.TopicARNs, CertFile: cfg.CertFile, AutoConfirm: cfg.AutoConfirm,
			Tolerance: cfg.Tolerance, HTTPClient: cfg.HTTPClient, Now: cfg.Now,
		})
	case SourceMandrill:
		return NewMandrill(MandrillConfig{WebhookKey: cfg.WebhookKey, URL: cfg.URL})
	case SourceSparkPost:
		return NewSparkPost(auth)
	case SourceBrevo:
		return NewBrevo(auth)
	default: // SourceResend
		return NewResend(ResendConfig{Secret: cfg.Secret, Tolerance: cfg.Tolerance, Now: cfg.Now})
	}
}

// clock holds an adapter's time settings.
type clock struct {
	now       func() time.Time
	tolerance time.Duration
}

// newClock applies the defaults to a configured clock and tolerance.
func newClock(now func() time.Time, tolerance, def time.Duration) (clock, error) {
	if tolerance < 0 {
		return clock{}, fmt.Errorf("tolerance: %s is negative", tolerance)
	}
	if tolerance == 0 {
		tolerance = def
	}
	if now == nil {
		now = time.Now
	}
	return clock{now: now, tolerance: tolerance}, nil
}

// check reports why a signed time is outside the tolerance of now, if it is.
func (c clock) check(signed time.Time) error {
	now := c.now()
	if age := now.Sub(signed); age > c.tolerance {
		return fmt.Errorf("timestamp is %s old, over the tolerance of %s",
			age.Truncate(time.Second), c.tolerance)
	}
	if ahead := signed.Sub(now); ahead > c.tolerance {
		return fmt.Errorf("timestamp is %s in the future, over the tolerance of %s",
			ahead.Truncate(time.Second), c.tolerance)
	}
	return nil
}

// unauthenticated returns an error wrapping ErrUnauthenticated.
func unauthenticated(source, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", source, ErrUnauthenticated, fmt.Sprintf(format, args...))
}

// malformed returns an error wrapping ErrMalformed and, when given, err.
func malformed(source string, err error) error {
	return fmt.Errorf("%s: %w: %w", source, ErrMalformed, err)
}
