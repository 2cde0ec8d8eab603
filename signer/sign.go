package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// The signature headers of a delivery, as DESIGN names them. Go's http.Header
// stores them in canonical form (X-Mailodds-Signature, Webhook-Id, ...);
// header names are case-insensitive, so receivers see no difference.
const (
	HeaderMailOddsSignature = "X-MailOdds-Signature"
	HeaderWebhookID         = "webhook-id"
	HeaderWebhookTimestamp  = "webhook-timestamp"
	HeaderWebhookSignature  = "webhook-signature"
)

var (
	canonicalMailOddsSignature = textproto.CanonicalMIMEHeaderKey(HeaderMailOddsSignature)
	canonicalWebhookID         = textproto.CanonicalMIMEHeaderKey(HeaderWebhookID)
	canonicalWebhookTimestamp  = textproto.CanonicalMIMEHeaderKey(HeaderWebhookTimestamp)
	canonicalWebhookSignature  = textproto.CanonicalMIMEHeaderKey(HeaderWebhookSignature)
)

// ErrNoSecret is returned when there is no valid secret to sign or verify with.
var ErrNoSecret = errors.New("no valid secret")

// Lengths of one signature in each header: ",v1=" and 64 hex digits; "v1,"
// and 44 base64 characters.
const (
	mailOddsSignatureLen = len(",v1=") + 2*sha256.Size
	standardSignatureLen = len("v1,") + (sha256.Size+2)/3*4
)

// Signature holds the signature headers of one delivery attempt.
type Signature struct {
	// ID is the webhook-id value: the delivery id.
	ID string
	// Timestamp is the webhook-timestamp value: the attempt time in unix
	// seconds, the same t as in MailOdds.
	Timestamp string
	// MailOdds is the X-MailOdds-Signature value: "t=<unix>,v1=<hex>...".
	MailOdds string
	// Standard is the webhook-signature value: "v1,<base64> ...".
	Standard string
}

// SetHeaders sets the four signature headers on h, replacing earlier values.
func (s Signature) SetHeaders(h http.Header) {
	// One backing array for the four values; the capped slices keep an
	// append to one header from overwriting the next.
	v := []string{s.MailOdds, s.ID, s.Timestamp, s.Standard}
	h[canonicalMailOddsSignature] = v[0:1:1]
	h[canonicalWebhookID] = v[1:2:2]
	h[canonicalWebhookTimestamp] = v[2:3:3]
	h[canonicalWebhookSignature] = v[3:4:4]
}

// Sign signs one delivery attempt of body, made at t with delivery id id, with
// every secret of s still valid at t, newest first. The signatures cover the
// exact bytes of body, which must be sent unchanged.
//
// Sign is safe for concurrent use. It reuses keyed HMAC states across calls,
// so the cost beyond the HMACs themselves is one allocation for the headers.
func (s SecretSet) Sign(id string, t time.Time, body []byte) (Signature, error) {
	if err := checkDeliveryID(id); err != nil {
		return Signature{}, fmt.Errorf("signing: %w", err)
	}
	var tsBuf [20]byte
	ts := strconv.AppendInt(tsBuf[:0], t.Unix(), 10)

	n := 0
	for _, sec := range s.secrets {
		if sec.validAt(t) {
			n++
		}
	}
	if n == 0 {
		return Signature{}, fmt.Errorf("signing: %w", ErrNoSecret)
	}

	// Both header values share one allocation: "t=<ts>" and one ",v1=<hex>"
	// per secret, then "v1,<base64>" per secret, separated by spaces.
	mailOddsEnd := len("t=") + len(ts) + n*mailOddsSignatureLen
	buf := make([]byte, mailOddsEnd+n*(standardSignatureLen+1)-1)
	copy(buf, "t=")
	copy(buf[len("t="):], ts)
	mailOdds, standard := buf[len("t=")+len(ts):mailOddsEnd], buf[mailOddsEnd:]
	for _, sec := range s.secrets {
		if !sec.validAt(t) {
			continue
		}
		sec.key.sign(id, ts, body, mailOdds[:mailOddsSignatureLen],
			standard[:standardSignatureLen])
		mailOdds = mailOdds[mailOddsSignatureLen:]
		standard = standard[standardSignatureLen:]
		if len(standard) > 0 {
			standard[0] = ' '
			standard = standard[1:]
		}
	}

	// buf is not written again, so the string may share its bytes.
	headers := unsafe.String(unsafe.SliceData(buf), len(buf))
	return Signature{
		ID:        id,
		Timestamp: headers[len("t=") : len("t=")+len(ts)],
		MailOdds:  headers[:mailOddsEnd],
		Standard:  headers[mailOddsEnd:],
	}, nil
}

// checkDeliveryID accepts ids that can go in a header value as they are:
// visible ASCII, no spaces.
func checkDeliveryID(id string) error {
	if id == "" {
		return errors.New("delivery id is empty")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("delivery id has byte %#02x at %d; want visible ASCII", c, i)
		}
	}
	return nil
}

// signingKey is a secret's key material, decoded once, with a pool of HMAC
// states keyed with it.
type signingKey struct {
	// material returns the secret as written, "whsec_" included (the
	// MailOdds key), and the bytes after "whsec_" (the Standard Webhooks
	// key). It is a closure because reflection cannot look inside one: fmt
	// prints a struct's unexported fields through reflection, even with
	// verbs such as %s that dereference pointers.
	material    func() (value string, decoded []byte)
	fingerprint string
	macs        sync.Pool // of *macPair
}

func newSigningKey(value string, decoded []byte) *signingKey {
	k := &signingKey{
		material:    func() (string, []byte) { return value, decoded },
		fingerprint: fingerprint(value),
	}
	k.macs.New = func() any {
		return &macPair{
			mailOdds: hmac.New(sha256.New, []byte(value)),
			standard: hmac.New(sha256.New, decoded),
		}
	}
	return k
}

// value returns the secret as written.
func (k *signingKey) value() string {
	v, _ := k.material()
	return v
}

// sign writes the signatures of one message: ",v1=<hex>" of the MailOdds
// HMAC into mailOdds and "v1,<base64>" of the Standard Webhooks HMAC into
// standard, which have exactly the room for them.
func (k *signingKey) sign(id string, ts, body []byte, mailOdds, standard []byte) {
	p := k.macs.Get().(*macPair)
	p.setMessage(id, ts)
	sum := p.sumMailOdds(body)
	copy(mailOdds, ",v1=")
	hex.Encode(mailOdds[len(",v1="):], sum[:])
	sum = p.sumStandard(body)
	copy(standard, "v1,")
	base64.StdEncoding.Encode(standard[len("v1,"):], sum[:])
	k.macs.Put(p)
}

// macPair holds HMAC-SHA256 states keyed for both conventions with one
// secret, and scratch space that keeps signing free of allocations. Reset
// restores a keyed state without hashing the key again.
type macPair struct {
	mailOdds hash.Hash
	standard hash.Hash
	prefix   []byte // "<id>.<t>." of the message being signed
	idLen    int
	sum      [sha256.Size]byte
}

// setMessage prepares the signed-content prefixes for id and ts.
func (p *macPair) setMessage(id string, ts []byte) {
	p.prefix = append(p.prefix[:0], id...)
	p.prefix = append(p.prefix, '.')
	p.prefix = append(p.prefix, ts...)
	p.prefix = append(p.prefix, '.')
	p.idLen = len(id)
}

// sumMailOdds returns HMAC-SHA256 over "<t>.<body>" keyed with the secret
// string.
func (p *macPair) sumMailOdds(body []byte) [sha256.Size]byte {
	return p.mac(p.mailOdds, p.prefix[p.idLen+1:], body)
}

// sumStandard returns HMAC-SHA256 over "<id>.<t>.<body>" keyed with the
// decoded secret.
func (p *macPair) sumStandard(body []byte) [sha256.Size]byte {
	return p.mac(p.standard, p.prefix, body)
}

func (p *macPair) mac(h hash.Hash, prefix, body []byte) [sha256.Size]byte {
	h.Reset()
	h.Write(prefix)
	h.Write(body)
	return [sha256.Size]byte(h.Sum(p.sum[:0]))
}
