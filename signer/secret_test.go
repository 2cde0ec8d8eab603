package signer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestGenerateSecretMakesWhsecOf32RandomBytes(t *testing.T) {
	a, b := GenerateSecret(), GenerateSecret()

	for _, s := range []Secret{a, b} {
		require.True(t, strings.HasPrefix(s.Reveal(), SecretPrefix))
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Reveal(), SecretPrefix))
		require.NoError(t, err)
		assert.Len(t, key, 32)
		parsed, err := ParseSecret(s.Reveal())
		require.NoError(t, err, "a generated secret must parse")
		assert.Equal(t, s.Fingerprint(), parsed.Fingerprint())
	}
	assert.NotEqual(t, a.Reveal(), b.Reveal())
}

func TestParseSecretAcceptsWhsecOf24To64Bytes(t *testing.T) {
	tests := []struct {
		name   string
		secret string
	}{
		{name: "design vector, 24 bytes", secret: vectorSecret},
		{name: "24 bytes", secret: testSecret(0xab, 24)},
		{name: "32 bytes with padding", secret: testSecret(0xfe, 32)},
		{name: "64 bytes", secret: testSecret(0x01, 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSecret(tt.secret)
			require.NoError(t, err)
			assert.Equal(t, tt.secret, s.Reveal())
			assert.False(t, s.IsZero())
			assert.Len(t, s.Fingerprint(), 16)
		})
	}
}

func TestParseSecretRejectsMalformedSecretsWithoutEchoingThem(t *testing.T) {
	key32 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) // has + and /
	tests := []struct {
		name   string
		secret string
		want   string
	}{
		{name: "empty", secret: "", want: "invalid secret: empty"},
		{name: "no prefix", secret: key32, want: `does not start with "whsec_"`},
		{name: "other prefix", secret: "whsk_" + key32, want: `does not start with "whsec_"`},
		{name: "prefix only", secret: "whsec_", want: `nothing follows "whsec_"`},
		{name: "trailing newline", secret: testSecret(7, 24) + "\n", want: "whitespace at character 39"},
		{
			name: "inner space", secret: "whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw",
			want: "whitespace at character 15",
		},
		{
			name:   "URL-safe alphabet",
			secret: SecretPrefix + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)),
			want:   "URL-safe base64",
		},
		{
			name:   "missing padding",
			secret: SecretPrefix + strings.TrimRight(key32, "="),
			want:   "not a multiple of 4 (is '=' padding missing?)",
		},
		{
			name: "not base64", secret: "whsec_MfKQ9r8GKYqrTwjUPD8I*PZIo2LaLaSw",
			want: "invalid base64 at character 27",
		},
		{name: "too short", secret: testSecret(7, 16), want: "key is 16 bytes; want 24 to 64"},
		{name: "too long", secret: testSecret(7, 65), want: "key is 65 bytes; want 24 to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSecret(tt.secret)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidSecret)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, s.IsZero())
			if encoded := strings.TrimPrefix(strings.TrimSpace(tt.secret), SecretPrefix); len(encoded) > 8 {
				assert.NotContains(t, err.Error(), encoded[:8], "the error echoes the secret")
			}
		})
	}
}

// holder stands for a record that keeps secrets, printed carelessly. Note,
// a log handler that encodes such a record as JSON reveals its exported
// SecretSet: that encoding exists to store the set.
type holder struct {
	Name    string
	Set     SecretSet
	secret  Secret
	secrets SecretSet
}

func TestSecretsNeverShowInFormattedOutputOrLogs(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	old, primary := testSecret(0x11, 32), testSecret(0x22, 32)
	set := rotatedSet(t, start, time.Hour, old, primary)
	sec := set.Primary()
	h := holder{Name: "h", Set: set, secret: sec, secrets: set}

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out = append(out,
			fmt.Sprintf(verb, sec), fmt.Sprintf(verb, &sec),
			fmt.Sprintf(verb, set), fmt.Sprintf(verb, &set),
			fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h),
			fmt.Sprintf(verb, []Secret{sec}))
	}

	var slogBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogBuf, nil)).Info("rotated",
		"secret", sec, "secrets", set)
	out = append(out, slogBuf.String())

	var zapBuf bytes.Buffer
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(&zapBuf), zap.DebugLevel)
	zap.New(core).Info("rotated", zap.Any("secret", sec), zap.Object("secrets", set),
		zap.Any("set", set), zap.Stringer("primary", sec))
	out = append(out, zapBuf.String())

	joined := strings.Join(out, "\n")
	for _, s := range []string{old, primary} {
		assert.NotContains(t, joined, strings.TrimPrefix(s, SecretPrefix)[:12])
		assert.NotContains(t, joined, fmt.Sprintf("%x", []byte(s))[:24])
	}
	assert.Contains(t, joined, sec.Fingerprint(), "output should identify the secret")
	assert.Contains(t, slogBuf.String(), `"secrets":{"primary":"`+sec.Fingerprint()+`","old":1}`)
	assert.Contains(t, zapBuf.String(), `"secrets":{"primary":"`+sec.Fingerprint()+`","old":1}`)
}

func TestSecretMarshalsToNothingOnItsOwn(t *testing.T) {
	out, err := json.Marshal(mustParse(t, vectorSecret))

	require.NoError(t, err)
	assert.JSONEq(t, `{}`, string(out))
}

func TestInvalidSecretErrorIsDistinctFromVerifyErrors(t *testing.T) {
	_, err := ParseSecret("nope")

	for _, sentinel := range []error{ErrMissingHeader, ErrMalformedHeader,
		ErrTimestampOutsideTolerance, ErrNoMatchingSignature, ErrNoSecret} {
		assert.False(t, errors.Is(err, sentinel), "wraps %v", sentinel)
	}
}
