//! `POST /webhooks/{secret}`: Edgegap says a deployment moved on. The claim is never
//! believed: it triggers one confirming upstream read, which wakes the requests held on it.
//! Confirmations are coalesced per deployment (three at once, then one per status interval,
//! the latest webhook's arrival kept for the next), so webhooks sent by someone who knows the
//! secret cannot spend the upstream budget faster than that.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ownership::plausible_id;
use super::state::AppState;
use crate::error::ApiError;
use crate::secret::same_secret;
use crate::view::{Confirmation, Entry};

/// `POST /webhooks/{secret}`. A wrong secret is 404. The webhook is passed to every replica
/// (through the store), and when someone waits on that deployment, on any replica, ONE
/// upstream read (shared with any other read under way after the webhook arrived, on any
/// replica) refreshes the view, and that read is what wakes the waiters. A forged webhook
/// changes nothing. The webhook is answered 204 before that read, so a slow upstream never
/// makes Edgegap give up on us.
pub(crate) async fn webhook(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !same_secret(secret.as_bytes(), state.webhook_secret.as_bytes()) {
        return Err(ApiError::NotFound);
    }
    let body = body?;
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("request_id")?.as_str().map(str::to_owned))
        .ok_or_else(|| ApiError::BadRequest("a webhook body needs a `request_id`".into()))?;
    plausible_id(&id)?;
    // Without the store, this replica confirms it alone. Answered at once either way:
    // Edgegap gives up on a webhook that takes 10 s, and the read may wait for budget.
    if let Some((id, entry)) = state.view.webhook(&id).await {
        tokio::spawn(confirm_webhooks(Arc::clone(&state), id, entry));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
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
                .read_entry(&state.upstream, &id, &entry, arrived, None)
                .await;
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
