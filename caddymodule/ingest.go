package caddymodule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/signer"
)

func init() {
	caddy.RegisterModule(Ingest{})
}

// DefaultMaxBody is the largest ingest request body when max_body is not set.
const DefaultMaxBody = 10 << 20

// Ingest accepts webhook events, routes them through the hooks' rules and
// answers 202 once every accepted event and its deliveries are durable. The
// response counts what happened:
//
//	{"accepted": 3, "duplicates": 0, "matched": 2, "rejected": [{"index": 1, "error": "..."}]}
//
// Invalid items of a batch are rejected one by one and never sink the valid
// ones. A body that is not JSON, too deep or too large is answered 400 or 413,
// a failed signature 401; then nothing is stored.
type Ingest struct {
	// Source is the format of the requests: "mailodds", the native format
	// (default).
	Source string `json:"source,omitempty"`

	// Account is the account of every event received on this route; it
	// wins over any account an event names.
	Account string `json:"account,omitempty"`

	// Domain is the sending domain of events that carry none.
	Domain string `json:"domain,omitempty"`

	// Environment is the environment of events that carry none.
	Environment string `json:"environment,omitempty"`

	// MaxBody is the largest request body in bytes. Default: 10 MiB.
	MaxBody int64 `json:"max_body,omitempty"`

	// Passthrough hands the request, body intact, to the next handler once
	// its events are durably accepted, instead of answering it.
	Passthrough bool `json:"passthrough,omitempty"`

	// Secret, when set, makes the route accept only requests signed with it
	// in X-MailOdds-Signature (see "hookgate verify"). Placeholders such as
	// {env.INGEST_SECRET} are replaced.
	Secret string `json:"secret,omitempty"`

	app      *App
	verifier *signer.Verifier
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Ingest) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.hookgate_ingest",
		New: func() caddy.Module { return new(Ingest) },
	}
}

// Provision finds the hookgate app and prepares the signature check.
func (h *Ingest) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	switch h.Source {
	case "", "mailodds":
	default:
		return fmt.Errorf("source %q: hookgate_ingest takes mailodds", h.Source)
	}
	if h.MaxBody == 0 {
		h.MaxBody = DefaultMaxBody
	}
	if h.MaxBody < 0 {
		return errors.New("max_body must not be negative")
	}

	if secret := caddy.NewReplacer().ReplaceAll(h.Secret, ""); secret != "" {
		v, err := signer.NewVerifier([]string{secret}, signer.WithScheme(signer.SchemeMailOdds))
		if err != nil {
			return fmt.Errorf("secret: %w", err)
		}
		h.verifier = v
	} else {
		h.logger.Warn("ingest route accepts unsigned requests",
			zap.String("source", "mailodds"), zap.String("account", h.Account))
	}

	app, err := ctx.App("hookgate")
	if err != nil {
		return fmt.Errorf("getting hookgate app: %v", err)
	}
	h.app = app.(*App)
	return nil
}

// ServeHTTP ingests the request's events.
func (h *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeError(w, http.StatusMethodNotAllowed, "method %s not allowed: POST events",
			r.Method)
	}
	gw := h.app.gateway()
	if gw == nil {
		return writeError(w, http.StatusServiceUnavailable, "hookgate is not running")
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return writeError(w, http.StatusRequestEntityTooLarge,
				"body is over the limit of %d bytes", h.MaxBody)
		}
		return writeError(w, http.StatusBadRequest, "reading body: %v", err)
	}
	if h.verifier != nil {
		if _, err := h.verifier.Verify(r.Header, body); err != nil {
			return writeError(w, http.StatusUnauthorized, "signature: %v", err)
		}
	}

	batch, err := event.ParseNative(body, event.Defaults{
		Account:     h.Account,
		Domain:      h.Domain,
		Environment: h.Environment,
		Received:    time.Now(),
	})
	if err != nil {
		return writeError(w, http.StatusBadRequest, "%v", err)
	}
	res, err := gw.Ingest(r.Context(), batch.Events)
	if err != nil {
		h.logger.Error("storing events", zap.Error(err))
		return writeError(w, http.StatusServiceUnavailable, "%v", err)
	}
	observeIngest(res, len(batch.Rejected))

	if h.Passthrough {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return next.ServeHTTP(w, r)
	}

	resp := ingestResponse{
		Accepted:   res.Accepted,
		Duplicates: res.Duplicates,
		Matched:    res.Matched,
		Rejected:   make([]rejection, len(batch.Rejected)),
	}
	for i, rj := range batch.Rejected {
		resp.Rejected[i] = rejection{Index: rj.Index, Error: rj.Err.Error()}
	}
	return writeJSON(w, http.StatusAccepted, resp)
}

// ingestResponse is the body of a 202.
type ingestResponse struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Matched    int         `json:"matched"`
	Rejected   []rejection `json:"rejected"`
}

// rejection is one rejected item of a batch; a single event is index 0.
type rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeError answers with {"error": "..."}.
func writeError(w http.ResponseWriter, status int, format string, args ...any) error {
	return writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// parseIngest reads the hookgate_ingest directive.
func parseIngest(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	in := new(Ingest)
	err := in.UnmarshalCaddyfile(h.Dispenser)
	return in, err
}

// UnmarshalCaddyfile reads the hookgate_ingest directive. Syntax:
//
//	hookgate_ingest [<source>] {
//		account <name>
//		domain <domain>
//		environment <name>
//		max_body <size>
//		passthrough
//		secret <whsec_...>
//	}
//
// source is mailodds, the native format (default).
func (h *Ingest) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		h.Source = d.Val()
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for d.NextBlock(0) {
		var err error
		switch d.Val() {
		case "account":
			err = oneArg(d, &h.Account)
		case "domain":
			err = oneArg(d, &h.Domain)
		case "environment":
			err = oneArg(d, &h.Environment)
		case "max_body":
			var s string
			if err = oneArg(d, &s); err == nil {
				var n uint64
				if n, err = humanize.ParseBytes(s); err != nil || n == 0 || n > 1<<40 {
					return d.Errf("max_body: '%s' is not a size such as 10MiB", s)
				}
				h.MaxBody = int64(n)
			}
		case "passthrough":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.Passthrough = true
		case "secret":
			err = oneArg(d, &h.Secret)
		default:
			return d.Errf("unknown hookgate_ingest option '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler       = (*Ingest)(nil)
	_ caddy.Provisioner           = (*Ingest)(nil)
	_ caddyhttp.MiddlewareHandler = (*Ingest)(nil)
)
