package signer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSign measures SecretSet.Sign beside the HMACs it must compute at
// least: one HMAC-SHA256 per secret per header style over the same bytes.
//
//   - signer: SecretSet.Sign, headers included.
//   - hmac: plain crypto/hmac as a straightforward signer would call it,
//     hmac.New, Write, Sum(nil) per secret and style; hex and base64 left out.
//   - hmac-prekeyed: the floor, with hashers keyed once and Reset between
//     messages, output encoding left out.
//   - hmac-prekeyed-encoded: that floor plus what any signer must add to
//     send the HMACs: hex and base64 into the header values, as one string.
func BenchmarkSign(b *testing.B) {
	at := time.Unix(1733230000, 0)
	const id = "dlv_2Mk7q"
	ts := strconv.FormatInt(at.Unix(), 10)
	mailOddsPrefix := []byte(ts + ".")
	standardPrefix := []byte(id + "." + ts + ".")
	secrets := []string{testSecret(0x5a, 32), testSecret(0xa5, 32)}

	for _, size := range []int{1 << 10, 64 << 10} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(' ' + rand.IntN(95))
		}
		for _, n := range []int{1, 2} {
			name := fmt.Sprintf("body=%dKiB/secrets=%d", size>>10, n)
			set := rotatedSet(b, at.Add(-time.Minute), time.Hour, secrets[:n]...)
			if sig, err := set.Sign(id, at, body); err != nil ||
				strings.Count(sig.MailOdds, ",v1=") != n {
				b.Fatalf("want %d signatures: %+v, %v", n, sig, err)
			}
			keys := make([][2][]byte, n)
			for i, s := range secrets[:n] {
				_, decoded := mustParse(b, s).key.material()
				keys[i] = [2][]byte{[]byte(s), decoded}
			}

			b.Run(name+"/impl=signer", func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := set.Sign(id, at, body); err != nil {
						b.Fatal(err)
					}
				}
			})

			b.Run(name+"/impl=hmac", func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for _, k := range keys {
						h := hmac.New(sha256.New, k[0])
						h.Write(mailOddsPrefix)
						h.Write(body)
						h.Sum(nil)
						h = hmac.New(sha256.New, k[1])
						h.Write(standardPrefix)
						h.Write(body)
						h.Sum(nil)
					}
				}
			})

			b.Run(name+"/impl=hmac-prekeyed", func(b *testing.B) {
				hashers := make([][2]hash.Hash, n)
				for i, k := range keys {
					hashers[i] = [2]hash.Hash{
						hmac.New(sha256.New, k[0]), hmac.New(sha256.New, k[1]),
					}
				}
				var sum [sha256.Size]byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for _, hs := range hashers {
						hs[0].Reset()
						hs[0].Write(mailOddsPrefix)
						hs[0].Write(body)
						hs[0].Sum(sum[:0])
						hs[1].Reset()
						hs[1].Write(standardPrefix)
						hs[1].Write(body)
						hs[1].Sum(sum[:0])
					}
				}
			})

			b.Run(name+"/impl=hmac-prekeyed-encoded", func(b *testing.B) {
				hashers := make([][2]hash.Hash, n)
				for i, k := range keys {
					hashers[i] = [2]hash.Hash{
						hmac.New(sha256.New, k[0]), hmac.New(sha256.New, k[1]),
					}
				}
				var sum [sha256.Size]byte
				const width = 2*sha256.Size + standardSignatureLen - len("v1,")
				var headers [(1 + MaxOldSecrets) * width]byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for i, hs := range hashers {
						out := headers[i*width : (i+1)*width]
						hs[0].Reset()
						hs[0].Write(mailOddsPrefix)
						hs[0].Write(body)
						hex.Encode(out, hs[0].Sum(sum[:0]))
						hs[1].Reset()
						hs[1].Write(standardPrefix)
						hs[1].Write(body)
						base64.StdEncoding.Encode(out[2*sha256.Size:], hs[1].Sum(sum[:0]))
					}
					headerSink = string(headers[:n*width])
				}
			})
		}
	}
}

// headerSink keeps the compiler from dropping the header strings the
// benchmarks build.
var headerSink string

// BenchmarkVerify measures Verify of one delivery with one secret, per scheme.
func BenchmarkVerify(b *testing.B) {
	at := time.Unix(1733230000, 0)
	body := make([]byte, 1<<10)
	set := rotatedSet(b, at, 0, vectorSecret)
	h := signedHeader(b, set, "dlv_1", at, body)
	secrets := []string{vectorSecret}

	for _, scheme := range []Scheme{SchemeMailOdds, SchemeStandardWebhooks} {
		b.Run(scheme.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, err := Verify(h, body, secrets, clockAt(at), WithScheme(scheme))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
