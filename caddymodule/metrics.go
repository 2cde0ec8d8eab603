package caddymodule

import (
	"errors"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hookgate/hookgate/dispatch"
	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/queue"
)

// The collectors live as long as the process; each configuration load
// registers them with its fresh registry, so the counts survive reloads.
var (
	eventsReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "events_received_total",
		Help:      "Valid events received, by event type.",
	}, []string{"type"})
	eventsRejected = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "events_rejected_total",
		Help:      "Items of ingest requests rejected as invalid.",
	})
	eventsDuplicate = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "events_duplicate_total",
		Help:      "Events whose id was seen within the dedupe window, by event type.",
	}, []string{"type"})
	eventsMatched = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "events_matched_total",
		Help:      "Events that matched at least one hook, by event type.",
	}, []string{"type"})
	eventsFiltered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "events_filtered_total",
		Help:      "Events that matched no hook, by event type.",
	}, []string{"type"})
	eventsUnmapped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "events_unmapped_total",
		Help:      "Authentic ESP items of a kind hookgate does not map, dropped, by source.",
	}, []string{"source"})
	ruleMismatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "rule_type_mismatches_total",
		Help: "Rule leaves that were false because the field's value had a type " +
			"the operator does not take, by hook.",
	}, []string{"hook_id"})
	attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "delivery_attempts_total",
		Help:      "Delivery attempts by outcome: delivered, retry or failed.",
	}, []string{"outcome"})
	attemptDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "hookgate",
		Name:      "delivery_attempt_duration_seconds",
		Help:      "Duration of delivery attempts, by response status code (0: none).",
		Buckets:   prometheus.ExponentialBuckets(0.005, 2, 12),
	}, []string{"code"})
	hooksDisabled = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "hookgate",
		Name:      "hooks_disabled_total",
		Help:      "Hooks disabled by failures or by 410 Gone.",
	})
	queueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "hookgate",
		Name:      "queue_depth",
		Help:      "Deliveries waiting to be delivered, in flight included.",
	}, func() float64 { return float64(storeStats().Pending) })
	parked = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "hookgate",
		Name:      "deliveries_parked",
		Help:      "Deliveries parked for disabled hooks.",
	}, func() float64 { return float64(storeStats().Parked) })

	collectors = []prometheus.Collector{
		eventsReceived, eventsRejected, eventsDuplicate, eventsMatched, eventsFiltered,
		eventsUnmapped, ruleMismatches, attempts, attemptDuration, hooksDisabled, queueDepth, parked,
	}
)

// registerMetrics registers the collectors with the configuration's registry.
func registerMetrics(ctx caddy.Context) {
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				ctx.Logger().Error("registering metric", zap.Error(err))
			}
		}
	}
}

// storeStats reads the current store's counts; zero without one.
func storeStats() queue.Stats {
	gw := runningGateway()
	if gw == nil {
		return queue.Stats{}
	}
	st, _ := gw.Store().Stats()
	return st
}

// observeIngest counts what became of the events of one request.
func observeIngest(res gateway.Ingested, rejected int) {
	if rejected > 0 {
		eventsRejected.Add(float64(rejected))
	}
	for _, e := range res.Events {
		eventsReceived.WithLabelValues(e.Type).Inc()
		switch {
		case e.Duplicate:
			eventsDuplicate.WithLabelValues(e.Type).Inc()
		case e.Matched > 0:
			eventsMatched.WithLabelValues(e.Type).Inc()
		default:
			eventsFiltered.WithLabelValues(e.Type).Inc()
		}
	}
}

// observeMismatch counts the type-mismatched leaves of a failed rule.
func observeMismatch(hookID string, n int) {
	ruleMismatches.WithLabelValues(hookID).Add(float64(n))
}

// observeUnmapped counts the items of an ESP's request that map to no
// canonical type.
func observeUnmapped(source string, n int) {
	if n > 0 {
		eventsUnmapped.WithLabelValues(source).Add(float64(n))
	}
}

// observeAttempt counts one delivery attempt.
func observeAttempt(a dispatch.AttemptResult) {
	attempts.WithLabelValues(a.Outcome.String()).Inc()
	attemptDuration.WithLabelValues(strconv.Itoa(a.StatusCode)).Observe(a.Latency.Seconds())
}
