//! A deployment's status from one item of Edgegap's list (`GET /v1/deployments`), next to what
//! the view knew of it.
//!
//! A list item says less than a status read: `ready` (READY or not), and the deployment's
//! address (`fqdn`, `public_ip`, `ports`) and `tags`; it has no `current_status`. So:
//!
//! - **ready**: the status is `Status.READY` (`running: true`, `error: false`), the item's
//!   fields over the last status known (a deployment listed READY is READY);
//! - **not ready**, last known status on the way to READY (`INITIALIZING` … `DEPLOYING`): that
//!   status is kept (the list cannot tell those apart), while it was read, or first listed,
//!   less than `stale_after` ago;
//! - **not ready**, never read: `Status.DEPLOYING` (on its way; the list cannot say which
//!   step);
//! - anything else (not ready after READY, an ERROR or TERMINATING before, not ready for longer
//!   than `stale_after`, an item without `tags`) is what the list cannot say: the caller reads
//!   the status itself.
//!
//! Ownership is never guessed: the tags come from Edgegap's item (an item without them cannot
//! say), so a status made here shows exactly the owner tag Edgegap holds.

use std::time::{Duration, Instant};

use bevy_edgegap::api::{DeploymentStatus, Endpoint, GetStatus, HttpResponse, Status};
use serde_json::{Map, Value};

/// The item's fields a status object shares, copied as Edgegap sent them.
const COPIED: [&str; 7] = [
    "request_id",
    "fqdn",
    "public_ip",
    "ports",
    "tags",
    "sockets",
    "sockets_usage",
];

/// A deployment's status as an item of the list says it: Edgegap's status object as the view
/// answers it, and since when its `current_status` is known (a status read, or the first list
/// seeing it so).
#[derive(Debug)]
pub(crate) struct FromList {
    pub(crate) status: DeploymentStatus,
    pub(crate) response: HttpResponse,
    pub(crate) known_since: Instant,
}

/// The last status the view holds of a deployment: Edgegap's status object (as answered), its
/// decoded status, and since when that `current_status` is known.
pub(crate) struct Known<'a> {
    pub(crate) status: &'a DeploymentStatus,
    pub(crate) body: &'a [u8],
    pub(crate) known_since: Instant,
}

/// Whether an item's `ready` says READY (`true`, or the text `"true"`).
pub(crate) fn is_ready(item: &Map<String, Value>) -> bool {
    match item.get("ready") {
        Some(Value::Bool(ready)) => *ready,
        Some(Value::String(text)) => text.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The status of the deployment `item` lists, read at `at`, over `known` (the view's last
/// status of it, if any); `stale_after`: how long a status on the way to READY is kept
/// without a status read. `None`: listed, but the list cannot say its status (read it).
pub(crate) fn from_item(
    item: &Map<String, Value>,
    at: Instant,
    known: Option<Known<'_>>,
    stale_after: Duration,
) -> Option<FromList> {
    let id = item.get("request_id").and_then(Value::as_str)?;
    if !item.get("tags").is_some_and(Value::is_array) {
        return None;
    }
    let ready = is_ready(item);
    let (current, known_since) = match &known {
        _ if ready => (Status::Ready, at),
        None => (Status::Deploying, at),
        Some(known)
            if known.status.current_status.is_starting()
                && at.saturating_duration_since(known.known_since) < stale_after =>
        {
            (known.status.current_status.clone(), known.known_since)
        }
        Some(_) => return None,
    };
    let mut body = known
        .as_ref()
        .and_then(|k| serde_json::from_slice::<Map<String, Value>>(k.body).ok())
        .unwrap_or_default();
    for key in COPIED {
        if let Some(value) = item.get(key).filter(|v| !v.is_null()) {
            body.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(known) = &known
        && known.status.current_status != current
    {
        body.insert(
            "last_status".into(),
            Value::from(known.status.current_status.as_wire()),
        );
    }
    body.insert("current_status".into(), Value::from(current.as_wire()));
    body.insert("running".into(), Value::Bool(ready));
    body.insert("error".into(), Value::Bool(false));
    let response = HttpResponse::new(200, Value::Object(body).to_string());
    match GetStatus::new(id).decode(&response) {
        Ok(status) if status.request_id.as_str() == id => Some(FromList {
            status,
            response,
            known_since,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(ready: bool) -> Map<String, Value> {
        let Value::Object(item) = json!({
            "request_id": "a1b2c3d4e5f6",
            "fqdn": "a1b2c3d4e5f6.pr.edgegap.net",
            "start_time": "2026-04-22 12:00:46.444265",
            "ready": ready,
            "public_ip": "10.0.0.9",
            "ports": {"gameport": {"external": 31001, "internal": 7777, "protocol": "UDP"}},
            "tags": ["gw-0123456789abcdef"],
        }) else {
            unreachable!()
        };
        item
    }

    fn status_of(list: Option<FromList>) -> (DeploymentStatus, Value) {
        let list = list.expect("the list could say");
        (
            list.status,
            serde_json::from_slice(&list.response.body).unwrap(),
        )
    }

    #[test]
    fn a_ready_item_is_ready_with_its_address_and_tags_over_what_was_known() {
        let now = Instant::now();
        let read = json!({
            "request_id": "a1b2c3d4e5f6", "current_status": "Status.DEPLOYING",
            "app_name": "game", "app_version": "v1", "running": false,
            "location": {"city": "Montreal"}, "tags": ["gw-0123456789abcdef"],
        })
        .to_string();
        let known = GetStatus::new("a1b2c3d4e5f6")
            .decode(&HttpResponse::new(200, read.clone()))
            .unwrap();
        let (status, body) = status_of(from_item(
            &item(true),
            now,
            Some(Known {
                status: &known,
                body: read.as_bytes(),
                known_since: now,
            }),
            Duration::from_secs(30),
        ));
        assert_eq!(status.current_status, Status::Ready);
        assert_eq!(status.last_status, Some(Status::Deploying));
        assert_eq!(status.running, Some(true));
        assert_eq!(status.public_ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(status.tags, ["gw-0123456789abcdef"]);
        assert!(status.port("gameport").is_some());
        assert_eq!(body["app_name"], "game");
        assert_eq!(body["location"]["city"], "Montreal");
        // Never read: READY from the item alone.
        let (alone, _) = status_of(from_item(&item(true), now, None, Duration::ZERO));
        assert_eq!(alone.current_status, Status::Ready);
    }

    #[test]
    fn not_ready_keeps_a_starting_status_for_a_while_and_cannot_say_anything_else() {
        let t0 = Instant::now();
        let stale = Duration::from_secs(30);
        // Never read: on its way.
        let (first, _) = status_of(from_item(&item(false), t0, None, stale));
        assert_eq!(first.current_status, Status::Deploying);
        assert_eq!(first.running, Some(false));
        let known = |status: &str| {
            let body = json!({"request_id": "a1b2c3d4e5f6", "current_status": status}).to_string();
            let decoded = GetStatus::new("a1b2c3d4e5f6")
                .decode(&HttpResponse::new(200, body.clone()))
                .unwrap();
            (decoded, body)
        };
        let (seeking, body) = known("Status.SEEKING");
        let with = |at: Instant| {
            from_item(
                &item(false),
                at,
                Some(Known {
                    status: &seeking,
                    body: body.as_bytes(),
                    known_since: t0,
                }),
                stale,
            )
        };
        assert_eq!(
            status_of(with(t0 + Duration::from_secs(5)))
                .0
                .current_status,
            Status::Seeking
        );
        assert!(with(t0 + Duration::from_secs(31)).is_none());
        // Not ready after READY, or after an ERROR: stopping, failed, or something else.
        for status in ["Status.READY", "Status.ERROR", "Status.TERMINATING"] {
            let (decoded, body) = known(status);
            let said = from_item(
                &item(false),
                t0,
                Some(Known {
                    status: &decoded,
                    body: body.as_bytes(),
                    known_since: t0,
                }),
                stale,
            );
            assert!(said.is_none(), "{status}");
        }
        // No tags: ownership cannot be told; no id: nothing.
        let mut untagged = item(true);
        untagged.remove("tags");
        assert!(from_item(&untagged, t0, None, stale).is_none());
        let mut anonymous = item(true);
        anonymous.remove("request_id");
        assert!(from_item(&anonymous, t0, None, stale).is_none());
    }

    #[test]
    fn ready_is_a_boolean_or_its_text() {
        for (value, ready) in [
            (json!(true), true),
            (json!("True"), true),
            (json!(false), false),
            (json!(1), false),
            (Value::Null, false),
        ] {
            let mut item = item(false);
            item.insert("ready".into(), value.clone());
            assert_eq!(is_ready(&item), ready, "{value}");
        }
    }
}
