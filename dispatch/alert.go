package dispatch

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultMailTimeout bounds a whole SMTP exchange when Mailer.Timeout is zero.
const DefaultMailTimeout = 30 * time.Second

// ErrCleartextAuth is returned when credentials are configured but the SMTP
// server, which is not on loopback, does not offer STARTTLS: the password is
// not sent in clear and no mail is sent.
var ErrCleartextAuth = errors.New("the smtp server does not offer STARTTLS and " +
	"credentials are only sent in clear to a loopback server")

// Limits on the text an alert takes from hooks and remote servers.
const (
	maxSubjectHookID = 128
	maxAlertText     = 1000
)

// Mailer sends the email that tells an account its hook was disabled. Its
// fields are read on every send and must not change while sends run; sends
// may run concurrently.
//
// The exchange uses STARTTLS whenever the server offers it, and then fails
// rather than fall back to clear text if the handshake fails. With Username or
// Password set it authenticates with AUTH PLAIN, and refuses to do so without
// TLS unless the server is on loopback (ErrCleartextAuth). Without
// credentials, a server that offers no STARTTLS gets the alert in clear.
//
// Note, implicit TLS (SMTPS, usually port 465) is not supported: use the
// submission port with STARTTLS.
type Mailer struct {
	// Address is host:port of the SMTP server, e.g. mail.example.com:587.
	Address string

	// From is the sender address of alerts, e.g. alerts@example.com or
	// "hookgate <alerts@example.com>".
	From string

	// Username and Password authenticate with AUTH PLAIN when either is set.
	// They never appear in messages or errors.
	Username string
	Password string

	// TLSConfig configures STARTTLS. Nil means the system roots and TLS 1.2 or
	// later; an empty ServerName is the host of Address.
	TLSConfig *tls.Config

	// Timeout bounds a whole exchange, from connecting to the end of the
	// message. Default 30s.
	Timeout time.Duration

	// AdminURL is the base URL of Caddy's admin endpoint as the alert's
	// readers reach it, e.g. http://localhost:2019. When set, the alert shows
	// the full re-enable call; when empty, only its path.
	AdminURL string

	// DashboardURL, when set, is shown in the alert as the place to review
	// and re-enable the hook, e.g. https://gw.example.com/dashboard/settings/hooks.
	DashboardURL string

	// dial connects to Address; nil means a net.Dialer. Tests set it to reach
	// a local server under another name.
	dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Validate reports whether the Mailer can send: Address is host:port, From
// is one email address, and the URLs, when set, are absolute http(s) URLs.
func (m *Mailer) Validate() error {
	if _, _, err := splitHostPort(m.Address); err != nil {
		return fmt.Errorf("smtp address: %w", err)
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return fmt.Errorf("smtp from %q: %w", m.From, err)
	}
	for _, u := range []struct{ name, value string }{
		{"admin url", m.AdminURL}, {"dashboard url", m.DashboardURL},
	} {
		if u.value == "" {
			continue
		}
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("%s %q: want an absolute http or https url", u.name, u.value)
		}
	}
	return nil
}

// SendDisableAlert emails the alert about the disabled hook d to the address
// to, within ctx and Timeout. It blocks for the whole exchange: call it from
// a goroutine of its own, not from Config.OnDisable directly.
func (m *Mailer) SendDisableAlert(ctx context.Context, to string, d Disabled) error {
	if err := m.sendDisableAlert(ctx, to, d); err != nil {
		return fmt.Errorf("sending alert for hook %q: %w", d.HookID, err)
	}
	return nil
}

// sendDisableAlert is SendDisableAlert without the context of its errors.
func (m *Mailer) sendDisableAlert(ctx context.Context, to string, d Disabled) error {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("smtp from %q: %w", m.From, err)
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("recipient %q: %w", to, err)
	}
	host, _, err := splitHostPort(m.Address)
	if err != nil {
		return fmt.Errorf("smtp address: %w", err)
	}

	msg := m.alertMessage(from, rcpt, d, time.Now(), newMessageID(from.Address))

	timeout := cmp.Or(m.Timeout, DefaultMailTimeout)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, exchangeTimeout(timeout))
	defer cancel()
	if err := m.send(ctx, host, from.Address, rcpt.Address, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		return err
	}
	return nil
}

// exchangeTimeout is the cause of an exchange that ran out of Mailer.Timeout.
// It is a context.DeadlineExceeded.
type exchangeTimeout time.Duration

func (e exchangeTimeout) Error() string {
	return fmt.Sprintf("the smtp exchange took longer than %v", time.Duration(e))
}

func (exchangeTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// send connects and runs the SMTP exchange, bounded by ctx: when ctx is done,
// whatever is in progress is interrupted.
func (m *Mailer) send(ctx context.Context, host, from, to string, msg []byte) error {
	dial := m.dial
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	conn, err := dial(ctx, "tcp", m.Address)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	// Only ctx ends the exchange, so that an interrupted exchange always finds
	// ctx done and reports why.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("reading the greeting of %s: %w", m.Address, err)
	}
	defer func() { _ = c.Close() }()
	return m.exchange(c, host, from, to, msg)
}

// exchange says hello, secures and authenticates the session as configured,
// and sends msg from from to to.
func (m *Mailer) exchange(c *smtp.Client, host, from, to string, msg []byte) error {
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("saying hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(m.tlsConfig(host)); err != nil {
			return fmt.Errorf("starting tls: %w", err)
		}
	}
	_, secure := c.TLSConnectionState()
	credentials := m.Username != "" || m.Password != ""
	if err := checkCleartextAuth(host, secure, credentials); err != nil {
		return err
	}
	if credentials {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("authenticating: the smtp server does not offer AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("authenticating: %w", err)
		}
	}

	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		_ = w.Close()
		return fmt.Errorf("writing the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("ending the message: %w", err)
	}
	// The server has accepted the message; a failed QUIT does not undo that.
	_ = c.Quit()
	return nil
}

// tlsConfig returns the configuration for STARTTLS to host.
func (m *Mailer) tlsConfig(host string) *tls.Config {
	if m.TLSConfig == nil {
		return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	cfg := m.TLSConfig.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// checkCleartextAuth decides whether credentials may be sent to host: always
// over TLS, and in clear only to a loopback server, the names net/smtp's PLAIN
// authentication accepts without TLS.
func checkCleartextAuth(host string, secure, credentials bool) error {
	if !credentials || secure {
		return nil
	}
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return nil
	}
	return ErrCleartextAuth
}

// splitHostPort splits an SMTP address, which needs both parts.
func splitHostPort(address string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(address)
	if err != nil {
		return "", "", fmt.Errorf("%q: want host:port", address)
	}
	if host == "" || port == "" {
		return "", "", fmt.Errorf("%q: want host:port", address)
	}
	return host, port, nil
}

// newMessageID returns a unique Message-ID in the domain of the sender.
func newMessageID(from string) string {
	domain := from[strings.LastIndexByte(from, '@')+1:]
	return "<" + rand.Text() + "@" + cmp.Or(domain, "hookgate.invalid") + ">"
}

// alertMessage returns the alert about d as an RFC 5322 message with CRLF
// line endings. Text from hooks and remote servers is kept to one line.
func (m *Mailer) alertMessage(from, to *mail.Address, d Disabled, date time.Time,
	messageID string) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name + ": " + value + "\r\n")
	}
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeHeaderText("hookgate: hook "+
		truncate(oneLine(d.HookID), maxSubjectHookID)+" disabled"))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(m.alertBody(d)))
	_ = qp.Close()
	return b.Bytes()
}

// alertBody returns the plain text of the alert about d, with LF line endings.
func (m *Mailer) alertBody(d Disabled) string {
	var b strings.Builder
	id := oneLine(d.HookID)
	fmt.Fprintf(&b, "hookgate disabled the hook %s", strconv.Quote(id))
	if d.Account != "" {
		fmt.Fprintf(&b, " of the account %s", strconv.Quote(oneLine(d.Account)))
	}
	b.WriteString(".\n\n")

	at := d.At
	if at.IsZero() {
		at = time.Now()
	}
	fmt.Fprintf(&b, "Reason: %s\n", bodyText(d.Reason))
	fmt.Fprintf(&b, "Consecutive failed attempts: %d\n", d.Failures)
	fmt.Fprintf(&b, "Disabled at: %s\n\n", at.UTC().Format("2006-01-02 15:04:05 MST"))

	if len(d.LastErrors) == 0 {
		b.WriteString("No errors were recorded for the last attempts.\n\n")
	} else {
		b.WriteString("Last errors, oldest first:\n")
		for _, e := range d.LastErrors {
			fmt.Fprintf(&b, "- %s\n", bodyText(e))
		}
		b.WriteString("\n")
	}

	b.WriteString("Nothing is lost: while the hook is disabled, the events that match it\n" +
		"are kept as parked deliveries and its pending retries wait.\n\n")
	m.writeEnableHelp(&b, id)
	return b.String()
}

// writeEnableHelp explains how to re-enable the hook id.
func (m *Mailer) writeEnableHelp(b *strings.Builder, id string) {
	path := "/hookgate/hooks/" + url.PathEscape(id) + "/enable"
	b.WriteString("Once the endpoint works again, re-enable the hook through the admin API:\n\n")
	if m.AdminURL == "" {
		fmt.Fprintf(b, "  POST %s (on Caddy's admin endpoint)\n", path)
	} else {
		fmt.Fprintf(b, "  POST %s%s\n", strings.TrimRight(oneLine(m.AdminURL), "/"), path)
	}
	b.WriteString("  with {\"parked\": \"deliver\"} to deliver the parked events,\n" +
		"  or {\"parked\": \"discard\"} to drop them.\n")
	if m.AdminURL != "" {
		u := strings.TrimRight(oneLine(m.AdminURL), "/") + path
		fmt.Fprintf(b, "\nFor example:\n\n  curl -X POST %s \\\n"+
			"    -H 'Content-Type: application/json' -d '{\"parked\": \"deliver\"}'\n",
			shellQuote(u))
	}
	if m.DashboardURL != "" {
		fmt.Fprintf(b, "\nOr review and re-enable it in the dashboard: %s\n",
			oneLine(m.DashboardURL))
	}
}

// oneLine makes s valid UTF-8 on a single line: control characters,
// including CR and LF, become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// bodyText is s on one line, shortened to maxAlertText runes.
func bodyText(s string) string {
	return truncate(oneLine(s), maxAlertText)
}

// truncate shortens s to at most n runes, marking a cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// encodeHeaderText encodes one line of text for an unstructured header such
// as Subject: as is when it is plain ASCII, else as RFC 2047 encoded words,
// folded so that no line grows past the limit of RFC 5322.
func encodeHeaderText(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
