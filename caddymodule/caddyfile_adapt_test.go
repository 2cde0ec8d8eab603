package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the expected JSON of golden files")

// TestCaddyfileAdapt adapts each testdata/caddyfile_adapt/*.caddytest file: a
// Caddyfile, a line of dashes, then either the expected JSON or a fragment of
// the expected error.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddytest")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			caddyfile, expected, ok := strings.Cut(string(data), "\n----------\n")
			require.True(t, ok, "no ---------- separator")
			expected = strings.TrimSpace(expected)

			adapter := caddyconfig.GetAdapter("caddyfile")
			out, _, err := adapter.Adapt([]byte(caddyfile+"\n"), map[string]any{"filename": "Caddyfile"})
			if expected != "" && expected[0] != '{' {
				require.Error(t, err)
				assert.Contains(t, err.Error(), expected)
				return
			}
			require.NoError(t, err)
			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, out, "", "\t"))
			if *update {
				golden := caddyfile + "\n----------\n" + pretty.String() + "\n"
				require.NoError(t, os.WriteFile(path, []byte(golden), 0o644))
				return
			}
			assert.JSONEq(t, expected, pretty.String())
		})
	}
}
