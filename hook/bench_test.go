package hook

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/cel"
	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/internal/treewalk"
)

// benchEvent is a realistic intent event of about 1 KiB.
const benchEvent = `{
  "id": "evt_01JEBZ6S3J7Q9VNX4T2K8M5R1C",
  "type": "intent.hot_lead",
  "timestamp": "2026-12-03T19:55:07.123Z",
  "account": "acme",
  "domain": "mail.acme.example",
  "environment": "production",
  "message_id": "<20261203195507.1a2b3c4d@mail.acme.example>",
  "recipient": "jordan.lee@customer.example",
  "url": "https://acme.example/pricing?utm_source=newsletter&utm_campaign=winter",
  "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15",
  "ip": "203.0.113.42",
  "heat_score": 8.5,
  "intent_category": "PURCHASE_INTENT",
  "urgency": 4,
  "confidence": 0.92,
  "is_human": true,
  "dwell_seconds": 47,
  "metadata": {
    "campaign": "winter-launch",
    "segment": "enterprise-trials",
    "list_id": "lst_8842",
    "tags": ["trial", "pricing-page", "returning"],
    "crm": {"owner": "sam@acme.example", "stage": "evaluation"}
  }
}`

// seedVariation is the conditions of the bench hooks: the seed rule, with
// the heat threshold (%d) varying from hook to hook.
const seedVariation = `{"operator":"AND","rules":[{"field":"heat_score","op":"gt","value":%d},` +
	`{"field":"intent_category","op":"eq","value":"PURCHASE_INTENT"},` +
	`{"field":"is_human","op":"eq","value":true}]}`

// stringVariation is conditions whose leaves, but for the threshold, test
// strings and lists: CEL writes them with cel.bind and type tests.
const stringVariation = `{"operator":"AND","rules":[{"field":"heat_score","op":"gt",` +
	`"value":%d},{"field":"recipient","op":"ends_with","value":"@customer.example"},` +
	`{"field":"metadata.tags","op":"contains","value":"trial"}]}`

// benchHooks returns n hooks that all take the bench event, variations of
// the seed rule with different thresholds, each compiled to its own program.
// A hook's Version is its index in the returned slice.
func benchHooks(b *testing.B, n int) []*Compiled { return benchHooksWith(b, n, seedVariation) }

// benchHooksWith returns n hooks like benchHooks with the conditions, where
// %d is the hook's threshold.
func benchHooksWith(b *testing.B, n int, conditions string) []*Compiled {
	hooks := make([]*Compiled, n)
	for i := range hooks {
		doc := fmt.Sprintf(`{"id":"h%d","account":"acme","domain":"mail.acme.example",`+
			`"event":"intent.hot_lead","url":"https://crm.example/hooks/%d","conditions":`,
			i, i) + fmt.Sprintf(conditions, i%10) + `}`
		h, err := Parse([]byte(doc))
		require.NoError(b, err)
		hooks[i], err = Compile(h, int64(i))
		require.NoError(b, err)
	}
	return hooks
}

func benchEventParsed(b *testing.B) *event.Event {
	e, err := event.Parse([]byte(benchEvent), event.Defaults{})
	require.NoError(b, err)
	return e
}

// BenchmarkDecode is the per-event cost before any rule: JSON decode,
// validation and the canonical encoding.
func BenchmarkDecode(b *testing.B) {
	data := []byte(benchEvent)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := event.Parse(data, event.Defaults{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch evaluates one decoded event against n hooks through the
// routing index, with CEL and, as the baseline, with the plain Go tree walk
// of the same trees. ns/rule is the cost of one rule; the cel runs include
// building the event's Activation, which all n rules share.
func BenchmarkMatch(b *testing.B) { benchMatch(b, seedVariation) }

// BenchmarkMatchStringLeaves is BenchmarkMatch with leaves on strings and
// lists.
func BenchmarkMatchStringLeaves(b *testing.B) { benchMatch(b, stringVariation) }

func benchMatch(b *testing.B, conditions string) {
	e := benchEventParsed(b)
	for _, n := range []int{1, 10, 100, 1000} {
		hooks := benchHooksWith(b, n, conditions)
		ix := NewIndex(hooks)
		walks := make([]*treewalk.Tree, n) // by Version, the hook's index
		for i, h := range hooks {
			w, err := treewalk.New(h.Conditions)
			require.NoError(b, err)
			walks[i] = w
		}

		b.Run(fmt.Sprintf("hooks=%d/eval=cel", n), func(b *testing.B) {
			matched := 0
			for b.Loop() {
				a := cel.NewActivation(e)
				ix.Match(e, a, func(*Compiled) { matched++ }, nil)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/rule")
			if matched == 0 {
				b.Fatal("no hook matched")
			}
		})
		b.Run(fmt.Sprintf("hooks=%d/eval=treewalk", n), func(b *testing.B) {
			matched := 0
			fields := e.Fields()
			for b.Loop() {
				ix.Candidates(e, func(h *Compiled) {
					if walks[h.Version].Eval(fields) {
						matched++
					}
				})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/rule")
			if matched == 0 {
				b.Fatal("no hook matched")
			}
		})
	}
}

// BenchmarkIngestPath is decode plus matching against 100 hooks: the CPU one
// event costs the ingest handler before the queue.
func BenchmarkIngestPath(b *testing.B) {
	ix := NewIndex(benchHooks(b, 100))
	data := []byte(benchEvent)
	for b.Loop() {
		e, err := event.Parse(data, event.Defaults{})
		if err != nil {
			b.Fatal(err)
		}
		ix.Match(e, cel.NewActivation(e), func(*Compiled) {}, nil)
	}
}

// BenchmarkCompile is the cost paid once per hook save or load.
func BenchmarkCompile(b *testing.B) {
	for b.Loop() {
		h, err := Parse([]byte(seedHook))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(h, 1); err != nil {
			b.Fatal(err)
		}
	}
}
