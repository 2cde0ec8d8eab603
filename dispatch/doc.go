// Package dispatch delivers queued webhook deliveries to their hooks over HTTP.
//
// A [Dispatcher] takes due deliveries from a [queue.WorkQueue], signs each
// attempt with the hook's secrets, sends it, and records the attempt and its
// outcome: delivered on any 2xx within the timeout, otherwise a retry on the
// [RetryPolicy] or, when the schedule is exhausted, failed. A hook whose
// endpoint answers 410 Gone, or that fails DisableAfter attempts in a row, is
// parked in the queue and reported once through Config.OnDisable.
//
// One slow or dead endpoint cannot hold up the others: each hook has at most
// Config.PerHook attempts waiting for their endpoint, and the free workers are
// handed out across the hooks with due work, the hook served longest ago
// first.
//
// Hook URLs are guarded against server-side request forgery: unless
// Config.AllowPrivateDestinations is set, a connection to a private, loopback,
// link-local, shared (CGNAT), multicast or otherwise non-public address is
// refused when it is dialled, after name resolution, so a DNS answer that
// changes between checks cannot get around it. See [CheckDestination].
package dispatch
