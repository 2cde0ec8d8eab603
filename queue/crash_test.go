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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// The crash test runs the test binary again as a child that enqueues under
// SyncAlways and prints a line for every Enqueue that returned; the parent kills
// it with SIGKILL at a random moment, reopens the store and checks that every
// acknowledged item survived. SIGKILL stops the process, not the machine, so it
// checks what Badger and the store keep across a process crash, not that the
// disk honours msync.

const (
	crashDirEnv  = "HOOKGATE_CRASH_DIR"
	crashRunEnv  = "HOOKGATE_CRASH_RUN"
	crashSeedEnv = "HOOKGATE_CRASH_SEED"

	crashKills     = 20
	crashProducers = 8
)

var crashHooks = []string{"crash-a", "crash-b", "crash-c"}

// crashItem is the item the child enqueues under key: one or two deliveries, so
// that items with several deliveries are checked too, with bodies derived from
// the key so that the parent can check them.
func crashItem(key string) Item {
	h := fnv.New32a()
	h.Write([]byte(key))
	n := int(h.Sum32())
	it := Item{DedupeKey: key, EventID: "evt_" + key, EventType: "message.clicked",
		Account: "acme"}
	for d := 0; d < 1+n%2; d++ {
		it.Deliveries = append(it.Deliveries, NewDelivery{
			HookID:      crashHooks[(n+d)%len(crashHooks)],
			HookVersion: 1,
			Body:        fmt.Appendf(nil, `{"id":"evt_%s","delivery":%d,"pad":"%0400d"}`, key, d, n),
		})
	}
	return it
}

// TestCrashChild enqueues until it is killed, printing "ack <key> <id>..." after
// each Enqueue returns. It runs only as the child of
// TestKillNineLosesNoAcknowledgedEnqueue.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestKillNineLosesNoAcknowledgedEnqueue")
	}
	// An orphan (the parent died first) must not run forever.
	time.AfterFunc(time.Minute, func() { os.Exit(4) })

	s, err := Open(DefaultOptions(dir).WithLogger(zap.NewNop()))
	if err != nil {
		fmt.Fprintf(os.Stderr, "opening store: %v\n", err)
		os.Exit(2)
	}
	var out sync.Mutex
	for p := 0; p < crashProducers; p++ {
		go func() {
			for n := 0; ; n++ {
				key := fmt.Sprintf("r%s-p%d-%d", os.Getenv(crashRunEnv), p, n)
				res, err := s.Enqueue(context.Background(), []Item{crashItem(key)})
				if err != nil {
					fmt.Fprintf(os.Stderr, "enqueue %s: %v\n", key, err)
					os.Exit(2)
				}
				line := "ack " + key + " " + strings.Join(res[0].DeliveryIDs, " ") + "\n"
				out.Lock()
				_, err = os.Stdout.WriteString(line)
				out.Unlock()
				if err != nil {
					os.Exit(3)
				}
			}
		}()
	}
	select {}
}

// crashAck is one acknowledged item: its key and delivery ids.
type crashAck struct {
	key string
	ids []string
}

func TestKillNineLosesNoAcknowledgedEnqueue(t *testing.T) {
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
	var acked []crashAck
	deliveries := 0
	for run := 0; run < crashKills; run++ {
		// Most runs are killed a while after the first acknowledgement; every
		// fourth is killed counting from the start, often while Badger is still
		// opening or replaying the previous crash.
		afterFirstAck := run%4 != 0
		delay := time.Duration(5+rng.IntN(295)) * time.Millisecond
		got := runCrashChild(t, dir, run, delay, afterFirstAck)
		if afterFirstAck {
			require.NotEmpty(t, got, "run %d: no acknowledgement before the kill", run)
		}
		acked = append(acked, got...)
		for _, a := range got {
			deliveries += len(a.ids)
		}
		verifyAcked(t, dir, acked, got)
	}
	t.Logf("%d kills, %d acknowledged items with %d deliveries, all present after every "+
		"restart", crashKills, len(acked), deliveries)
}

// runCrashChild starts the child on dir, kills it delay after its start or after
// its first acknowledgement, and returns what it acknowledged.
func runCrashChild(t *testing.T, dir string, run int, delay time.Duration,
	afterFirstAck bool) []crashAck {
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
	lines := make(chan []crashAck, 1)
	go func() {
		var acks []crashAck
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 3 || f[0] != "ack" {
				continue
			}
			if len(acks) == 0 {
				close(first)
			}
			acks = append(acks, crashAck{key: f[1], ids: f[2:]})
		}
		lines <- acks
	}()

	if afterFirstAck {
		select {
		case <-first:
		case <-time.After(time.Minute):
			t.Fatalf("run %d: no acknowledgement within a minute; stderr: %s", run, &stderr)
		}
	}
	time.Sleep(delay)
	require.NoError(t, cmd.Process.Kill())
	killed = true
	acks := <-lines
	err = cmd.Wait()
	require.Error(t, err, "run %d: the child exited by itself; stderr: %s", run, &stderr)
	require.Contains(t, err.Error(), "killed", "run %d: stderr: %s", run, &stderr)
	return acks
}

// verifyAcked reopens the store and checks every acknowledged item: its
// deliveries are pending with their bodies and back on the schedule, and the
// items of the last run are duplicates when enqueued again.
func verifyAcked(t *testing.T, dir string, all, last []crashAck) {
	t.Helper()
	opt := DefaultOptions(dir).WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	s, err := Open(opt)
	require.NoError(t, err, "reopening after the kill")
	defer func() { require.NoError(t, s.Close()) }()
	ctx := context.Background()

	scheduled := map[string]bool{}
	for _, hook := range crashHooks {
		ls, err := s.Lease(ctx, hook, 1<<20)
		require.NoError(t, err)
		for _, l := range ls {
			scheduled[l.Delivery.ID] = true
		}
	}
	for _, a := range all {
		want := crashItem(a.key)
		require.Len(t, a.ids, len(want.Deliveries), a.key)
		for i, id := range a.ids {
			d, err := s.Delivery(ctx, id)
			require.NoError(t, err, "acknowledged delivery %s of %s", id, a.key)
			assert.Equal(t, StatusPending, d.Status, id)
			assert.Equal(t, "evt_"+a.key, d.EventID, id)
			assert.Equal(t, want.Deliveries[i].HookID, d.HookID, id)
			assert.Equal(t, want.Deliveries[i].Body, d.Body, id)
			assert.True(t, scheduled[id], "delivery %s is not on the schedule", id)
		}
	}

	items := make([]Item, len(last))
	for i, a := range last {
		items[i] = crashItem(a.key)
	}
	res, err := s.Enqueue(ctx, items)
	require.NoError(t, err)
	for i, r := range res {
		assert.True(t, r.Duplicate, "dedupe key %s was lost", last[i].key)
	}
}
