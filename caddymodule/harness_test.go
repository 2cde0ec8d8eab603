package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/gateway"
)

// testGateway is hookgate running inside an in-process Caddy, configured from
// a Caddyfile, with its store in a temporary directory.
type testGateway struct {
	t     *testing.T
	dir   string
	port  int
	admin int
}

// gatewayCaddyfile is the Caddyfile of a test gateway. The hookgate options
// and the site's handlers come from the test.
const gatewayCaddyfile = `{
	admin 127.0.0.1:%d
	persist_config off
	auto_https off
	hookgate {
		storage_dir %s
		allow_private_destinations
		%s
	}
}

http://127.0.0.1:%d {
	bind 127.0.0.1
	%s
}
`

// startGateway starts Caddy with the given hookgate options and site
// directives; it stops when the test ends.
func startGateway(t *testing.T, options, site string) *testGateway {
	t.Helper()
	g := &testGateway{t: t, dir: t.TempDir(), port: freePort(t), admin: freePort(t)}
	g.load(options, site)
	t.Cleanup(func() { _ = caddy.Stop() })
	return g
}

// load (re)loads the configuration, as POST /load does.
func (g *testGateway) load(options, site string) {
	g.t.Helper()
	require.NoError(g.t, caddy.Load(g.config(options, site), true))
	// A reload closes the old server's idle connections; a POST on one of
	// them would fail with EOF, since clients do not retry it.
	http.DefaultClient.CloseIdleConnections()
}

// config adapts the test Caddyfile to JSON.
func (g *testGateway) config(options, site string) []byte {
	g.t.Helper()
	if !strings.Contains(options, "retry ") {
		options = "retry 50ms 100ms 150ms\n" + options // fast, unless the test says
	}
	src := fmt.Sprintf(gatewayCaddyfile, g.admin, g.dir, options, g.port, site)
	src = string(caddyfile.Format([]byte(src))) // the tests' indentation is loose
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src),
		map[string]any{"filename": "Caddyfile"})
	require.NoError(g.t, err, "adapting:\n%s", src)
	for _, w := range warnings {
		g.t.Logf("caddyfile warning: %s", w.String())
	}
	return cfg
}

// url is an address on the gateway's site.
func (g *testGateway) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", g.port, path)
}

// post sends body to path and decodes the JSON answer.
func (g *testGateway) post(path, body string, header ...string) (int, map[string]any) {
	g.t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url(path), strings.NewReader(body))
	require.NoError(g.t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(g.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(g.t, err)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		require.NoError(g.t, json.Unmarshal(raw, &out), "answer: %s", raw)
	}
	return resp.StatusCode, out
}

// metrics scrapes the admin endpoint's /metrics into a map from series (name
// and labels, as printed) to value.
func (g *testGateway) metrics() map[string]float64 {
	g.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", g.admin))
	require.NoError(g.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(g.t, err)
	out := make(map[string]float64)
	for _, line := range strings.Split(string(raw), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		require.NoError(g.t, err, "metric line %q", line)
		out[series] = v
	}
	return out
}

// gateway returns the running gateway.
func (g *testGateway) gateway() *gateway.Gateway {
	g.t.Helper()
	gw := runningGateway()
	require.NotNil(g.t, gw, "hookgate is not running")
	return gw
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// receiver is a webhook endpoint that records what it receives and answers
// with the status its respond function chooses.
type receiver struct {
	*httptest.Server

	mu       sync.Mutex
	requests []received
	arrived  chan received
	respond  func(n int, w http.ResponseWriter) // n counts requests from 1
}

// received is one request a receiver got.
type received struct {
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{arrived: make(chan received, 10000), respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body,
			At: time.Now()}
		rc.mu.Lock()
		rc.requests = append(rc.requests, got)
		n := len(rc.requests)
		rc.mu.Unlock()
		rc.arrived <- got
		if rc.respond != nil {
			rc.respond(n, w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the next request.
func (rc *receiver) next(t *testing.T, within time.Duration) received {
	t.Helper()
	select {
	case r := <-rc.arrived:
		return r
	case <-time.After(within):
		t.Fatalf("no delivery within %v", within)
		return received{}
	}
}

// quiet checks that nothing more arrives for a while.
func (rc *receiver) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case r := <-rc.arrived:
		t.Fatalf("unexpected delivery %s: %s", r.Header.Get("X-MailOdds-Delivery"), r.Body)
	case <-time.After(d):
	}
}

// count returns how many requests arrived so far.
func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}
