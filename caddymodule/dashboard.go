package caddymodule

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/api"
	"github.com/hookgate/hookgate/gateway"
)

func init() {
	caddy.RegisterModule(Dashboard{})
	httpcaddyfile.RegisterHandlerDirective("hookgate_dashboard", parseDashboard)
	httpcaddyfile.RegisterDirectiveOrder("hookgate_dashboard", httpcaddyfile.Before, "respond")
}

// Dashboard serves one account's view of hookgate. Under <mount>/api/ it
// serves the management API of the admin endpoint, limited to the account
// whose bearer token the request carries (an account's token is its
// "token" in the hookgate app's configuration): the account sees and changes
// only its own hooks and deliveries. Requests without a valid token are
// answered 401.
type Dashboard struct {
	app    *App
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Dashboard) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.hookgate_dashboard",
		New: func() caddy.Module { return new(Dashboard) },
	}
}

// Provision finds the hookgate app.
func (d *Dashboard) Provision(ctx caddy.Context) error {
	d.logger = ctx.Logger()
	app, err := ctx.App("hookgate")
	if err != nil {
		return fmt.Errorf("getting hookgate app: %v", err)
	}
	d.app = app.(*App)
	return nil
}

// ServeHTTP serves the account's API.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	mount, rest, ok := splitAPIPath(r.URL.Path)
	if !ok {
		return writeError(w, http.StatusNotFound, "no such page: %s", r.URL.Path)
	}
	account, ok := d.app.accountOfToken(bearerToken(r))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hookgate"`)
		return writeError(w, http.StatusUnauthorized,
			"a valid account token is required: Authorization: Bearer <token>")
	}

	h := &api.Handler{
		Gateway: d.app.gateway,
		Caller:  gateway.Caller{Account: account},
		Prefix:  mount + "/api",
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = rest, ""
	h.ServeHTTP(w, r2)
	return nil
}

// splitAPIPath splits a path at its "/api" segment into the dashboard's mount
// point and the API path: "/dashboard/api/hooks" is "/dashboard" and "/hooks".
func splitAPIPath(path string) (mount, rest string, ok bool) {
	if strings.HasSuffix(path, "/api") {
		return strings.TrimSuffix(path, "/api"), "/", true
	}
	i := strings.Index(path, "/api/")
	if i < 0 {
		return "", "", false
	}
	return path[:i], path[i+len("/api"):], true
}

// bearerToken returns the request's bearer token, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// accountOfToken returns the account whose token this is. Every account's
// token is compared, in constant time, so the time taken tells nothing.
func (a *App) accountOfToken(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	found := ""
	for name, acct := range a.Accounts {
		if acct.Token != "" &&
			subtle.ConstantTimeCompare([]byte(acct.Token), []byte(token)) == 1 {
			found = name
		}
	}
	return found, found != ""
}

// parseDashboard reads the hookgate_dashboard directive. Syntax:
//
//	hookgate_dashboard
//
// It takes no arguments; accounts and their tokens are configured in the
// hookgate global option.
func parseDashboard(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	d := new(Dashboard)
	return d, d.UnmarshalCaddyfile(h.Dispenser)
}

// UnmarshalCaddyfile reads the directive, which takes no arguments.
func (d *Dashboard) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next() // the directive's name
	if disp.NextArg() {
		return disp.ArgErr()
	}
	if disp.NextBlock(0) {
		return disp.Errf("hookgate_dashboard takes no options")
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Dashboard)(nil)
	_ caddyfile.Unmarshaler       = (*Dashboard)(nil)
	_ caddyhttp.MiddlewareHandler = (*Dashboard)(nil)
)
