// Package esp verifies the webhook requests of email service providers and
// translates their events into hookgate's canonical events.
//
// There is one [Adapter] per ESP: SendGrid, Mailgun, Postmark, Amazon SES
// (through SNS), Mandrill (Mailchimp Transactional), SparkPost, Brevo and
// Resend. [New] builds one from the settings hookgate_ingest takes
// ([Config]); each ESP also has its own constructor. An adapter first checks
// the request with the ESP's own scheme, over the raw body, and only then
// parses it:
//
//	sendgrid   ECDSA P-256 over the timestamp header and the body (verification_key)
//	mailgun    HMAC-SHA256 of the signature block's timestamp and token (signing_key);
//	           each token is accepted with one body only
//	postmark,  Authorization: Basic (basic_auth) or Bearer (bearer), compared in
//	sparkpost, constant time; these ESPs sign nothing
//	brevo
//	ses        SNS signature v1 (SHA-1) or v2 (SHA-256) with a pinned certificate
//	           (cert_file) or one fetched from an sns.<region>.amazonaws.com host,
//	           and the topic allow-list (topic_arn)
//	mandrill   HMAC-SHA1 over the configured URL and the sorted form (webhook_key, url);
//	           a repeated form parameter is refused
//	resend     Standard Webhooks / Svix headers (secret); svix-id and webhook-id, when
//	           both are sent, must agree
//
// A source given none of its settings accepts unsigned requests
// ([Adapter.Verifies] is false). SES always checks SNS signatures, which cost
// no secret, but without topic_arn any AWS account's topic passes.
//
// # Outcomes
//
// [Adapter.Parse] returns an error wrapping [ErrUnauthenticated] (answer 401,
// store nothing), [ErrMalformed] (400) or [ErrUnavailable] (503, so the ESP
// retries). Otherwise its [Result] holds the events, the invalid items of a
// batch (never sinking the valid ones) and the count of authentic items of a
// kind hookgate does not map, which the handler answers 2xx like the others
// so the ESP does not retry them. An SNS SubscriptionConfirmation sets
// Result.Subscription; with auto_confirm the handler confirms it through
// [Confirmer].
//
// # Canonical events
//
// Events are built with event.New, so they are validated like native ones.
// Besides the canonical fields (id, type, timestamp, recipient, message_id,
// url, user_agent, ip, domain, environment, is_human, dwell_seconds,
// metadata), every event carries:
//
//   - "source": the ESP's name, as hookgate_ingest takes it.
//   - "esp": the ESP's own event object, unchanged, numbers exact (for SES the
//     decoded SES record, for Mailgun event-data, for SparkPost the object
//     inside msys). Rules reach ESP-specific fields as esp.<key>.
//   - "metadata": the sender's custom metadata: SendGrid custom arguments (the
//     keys SendGrid does not define), Mailgun user-variables, Postmark
//     Metadata, SES message tags (without SES's own "ses:" tags, a one-value
//     tag as a string), Mandrill msg.metadata, SparkPost rcpt_meta, Brevo
//     X-Mailin-custom when it holds a JSON object, Resend tags.
//   - "tags", when the ESP has tags or categories: an array of strings.
//   - "sns" on SES events: {"message_id", "topic_arn"} of the envelope.
//
// The environment is the metadata's "environment" string when the sender set
// one, else the route's. The domain is the sender's domain when the ESP names
// the sender (Mailgun domain.name, SES ses:from-domain or source, Postmark
// bounces' From, Mandrill msg.sender, SparkPost friendly_from, Resend from),
// else the route's: SendGrid and Brevo events, and Postmark's other events,
// need the route's domain. The ip is the recipient's: ESPs that report their
// sending or MX address on delivery events keep it under esp only.
//
// A permanent (hard) bounce gives two events, message.bounced with id <id>
// and inbound.hard_bounce with id <id>:inbound. A soft failure is
// message.deferred while the ESP retries and message.failed once it gives
// up; drops, suppressions and policy rejects are message.failed; a bounce
// the ESP could not classify is message.bounced alone. One SES or Resend
// record naming several recipients gives one event per recipient, with id
// <id>:<recipient>; their opens and clicks cannot be attributed and name no
// recipient.
//
// # Per source
//
//	ESP event                                 canonical type          id
//	sendgrid   processed                      message.queued          sg_event_id
//	           delivered                      message.delivered
//	           deferred                       message.deferred
//	           bounce (type bounce)           hard bounce pair
//	           bounce (blocked, expired)      message.failed
//	           dropped                        message.failed
//	           open / click                   message.opened / .clicked
//	           spamreport                     inbound.complaint
//	           unsubscribe, group_unsubscribe message.unsubscribed
//	mailgun    accepted                       message.queued          event-data.id
//	           delivered                      message.delivered
//	           failed temporary               message.deferred
//	           failed temporary, reason old   message.failed
//	           failed permanent, reason bounce hard bounce pair
//	           failed permanent, other; rejected message.failed
//	           opened / clicked               message.opened / .clicked
//	           complained                     inbound.complaint
//	           unsubscribed                   message.unsubscribed
//	postmark   Delivery                       message.delivered       built*
//	           Bounce HardBounce              hard bounce pair        ID
//	           Bounce Transient, DnsError     message.deferred        ID
//	           Bounce Unknown                 message.bounced         ID
//	           Bounce SoftBounce, Blocked, DMARCPolicy, BadEmailAddress, SpamNotification,
//	           VirusNotification, ManuallyDeactivated, Unconfirmed, SMTPApiError,
//	           TemplateRenderingFailed        message.failed          ID
//	           Bounce Unsubscribe             message.unsubscribed    ID
//	           SpamComplaint                  inbound.complaint       ID
//	           Open / Click                   message.opened / .clicked built*
//	           SubscriptionChange, manual suppression message.unsubscribed built*
//	ses        Send                           message.queued          SNS MessageId
//	           Delivery                       message.delivered
//	           DeliveryDelay                  message.deferred
//	           Bounce Permanent               hard bounce pair
//	           Bounce Permanent Suppressed, OnAccountSuppressionList message.failed
//	           Bounce Transient (no longer retried) message.failed
//	           Bounce Undetermined            message.bounced
//	           Complaint                      inbound.complaint (not-spam: unmapped;
//	                                          OnAccountSuppressionList: message.failed)
//	           Reject, Rendering Failure      message.failed
//	           Open / Click                   message.opened / .clicked
//	           Subscription opting out        message.unsubscribed
//	mandrill   send                           message.queued          built*
//	           delivered                      message.delivered
//	           deferral                       message.deferred
//	           hard_bounce                    hard bounce pair
//	           soft_bounce, reject            message.failed
//	           open / click                   message.opened / .clicked
//	           spam                           inbound.complaint
//	           unsub                          message.unsubscribed
//	sparkpost  injection                      message.queued          event_id
//	           delivery                       message.delivered
//	           delay                          message.deferred
//	           bounce, out_of_band class 10, 30 hard bounce pair
//	           bounce class 1 (undetermined)  message.bounced
//	           bounce class 90                message.unsubscribed
//	           bounce other classes; policy_rejection, generation_* message.failed
//	           open, initial_open, amp_* / click message.opened / .clicked
//	           spam_complaint                 inbound.complaint
//	           list_unsubscribe, link_unsubscribe message.unsubscribed
//	brevo      request                        message.queued          built*
//	           delivered                      message.delivered
//	           deferred                       message.deferred
//	           hard_bounce                    hard bounce pair
//	           soft_bounce, invalid_email, blocked, error message.failed
//	           opened, unique_opened, proxy_open, unique_proxy_open message.opened
//	           click                          message.clicked
//	           spam, complaint                inbound.complaint
//	           unsubscribed                   message.unsubscribed
//	resend     email.sent                     message.queued          svix-id header
//	           email.delivered                message.delivered
//	           email.delivery_delayed         message.deferred
//	           email.bounced                  as SES bounces
//	           email.failed, email.suppressed message.failed
//	           email.opened / email.clicked   message.opened / .clicked
//	           email.complained               inbound.complaint
//
// Any other event is unmapped. A built* id, for an ESP event that has none,
// is "<source>-" and 32 hex digits of a SHA-256 over fields that a retry
// repeats: Postmark RecordType, MessageID, recipient, time and link; Mandrill
// _id, event, ts and url; Brevo message-id, event, email, ts_epoch, ts_event
// and link. SendGrid, Mailgun, SparkPost and Resend events lacking their id
// get one built the same way.
//
// is_human comes only from the ESP's own machine-engagement verdict: false
// for a SendGrid open with sg_machine_open, a Mailgun event whose
// client-info.bot names a bot, a Brevo proxy open, a Mandrill event whose
// user agent parses as a robot; true for a SendGrid open with
// sg_machine_open false, a Mailgun event whose bot is empty and a Brevo
// (non-proxy) open. Postmark, SES, SparkPost and Resend give no such signal,
// nor do the clicks of SendGrid and Brevo, and is_human is then absent.
//
// # Replays
//
// SendGrid, SES and Mailgun signatures may be DefaultTolerance old (a day,
// hookgate's default dedupe window), Resend's 5 minutes; within that window
// the ESP's stable event ids make a replay a duplicate. Mailgun signs no body,
// so its tokens are also remembered with the body each came with, in memory
// and up to DefaultReplayCacheSize of them: a token seen before with another
// body is refused. The same body again is Mailgun retrying a request whose
// answer it did not get, and becomes a duplicate.
package esp
