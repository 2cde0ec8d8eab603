package queue

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The crash test runs the test binary again as a child that enqueues under
// SyncAlways while two workers lease and record attempts, and that prints a
// line before every Enqueue and after every Enqueue or Record that returned.
// The parent kills it with SIGKILL at a random moment while those writes are in
// flight, reopens the store and checks that every acknowledged write survived,
// that unacknowledged items were written whole or not at all, and that every
// pending delivery, in flight at the kill included, is due again. SIGKILL stops
// the process, not the machine, so it checks what Badger and the store keep
// across a process crash, not that the disk honours msync.

const (
	crashDirEnv  = "HOOKGATE_CRASH_DIR"
	crashRunEnv  = "HOOKGATE_CRASH_RUN"
	crashSeedEnv = "HOOKGATE_CRASH_SEED"

	// crashKills is how many children are killed while they write; every
	// crashEarlyEvery-th run is an extra one killed counting from its start,
	// often while Badger is still opening or replaying the previous crash.
	crashKills      = 20
	crashEarlyEvery = 5
	crashProducers  = 8
	crashWorkers    = 2
)

var crashHooks = []string{"crash-a", "crash-b", "crash-c"}

// crashItem is the item the child enqueues under key: one or two deliveries, so
// that items with several deliveries are checked too, with bodies derived from
// the key so that the parent can check them.
func crashItem(key string) Item {
	n := int(crashHash(key))
	it := Item{DedupeKey: key, EventID: "evt_" + key, EventType: "message.clicked",
		Account: "acme"}
	for d := 0; d < 1+n%2; d++ {
		it.Deliveries = append(it.Deliveries, NewDelivery{
			HookID:      crashHooks[(n+d)%len(crashHooks)],
			HookVersion: 1,
			Body: fmt.Appendf(nil, `{"id":"evt_%s","delivery":%d,"pad":"%0400d"}`,
				key, d, n),
		})
	}
	return it
}

func crashHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// crashReport is the outcome the child's workers record: a third of the first
// attempts fail with a retry due at once, everything else is delivered.
func crashReport(l Lease, now time.Time) Report {
	if l.Delivery.Attempts == 0 && crashHash(l.Delivery.ID)%3 == 0 {
		return retryAt(now, 503)
	}
	return delivered(200)
}

// crashOutput writes the child's lines, one write each.
type crashOutput struct{ mu sync.Mutex }

func (o *crashOutput) line(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := fmt.Fprintf(os.Stdout, format+"\n", args...); err != nil {
		os.Exit(3)
	}
}

// TestCrashChild enqueues and dispatches until it is killed, printing
// "send <key>" before each Enqueue, "ack <key> <id>..." after it returns and
// "rec <id> <attempt> <status>" after each Record returns. It runs only as the
// child of TestKillNineLosesNoAcknowledgedWrite.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestKillNineLosesNoAcknowledgedWrite")
	}
	// An orphan (the parent died first) must not run forever.
	time.AfterFunc(time.Minute, func() { os.Exit(4) })

	s, err := Open(DefaultOptions(dir).WithLogger(zap.NewNop()))
	if err != nil {
		fmt.Fprintf(os.Stderr, "opening store: %v\n", err)
		os.Exit(2)
	}
	var out crashOutput
	for p := 0; p < crashProducers; p++ {
		go crashProduce(s, &out, p)
	}
	for w := 0; w < crashWorkers; w++ {
		go crashDispatch(s, &out)
	}
	select {}
}

func crashProduce(s *Store, out *crashOutput, p int) {
	for n := 0; ; n++ {
		key := fmt.Sprintf("r%s-p%d-%d", os.Getenv(crashRunEnv), p, n)
		out.line("send %s", key)
		res, err := s.Enqueue(context.Background(), []Item{crashItem(key)})
		if err != nil {
			fmt.Fprintf(os.Stderr, "enqueue %s: %v\n", key, err)
			os.Exit(2)
		}
		out.line("ack %s %s", key, strings.Join(res[0].DeliveryIDs, " "))
	}
}

func crashDispatch(s *Store, out *crashOutput) {
	ctx := context.Background()
	for {
		r := s.Ready()
		leased := 0
		for _, hook := range crashHooks {
			ls, err := s.Lease(ctx, hook, 4)
			if err != nil {
				fmt.Fprintf(os.Stderr, "lease: %v\n", err)
				os.Exit(2)
			}
			leased += len(ls)
			for _, l := range ls {
				res, err := s.Record(ctx, l, crashReport(l, time.Now()))
				if err != nil {
					fmt.Fprintf(os.Stderr, "record %s: %v\n", l.Delivery.ID, err)
					os.Exit(2)
				}
				out.line("rec %s %d %s", l.Delivery.ID, res.Attempt, res.Status)
			}
		}
		if leased == 0 {
			select {
			case <-r.Changed:
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
}

// crashRun is what one child printed before it was killed.
type crashRun struct {
	sent    []string            // keys in the order they were sent
	acked   map[string][]string // key -> delivery ids
	records map[string]crashRecord
}

// crashRecord is an acknowledged Record: the attempt number and the state after.
type crashRecord struct {
	attempt int
	status  string
}

// crashState is what the parent knows across runs.
type crashState struct {
	acked   map[string][]string
	records map[string]crashRecord
	// deliveries is how many deliveries the store must hold: those of every
	// acknowledged item and of every unacknowledged item found written.
	deliveries int

	inFlight, foundWritten, foundMissing int
}

func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("this is the child")
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(crashSeedEnv); v != "" {
		var err error
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("kill timing seed %d (set %s to repeat it)", seed, crashSeedEnv)
	rng := rand.New(rand.NewPCG(seed, seed))

	dir := t.TempDir()
	st := &crashState{acked: map[string][]string{}, records: map[string]crashRecord{}}
	midWrite, early := 0, 0
	for run := 0; midWrite < crashKills; run++ {
		afterFirstAck := run%crashEarlyEvery != crashEarlyEvery-1
		delay := time.Duration(5+rng.IntN(295)) * time.Millisecond
		got := runCrashChild(t, dir, run, delay, afterFirstAck)
		inFlight := len(got.sent) - len(got.acked)
		if afterFirstAck {
			require.NotEmpty(t, got.acked, "run %d: no acknowledgement before the kill", run)
			require.Positive(t, inFlight, "run %d: the kill found no Enqueue in flight", run)
			midWrite++
		} else {
			early++
		}
		st.inFlight += inFlight
		verifyAfterKill(t, dir, st, got)
	}
	t.Logf("%d kills with writes in flight and %d early ones: %d acknowledged items, "+
		"%d acknowledged attempts, %d deliveries, all present after every restart; "+
		"of %d enqueues in flight at a kill, %d were written whole and %d not at all",
		midWrite, early, len(st.acked), len(st.records), st.deliveries, st.inFlight,
		st.foundWritten, st.foundMissing)
}

// runCrashChild starts the child on dir, kills it with SIGKILL delay after its
// start or after its first acknowledgement, and returns what it printed.
func runCrashChild(t *testing.T, dir string, run int, delay time.Duration,
	afterFirstAck bool) crashRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	first := make(chan struct{})
	parsed := make(chan crashRun, 1)
	go func() {
		r := crashRun{acked: map[string][]string{}, records: map[string]crashRecord{}}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "send":
				r.sent = append(r.sent, f[1])
			case len(f) >= 3 && f[0] == "ack":
				if len(r.acked) == 0 {
					close(first)
				}
				r.acked[f[1]] = f[2:]
			case len(f) == 4 && f[0] == "rec":
				n, err := strconv.Atoi(f[2])
				if err == nil {
					r.records[f[1]] = crashRecord{attempt: n, status: f[3]}
				}
			}
		}
		parsed <- r
	}()

	if afterFirstAck {
		select {
		case <-first:
		case <-time.After(time.Minute):
			t.Fatalf("run %d: no acknowledgement within a minute; stderr: %s", run, &stderr)
		}
	}
	time.Sleep(delay)
	require.NoError(t, syscall.Kill(cmd.Process.Pid, syscall.SIGKILL))
	killed = true
	r := <-parsed
	_ = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL,
		"run %d: the child was not killed by SIGKILL (%v); stderr: %s", run,
		cmd.ProcessState, &stderr)
	return r
}

// verifyAfterKill reopens the store and checks it against everything the
// children acknowledged, then settles the enqueues that were in flight.
func verifyAfterKill(t *testing.T, dir string, st *crashState, last crashRun) {
	t.Helper()
	core, logs := observer.New(zapcore.ErrorLevel)
	s, err := Open(DefaultOptions(dir).WithLogger(zap.New(core)))
	require.NoError(t, err, "reopening after the kill")
	defer func() { require.NoError(t, s.Close()) }()
	ctx := context.Background()

	for k, ids := range last.acked {
		st.acked[k] = ids
		st.deliveries += len(ids)
	}
	for id, r := range last.records {
		if prev, ok := st.records[id]; !ok || r.attempt > prev.attempt {
			st.records[id] = r
		}
	}

	pending := checkAcknowledged(t, s, st)
	scheduled := map[string]bool{}
	for _, hook := range crashHooks {
		ls, err := s.Lease(ctx, hook, 1<<20)
		require.NoError(t, err)
		for _, l := range ls {
			scheduled[l.Delivery.ID] = true
		}
	}
	for _, id := range pending {
		assert.True(t, scheduled[id], "pending delivery %s is not due after the restart", id)
	}
	stats0, err := s.Stats()
	require.NoError(t, err)
	assert.Equal(t, len(scheduled), stats0.Pending, "counted pending vs on the schedule")

	settleInFlight(t, s, st, last)
	stats1, err := s.Stats()
	require.NoError(t, err)
	assert.Equal(t, st.deliveries, stats1.Pending+stats1.Delivered,
		"deliveries stored vs acknowledged and found written")
	assert.Zero(t, stats1.Failed+stats1.Parked)
	for _, e := range logs.All() {
		t.Errorf("store logged %s: %s %v", e.Level, e.Message, e.ContextMap())
	}
}

// checkAcknowledged checks every acknowledged delivery and returns those that
// are pending.
func checkAcknowledged(t *testing.T, s *Store, st *crashState) []string {
	t.Helper()
	var pending []string
	for key, ids := range st.acked {
		want := crashItem(key)
		require.Len(t, ids, len(want.Deliveries), key)
		for i, id := range ids {
			d, err := s.Delivery(context.Background(), id)
			require.NoError(t, err, "acknowledged delivery %s of %s", id, key)
			assert.Equal(t, "evt_"+key, d.EventID, id)
			assert.Equal(t, want.Deliveries[i].HookID, d.HookID, id)
			assert.Equal(t, want.Deliveries[i].Body, d.Body, id)
			require.Len(t, d.AttemptLog, d.Attempts, id)
			for n, a := range d.AttemptLog {
				assert.Equal(t, n+1, a.Number, id)
			}
			if r, ok := st.records[id]; ok {
				assert.GreaterOrEqual(t, d.Attempts, r.attempt, "acknowledged attempt of %s", id)
				if r.status == StatusDelivered.String() {
					assert.Equal(t, StatusDelivered, d.Status, id)
				}
			}
			switch d.Status {
			case StatusPending:
				pending = append(pending, id)
			case StatusDelivered:
			default:
				t.Errorf("delivery %s is %s", id, d.Status)
			}
		}
	}
	return pending
}

// settleInFlight enqueues again the items of the last run: those acknowledged
// must be duplicates, as must those in flight that were written; those in
// flight that were not written are stored now and count as acknowledged.
func settleInFlight(t *testing.T, s *Store, st *crashState, last crashRun) {
	t.Helper()
	items := make([]Item, len(last.sent))
	for i, key := range last.sent {
		items[i] = crashItem(key)
	}
	res, err := s.Enqueue(context.Background(), items)
	require.NoError(t, err)
	for i, r := range res {
		key := last.sent[i]
		_, acked := last.acked[key]
		switch {
		case acked:
			assert.True(t, r.Duplicate, "dedupe key %s was lost", key)
		case r.Duplicate:
			st.foundWritten++
			st.deliveries += len(items[i].Deliveries)
		default:
			st.foundMissing++
			st.acked[key] = r.DeliveryIDs
			st.deliveries += len(r.DeliveryIDs)
		}
	}
}
