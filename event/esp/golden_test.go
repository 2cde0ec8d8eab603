package esp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const fixtureDir = "testdata/fixtures"

// The test-only credentials the fixtures are signed with (see
// testdata/fixtures/keys/TEST-SECRETS.md).
const (
	fixtureMailgunKey  = "key-test-0123456789abcdef0123456789abcdef"
	fixtureMandrillKey = "test-mandrill-webhook-key-9Qx2"
	fixtureResendKey   = "whsec_dGVzdC1yZXNlbmQtc3ZpeC1zZWNyZXQtMzJieXRlcyE="
	fixtureTopic       = "arn:aws:sns:us-east-1:123456789012:ses-events"
	fixtureBearer      = "example-brevo-webhook-bearer-token"
	fixturePassword    = "example-basic-auth-secret"
)

// fixtureDefaults are the route defaults of the golden runs. The domain is
// one no ESP sends, so the goldens show which events took it.
var fixtureDefaults = event.Defaults{
	Account:     "acme",
	Domain:      "route-default.example",
	Environment: "route-env",
	Received:    time.Date(2026, 5, 13, 0, 0, 0, 0, time.UTC),
}

// fixture is one stored request of an ESP.
type fixture struct {
	name   string // body file name without its extension
	source string
	body   []byte
	header http.Header
}

// loadFixtures reads every request body under testdata/fixtures with its
// headers file.
func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	entries, err := os.ReadDir(fixtureDir)
	require.NoError(t, err)

	var out []fixture
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || (ext != ".json" && ext != ".txt") ||
			strings.HasSuffix(name, ".decoded.json") {
			continue
		}
		base := strings.TrimSuffix(name, ext)
		prefix, _, _ := strings.Cut(base, "-")
		f := fixture{name: base, source: prefix}
		if prefix == "ses" {
			f.source = SourceSES
		}
		f.body, err = os.ReadFile(filepath.Join(fixtureDir, name))
		require.NoError(t, err)

		headers := filepath.Join(fixtureDir, base+".headers")
		if _, err := os.Stat(headers); err != nil {
			headers = filepath.Join(fixtureDir, prefix+".headers")
		}
		f.header = readHeaders(t, headers)
		out = append(out, f)
	}
	require.NotEmpty(t, out)
	return out
}

// readHeaders reads a "Name: value" per line headers file.
func readHeaders(t testing.TB, path string) http.Header {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err, "headers of a fixture")
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok {
			h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	return h
}

// signedAt returns the time a fixture's signature names, for the clock of
// its adapter; the zero time when it names none.
func (f fixture) signedAt(t testing.TB) time.Time {
	t.Helper()
	var ts string
	switch f.source {
	case SourceSendGrid:
		ts = f.header.Get(sendGridTimestampHeader)
	case SourceResend:
		ts = f.header.Get("Svix-Timestamp")
	case SourceMailgun:
		var body struct{ Signature struct{ Timestamp string } }
		require.NoError(t, json.Unmarshal(f.body, &body))
		ts = body.Signature.Timestamp
	case SourceSES:
		var m snsMessage
		require.NoError(t, json.Unmarshal(f.body, &m))
		signed, err := time.Parse(time.RFC3339Nano, m.Timestamp)
		require.NoError(t, err)
		return signed
	default:
		return time.Time{}
	}
	signed, ok := parseUnix(ts)
	require.True(t, ok, "fixture timestamp %q", ts)
	return signed
}

// adapter returns the fixture's adapter with verification on, with the
// test keys and a clock a minute after the fixture was signed.
func (f fixture) adapter(t testing.TB) Adapter {
	t.Helper()
	now := f.signedAt(t).Add(time.Minute)
	cfg := Config{Now: func() time.Time { return now }}
	switch f.source {
	case SourceSendGrid:
		key, err := os.ReadFile(filepath.Join(fixtureDir, "keys", "sendgrid-test-public-key.b64"))
		require.NoError(t, err)
		cfg.VerificationKey = string(key)
	case SourceMailgun:
		cfg.SigningKey = fixtureMailgunKey
	case SourcePostmark:
		cfg = Config{BasicAuth: &BasicAuth{User: "pm-hook", Password: fixturePassword}}
	case SourceSparkPost:
		cfg = Config{BasicAuth: &BasicAuth{User: "sp-hook", Password: fixturePassword}}
	case SourceBrevo:
		cfg = Config{Bearer: fixtureBearer}
	case SourceSES:
		cfg.CertFile = filepath.Join(fixtureDir, "keys", "sns-test-signing-cert.pem")
		cfg.TopicARNs = []string{fixtureTopic}
		cfg.AutoConfirm = true
	case SourceMandrill:
		cfg = Config{WebhookKey: fixtureMandrillKey, URL: f.header.Get("X-Gateway-Test-Signed-URL")}
	case SourceResend:
		cfg.Secret = fixtureResendKey
	}
	a, err := New(f.source, cfg)
	require.NoError(t, err)
	require.True(t, a.Verifies())
	return a
}

// request returns the fixture as a request, copying body and headers so the
// caller may tamper with them.
func (f fixture) request() *Request {
	return &Request{Method: http.MethodPost, Header: f.header.Clone(),
		Body: bytes.Clone(f.body)}
}

// goldenResult is how a Result is written to a golden file.
type goldenResult struct {
	Events       []json.RawMessage `json:"events"`
	Rejected     []goldenRejection `json:"rejected,omitempty"`
	Unmapped     int               `json:"unmapped"`
	Subscription *Subscription     `json:"subscription,omitempty"`
}

type goldenRejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// encodeGolden renders a result as indented JSON, events as their canonical
// bodies.
func encodeGolden(t testing.TB, res *Result) []byte {
	t.Helper()
	g := goldenResult{Events: []json.RawMessage{}, Unmapped: res.Unmapped,
		Subscription: res.Subscription}
	for _, e := range res.Events {
		g.Events = append(g.Events, e.Body())
	}
	for _, r := range res.Rejected {
		g.Rejected = append(g.Rejected, goldenRejection{r.Index, r.Err.Error()})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(g))
	return buf.Bytes()
}

func TestFixturesMatchGoldenFiles(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			res, err := f.adapter(t).Parse(context.Background(), f.request(), fixtureDefaults)
			require.NoError(t, err)
			got := encodeGolden(t, res)

			path := filepath.Join("testdata", "golden", f.name+".json")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to write the golden file")
			assert.Equal(t, string(want), string(got))
		})
	}
}

// tampering is an altered copy of a fixture's request and the reason it
// must be refused for.
type tampering struct {
	req  *Request
	want string
}

// tamperings returns altered copies of a fixture's request that must be
// refused, by name. The ESPs that sign nothing (Postmark, SparkPost, Brevo)
// can only be caught by their credentials, so for them only the header is
// altered.
func (f fixture) tamperings(t testing.TB) map[string]tampering {
	t.Helper()
	out := map[string]tampering{}
	// inBody switches the case of the first letter from offset bytes after
	// anchor, so that the body keeps its syntax and only the check fails.
	inBody := func(name, anchor string, offset int, want string) {
		i := bytes.Index(f.body, []byte(anchor))
		require.GreaterOrEqual(t, i, 0, "anchor %q in %s", anchor, f.name)
		r := f.request()
		j := i + len(anchor) + offset
		for !isLetter(r.Body[j]) {
			j++
		}
		r.Body[j] ^= 0x20
		out[name] = tampering{r, want}
	}
	header := func(name, want string) {
		r := f.request()
		v := r.Header.Get(name)
		require.NotEmpty(t, v, "header %s of %s", name, f.name)
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			v = strconv.FormatInt(n+1, 10) // a timestamp: still a number
		} else {
			v = flipChar(v, len(v)/2)
		}
		r.Header.Set(name, v)
		out["header "+name] = tampering{r, want}
	}

	switch f.source {
	case SourceSendGrid:
		const want = "signature does not match the body"
		inBody("body byte", "", len(f.body)/2, want)
		header(sendGridSignatureHeader, want)
		header(sendGridTimestampHeader, want)
	case SourceMailgun:
		// The signed part of a Mailgun body is its signature block.
		inBody("token byte", `"token": "`, 10, "signature does not match")
		r := f.request()
		i := bytes.Index(r.Body, []byte(`"signature": "`)) + len(`"signature": "`) + 7
		r.Body[i] = flipChar(string(r.Body[i:i+1]), 0)[0] // hex ignores case
		out["signature byte"] = tampering{r, "signature does not match"}
	case SourceSES:
		const want = "signature does not match the message"
		inBody("body byte", `"Message": "`, 40, want)
		inBody("signature byte", `"Signature": "`, 100, want)
		header("X-Amz-Sns-Topic-Arn", "X-Amz-Sns-Topic-Arn does not match the body")
	case SourceMandrill:
		const want = "signature does not match the URL and body"
		inBody("body byte", "mandrill_events=", 200, want)
		header(mandrillSignatureHeader, want)
	case SourceResend:
		const want = "no matching signature"
		inBody("body byte", "", len(f.body)/2, want)
		header("Svix-Signature", want)
		header("Svix-Id", want)
		header("Svix-Timestamp", want)
	default:
		header("Authorization", "wrong credentials")
	}
	return out
}

// isLetter reports whether c is an ASCII letter.
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// flipChar replaces the character at i with another letter of the base64
// and hex alphabets.
func flipChar(s string, i int) string {
	b := []byte(s)
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}

func TestTamperedFixturesAreUnauthenticated(t *testing.T) {
	for _, f := range loadFixtures(t) {
		for name, tc := range f.tamperings(t) {
			t.Run(f.name+"/"+name, func(t *testing.T) {
				res, err := f.adapter(t).Parse(context.Background(), tc.req, fixtureDefaults)
				assert.ErrorIs(t, err, ErrUnauthenticated)
				assert.ErrorContains(t, err, tc.want)
				assert.Nil(t, res)
			})
		}
	}
}

func TestMailgunFixtureWithAnotherBodyIsAReplay(t *testing.T) {
	for _, f := range loadFixtures(t) {
		if f.source != SourceMailgun {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			a := f.adapter(t)
			_, err := a.Parse(context.Background(), f.request(), fixtureDefaults)
			require.NoError(t, err)

			// The body outside the signature block is not signed: a
			// second request with the same token is refused whatever it
			// carries.
			forged := f.request()
			forged.Body = bytes.Replace(forged.Body, []byte("example"), []byte("exampla"), 1)
			_, err = a.Parse(context.Background(), forged, fixtureDefaults)
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, "already used")
		})
	}
}
