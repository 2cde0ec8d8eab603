package caddymodule

import (
	"encoding/json"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("hookgate", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("hookgate_ingest", parseIngest)
	// Ingest answers requests, so it runs where respond would: after
	// request matchers, auth and body limits, without users writing order.
	httpcaddyfile.RegisterDirectiveOrder("hookgate_ingest", httpcaddyfile.Before, "respond")
}

// parseGlobalOption reads the hookgate global option into the app. The
// option is given once: a second block would silently replace the first.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	if existing != nil {
		return nil, d.Err("the hookgate global option is given twice; " +
			"put all its settings in one block")
	}
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "hookgate", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile reads the hookgate global option. Syntax:
//
//	hookgate {
//		storage_dir <path>
//		sync always | interval <duration> | never
//		retry <duration>...
//		timeout <duration>
//		disable_after <count>
//		max_in_flight <count>
//		workers <count>
//		retention <duration>
//		dedupe_window <duration>
//		max_account_hooks <count>
//		recent_events <count>
//		allow_private_destinations
//		smtp <host:port> {
//			from <address>
//			username <user>
//			password <password>
//			admin_url <url>
//			dashboard_url <url>
//		}
//		alert_email <address>
//		account <name> {
//			plan <plan>
//			alert_email <address>
//			token <token>
//		}
//		hook <id> {
//			name <label>
//			account <name>
//			domain <domain>
//			event <type>
//			events <type>...
//			preset <name>
//			url <url>
//			method POST | PUT | PATCH
//			header <name> <value>
//			secret <whsec_...>
//			conditions <condition tree as JSON>
//			transform <CEL expression>
//			disabled
//		}
//	}
//
// Every setting is optional and given at most once, except account and hook,
// which repeat. Values may use placeholders such as {env.SMTP_PASSWORD},
// replaced when the configuration loads, so secrets stay out of the adapted
// JSON.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option's name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		opt := d.Val()
		if seen[opt] && opt != "account" && opt != "hook" {
			return d.Errf("hookgate option '%s' is given twice", opt)
		}
		seen[opt] = true
		var err error
		switch opt {
		case "storage_dir":
			err = oneArg(d, &a.StorageDir)
		case "sync":
			err = a.unmarshalSync(d)
		case "retry":
			err = a.unmarshalRetry(d)
		case "timeout":
			err = durationArg(d, &a.Timeout)
		case "disable_after":
			err = intArg(d, &a.DisableAfter)
		case "max_in_flight":
			err = intArg(d, &a.MaxInFlight)
		case "workers":
			err = intArg(d, &a.Workers)
		case "retention":
			err = durationArg(d, &a.Retention)
		case "dedupe_window":
			err = durationArg(d, &a.DedupeWindow)
		case "max_account_hooks":
			err = intArg(d, &a.MaxAccountHooks)
		case "recent_events":
			err = intArg(d, &a.RecentEvents)
		case "allow_private_destinations":
			if d.NextArg() {
				return d.ArgErr()
			}
			a.AllowPrivateDestinations = true
		case "smtp":
			err = a.unmarshalSMTP(d)
		case "alert_email":
			err = oneArg(d, &a.AlertEmail)
		case "account":
			err = a.unmarshalAccount(d)
		case "hook":
			err = a.unmarshalHook(d)
		default:
			return d.Errf("unknown hookgate option '%s'", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *App) unmarshalSync(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	a.Sync = d.Val()
	switch a.Sync {
	case "always", "never":
	case "interval":
		return durationArg(d, &a.SyncInterval)
	default:
		return d.Errf("sync: want always, interval <duration> or never, not '%s'", a.Sync)
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func (a *App) unmarshalRetry(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	for _, s := range args {
		v, err := caddy.ParseDuration(s)
		if err != nil {
			return d.Errf("retry: %v", err)
		}
		a.Retry = append(a.Retry, caddy.Duration(v))
	}
	return nil
}

func (a *App) unmarshalSMTP(d *caddyfile.Dispenser) error {
	s := new(SMTP)
	if err := oneArg(d, &s.Address); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "from":
			err = oneArg(d, &s.From)
		case "username":
			err = oneArg(d, &s.Username)
		case "password":
			err = oneArg(d, &s.Password)
		case "admin_url":
			err = oneArg(d, &s.AdminURL)
		case "dashboard_url":
			err = oneArg(d, &s.DashboardURL)
		default:
			return d.Errf("unknown smtp option '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	a.SMTP = s
	return nil
}

func (a *App) unmarshalAccount(d *caddyfile.Dispenser) error {
	var name string
	if err := oneArg(d, &name); err != nil {
		return err
	}
	if _, ok := a.Accounts[name]; ok {
		return d.Errf("account '%s' is declared twice", name)
	}
	acct := new(Account)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "plan":
			err = oneArg(d, &acct.Plan)
		case "alert_email":
			err = oneArg(d, &acct.AlertEmail)
		case "token":
			err = oneArg(d, &acct.Token)
		default:
			return d.Errf("unknown account option '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	if a.Accounts == nil {
		a.Accounts = make(map[string]*Account)
	}
	a.Accounts[name] = acct
	return nil
}

// unmarshalHook reads a hook block into a hook document.
func (a *App) unmarshalHook(d *caddyfile.Dispenser) error {
	var id string
	if err := oneArg(d, &id); err != nil {
		return err
	}
	doc := map[string]any{"id": id}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if _, ok := doc[key]; ok && key != "header" {
			return d.Errf("hook %s: '%s' given twice", id, key)
		}
		switch key {
		case "name", "account", "domain", "event", "preset", "url", "method", "secret",
			"transform":
			var v string
			if err := oneArg(d, &v); err != nil {
				return err
			}
			doc[key] = v
		case "events":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			doc[key] = args
		case "header":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("hook %s: header takes a name and a value", id)
			}
			headers, _ := doc["headers"].(map[string]string)
			if headers == nil {
				headers = make(map[string]string)
				doc["headers"] = headers
			}
			headers[args[0]] = args[1]
		case "conditions":
			var raw string
			if err := oneArg(d, &raw); err != nil {
				return err
			}
			if !json.Valid([]byte(raw)) {
				return d.Errf("hook %s: conditions must be a JSON condition tree "+
					"(quote it with backticks)", id)
			}
			doc[key] = json.RawMessage(raw)
		case "disabled":
			if d.NextArg() {
				return d.ArgErr()
			}
			doc["enabled"] = false
		default:
			return d.Errf("hook %s: unknown option '%s'", id, key)
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return d.Errf("hook %s: %v", id, err)
	}
	a.Hooks = append(a.Hooks, raw)
	return nil
}

// oneArg reads exactly one argument into s.
func oneArg(d *caddyfile.Dispenser, s *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*s = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func durationArg(d *caddyfile.Dispenser, v *caddy.Duration) error {
	name := d.Val()
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur <= 0 {
		return d.Errf("%s: '%s' is not a positive duration", name, s)
	}
	*v = caddy.Duration(dur)
	return nil
}

func intArg(d *caddyfile.Dispenser, v *int) error {
	name := d.Val()
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return d.Errf("%s: '%s' is not a positive number", name, s)
	}
	*v = n
	return nil
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
)
