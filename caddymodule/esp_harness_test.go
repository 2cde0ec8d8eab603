package caddymodule

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/require"
)

// catchAllHook is a hook without conditions that receives every message,
// inbound and intent event of every account, delivering to url.
func catchAllHook(url string) string {
	return fmt.Sprintf("hook all {\n\t\t\tevents *\n\t\t\turl %s\n\t\t}", url)
}

// espRequest is one request to an ESP route.
type espRequest struct {
	method string // POST when empty
	path   string
	header http.Header
	body   []byte
}

// espAnswer is the gateway's answer to an espRequest.
type espAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

// send sends r to the gateway and decodes the JSON answer.
func (g *testGateway) send(r espRequest) espAnswer {
	g.t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, g.url(r.path), bytes.NewReader(r.body))
	require.NoError(g.t, err)
	for name, values := range r.header {
		req.Header[name] = values
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(g.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(g.t, err)
	a := espAnswer{status: resp.StatusCode, header: resp.Header}
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(g.t, json.Unmarshal(raw, &a.body), "answer: %s", raw)
	}
	return a
}

// collect waits for n deliveries and returns their bodies sorted by event id.
func (rc *receiver) collect(t *testing.T, n int) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i] = rc.next(t, 5*time.Second).Body
	}
	sortByID(t, out)
	return out
}

// sortByID sorts event bodies by their id.
func sortByID(t *testing.T, events []json.RawMessage) {
	t.Helper()
	ids := make(map[string]string, len(events)) // body → id
	for _, body := range events {
		var e struct{ ID string }
		require.NoError(t, json.Unmarshal(body, &e))
		ids[string(body)] = e.ID
	}
	sort.SliceStable(events, func(i, j int) bool {
		return ids[string(events[i])] < ids[string(events[j])]
	})
}

// stopClock makes the ingest handlers read the time from the returned
// value, set to start; the real clock comes back when the test ends. It
// must be called before the gateway starts.
func stopClock(t *testing.T, start time.Time) *atomic.Int64 {
	t.Helper()
	var now atomic.Int64
	now.Store(start.UnixNano())
	old := ingestClock
	ingestClock = func() time.Time { return time.Unix(0, now.Load()).UTC() }
	t.Cleanup(func() { ingestClock = old })
	return &now
}

// snsServer stands in for SNS's hosts behind espHTTPClient: it serves cert
// for certificate URLs, answers subscription confirmations, and records the
// URLs asked for. After fail, every request fails.
type snsServer struct {
	cert []byte

	mu   sync.Mutex
	err  error
	urls []string
}

// fakeSNS routes espHTTPClient to a new snsServer until the test ends. It
// must be called before the gateway starts.
func fakeSNS(t *testing.T, cert []byte) *snsServer {
	t.Helper()
	s := &snsServer{cert: cert}
	old := espHTTPClient.Transport
	espHTTPClient.Transport = s
	t.Cleanup(func() { espHTTPClient.Transport = old })
	return s
}

func (s *snsServer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.urls = append(s.urls, r.URL.String())
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	body := "<ConfirmSubscriptionResponse/>"
	if strings.HasSuffix(r.URL.Path, ".pem") {
		body = string(s.cert)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Request: r,
		Body: io.NopCloser(strings.NewReader(body))}, nil
}

// fail makes every request fail with err; nil lets them through again.
func (s *snsServer) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// requested returns the URLs asked for so far.
func (s *snsServer) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.urls...)
}

// startLoggedGateway starts a gateway as startGateway does, with Caddy's
// default log written to a file at debug level; the returned function reads
// the log's entries so far.
func startLoggedGateway(t *testing.T, options, site string) (*testGateway,
	func() []map[string]any,
) {
	t.Helper()
	g := &testGateway{t: t, dir: t.TempDir(), port: freePort(t), admin: freePort(t)}
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(g.config(options, site), &cfg))
	cfg["logging"] = map[string]any{"logs": map[string]any{"default": map[string]any{
		"writer":  map[string]any{"output": "file", "filename": logFile},
		"encoder": map[string]any{"format": "json"},
		"level":   "DEBUG",
	}}}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, caddy.Load(raw, true))
	http.DefaultClient.CloseIdleConnections()
	t.Cleanup(func() { _ = caddy.Stop() })

	return g, func() []map[string]any {
		data, err := os.ReadFile(logFile)
		require.NoError(t, err)
		var entries []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				entries = append(entries, e)
			}
		}
		return entries
	}
}

// logged returns the entries whose message is msg.
func logged(entries []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		if e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// loadFails loads a configuration and returns its error, which must occur.
func loadFails(t *testing.T, options, site string) error {
	t.Helper()
	g := &testGateway{t: t, dir: t.TempDir(), port: freePort(t), admin: freePort(t)}
	err := caddy.Load(g.config(options, site), true)
	t.Cleanup(func() { _ = caddy.Stop() })
	require.Error(t, err)
	return err
}

// snsKey signs SNS messages like SNS, with a self-signed certificate.
type snsKey struct {
	priv     *rsa.PrivateKey
	certPEM  []byte
	certFile string
}

var (
	snsKeyOnce sync.Once
	snsKeyVal  *snsKey
)

// newSNSKey returns the test binary's SNS key, generated once since RSA key
// generation is slow, with its certificate in a file of the test.
func newSNSKey(t *testing.T) *snsKey {
	t.Helper()
	snsKeyOnce.Do(func() {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "sns.us-east-1.amazonaws.com (test)"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
		require.NoError(t, err)
		snsKeyVal = &snsKey{priv: priv,
			certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	})
	k := *snsKeyVal
	k.certFile = filepath.Join(t.TempDir(), "sns.pem")
	require.NoError(t, os.WriteFile(k.certFile, k.certPEM, 0o600))
	return &k
}

// snsMessage is the part of an SNS envelope the tests set.
type snsMessage struct {
	Type, MessageID, TopicArn, Message, SubscribeURL, Token string
}

// sign returns m as SNS delivers it, signed with SignatureVersion 2 at now.
func (k *snsKey) sign(t *testing.T, m snsMessage) espRequest {
	t.Helper()
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	fields := [][2]string{{"Message", m.Message}, {"MessageId", m.MessageID}}
	if m.Type == "Notification" {
		fields = append(fields, [2]string{"Timestamp", ts})
	} else {
		fields = append(fields, [][2]string{{"SubscribeURL", m.SubscribeURL},
			{"Timestamp", ts}, {"Token", m.Token}}...)
	}
	fields = append(fields, [][2]string{{"TopicArn", m.TopicArn}, {"Type", m.Type}}...)
	var signed strings.Builder
	for _, f := range fields {
		signed.WriteString(f[0] + "\n" + f[1] + "\n")
	}
	digest := sha256.Sum256([]byte(signed.String()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, crypto.SHA256, digest[:])
	require.NoError(t, err)

	env := map[string]string{
		"Type": m.Type, "MessageId": m.MessageID, "TopicArn": m.TopicArn,
		"Message": m.Message, "Timestamp": ts, "SignatureVersion": "2",
		"Signature":      base64.StdEncoding.EncodeToString(sig),
		"SigningCertURL": snsCertURL,
	}
	if m.Type != "Notification" {
		env["SubscribeURL"], env["Token"] = m.SubscribeURL, m.Token
	}
	body, err := json.Marshal(env)
	require.NoError(t, err)
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("X-Amz-Sns-Message-Type", m.Type)
	return espRequest{path: "/ses", header: h, body: body}
}

// snsCertURL is the SigningCertURL of the tests' SNS messages.
const snsCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"

// svixSign signs body as Svix does for Resend.
func svixSign(t *testing.T, secret, id string, body []byte) http.Header {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	ts := fmt.Sprint(time.Now().Unix())
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	h := http.Header{}
	h.Set("Svix-Id", id)
	h.Set("Svix-Timestamp", ts)
	h.Set("Svix-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

// mandrillForm returns a mandrill_events form and its X-Mandrill-Signature
// for the webhook URL rawURL.
func mandrillForm(key, rawURL, events string) (http.Header, []byte) {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(rawURL + "mandrill_events" + events))
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Mandrill-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h, []byte(url.Values{"mandrill_events": {events}}.Encode())
}

// randomKey returns a fresh random secret of n bytes, base64.
func randomKey(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}
