// Package esptest reads the stored ESP requests under event/esp/testdata, for
// the tests of the adapters and of the handler that runs them.
package esptest

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

	"github.com/stretchr/testify/require"
)

// The test-only credentials the fixtures are signed with (see
// event/esp/testdata/fixtures/keys/TEST-SECRETS.md).
const (
	MailgunKey  = "key-test-0123456789abcdef0123456789abcdef"
	MandrillKey = "test-mandrill-webhook-key-9Qx2"
	MandrillURL = "https://gateway.example.com/webhooks/mandrill?tenant=acme"
	ResendKey   = "whsec_dGVzdC1yZXNlbmQtc3ZpeC1zZWNyZXQtMzJieXRlcyE="
	Topic       = "arn:aws:sns:us-east-1:123456789012:ses-events"
	Bearer      = "example-brevo-webhook-bearer-token"
	Password    = "example-basic-auth-secret"
)

// Fixture is one stored request of an ESP.
type Fixture struct {
	Name   string // body file name without its extension
	Source string // the ESP, the name's part before the first dash
	Body   []byte
	Header http.Header
}

// Load reads every request body in dir with its headers file: NAME.headers,
// or SOURCE.headers when the request has none of its own.
func Load(t testing.TB, dir string) []Fixture {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)

	var out []Fixture
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || (ext != ".json" && ext != ".txt") ||
			strings.HasSuffix(name, ".decoded.json") {
			continue
		}
		base := strings.TrimSuffix(name, ext)
		source, _, _ := strings.Cut(base, "-")
		f := Fixture{Name: base, Source: source}
		f.Body, err = os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)

		headers := filepath.Join(dir, base+".headers")
		if _, err := os.Stat(headers); err != nil {
			headers = filepath.Join(dir, source+".headers")
		}
		f.Header = readHeaders(t, headers)
		out = append(out, f)
	}
	require.NotEmpty(t, out, "fixtures in %s", dir)
	return out
}

// readHeaders reads a headers file, a "Name: value" per line.
func readHeaders(t testing.TB, path string) http.Header {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err, "headers of a fixture")
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok {
			h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	return h
}

// SignedAt returns the time the fixture's signature names, the zero time for
// the ESPs that sign none.
func (f Fixture) SignedAt(t testing.TB) time.Time {
	t.Helper()
	var ts string
	switch f.Source {
	case "sendgrid":
		ts = f.Header.Get("X-Twilio-Email-Event-Webhook-Timestamp")
	case "resend":
		ts = f.Header.Get("Svix-Timestamp")
	case "mailgun":
		var body struct{ Signature struct{ Timestamp string } }
		require.NoError(t, json.Unmarshal(f.Body, &body))
		ts = body.Signature.Timestamp
	case "ses":
		var m struct{ Timestamp time.Time }
		require.NoError(t, json.Unmarshal(f.Body, &m))
		return m.Timestamp
	default:
		return time.Time{}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err, "fixture timestamp %q", ts)
	return time.Unix(n, 0)
}
