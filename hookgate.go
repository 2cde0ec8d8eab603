// Package hookgate is a Caddy module that filters an email provider's webhook
// firehose through conditional rules and delivers only the events that match,
// re-signed and durably retried.
//
// Importing this package registers every hookgate module with Caddy, so
// `xcaddy build --with github.com/hookgate/hookgate` builds a Caddy with it.
package hookgate

import (
	// Registers the app, the handlers, the admin API and the subcommands.
	_ "github.com/hookgate/hookgate/caddymodule"
)
