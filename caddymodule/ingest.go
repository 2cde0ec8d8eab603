package caddymodule

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/event/esp"
	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/signer"
)

func init() {
	caddy.RegisterModule(Ingest{})
}

// DefaultMaxBody is the largest ingest request body when max_body is not set.
const DefaultMaxBody = 10 << 20

// SourceMailOdds is the native ingest format, the default source.
const SourceMailOdds = "mailodds"

// ingestSources are the sources hookgate_ingest takes, the native one first.
var ingestSources = append([]string{SourceMailOdds}, esp.Sources()...)

// ingestClock is the clock of signed timestamps and of the timestamp of
// events that carry none. The tests stop it.
var ingestClock = time.Now

// espHTTPClient fetches SNS signing certificates and confirms SNS
// subscriptions. The tests replace its transport.
var espHTTPClient = &http.Client{Timeout: 10 * time.Second}

// Ingest accepts webhook events, routes them through the hooks' rules and
// answers once every accepted event and its deliveries are durable. The
// response counts what happened:
//
//	{"accepted": 3, "duplicates": 0, "matched": 2, "rejected": [{"index": 1, "error": "..."}]}
//
// The native source (mailodds) answers 202. An ESP source answers 200, the
// one success every ESP takes as final (Mailgun and SparkPost retry any other
// status), and adds "unmapped": how many authentic items were of a kind
// hookgate does not map. They are accepted and dropped, never retried.
//
// Each request is verified over its raw bytes before its body is parsed.
// Invalid items of a batch are rejected one by one and never sink the valid
// ones. A body that is not in the source's format, too deep or too large is
// answered 400 or 413, a failed verification 401, a verification that cannot
// be done for now (an SNS certificate that cannot be fetched) 503; then
// nothing is stored.
type Ingest struct {
	// Source is the format and verification scheme of the requests:
	// "mailodds", the native format (default), or the webhooks of "sendgrid",
	// "mailgun", "postmark", "ses" (through an SNS HTTPS subscription),
	// "mandrill", "sparkpost", "brevo" or "resend".
	Source string `json:"source,omitempty"`

	// Account is the account of every event received on this route; it
	// wins over any account an event names.
	Account string `json:"account,omitempty"`

	// Domain is the sending domain of events that carry none. SendGrid and
	// Brevo events, and Postmark's other than bounces, never carry one:
	// without it they are rejected.
	Domain string `json:"domain,omitempty"`

	// Environment is the environment of events that carry none. ESP events
	// carry one when the sender's custom metadata has an "environment" key.
	Environment string `json:"environment,omitempty"`

	// MaxBody is the largest request body in bytes. Default: 10 MiB.
	MaxBody int64 `json:"max_body,omitempty"`

	// Passthrough hands the request, body intact, to the next handler once
	// its events are durably accepted, instead of answering it.
	Passthrough bool `json:"passthrough,omitempty"`

	// Secret, for mailodds, makes the route accept only requests signed
	// with it in X-MailOdds-Signature (see "hookgate verify"); for resend it
	// is the webhook's signing secret, checked against the svix-* (or
	// webhook-*) headers. "whsec_..." either way.
	Secret string `json:"secret,omitempty"`

	// VerificationKey, for sendgrid, is the signed Event Webhook's public
	// key as the SendGrid dashboard shows it: base64 of a DER ECDSA P-256
	// key (PEM is accepted too).
	VerificationKey string `json:"verification_key,omitempty"`

	// SigningKey, for mailgun, is the HTTP webhook signing key. Each
	// signature token is then accepted with one body only.
	SigningKey string `json:"signing_key,omitempty"`

	// BasicAuth, for postmark, sparkpost and brevo, is the user and
	// password the ESP must send (Authorization: Basic).
	BasicAuth *esp.BasicAuth `json:"basic_auth,omitempty"`

	// Bearer, for postmark, sparkpost and brevo, is the token the ESP must
	// send as "Authorization: Bearer <token>". With BasicAuth also set,
	// either is accepted.
	Bearer string `json:"bearer,omitempty"`

	// TopicARNs, for ses, are the SNS topics notifications may come from.
	// Without them a notification of any AWS account's topic is accepted
	// (its SNS signature is still checked).
	TopicARNs []string `json:"topic_arn,omitempty"`

	// CertFile, for ses, is a PEM file holding the SNS signing certificate
	// to trust. Without it the certificate a message names is fetched, only
	// from an https URL on an sns.<region>.amazonaws.com host, and cached.
	CertFile string `json:"cert_file,omitempty"`

	// AutoConfirm, for ses, confirms the SNS subscriptions of the TopicARNs
	// when they ask. Without it their SubscribeURL is logged for an operator
	// to confirm. It requires TopicARNs.
	AutoConfirm bool `json:"auto_confirm,omitempty"`

	// WebhookKey, for mandrill, is the webhook's key.
	WebhookKey string `json:"webhook_key,omitempty"`

	// URL, for mandrill, is the webhook URL exactly as configured at
	// Mandrill, which Mandrill signs; behind a proxy it is not the URL the
	// gateway sees. Required with WebhookKey.
	URL string `json:"url,omitempty"`

	app      *App
	defaults event.Defaults
	verifier *signer.Verifier // of the native source
	adapter  esp.Adapter      // of an ESP source
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Ingest) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.hookgate_ingest",
		New: func() caddy.Module { return new(Ingest) },
	}
}

// Provision replaces the settings' placeholders, prepares the source's
// verification and finds the hookgate app.
func (h *Ingest) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	source := cmp.Or(h.Source, SourceMailOdds)
	if !slices.Contains(ingestSources, source) {
		return fmt.Errorf("source %q: hookgate_ingest takes %s", h.Source,
			strings.Join(ingestSources, ", "))
	}
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
	if h.MaxBody < 0 {
		return errors.New("max_body must not be negative")
	}

	cfg, err := h.resolve()
	if err != nil {
		return err
	}
	if source == SourceMailOdds {
		err = h.provisionNative(cfg)
	} else {
		err = h.provisionESP(source, cfg)
	}
	if err != nil {
		return err
	}

	app, err := ctx.App("hookgate")
	if err != nil {
		return fmt.Errorf("getting hookgate app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

// resolve replaces the placeholders ({env.X}, ...) of the settings, filling
// in the route's defaults and returning the verification settings. A
// setting that is empty once replaced is an error: an unset variable must
// not turn verification off.
func (h *Ingest) resolve() (esp.Config, error) {
	repl := caddy.NewReplacer()
	var err error
	replace := func(name, v string) string {
		out := repl.ReplaceKnown(v, "")
		if v != "" && out == "" && err == nil {
			err = fmt.Errorf("%s: '%s' is empty once its placeholders are replaced", name, v)
		}
		return out
	}

	h.defaults = event.Defaults{
		Account:     replace("account", h.Account),
		Domain:      replace("domain", h.Domain),
		Environment: replace("environment", h.Environment),
	}
	cfg := esp.Config{
		VerificationKey: replace("verification_key", h.VerificationKey),
		SigningKey:      replace("signing_key", h.SigningKey),
		Bearer:          replace("bearer", h.Bearer),
		CertFile:        replace("cert_file", h.CertFile),
		AutoConfirm:     h.AutoConfirm,
		WebhookKey:      replace("webhook_key", h.WebhookKey),
		URL:             replace("url", h.URL),
		Secret:          replace("secret", h.Secret),
	}
	if b := h.BasicAuth; b != nil {
		cfg.BasicAuth = &esp.BasicAuth{
			User:     replace("basic_auth", b.User),
			Password: replace("basic_auth", b.Password),
		}
	}
	for i, arn := range h.TopicARNs {
		cfg.TopicARNs = append(cfg.TopicARNs, replace(fmt.Sprintf("topic_arn[%d]", i), arn))
	}
	return cfg, err
}

// provisionNative prepares the native source's optional signature check.
func (h *Ingest) provisionNative(cfg esp.Config) error {
	for _, name := range cfg.Given() {
		if name != "secret" {
			return fmt.Errorf("%s: not a setting of source %s", name, SourceMailOdds)
		}
	}
	if cfg.Secret == "" {
		h.logger.Warn("ingest route accepts unsigned requests",
			zap.String("source", SourceMailOdds), zap.String("account", h.defaults.Account))
		return nil
	}
	v, err := signer.NewVerifier([]string{cfg.Secret}, signer.WithScheme(signer.SchemeMailOdds))
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	h.verifier = v
	return nil
}

// provisionESP builds the adapter of an ESP source and warns about what the
// route would let through or reject.
func (h *Ingest) provisionESP(source string, cfg esp.Config) error {
	cfg.HTTPClient = espHTTPClient
	cfg.Now = func() time.Time { return ingestClock() }
	a, err := esp.New(source, cfg)
	if err != nil {
		return fmt.Errorf("source %s: %w", source, err)
	}
	h.adapter = a

	fields := []zap.Field{zap.String("source", source), zap.String("account", h.defaults.Account)}
	switch {
	case a.Verifies():
	case source == esp.SourceSES:
		h.logger.Warn("ingest route accepts notifications of any sns topic; set topic_arn",
			fields...)
	default:
		h.logger.Warn("ingest route accepts unsigned requests", fields...)
	}
	if h.defaults.Domain == "" && !esp.NamesDomains(source) {
		h.logger.Warn("ingest route has no domain and this source's events name none; "+
			"they will be rejected", fields...)
	}
	return nil
}

// ServeHTTP verifies and ingests the request's events.
func (h *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Mandrill probes a new webhook URL with a HEAD request.
	probe := r.Method == http.MethodHead && h.Source == esp.SourceMandrill
	if r.Method != http.MethodPost && !probe {
		allow := http.MethodPost
		if h.Source == esp.SourceMandrill {
			allow += ", " + http.MethodHead
		}
		w.Header().Set("Allow", allow)
		return writeError(w, http.StatusMethodNotAllowed, "method %s not allowed: POST events",
			r.Method)
	}
	gw := h.app.gateway()
	if gw == nil {
		return writeError(w, http.StatusServiceUnavailable, "hookgate is not running")
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return h.refuse(w, http.StatusRequestEntityTooLarge,
				fmt.Errorf("body is over the limit of %d bytes", h.MaxBody))
		}
		return h.refuse(w, http.StatusBadRequest, fmt.Errorf("reading body: %v", err))
	}
	res, status, err := h.parse(r, body)
	if err != nil {
		return h.refuse(w, status, err)
	}
	if s := res.Subscription; s != nil {
		if err := h.subscribe(r.Context(), s); err != nil {
			return h.refuse(w, http.StatusServiceUnavailable, err)
		}
	}

	var ing gateway.Ingested
	if len(res.Events) > 0 {
		if ing, err = gw.Ingest(r.Context(), res.Events); err != nil {
			h.logger.Error("storing events", zap.Error(err))
			return writeError(w, http.StatusServiceUnavailable, "%v", err)
		}
	}
	h.observe(gw, ing, res)

	if h.Passthrough {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return next.ServeHTTP(w, r)
	}
	return h.respond(w, ing, res)
}

// parse verifies the request and reads its events. On error it returns the
// status to answer.
func (h *Ingest) parse(r *http.Request, body []byte) (*esp.Result, int, error) {
	d := h.defaults
	d.Received = ingestClock()

	if h.adapter != nil {
		req := &esp.Request{Method: r.Method, Header: r.Header, Body: body}
		res, err := h.adapter.Parse(r.Context(), req, d)
		switch {
		case err == nil:
			return res, 0, nil
		case errors.Is(err, esp.ErrUnauthenticated):
			return nil, http.StatusUnauthorized, err
		case errors.Is(err, esp.ErrUnavailable):
			return nil, http.StatusServiceUnavailable, err
		}
		return nil, http.StatusBadRequest, err
	}

	if h.verifier != nil {
		if _, err := h.verifier.Verify(r.Header, body); err != nil {
			return nil, http.StatusUnauthorized, fmt.Errorf("signature: %v", err)
		}
	}
	batch, err := event.ParseNative(body, d)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return &esp.Result{Events: batch.Events, Rejected: batch.Rejected}, 0, nil
}

// refuse answers a request whose events are not ingested, and logs why.
func (h *Ingest) refuse(w http.ResponseWriter, status int, err error) error {
	level := zap.InfoLevel
	if status == http.StatusUnauthorized || status == http.StatusServiceUnavailable {
		level = zap.WarnLevel // a wrong key or an outage loses events
	}
	if ce := h.logger.Check(level, "refused ingest request"); ce != nil {
		ce.Write(zap.String("source", cmp.Or(h.Source, SourceMailOdds)),
			zap.Int("status_code", status), zap.Error(err))
	}
	return writeError(w, status, "%v", err)
}

// subscribe confirms an SNS subscription when the route auto-confirms its
// topic, or else logs the URL that confirms it. A failed confirmation is
// answered 503, so that SNS asks again.
func (h *Ingest) subscribe(ctx context.Context, s *esp.Subscription) error {
	fields := []zap.Field{zap.String("topic_arn", s.TopicARN),
		zap.String("subscribe_url", s.SubscribeURL)}
	if !s.AutoConfirm {
		h.logger.Warn("sns subscription awaits confirmation: GET its subscribe_url", fields...)
		return nil
	}
	c, ok := h.adapter.(esp.Confirmer)
	if !ok {
		return fmt.Errorf("source %s cannot confirm subscriptions", h.adapter.Source())
	}
	if err := c.Confirm(ctx, s); err != nil {
		h.logger.Error("confirming sns subscription", append(fields, zap.Error(err))...)
		return err
	}
	h.logger.Info("confirmed sns subscription", zap.String("topic_arn", s.TopicARN))
	return nil
}

// observe counts the request's events in the metrics and the stats. An ESP
// does not read the answer, so the items it rejects are also logged.
func (h *Ingest) observe(gw *gateway.Gateway, ing gateway.Ingested, res *esp.Result) {
	observeIngest(ing, len(res.Rejected))
	gw.CountRejected(h.defaults.Account, len(res.Rejected))
	if h.adapter == nil {
		return
	}
	observeUnmapped(h.Source, res.Unmapped)
	if len(res.Rejected) > 0 {
		if ce := h.logger.Check(zap.WarnLevel, "rejected invalid esp events"); ce != nil {
			ce.Write(zap.String("source", h.Source), zap.Int("rejected", len(res.Rejected)),
				zap.Int("index", res.Rejected[0].Index),
				zap.String("error", res.Rejected[0].Err.Error()))
		}
	}
	if res.Unmapped > 0 {
		if ce := h.logger.Check(zap.DebugLevel, "dropped unmapped esp events"); ce != nil {
			ce.Write(zap.String("source", h.Source), zap.Int("unmapped", res.Unmapped))
		}
	}
}

// respond answers an ingested request.
func (h *Ingest) respond(w http.ResponseWriter, ing gateway.Ingested, res *esp.Result) error {
	resp := ingestResponse{
		Accepted:   ing.Accepted,
		Duplicates: ing.Duplicates,
		Matched:    ing.Matched,
		Rejected:   make([]rejection, len(res.Rejected)),
	}
	for i, rj := range res.Rejected {
		resp.Rejected[i] = rejection{Index: rj.Index, Error: rj.Err.Error()}
	}
	if h.adapter == nil {
		return writeJSON(w, http.StatusAccepted, resp)
	}
	resp.Unmapped = &res.Unmapped
	return writeJSON(w, http.StatusOK, resp)
}

// ingestResponse is the body of a successful answer.
type ingestResponse struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Matched    int         `json:"matched"`
	Rejected   []rejection `json:"rejected"`
	Unmapped   *int        `json:"unmapped,omitempty"` // ESP sources only
}

// rejection is one rejected item of a batch; a single event is index 0.
type rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeError answers with {"error": "..."}.
func writeError(w http.ResponseWriter, status int, format string, args ...any) error {
	return writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// parseIngest reads the hookgate_ingest directive.
func parseIngest(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	in := new(Ingest)
	err := in.UnmarshalCaddyfile(h.Dispenser)
	return in, err
}

// UnmarshalCaddyfile reads the hookgate_ingest directive. Syntax:
//
//	hookgate_ingest [<matcher>] [<source>] {
//		account     <name>
//		domain      <domain>
//		environment <name>
//		max_body    <size>
//		passthrough
//
//		# mailodds (optional) and resend
//		secret <whsec_...>
//		# sendgrid
//		verification_key <base64 DER public key>
//		# mailgun
//		signing_key <key>
//		# postmark, sparkpost, brevo: either or both
//		basic_auth <user> <password>
//		bearer     <token>
//		# ses
//		topic_arn <arn>...
//		cert_file <pem file>
//		auto_confirm
//		# mandrill
//		webhook_key <key>
//		url         <the webhook URL as configured at Mandrill>
//	}
//
// source is mailodds, the native format (default), sendgrid, mailgun,
// postmark, ses, mandrill, sparkpost, brevo or resend. Every source takes
// the first five subdirectives; a verification subdirective of another
// source is an error. Without one, the route accepts unsigned requests and
// logs a warning at start-up. topic_arn may be repeated. Placeholders such
// as {env.SENDGRID_PUBLIC_KEY} are replaced when the configuration loads.
func (h *Ingest) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		h.Source = d.Val()
		if !slices.Contains(ingestSources, h.Source) {
			return d.Errf("unknown source '%s'; hookgate_ingest takes %s", h.Source,
				strings.Join(ingestSources, ", "))
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	source := cmp.Or(h.Source, SourceMailOdds)

	given := make(map[string]bool)
	for d.NextBlock(0) {
		name := d.Val()
		if given[name] && name != "topic_arn" {
			return d.Errf("'%s' given twice", name)
		}
		given[name] = true
		if err := h.unmarshalOption(d, source, name); err != nil {
			return err
		}
	}
	return nil
}

// unmarshalOption reads one subdirective of hookgate_ingest.
func (h *Ingest) unmarshalOption(d *caddyfile.Dispenser, source, name string) error {
	switch name {
	case "account":
		return oneArg(d, &h.Account)
	case "domain":
		return oneArg(d, &h.Domain)
	case "environment":
		return oneArg(d, &h.Environment)
	case "max_body":
		var s string
		if err := oneArg(d, &s); err != nil {
			return err
		}
		n, err := humanize.ParseBytes(s)
		if err != nil || n == 0 || n > 1<<40 {
			return d.Errf("max_body: '%s' is not a size such as 10MiB", s)
		}
		h.MaxBody = int64(n)
		return nil
	case "passthrough":
		return flagArg(d, &h.Passthrough)
	}

	var set func() error
	switch name {
	case "secret":
		set = func() error { return oneArg(d, &h.Secret) }
	case "verification_key":
		set = func() error { return oneArg(d, &h.VerificationKey) }
	case "signing_key":
		set = func() error { return oneArg(d, &h.SigningKey) }
	case "basic_auth":
		set = func() error {
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("basic_auth takes a user and a password")
			}
			h.BasicAuth = &esp.BasicAuth{User: args[0], Password: args[1]}
			return nil
		}
	case "bearer":
		set = func() error { return oneArg(d, &h.Bearer) }
	case "topic_arn":
		set = func() error {
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			h.TopicARNs = append(h.TopicARNs, args...)
			return nil
		}
	case "cert_file":
		set = func() error { return oneArg(d, &h.CertFile) }
	case "auto_confirm":
		set = func() error { return flagArg(d, &h.AutoConfirm) }
	case "webhook_key":
		set = func() error { return oneArg(d, &h.WebhookKey) }
	case "url":
		set = func() error { return oneArg(d, &h.URL) }
	default:
		return d.Errf("unknown hookgate_ingest option '%s'", name)
	}

	if takes := verificationSettings(source); !slices.Contains(takes, name) {
		want := "none"
		if len(takes) > 0 {
			want = strings.Join(takes, ", ")
		}
		return d.Errf("%s: not a subdirective of source %s (it takes %s)", name, source, want)
	}
	return set()
}

// verificationSettings names the verification subdirectives of a source.
func verificationSettings(source string) []string {
	if source == SourceMailOdds {
		return []string{"secret"}
	}
	var out []string
	for _, name := range esp.Settings(source) {
		if name != "tolerance" { // not offered in the Caddyfile
			out = append(out, name)
		}
	}
	return out
}

// flagArg reads a subdirective that takes no argument.
func flagArg(d *caddyfile.Dispenser, b *bool) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	*b = true
	return nil
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler       = (*Ingest)(nil)
	_ caddy.Provisioner           = (*Ingest)(nil)
	_ caddyhttp.MiddlewareHandler = (*Ingest)(nil)
)
