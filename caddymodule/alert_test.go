package caddymodule

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inbox is a real SMTP server on 127.0.0.1 that keeps the mail it receives.
type inbox struct {
	addr string

	mu    sync.Mutex
	mails []mail
}

// mail is one message an inbox received.
type mail struct {
	to   []string
	data string
}

func startInbox(t *testing.T) *inbox {
	t.Helper()
	ib := &inbox{}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &inboxSession{inbox: ib}, nil
	}))
	s.Domain = "localhost"
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ib.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return ib
}

func (ib *inbox) received() []mail {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return append([]mail(nil), ib.mails...)
}

type inboxSession struct {
	inbox *inbox
	to    []string
}

func (s *inboxSession) Mail(string, *gosmtp.MailOptions) error { return nil }

func (s *inboxSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *inboxSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.inbox.mu.Lock()
	s.inbox.mails = append(s.inbox.mails, mail{to: s.to, data: string(data)})
	s.inbox.mu.Unlock()
	return nil
}

func (s *inboxSession) Reset()        { s.to = nil }
func (s *inboxSession) Logout() error { return nil }

func TestAutoDisableEmailsOneAlertToTheAccount(t *testing.T) {
	ib := startInbox(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadGateway)
	})
	g := startGateway(t, fmt.Sprintf(`disable_after 3
		retry 10ms 10ms 10ms
		smtp %s {
			from alerts@hookgate.test
		}
		account acme {
			alert_email ops@acme.example
		}
		alert_email operator@hookgate.test
		%s`, ib.addr, hotLeadHook("crm", rc.URL, "account acme")), `route /acme {
		hookgate_ingest {
			account acme
		}
	}`)

	for i := range 4 {
		require.Equal(t, http.StatusAccepted,
			first(g.post("/acme", hotLead(fmt.Sprintf("evt_%d", i), 9))))
	}
	require.Eventually(t, func() bool { return len(ib.received()) > 0 }, 5*time.Second,
		20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // a second alert would have come by now

	mails := ib.received()
	require.Len(t, mails, 1, "one alert per disable, not one per failure")
	assert.Equal(t, []string{"ops@acme.example"}, mails[0].to)
	body := strings.ReplaceAll(mails[0].data, "=\r\n", "") // quoted-printable soft breaks
	assert.Contains(t, body, "Subject: hookgate: hook crm disabled")
	// Attempts in flight when the third failure is stored may add theirs.
	assert.Regexp(t, `Consecutive failed attempts: [34]\r\n`, body)
	assert.Contains(t, body, "unexpected status 502")
	assert.Contains(t, body, "/hookgate/hooks/crm/enable")

	status, out := g.api("POST", "/hooks/crm/enable", `{"parked": "deliver"}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, true, out["enabled"])
}
