package queue

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeliveryIDRoundTrips(t *testing.T) {
	for i := 0; i < 1000; i++ {
		id := newID(time.Now())
		s := formatID(id)
		require.Len(t, s, len("dlv_")+26)
		back, err := parseID(s)
		require.NoError(t, err)
		assert.Equal(t, id, back)
	}
	for _, id := range []rawID{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		back, err := parseID(formatID(id))
		require.NoError(t, err)
		assert.Equal(t, id, back)
	}
}

func TestDeliveryIDsSortByCreationTime(t *testing.T) {
	start := time.Now()
	var ids []string
	for i := 0; i < 100; i++ {
		ids = append(ids, formatID(newID(start.Add(time.Duration(i)*time.Millisecond))))
	}
	assert.True(t, sort.StringsAreSorted(ids))
}

func TestParseIDRejectsForeignIDs(t *testing.T) {
	for _, s := range []string{"", "dlv_", "evt_01m8yshnb00mcfe72wdp30p8xs",
		"dlv_01m8yshnb00mcfe72wdp30p8x", "dlv_01m8yshnb00mcfe72wdp30p8xu",
		"dlv_81m8yshnb00mcfe72wdp30p8xs"} {
		_, err := parseID(s)
		assert.ErrorIs(t, err, ErrNotFound, s)
	}
}

func TestDeliveryRecordRoundTrips(t *testing.T) {
	id := newID(time.Now())
	d := Delivery{
		ID: formatID(id), HookID: "h", HookVersion: 7, Expression: "x > 1",
		EventID: "evt", EventType: "message.opened", Account: "acme",
		CreatedAt: time.Unix(0, 1733230000123456789).UTC(), Status: StatusPending,
		Attempts: 2, DueAt: time.Unix(1733230010, 0).UTC(), LastError: "status 500",
		Body: []byte(`{"id":"evt"}`),
	}
	got, err := decodeDelivery(id, encodeDelivery(&d))
	require.NoError(t, err)
	assert.Equal(t, d, got)

	_, err = decodeDelivery(id, encodeDelivery(&d)[:10])
	assert.Error(t, err)
}

func TestAttemptRecordRoundTrips(t *testing.T) {
	body := []byte(`{"id":"evt"}`)
	a := Attempt{
		Number: 3, At: time.Unix(1733230000, 5).UTC(), StatusCode: 502,
		Latency: 1500 * time.Millisecond, Error: "bad gateway",
		Request: Request{URL: "https://x", Method: "POST",
			Header: http.Header{"A": {"1", "2"}, "B": {"3"}}, Body: []byte("other")},
		Response:    Response{Header: http.Header{"C": {"4"}}, Body: []byte("oops")},
		NextRetryAt: time.Unix(1733230060, 0).UTC(), HookVersion: 4, Expression: "true",
	}
	got, err := decodeAttempt(encodeAttempt(&a, body), body)
	require.NoError(t, err)
	assert.Equal(t, a, got)

	a.Request.Body = body
	enc := encodeAttempt(&a, body)
	got, err = decodeAttempt(enc, body)
	require.NoError(t, err)
	assert.Equal(t, body, got.Request.Body)
	assert.Less(t, len(enc), len(encodeAttempt(&a, nil)), "shared body is stored once")
}

func TestStatusTextRoundTrips(t *testing.T) {
	for _, st := range allStatuses {
		b, err := st.MarshalText()
		require.NoError(t, err)
		var back Status
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, st, back)
	}
	_, err := ParseStatus("done")
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = Status(0).MarshalText()
	assert.ErrorIs(t, err, ErrInvalid)
}
