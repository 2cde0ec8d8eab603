// Package caddymodule adapts hookgate's core packages to Caddy: the app, the
// HTTP handlers, the admin routes, Caddyfile parsing and the CLI subcommands.
package caddymodule
