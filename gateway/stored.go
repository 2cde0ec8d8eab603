package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/signer"
)

// storedHook is the record of a hook persisted in the store: the document as
// its owner wrote it, without the secret, and the secret set apart from it.
type storedHook struct {
	Hook    json.RawMessage  `json:"hook"`
	Secrets signer.SecretSet `json:"secrets"`
}

// loadStored reads and compiles the persisted hooks. A hook that no longer
// compiles is logged and left out of routing; its record stays in the store.
func (g *Gateway) loadStored(ctx context.Context) ([]*Hook, error) {
	records, err := g.store.Hooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading hooks: %w", err)
	}
	hooks := make([]*Hook, 0, len(records))
	for _, r := range records {
		h, err := decodeStored(r)
		if err != nil {
			g.logger.Error("stored hook left out", zap.String("hook_id", r.ID), zap.Error(err))
			continue
		}
		hooks = append(hooks, h)
	}
	return hooks, nil
}

// decodeStored compiles one persisted hook.
func decodeStored(q queue.Hook) (*Hook, error) {
	var rec storedHook
	if err := json.Unmarshal(q.Document, &rec); err != nil {
		return nil, fmt.Errorf("decoding record: %w", err)
	}
	h, err := hook.Parse(rec.Hook)
	if err != nil {
		return nil, err
	}
	h.ID = q.ID
	c, err := hook.Compile(h, int64(q.Version))
	if err != nil {
		return nil, err
	}
	return &Hook{Compiled: c, Secrets: rec.Secrets, CreatedAt: q.CreatedAt,
		UpdatedAt: q.UpdatedAt}, nil
}
