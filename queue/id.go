package queue

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// deliveryIDPrefix starts every delivery id.
const deliveryIDPrefix = "dlv_"

// idAlphabet is Crockford's base32 in lower case: no i, l, o or u, so ids read
// aloud or typed by hand survive.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var idDecode = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(idAlphabet); i++ {
		t[idAlphabet[i]] = byte(i)
	}
	return t
}()

// encodedIDLen is the length of 128 bits in base32.
const encodedIDLen = 26

// newID returns 48 bits of milliseconds followed by 80 random bits, so that ids
// sort by creation time to the millisecond and never collide in practice.
func newID(now time.Time) rawID {
	var id rawID
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(id[:6], ms[2:])
	_, _ = rand.Read(id[6:]) // crypto/rand.Read never fails since Go 1.24.
	return id
}

// formatID renders a raw id as "dlv_" and 26 base32 characters.
func formatID(id rawID) string {
	var out [len(deliveryIDPrefix) + encodedIDLen]byte
	copy(out[:], deliveryIDPrefix)
	// 128 bits into 26 groups of 5 bits: the first group holds the top 3 bits.
	hi := binary.BigEndian.Uint64(id[:8])
	lo := binary.BigEndian.Uint64(id[8:])
	for i := encodedIDLen - 1; i >= 0; i-- {
		out[len(deliveryIDPrefix)+i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// parseID is the inverse of formatID.
func parseID(s string) (rawID, error) {
	var id rawID
	body, ok := strings.CutPrefix(s, deliveryIDPrefix)
	if !ok || len(body) != encodedIDLen {
		return id, fmt.Errorf("delivery id %q: not a %s id: %w", s, deliveryIDPrefix, ErrNotFound)
	}
	var hi, lo uint64
	for i := 0; i < encodedIDLen; i++ {
		v := idDecode[body[i]]
		if v == 0xff || (i == 0 && v > 7) {
			return id, fmt.Errorf("delivery id %q: bad character: %w", s, ErrNotFound)
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id, nil
}
