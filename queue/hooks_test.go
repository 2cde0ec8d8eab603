package queue

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateHookStartsAtVersionOne(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		h, err := s.CreateHook(context.Background(), "slack", []byte(`{"url":"https://x"}`))
		require.NoError(t, err)
		assert.Equal(t, uint64(1), h.Version)
		assert.JSONEq(t, `{"url":"https://x"}`, string(h.Document))
		assert.True(t, h.CreatedAt.Equal(clock.Now()))
		assert.True(t, h.State.Enabled)

		got, err := s.Hook(context.Background(), "slack")
		require.NoError(t, err)
		assert.Equal(t, h, got)
	})
}

func TestCreateHookWithExistingIDConflicts(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		_, err := s.CreateHook(context.Background(), "h", []byte(`{}`))
		require.NoError(t, err)
		_, err = s.CreateHook(context.Background(), "h", []byte(`{"x":1}`))
		assert.ErrorIs(t, err, ErrConflict)
	})
}

func TestUpdateHook(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		version uint64
		doc     string
		want    error
	}{
		{name: "current version wins", id: "h", version: 2, doc: `{"v":3}`},
		{name: "stale version conflicts", id: "h", version: 1, doc: `{"v":3}`, want: ErrConflict},
		{name: "future version conflicts", id: "h", version: 9, doc: `{"v":3}`, want: ErrConflict},
		{name: "unknown hook is not found", id: "x", version: 1, doc: `{}`, want: ErrNotFound},
		{name: "document must be JSON", id: "h", version: 2, doc: `{`, want: ErrInvalid},
		{name: "id must be usable", id: "", version: 2, doc: `{}`, want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
				_, err := s.CreateHook(context.Background(), "h", []byte(`{"v":1}`))
				require.NoError(t, err)
				clock.Advance(time.Minute)
				_, err = s.UpdateHook(context.Background(), "h", []byte(`{"v":2}`), 1)
				require.NoError(t, err)
				clock.Advance(time.Minute)

				h, err := s.UpdateHook(context.Background(), tt.id, []byte(tt.doc), tt.version)
				if tt.want != nil {
					assert.ErrorIs(t, err, tt.want)
					got, err := s.Hook(context.Background(), "h")
					require.NoError(t, err)
					assert.Equal(t, uint64(2), got.Version, "a failed update changes nothing")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, uint64(3), h.Version)
				assert.True(t, h.UpdatedAt.Equal(clock.Now()))
				assert.True(t, h.CreatedAt.Equal(clock.Now().Add(-2*time.Minute)))
				assert.JSONEq(t, tt.doc, string(h.Document))
			})
		})
	}
}

func TestHooksListsPersistedHooksWithState(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		for _, id := range []string{"b", "a", "c"} {
			_, err := s.CreateHook(context.Background(), id, []byte(`{}`))
			require.NoError(t, err)
		}
		require.NoError(t, s.ParkHook(context.Background(), "b", "disabled"))

		hooks, err := s.Hooks(context.Background())
		require.NoError(t, err)
		require.Len(t, hooks, 3)
		assert.Equal(t, []string{"a", "b", "c"}, []string{hooks[0].ID, hooks[1].ID, hooks[2].ID})
		assert.False(t, hooks[1].State.Enabled)
		assert.True(t, hooks[0].State.Enabled)
	})
}

func TestHookOfUnknownIDIsNotFound(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		_, err := s.Hook(context.Background(), "nope")
		assert.ErrorIs(t, err, ErrNotFound)
		_, err = s.DeleteHook(context.Background(), "nope")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestHookStateOfUnpersistedHookCountsItsWork(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, clock *fakeClock) {
		st, err := s.HookState("from-caddyfile")
		require.NoError(t, err)
		assert.Equal(t, HookState{Enabled: true}, st)

		enqueue(t, s, item("a", "from-caddyfile"), item("b", "from-caddyfile"))
		l := leaseAll(t, s, "from-caddyfile", 1)[0]
		record(t, s, l, retryAt(clock.Now().Add(time.Minute), 500))
		st, err = s.HookState("from-caddyfile")
		require.NoError(t, err)
		assert.Equal(t, HookState{Enabled: true, ConsecutiveFailures: 1, Pending: 2}, st)
	})
}

func TestDeleteHookFailsItsDeliveriesAndKeepsThemForAudit(t *testing.T) {
	runStore(t, func(t *testing.T, s *Store, _ *fakeClock) {
		_, err := s.CreateHook(context.Background(), "h", []byte(`{}`))
		require.NoError(t, err)
		ids := enqueue(t, s, item("a", "h"), item("b", "h"))
		require.NoError(t, s.ParkHook(context.Background(), "h", "disabled"))
		ids = append(ids, enqueue(t, s, item("c", "h"))...)
		record(t, s, Lease{Delivery: Delivery{ID: ids[0]}}, failed(500))

		n, err := s.DeleteHook(context.Background(), "h")
		require.NoError(t, err)
		assert.Equal(t, 2, n)

		_, err = s.Hook(context.Background(), "h")
		assert.ErrorIs(t, err, ErrNotFound)
		for _, id := range ids[1:] {
			d := getDelivery(t, s, id)
			assert.Equal(t, StatusFailed, d.Status)
			assert.Contains(t, d.LastError, "hook was deleted")
		}
		st, _ := s.HookState("h")
		assert.Equal(t, HookState{Enabled: true}, st, "park marker and failures removed")
		assert.Equal(t, Stats{Failed: 3}, stats(t, s))
	})
}
