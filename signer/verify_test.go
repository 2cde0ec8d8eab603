package signer

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onlyScheme keeps the headers of one scheme, as a sender of only that
// convention would send.
func onlyScheme(h http.Header, scheme Scheme) http.Header {
	out := h.Clone()
	if scheme == SchemeMailOdds {
		out.Del(HeaderWebhookID)
		out.Del(HeaderWebhookTimestamp)
		out.Del(HeaderWebhookSignature)
	} else {
		out.Del(HeaderMailOddsSignature)
	}
	return out
}

// vectorHeader returns the DESIGN vector's headers with the given values.
func vectorHeader(mailOdds, id, timestamp, standard string) http.Header {
	h := http.Header{}
	for name, value := range map[string]string{
		HeaderMailOddsSignature: mailOdds, HeaderWebhookID: id,
		HeaderWebhookTimestamp: timestamp, HeaderWebhookSignature: standard,
	} {
		if value != "" {
			h.Set(name, value)
		}
	}
	return h
}

const (
	vectorHex  = "201eba3ecb00f5cec4dbc796b9f87b1905bd259dd4c9fdc2bb80bab78b8a1f2c"
	vectorB64  = "hHPfnUcWR2oF3JohA2kTOfrnOCDFpATEMtcpLKCflVg="
	zeroHex    = "0000000000000000000000000000000000000000000000000000000000000000"
	zeroBase64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)

func TestVerifyAcceptsTheDesignVector(t *testing.T) {
	for _, scheme := range []Scheme{SchemeMailOdds, SchemeStandardWebhooks} {
		t.Run(scheme.String(), func(t *testing.T) {
			h := onlyScheme(vectorHeader(vectorMailOdds, vectorID, vectorTimestamp,
				vectorStandard), scheme)

			res, err := Verify(h, []byte(vectorBody), []string{vectorSecret}, clockAt(vectorTime))

			require.NoError(t, err)
			assert.Equal(t, Result{Scheme: scheme, Secret: 0, Timestamp: vectorTime}, res)
		})
	}
}

// delivery is a request signed during a rotation overlap, checked once per
// scheme as a receiver of only that convention would.
type delivery struct {
	old, primary string // the secrets, oldest first
	at           time.Time
	body         []byte
	set          SecretSet
}

func newDelivery(t *testing.T) delivery {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	d := delivery{
		old: testSecret(1, 32), primary: testSecret(2, 32),
		at:   start.Add(10 * time.Minute),
		body: []byte(`{"id":"evt_1","type":"message.opened"}`),
	}
	d.set = rotatedSet(t, start, time.Hour, d.old, d.primary)
	return d
}

// verify signs the delivery, lets edit change the headers of one scheme,
// and verifies body with secrets at now.
func (d delivery) verify(t *testing.T, scheme Scheme, edit func(http.Header), body []byte,
	secrets []string, now time.Time,
) error {
	t.Helper()
	h := onlyScheme(signedHeader(t, d.set, "dlv_1", d.at, d.body), scheme)
	if edit != nil {
		edit(h)
	}
	_, err := Verify(h, body, secrets, clockAt(now))
	return err
}

func forEachScheme(t *testing.T, f func(t *testing.T, scheme Scheme)) {
	for _, scheme := range []Scheme{SchemeMailOdds, SchemeStandardWebhooks} {
		t.Run(scheme.String(), func(t *testing.T) { f(t, scheme) })
	}
}

func TestVerifyAcceptsEitherSecretWithinTheTolerance(t *testing.T) {
	d := newDelivery(t)
	forEachScheme(t, func(t *testing.T, scheme Scheme) {
		for name, tc := range map[string]struct {
			secret string
			now    time.Time
		}{
			"primary secret":          {d.primary, d.at},
			"old secret":              {d.old, d.at},
			"exactly 5 minutes old":   {d.primary, d.at.Add(5 * time.Minute)},
			"exactly 5 minutes ahead": {d.old, d.at.Add(-5 * time.Minute)},
		} {
			err := d.verify(t, scheme, nil, d.body, []string{tc.secret}, tc.now)
			assert.NoError(t, err, name)
		}
	})
}

func TestVerifyRejectsATamperedBody(t *testing.T) {
	d := newDelivery(t)
	forEachScheme(t, func(t *testing.T, scheme Scheme) {
		for name, body := range map[string][]byte{
			"one byte changed":  []byte(`{"id":"evt_2","type":"message.opened"}`),
			"space added":       []byte(`{"id":"evt_1", "type":"message.opened"}`),
			"trailing newline":  append(append([]byte{}, d.body...), '\n'),
			"truncated":         d.body[:len(d.body)-1],
			"empty":             {},
			"keys reordered":    []byte(`{"type":"message.opened","id":"evt_1"}`),
			"another delivery":  []byte(vectorBody),
			"body of two bytes": []byte("{}"),
		} {
			err := d.verify(t, scheme, nil, body, []string{d.primary, d.old}, d.at)
			assert.ErrorIs(t, err, ErrNoMatchingSignature, name)
		}
	})
}

func TestVerifyRejectsTheWrongSecret(t *testing.T) {
	d := newDelivery(t)
	forEachScheme(t, func(t *testing.T, scheme Scheme) {
		for name, secrets := range map[string][]string{
			"another secret":        {testSecret(3, 32)},
			"another length":        {testSecret(2, 24)},
			"several wrong secrets": {testSecret(3, 32), testSecret(4, 64)},
			"a key of zero bytes":   {testSecret(0, 32)},
		} {
			err := d.verify(t, scheme, nil, d.body, secrets, d.at)
			assert.ErrorIs(t, err, ErrNoMatchingSignature, name)
		}
	})
}

func TestVerifyRejectsAnOldTimestamp(t *testing.T) {
	d := newDelivery(t)
	forEachScheme(t, func(t *testing.T, scheme Scheme) {
		for name, now := range map[string]time.Time{
			"a second past the tolerance": d.at.Add(5*time.Minute + time.Second),
			"a day old":                   d.at.Add(24 * time.Hour),
		} {
			err := d.verify(t, scheme, nil, d.body, []string{d.primary}, now)
			assert.ErrorIs(t, err, ErrTimestampTooOld, name)
			assert.ErrorIs(t, err, ErrTimestampOutsideTolerance, name)
		}
	})
}

func TestVerifyRejectsAFutureTimestamp(t *testing.T) {
	d := newDelivery(t)
	forEachScheme(t, func(t *testing.T, scheme Scheme) {
		for name, now := range map[string]time.Time{
			"a second past the tolerance": d.at.Add(-5*time.Minute - time.Second),
			"a day ahead":                 d.at.Add(-24 * time.Hour),
		} {
			err := d.verify(t, scheme, nil, d.body, []string{d.primary}, now)
			assert.ErrorIs(t, err, ErrTimestampTooNew, name)
			assert.ErrorIs(t, err, ErrTimestampOutsideTolerance, name)
		}
	})
}

func TestVerifyRejectsAReplacedTimestamp(t *testing.T) {
	// A fresh t on an old signature: the timestamp is within the tolerance,
	// but it is signed, so the signature no longer matches.
	d := newDelivery(t)
	ts := strconv.FormatInt(d.at.Unix(), 10)
	later := strconv.FormatInt(d.at.Unix()+60, 10)
	replace := func(h http.Header) {
		if v := h.Get(HeaderWebhookTimestamp); v != "" {
			h.Set(HeaderWebhookTimestamp, later)
		}
		if v := h.Get(HeaderMailOddsSignature); v != "" {
			h.Set(HeaderMailOddsSignature, strings.Replace(v, "t="+ts, "t="+later, 1))
		}
	}
	forEachScheme(t, func(t *testing.T, scheme Scheme) {
		err := d.verify(t, scheme, replace, d.body, []string{d.primary}, d.at)
		assert.ErrorIs(t, err, ErrNoMatchingSignature)
	})
}

func TestVerifyRejectsAReplacedDeliveryID(t *testing.T) {
	// webhook-id is signed; X-MailOdds-Signature does not cover it.
	d := newDelivery(t)
	replace := func(h http.Header) { h.Set(HeaderWebhookID, "dlv_2") }
	err := d.verify(t, SchemeStandardWebhooks, replace, d.body, []string{d.primary}, d.at)
	assert.ErrorIs(t, err, ErrNoMatchingSignature)
}

func TestVerifyAcceptsReorderedSignatures(t *testing.T) {
	tests := []struct {
		name     string
		mailOdds string
		standard string
	}{
		{name: "as signed", mailOdds: vectorMailOdds, standard: vectorStandard},
		{
			name:     "signatures before the timestamp, match last",
			mailOdds: "v1=" + zeroHex + ",v1=" + vectorHex + ",t=1733230000",
			standard: "v1," + zeroBase64 + " v1," + vectorB64,
		},
		{
			name:     "match first, then the others",
			mailOdds: "v1=" + vectorHex + ",t=1733230000,v1=" + zeroHex,
			standard: "v1," + vectorB64 + " v1," + zeroBase64,
		},
	}
	for _, tt := range tests {
		for _, scheme := range []Scheme{SchemeMailOdds, SchemeStandardWebhooks} {
			t.Run(scheme.String()+"/"+tt.name, func(t *testing.T) {
				h := vectorHeader(tt.mailOdds, vectorID, vectorTimestamp, tt.standard)

				res, err := Verify(h, []byte(vectorBody), []string{vectorSecret},
					clockAt(vectorTime), WithScheme(scheme))

				require.NoError(t, err)
				assert.Equal(t, scheme, res.Scheme)
			})
		}
	}
}

func TestVerifyAcceptsExtraSignatures(t *testing.T) {
	tests := []struct {
		name     string
		mailOdds string
		standard string
	}{
		{
			name:     "unknown versions around the match",
			mailOdds: "v0=abc,t=1733230000,v2=" + zeroHex + ",v1=" + vectorHex + ",x=",
			standard: "v1a,c2lnbmF0dXJl v1," + vectorB64 + " v2," + zeroBase64,
		},
		{
			name:     "undecodable v1 beside the match",
			mailOdds: "t=1733230000,v1=zz,v1=" + vectorHex[:10] + ",v1=" + vectorHex,
			standard: "v1,!!! v1," + vectorB64[:20] + " v1," + vectorB64,
		},
		{
			name: "ten signatures of other secrets",
			mailOdds: "t=1733230000" + strings.Repeat(",v1="+zeroHex, 10) + ",v1=" +
				vectorHex,
			standard: strings.Repeat("v1,"+zeroBase64+" ", 10) + "v1," + vectorB64,
		},
		{
			name:     "extra whitespace",
			mailOdds: "t=1733230000, v1=" + vectorHex + " ",
			standard: "  v1," + zeroBase64 + "   v1," + vectorB64 + " ",
		},
		{
			name:     "uppercase hex",
			mailOdds: "t=1733230000,v1=" + strings.ToUpper(vectorHex),
			standard: vectorStandard,
		},
	}
	for _, tt := range tests {
		for _, scheme := range []Scheme{SchemeMailOdds, SchemeStandardWebhooks} {
			t.Run(scheme.String()+"/"+tt.name, func(t *testing.T) {
				h := vectorHeader(tt.mailOdds, vectorID, vectorTimestamp, tt.standard)

				res, err := Verify(h, []byte(vectorBody), []string{vectorSecret},
					clockAt(vectorTime), WithScheme(scheme))

				require.NoError(t, err)
				assert.Equal(t, scheme, res.Scheme)
			})
		}
	}
}

func TestVerifyErrorsAreDistinct(t *testing.T) {
	// Each failure wraps exactly one of the four errors receivers branch on.
	sentinels := []error{ErrMissingHeader, ErrMalformedHeader, ErrTimestampOutsideTolerance,
		ErrNoMatchingSignature}
	tests := []struct {
		name   string
		header http.Header
		now    time.Time
		want   error
	}{
		{"missing header", http.Header{}, vectorTime, ErrMissingHeader},
		{"bad format", vectorHeader("t=soon,v1="+vectorHex, "", "", ""), vectorTime,
			ErrMalformedHeader},
		{"expired timestamp", vectorHeader(vectorMailOdds, "", "", ""),
			vectorTime.Add(time.Hour), ErrTimestampOutsideTolerance},
		{"mismatch", vectorHeader("t=1733230000,v1="+zeroHex, "", "", ""), vectorTime,
			ErrNoMatchingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.header, []byte(vectorBody), []string{vectorSecret},
				clockAt(tt.now))

			for _, s := range sentinels {
				assert.Equal(t, s == tt.want, errors.Is(err, s), "errors.Is(err, %v): %v", s, err)
			}
		})
	}
}

func TestVerifyTimestampErrorsSayWhichWayAndHowFar(t *testing.T) {
	h := onlyScheme(vectorHeader(vectorMailOdds, "", "", ""), SchemeMailOdds)

	_, tooOld := Verify(h, []byte(vectorBody), []string{vectorSecret},
		clockAt(vectorTime.Add(time.Hour)))
	_, tooNew := Verify(h, []byte(vectorBody), []string{vectorSecret},
		clockAt(vectorTime.Add(-time.Hour)))

	assert.EqualError(t, tooOld, "X-MailOdds-Signature: timestamp outside tolerance: too old "+
		"(signed 1h0m0s before now, tolerance 5m0s)")
	assert.EqualError(t, tooNew, "X-MailOdds-Signature: timestamp outside tolerance: too new "+
		"(signed 1h0m0s after now, tolerance 5m0s)")
	assert.ErrorIs(t, tooOld, ErrTimestampOutsideTolerance)
	assert.ErrorIs(t, tooNew, ErrTimestampOutsideTolerance)
	assert.NotErrorIs(t, tooOld, ErrTimestampTooNew)
}

func TestVerifyCallsAHugeTimestampTooNew(t *testing.T) {
	// Regression: time.Unix wrapped around for timestamps near the int64
	// limit, and they were reported as too old.
	tests := []struct {
		name string
		ts   string
	}{
		{name: "largest int64", ts: "9223372036854775807"},
		{name: "wraps time.Unix", ts: "9223372000000000000"},
		{name: "year 5138", ts: "99999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, h := range []http.Header{
				vectorHeader("t="+tt.ts+",v1="+vectorHex, "", "", ""),
				vectorHeader("", vectorID, tt.ts, vectorStandard),
			} {
				_, err := Verify(h, []byte(vectorBody), []string{vectorSecret},
					clockAt(vectorTime))

				assert.ErrorIs(t, err, ErrTimestampTooNew)
				assert.NotErrorIs(t, err, ErrTimestampTooOld)
			}
		})
	}
}

func TestVerifyAcceptsRotationSignaturesInEitherOrder(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	old, primary := testSecret(1, 32), testSecret(2, 32)
	set := rotatedSet(t, start, time.Hour, old, primary)
	h := signedHeader(t, set, "dlv_1", start, []byte("{}"))

	parts := strings.Split(h.Get(HeaderMailOddsSignature), ",")
	h.Set(HeaderMailOddsSignature, strings.Join([]string{parts[2], parts[1], parts[0]}, ","))
	tokens := strings.Fields(h.Get(HeaderWebhookSignature))
	h.Set(HeaderWebhookSignature, tokens[1]+" "+tokens[0])

	for _, scheme := range []Scheme{SchemeMailOdds, SchemeStandardWebhooks} {
		for i, secret := range []string{old, primary} {
			res, err := Verify(h, []byte("{}"), []string{testSecret(7, 32), secret},
				clockAt(start), WithScheme(scheme))
			require.NoError(t, err, "%s, secret %d", scheme, i)
			assert.Equal(t, 1, res.Secret, "Result names the secret that matched")
		}
	}
}

func TestVerifyRejectsMalformedHeaders(t *testing.T) {
	ts := vectorTimestamp
	tests := []struct {
		name   string
		header http.Header
		want   error
		msg    string
	}{
		{name: "no headers", header: http.Header{}, want: ErrMissingHeader},
		{name: "nil header", header: nil, want: ErrMissingHeader},
		{
			name: "empty X-MailOdds-Signature", want: ErrMissingHeader,
			header: http.Header{"X-Mailodds-Signature": {""}},
		},
		{
			name: "not key=value", want: ErrMalformedHeader, msg: "element 1 is not key=value",
			header: vectorHeader("garbage", "", "", ""),
		},
		{
			name: "empty element", want: ErrMalformedHeader, msg: "element 3 is not key=value",
			header: vectorHeader("t="+ts+",v1="+vectorHex+",", "", "", ""),
		},
		{
			name: "t not a number", want: ErrMalformedHeader, msg: "t is not unix seconds",
			header: vectorHeader("t=soon,v1="+vectorHex, "", "", ""),
		},
		{
			name: "negative t", want: ErrMalformedHeader,
			header: vectorHeader("t=-1733230000,v1="+vectorHex, "", "", ""),
		},
		{
			name: "signed t", want: ErrMalformedHeader,
			header: vectorHeader("t=+1733230000,v1="+vectorHex, "", "", ""),
		},
		{
			name: "t overflows", want: ErrMalformedHeader,
			header: vectorHeader("t=99999999999999999999,v1="+vectorHex, "", "", ""),
		},
		{
			name: "no t", want: ErrMalformedHeader, msg: "no t=<unix> element",
			header: vectorHeader("v1="+vectorHex, "", "", ""),
		},
		{
			name: "two t", want: ErrMalformedHeader, msg: "more than one t",
			header: vectorHeader("t="+ts+",t="+ts+",v1="+vectorHex, "", "", ""),
		},
		{
			name: "no v1", want: ErrNoMatchingSignature, msg: "no v1 signature",
			header: vectorHeader("t="+ts+",v0="+vectorHex, "", "", ""),
		},
		{
			name: "only a webhook-signature", want: ErrMissingHeader, msg: "webhook-id is missing",
			header: vectorHeader("", "", "", vectorStandard),
		},
		{
			name: "no webhook-timestamp", want: ErrMissingHeader,
			msg:    "webhook-timestamp is missing",
			header: vectorHeader("", vectorID, "", vectorStandard),
		},
		{
			name: "no webhook-signature", want: ErrMissingHeader,
			msg:    "webhook-signature is missing",
			header: vectorHeader("", vectorID, ts, ""),
		},
		{
			name: "webhook-timestamp not a number", want: ErrMalformedHeader,
			msg:    "webhook-timestamp is not unix seconds",
			header: vectorHeader("", vectorID, "2024-12-03T12:46:40Z", vectorStandard),
		},
		{
			name: "signature without version", want: ErrMalformedHeader,
			msg:    "signature 1 is not version,signature",
			header: vectorHeader("", vectorID, ts, vectorB64),
		},
		{
			name: "only other versions", want: ErrNoMatchingSignature,
			header: vectorHeader("", vectorID, ts, "v1a,"+vectorB64+" v2,"+vectorB64),
		},
		{
			// Regression: 44 base64 characters without "=" decode to 33 bytes
			// and overflowed the 32-byte buffer.
			name: "v1 of 44 unpadded characters", want: ErrNoMatchingSignature,
			header: vectorHeader("", vectorID, ts, "v1,"+strings.Repeat("0", 44)),
		},
		{
			name: "v1 of 16 bytes", want: ErrNoMatchingSignature,
			header: vectorHeader("", vectorID, ts,
				"v1,"+base64.StdEncoding.EncodeToString(make([]byte, 16))),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.header, []byte(vectorBody), []string{vectorSecret},
				clockAt(vectorTime))

			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			if tt.msg != "" {
				assert.Contains(t, err.Error(), tt.msg)
			}
		})
	}
}

func TestVerifyAcceptsSvixHeaderNames(t *testing.T) {
	h := http.Header{}
	h.Set("svix-id", vectorID)
	h.Set("svix-timestamp", vectorTimestamp)
	h.Set("svix-signature", vectorStandard)

	res, err := Verify(h, []byte(vectorBody), []string{vectorSecret}, clockAt(vectorTime))

	require.NoError(t, err)
	assert.Equal(t, SchemeStandardWebhooks, res.Scheme)
}

func TestVerifyFindsHeadersStoredUnderLowercaseKeys(t *testing.T) {
	h := http.Header{
		"webhook-id":        {vectorID},
		"webhook-timestamp": {vectorTimestamp},
		"webhook-signature": {vectorStandard},
	}

	_, err := Verify(h, []byte(vectorBody), []string{vectorSecret}, clockAt(vectorTime))

	assert.NoError(t, err)
}

func TestVerifyFallsBackToTheOtherScheme(t *testing.T) {
	h := vectorHeader("t="+vectorTimestamp+",v1="+zeroHex, vectorID, vectorTimestamp,
		vectorStandard)

	res, err := Verify(h, []byte(vectorBody), []string{vectorSecret}, clockAt(vectorTime))

	require.NoError(t, err)
	assert.Equal(t, SchemeStandardWebhooks, res.Scheme)
}

func TestVerifyReportsTheFirstSchemesErrorWhenBothFail(t *testing.T) {
	h := vectorHeader(vectorMailOdds, vectorID, vectorTimestamp, vectorStandard)

	_, err := Verify(h, []byte(vectorBody), []string{testSecret(5, 32)}, clockAt(vectorTime))

	require.ErrorIs(t, err, ErrNoMatchingSignature)
	assert.True(t, strings.HasPrefix(err.Error(), "X-MailOdds-Signature: "), err.Error())
}

func TestVerifyWithSchemeIgnoresTheOtherHeaders(t *testing.T) {
	h := onlyScheme(vectorHeader(vectorMailOdds, vectorID, vectorTimestamp, vectorStandard),
		SchemeStandardWebhooks)

	_, err := Verify(h, []byte(vectorBody), []string{vectorSecret}, clockAt(vectorTime),
		WithScheme(SchemeMailOdds))

	require.ErrorIs(t, err, ErrMissingHeader)
	assert.EqualError(t, err, "missing signature header: want X-MailOdds-Signature")
}

func TestVerifyWithToleranceWidensOrNarrowsTheWindow(t *testing.T) {
	h := vectorHeader(vectorMailOdds, "", "", "")
	body, secrets := []byte(vectorBody), []string{vectorSecret}
	halfHourLater := clockAt(vectorTime.Add(30 * time.Minute))

	_, err := Verify(h, body, secrets, halfHourLater, WithTolerance(time.Hour))
	assert.NoError(t, err)

	_, err = Verify(h, body, secrets, clockAt(vectorTime.Add(2*time.Second)),
		WithTolerance(time.Second))
	assert.ErrorIs(t, err, ErrTimestampTooOld)

	for _, d := range []time.Duration{0, -time.Minute} {
		_, err = Verify(h, body, secrets, halfHourLater, WithTolerance(d))
		assert.ErrorContains(t, err, "is not positive")
	}
}

func TestVerifyRejectsUnusableSecrets(t *testing.T) {
	h := vectorHeader(vectorMailOdds, vectorID, vectorTimestamp, vectorStandard)

	_, err := Verify(h, []byte(vectorBody), nil, clockAt(vectorTime))
	assert.ErrorIs(t, err, ErrNoSecret)

	_, err = Verify(h, []byte(vectorBody),
		[]string{vectorSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, clockAt(vectorTime))
	assert.ErrorIs(t, err, ErrInvalidSecret)
	assert.ErrorContains(t, err, "secrets[1]: invalid secret")
	assert.NotContains(t, err.Error(), "MfKQ9r8G")
}

func TestVerifyUsesTheRealClockByDefault(t *testing.T) {
	set := rotatedSet(t, time.Now(), 0, vectorSecret)
	body := []byte(vectorBody)

	_, fresh := Verify(signedHeader(t, set, vectorID, time.Now(), body), body,
		[]string{vectorSecret})
	_, stale := Verify(signedHeader(t, set, vectorID, vectorTime, body), body,
		[]string{vectorSecret})

	assert.NoError(t, fresh)
	assert.ErrorIs(t, stale, ErrTimestampTooOld)
}

func TestVerifierChecksConcurrentRequestsWithSecretsParsedOnce(t *testing.T) {
	v, err := NewVerifier([]string{testSecret(4, 32), vectorSecret}, clockAt(vectorTime))
	require.NoError(t, err)
	good := vectorHeader(vectorMailOdds, vectorID, vectorTimestamp, vectorStandard)
	forged := vectorHeader("t="+vectorTimestamp+",v1="+zeroHex, vectorID, vectorTimestamp,
		"v1,"+zeroBase64)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if res, err := v.Verify(good, []byte(vectorBody)); err != nil || res.Secret != 1 {
					errs <- fmt.Errorf("good request: %+v, %v", res, err)
					return
				}
				if _, err := v.Verify(forged, []byte(vectorBody)); !errors.Is(err,
					ErrNoMatchingSignature) {
					errs <- fmt.Errorf("forged request: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewVerifierRejectsUnusableConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		opts    []VerifyOption
		want    string
	}{
		{name: "no secret", secrets: nil, want: "signature verifier: no valid secret"},
		{
			name: "bad secret", secrets: []string{vectorSecret, "whsec_"},
			want: `signature verifier: secrets[1]: invalid secret: nothing follows "whsec_"`,
		},
		{
			name: "zero tolerance", secrets: []string{vectorSecret},
			opts: []VerifyOption{WithTolerance(0)},
			want: "signature verifier: tolerance 0s is not positive",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.secrets, tt.opts...)

			assert.Nil(t, v)
			assert.EqualError(t, err, tt.want)
		})
	}
}
