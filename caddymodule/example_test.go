package caddymodule

import (
	"os"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/stretchr/testify/require"
)

// TestExampleCaddyfileAdaptsAndValidates keeps the README's demo working: the
// example adapts without warnings and every module provisions.
func TestExampleCaddyfileAdaptsAndValidates(t *testing.T) {
	src, err := os.ReadFile("../Caddyfile.example")
	require.NoError(t, err)
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src,
		map[string]any{"filename": "Caddyfile.example"})
	require.NoError(t, err)
	require.Empty(t, warnings)
	require.NoError(t, caddy.Validate(mustConfig(t, cfg)))
}

func mustConfig(t *testing.T, raw []byte) *caddy.Config {
	t.Helper()
	var cfg caddy.Config
	require.NoError(t, caddy.StrictUnmarshalJSON(raw, &cfg))
	return &cfg
}
