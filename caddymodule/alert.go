package caddymodule

import (
	"cmp"
	"context"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/dispatch"
)

// SMTP is the mail server for alerts.
type SMTP struct {
	// Address is host:port of the server. STARTTLS is used when the server
	// offers it, and required before sending credentials to a server that is
	// not on loopback.
	Address string `json:"address,omitempty"`

	// From is the sender address of alerts.
	From string `json:"from,omitempty"`

	// Username and Password authenticate (AUTH PLAIN) when set.
	// Placeholders such as {env.SMTP_PASSWORD} are replaced.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// AdminURL is the admin endpoint as the alert's readers reach it, for
	// the re-enable instructions. Default: http://localhost:2019.
	AdminURL string `json:"admin_url,omitempty"`

	// DashboardURL, when set, is shown in alerts as the place to re-enable
	// the hook with one click.
	DashboardURL string `json:"dashboard_url,omitempty"`
}

// mailer is the configured mailer; nil without an smtp block.
func (s *SMTP) mailer(repl *caddy.Replacer) (*dispatch.Mailer, error) {
	if s == nil {
		return nil, nil
	}
	m := &dispatch.Mailer{
		Address:      s.Address,
		From:         s.From,
		Username:     repl.ReplaceAll(s.Username, ""),
		Password:     repl.ReplaceAll(s.Password, ""),
		AdminURL:     cmp.Or(s.AdminURL, "http://localhost:2019"),
		DashboardURL: s.DashboardURL,
	}
	return m, m.Validate()
}

// alertRetries are the waits before each new try of an alert that failed.
var alertRetries = []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute}

// hookDisabled counts a disabled hook and emails its alert. The dispatcher
// has logged the disable.
func (a *App) hookDisabled(d dispatch.Disabled) {
	hooksDisabled.Inc()
	to := a.alertAddress(d.Account)
	if a.mailer == nil || to == "" {
		a.logger.Warn("no alert sent for a disabled hook: no smtp server or alert address",
			zap.String("hook_id", d.HookID), zap.String("account", d.Account))
		return
	}
	go a.sendAlert(to, d)
}

// alertAddress is where alerts about the account's hooks go.
func (a *App) alertAddress(account string) string {
	if acct := a.Accounts[account]; acct != nil && acct.AlertEmail != "" {
		return acct.AlertEmail
	}
	return a.AlertEmail
}

// sendAlert emails one alert, trying again after failures.
//
// TODO: an alert waiting for its next try lives only in memory: a stop or a
// crash before it is sent loses it, while the hook stays disabled.
func (a *App) sendAlert(to string, d dispatch.Disabled) {
	for try := 0; ; try++ {
		err := a.mailer.SendDisableAlert(context.Background(), to, d)
		if err == nil {
			a.logger.Info("alert sent", zap.String("hook_id", d.HookID), zap.String("to", to))
			return
		}
		if try == len(alertRetries) {
			a.logger.Error("alert not sent, giving up", zap.String("hook_id", d.HookID),
				zap.String("to", to), zap.Error(err))
			return
		}
		a.logger.Warn("alert not sent, trying again", zap.String("hook_id", d.HookID),
			zap.String("to", to), zap.Duration("wait", alertRetries[try]), zap.Error(err))
		time.Sleep(alertRetries[try])
	}
}
