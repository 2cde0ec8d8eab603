package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignReproducesDesignVector(t *testing.T) {
	set := rotatedSet(t, vectorTime.Add(-time.Hour), 0, vectorSecret)

	sig, err := set.Sign(vectorID, vectorTime, []byte(vectorBody))
	require.NoError(t, err)

	assert.Equal(t, vectorMailOdds, sig.MailOdds)
	assert.Equal(t, vectorStandard, sig.Standard)
	assert.Equal(t, vectorID, sig.ID)
	assert.Equal(t, vectorTimestamp, sig.Timestamp)
}

func TestSetHeadersWritesTheFourSignatureHeaders(t *testing.T) {
	set := rotatedSet(t, vectorTime, 0, vectorSecret)
	h := http.Header{"Webhook-Id": {"stale"}, "Content-Type": {"application/json"}}

	sig, err := set.Sign(vectorID, vectorTime, []byte(vectorBody))
	require.NoError(t, err)
	sig.SetHeaders(h)

	assert.Equal(t, vectorMailOdds, h.Get("X-MailOdds-Signature"))
	assert.Equal(t, []string{vectorID}, h.Values("webhook-id"), "replaces earlier values")
	assert.Equal(t, vectorTimestamp, h.Get("webhook-timestamp"))
	assert.Equal(t, vectorStandard, h.Get("webhook-signature"))
	assert.Equal(t, "application/json", h.Get("Content-Type"), "leaves other headers")

	h.Add("webhook-id", "appended")
	assert.Equal(t, vectorTimestamp, h.Get("webhook-timestamp"),
		"appending to one header must not overwrite the next")
}

// rawMACs computes both signatures of one message with plain crypto/hmac.
func rawMACs(secret, id string, unix int64, body string) (mailOdds, standard string) {
	mo := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mo, "%d.%s", unix, body)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		panic(err)
	}
	sw := hmac.New(sha256.New, key)
	fmt.Fprintf(sw, "%s.%d.%s", id, unix, body)
	return hex.EncodeToString(mo.Sum(nil)), base64.StdEncoding.EncodeToString(sw.Sum(nil))
}

func TestSignCarriesOneSignaturePerValidSecretNewestFirst(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	oldest, old, primary := testSecret(1, 32), testSecret(2, 24), testSecret(3, 64)
	var set SecretSet
	for i, s := range []string{oldest, old, primary} {
		var err error
		set, err = set.Rotate(mustParse(t, s), 24*time.Hour, start.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
	}
	at := start.Add(3 * time.Hour)

	sig, err := set.Sign("dlv_1", at, []byte(`{"a":1}`))
	require.NoError(t, err)

	var wantMailOdds, wantStandard []string
	for _, s := range []string{primary, old, oldest} {
		mo, sw := rawMACs(s, "dlv_1", at.Unix(), `{"a":1}`)
		wantMailOdds = append(wantMailOdds, "v1="+mo)
		wantStandard = append(wantStandard, "v1,"+sw)
	}
	assert.Equal(t, fmt.Sprintf("t=%d,%s", at.Unix(), strings.Join(wantMailOdds, ",")),
		sig.MailOdds)
	assert.Equal(t, strings.Join(wantStandard, " "), sig.Standard)
}

func TestSignSkipsSecretsExpiredAtTheAttemptTime(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	set := rotatedSet(t, start, time.Hour, testSecret(1, 32), testSecret(2, 32))

	during, err := set.Sign("dlv_1", start.Add(time.Hour-time.Second), []byte("{}"))
	require.NoError(t, err)
	after, err := set.Sign("dlv_1", start.Add(time.Hour), []byte("{}"))
	require.NoError(t, err)

	assert.Equal(t, 2, strings.Count(during.MailOdds, "v1="))
	assert.Equal(t, 2, len(strings.Fields(during.Standard)))
	assert.Equal(t, 1, strings.Count(after.MailOdds, "v1="))
	assert.Equal(t, 1, len(strings.Fields(after.Standard)))
}

func TestSignWithEveryOldSecretOverlapping(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var secrets []string
	for i := range 1 + MaxOldSecrets {
		secrets = append(secrets, testSecret(byte(i), 32))
	}
	set := rotatedSet(t, start, time.Hour, secrets...)

	sig, err := set.Sign("dlv_1", start, []byte("{}"))
	require.NoError(t, err)

	assert.Equal(t, 1+MaxOldSecrets, strings.Count(sig.MailOdds, ",v1="))
	assert.Len(t, strings.Split(sig.Standard, " "), 1+MaxOldSecrets)
	_, err = Verify(signedHeader(t, set, "dlv_1", start, []byte("{}")), []byte("{}"),
		secrets[:1], clockAt(start))
	assert.NoError(t, err, "the oldest secret still verifies")
}

func TestSignRejectsUnusableInput(t *testing.T) {
	set := rotatedSet(t, vectorTime, 0, vectorSecret)
	tests := []struct {
		name string
		set  SecretSet
		id   string
		want string
	}{
		{name: "empty id", set: set, id: "", want: "delivery id is empty"},
		{name: "id with a space", set: set, id: "dlv 1", want: "byte 0x20 at 3"},
		{name: "id with a newline", set: set, id: "dlv\n1", want: "byte 0x0a at 3"},
		{name: "id with non-ASCII", set: set, id: "dlv_é", want: "byte 0xc3 at 4"},
		{name: "empty set", set: SecretSet{}, id: "dlv_1", want: "no valid secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.set.Sign(tt.id, vectorTime, []byte(vectorBody))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestSignCoversTheExactBodyBytes(t *testing.T) {
	set := rotatedSet(t, vectorTime, 0, vectorSecret)
	body := []byte(vectorBody)
	sig, err := set.Sign(vectorID, vectorTime, body)
	require.NoError(t, err)

	reencoded, err := set.Sign(vectorID, vectorTime, []byte(vectorBody+"\n"))
	require.NoError(t, err)

	assert.NotEqual(t, sig.MailOdds, reencoded.MailOdds)
	assert.NotEqual(t, sig.Standard, reencoded.Standard)
}

func TestSignIsSafeForConcurrentUse(t *testing.T) {
	set := rotatedSet(t, vectorTime, time.Hour, testSecret(9, 32), vectorSecret)
	want, err := set.Sign(vectorID, vectorTime, []byte(vectorBody))
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got, err := set.Sign(vectorID, vectorTime, []byte(vectorBody))
				if err != nil || got != want {
					errs <- fmt.Errorf("got %+v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSignAllocatesOnlyTheHeaderString(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	set := rotatedSet(t, vectorTime, time.Hour, testSecret(9, 32), vectorSecret)
	body := []byte(strings.Repeat("x", 4096))

	allocs := testing.AllocsPerRun(100, func() {
		if _, err := set.Sign(vectorID, vectorTime, body); err != nil {
			t.Fatal(err)
		}
	})

	assert.LessOrEqual(t, allocs, 1.0)
}
