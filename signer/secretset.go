package signer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"go.uber.org/zap/zapcore"
)

// MaxOldSecrets is how many older secrets may still sign beside the primary
// during rotation overlaps. A rotation that would keep more drops the oldest,
// so a rotation forced by a leaked secret is never refused.
const MaxOldSecrets = 10

// SecretSet is a hook's signing secrets: the primary, newest, one first, then
// older ones that keep signing until their overlap ends.
//
// A SecretSet is a value that never changes: Rotate and Prune return new
// sets, so one set may be read by many goroutines while another is built.
// Its JSON encoding holds the secrets themselves and exists only to store
// the set; everything else (String, fmt verbs, slog, zap) shows fingerprints.
type SecretSet struct {
	secrets []Secret
}

// NewSecretSet returns a set whose only secret, primary, is valid from now.
func NewSecretSet(primary Secret, now time.Time) (SecretSet, error) {
	return SecretSet{}.Rotate(primary, 0, now)
}

// Rotate returns a set in which next is the primary secret from now on. The
// current primary keeps signing until now+overlap and older secrets until
// their own overlaps end; secrets already expired at now are dropped, and so
// are the oldest ones beyond MaxOldSecrets. An overlap of 0 retires the
// current primary at once.
func (s SecretSet) Rotate(next Secret, overlap time.Duration, now time.Time) (SecretSet, error) {
	if next.IsZero() {
		return s, errors.New("rotating secret: no new secret given")
	}
	if overlap < 0 {
		return s, fmt.Errorf("rotating secret: overlap %s is negative", overlap)
	}
	for _, old := range s.secrets {
		if old.validAt(now) && old.sameKey(next) {
			return s, errors.New("rotating secret: the new secret is already in use")
		}
	}

	next.createdAt, next.expiresAt = now, time.Time{}
	secrets := make([]Secret, 0, 1+min(len(s.secrets), MaxOldSecrets))
	secrets = append(secrets, next)
	for i, old := range s.secrets {
		if i == 0 {
			old.expiresAt = now.Add(overlap)
		}
		if old.validAt(now) && len(secrets) <= MaxOldSecrets {
			secrets = append(secrets, old)
		}
	}
	return SecretSet{secrets: secrets}, nil
}

// Primary returns the newest secret, which never expires, or the zero Secret
// for an empty set.
func (s SecretSet) Primary() Secret {
	if len(s.secrets) == 0 {
		return Secret{}
	}
	return s.secrets[0]
}

// Valid returns the secrets that sign at now, newest first.
func (s SecretSet) Valid(now time.Time) []Secret {
	valid := make([]Secret, 0, len(s.secrets))
	for _, sec := range s.secrets {
		if sec.validAt(now) {
			valid = append(valid, sec)
		}
	}
	return valid
}

// Prune returns the set without the secrets that have expired at now. Signing
// skips expired secrets anyway; pruning keeps the stored set small.
func (s SecretSet) Prune(now time.Time) SecretSet {
	return SecretSet{secrets: s.Valid(now)}
}

// Len returns how many secrets the set holds, expired ones included.
func (s SecretSet) Len() int {
	return len(s.secrets)
}

// storedSecret is one secret in the JSON encoding of a SecretSet.
type storedSecret struct {
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// MarshalJSON encodes the set for storage, secrets included, as an array of
// {"secret", "created_at", "expires_at"} objects, newest first. Never send
// this encoding to a client or a log.
func (s SecretSet) MarshalJSON() ([]byte, error) {
	stored := make([]storedSecret, len(s.secrets))
	for i, sec := range s.secrets {
		stored[i] = storedSecret{
			Secret:    sec.Reveal(),
			CreatedAt: sec.createdAt,
			ExpiresAt: sec.expiresAt,
		}
	}
	return json.Marshal(stored)
}

// UnmarshalJSON decodes a set written by MarshalJSON and validates every
// secret in it. JSON null decodes to the empty set.
func (s *SecretSet) UnmarshalJSON(data []byte) error {
	var stored []storedSecret
	if err := json.Unmarshal(data, &stored); err != nil {
		return fmt.Errorf("decoding secret set: %w", err)
	}
	if len(stored) > 1+MaxOldSecrets {
		return fmt.Errorf("decoding secret set: %d secrets; at most %d",
			len(stored), 1+MaxOldSecrets)
	}

	secrets := make([]Secret, len(stored))
	for i, st := range stored {
		sec, err := decodeStoredSecret(i, st)
		if err != nil {
			return fmt.Errorf("decoding secret set: [%d]: %w", i, err)
		}
		for j := range i {
			if secrets[j].sameKey(sec) {
				return fmt.Errorf("decoding secret set: [%d]: same secret as [%d]", i, j)
			}
		}
		secrets[i] = sec
	}
	s.secrets = secrets
	return nil
}

func decodeStoredSecret(i int, st storedSecret) (Secret, error) {
	sec, err := ParseSecret(st.Secret)
	if err != nil {
		return Secret{}, err
	}
	if st.CreatedAt.IsZero() {
		return Secret{}, errors.New("created_at is missing")
	}
	if i == 0 && !st.ExpiresAt.IsZero() {
		return Secret{}, errors.New("the primary secret has expires_at; it never expires")
	}
	if i > 0 && st.ExpiresAt.IsZero() {
		return Secret{}, errors.New("expires_at is missing; an old secret must expire")
	}
	sec.createdAt, sec.expiresAt = st.CreatedAt, st.ExpiresAt
	return sec, nil
}

// String describes the set by fingerprints, never by secrets.
func (s SecretSet) String() string {
	if len(s.secrets) == 0 {
		return "secrets(none)"
	}
	return "secrets(primary " + s.secrets[0].String() +
		", " + strconv.Itoa(len(s.secrets)-1) + " old)"
}

// GoString is String, so that %#v redacts too.
func (s SecretSet) GoString() string {
	return s.String()
}

// Format writes String for every verb, so no fmt verb prints a secret.
func (s SecretSet) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, s.String())
}

// LogValue logs the set's fingerprints with log/slog.
func (s SecretSet) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("primary", s.Primary().Fingerprint()),
		slog.Int("old", max(len(s.secrets)-1, 0)),
	)
}

// MarshalLogObject logs the set's fingerprints with zap.
func (s SecretSet) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("primary", s.Primary().Fingerprint())
	enc.AddInt("old", max(len(s.secrets)-1, 0))
	return nil
}
