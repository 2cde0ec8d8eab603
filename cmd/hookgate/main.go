// Command hookgate is Caddy with its standard modules plus hookgate's.
//
//	go run ./cmd/hookgate run --config Caddyfile.example
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules, as in the official binary.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// hookgate's modules and subcommands.
	_ "github.com/hookgate/hookgate/caddymodule"
)

func main() {
	caddycmd.Main()
}
