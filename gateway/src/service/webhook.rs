//! `POST /webhooks/{secret}`: Edgegap says a deployment moved on.
//!
//! A READY webhook carrying its owner's proof (`?owner=<tag>&proof=<hex>`, set on every deploy
//! by the gateway and seen only by Edgegap) is believed at once: its body, Edgegap's status
//! JSON, becomes the deployment's status as if read when the webhook arrived, and wakes the
//! requests held on it on every replica, with no upstream read. It is believed only when the
//! body says READY for that deployment, tagged with that owner, with what a player needs to
//! connect (a host, every port's external port), and the store knows the deployment as one of
//! that owner's live ones (a stop removes it first). Three are believed at once per deployment,
//! then one per status interval; the rest are treated as unproven.
//!
//! Every other claim (a webhook without a proof or with a wrong one, ERROR, TERMINATED, a body
//! in another shape) is never believed: it triggers one confirming upstream read, which wakes
//! the requests held on it. Confirmations are coalesced per deployment (three at once, then
//! one per status interval, the latest webhook's arrival kept for the next), so webhooks sent
//! by someone who knows the secret cannot spend the upstream budget faster than that.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bevy_edgegap::api::{Endpoint, GetStatus, HttpResponse};
use serde_json::Value;

use super::ownership::plausible_id;
use super::state::AppState;
use crate::error::ApiError;
use crate::metrics::WebhookOutcome;
use crate::secret::same_secret;
use crate::view::{Confirmation, Entry};

/// `POST /webhooks/{secret}`. A wrong secret is 404. A proven READY is believed (see the
/// module docs). Otherwise the webhook is passed to every replica (through the store), and
/// when someone waits on that deployment, on any replica, ONE upstream read (shared with any
/// other read under way after the webhook arrived, on any replica) refreshes the view, and
/// that read is what wakes the waiters: a forged webhook changes nothing. The webhook is
/// answered 204 before that read, so a slow upstream never makes Edgegap give up on us.
pub(crate) async fn webhook(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let arrived = Instant::now();
    if !same_secret(secret.as_bytes(), state.webhook_secret.as_bytes()) {
        state.metrics.webhook(WebhookOutcome::WrongSecret);
        return Err(ApiError::NotFound);
    }
    let (id, body) = match webhook_id(body) {
        Ok(read) => read,
        Err(error) => {
            state.metrics.webhook(WebhookOutcome::BadBody);
            return Err(error);
        }
    };
    if let Some(owner) = proven_owner(&state, query.as_deref())
        && believe_ready(&state, &id, owner, body, arrived).await
    {
        state.metrics.webhook(WebhookOutcome::Believed);
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    state.metrics.webhook(WebhookOutcome::Accepted);
    // Without the store, this replica confirms it alone. Answered at once either way:
    // Edgegap gives up on a webhook that takes 10 s, and the read may wait for budget.
    if let Some((id, entry)) = state.view.webhook(&id).await {
        tokio::spawn(confirm_webhooks(Arc::clone(&state), id, entry));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The deployment id a webhook's body names, and the body.
fn webhook_id(body: Result<Bytes, BytesRejection>) -> Result<(String, Bytes), ApiError> {
    let body = body?;
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("request_id")?.as_str().map(str::to_owned))
        .ok_or_else(|| ApiError::BadRequest("a webhook body needs a `request_id`".into()))?;
    plausible_id(&id)?;
    Ok((id, body))
}

/// The owner tag of a webhook URL's query whose proof is right (`?owner=<tag>&proof=<hex>`).
fn proven_owner<'q>(state: &AppState, query: Option<&'q str>) -> Option<&'q str> {
    let (mut owner, mut proof) = (None, None);
    for pair in query?.split('&') {
        match pair.split_once('=') {
            Some(("owner", value)) => owner = Some(value),
            Some(("proof", value)) => proof = Some(value),
            _ => {}
        }
    }
    let owner = owner?;
    let expected = state.owner_key.webhook_proof(owner);
    same_secret(proof?.as_bytes(), expected.as_bytes()).then_some(owner)
}

/// Believes a proven webhook (see the module docs) when its body says READY for `id`, tagged
/// with `owner`, with a host and every port's external port, and the store knows `id` as one
/// of `owner`'s live deployments. `false`: the
/// webhook is confirmed by a read instead.
async fn believe_ready(
    state: &AppState,
    id: &str,
    owner: &str,
    body: Bytes,
    arrived: Instant,
) -> bool {
    let response = HttpResponse::new(200, body.to_vec());
    let Ok(status) = GetStatus::new(id).decode(&response) else {
        return false;
    };
    // All a player needs to connect, as a status read of a READY deployment says it.
    let reachable = status.host().is_some()
        && !status.ports.is_empty()
        && status.ports.values().all(|port| port.external.is_some());
    let claim = status.current_status.is_ready()
        && reachable
        && status.request_id.as_str() == id
        && status.tags.iter().any(|tag| tag == owner);
    if !claim {
        return false;
    }
    let entry = state.view.entry(id);
    if !entry.take_belief(state.view.interval()) {
        return false;
    }
    match state.store.live(owner).await {
        Ok(live) if live.iter().any(|known| known.as_str() == id) => {}
        Ok(_) => return false,
        Err(error) => {
            tracing::debug!("a proven webhook for `{id}` is confirmed by a read: {error}");
            return false;
        }
    }
    tracing::debug!("READY webhook for `{id}` believed");
    state
        .view
        .believe(id, &entry, status, response, arrived)
        .await;
    true
}

/// The task confirming the webhooks about `id` (one per deployment at a time, started by
/// [`Entry::confirm`]): each read is sent after the latest webhook it confirms arrived, and
/// wakes the requests held on it. A read refused before sending (Edgegap's 20 status reads/s
/// are spent, or the store did not answer) is retried after the refusal's `Retry-After` while
/// someone still waits, rather than leaving them to their slow fallback re-read. It ends when
/// nothing is left to confirm, or nobody waits.
pub(crate) async fn confirm_webhooks(state: Arc<AppState>, id: String, entry: Arc<Entry>) {
    const ATTEMPTS: usize = 10;
    loop {
        let arrived = match entry.next_confirmation(state.view.interval()) {
            Confirmation::Done => return,
            Confirmation::Wait(wait) => {
                tokio::time::sleep(wait).await;
                continue;
            }
            Confirmation::Read(arrived) => arrived,
        };
        tracing::debug!("webhook for `{id}`: reading its status");
        for _ in 0..ATTEMPTS {
            let read = state
                .view
                .read_entry(&state.upstream, &id, &entry, arrived, None, true)
                .await;
            state.metrics.confirmation(read.is_ok());
            match read {
                Ok(_) => break,
                Err(refused) => match refused.retry_after() {
                    Some(retry_after) if entry.has_waiters() && !*state.stopping.borrow() => {
                        tokio::time::sleep(
                            retry_after.clamp(Duration::from_millis(50), Duration::from_secs(2)),
                        )
                        .await;
                    }
                    _ => {
                        tracing::debug!(
                            "the read confirming a webhook for `{id}` failed: {refused}"
                        );
                        break;
                    }
                },
            }
        }
    }
}
