package esp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/event/esp/esptest"
)

// benchBatch is how many events the batching ESPs' benchmark requests carry.
const benchBatch = 100

// benchmarkAdapter measures an adapter parsing and verifying requests, and
// event.ParseNative over the same events in the native format, reporting
// events/s for both. next returns the request of iteration i.
func benchmarkAdapter(b *testing.B, a Adapter, next func(i int) *Request) {
	ctx := context.Background()
	res, err := a.Parse(ctx, next(-1), testDefaults)
	if err != nil {
		b.Fatal(err)
	}
	perOp := len(res.Events)
	if perOp == 0 || len(res.Rejected) > 0 {
		b.Fatalf("%d events, %d rejected", perOp, len(res.Rejected))
	}

	b.Run("esp", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := a.Parse(ctx, next(i), testDefaults); err != nil {
				b.Fatal(err)
			}
		}
		reportEvents(b, perOp)
	})

	native := nativeBody(res.Events)
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := event.ParseNative(native, testDefaults); err != nil {
				b.Fatal(err)
			}
		}
		reportEvents(b, perOp)
	})
}

// nativeBody is the native ingest body of events: one object, or an array.
func nativeBody(events []*event.Event) []byte {
	if len(events) == 1 {
		return events[0].Body()
	}
	bodies := make([][]byte, len(events))
	for i, e := range events {
		bodies[i] = e.Body()
	}
	return append(append([]byte("["), bytes.Join(bodies, []byte(","))...), ']')
}

// reportEvents reports the events parsed per second.
func reportEvents(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "events/s")
}

// same returns the same request at every iteration.
func same(r *Request) func(int) *Request { return func(int) *Request { return r } }

// fixtureItems returns the items of a fixture's JSON array body.
func fixtureItems(b *testing.B, name string) []string {
	data, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		b.Fatal(err)
	}
	v, err := event.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, item := range v.([]any) {
		body, _ := event.Encode(item)
		out = append(out, string(body))
	}
	return out
}

// batchOf repeats items up to n, giving each copy a distinct id by
// replacing the first occurrence of idKey's value prefix.
func batchOf(items []string, n int, idKey string) string {
	parts := make([]string, n)
	for i := range parts {
		item := items[i%len(items)]
		parts[i] = strings.Replace(item, `"`+idKey+`":"`, fmt.Sprintf(`"%s":"%d-`, idKey, i), 1)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func BenchmarkSendGrid(b *testing.B) {
	key := newSendGridKey(b)
	body := batchOf(fixtureItems(b, "sendgrid-batch.json"), benchBatch, "sg_event_id")
	a := newAdapter(b, SourceSendGrid, Config{VerificationKey: key.pub, Now: clockAt(testNow)})
	benchmarkAdapter(b, a, same(key.sign(b, testNow, body)))
}

func BenchmarkMailgun(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(fixtureDir, "mailgun-clicked.json"))
	if err != nil {
		b.Fatal(err)
	}
	_, eventData, _ := strings.Cut(string(body), `"event-data": `)
	eventData = strings.TrimSuffix(strings.TrimSpace(eventData), "}")

	// Every real request spends a new token: sign a pool of requests ahead
	// and start a new replay cache, untimed, each time the pool comes round.
	pool := make([]*Request, 4096)
	for i := range pool {
		pool[i] = mailgunRequest(mailgunKey, testNow, eventData)
	}
	a := newAdapter(b, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
	mg := a.(*mailgun)
	benchmarkAdapter(b, a, func(i int) *Request {
		if i < 0 {
			i = len(pool) - 1
		} else if i%len(pool) == 0 {
			b.StopTimer()
			mg.replay = newReplayCache(len(pool))
			b.StartTimer()
		}
		return pool[i%len(pool)]
	})
}

// credentialRequest returns a fixture request of an ESP that signs nothing.
func credentialRequest(b *testing.B, name string) (Adapter, *Request) {
	for _, f := range loadFixtures(b) {
		if f.Name == name {
			return f.adapter(b), f.request()
		}
	}
	b.Fatalf("no fixture %s", name)
	return nil, nil
}

func BenchmarkPostmark(b *testing.B) {
	a, r := credentialRequest(b, "postmark-click")
	benchmarkAdapter(b, a, same(r))
}

func BenchmarkBrevo(b *testing.B) {
	a, r := credentialRequest(b, "brevo-click")
	benchmarkAdapter(b, a, same(r))
}

func BenchmarkSparkPost(b *testing.B) {
	items := fixtureItems(b, "sparkpost-batch.json")
	body := batchOf(items, benchBatch, "event_id")
	a := newAdapter(b, SourceSparkPost, Config{Bearer: esptest.Bearer})
	h := http.Header{"Authorization": {"Bearer " + esptest.Bearer}}
	benchmarkAdapter(b, a, same(&Request{Header: h, Body: []byte(body)}))
}

func BenchmarkSES(b *testing.B) {
	k := newSNSKey(b)
	data, err := os.ReadFile(filepath.Join(fixtureDir, "ses-sns-click.json"))
	if err != nil {
		b.Fatal(err)
	}
	var m snsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	a := newAdapter(b, SourceSES, Config{CertFile: k.certFile, TopicARNs: []string{testTopic},
		Now: clockAt(testNow)})
	benchmarkAdapter(b, a, same(k.notification(b, "n1", m.Message)))
}

func BenchmarkMandrill(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtureDir, "mandrill-events.decoded.json"))
	if err != nil {
		b.Fatal(err)
	}
	v, err := event.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	var items []string
	for _, item := range v.([]any) {
		body, _ := event.Encode(item)
		items = append(items, string(body))
	}
	events := batchOf(items, benchBatch, "_id")
	a := newAdapter(b, SourceMandrill, Config{WebhookKey: mandrillKey, URL: mandrillURL})
	benchmarkAdapter(b, a, same(mandrillRequest(mandrillKey, mandrillURL, events)))
}

func BenchmarkResend(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(fixtureDir, "resend-email.clicked.json"))
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 5, 12, 15, 0, 51, 0, time.UTC)
	a := newAdapter(b, SourceResend, Config{Secret: esptest.ResendKey, Now: clockAt(at)})
	benchmarkAdapter(b, a, same(resendRequest(b, esptest.ResendKey, "svix", "msg_b", at,
		string(body))))
}
