package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childConfigEnv names the JSON config a re-executed test binary runs Caddy
// with, as the hookgate command would.
const childConfigEnv = "HOOKGATE_TEST_CADDY_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(childConfigEnv); path != "" {
		os.Args = []string{"hookgate", "run", "--config", path}
		caddycmd.Main()
		return
	}
	os.Exit(m.Run())
}

// allEventsHook delivers every intent.hot_lead to url.
func allEventsHook(id, url string) string {
	return fmt.Sprintf("hook %s {\n\t\t\tevent intent.hot_lead\n\t\t\turl %s\n\t\t}", id, url)
}

// idSet collects event ids from a receiver's deliveries.
type idSet struct {
	mu  sync.Mutex
	ids map[string]int
}

func newIDSet() *idSet { return &idSet{ids: make(map[string]int)} }

func (s *idSet) add(id string) {
	s.mu.Lock()
	s.ids[id]++
	s.mu.Unlock()
}

// missing returns the ids of want that s lacks.
func (s *idSet) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range want {
		if s.ids[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// idReceiver is an endpoint that records the event id of each delivery.
func idReceiver(t *testing.T) (*receiver, *idSet) {
	got := newIDSet()
	rc := newReceiver(t, nil)
	go func() {
		for r := range rc.arrived {
			var ev struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(r.Body, &ev) == nil {
				got.add(ev.ID)
			}
		}
	}()
	return rc, got
}

// producer posts events to url until stop is closed and returns the ids
// that were answered 202.
func producer(url, prefix string, stop <-chan struct{}) []string {
	client := &http.Client{Timeout: 10 * time.Second}
	var acked []string
	for i := 0; ; i++ {
		select {
		case <-stop:
			return acked
		default:
		}
		id := fmt.Sprintf("%s_%d", prefix, i)
		resp, err := client.Post(url, "application/json", strings.NewReader(hotLead(id, 9)))
		if err != nil {
			continue // the server went away: this event was never acknowledged
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			acked = append(acked, id)
		}
	}
}

// runProducers runs n producers for d and returns every acknowledged id.
func runProducers(n int, url string, d time.Duration, during func()) []string {
	stop := make(chan struct{})
	results := make(chan []string, n)
	for p := range n {
		go func() { results <- producer(url, fmt.Sprintf("p%d", p), stop) }()
	}
	if during != nil {
		during()
	}
	time.Sleep(d)
	close(stop)
	var all []string
	for range n {
		all = append(all, <-results...)
	}
	return all
}

func waitDelivered(t *testing.T, got *idSet, acked []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		missing := got.missing(acked)
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events never arrived, e.g. %v",
				len(missing), len(acked), missing[:min(5, len(missing))])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReloadUnderLoadLosesNothing(t *testing.T) {
	rc, got := idReceiver(t)
	g := startGateway(t, allEventsHook("all", rc.URL), ingestSite)

	var reloads atomic.Int32
	acked := runProducers(4, g.url("/events"), 200*time.Millisecond, func() {
		go func() {
			for i := range 5 {
				// Alternate delivery settings so the dispatcher restarts too.
				opts := fmt.Sprintf("workers %d\n%s", 16+i%2, allEventsHook("all", rc.URL))
				if err := caddy.Load(g.config(opts, ingestSite), true); err != nil {
					t.Errorf("reload %d: %v", i, err)
				}
				reloads.Add(1)
				time.Sleep(30 * time.Millisecond)
			}
		}()
	})
	require.Eventually(t, func() bool { return reloads.Load() == 5 }, 30*time.Second,
		10*time.Millisecond)
	require.NotEmpty(t, acked)
	waitDelivered(t, got, acked, 20*time.Second)
	t.Logf("%d events acknowledged across 5 reloads, all delivered", len(acked))
}

// failingConfig is the test gateway's configuration with opts, plus a
// server on an address taken by another listener, so that it provisions
// but fails to start.
func failingConfig(t *testing.T, g *testGateway, opts string) []byte {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })

	var cfg map[string]any
	require.NoError(t, json.Unmarshal(g.config(opts, ingestSite), &cfg))
	servers := cfg["apps"].(map[string]any)["http"].(map[string]any)["servers"]
	servers.(map[string]any)["busy"] = map[string]any{
		"listen": []string{taken.Addr().String()},
	}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	return raw
}

func TestAReloadThatFailsToStartKeepsTheRunningConfiguration(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, allEventsHook("old", rc.URL+"/old"), ingestSite)
	bad := failingConfig(t, g, "workers 3\n"+allEventsHook("new", rc.URL+"/new"))

	// Apps start in no fixed order: try until hookgate has surely started
	// in a failing configuration at least once.
	for i := range 10 {
		require.Error(t, caddy.Load(bad, true), "load %d", i)
		gw := runningGateway()
		require.NotNil(t, gw, "after failed load %d, hookgate is not running", i)
		var ids []string
		for _, h := range gw.Hooks() {
			ids = append(ids, h.ID)
		}
		require.Equal(t, []string{"old"}, ids, "after failed load %d", i)
	}

	status, out := g.api("GET", "/hooks", "")
	require.Equal(t, http.StatusOK, status, "%v", out)
	http.DefaultClient.CloseIdleConnections()
	require.Equal(t, http.StatusAccepted, first(g.post("/events", hotLead("evt_1", 9))))
	assert.Equal(t, "/old", rc.next(t, 5*time.Second).Path)
}

func TestRestartResumesDueDeliveries(t *testing.T) {
	var healthy atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	opts := "retry 300ms 300ms\n" + allEventsHook("all", rc.URL)
	g := startGateway(t, opts, ingestSite)
	status, _ := g.post("/events", hotLead("evt_1", 9))
	require.Equal(t, http.StatusAccepted, status)
	first := rc.next(t, 5*time.Second)
	require.NoError(t, caddy.Stop())

	healthy.Store(true)
	g.load(opts, ingestSite)
	second := rc.next(t, 5*time.Second)
	assert.Equal(t, first.Header.Get("X-MailOdds-Delivery"),
		second.Header.Get("X-MailOdds-Delivery"))
	assert.Equal(t, "2", second.Header.Get("X-MailOdds-Attempt"))
}

func TestMetricsKeepCountingAcrossReloads(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, allEventsHook("all", rc.URL), ingestSite)
	// Collectors live as long as the process, so other tests count too.
	received := `hookgate_events_received_total{type="intent.hot_lead"}`
	matched := `hookgate_events_matched_total{type="intent.hot_lead"}`
	before := g.metrics()

	status, _ := g.post("/events", hotLead("evt_1", 9))
	require.Equal(t, http.StatusAccepted, status)
	g.load("workers 3\n"+allEventsHook("all", rc.URL), ingestSite)
	status, _ = g.post("/events", hotLead("evt_2", 9))
	require.Equal(t, http.StatusAccepted, status)
	rc.next(t, 5*time.Second)
	rc.next(t, 5*time.Second)

	after := g.metrics()
	assert.Equal(t, before[received]+2, after[received])
	assert.Equal(t, before[matched]+2, after[matched])
	assert.Contains(t, after, "hookgate_queue_depth")
}

// TestKillDuringLoadLosesNoAcknowledgedEvent runs the gateway as a child
// process, kills it with SIGKILL under load at random moments and restarts it:
// every event that was answered 202 must reach the receiver.
func TestKillDuringLoadLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a gateway process several times")
	}
	rc, got := idReceiver(t)
	g := &testGateway{t: t, dir: t.TempDir(), port: freePort(t), admin: freePort(t)}
	path := filepath.Join(t.TempDir(), "caddy.json")
	require.NoError(t, os.WriteFile(path, g.config(allEventsHook("all", rc.URL), ingestSite),
		0o600))

	var acked []string
	for round := range 5 {
		child := startChild(t, path, g)
		wait := time.Duration(100+rand.IntN(400)) * time.Millisecond
		// Kill while producers post and deliveries are in flight; the
		// producers go on a little against the dead server.
		acked = append(acked, runProducers(8, g.url("/events"), wait+100*time.Millisecond,
			func() {
				time.AfterFunc(wait, func() { _ = child.Process.Signal(syscall.SIGKILL) })
			})...)
		_ = child.Wait()
		t.Logf("round %d: killed after %v, %d acknowledged so far", round, wait, len(acked))
	}
	child := startChild(t, path, g)
	defer func() {
		_ = child.Process.Signal(syscall.SIGKILL)
		_ = child.Wait()
	}()
	require.NotEmpty(t, acked)
	waitDelivered(t, got, acked, 60*time.Second)
}

// startChild runs the gateway in a child process and waits until it answers.
func startChild(t *testing.T, config string, g *testGateway) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childConfigEnv+"="+config,
		"XDG_DATA_HOME="+filepath.Join(g.dir, "xdg"), "XDG_CONFIG_HOME="+filepath.Join(g.dir, "xdg"))
	logs, err := os.OpenFile(filepath.Join(g.dir, "child.log"),
		os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { showErrors(t, logs.Name()) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(g.url("/events"))
		if err == nil {
			resp.Body.Close()
			return cmd
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	t.Fatal("gateway process did not start")
	return nil
}

// showErrors shows the error lines of the child's log when the test failed.
func showErrors(t *testing.T, path string) {
	if !t.Failed() {
		return
	}
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, `"error"`) {
			t.Log(line)
		}
	}
}

func TestTypeMismatchedLeavesAreCounted(t *testing.T) {
	g := startGateway(t, `hook scored {
			event intent.hot_lead
			conditions `+"`"+`{"operator": "AND", "rules": [
				{"field": "metadata.score", "op": "gt", "value": 5}]}`+"`"+`
			url https://scored.example/
		}`, ingestSite)
	series := `hookgate_rule_type_mismatches_total{hook_id="scored"}`
	before := g.metrics()[series]

	ev := strings.Replace(hotLead("evt_1", 9), `"id"`, `"metadata": {"score": "high"}, "id"`, 1)
	status, out := g.post("/events", ev)
	require.Equal(t, http.StatusAccepted, status)
	assert.Equal(t, 0.0, out["matched"], "gt on a string is false")
	assert.Equal(t, before+1, g.metrics()[series])
}
