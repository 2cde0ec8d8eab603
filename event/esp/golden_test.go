package esp

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/event/esp/esptest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const fixtureDir = "testdata/fixtures"

// fixtureDefaults are the route defaults of the golden runs. The domain is
// one no ESP sends, so the goldens show which events took it.
var fixtureDefaults = event.Defaults{
	Account:     "acme",
	Domain:      "route-default.example",
	Environment: "route-env",
	Received:    time.Date(2026, 5, 13, 0, 0, 0, 0, time.UTC),
}

// fixture is one stored request of an ESP.
type fixture struct{ esptest.Fixture }

// loadFixtures reads every request under testdata/fixtures.
func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	var out []fixture
	for _, f := range esptest.Load(t, fixtureDir) {
		out = append(out, fixture{f})
	}
	return out
}

// adapter returns the fixture's adapter with verification on, with the
// test keys and a clock a minute after the fixture was signed.
func (f fixture) adapter(t testing.TB) Adapter {
	t.Helper()
	now := f.SignedAt(t).Add(time.Minute)
	cfg := Config{Now: func() time.Time { return now }}
	switch f.Source {
	case SourceSendGrid:
		key, err := os.ReadFile(filepath.Join(fixtureDir, "keys", "sendgrid-test-public-key.b64"))
		require.NoError(t, err)
		cfg.VerificationKey = string(key)
	case SourceMailgun:
		cfg.SigningKey = esptest.MailgunKey
	case SourcePostmark:
		cfg = Config{BasicAuth: &BasicAuth{User: "pm-hook", Password: esptest.Password}}
	case SourceSparkPost:
		cfg = Config{BasicAuth: &BasicAuth{User: "sp-hook", Password: esptest.Password}}
	case SourceBrevo:
		cfg = Config{Bearer: esptest.Bearer}
	case SourceSES:
		cfg.CertFile = filepath.Join(fixtureDir, "keys", "sns-test-signing-cert.pem")
		cfg.TopicARNs = []string{esptest.Topic}
		cfg.AutoConfirm = true
	case SourceMandrill:
		cfg = Config{WebhookKey: esptest.MandrillKey, URL: f.Header.Get("X-Gateway-Test-Signed-URL")}
	case SourceResend:
		cfg.Secret = esptest.ResendKey
	}
	a, err := New(f.Source, cfg)
	require.NoError(t, err)
	require.True(t, a.Verifies())
	return a
}

// request returns the fixture as a request, copying body and headers so the
// caller may tamper with them.
func (f fixture) request() *Request {
	return &Request{Method: http.MethodPost, Header: f.Header.Clone(),
		Body: bytes.Clone(f.Body)}
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
		t.Run(f.Name, func(t *testing.T) {
			res, err := f.adapter(t).Parse(context.Background(), f.request(), fixtureDefaults)
			require.NoError(t, err)
			got := encodeGolden(t, res)

			path := filepath.Join("testdata", "golden", f.Name+".json")
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
		i := bytes.Index(f.Body, []byte(anchor))
		require.GreaterOrEqual(t, i, 0, "anchor %q in %s", anchor, f.Name)
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
		require.NotEmpty(t, v, "header %s of %s", name, f.Name)
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			v = strconv.FormatInt(n+1, 10) // a timestamp: still a number
		} else {
			v = flipChar(v, len(v)/2)
		}
		r.Header.Set(name, v)
		out["header "+name] = tampering{r, want}
	}

	switch f.Source {
	case SourceSendGrid:
		const want = "signature does not match the body"
		inBody("body byte", "", len(f.Body)/2, want)
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
		inBody("body byte", "", len(f.Body)/2, want)
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
			t.Run(f.Name+"/"+name, func(t *testing.T) {
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
		if f.Source != SourceMailgun {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
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
