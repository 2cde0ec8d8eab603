package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a signature's timestamp may lie from the
// verifier's clock, in the past or in the future.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns, wrapped with the header at fault and details; test
// them with errors.Is. ErrTimestampTooOld and ErrTimestampTooNew both wrap
// ErrTimestampOutsideTolerance.
var (
	ErrMissingHeader             = errors.New("missing signature header")
	ErrMalformedHeader           = errors.New("malformed signature header")
	ErrTimestampOutsideTolerance = errors.New("timestamp outside tolerance")
	ErrTimestampTooOld           = fmt.Errorf("%w: too old", ErrTimestampOutsideTolerance)
	ErrTimestampTooNew           = fmt.Errorf("%w: too new", ErrTimestampOutsideTolerance)
	ErrNoMatchingSignature       = errors.New("no matching signature")
)

// Scheme is one of the two signature conventions a delivery carries.
type Scheme int

// The signature conventions, in the order Verify tries them.
const (
	// SchemeMailOdds is the X-MailOdds-Signature header (Stripe convention).
	SchemeMailOdds Scheme = iota + 1
	// SchemeStandardWebhooks is the webhook-id, webhook-timestamp and
	// webhook-signature trio (also accepted under their svix-* names).
	SchemeStandardWebhooks
)

// String names the scheme: "X-MailOdds-Signature" or "Standard Webhooks".
func (s Scheme) String() string {
	switch s {
	case SchemeMailOdds:
		return HeaderMailOddsSignature
	case SchemeStandardWebhooks:
		return "Standard Webhooks"
	}
	return "Scheme(" + strconv.Itoa(int(s)) + ")"
}

// Result tells which signature Verify accepted.
type Result struct {
	// Scheme is the header style that verified.
	Scheme Scheme
	// Secret is the index, in the secrets given to Verify, of the secret
	// that matched.
	Secret int
	// Timestamp is the signed attempt time.
	Timestamp time.Time
}

// VerifyOption changes how Verify and a Verifier check a request.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	tolerance time.Duration
	now       func() time.Time
	schemes   []Scheme
}

// WithTolerance sets how far the signed timestamp may lie from now, in either
// direction; DefaultTolerance otherwise. It must be positive.
func WithTolerance(d time.Duration) VerifyOption {
	return func(c *verifyConfig) { c.tolerance = d }
}

// WithClock makes Verify read the time from now instead of time.Now.
func WithClock(now func() time.Time) VerifyOption {
	return func(c *verifyConfig) { c.now = now }
}

// WithScheme makes Verify check only the given scheme and ignore the other
// headers, as a receiver written for one convention would.
func WithScheme(s Scheme) VerifyOption {
	return func(c *verifyConfig) { c.schemes = []Scheme{s} }
}

// Verify checks the signature headers of a delivery against its raw body and
// one or more secrets ("whsec_..."), for receivers written in Go.
//
// It checks X-MailOdds-Signature and the Standard Webhooks headers, whichever
// are present, and accepts the request when one of them carries a signature,
// made by any of the secrets, whose timestamp is within the tolerance of now.
// Signatures are compared in constant time. When no header verifies, the
// error is the first present scheme's; it wraps ErrMissingHeader,
// ErrMalformedHeader, ErrTimestampTooOld, ErrTimestampTooNew or
// ErrNoMatchingSignature. A secret that does not parse gives an error that
// wraps ErrInvalidSecret.
//
// Verify parses the secrets on every call; a receiver that checks many
// requests can keep a Verifier instead.
func Verify(header http.Header, body []byte, secrets []string,
	opts ...VerifyOption,
) (Result, error) {
	v, err := NewVerifier(secrets, opts...)
	if err != nil {
		return Result{}, err
	}
	return v.Verify(header, body)
}

// Verifier checks deliveries against secrets parsed once. It is safe for
// concurrent use.
type Verifier struct {
	keys []*signingKey
	cfg  verifyConfig
}

// NewVerifier returns a Verifier for one or more secrets ("whsec_...") and
// the options Verify takes. A secret that does not parse gives an error that
// wraps ErrInvalidSecret.
func NewVerifier(secrets []string, opts ...VerifyOption) (*Verifier, error) {
	cfg := verifyConfig{
		tolerance: DefaultTolerance,
		now:       time.Now,
		schemes:   []Scheme{SchemeMailOdds, SchemeStandardWebhooks},
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.tolerance <= 0 {
		return nil, fmt.Errorf("signature verifier: tolerance %s is not positive",
			cfg.tolerance)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("signature verifier: %w", ErrNoSecret)
	}

	keys := make([]*signingKey, len(secrets))
	for i, s := range secrets {
		sec, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("signature verifier: secrets[%d]: %w", i, err)
		}
		keys[i] = sec.key
	}
	return &Verifier{keys: keys, cfg: cfg}, nil
}

// Verify checks one delivery as the package-level Verify does.
func (v *Verifier) Verify(header http.Header, body []byte) (Result, error) {
	req := verification{Verifier: v, body: body, now: v.cfg.now()}
	var firstErr error
	for _, scheme := range v.cfg.schemes {
		res, present, err := req.check(header, scheme)
		if !present {
			continue
		}
		if err == nil {
			return res, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%w: want %s", ErrMissingHeader, expectedHeaders(v.cfg.schemes))
	}
	return Result{}, firstErr
}

func expectedHeaders(schemes []Scheme) string {
	names := make([]string, len(schemes))
	for i, s := range schemes {
		switch s {
		case SchemeMailOdds:
			names[i] = HeaderMailOddsSignature
		case SchemeStandardWebhooks:
			names[i] = HeaderWebhookID + ", " + HeaderWebhookTimestamp + " and " +
				HeaderWebhookSignature
		default:
			names[i] = s.String()
		}
	}
	return strings.Join(names, ", or ")
}

// verification is one request being verified.
type verification struct {
	*Verifier
	body []byte
	now  time.Time
}

// check verifies one scheme's headers; present is false when none of them is
// in header.
func (v verification) check(header http.Header, scheme Scheme) (Result, bool, error) {
	switch scheme {
	case SchemeMailOdds:
		value := headerValue(header, HeaderMailOddsSignature)
		if value == "" {
			return Result{}, false, nil
		}
		res, err := v.checkMailOdds(value)
		if err != nil {
			err = fmt.Errorf("%s: %w", HeaderMailOddsSignature, err)
		}
		return res, true, err
	case SchemeStandardWebhooks:
		trio := webhookHeaders
		if !trio.presentIn(header) {
			trio = svixHeaders
			if !trio.presentIn(header) {
				return Result{}, false, nil
			}
		}
		res, err := v.checkStandard(header, trio.names)
		if err != nil {
			err = fmt.Errorf("%s: %w", trio.group, err)
		}
		return res, true, err
	}
	return Result{}, false, nil
}

// checkMailOdds verifies an X-MailOdds-Signature value.
func (v verification) checkMailOdds(value string) (Result, error) {
	ts, sigs, err := parseMailOdds(value)
	if err != nil {
		return Result{}, err
	}
	signed, err := v.checkTimestamp(ts)
	if err != nil {
		return Result{}, err
	}

	return v.match(SchemeMailOdds, "", ts, signed, sigs)
}

// checkStandard verifies the Standard Webhooks trio, named by names (id,
// timestamp, signature).
func (v verification) checkStandard(header http.Header, names [3]string) (Result, error) {
	var values [3]string
	for i, name := range names {
		values[i] = headerValue(header, name)
		if values[i] == "" {
			return Result{}, fmt.Errorf("%w: %s is missing", ErrMissingHeader, name)
		}
	}
	id, ts := values[0], values[1]
	if _, ok := parseUnix(ts); !ok {
		return Result{}, fmt.Errorf("%w: %s is not unix seconds", ErrMalformedHeader, names[1])
	}
	sigs, err := parseStandard(values[2])
	if err != nil {
		return Result{}, err
	}
	signed, err := v.checkTimestamp(ts)
	if err != nil {
		return Result{}, err
	}

	return v.match(SchemeStandardWebhooks, id, ts, signed, sigs)
}

// checkTimestamp checks a timestamp already known to parse against the
// tolerance.
func (v verification) checkTimestamp(ts string) (time.Time, error) {
	unix, _ := parseUnix(ts)
	// time.Unix wraps around past year 292277026596, which would make such a
	// timestamp look far in the past; any value this large is far ahead.
	signed := time.Unix(min(unix, maxUnixSeconds), 0)
	tolerance := v.cfg.tolerance
	if age := v.now.Sub(signed); age > tolerance {
		return signed, fmt.Errorf("%w (signed %s before now, tolerance %s)",
			ErrTimestampTooOld, age.Truncate(time.Second), tolerance)
	}
	if ahead := signed.Sub(v.now); ahead > tolerance {
		return signed, fmt.Errorf("%w (signed %s after now, tolerance %s)",
			ErrTimestampTooNew, ahead.Truncate(time.Second), tolerance)
	}
	return signed, nil
}

// match computes each key's MAC of the message and looks for it among sigs.
func (v verification) match(scheme Scheme, id, ts string, signed time.Time,
	sigs [][sha256.Size]byte,
) (Result, error) {
	for i, k := range v.keys {
		p := k.macs.Get().(*macPair)
		p.setMessage(id, []byte(ts))
		var mac [sha256.Size]byte
		if scheme == SchemeMailOdds {
			mac = p.sumMailOdds(v.body)
		} else {
			mac = p.sumStandard(v.body)
		}
		k.macs.Put(p)

		for _, sig := range sigs {
			if hmac.Equal(mac[:], sig[:]) {
				return Result{Scheme: scheme, Secret: i, Timestamp: signed}, nil
			}
		}
	}
	return Result{}, fmt.Errorf("%w: none of %d v1 signatures matches any of %d secrets",
		ErrNoMatchingSignature, len(sigs), len(v.keys))
}

// parseMailOdds splits "t=<unix>,v1=<hex>,..." into the timestamp and the v1
// signatures. Elements may be in any order and surrounded by spaces; unknown
// keys and v1 values that are not 32 bytes of hex are ignored, as Stripe's
// libraries do.
func parseMailOdds(value string) (ts string, sigs [][sha256.Size]byte, err error) {
	seenT := false
	n := 0
	for elem := range strings.SplitSeq(value, ",") {
		n++
		key, val, ok := strings.Cut(strings.Trim(elem, " \t"), "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: element %d is not key=value", ErrMalformedHeader, n)
		}
		switch key {
		case "t":
			if seenT {
				return "", nil, fmt.Errorf("%w: more than one t", ErrMalformedHeader)
			}
			if _, ok := parseUnix(val); !ok {
				return "", nil, fmt.Errorf("%w: t is not unix seconds", ErrMalformedHeader)
			}
			ts, seenT = val, true
		case "v1":
			var sig [sha256.Size]byte
			if len(val) == hex.EncodedLen(len(sig)) {
				if _, err := hex.Decode(sig[:], []byte(val)); err == nil {
					sigs = append(sigs, sig)
				}
			}
		}
	}
	if !seenT {
		return "", nil, fmt.Errorf("%w: no t=<unix> element", ErrMalformedHeader)
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("%w: no v1 signature of 64 hex digits", ErrNoMatchingSignature)
	}
	return ts, sigs, nil
}

// parseStandard splits "v1,<base64> v1,<base64> ..." into the v1 signatures.
// Tokens are separated by spaces; other versions (such as v1a) and v1 values
// that are not 32 bytes of base64 are ignored.
func parseStandard(value string) ([][sha256.Size]byte, error) {
	var sigs [][sha256.Size]byte
	n := 0
	for token := range strings.FieldsSeq(value) {
		n++
		version, val, ok := strings.Cut(token, ",")
		if !ok {
			return nil, fmt.Errorf("%w: signature %d is not version,signature",
				ErrMalformedHeader, n)
		}
		if version != "v1" {
			continue
		}
		// 44 characters decode to 32 bytes when they end in "=", and to 33
		// otherwise, so decode into room for 33.
		var buf [sha256.Size + 1]byte
		if len(val) == base64.StdEncoding.EncodedLen(sha256.Size) {
			if m, err := base64.StdEncoding.Decode(buf[:], []byte(val)); err == nil &&
				m == sha256.Size {
				sigs = append(sigs, [sha256.Size]byte(buf[:sha256.Size]))
			}
		}
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("%w: no v1 signature of 32 base64-encoded bytes",
			ErrNoMatchingSignature)
	}
	return sigs, nil
}

// maxUnixSeconds bounds the timestamps checkTimestamp converts to time.Time:
// far enough ahead to be outside any tolerance, near enough not to overflow.
const maxUnixSeconds = 1 << 62

// parseUnix parses unix seconds written as 1 to 19 ASCII digits.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	unix, err := strconv.ParseInt(s, 10, 64)
	return unix, err == nil
}

// standardHeaders names the Standard Webhooks trio: id, timestamp, signature.
type standardHeaders struct {
	names [3]string
	group string // how errors name the trio
}

var (
	webhookHeaders = standardHeaders{
		names: [3]string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature},
		group: "webhook-* headers",
	}
	svixHeaders = standardHeaders{
		names: [3]string{"svix-id", "svix-timestamp", "svix-signature"},
		group: "svix-* headers",
	}
)

// presentIn reports whether any of the trio is in header.
func (s standardHeaders) presentIn(header http.Header) bool {
	for _, name := range s.names {
		if headerValue(header, name) != "" {
			return true
		}
	}
	return false
}

// headerValue returns the first value of the named header. Besides the
// canonical key it finds keys stored in other cases, as in a header map
// built by hand with lowercase names.
func headerValue(header http.Header, name string) string {
	if v := header.Get(name); v != "" {
		return v
	}
	for key, values := range header {
		if len(values) > 0 && strings.EqualFold(key, name) {
			return values[0]
		}
	}
	return ""
}
