package caddymodule

import (
	"bufio"
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
)

// The ESP samples and the canonical events they give are the event/esp
// package's: the handler must deliver exactly those events.
const (
	espFixtureDir = "../event/esp/testdata/fixtures"
	espGoldenDir  = "../event/esp/testdata/golden"
)

// The test-only credentials the samples are signed with (see
// event/esp/testdata/fixtures/keys/TEST-SECRETS.md).
const (
	fixtureMailgunKey  = "key-test-0123456789abcdef0123456789abcdef"
	fixtureMandrillKey = "test-mandrill-webhook-key-9Qx2"
	fixtureMandrillURL = "https://gateway.example.com/webhooks/mandrill?tenant=acme"
	fixtureResendKey   = "whsec_dGVzdC1yZXNlbmQtc3ZpeC1zZWNyZXQtMzJieXRlcyE="
	fixtureTopic       = "arn:aws:sns:us-east-1:123456789012:ses-events"
	fixtureBearer      = "example-brevo-webhook-bearer-token"
	fixturePassword    = "example-basic-auth-secret"
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
		route(esp.SourceMailgun, "signing_key "+fixtureMailgunKey),
		route(esp.SourcePostmark, "basic_auth pm-hook "+fixturePassword),
		route(esp.SourceSparkPost, "basic_auth sp-hook "+fixturePassword),
		route(esp.SourceBrevo, "bearer "+fixtureBearer),
		route(esp.SourceSES, "topic_arn "+fixtureTopic, "cert_file "+cert, "auto_confirm"),
		route(esp.SourceMandrill, "webhook_key "+fixtureMandrillKey, "url "+fixtureMandrillURL),
		route(esp.SourceResend, "secret "+fixtureResendKey),
	}, "\n\t")
}

// espFixture is one stored ESP request.
type espFixture struct {
	name   string // body file name without its extension
	source string
	header http.Header
	body   []byte
}

// loadESPFixtures reads every request body of the samples with its headers.
func loadESPFixtures(t *testing.T) []espFixture {
	t.Helper()
	entries, err := os.ReadDir(espFixtureDir)
	require.NoError(t, err)
	var out []espFixture
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || (ext != ".json" && ext != ".txt") ||
			strings.HasSuffix(name, ".decoded.json") {
			continue
		}
		base := strings.TrimSuffix(name, ext)
		source, _, _ := strings.Cut(base, "-")
		f := espFixture{name: base, source: source}
		f.body, err = os.ReadFile(filepath.Join(espFixtureDir, name))
		require.NoError(t, err)
		headers := filepath.Join(espFixtureDir, base+".headers")
		if _, err := os.Stat(headers); err != nil {
			headers = filepath.Join(espFixtureDir, source+".headers")
		}
		f.header = readHeaderFile(t, headers)
		out = append(out, f)
	}
	require.Len(t, out, 41, "the samples of every ESP")
	return out
}

// readHeaderFile reads "Name: value" lines.
func readHeaderFile(t *testing.T, path string) http.Header {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok {
			h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	return h
}

// signedAt is the time the sample's signature names, or a time after every
// sample was made for the ESPs that sign none.
func (f espFixture) signedAt(t *testing.T) time.Time {
	t.Helper()
	var ts string
	switch f.source {
	case esp.SourceSendGrid:
		ts = f.header.Get("X-Twilio-Email-Event-Webhook-Timestamp")
	case esp.SourceResend:
		ts = f.header.Get("Svix-Timestamp")
	case esp.SourceMailgun:
		var body struct{ Signature struct{ Timestamp string } }
		require.NoError(t, json.Unmarshal(f.body, &body))
		ts = body.Signature.Timestamp
	case esp.SourceSES:
		var m struct{ Timestamp time.Time }
		require.NoError(t, json.Unmarshal(f.body, &m))
		return m.Timestamp
	default:
		return time.Date(2026, 5, 13, 0, 0, 0, 0, time.UTC)
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err, "sample timestamp %q", ts)
	return time.Unix(n, 0)
}

// request is the sample as a request, copied so that it may be altered.
func (f espFixture) request() espRequest {
	return espRequest{path: "/" + f.source, header: f.header.Clone(), body: bytes.Clone(f.body)}
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
		i := bytes.Index(f.body, []byte(anchor))
		require.GreaterOrEqual(t, i, 0, "anchor %q in %s", anchor, f.name)
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
		require.NotEmpty(t, v, "header %s of %s", name, f.name)
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

	switch f.source {
	case esp.SourceSendGrid:
		body("body", "", len(f.body)/2)
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
		body("body", "", len(f.body)/2)
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
		t.Run(f.name, func(t *testing.T) {
			g := *g
			g.t = t
			clock.Store(f.signedAt(t).Add(time.Minute).UnixNano())
			made := deliveriesMade(t, &g)

			for name, r := range f.tamperings(t) {
				a := g.send(r)
				assert.Equal(t, http.StatusUnauthorized, a.status, "%s: %v", name, a.body)
				assert.Contains(t, a.body["error"], f.source+": unauthenticated", name)
			}
			assert.Equal(t, made, deliveriesMade(t, &g), "tampered requests stored nothing")

			a := g.send(f.request())
			got, err := json.MarshalIndent(handlerGolden{a.status, a.body}, "", "  ")
			require.NoError(t, err)
			path := filepath.Join("testdata", "esp_ingest", f.name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to write the golden file")
			assert.JSONEq(t, string(want), string(got))
			assert.Equal(t, 0.0, a.body["duplicates"], "the tampered copies were not stored")

			events := espGoldenEvents(t, f.name)
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
