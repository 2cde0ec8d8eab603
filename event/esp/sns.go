package esp

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The SNS message types.
const (
	snsNotification = "Notification"
	snsSubscribe    = "SubscriptionConfirmation"
	snsUnsubscribe  = "UnsubscribeConfirmation"
)

// snsMessage is the SNS envelope of an HTTP(S) delivery.
type snsMessage struct {
	Type             string
	MessageID        string `json:"MessageId"`
	TopicArn         string
	Subject          *string
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL"`
	Token            string
}

// stringToSign builds the text SNS signs: "Name\nvalue\n" for each signed
// field, in the fixed order of the message type.
func (m *snsMessage) stringToSign() string {
	var b strings.Builder
	add := func(name, value string) {
		b.WriteString(name)
		b.WriteByte('\n')
		b.WriteString(value)
		b.WriteByte('\n')
	}
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == snsNotification {
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
		return b.String()
	}
	add("SubscribeURL", m.SubscribeURL)
	add("Timestamp", m.Timestamp)
	add("Token", m.Token)
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.String()
}

// digest hashes the string to sign as the message's SignatureVersion says:
// SHA-1 for "1", SHA-256 for "2".
func (m *snsMessage) digest() (crypto.Hash, []byte, error) {
	s := []byte(m.stringToSign())
	switch m.SignatureVersion {
	case "1":
		sum := sha1.Sum(s)
		return crypto.SHA1, sum[:], nil
	case "2":
		sum := sha256.Sum256(s)
		return crypto.SHA256, sum[:], nil
	}
	return 0, nil, fmt.Errorf("unknown SignatureVersion %q", m.SignatureVersion)
}

// snsHost matches the hosts SNS serves certificates and confirmations from.
var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// snsCertPath matches the paths of SNS signing certificates.
var snsCertPath = regexp.MustCompile(`^/SimpleNotificationService-[A-Za-z0-9]+\.pem$`)

// checkSNSURL accepts only an https URL on an SNS host, without user info or
// an unusual port, and, for a certificate, on a certificate path.
func checkSNSURL(raw string, cert bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	switch {
	case u.Scheme != "https":
		return nil, errors.New("not an https URL")
	case u.User != nil:
		return nil, errors.New("URL has user info")
	case !snsHost.MatchString(u.Hostname()):
		return nil, fmt.Errorf("host %q is not sns.<region>.amazonaws.com", u.Hostname())
	case u.Port() != "" && u.Port() != "443":
		return nil, fmt.Errorf("port %s is not 443", u.Port())
	case cert && !snsCertPath.MatchString(u.Path):
		return nil, fmt.Errorf("path %q is not /SimpleNotificationService-*.pem", u.Path)
	}
	return u, nil
}

// maxCertBytes bounds a fetched certificate.
const maxCertBytes = 64 << 10

// maxCachedCerts bounds the certificate cache.
const maxCachedCerts = 64

// certStore fetches SNS signing certificates through an HTTP client that
// follows no redirects, and caches their keys by URL.
type certStore struct {
	client *http.Client
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

// newCertStore returns a store fetching through client (http.DefaultClient
// when nil).
func newCertStore(client *http.Client, now func() time.Time) *certStore {
	if client == nil {
		client = http.DefaultClient
	}
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &certStore{client: &noRedirects, now: now, keys: make(map[string]*rsa.PublicKey)}
}

// key returns the public key of the certificate at raw, fetching it once. A
// URL off SNS's hosts or a certificate that does not serve is unauthentic; a
// network failure or an SNS error is ErrUnavailable.
func (s *certStore) key(ctx context.Context, raw string) (*rsa.PublicKey, error) {
	u, err := checkSNSURL(raw, true)
	if err != nil {
		return nil, unauthenticated(SourceSES, "SigningCertURL: %v", err)
	}
	s.mu.Lock()
	key, ok := s.keys[u.String()]
	s.mu.Unlock()
	if ok {
		return key, nil
	}

	key, err = s.fetch(ctx, u)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) >= maxCachedCerts {
		for k := range s.keys { // forget any one
			delete(s.keys, k)
			break
		}
	}
	s.keys[u.String()] = key
	return key, nil
}

// fetch downloads and checks one certificate.
func (s *certStore) fetch(ctx context.Context, u *url.URL) (*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ses: %w: fetching signing certificate: %v", ErrUnavailable, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ses: %w: fetching signing certificate: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("ses: %w: fetching signing certificate: status %d",
			ErrUnavailable, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unauthenticated(SourceSES, "SigningCertURL answered status %d",
			resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes))
	if err != nil {
		return nil, fmt.Errorf("ses: %w: reading signing certificate: %v", ErrUnavailable, err)
	}

	cert, err := parseCert(data)
	if err != nil {
		return nil, unauthenticated(SourceSES, "SigningCertURL: %v", err)
	}
	if now := s.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, unauthenticated(SourceSES, "signing certificate is not valid now")
	}
	return cert.PublicKey.(*rsa.PublicKey), nil
}

// parseCert reads the first certificate of PEM data; its key must be RSA.
func parseCert(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM certificate")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("certificate key is %s, want RSA", cert.PublicKeyAlgorithm)
		}
		return cert, nil
	}
}

// decodeSNS reads the envelope of an SNS delivery and checks it against the
// x-amz-sns-* headers, which SNS sets to the same values.
func decodeSNS(h http.Header, body []byte) (*snsMessage, error) {
	if strings.EqualFold(headerValue(h, "X-Amz-Sns-Rawdelivery"), "true") {
		return nil, unauthenticated(SourceSES,
			"raw message delivery carries no signature; turn RawMessageDelivery off")
	}
	var m snsMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, unauthenticated(SourceSES, "body is not an SNS message: %v", err)
	}
	switch m.Type {
	case snsNotification, snsSubscribe, snsUnsubscribe:
	default:
		return nil, unauthenticated(SourceSES, "unknown SNS message type %q", m.Type)
	}
	for _, c := range []struct{ header, value string }{
		{"X-Amz-Sns-Message-Type", m.Type},
		{"X-Amz-Sns-Message-Id", m.MessageID},
		{"X-Amz-Sns-Topic-Arn", m.TopicArn},
	} {
		if v := headerValue(h, c.header); v != "" && v != c.value {
			return nil, unauthenticated(SourceSES, "%s does not match the body", c.header)
		}
	}
	return &m, nil
}
