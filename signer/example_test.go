package signer_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookgate/hookgate/signer"
)

// A hook signs each delivery attempt with its secret set; a receiver in Go
// checks the request with Verify.
func Example() {
	secret, err := signer.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	created := time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)
	secrets, err := signer.NewSecretSet(secret, created)
	if err != nil {
		panic(err)
	}

	attempt := time.Unix(1733230000, 0)
	body := []byte(`{"id":"evt_1","type":"intent.hot_lead","heat_score":8}`)
	sig, err := secrets.Sign("dlv_2Mk7q", attempt, body)
	if err != nil {
		panic(err)
	}
	header := http.Header{}
	sig.SetHeaders(header)
	fmt.Println(header.Get("X-MailOdds-Signature"))
	fmt.Println(header.Get("webhook-signature"))

	// The receiver's side; WithClock stands for a receiver running at the
	// attempt time.
	res, err := signer.Verify(header, body, []string{secret.Reveal()},
		signer.WithClock(func() time.Time { return attempt.Add(time.Second) }))
	fmt.Println(res.Scheme, err)
	// Output:
	// t=1733230000,v1=201eba3ecb00f5cec4dbc796b9f87b1905bd259dd4c9fdc2bb80bab78b8a1f2c
	// v1,hHPfnUcWR2oF3JohA2kTOfrnOCDFpATEMtcpLKCflVg=
	// X-MailOdds-Signature <nil>
}

// Rotating makes the new secret primary at once; the old one keeps signing
// until the overlap ends, so receivers can switch at any time in between.
func ExampleSecretSet_Rotate() {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	old, _ := signer.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	secrets, _ := signer.NewSecretSet(old, now.Add(-30*24*time.Hour))

	secrets, err := secrets.Rotate(signer.GenerateSecret(), 24*time.Hour, now)
	if err != nil {
		panic(err)
	}

	fmt.Println(len(secrets.Valid(now)), "secrets sign now")
	fmt.Println(len(secrets.Valid(now.Add(24*time.Hour))), "after the overlap")
	fmt.Println(secrets.Valid(now)[1])
	// Output:
	// 2 secrets sign now
	// 1 after the overlap
	// secret:96ad2ccd81462a76
}
