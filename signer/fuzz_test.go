package signer

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// FuzzVerify feeds arbitrary header values to Verify. It must never panic,
// and every failure must be one of the documented sentinel errors.
func FuzzVerify(f *testing.F) {
	f.Add(vectorMailOdds, vectorID, vectorTimestamp, vectorStandard, []byte(vectorBody))
	f.Add("t=1733230000,v1="+zeroHex+",v1="+vectorHex, "", "", "", []byte(vectorBody))
	f.Add("", vectorID, vectorTimestamp, "v1a,abc  v1,"+vectorB64+" v2", []byte(vectorBody))
	f.Add("t=,v1=,=,,", "a.b", "-1", "v1, ,", []byte{})
	f.Add("t=99999999999999999999", "x", "9223372036854775807", "v1,====", []byte("{}"))

	f.Fuzz(func(t *testing.T, mailOdds, id, timestamp, standard string, body []byte) {
		h := http.Header{}
		for name, value := range map[string]string{
			HeaderMailOddsSignature: mailOdds, HeaderWebhookID: id,
			HeaderWebhookTimestamp: timestamp, HeaderWebhookSignature: standard,
		} {
			if value != "" {
				h[http.CanonicalHeaderKey(name)] = []string{value}
			}
		}

		res, err := Verify(h, body, []string{vectorSecret}, clockAt(vectorTime))

		if err == nil {
			if res.Scheme != SchemeMailOdds && res.Scheme != SchemeStandardWebhooks {
				t.Fatalf("verified with unknown scheme %v", res.Scheme)
			}
			return
		}
		for _, sentinel := range []error{ErrMissingHeader, ErrMalformedHeader,
			ErrTimestampOutsideTolerance, ErrNoMatchingSignature} {
			if errors.Is(err, sentinel) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	})
}

// FuzzSignVerifyRoundTrip signs arbitrary bodies and checks that Verify and
// stripe-go accept the result, and that any other body is refused.
func FuzzSignVerifyRoundTrip(f *testing.F) {
	f.Add(vectorID, []byte(vectorBody), int64(1733230000))
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", []byte(`{"test": 2432232314}`), int64(1614265330))
	f.Add("a.b,c=d", []byte{0, 0xff, '\n'}, int64(0))

	set := rotatedSet(f, time.Unix(0, 0), 0, vectorSecret)
	f.Fuzz(func(t *testing.T, id string, body []byte, unix int64) {
		if unix < 0 || unix > 1<<40 || checkDeliveryID(id) != nil {
			t.Skip()
		}
		at := time.Unix(unix, 0)
		sig, err := set.Sign(id, at, body)
		if err != nil {
			t.Fatalf("signing: %v", err)
		}
		h := http.Header{}
		sig.SetHeaders(h)

		for _, scheme := range []Scheme{SchemeMailOdds, SchemeStandardWebhooks} {
			if _, err := Verify(h, body, []string{vectorSecret}, clockAt(at),
				WithScheme(scheme)); err != nil {
				t.Fatalf("%s: %v", scheme, err)
			}
			altered := append([]byte{'x'}, body...)
			if _, err := Verify(h, altered, []string{vectorSecret}, clockAt(at),
				WithScheme(scheme)); !errors.Is(err, ErrNoMatchingSignature) {
				t.Fatalf("%s: altered body: %v", scheme, err)
			}
		}
		if err := webhook.ValidatePayloadIgnoringTolerance(body, sig.MailOdds,
			vectorSecret); err != nil {
			t.Fatalf("stripe-go: %v", err)
		}
	})
}
