package signer

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The test vector of DESIGN §5.1.
const (
	vectorSecret   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID       = "dlv_2Mk7q"
	vectorBody     = `{"id":"evt_1","type":"intent.hot_lead","heat_score":8}`
	vectorMailOdds = "t=1733230000,v1=" +
		"201eba3ecb00f5cec4dbc796b9f87b1905bd259dd4c9fdc2bb80bab78b8a1f2c"
	vectorStandard  = "v1,hHPfnUcWR2oF3JohA2kTOfrnOCDFpATEMtcpLKCflVg="
	vectorTimestamp = "1733230000"
)

var vectorTime = time.Unix(1733230000, 0)

// testSecret returns a deterministic secret of n key bytes, all equal to b.
func testSecret(b byte, n int) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, n))
}

func mustParse(t testing.TB, s string) Secret {
	t.Helper()
	sec, err := ParseSecret(s)
	require.NoError(t, err)
	return sec
}

// rotatedSet returns a set whose primary is the last of secrets, each
// rotated in at now with the given overlap.
func rotatedSet(t testing.TB, now time.Time, overlap time.Duration, secrets ...string) SecretSet {
	t.Helper()
	var set SecretSet
	for _, s := range secrets {
		var err error
		set, err = set.Rotate(mustParse(t, s), overlap, now)
		require.NoError(t, err)
	}
	return set
}

// signedHeader signs body with set at `at` and returns the request headers.
func signedHeader(t testing.TB, set SecretSet, id string, at time.Time, body []byte) http.Header {
	t.Helper()
	sig, err := set.Sign(id, at, body)
	require.NoError(t, err)
	h := http.Header{}
	sig.SetHeaders(h)
	return h
}

func clockAt(now time.Time) VerifyOption {
	return WithClock(func() time.Time { return now })
}
