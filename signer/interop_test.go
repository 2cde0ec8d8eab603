package signer

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82/webhook"
)

// These tests check hookgate's signatures with the libraries receivers use.
// Both libraries read the real clock, so deliveries are signed now.

// stripeVerifies reports whether stripe-go accepts the X-MailOdds-Signature
// of h with secret.
func stripeVerifies(h http.Header, body []byte, secret string) error {
	return webhook.ValidatePayloadWithTolerance(body, h.Get(HeaderMailOddsSignature), secret,
		DefaultTolerance)
}

// standardVerifies reports whether the Standard Webhooks library accepts the
// webhook-* headers of h with secret.
func standardVerifies(h http.Header, body []byte, secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	return wh.Verify(body, h)
}

func TestReceiverLibrariesReproduceTheDesignVector(t *testing.T) {
	stripeSig := webhook.ComputeSignature(vectorTime, []byte(vectorBody), vectorSecret)
	wh, err := standardwebhooks.NewWebhook(vectorSecret)
	require.NoError(t, err)
	standardSig, err := wh.Sign(vectorID, vectorTime, []byte(vectorBody))
	require.NoError(t, err)

	assert.Equal(t, vectorHex, fmt.Sprintf("%x", stripeSig))
	assert.Equal(t, vectorStandard, standardSig)
	assert.NoError(t, webhook.ValidatePayloadIgnoringTolerance([]byte(vectorBody),
		vectorMailOdds, vectorSecret))
}

func TestReceiverLibrariesVerifyHookgateSignatures(t *testing.T) {
	tests := []struct {
		name   string
		secret Secret
		body   string
	}{
		{name: "design secret", secret: mustParse(t, vectorSecret), body: vectorBody},
		{name: "generated secret", secret: GenerateSecret(), body: `{"id":"evt_2"}`},
		{name: "64-byte secret", secret: mustParse(t, testSecret(0xfe, 64)), body: "[]"},
		{name: "non-ASCII body", secret: GenerateSecret(), body: `{"name":"Zoë 😀"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			set, err := NewSecretSet(tt.secret, now)
			require.NoError(t, err)
			h := signedHeader(t, set, "dlv_2Mk7q", now, []byte(tt.body))

			assert.NoError(t, stripeVerifies(h, []byte(tt.body), tt.secret.Reveal()))
			assert.NoError(t, webhook.ValidatePayload([]byte(tt.body),
				h.Get("X-MailOdds-Signature"), tt.secret.Reveal()))
			assert.NoError(t, standardVerifies(h, []byte(tt.body), tt.secret.Reveal()))
		})
	}
}

func TestReceiversHoldingEitherSecretVerifyDuringAnOverlap(t *testing.T) {
	now := time.Now()
	old, next := GenerateSecret(), GenerateSecret()
	set, err := NewSecretSet(old, now.Add(-time.Hour))
	require.NoError(t, err)
	set, err = set.Rotate(next, 24*time.Hour, now.Add(-time.Minute))
	require.NoError(t, err)
	body := []byte(vectorBody)

	h := signedHeader(t, set, "dlv_overlap", now, body)
	require.Equal(t, 2, strings.Count(h.Get(HeaderMailOddsSignature), "v1="))
	require.Len(t, strings.Fields(h.Get(HeaderWebhookSignature)), 2)

	for name, secret := range map[string]string{"old": old.Reveal(), "new": next.Reveal()} {
		assert.NoError(t, stripeVerifies(h, body, secret), "stripe-go, %s secret", name)
		assert.NoError(t, standardVerifies(h, body, secret), "standard webhooks, %s secret", name)
	}
}

func TestReceiversHoldingTheOldSecretFailAfterTheOverlap(t *testing.T) {
	now := time.Now()
	old, next := GenerateSecret(), GenerateSecret()
	set, err := NewSecretSet(old, now.Add(-3*time.Hour))
	require.NoError(t, err)
	set, err = set.Rotate(next, time.Hour, now.Add(-2*time.Hour))
	require.NoError(t, err)
	body := []byte(vectorBody)

	h := signedHeader(t, set, "dlv_after", now, body)

	assert.NoError(t, stripeVerifies(h, body, next.Reveal()))
	assert.NoError(t, standardVerifies(h, body, next.Reveal()))
	assert.ErrorIs(t, stripeVerifies(h, body, old.Reveal()), webhook.ErrNoValidSignature)
	assert.ErrorIs(t, standardVerifies(h, body, old.Reveal()),
		standardwebhooks.ErrNoMatchingSignature)
}

func TestReceiverLibrariesRejectTamperedBodies(t *testing.T) {
	now := time.Now()
	secret := GenerateSecret()
	set, err := NewSecretSet(secret, now)
	require.NoError(t, err)
	h := signedHeader(t, set, "dlv_1", now, []byte(vectorBody))
	tampered := []byte(`{"id":"evt_1","type":"intent.hot_lead","heat_score":9}`)

	assert.ErrorIs(t, stripeVerifies(h, tampered, secret.Reveal()), webhook.ErrNoValidSignature)
	assert.ErrorIs(t, standardVerifies(h, tampered, secret.Reveal()),
		standardwebhooks.ErrNoMatchingSignature)
}

func TestReceiverLibrariesRejectTheWrongSecret(t *testing.T) {
	now := time.Now()
	set, err := NewSecretSet(GenerateSecret(), now)
	require.NoError(t, err)
	h := signedHeader(t, set, "dlv_1", now, []byte(vectorBody))
	wrong := GenerateSecret().Reveal()

	assert.ErrorIs(t, stripeVerifies(h, []byte(vectorBody), wrong), webhook.ErrNoValidSignature)
	assert.ErrorIs(t, standardVerifies(h, []byte(vectorBody), wrong),
		standardwebhooks.ErrNoMatchingSignature)
}

func TestReceiverLibrariesRejectAnOldTimestamp(t *testing.T) {
	now := time.Now()
	secret := GenerateSecret()
	set, err := NewSecretSet(secret, now.Add(-time.Hour))
	require.NoError(t, err)
	h := signedHeader(t, set, "dlv_1", now.Add(-DefaultTolerance-time.Minute),
		[]byte(vectorBody))

	assert.ErrorIs(t, stripeVerifies(h, []byte(vectorBody), secret.Reveal()), webhook.ErrTooOld)
	assert.ErrorIs(t, standardVerifies(h, []byte(vectorBody), secret.Reveal()),
		standardwebhooks.ErrMessageTooOld)
}

func TestStandardWebhooksLibraryRejectsAFutureTimestamp(t *testing.T) {
	// stripe-go checks only the age of a signature; Verify and the Standard
	// Webhooks library also refuse one from the future.
	now := time.Now()
	secret := GenerateSecret()
	set, err := NewSecretSet(secret, now)
	require.NoError(t, err)
	h := signedHeader(t, set, "dlv_1", now.Add(DefaultTolerance+time.Minute),
		[]byte(vectorBody))

	assert.ErrorIs(t, standardVerifies(h, []byte(vectorBody), secret.Reveal()),
		standardwebhooks.ErrMessageTooNew)
	_, err = Verify(h, []byte(vectorBody), []string{secret.Reveal()})
	assert.ErrorIs(t, err, ErrTimestampTooNew)
}

func TestVerifyAcceptsSignaturesMadeByReceiverLibraries(t *testing.T) {
	now := time.Now()
	secret := GenerateSecret().Reveal()
	body := []byte(`{"id":"evt_3","type":"job.completed"}`)

	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: body, Secret: secret, Timestamp: now,
	})
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	standardSig, err := wh.Sign("msg_1", now, body)
	require.NoError(t, err)

	h := http.Header{}
	h.Set(HeaderMailOddsSignature, signed.Header)
	res, err := Verify(h, body, []string{secret})
	require.NoError(t, err)
	assert.Equal(t, SchemeMailOdds, res.Scheme)

	h = http.Header{}
	h.Set(HeaderWebhookID, "msg_1")
	h.Set(HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	h.Set(HeaderWebhookSignature, standardSig)
	res, err = Verify(h, body, []string{secret})
	require.NoError(t, err)
	assert.Equal(t, SchemeStandardWebhooks, res.Scheme)
}
