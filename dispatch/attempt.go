package dispatch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/signer"
)

// The headers every attempt carries besides Content-Type, User-Agent and the
// signature headers of package signer.
const (
	// HeaderEvent is the event type, e.g. "intent.hot_lead".
	HeaderEvent = "X-MailOdds-Event"
	// HeaderDelivery is the delivery id, stable across retries.
	HeaderDelivery = "X-MailOdds-Delivery"
	// HeaderAttempt is the attempt number: 1, 2, ...
	HeaderAttempt = "X-MailOdds-Attempt"
)

// signatureHeaders are left out of the audit record and cannot be set as a
// hook's static headers. webhook-id repeats X-MailOdds-Delivery and
// webhook-timestamp the attempt time, both recorded elsewhere.
var signatureHeaders = []string{
	textproto.CanonicalMIMEHeaderKey(signer.HeaderMailOddsSignature),
	textproto.CanonicalMIMEHeaderKey(signer.HeaderWebhookID),
	textproto.CanonicalMIMEHeaderKey(signer.HeaderWebhookTimestamp),
	textproto.CanonicalMIMEHeaderKey(signer.HeaderWebhookSignature),
}

// redacted replaces the values of credential-like static headers in the audit
// record.
const redacted = "[redacted]"

// credentialWords mark a header name whose value the audit record redacts:
// Authorization, Cookie, X-Api-Key, X-Auth-Token, ...
var credentialWords = []string{
	"auth", "cookie", "credential", "key", "passw", "secret", "session", "signature", "token",
}

// exchange is the HTTP part of an attempt.
type exchange struct {
	attempt queue.Attempt
	// ok: a 2xx response, read completely within the timeout.
	ok bool
	// gone: the endpoint answered 410 Gone.
	gone bool
	// retryAfter is the Retry-After of a 429 or 503.
	retryAfter time.Duration
	// aborted: Stop cancelled the attempt; its lease goes back unrecorded.
	aborted bool
}

// run makes one attempt of a leased delivery and records it.
func (d *Dispatcher) run(j job) {
	l := j.lease
	hookID := l.Delivery.HookID
	defer d.attempts.Done()
	if d.stopping() {
		d.cfg.Queue.Abandon(l)
		d.release(hookID, false)
		return
	}

	number := l.Delivery.Attempts + 1
	t, found := d.cfg.Targets(hookID)
	var ex exchange
	if found {
		ex = d.send(t, l.Delivery, number)
	} else {
		ex.attempt = queue.Attempt{At: d.now(), Error: fmt.Sprintf(
			"hook %s no longer exists; the delivery was not sent", hookID)}
	}
	// A delivered attempt gives its hook's place back before its outcome is
	// stored; a failed one keeps it until then, so that no further attempt
	// of a failing hook starts before the failure may have disabled it.
	if ex.ok {
		d.answered(hookID)
	}
	defer d.release(hookID, ex.ok)
	if ex.aborted {
		d.cfg.Queue.Abandon(l)
		return
	}

	report := d.report(&ex, number, found)
	rec, err := d.record(l, report)
	d.observe(l, t, &ex, report, err == nil, found)
	if found && err == nil {
		d.checkDisable(t, l, j.gen, &ex, rec)
	}
}

// send makes the HTTP request of an attempt, bounded by the timeout from
// connecting to the end of the response body.
func (d *Dispatcher) send(t Target, dl queue.Delivery, number int) exchange {
	at := d.now()
	method := cmp.Or(t.Method, http.MethodPost)
	ex := exchange{attempt: queue.Attempt{
		At:      at,
		Request: queue.Request{URL: auditURL(t.URL), Method: method, Body: dl.Body},
	}}
	ctx, cancel := context.WithTimeout(d.base, d.cfg.Timeout)
	defer cancel()

	req, header, err := d.newRequest(ctx, t, method, dl, number, at)
	ex.attempt.Request.Header = header
	if err != nil {
		ex.attempt.Error = err.Error()
		return ex
	}

	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		ex.attempt.Latency = time.Since(start)
		ex.attempt.Error = d.describe(ctx, err, "waiting for the response")
		ex.aborted = d.base.Err() != nil
		return ex
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, queue.MaxResponseBody+1))
	_ = resp.Body.Close() // Unread bytes past the limit only cost the connection.
	ex.attempt.Latency = time.Since(start)
	ex.attempt.StatusCode = resp.StatusCode
	ex.attempt.Response = queue.Response{Header: resp.Header, Body: body}
	if len(body) > queue.MaxResponseBody {
		ex.attempt.Response.Body = body[:queue.MaxResponseBody]
	}

	d.judge(ctx, &ex, resp, readErr)
	return ex
}

// judge sets the outcome of a response.
func (d *Dispatcher) judge(ctx context.Context, ex *exchange, resp *http.Response, readErr error) {
	code := resp.StatusCode
	ex.gone = code == http.StatusGone
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		ex.retryAfter, _ = ParseRetryAfter(resp.Header.Get("Retry-After"), d.now())
	}
	switch {
	case readErr != nil:
		ex.attempt.Error = d.describe(ctx, readErr, "reading the response body")
		ex.aborted = d.base.Err() != nil
	case code >= 200 && code <= 299:
		ex.ok = true
	case code >= 300 && code <= 399:
		ex.attempt.Error = fmt.Sprintf("unexpected status %d: redirects are not followed", code)
	case ex.gone:
		ex.attempt.Error = "status 410: the endpoint is gone"
	default:
		ex.attempt.Error = fmt.Sprintf("unexpected status %d", code)
	}
}

// newRequest builds the signed request of an attempt and the request headers
// the audit record keeps: all sent headers except the signature headers, with
// credential-like static headers redacted.
func (d *Dispatcher) newRequest(ctx context.Context, t Target, method string, dl queue.Delivery,
	number int, at time.Time) (*http.Request, http.Header, error) {
	h := make(http.Header, len(t.Header)+9)
	for k, vs := range t.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, k := range signatureHeaders {
		delete(h, k)
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.cfg.UserAgent)
	h.Set(HeaderEvent, dl.EventType)
	h.Set(HeaderDelivery, dl.ID)
	h.Set(HeaderAttempt, strconv.Itoa(number))
	audit := auditHeader(h)

	u, err := url.Parse(t.URL)
	if err != nil {
		return nil, audit, fmt.Errorf("hook url: %w", errors.Unwrap(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, audit, errors.New("hook url: want an absolute http or https url")
	}
	sig, err := t.Secrets.Sign(dl.ID, at, dl.Body)
	if err != nil {
		return nil, audit, err
	}
	sig.SetHeaders(h)

	req, err := http.NewRequestWithContext(ctx, method, t.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return nil, audit, fmt.Errorf("building request: %w", err)
	}
	req.Header = h
	return req, audit, nil
}

// auditHeader copies h for the audit record, redacting credential-like values.
func auditHeader(h http.Header) http.Header {
	out := h.Clone()
	for k, vs := range out {
		if isCredentialHeader(k) {
			for i := range vs {
				vs[i] = redacted
			}
		}
	}
	return out
}

func isCredentialHeader(name string) bool {
	name = strings.ToLower(name)
	return slices.ContainsFunc(credentialWords, func(w string) bool {
		return strings.Contains(name, w)
	})
}

// auditURL is the URL as the audit record keeps it: without a password.
func auditURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// describe turns a request error into the attempt's error. It leaves out the
// URL that net/http puts in its errors: the audit record holds it already, and
// logs should not.
func (d *Dispatcher) describe(ctx context.Context, err error, doing string) string {
	var dest *DestinationError
	if errors.As(err, &dest) {
		return dest.Error()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s %s", d.cfg.Timeout, doing)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return doing + ": " + err.Error()
}

// report decides the outcome of an attempt: delivered, a retry on the
// schedule, or failed.
func (d *Dispatcher) report(ex *exchange, number int, found bool) queue.Report {
	if ex.ok {
		return queue.Report{Outcome: queue.Delivered, Attempt: ex.attempt}
	}
	wait, more := d.cfg.Retry.Next(number, ex.retryAfter, nil)
	if !found || !more {
		return queue.Report{Outcome: queue.Failed, Attempt: ex.attempt}
	}
	retryAt := d.now().Add(wait)
	ex.attempt.NextRetryAt = retryAt
	return queue.Report{Outcome: queue.Retry, RetryAt: retryAt, Attempt: ex.attempt}
}

// record stores the attempt. It is not cancelled by Stop: the request was sent.
func (d *Dispatcher) record(l queue.Lease, r queue.Report) (queue.Recorded, error) {
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	defer cancel()
	rec, err := d.cfg.Queue.Record(ctx, l, r)
	if err != nil {
		d.log.Error("recording attempt failed", zap.String("hook_id", l.Delivery.HookID),
			zap.String("delivery_id", l.Delivery.ID), zap.Error(err))
	}
	return rec, err
}

// observe keeps the hook's recent errors, logs the attempt and calls
// OnAttempt.
func (d *Dispatcher) observe(l queue.Lease, t Target, ex *exchange, r queue.Report,
	recorded, found bool) {
	dl := &l.Delivery
	d.mu.Lock()
	h := d.hook(dl.HookID)
	switch {
	case ex.ok || !found:
		h.lastErrors = nil
	default:
		h.lastErrors = append(h.lastErrors, ex.attempt.Error)
		if n := len(h.lastErrors); n > maxLastErrors {
			h.lastErrors = slices.Delete(h.lastErrors, 0, n-maxLastErrors)
		}
	}
	d.mu.Unlock()

	a := &ex.attempt
	number := dl.Attempts + 1
	level, msg := zapcore.DebugLevel, "delivery attempt"
	if r.Outcome == queue.Failed {
		level, msg = zapcore.WarnLevel, "delivery failed"
	}
	if ce := d.log.Check(level, msg); ce != nil {
		ce.Write(zap.String("hook_id", dl.HookID), zap.String("delivery_id", dl.ID),
			zap.Int("attempt", number), zap.Stringer("outcome", r.Outcome),
			zap.Int("status_code", a.StatusCode), zap.Duration("latency", a.Latency),
			zap.String("error", a.Error), zap.Time("next_retry_at", a.NextRetryAt))
	}
	if d.cfg.OnAttempt != nil {
		d.cfg.OnAttempt(AttemptResult{
			HookID: dl.HookID, Account: t.Account, DeliveryID: dl.ID,
			EventID: dl.EventID, EventType: dl.EventType, Attempt: number,
			Outcome: r.Outcome, StatusCode: a.StatusCode, Latency: a.Latency, Error: a.Error,
			NextRetryAt: a.NextRetryAt, Recorded: recorded,
		})
	}
}

// checkDisable disables the hook after a 410 Gone or at DisableAfter
// consecutive failures, once per disable: attempts leased before the decision
// (their gen is not above disabledGen) were part of the failures that led to
// it, and no lease is taken while ParkHook runs, so the next attempt that can
// disable the hook again was leased after the hook was enabled again.
func (d *Dispatcher) checkDisable(t Target, l queue.Lease, gen uint64, ex *exchange,
	rec queue.Recorded) {
	var reason string
	switch {
	case ex.gone:
		reason = "the endpoint answered 410 Gone"
	case d.cfg.DisableAfter > 0 && rec.Failures >= d.cfg.DisableAfter:
		reason = fmt.Sprintf("%d consecutive failed attempts, the last: %s", rec.Failures,
			ex.attempt.Error)
	default:
		return
	}
	hookID := l.Delivery.HookID

	d.mu.Lock()
	h := d.hook(hookID)
	if gen <= h.disabledGen {
		d.mu.Unlock()
		return
	}
	prev := h.disabledGen
	h.disabledGen, h.parking = h.gen, true
	lastErrors := slices.Clone(h.lastErrors)
	d.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	err := d.cfg.Queue.ParkHook(ctx, hookID, reason)
	cancel()

	d.mu.Lock()
	h.parking = false
	if err != nil {
		h.disabledGen = prev
	} else {
		h.lastErrors = nil
	}
	d.mu.Unlock()
	d.poke()

	if err != nil {
		d.log.Error("disabling hook failed", zap.String("hook_id", hookID), zap.Error(err))
		return
	}
	d.log.Warn("hook disabled", zap.String("hook_id", hookID),
		zap.String("account", t.Account), zap.String("reason", reason),
		zap.Int("consecutive_failures", rec.Failures))
	if d.cfg.OnDisable != nil {
		d.cfg.OnDisable(Disabled{
			HookID: hookID, Account: t.Account, Reason: reason,
			Failures: rec.Failures, LastErrors: lastErrors, At: d.now(),
		})
	}
}
