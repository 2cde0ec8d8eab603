package dispatch

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mailServerOptions configures a test SMTP server.
type mailServerOptions struct {
	// tls, when set, makes the server offer STARTTLS with it.
	tls *tls.Config
	// insecureAuth offers AUTH without TLS.
	insecureAuth bool
	// refuseAuth refuses every login.
	refuseAuth bool
}

// mailServer is a real SMTP server on 127.0.0.1 that records what it gets.
type mailServer struct {
	addr       string
	refuseAuth bool

	mu     sync.Mutex
	mails  []receivedMail
	logins []plainLogin
}

// receivedMail is one message as the server received it.
type receivedMail struct {
	from string
	to   []string
	data []byte
	// tls and user describe the session: TLS in use, and the authenticated
	// user, empty when none.
	tls  bool
	user string
}

// plainLogin is one AUTH PLAIN attempt.
type plainLogin struct {
	username, password string
	tls                bool
}

func startMailServer(t *testing.T, opts mailServerOptions) *mailServer {
	t.Helper()
	ms := &mailServer{refuseAuth: opts.refuseAuth}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		_, secure := c.TLSConnectionState()
		return &mailSession{srv: ms, tls: secure}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = opts.tls
	s.AllowInsecureAuth = opts.insecureAuth
	s.ReadTimeout, s.WriteTimeout = waitFor, waitFor
	s.ErrorLog = log.New(io.Discard, "", 0)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ms.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return ms
}

func (ms *mailServer) received() []receivedMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]receivedMail(nil), ms.mails...)
}

func (ms *mailServer) loginAttempts() []plainLogin {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]plainLogin(nil), ms.logins...)
}

// mailSession is one session of a mailServer; STARTTLS starts a new one.
type mailSession struct {
	srv  *mailServer
	tls  bool
	user string
	mail receivedMail
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		s.srv.mu.Lock()
		s.srv.logins = append(s.srv.logins, plainLogin{username, password, s.tls})
		s.srv.mu.Unlock()
		if s.srv.refuseAuth {
			return gosmtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.mail = receivedMail{from: from, tls: s.tls, user: s.user}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.mail.to = append(s.mail.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mail.data = data
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, s.mail)
	s.srv.mu.Unlock()
	return nil
}

func (s *mailSession) Reset() { s.mail = receivedMail{} }

func (s *mailSession) Logout() error { return nil }

// selfSignedTLS returns a server configuration with a certificate for
// 127.0.0.1 made for the test, and a client configuration that trusts it.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hookgate test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// sampleDisabled is a hook disabled after failures.
func sampleDisabled() Disabled {
	return Disabled{
		HookID:   "slack-hot-leads",
		Account:  "acme",
		Reason:   "50 consecutive failed attempts, the last: unexpected status 503",
		Failures: 50,
		LastErrors: []string{
			"timed out after 10s waiting for the response",
			"unexpected status 502",
			"unexpected status 503",
		},
		At: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

// parsedAlert is a received alert, its headers and its decoded body with LF
// line endings.
type parsedAlert struct {
	header  mail.Header
	subject string
	body    string
}

func parseAlert(t *testing.T, data []byte) parsedAlert {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	require.NoError(t, err)
	body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	return parsedAlert{header: msg.Header, subject: subject, body: string(body)}
}

func TestAlertArrivesWithHeadersAndBody(t *testing.T) {
	srv := startMailServer(t, mailServerOptions{})
	m := &Mailer{
		Address:      srv.addr,
		From:         "hookgate <alerts@example.com>",
		Timeout:      waitFor,
		AdminURL:     "http://localhost:2019/",
		DashboardURL: "https://gw.example.com/dashboard/settings/hooks",
	}
	d := sampleDisabled()

	before := time.Now().Add(-time.Second)
	require.NoError(t, m.SendDisableAlert(context.Background(), "ops@acme.example", d))

	mails := srv.received()
	require.Len(t, mails, 1)
	got := mails[0]
	assert.Equal(t, "alerts@example.com", got.from)
	assert.Equal(t, []string{"ops@acme.example"}, got.to)
	assert.Equal(t, bytes.Count(got.data, []byte("\n")), bytes.Count(got.data, []byte("\r\n")),
		"every line ends in CRLF")

	a := parseAlert(t, got.data)
	from, err := a.header.AddressList("From")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Name: "hookgate", Address: "alerts@example.com"}}, from)
	to, err := a.header.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Address: "ops@acme.example"}}, to)
	assert.Equal(t, "hookgate: hook slack-hot-leads disabled", a.subject)
	date, err := a.header.Date()
	require.NoError(t, err)
	assert.WithinRange(t, date, before, time.Now().Add(time.Second))
	assert.Regexp(t, `^<[A-Z2-7]+@example\.com>$`, a.header.Get("Message-ID"))
	assert.Equal(t, "1.0", a.header.Get("MIME-Version"))
	assert.Equal(t, "text/plain; charset=utf-8", a.header.Get("Content-Type"))

	for _, want := range []string{
		`hook "slack-hot-leads"`,
		`account "acme"`,
		"Reason: " + d.Reason,
		"Consecutive failed attempts: 50",
		"- timed out after 10s waiting for the response\n- unexpected status 502\n" +
			"- unexpected status 503\n",
		"Disabled at: 2026-03-04 05:06:07 UTC",
		"parked deliveries",
		"POST http://localhost:2019/hookgate/hooks/slack-hot-leads/enable",
		`{"parked": "deliver"}`,
		`{"parked": "discard"}`,
		"https://gw.example.com/dashboard/settings/hooks",
	} {
		assert.Contains(t, a.body, want)
	}
	assert.False(t, got.tls)
	assert.Empty(t, srv.loginAttempts())
}

func TestAlertMessageIDsDiffer(t *testing.T) {
	srv := startMailServer(t, mailServerOptions{})
	m := &Mailer{Address: srv.addr, From: "alerts@example.com", Timeout: waitFor}
	for range 2 {
		require.NoError(t, m.SendDisableAlert(context.Background(), "ops@acme.example",
			sampleDisabled()))
	}

	mails := srv.received()
	require.Len(t, mails, 2)
	assert.NotEqual(t, parseAlert(t, mails[0].data).header.Get("Message-ID"),
		parseAlert(t, mails[1].data).header.Get("Message-ID"))
}

func TestAlertBodyExplainsHowToReEnable(t *testing.T) {
	tests := []struct {
		name    string
		mailer  Mailer
		d       Disabled
		want    []string
		notWant []string
	}{
		{
			name: "without urls the path alone",
			d:    Disabled{HookID: "h1", Reason: "the endpoint answered 410 Gone", Failures: 1},
			want: []string{
				"POST /hookgate/hooks/h1/enable (on Caddy's admin endpoint)",
				`{"parked": "deliver"}`, `{"parked": "discard"}`,
				"No errors were recorded",
			},
			notWant: []string{"curl", "dashboard", "account"},
		},
		{
			name:   "admin url gives a curl example",
			mailer: Mailer{AdminURL: "https://admin.example.com:2019"},
			d:      Disabled{HookID: "a:b.c", Account: "acme"},
			want: []string{
				"POST https://admin.example.com:2019/hookgate/hooks/a:b.c/enable\n",
				"curl -X POST 'https://admin.example.com:2019/hookgate/hooks/a:b.c/enable'",
			},
			notWant: []string{"dashboard"},
		},
		{
			name:   "hook id is escaped in the path",
			mailer: Mailer{AdminURL: "http://localhost:2019"},
			d:      Disabled{HookID: "x'/y z"},
			want:   []string{"'http://localhost:2019/hookgate/hooks/x%27%2Fy%20z/enable'"},
		},
		{
			name:   "dashboard url is shown",
			mailer: Mailer{DashboardURL: "https://gw.example.com/dashboard/settings/hooks"},
			d:      Disabled{HookID: "h1"},
			want:   []string{"dashboard: https://gw.example.com/dashboard/settings/hooks\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.mailer.alertBody(tt.d)
			for _, w := range tt.want {
				assert.Contains(t, body, w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, body, w)
			}
		})
	}
}

func TestAlertUsesStartTLSAndAuthPlain(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	tests := []struct {
		name       string
		server     mailServerOptions
		username   string
		password   string
		wantTLS    bool
		wantLogins []plainLogin
	}{
		{
			name:     "starttls offered, credentials sent over tls",
			server:   mailServerOptions{tls: serverTLS},
			username: "smtp-user", password: "s3cret-pass",
			wantTLS:    true,
			wantLogins: []plainLogin{{"smtp-user", "s3cret-pass", true}},
		},
		{
			name:    "starttls offered, no credentials",
			server:  mailServerOptions{tls: serverTLS},
			wantTLS: true,
		},
		{
			name:     "no starttls, credentials in clear to loopback",
			server:   mailServerOptions{insecureAuth: true},
			username: "smtp-user", password: "s3cret-pass",
			wantLogins: []plainLogin{{"smtp-user", "s3cret-pass", false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startMailServer(t, tt.server)
			m := &Mailer{
				Address: srv.addr, From: "alerts@example.com",
				Username: tt.username, Password: tt.password,
				TLSConfig: clientTLS, Timeout: waitFor,
			}

			require.NoError(t, m.SendDisableAlert(context.Background(), "ops@acme.example",
				sampleDisabled()))

			assert.Equal(t, tt.wantLogins, srv.loginAttempts())
			mails := srv.received()
			require.Len(t, mails, 1)
			assert.Equal(t, tt.wantTLS, mails[0].tls)
			assert.Equal(t, tt.username, mails[0].user)
			if tt.password != "" {
				assert.NotContains(t, string(mails[0].data), tt.password)
				assert.NotContains(t, string(mails[0].data), tt.username)
			}
		})
	}
}

func TestAlertStartTLSFailureDoesNotFallBackToClearText(t *testing.T) {
	serverTLS, _ := selfSignedTLS(t)
	srv := startMailServer(t, mailServerOptions{tls: serverTLS, insecureAuth: true})
	m := &Mailer{
		Address: srv.addr, From: "alerts@example.com",
		Username: "alerts", Password: "s3cret-pass", Timeout: waitFor,
	}

	err := m.SendDisableAlert(context.Background(), "ops@acme.example", sampleDisabled())

	require.Error(t, err)
	assert.Contains(t, err.Error(), `sending alert for hook "slack-hot-leads": starting tls: `)
	assert.Empty(t, srv.loginAttempts())
	assert.Empty(t, srv.received())
}

func TestAlertAuthProblemsGiveClearErrors(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	tests := []struct {
		name       string
		server     mailServerOptions
		wantErr    string
		wantLogins int
	}{
		{
			name:       "server refuses the credentials",
			server:     mailServerOptions{tls: serverTLS, refuseAuth: true},
			wantErr:    `sending alert for hook "slack-hot-leads": authenticating: 535 `,
			wantLogins: 1,
		},
		{
			name:    "server offers no auth",
			server:  mailServerOptions{},
			wantErr: "authenticating: the smtp server does not offer AUTH",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startMailServer(t, tt.server)
			m := &Mailer{
				Address: srv.addr, From: "alerts@example.com",
				Username: "alerts", Password: "s3cret-pass",
				TLSConfig: clientTLS, Timeout: waitFor,
			}

			err := m.SendDisableAlert(context.Background(), "ops@acme.example", sampleDisabled())

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "s3cret-pass")
			assert.Len(t, srv.loginAttempts(), tt.wantLogins)
			assert.Empty(t, srv.received())
		})
	}
}

func TestAlertCleartextAuthDecision(t *testing.T) {
	tests := []struct {
		name        string
		host        string
		secure      bool
		credentials bool
		wantErr     error
	}{
		{name: "remote without tls with credentials", host: "mail.example.com",
			credentials: true, wantErr: ErrCleartextAuth},
		{name: "remote ip without tls with credentials", host: "192.0.2.25",
			credentials: true, wantErr: ErrCleartextAuth},
		{name: "other loopback ip is not trusted", host: "127.0.0.2",
			credentials: true, wantErr: ErrCleartextAuth},
		{name: "remote with tls with credentials", host: "mail.example.com",
			secure: true, credentials: true},
		{name: "remote without tls without credentials", host: "mail.example.com"},
		{name: "localhost without tls", host: "localhost", credentials: true},
		{name: "ipv4 loopback without tls", host: "127.0.0.1", credentials: true},
		{name: "ipv6 loopback without tls", host: "::1", credentials: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCleartextAuth(tt.host, tt.secure, tt.credentials)
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestAlertCredentialsAreNotSentInClearToARemoteServer(t *testing.T) {
	srv := startMailServer(t, mailServerOptions{insecureAuth: true})
	m := &Mailer{
		Address: "mail.example.com:587", From: "alerts@example.com",
		Username: "alerts", Password: "s3cret-pass", Timeout: waitFor,
		dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, network, srv.addr)
		},
	}

	err := m.SendDisableAlert(context.Background(), "ops@acme.example", sampleDisabled())

	require.ErrorIs(t, err, ErrCleartextAuth)
	assert.Contains(t, err.Error(), `sending alert for hook "slack-hot-leads": `)
	assert.Empty(t, srv.loginAttempts())
	assert.Empty(t, srv.received())
}

func TestAlertHeaderInjectionIsNeutralized(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(*Disabled)
		wantSubject string
		wantBody    string
	}{
		{
			name:        "hook id with CRLF",
			edit:        func(d *Disabled) { d.HookID = "h1\r\nBcc: evil@example.com" },
			wantSubject: "hookgate: hook h1  Bcc: evil@example.com disabled",
			wantBody:    `hook "h1  Bcc: evil@example.com"`,
		},
		{
			name: "hook id with a bare LF and a body",
			edit: func(d *Disabled) {
				d.HookID = "h1\n\nContent-Type: text/html\n\n<b>x</b>"
			},
			wantSubject: "hookgate: hook h1  Content-Type: text/html  <b>x</b> disabled",
		},
		{
			name:     "reason with CRLF",
			edit:     func(d *Disabled) { d.Reason = "gone\r\nBcc: evil@example.com\r\n" },
			wantBody: "Reason: gone  Bcc: evil@example.com  \n",
		},
		{
			name:     "account with LF",
			edit:     func(d *Disabled) { d.Account = "acme\nBcc: evil@example.com" },
			wantBody: `account "acme Bcc: evil@example.com"`,
		},
		{
			name: "error smuggling an smtp transaction",
			edit: func(d *Disabled) {
				d.LastErrors = []string{"x\r\n.\r\nMAIL FROM:<a@example.com>\r\n" +
					"RCPT TO:<evil@example.com>\r\nDATA\r\nSubject: forged\r\n"}
			},
			wantBody: "- x  .  MAIL FROM:<a@example.com>  RCPT TO:<evil@example.com>  " +
				"DATA  Subject: forged  \n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startMailServer(t, mailServerOptions{})
			m := &Mailer{Address: srv.addr, From: "alerts@example.com", Timeout: waitFor}
			d := sampleDisabled()
			tt.edit(&d)

			require.NoError(t, m.SendDisableAlert(context.Background(), "ops@acme.example", d))

			mails := srv.received()
			require.Len(t, mails, 1)
			assert.Equal(t, []string{"ops@acme.example"}, mails[0].to)
			a := parseAlert(t, mails[0].data)
			var names []string
			for name := range a.header {
				names = append(names, name)
			}
			assert.ElementsMatch(t, []string{"From", "To", "Subject", "Date", "Message-Id",
				"Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted"},
				names)
			assert.Equal(t, "text/plain; charset=utf-8", a.header.Get("Content-Type"))
			assert.NotContains(t, a.subject, "\r")
			assert.NotContains(t, a.subject, "\n")
			if tt.wantSubject != "" {
				assert.Equal(t, tt.wantSubject, a.subject)
			}
			if tt.wantBody != "" {
				assert.Contains(t, a.body, tt.wantBody)
			}
		})
	}
}

func TestAlertSubjectEncodesAndFoldsNonASCII(t *testing.T) {
	m := &Mailer{}
	from := &mail.Address{Address: "alerts@example.com"}
	to := &mail.Address{Address: "ops@acme.example"}
	id := strings.Repeat("🔥", 200) + "\r\nBcc: evil@example.com"

	data := m.alertMessage(from, to, Disabled{HookID: id}, time.Now(), "<x@example.com>")

	head, _, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	require.True(t, ok)
	for line := range strings.SplitSeq(string(head), "\r\n") {
		assert.LessOrEqual(t, len(line), 998)
		assert.Regexp(t, `^([A-Za-z-]+: | =\?utf-8\?q\?)`, line)
	}
	a := parseAlert(t, data)
	assert.Equal(t, "hookgate: hook "+strings.Repeat("🔥", maxSubjectHookID-1)+"… disabled",
		a.subject)
	assert.Empty(t, a.header.Get("Bcc"))
}

func TestAlertUnreachableServerFailsWithinTimeout(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := closed.Addr().String()
	require.NoError(t, closed.Close())
	silent := startSilentServer(t)

	tests := []struct {
		name    string
		addr    string
		timeout time.Duration
		cancel  time.Duration
		wantErr error
	}{
		{name: "nothing listening", addr: closedAddr, timeout: 300 * time.Millisecond},
		{name: "server never greets", addr: silent, timeout: 300 * time.Millisecond,
			wantErr: context.DeadlineExceeded},
		{name: "caller cancels", addr: silent, timeout: time.Minute,
			cancel: 100 * time.Millisecond, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Mailer{Address: tt.addr, From: "alerts@example.com", Timeout: tt.timeout}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}

			start := time.Now()
			err := m.SendDisableAlert(ctx, "ops@acme.example", sampleDisabled())

			require.Error(t, err)
			assert.Less(t, time.Since(start), 5*time.Second)
			assert.Contains(t, err.Error(), `sending alert for hook "slack-hot-leads": `)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

// startSilentServer accepts connections on 127.0.0.1 and never answers.
func startSilentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func TestAlertMailerValidate(t *testing.T) {
	valid := Mailer{Address: "mail.example.com:587", From: "alerts@example.com"}
	tests := []struct {
		name    string
		edit    func(*Mailer)
		wantErr string
	}{
		{name: "valid", edit: func(*Mailer) {}},
		{name: "valid with urls", edit: func(m *Mailer) {
			m.AdminURL = "http://localhost:2019"
			m.DashboardURL = "https://gw.example.com/dashboard/settings/hooks"
		}},
		{name: "address without port", edit: func(m *Mailer) { m.Address = "mail.example.com" },
			wantErr: "smtp address"},
		{name: "address without host", edit: func(m *Mailer) { m.Address = ":587" },
			wantErr: "smtp address"},
		{name: "from not an address", edit: func(m *Mailer) { m.From = "alerts" },
			wantErr: "smtp from"},
		{name: "from with two addresses", edit: func(m *Mailer) {
			m.From = "a@example.com, b@example.com"
		}, wantErr: "smtp from"},
		{name: "relative admin url", edit: func(m *Mailer) { m.AdminURL = "/hookgate" },
			wantErr: "admin url"},
		{name: "dashboard url not http", edit: func(m *Mailer) {
			m.DashboardURL = "ftp://gw.example.com/"
		}, wantErr: "dashboard url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid
			tt.edit(&m)
			err := m.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
}

func TestAlertRefusesABadRecipientBeforeConnecting(t *testing.T) {
	srv := startMailServer(t, mailServerOptions{})
	m := &Mailer{Address: srv.addr, From: "alerts@example.com", Timeout: waitFor}

	err := m.SendDisableAlert(context.Background(),
		"ops@acme.example\r\nRCPT TO:<evil@example.com>", sampleDisabled())

	require.Error(t, err)
	assert.Contains(t, err.Error(), `sending alert for hook "slack-hot-leads": recipient `)
	assert.Empty(t, srv.received())
}
