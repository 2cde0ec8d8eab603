package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Records are stored in a small binary format: a version byte, then fields in a
// fixed order as uvarints, varints and length-prefixed bytes. It is several
// times cheaper than JSON on the enqueue path and keeps bodies as raw bytes.
const (
	deliveryFormat = 1
	attemptFormat  = 1
	hookFormat     = 1
	parkFormat     = 1
)

var errShortRecord = errors.New("record is truncated")

type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uint(v uint64)    { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)      { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(v []byte)   { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) string(v string)  { e.uint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) time(t time.Time) { e.int(unixNano(t)) }
func (e *encoder) bool(v bool)      { e.byte(boolByte(v)) }
func (e *encoder) header(h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.uint(uint64(len(keys)))
	for _, k := range keys {
		e.string(k)
		e.uint(uint64(len(h[k])))
		for _, v := range h[k] {
			e.string(v)
		}
	}
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShortRecord
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a copy, so that records never alias Badger's buffers.
func (d *decoder) bytes() []byte {
	n := d.uint()
	if uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	v := make([]byte, n)
	copy(v, d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uint()
	if uint64(len(d.b)) < n {
		d.fail()
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time { return fromUnixNano(d.int()) }
func (d *decoder) bool() bool      { return d.byte() == 1 }

func (d *decoder) header() http.Header {
	n := d.uint()
	if n == 0 || n > uint64(len(d.b)) {
		return nil
	}
	h := make(http.Header, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		m := d.uint()
		if m > uint64(len(d.b)) {
			d.fail()
			break
		}
		vs := make([]string, 0, m)
		for j := uint64(0); j < m; j++ {
			vs = append(vs, d.string())
		}
		h[k] = vs
	}
	return h
}

func (d *decoder) version(want byte, what string) error {
	if v := d.byte(); d.err == nil && v != want {
		return fmt.Errorf("decoding %s: unknown format %d", what, v)
	}
	return d.err
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encodeDelivery encodes everything but the id and expiry, which live in the
// key and in Badger's entry metadata.
func encodeDelivery(d *Delivery) []byte {
	e := encoder{b: make([]byte, 0, 96+len(d.HookID)+len(d.Expression)+len(d.EventID)+
		len(d.EventType)+len(d.Account)+len(d.LastError)+len(d.Body))}
	e.byte(deliveryFormat)
	e.byte(byte(d.Status))
	e.string(d.HookID)
	e.uint(d.HookVersion)
	e.string(d.Expression)
	e.string(d.EventID)
	e.string(d.EventType)
	e.string(d.Account)
	e.time(d.CreatedAt)
	e.uint(uint64(d.Attempts))
	e.time(d.DueAt)
	e.time(d.FinishedAt)
	e.string(d.LastError)
	e.bytes(d.Body)
	return e.b
}

func decodeDelivery(id rawID, b []byte) (Delivery, error) {
	d := decoder{b: b}
	if err := d.version(deliveryFormat, "delivery"); err != nil {
		return Delivery{}, err
	}
	v := Delivery{
		ID:          formatID(id),
		Status:      Status(d.byte()),
		HookID:      d.string(),
		HookVersion: d.uint(),
		Expression:  d.string(),
		EventID:     d.string(),
		EventType:   d.string(),
		Account:     d.string(),
		CreatedAt:   d.time(),
		Attempts:    int(d.uint()),
		DueAt:       d.time(),
		FinishedAt:  d.time(),
		LastError:   d.string(),
		Body:        d.bytes(),
	}
	if d.err != nil {
		return Delivery{}, fmt.Errorf("decoding delivery %s: %w", v.ID, d.err)
	}
	return v, nil
}

// encodeAttempt encodes an attempt. The request body is left out when it is the
// delivery's body, which is the usual case: the dispatcher sends what was queued.
func encodeAttempt(a *Attempt, deliveryBody []byte) []byte {
	sameBody := string(a.Request.Body) == string(deliveryBody)
	e := encoder{b: make([]byte, 0, 128+len(a.Response.Body)+len(a.Error)+len(a.Request.URL))}
	e.byte(attemptFormat)
	e.uint(uint64(a.Number))
	e.time(a.At)
	e.int(int64(a.StatusCode))
	e.int(int64(a.Latency))
	e.string(a.Error)
	e.string(a.Request.URL)
	e.string(a.Request.Method)
	e.header(a.Request.Header)
	e.bool(sameBody)
	if !sameBody {
		e.bytes(a.Request.Body)
	}
	e.header(a.Response.Header)
	e.bytes(a.Response.Body)
	e.time(a.NextRetryAt)
	e.uint(a.HookVersion)
	e.string(a.Expression)
	return e.b
}

func decodeAttempt(b, deliveryBody []byte) (Attempt, error) {
	d := decoder{b: b}
	if err := d.version(attemptFormat, "attempt"); err != nil {
		return Attempt{}, err
	}
	var a Attempt
	a.Number = int(d.uint())
	a.At = d.time()
	a.StatusCode = int(d.int())
	a.Latency = time.Duration(d.int())
	a.Error = d.string()
	a.Request.URL = d.string()
	a.Request.Method = d.string()
	a.Request.Header = d.header()
	if d.bool() {
		a.Request.Body = append([]byte(nil), deliveryBody...)
	} else {
		a.Request.Body = d.bytes()
	}
	a.Response.Header = d.header()
	a.Response.Body = d.bytes()
	a.NextRetryAt = d.time()
	a.HookVersion = d.uint()
	a.Expression = d.string()
	if d.err != nil {
		return Attempt{}, fmt.Errorf("decoding attempt: %w", d.err)
	}
	return a, nil
}

// hookRecord is the stored part of a Hook; its state lives under other keys.
type hookRecord struct {
	Version   uint64
	CreatedAt time.Time
	UpdatedAt time.Time
	Document  []byte
}

func encodeHook(h *hookRecord) []byte {
	e := encoder{b: make([]byte, 0, 32+len(h.Document))}
	e.byte(hookFormat)
	e.uint(h.Version)
	e.time(h.CreatedAt)
	e.time(h.UpdatedAt)
	e.bytes(h.Document)
	return e.b
}

func decodeHook(b []byte) (hookRecord, error) {
	d := decoder{b: b}
	if err := d.version(hookFormat, "hook"); err != nil {
		return hookRecord{}, err
	}
	h := hookRecord{Version: d.uint(), CreatedAt: d.time(), UpdatedAt: d.time(),
		Document: d.bytes()}
	if d.err != nil {
		return hookRecord{}, fmt.Errorf("decoding hook: %w", d.err)
	}
	return h, nil
}

// parkRecord says why and since when a hook is parked.
type parkRecord struct {
	Reason string
	Since  time.Time
}

func encodePark(p parkRecord) []byte {
	e := encoder{}
	e.byte(parkFormat)
	e.string(p.Reason)
	e.time(p.Since)
	return e.b
}

func decodePark(b []byte) (parkRecord, error) {
	d := decoder{b: b}
	if err := d.version(parkFormat, "park marker"); err != nil {
		return parkRecord{}, err
	}
	p := parkRecord{Reason: d.string(), Since: d.time()}
	if d.err != nil {
		return parkRecord{}, fmt.Errorf("decoding park marker: %w", d.err)
	}
	return p, nil
}

func encodeCount(n int) []byte { return binary.AppendUvarint(nil, uint64(n)) }

func decodeCount(b []byte) (int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, fmt.Errorf("decoding counter: %w", errShortRecord)
	}
	return int(v), nil
}
