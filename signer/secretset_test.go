package signer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var rotationStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// reveal lists the secrets of secs, to compare sets in assertions.
func reveal(secs []Secret) []string {
	out := make([]string, len(secs))
	for i, s := range secs {
		out[i] = s.Reveal()
	}
	return out
}

func TestNewSecretSetSignsWithItsOnlySecret(t *testing.T) {
	sec := GenerateSecret()

	set, err := NewSecretSet(sec, rotationStart)
	require.NoError(t, err)

	assert.Equal(t, sec.Reveal(), set.Primary().Reveal())
	assert.Equal(t, rotationStart, set.Primary().CreatedAt())
	assert.True(t, set.Primary().ExpiresAt().IsZero(), "the primary never expires")
	assert.Equal(t, []string{sec.Reveal()}, reveal(set.Valid(rotationStart.Add(1000*time.Hour))))
}

func TestRotateMakesTheNewSecretPrimaryAtOnce(t *testing.T) {
	old, next := testSecret(1, 32), testSecret(2, 32)
	set := rotatedSet(t, rotationStart, 0, old)
	at := rotationStart.Add(time.Hour)

	rotated, err := set.Rotate(mustParse(t, next), 24*time.Hour, at)
	require.NoError(t, err)

	assert.Equal(t, next, rotated.Primary().Reveal())
	assert.Equal(t, []string{next, old}, reveal(rotated.Valid(at)), "newest first")
	sig, err := rotated.Sign("dlv_1", at, []byte("{}"))
	require.NoError(t, err)
	mo, _ := rawMACs(next, "dlv_1", at.Unix(), "{}")
	assert.True(t, strings.HasPrefix(sig.MailOdds, fmt.Sprintf("t=%d,v1=%s,", at.Unix(), mo)),
		"the new secret signs first")
}

func TestRotateKeepsTheOldSecretUntilTheOverlapEnds(t *testing.T) {
	old, next := testSecret(1, 32), testSecret(2, 32)
	set := rotatedSet(t, rotationStart, 24*time.Hour, old, next)
	end := rotationStart.Add(24 * time.Hour)

	tests := []struct {
		name string
		at   time.Time
		want []string
	}{
		{name: "at rotation", at: rotationStart, want: []string{next, old}},
		{name: "just before the end", at: end.Add(-time.Nanosecond), want: []string{next, old}},
		{name: "at the end", at: end, want: []string{next}},
		{name: "long after", at: end.Add(1000 * time.Hour), want: []string{next}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, reveal(set.Valid(tt.at)))
		})
	}
	assert.Equal(t, end, set.Valid(rotationStart)[1].ExpiresAt())
}

func TestRotateWithZeroOverlapRetiresTheOldSecretAtOnce(t *testing.T) {
	set := rotatedSet(t, rotationStart, 0, testSecret(1, 32), testSecret(2, 32))

	assert.Equal(t, 1, set.Len())
	assert.Equal(t, []string{testSecret(2, 32)}, reveal(set.Valid(rotationStart)))
}

func TestRotateKeepsEachOldSecretsOwnOverlap(t *testing.T) {
	a, b, c := testSecret(1, 32), testSecret(2, 32), testSecret(3, 32)
	set := rotatedSet(t, rotationStart, 0, a)
	set, err := set.Rotate(mustParse(t, b), 48*time.Hour, rotationStart)
	require.NoError(t, err)
	set, err = set.Rotate(mustParse(t, c), time.Hour, rotationStart.Add(time.Hour))
	require.NoError(t, err)

	at := rotationStart.Add(3 * time.Hour)
	assert.Equal(t, []string{c, a}, reveal(set.Valid(at)),
		"a keeps the 48h it was given; b's 1h has ended")
}

func TestEleventhOverlappingRotationDropsTheOldestSecret(t *testing.T) {
	var secrets []string
	for i := range 2 + MaxOldSecrets {
		secrets = append(secrets, testSecret(byte(i), 32))
	}
	full := rotatedSet(t, rotationStart, time.Hour, secrets[:1+MaxOldSecrets]...)
	require.Equal(t, 1+MaxOldSecrets, len(full.Valid(rotationStart)))

	rotated, err := full.Rotate(mustParse(t, secrets[1+MaxOldSecrets]), time.Hour, rotationStart)
	require.NoError(t, err, "a rotation is never refused")

	valid := reveal(rotated.Valid(rotationStart))
	assert.Len(t, valid, 1+MaxOldSecrets)
	assert.Equal(t, secrets[1+MaxOldSecrets], valid[0])
	assert.NotContains(t, valid, secrets[0], "the oldest secret is dropped")
	assert.Contains(t, valid, secrets[1])
}

func TestRotateRefusesUnusableInput(t *testing.T) {
	set := rotatedSet(t, rotationStart, time.Hour, testSecret(1, 32), testSecret(2, 32))
	tests := []struct {
		name    string
		next    Secret
		overlap time.Duration
		at      time.Time
		want    string
	}{
		{name: "no secret", next: Secret{}, want: "no new secret given"},
		{
			name: "negative overlap", next: mustParse(t, testSecret(3, 32)),
			overlap: -time.Second, want: "overlap -1s is negative",
		},
		{name: "current primary", next: mustParse(t, testSecret(2, 32)), want: "already in use"},
		{name: "overlapping old secret", next: mustParse(t, testSecret(1, 32)), want: "already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rotated, err := set.Rotate(tt.next, tt.overlap, rotationStart)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, reveal(set.Valid(rotationStart)), reveal(rotated.Valid(rotationStart)),
				"a refused rotation returns the set unchanged")
		})
	}
}

func TestRotateAcceptsASecretWhoseOverlapHasEnded(t *testing.T) {
	set := rotatedSet(t, rotationStart, time.Hour, testSecret(1, 32), testSecret(2, 32))

	_, err := set.Rotate(mustParse(t, testSecret(1, 32)), time.Hour, rotationStart.Add(time.Hour))

	assert.NoError(t, err)
}

func TestRotateLeavesTheOriginalSetUnchanged(t *testing.T) {
	set := rotatedSet(t, rotationStart, time.Hour, testSecret(1, 32))
	before := reveal(set.Valid(rotationStart))

	_, err := set.Rotate(mustParse(t, testSecret(2, 32)), time.Hour, rotationStart)
	require.NoError(t, err)

	assert.Equal(t, before, reveal(set.Valid(rotationStart)))
	assert.True(t, set.Primary().ExpiresAt().IsZero())
}

func TestPruneDropsExpiredSecrets(t *testing.T) {
	set := rotatedSet(t, rotationStart, time.Hour, testSecret(1, 32), testSecret(2, 32))
	require.Equal(t, 2, set.Len())

	assert.Equal(t, 2, set.Prune(rotationStart).Len())
	assert.Equal(t, 1, set.Prune(rotationStart.Add(time.Hour)).Len())
	assert.Equal(t, 2, set.Len(), "Prune returns a new set")
}

func TestGeneratedAndUserSuppliedSecretsRotateAlike(t *testing.T) {
	user := mustParse(t, vectorSecret)
	set, err := NewSecretSet(GenerateSecret(), rotationStart)
	require.NoError(t, err)

	set, err = set.Rotate(user, time.Hour, rotationStart)
	require.NoError(t, err)
	set, err = set.Rotate(GenerateSecret(), time.Hour, rotationStart)
	require.NoError(t, err)

	valid := set.Valid(rotationStart)
	require.Len(t, valid, 3)
	assert.Equal(t, vectorSecret, valid[1].Reveal())
}

func TestSecretSetJSONRoundTripKeepsSecretsAndOverlaps(t *testing.T) {
	old, next := testSecret(1, 32), testSecret(2, 24)
	set := rotatedSet(t, rotationStart, time.Hour, old, next)

	data, err := json.Marshal(struct {
		Secrets SecretSet `json:"secrets"`
	}{set})
	require.NoError(t, err)
	assert.JSONEq(t, `{"secrets": [
		{"secret": "`+next+`", "created_at": "2025-03-01T12:00:00Z"},
		{"secret": "`+old+`", "created_at": "2025-03-01T12:00:00Z",
		 "expires_at": "2025-03-01T13:00:00Z"}]}`, string(data))

	var decoded struct {
		Secrets SecretSet `json:"secrets"`
	}
	require.NoError(t, json.Unmarshal(data, &decoded))
	for _, at := range []time.Time{rotationStart, rotationStart.Add(time.Hour)} {
		want, err := set.Sign("dlv_1", at, []byte("{}"))
		require.NoError(t, err)
		got, err := decoded.Secrets.Sign("dlv_1", at, []byte("{}"))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestSecretSetJSONNullIsTheEmptySet(t *testing.T) {
	var set SecretSet
	require.NoError(t, json.Unmarshal([]byte(`null`), &set))

	assert.Equal(t, 0, set.Len())
	out, err := json.Marshal(set)
	require.NoError(t, err)
	assert.Equal(t, `[]`, string(out))
}

func TestSecretSetUnmarshalRejectsBadRecords(t *testing.T) {
	a, b := testSecret(1, 32), testSecret(2, 32)
	entry := func(secret, expires string) string {
		e := `{"secret":"` + secret + `","created_at":"2025-03-01T12:00:00Z"`
		if expires != "" {
			e += `,"expires_at":"` + expires + `"`
		}
		return e + `}`
	}
	var tooMany []string
	for i := range 2 + MaxOldSecrets {
		tooMany = append(tooMany, entry(testSecret(byte(i), 32), "2025-03-02T12:00:00Z"))
	}
	tests := []struct {
		name string
		json string
		want string
	}{
		{name: "not an array", json: `{"secret":"x"}`, want: "decoding secret set"},
		{
			name: "malformed secret", json: `[` + entry("whsec_Zm9vYmFy", "") + `]`,
			want: "[0]: invalid secret: key is 6 bytes",
		},
		{
			name: "missing created_at", json: `[{"secret":"` + a + `"}]`,
			want: "[0]: created_at is missing",
		},
		{
			name: "expiring primary", json: `[` + entry(a, "2025-03-02T12:00:00Z") + `]`,
			want: "[0]: the primary secret has expires_at",
		},
		{
			name: "old secret without expiry", json: `[` + entry(a, "") + `,` + entry(b, "") + `]`,
			want: "[1]: expires_at is missing",
		},
		{
			name: "duplicate", json: `[` + entry(a, "") + `,` + entry(a, "2025-03-02T12:00:00Z") + `]`,
			want: "[1]: same secret as [0]",
		},
		{
			name: "too many", json: `[` + strings.Join(tooMany, ",") + `]`,
			want: "12 secrets; at most 11",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var set SecretSet
			err := json.Unmarshal([]byte(tt.json), &set)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "Zm9vYmFy")
			assert.NotContains(t, err.Error(), strings.TrimPrefix(a, SecretPrefix)[:12])
		})
	}
}
