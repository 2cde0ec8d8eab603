package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadSendsUniqueEventsAndCountsTheWindow(t *testing.T) {
	var mu sync.Mutex
	ids := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var events []map[string]any
		if err := json.Unmarshal(body, &events); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, e := range events {
			ids[e["id"].(string)]++
		}
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"accepted":3,"duplicates":0,"matched":2,"rejected":[]}`)
	}))
	defer srv.Close()

	l := Load{URL: srv.URL, Conns: 3, Requests: 20, Batch: 3, Timeout: 10 * time.Second}
	res, err := l.Run(context.Background())
	require.NoError(t, err)

	assert.Equal(t, 20, res.Requests)
	assert.Equal(t, 60, res.Events)
	assert.Equal(t, 20, res.OK)
	assert.Equal(t, 40, res.Matched)
	assert.Empty(t, res.Failures)
	assert.Equal(t, 20, res.Latency.N)
	assert.Len(t, ids, 60)
	for id, n := range ids {
		assert.Equal(t, 1, n, "event id %s sent once", id)
	}
}

func TestLoadCountsRefusedRequestsAsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	l := Load{URL: srv.URL, Conns: 2, Requests: 5, Batch: 1, Timeout: 10 * time.Second}
	res, err := l.Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, res.OK)
	assert.Equal(t, map[string]int{"status 503": 5}, res.Failures)
}

func TestEndToEndToTheReceiverMeasuresEveryEvent(t *testing.T) {
	rc, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer rc.Close()

	l := Load{URL: rc.URL(), Conns: 2, Requests: 10, Batch: 1, Match: true,
		Timeout: 10 * time.Second}
	res, d, err := endToEnd(context.Background(), l, rc, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 10, res.OK)
	assert.Equal(t, 10, d.Tracked)
	assert.Equal(t, 10, d.Latency.N)
	assert.Zero(t, d.Duplicates)
	assert.Zero(t, d.Unreadable)
}

func TestReceiverCountsARedeliveryOnce(t *testing.T) {
	rc, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer rc.Close()

	body := `{"id":"e1","metadata":{"sent_unix_nano":1,"tracked":true}}`
	for range 2 {
		req, err := http.NewRequest(http.MethodPost, rc.URL(), strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-MailOdds-Delivery", "dlv_1")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	d := rc.Measure(time.Unix(0, 0), time.Now())
	assert.Equal(t, 1, d.Tracked)
	assert.Equal(t, 1, d.Duplicates)
}

func TestReceiverRefusesAnAddressOffLoopback(t *testing.T) {
	_, err := Listen("0.0.0.0:0")
	assert.ErrorContains(t, err, "want a loopback ip")
}

func TestPercentilesAndSpread(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	assert.Equal(t, Percentiles{N: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond,
		P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, p)
	assert.Equal(t, Percentiles{}, percentiles(nil))

	for _, tc := range []struct {
		name string
		xs   []float64
		want spread
	}{
		{name: "odd", xs: []float64{3, 1, 2}, want: spread{Median: 2, Min: 1, Max: 3}},
		{name: "even", xs: []float64{4, 1, 2, 3}, want: spread{Median: 2.5, Min: 1, Max: 4}},
		{name: "none", want: spread{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, spreadOf(tc.xs))
		})
	}
}
