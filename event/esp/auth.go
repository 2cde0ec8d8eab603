package esp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// AuthConfig is the verification of the ESPs that sign nothing (Postmark,
// SparkPost, Brevo): credentials they send in the Authorization header.
type AuthConfig struct {
	// BasicAuth is the user and password the ESP must send.
	BasicAuth *BasicAuth

	// Bearer is the token the ESP must send as "Authorization: Bearer
	// <token>". With BasicAuth also set, either credential is accepted.
	Bearer string
}

// credentials checks an Authorization header in constant time. The zero
// credentials accept every request.
type credentials struct {
	basic  *[sha256.Size]byte // digest of "user:password"
	bearer *[sha256.Size]byte // digest of the token
}

// newCredentials validates cfg.
func newCredentials(cfg AuthConfig) (credentials, error) {
	var c credentials
	if b := cfg.BasicAuth; b != nil {
		switch {
		case b.User == "":
			return c, errors.New("basic_auth: user is empty")
		case strings.Contains(b.User, ":"):
			return c, errors.New("basic_auth: user contains ':', which basic auth cannot carry")
		case b.Password == "":
			return c, errors.New("basic_auth: password is empty")
		}
		sum := sha256.Sum256([]byte(b.User + ":" + b.Password))
		c.basic = &sum
	}
	if cfg.Bearer != "" {
		if strings.ContainsAny(cfg.Bearer, " \t\r\n") {
			return c, errors.New("bearer: token contains whitespace")
		}
		sum := sha256.Sum256([]byte(cfg.Bearer))
		c.bearer = &sum
	}
	return c, nil
}

// configured reports whether any credential is required.
func (c credentials) configured() bool { return c.basic != nil || c.bearer != nil }

// check verifies the Authorization header of h. Comparing digests keeps the
// time independent of where, and whether, the lengths differ.
func (c credentials) check(source string, h http.Header) error {
	if !c.configured() {
		return nil
	}
	value := headerValue(h, "Authorization")
	if value == "" {
		return unauthenticated(source, "no Authorization header")
	}
	scheme, param, _ := strings.Cut(value, " ")
	param = strings.TrimSpace(param)

	var want *[sha256.Size]byte
	var got []byte
	switch {
	case strings.EqualFold(scheme, "Basic") && c.basic != nil:
		decoded, err := base64.StdEncoding.DecodeString(param)
		if err != nil {
			return unauthenticated(source, "Authorization: basic credentials are not base64")
		}
		want, got = c.basic, decoded
	case strings.EqualFold(scheme, "Bearer") && c.bearer != nil:
		want, got = c.bearer, []byte(param)
	default:
		return unauthenticated(source, "Authorization: want %s credentials", c.schemes())
	}

	sum := sha256.Sum256(got)
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		return unauthenticated(source, "Authorization: wrong credentials")
	}
	return nil
}

// schemes names the accepted Authorization schemes for errors.
func (c credentials) schemes() string {
	switch {
	case c.basic != nil && c.bearer != nil:
		return "Basic or Bearer"
	case c.basic != nil:
		return "Basic"
	}
	return "Bearer"
}

// credentialAdapter is the part shared by the adapters that check
// credentials only.
type credentialAdapter struct {
	source string
	creds  credentials
}

// newCredentialAdapter validates cfg for source.
func newCredentialAdapter(source string, cfg AuthConfig) (credentialAdapter, error) {
	creds, err := newCredentials(cfg)
	return credentialAdapter{source: source, creds: creds}, err
}

// Source names the ESP.
func (a credentialAdapter) Source() string { return a.source }

// Verifies reports whether credentials are required.
func (a credentialAdapter) Verifies() bool { return a.creds.configured() }
