package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// rssGoal is the memory hookgate aims to stay under with a million queued
// deliveries on the default options.
const rssGoal = 400 << 20

// rssTotal is how many deliveries TestRSSWithAMillionQueuedDeliveries queues.
const rssTotal = 1_000_000

// TestRSSWithAMillionQueuedDeliveries enqueues 1,000,000 deliveries of about
// 600 bytes each under the default options (sync always, small-memory Badger
// profile), sampling this process's memory as it goes, then measures a fresh
// process that opens the full store and leases from it. It takes a minute or two
// and writes about 1 GB, so it runs only with HOOKGATE_BENCH_RSS=1:
//
//	HOOKGATE_BENCH_RSS=1 go test ./queue/ -run RSS -v -timeout 20m
//
// Badger writes its tables through mmap and keeps them mapped, so the writer's
// VmRSS also counts the clean file pages of everything it wrote: page cache
// that the kernel reclaims under pressure. The anonymous part (RssAnon: heap,
// memtables, table builders) is what the process needs, and what the test
// holds to the goal, with the peak of a process that reopens the store.
func TestRSSWithAMillionQueuedDeliveries(t *testing.T) {
	if os.Getenv("HOOKGATE_BENCH_RSS") != "1" {
		t.Skip("set HOOKGATE_BENCH_RSS=1 to measure memory with a million queued deliveries")
	}
	dir := t.TempDir()
	s, err := Open(DefaultOptions(dir).WithLogger(zap.NewNop()))
	require.NoError(t, err)
	opened := readMemStatus(t)

	stopSampling, peak := sampleMemory(t, 100*time.Millisecond)
	start := time.Now()
	fillConcurrently(t, s, rssTotal, 8, 64)
	elapsed := time.Since(start)
	st, err := s.Stats()
	require.NoError(t, err)
	require.Equal(t, rssTotal, st.Pending)
	filled := readMemStatus(t)
	mapped := readSmapsRollup(t)
	stopSampling()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	require.NoError(t, s.Close())

	t.Logf("enqueued %d deliveries in %v (%.0f/s, 64 items a call, 8 producers); "+
		"%s on disk", rssTotal, elapsed.Round(time.Millisecond),
		rssTotal/elapsed.Seconds(), mib(dirSize(t, dir)))
	t.Logf("writer after open: %v", opened)
	t.Logf("writer with %d queued: %v; Go heap in use %s, Go sys %s", rssTotal, filled,
		mib(int64(ms.HeapInuse)), mib(int64(ms.Sys)))
	t.Logf("writer peaks while filling: VmRSS %s, RssAnon %s", mib(peak.rss), mib(peak.anon))
	t.Logf("writer's resident pages with %d queued: %v", rssTotal, mapped)

	reader := measureReopen(t, dir)
	t.Logf("fresh process after open: %v", reader.open)
	t.Logf("fresh process after leasing 1000 per hook: %v", reader.leased)

	assert.Less(t, peak.anon, int64(rssGoal), "peak anonymous memory of the writer")
	assert.Less(t, reader.leased.hwm, int64(rssGoal), "peak RSS of a process reopening it")
}

// fillConcurrently enqueues total benchItems from producers goroutines, perCall
// items a call.
func fillConcurrently(t *testing.T, s *Store, total, producers, perCall int) {
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items := make([]Item, perCall)
			for first := p * perCall; first < total; first += producers * perCall {
				n := min(perCall, total-first)
				for i := range n {
					items[i] = benchItem(first + i)
				}
				_, err := s.Enqueue(context.Background(), items[:n])
				if !assert.NoError(t, err) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// sampleMemory reads /proc/self/status every interval until stop is called and
// then reports the highest VmRSS and RssAnon seen.
func sampleMemory(t *testing.T, every time.Duration) (stop func(), peak *memStatus) {
	peak = &memStatus{}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			m := readMemStatus(t)
			peak.rss, peak.anon = max(peak.rss, m.rss), max(peak.anon, m.anon)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }, peak
}

// TestRSSChild is the fresh process of TestRSSWithAMillionQueuedDeliveries: it
// opens the store in HOOKGATE_RSS_DIR, leases from every hook and prints its
// memory after each step.
func TestRSSChild(t *testing.T) {
	dir := os.Getenv("HOOKGATE_RSS_DIR")
	if dir == "" {
		t.Skip("run by TestRSSWithAMillionQueuedDeliveries")
	}
	s, err := Open(DefaultOptions(dir).WithLogger(zap.NewNop()))
	require.NoError(t, err)
	defer s.Close()
	open := readMemStatus(t)
	for h := 0; h < benchHooks; h++ {
		ls, err := s.Lease(context.Background(), fmt.Sprintf("hook-%d", h), 1000)
		require.NoError(t, err)
		require.Len(t, ls, 1000)
	}
	leased := readMemStatus(t)
	fmt.Printf("mem %d %d %d %d %d %d\n", open.rss, open.hwm, open.anon,
		leased.rss, leased.hwm, leased.anon)
}

// memStatus holds figures from /proc/self/status, in bytes.
type memStatus struct{ rss, hwm, anon, file int64 }

func (m memStatus) String() string {
	s := fmt.Sprintf("VmRSS %s (RssAnon %s", mib(m.rss), mib(m.anon))
	if m.file > 0 {
		s += ", RssFile " + mib(m.file)
	}
	return s + "), VmHWM " + mib(m.hwm)
}

type reopenMemory struct{ open, leased memStatus }

// measureReopen runs TestRSSChild on dir in a new process.
func measureReopen(t *testing.T, dir string) reopenMemory {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$")
	cmd.Env = append(os.Environ(), "HOOKGATE_RSS_DIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	var m reopenMemory
	for _, line := range strings.Split(string(out), "\n") {
		_, err := fmt.Sscanf(line, "mem %d %d %d %d %d %d", &m.open.rss, &m.open.hwm,
			&m.open.anon, &m.leased.rss, &m.leased.hwm, &m.leased.anon)
		if err == nil {
			return m
		}
	}
	t.Fatalf("child printed no memory figures: %s", out)
	return m
}

// readMemStatus reads VmRSS, VmHWM, RssAnon and RssFile from /proc/self/status.
func readMemStatus(t testing.TB) memStatus {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	var m memStatus
	fields := map[string]*int64{"VmRSS": &m.rss, "VmHWM": &m.hwm, "RssAnon": &m.anon,
		"RssFile": &m.file}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		require.NoError(t, err, "parsing %s", sc.Text())
		*dst = kb << 10
	}
	require.NoError(t, sc.Err())
	return m
}

// smapsRollup holds figures from /proc/self/smaps_rollup, in bytes.
type smapsRollup struct{ rss, anon, clean, dirty int64 }

func (m smapsRollup) String() string {
	return fmt.Sprintf("Rss %s = anonymous %s + file-backed %s, of which clean %s; dirty %s",
		mib(m.rss), mib(m.anon), mib(m.rss-m.anon), mib(m.clean), mib(m.dirty))
}

// readSmapsRollup reads how the resident pages split between anonymous memory
// and file pages, and how many of them are clean: clean file pages are page
// cache that the kernel drops without writing anything.
func readSmapsRollup(t testing.TB) smapsRollup {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	require.NoError(t, err)
	var m smapsRollup
	fields := map[string][]*int64{"Rss": {&m.rss}, "Anonymous": {&m.anon},
		"Shared_Clean": {&m.clean}, "Private_Clean": {&m.clean},
		"Shared_Dirty": {&m.dirty}, "Private_Dirty": {&m.dirty}}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || fields[name] == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		require.NoError(t, err, "parsing %s", line)
		for _, dst := range fields[name] {
			*dst += kb << 10
		}
	}
	return m
}

func dirSize(t testing.TB, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var n int64
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		n += info.Size()
	}
	return n
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
