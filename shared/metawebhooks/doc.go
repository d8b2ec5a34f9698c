// Package metawebhooks turns Meta's WhatsApp Business Account webhooks
// about our customers' accounts into changes of their signup records. The
// HTTP side of /webhooks/meta is apigw.MetaWebhooks, beside every other
// API Gateway handler; the rules are here.
//
// GET answers Meta's verification handshake: hub.mode=subscribe and the
// verify token we registered (kept in Secrets Manager) get hub.challenge
// back. POST carries notifications signed with X-Hub-Signature-256, the
// HMAC-SHA256 of the raw body with the app secret; anything else is
// refused with 401 before it is read further.
//
// A notification holds entries (one per WABA), each with changes named by
// field. Each change is handled once: its key (a digest of the WABA, time,
// field and value) is claimed in the dedup table first, so Meta's
// redeliveries of a notification change nothing twice, and a delivery cut
// by a crash is finished by the next one. What a change does:
//
//   - account_update PARTNER_APP_UNINSTALLED, PARTNER_REMOVED,
//     ACCOUNT_DELETED: the record becomes disconnected;
//   - ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION, DISABLED_UPDATE,
//     ACCOUNT_OFFBOARDED: restricted, with Meta's reason and the
//     restriction's end when given (a DISABLED_UPDATE that reinstates the
//     account, or an ACCOUNT_RECONNECTED after an offboarding, makes it
//     onboarded again; the resume run lifts a restriction whose end came);
//   - PARTNER_APP_INSTALLED, PARTNER_ADDED for a WABA no signup named: an
//     unclaimed record, with the business that owns it;
//   - a partner event naming another partner's app than ours
//     (waba_info.partner_app_id against Service.AppID): nothing, as the
//     WABA is shared with that partner as well as with us;
//   - phone_number_quality_update and phone_number_name_update: the
//     record's health fields; business_capability_update: its messaging
//     limit, which is the business portfolio's and shared by its numbers
//     (so the quality webhook's max_daily_conversations_per_business
//     reaches the record whichever of the WABA's numbers it is about);
//     account_review_update: Meta's review decision on the WABA. A health
//     change that finds no record while the WABA's signup may still be
//     posting its code (Meta reports a new WABA's limit as it is created)
//     waits for it, as a share does (awaitRecord).
//
// Only a value's event (or decision) is read strictly: every other key is
// read as a string or a number, and a list or an object in either shape,
// so that a key sent in another form than Meta's reference gives does not
// lose the change it is in.
//
// An unknown field or event, unknown keys in a known one, or any change
// of a notification for another object than a WABA (one naming no object
// is applied), is stored in the
// dedup table and counted (MetricUnknown), never refused: Meta adds
// events, and a 5xx would only make it redeliver them. The record changes
// are published by the table's stream (shared/lifecycle), not here.
//
// A new field is a Field constant (payload.go) and a case of Decide
// (decide.go) that turns its value into an Action, which Service applies
// (service.go); Meta sends it only once the app subscribes to it in the
// App Dashboard, so its name joins the list in docs/lifecycle.md.
package metawebhooks
