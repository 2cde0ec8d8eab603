// Package signer signs hookgate's outbound deliveries and verifies them.
//
// Every delivery carries two signatures over the exact body bytes, one per
// public convention, so receivers can check them with code they already have:
//
//   - X-MailOdds-Signature follows Stripe: "t=<unix>,v1=<hex>", where the hex
//     is HMAC-SHA256 over "<t>.<body>" keyed with the whole secret string,
//     "whsec_" prefix included.
//   - webhook-id, webhook-timestamp and webhook-signature follow Standard
//     Webhooks: "v1,<base64>", HMAC-SHA256 over "<id>.<t>.<body>" keyed with
//     the base64-decoded part of the secret after "whsec_".
//
// A hook signs with a [SecretSet]: one primary secret plus, during a rotation
// overlap, up to [MaxOldSecrets] older ones. Each header then carries one
// signature per valid secret, newest first, and a receiver holding any of
// them verifies. [Verify] is the receiving side for Go programs.
//
// Secrets never show in formatted output or logs: [Secret] and [SecretSet]
// redact themselves for fmt, log/slog and zap. The only ways to read a secret
// are [Secret.Reveal] and the JSON encoding of a [SecretSet], which exists to
// store the set and must not be sent to clients or logged.
package signer
