// Command xbuild builds a custom Caddy with hookgate from xcaddy.json, a
// serialized xcaddy.Builder: Caddy's version, the plugins and where they come
// from. Relative replacement paths are taken from the directory of the file.
//
//	go run ./cmd/xbuild [-config xcaddy.json] [-o caddy]
//
// Add other plugins to xcaddy.json to build them into the same binary.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/caddyserver/xcaddy"
)

func main() {
	config := flag.String("config", "xcaddy.json", "the builder configuration")
	output := flag.String("o", "caddy", "the binary to write")
	flag.Parse()
	if err := build(*config, *output); err != nil {
		fmt.Fprintln(os.Stderr, "xbuild:", err)
		os.Exit(1)
	}
}

func build(config, output string) error {
	data, err := os.ReadFile(config)
	if err != nil {
		return err
	}
	var b xcaddy.Builder
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("%s: %v", config, err)
	}
	base, err := filepath.Abs(filepath.Dir(config))
	if err != nil {
		return err
	}
	for i, r := range b.Replacements {
		if p := r.New.String(); filepath.IsLocal(p) || p == "." {
			b.Replacements[i].New = xcaddy.ReplacementPath(filepath.Join(base, p))
		}
	}
	if output, err = filepath.Abs(output); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return b.Build(ctx, output)
}
