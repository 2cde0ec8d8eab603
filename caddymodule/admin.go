package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/hookgate/hookgate/api"
	"github.com/hookgate/hookgate/gateway"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminPrefix is where the management API is mounted on Caddy's admin
// endpoint.
const adminPrefix = "/hookgate"

// adminAPI serves hookgate's management API on Caddy's admin endpoint, under
// /hookgate/, for the operator: every account's hooks and deliveries. Before
// the hookgate app has started it answers 503.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.hookgate",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes returns the API's one route; the API routes within it.
func (adminAPI) Routes() []caddy.AdminRoute {
	h := http.StripPrefix(adminPrefix, &api.Handler{
		Gateway: runningGateway,
		Caller:  gateway.Operator,
		Prefix:  adminPrefix,
	})
	return []caddy.AdminRoute{{
		Pattern: adminPrefix + "/",
		Handler: caddy.AdminHandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			h.ServeHTTP(w, r)
			return nil
		}),
	}}
}

// Interface guard.
var _ caddy.AdminRouter = adminAPI{}
