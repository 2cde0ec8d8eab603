package hook

import (
	"errors"
	"fmt"
)

// Errors a Policy returns; callers map them to status codes.
var (
	// ErrPlan means the account's plan does not allow the hook.
	ErrPlan = errors.New("not allowed by the account's plan")

	// ErrLimit means the account has reached a limit on hooks.
	ErrLimit = errors.New("limit reached")
)

// DefaultMaxAccountHooks is how many account hooks an account may have when
// the configuration does not say.
const DefaultMaxAccountHooks = 5

// Policy holds the account rules that a hook must satisfy beyond its own
// validity: plan gating and the account-hook limit.
type Policy struct {
	// Plans maps account names to their plan. Where an account has a plan,
	// domain hooks need "pro" or "enterprise"; accounts without one may use
	// them.
	Plans map[string]string

	// MaxAccountHooks is how many account hooks one account may have;
	// zero means DefaultMaxAccountHooks.
	MaxAccountHooks int
}

// Check tells whether h may be saved next to the existing hooks (which may
// include an older version of h itself, recognized by its id). Errors wrap
// ErrPlan or ErrLimit.
func (p Policy) Check(h *Hook, existing []*Hook) error {
	if !h.AccountWide() {
		plan, ok := p.Plans[h.Account]
		if ok && plan != "pro" && plan != "enterprise" {
			return fmt.Errorf("domain hooks need the pro or enterprise plan; account %q is on %q: %w",
				h.Account, plan, ErrPlan)
		}
		return nil
	}

	max := p.MaxAccountHooks
	if max <= 0 {
		max = DefaultMaxAccountHooks
	}
	n := 0
	for _, e := range existing {
		if e.ID != h.ID && e.Account == h.Account && e.AccountWide() {
			n++
		}
	}
	if n >= max {
		return fmt.Errorf("account %q already has %d account hooks, the most allowed: %w",
			h.Account, n, ErrLimit)
	}
	return nil
}
