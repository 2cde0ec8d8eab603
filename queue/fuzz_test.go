package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fuzz targets for what reaches the store from outside: cursors and statuses
// come from admin API query strings, delivery ids from its paths. Records read
// back from disk are fuzzed too, so that a damaged record is an error, not a
// panic. Seeds found by fuzzing are kept in testdata/fuzz.

func FuzzDecodeCursor(f *testing.F) {
	var id rawID
	copy(id[:], "0123456789abcdef")
	f.Add(encodeCursor(indexSuffix(time.Now().UnixNano(), id)))
	f.Add("")
	f.Add("not-a-cursor")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("AAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAA")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, c string) {
		b, err := decodeCursor(c)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			return
		}
		if c == "" {
			require.Nil(t, b)
			return
		}
		require.Len(t, b, indexSuffixLen)
		back, err := decodeCursor(encodeCursor(b))
		require.NoError(t, err)
		require.Equal(t, b, back)
	})
}

// FuzzDeliveriesCursor lists a small store's deliveries with any cursor, status
// and limit: the answer is ErrInvalid or a page in order, after the cursor.
func FuzzDeliveriesCursor(f *testing.F) {
	clock := newClock()
	s := openStore(f, testOptions(f, f.TempDir(), clock))
	ids := make([]string, 0, 12)
	for i := 0; i < 12; i++ {
		ids = append(ids, enqueue(f, s, item(fmt.Sprint(i), "h"))...)
		clock.Advance(time.Duration(i%3) * time.Second) // Some share a creation time.
	}
	for _, l := range leaseAll(f, s, "h", 4) {
		record(f, s, l, delivered(200))
	}
	first, err := s.Deliveries(context.Background(), "h", Query{Limit: 5})
	require.NoError(f, err)

	f.Add(first.NextCursor, byte(0), 5)
	f.Add(first.NextCursor, byte(StatusDelivered), 1)
	f.Add("", byte(StatusPending), 0)
	f.Add("__________________________________", byte(0), -1)
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", byte(9), 1000)
	f.Fuzz(func(t *testing.T, cursor string, status byte, limit int) {
		q := Query{Cursor: cursor, Status: Status(status), Limit: limit}
		page, err := s.Deliveries(context.Background(), "h", q)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			return
		}
		after, err := decodeCursor(cursor)
		require.NoError(t, err)
		want := limit
		if want <= 0 {
			want = DefaultPageSize
		}
		require.LessOrEqual(t, len(page.Deliveries), min(want, MaxPageSize))
		prev := after
		for _, d := range page.Deliveries {
			if q.Status != 0 {
				require.Equal(t, q.Status, d.Status)
			}
			raw, err := parseID(d.ID)
			require.NoError(t, err)
			suffix := indexSuffix(d.CreatedAt.UnixNano(), raw)
			if prev != nil {
				require.Equal(t, 1, bytes.Compare(suffix, prev), "not after the cursor")
			}
			prev = suffix
		}
		if page.NextCursor != "" {
			require.Len(t, page.Deliveries, min(want, MaxPageSize))
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"pending", "parked", "delivered", "failed", "", "Pending",
		"failed ", "status(0)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStatus(s)
		var un Status
		unErr := un.UnmarshalText([]byte(s))
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorIs(t, unErr, ErrInvalid)
			return
		}
		require.NoError(t, unErr)
		require.Equal(t, st, un)
		require.Equal(t, s, st.String())
		b, err := st.MarshalText()
		require.NoError(t, err)
		require.Equal(t, s, string(b))
	})
}

func FuzzParseDeliveryID(f *testing.F) {
	f.Add(formatID(newID(time.Now())))
	f.Add("dlv_00000000000000000000000000")
	f.Add("dlv_7zzzzzzzzzzzzzzzzzzzzzzzzz")
	f.Add("dlv_8zzzzzzzzzzzzzzzzzzzzzzzzz")
	f.Add("dlv_01M8YSHNB00MCFE72WDP30P8XS")
	f.Add("evt_1")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseID(s)
		if err != nil {
			require.ErrorIs(t, err, ErrNotFound)
			return
		}
		require.Equal(t, s, formatID(id), "one spelling per id")
	})
}

// FuzzDecodeRecords decodes arbitrary bytes as each record kind; whatever
// decodes must encode back to a record that decodes the same.
func FuzzDecodeRecords(f *testing.F) {
	body := []byte(`{"id":"evt_1"}`)
	d := Delivery{HookID: "h", HookVersion: 2, EventID: "evt_1", Status: StatusPending,
		CreatedAt: time.Unix(1733230000, 0).UTC(), Attempts: 1, Body: body}
	a := Attempt{Number: 1, At: time.Unix(1733230000, 0).UTC(), StatusCode: 503,
		Request:  Request{URL: "https://x", Method: "POST", Header: http.Header{"A": {"1"}}},
		Response: Response{Header: http.Header{"B": {"2", "3"}}, Body: []byte("busy")}}
	f.Add(encodeDelivery(&d))
	f.Add(encodeAttempt(&a, body))
	f.Add(encodeHook(&hookRecord{Version: 3, Document: []byte(`{"url":"x"}`)}))
	f.Add(encodePark(parkRecord{Reason: "disabled", Since: time.Unix(1, 0)}))
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	var id rawID
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := decodeDelivery(id, b); err == nil {
			back, err := decodeDelivery(id, encodeDelivery(&d))
			require.NoError(t, err)
			assert.Equal(t, d, back)
		} else {
			assertDecodeError(t, err)
		}
		if a, err := decodeAttempt(b, body); err == nil {
			back, err := decodeAttempt(encodeAttempt(&a, body), body)
			require.NoError(t, err)
			assert.Equal(t, a, back)
		} else {
			assertDecodeError(t, err)
		}
		if h, err := decodeHook(b); err == nil {
			back, err := decodeHook(encodeHook(&h))
			require.NoError(t, err)
			assert.Equal(t, h, back)
		} else {
			assertDecodeError(t, err)
		}
		if p, err := decodePark(b); err == nil {
			back, err := decodePark(encodePark(p))
			require.NoError(t, err)
			assert.Equal(t, p, back)
		} else {
			assertDecodeError(t, err)
		}
		_, _ = decodeCount(b)
	})
}

// assertDecodeError checks that a record failed to decode for a stated reason.
func assertDecodeError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, errShortRecord) {
		assert.Contains(t, err.Error(), "unknown format")
	}
}
