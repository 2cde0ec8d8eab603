package caddymodule

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event/esp"
	"github.com/hookgate/hookgate/event/esp/esptest"
)

// The ESP samples and the canonical events they give are the event/esp
// package's: the handler must deliver exactly those events.
const (
	espFixtureDir = "../event/esp/testdata/fixtures"
	espGoldenDir  = "../event/esp/testdata/golden"
)

// fixtureSite has one route per ESP, verifying with the samples' keys, with
// the route defaults the event/esp golden files were made with.
func fixtureSite(t *testing.T) string {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(espFixtureDir, "keys", "sendgrid-test-public-key.b64"))
	require.NoError(t, err)
	cert, err := filepath.Abs(filepath.Join(espFixtureDir, "keys", "sns-test-signing-cert.pem"))
	require.NoError(t, err)

	route := func(source string, settings ...string) string {
		return "route /" + source + " {\n\t\thookgate_ingest " + source + " {\n" +
			"\t\t\taccount acme\n\t\t\tdomain route-default.example\n" +
			"\t\t\tenvironment route-env\n\t\t\t" + strings.Join(settings, "\n\t\t\t") +
			"\n\t\t}\n\t}"
	}
	return strings.Join([]string{
		route(esp.SourceSendGrid, "verification_key "+strings.TrimSpace(string(key))),
		route(esp.SourceMailgun, "signing_key "+esptest.MailgunKey),
		route(esp.SourcePostmark, "basic_auth pm-hook "+esptest.Password),
		route(esp.SourceSparkPost, "basic_auth sp-hook "+esptest.Password),
		route(esp.SourceBrevo, "bearer "+esptest.Bearer),
		route(esp.SourceSES, "topic_arn "+esptest.Topic, "cert_file "+cert, "auto_confirm"),
		route(esp.SourceMandrill, "webhook_key "+esptest.MandrillKey, "url "+esptest.MandrillURL),
		route(esp.SourceResend, "secret "+esptest.ResendKey),
	}, "\n\t")
}

// espFixture is one stored ESP request.
type espFixture struct{ esptest.Fixture }

// loadESPFixtures reads every request of the samples.
func loadESPFixtures(t *testing.T) []espFixture {
	t.Helper()
	var out []espFixture
	for _, f := range esptest.Load(t, espFixtureDir) {
		out = append(out, espFixture{f})
	}
	require.Len(t, out, 41, "the samples of every ESP")
	return out
}

// signedAt is the time the sample's signature names, or a time after every
// sample was made for the ESPs that sign none.
func (f espFixture) signedAt(t *testing.T) time.Time {
	t.Helper()
	if at := f.SignedAt(t); !at.IsZero() {
		return at
	}
	return time.Date(2026, 5, 13, 0, 0, 0, 0, time.UTC)
}

// request is the sample as a request, copied so that it may be altered.
func (f espFixture) request() espRequest {
	return espRequest{path: "/" + f.Source, header: f.Header.Clone(), body: bytes.Clone(f.Body)}
}

// tamperings returns altered copies of the sample's request, each of which
// must be refused, by what was altered. The ESPs that sign nothing can only
// be caught by their credentials.
func (f espFixture) tamperings(t *testing.T) map[string]espRequest {
	t.Helper()
	out := map[string]espRequest{}
	// body switches the case of a letter at offset bytes after anchor,
	// skipping the hex digits of percent-escapes, which decode alike.
	body := func(name, anchor string, offset int) {
		i := bytes.Index(f.Body, []byte(anchor))
		require.GreaterOrEqual(t, i, 0, "anchor %q in %s", anchor, f.Name)
		r := f.request()
		j := i + len(anchor) + offset
		for !isASCIILetter(r.body[j]) || r.body[j-1] == '%' || r.body[j-2] == '%' {
			j++
		}
		r.body[j] ^= 0x20
		out[name] = r
	}
	// flip replaces a character in the middle of a value with another
	// letter of the hex and base64 alphabets.
	flip := func(v string) string {
		b := []byte(v)
		i := len(b) / 2
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	header := func(name string) {
		r := f.request()
		v := r.header.Get(name)
		require.NotEmpty(t, v, "header %s of %s", name, f.Name)
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			v = strconv.FormatInt(n+1, 10) // a timestamp: still a number
		} else {
			v = flip(v)
		}
		r.header.Set(name, v)
		out["header "+name] = r
	}
	without := func(name string) {
		r := f.request()
		r.header.Del(name)
		out["without "+name] = r
	}

	switch f.Source {
	case esp.SourceSendGrid:
		body("body", "", len(f.Body)/2)
		header("X-Twilio-Email-Event-Webhook-Signature")
		header("X-Twilio-Email-Event-Webhook-Timestamp")
		without("X-Twilio-Email-Event-Webhook-Signature")
	case esp.SourceMailgun:
		// Mailgun signs the timestamp and token of its signature block.
		body("token", `"token": "`, 10)
		r := f.request()
		i := bytes.Index(r.body, []byte(`"signature": "`)) + len(`"signature": "`)
		sig := string(r.body[i : i+64])
		r.body = bytes.Replace(r.body, []byte(sig), []byte(flip(sig)), 1)
		out["signature"] = r
	case esp.SourceSES:
		body("message", `"Message": "`, 40)
		body("signature", `"Signature": "`, 100)
		header("X-Amz-Sns-Topic-Arn")
	case esp.SourceMandrill:
		body("body", "mandrill_events=", 200)
		header("X-Mandrill-Signature")
	case esp.SourceResend:
		body("body", "", len(f.Body)/2)
		header("Svix-Signature")
		header("Svix-Id")
		header("Svix-Timestamp")
	default:
		header("Authorization")
		without("Authorization")
	}
	return out
}

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// handlerGolden is what a sample's golden file under testdata/esp_ingest
// holds: the answer the ESP gets.
type handlerGolden struct {
	Status   int            `json:"status"`
	Response map[string]any `json:"response"`
}

// espGoldenEvents returns the canonical events of the event/esp golden file
// of a sample, sorted by id.
func espGoldenEvents(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(espGoldenDir, name+".json"))
	require.NoError(t, err)
	var g struct{ Events []json.RawMessage }
	require.NoError(t, json.Unmarshal(data, &g))
	sortByID(t, g.Events)
	return g.Events
}

// deliveriesMade sums the store's deliveries in every state.
func deliveriesMade(t *testing.T, g *testGateway) int {
	t.Helper()
	st, err := g.gateway().Store().Stats()
	require.NoError(t, err)
	return st.Pending + st.Parked + st.Delivered + st.Failed
}

func TestESPFixturesThroughTheHandlerGiveTheGoldenEvents(t *testing.T) {
	clock := stopClock(t, time.Now())
	sns := fakeSNS(t, nil)
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), fixtureSite(t))

	for _, f := range loadESPFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			g := *g
			g.t = t
			clock.Store(f.signedAt(t).Add(time.Minute).UnixNano())
			made := deliveriesMade(t, &g)

			for name, r := range f.tamperings(t) {
				a := g.send(r)
				assert.Equal(t, http.StatusUnauthorized, a.status, "%s: %v", name, a.body)
				assert.Contains(t, a.body["error"], f.Source+": unauthenticated", name)
			}
			assert.Equal(t, made, deliveriesMade(t, &g), "tampered requests stored nothing")

			a := g.send(f.request())
			got, err := json.MarshalIndent(handlerGolden{a.status, a.body}, "", "  ")
			require.NoError(t, err)
			path := filepath.Join("testdata", "esp_ingest", f.Name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to write the golden file")
			assert.JSONEq(t, string(want), string(got))
			assert.Equal(t, 0.0, a.body["duplicates"], "the tampered copies were not stored")

			events := espGoldenEvents(t, f.Name)
			require.Equal(t, float64(len(events)), a.body["matched"])
			delivered := rc.collect(t, len(events))
			for i := range events {
				assert.JSONEq(t, string(events[i]), string(delivered[i]))
			}
		})
	}
	rc.quiet(t, 300*time.Millisecond)

	// auto_confirm confirmed the sample's subscription.
	var confirmation struct{ SubscribeURL string }
	data, err := os.ReadFile(filepath.Join(espFixtureDir, "ses-sns-subscriptionconfirmation.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &confirmation))
	assert.Equal(t, []string{confirmation.SubscribeURL}, sns.requested())
}
