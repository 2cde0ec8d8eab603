package signer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

// SecretPrefix starts every secret: "whsec_" followed by standard, padded
// base64 of the key bytes, as in Standard Webhooks and Stripe.
const SecretPrefix = "whsec_"

// The decoded key of a secret is MinSecretBytes to MaxSecretBytes long, the
// range Standard Webhooks allows. GenerateSecret makes 32-byte keys.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64

	generatedSecretBytes = 32
)

// ErrInvalidSecret is wrapped by every error about a malformed secret. Those
// errors say what is wrong and where, and never quote the secret.
var ErrInvalidSecret = errors.New("invalid secret")

// Secret is one validated signing secret, and, inside a SecretSet, the time
// it became primary and the end of its overlap. The zero Secret holds no key.
//
// A Secret prints, formats and logs as its fingerprint; Reveal is the only
// way to read the secret itself.
type Secret struct {
	// key sits behind a pointer so that printing a struct that holds a Secret
	// through reflection shows an address, never the key.
	key       *signingKey
	createdAt time.Time
	expiresAt time.Time
}

// ParseSecret validates a user-supplied secret: the "whsec_" prefix, then
// standard padded base64 of MinSecretBytes to MaxSecretBytes bytes.
func ParseSecret(s string) (Secret, error) {
	decoded, err := decodeSecret(s)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: %v", ErrInvalidSecret, err)
	}
	return Secret{key: newSigningKey(s, decoded)}, nil
}

// GenerateSecret returns a new secret: "whsec_" and the standard base64 of
// 32 bytes from crypto/rand.
func GenerateSecret() Secret {
	key := make([]byte, generatedSecretBytes)
	_, _ = rand.Read(key) // never fails: crypto/rand.Read crashes the program instead
	return Secret{key: newSigningKey(SecretPrefix+base64.StdEncoding.EncodeToString(key), key)}
}

func decodeSecret(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	if !strings.HasPrefix(s, SecretPrefix) {
		return nil, fmt.Errorf("does not start with %q", SecretPrefix)
	}

	encoded := s[len(SecretPrefix):]
	if encoded == "" {
		return nil, fmt.Errorf("nothing follows %q", SecretPrefix)
	}
	if i := strings.IndexAny(encoded, " \t\r\n\v\f"); i >= 0 {
		return nil, fmt.Errorf("whitespace at character %d", len(SecretPrefix)+i+1)
	}
	if strings.ContainsAny(encoded, "-_") {
		return nil, errors.New("URL-safe base64 after the prefix; want standard base64 (+ and /)")
	}
	if len(encoded)%4 != 0 {
		return nil, fmt.Errorf("base64 after the prefix is %d characters, not a multiple of 4 "+
			"(is '=' padding missing?)", len(encoded))
	}

	key, err := base64.StdEncoding.DecodeString(encoded)
	if corrupt, ok := errors.AsType[base64.CorruptInputError](err); ok {
		return nil, fmt.Errorf("invalid base64 at character %d", len(SecretPrefix)+int(corrupt)+1)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %v", err)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("key is %d bytes; want %d to %d", len(key),
			MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// Reveal returns the secret as written, "whsec_..." included. It is meant for
// the one response that hands a new secret to its owner; never log it.
func (s Secret) Reveal() string {
	if s.key == nil {
		return ""
	}
	return s.key.value()
}

// Fingerprint identifies the secret without revealing it: the first 8 bytes
// of its SHA-256, in hex. Logs and the dashboard use it to tell secrets apart.
func (s Secret) Fingerprint() string {
	if s.key == nil {
		return ""
	}
	return s.key.fingerprint
}

// IsZero reports whether s holds no secret.
func (s Secret) IsZero() bool {
	return s.key == nil
}

// CreatedAt returns when the secret became primary in its SecretSet, or the
// zero time for a Secret outside a set.
func (s Secret) CreatedAt() time.Time {
	return s.createdAt
}

// ExpiresAt returns the end of the secret's overlap: it signs and verifies
// strictly before that instant. The zero time means it does not expire, as
// for the primary secret.
func (s Secret) ExpiresAt() time.Time {
	return s.expiresAt
}

// validAt reports whether s still signs at t.
func (s Secret) validAt(t time.Time) bool {
	return s.expiresAt.IsZero() || t.Before(s.expiresAt)
}

// sameKey reports whether s and o hold the same secret, in constant time.
func (s Secret) sameKey(o Secret) bool {
	if s.key == nil || o.key == nil {
		return s.key == o.key
	}
	return subtle.ConstantTimeCompare([]byte(s.key.value()), []byte(o.key.value())) == 1
}

// String returns "secret:" and the fingerprint, never the secret.
func (s Secret) String() string {
	if s.key == nil {
		return "secret:none"
	}
	return "secret:" + s.key.fingerprint
}

// GoString is String, so that %#v redacts too.
func (s Secret) GoString() string {
	return s.String()
}

// Format writes String for every verb, so no fmt verb prints the secret.
func (s Secret) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, s.String())
}

// LogValue logs the secret as its fingerprint and expiry with log/slog.
func (s Secret) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("fingerprint", s.Fingerprint())}
	if !s.expiresAt.IsZero() {
		attrs = append(attrs, slog.Time("expires_at", s.expiresAt))
	}
	return slog.GroupValue(attrs...)
}

// MarshalLogObject logs the secret as its fingerprint and expiry with zap.
func (s Secret) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("fingerprint", s.Fingerprint())
	if !s.expiresAt.IsZero() {
		enc.AddTime("expires_at", s.expiresAt)
	}
	return nil
}

// fingerprint returns the first 8 bytes of SHA-256 over value, in hex.
func fingerprint(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:8])
}
