//! `POST /v2/deployments`: the caller's body checked against the policy (`deploy/admit.rs`),
//! the player's rate and live quota, then one upstream deploy carrying the owner tag, at most
//! once per `Idempotency-Key`.

mod admit;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bevy_edgegap::api::{DeployRequest, EdgegapError, RequestId, Webhook};

use super::ownership::{is_over, list_owned, owned};
use super::player::Player;
use super::response::{accepted, forward, json};
use super::state::AppState;
use crate::error::{ApiError, UpstreamError};
use crate::store::Claim;

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;
/// How long a deploy waits for another deploy with the same key to finish.
const IN_PROGRESS_WAIT: Duration = Duration::from_secs(10);

/// `POST /v2/deployments`.
pub(crate) async fn deploy(
    State(state): State<Arc<AppState>>,
    player: Player,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let key = idempotency_key(&headers)?;
    let request = admit::admit(&state.policy, &body, player.address)?;
    let window = Duration::from_secs(state.policy.idempotency_window_secs);
    if let Some(key) = &key {
        let deadline = Instant::now() + IN_PROGRESS_WAIT;
        loop {
            let claim = state
                .store
                .claim_idempotency(&player.owner, key, window, state.longest_call)
                .await?;
            match claim {
                Claim::New => break,
                Claim::Abandoned => {
                    // The replica that claimed this key died mid-deploy: answer what its
                    // deploy created, if anything, rather than create a second server.
                    if let Some(id) = adopt_abandoned(&state, &player.owner).await? {
                        let owner = &player.owner;
                        state.store.commit_live(owner, Some(id.clone())).await?;
                        state
                            .store
                            .finish_idempotency(owner, key, Some(id.clone()), window)
                            .await?;
                        tracing::warn!(
                            "`{key}` by `{owner}` was abandoned mid-deploy; found `{id}` by its \
                             owner tag"
                        );
                        return Ok(accepted(&id));
                    }
                    // It made nothing: its live slot, if still reserved, is free again.
                    state.store.commit_live(&player.owner, None).await?;
                    break;
                }
                Claim::Done(id) => {
                    tracing::debug!("idempotent replay of `{key}` by `{}`: `{id}`", player.owner);
                    return Ok(accepted(&id));
                }
                Claim::InProgress if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Claim::InProgress => {
                    return Err(ApiError::busy(
                        "a deploy with this Idempotency-Key is still in progress",
                        Duration::from_secs(1),
                    ));
                }
            }
        }
    }
    let result = deploy_new(&state, &player, request).await;
    if let Some(key) = &key {
        let outcome = match &result {
            Ok((id, _)) => Some(Some(id.clone())),
            // Maybe made: the claim stays, and the retry looks for it once it is stale.
            Err(NotDeployed {
                uncertain: true, ..
            }) => None,
            Err(_) => Some(None),
        };
        if let Some(outcome) = outcome {
            state
                .store
                .finish_idempotency(&player.owner, key, outcome, window)
                .await?;
        }
    }
    result
        .map(|(_, response)| response)
        .map_err(|failed| failed.error)
}

/// A deploy that answers no deployment. `uncertain`: it may have made one that Edgegap could
/// not be asked about; its idempotency claim and live slot are kept (both expire), so a retry
/// with the same key finds that deployment instead of making a second one.
struct NotDeployed {
    error: ApiError,
    uncertain: bool,
}

impl<E: Into<ApiError>> From<E> for NotDeployed {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
            uncertain: false,
        }
    }
}

/// Rate, quota, then the upstream deploy with the owner tag.
async fn deploy_new(
    state: &AppState,
    player: &Player,
    mut request: DeployRequest,
) -> Result<(RequestId, Response), NotDeployed> {
    let per_minute = state.policy.deploys_per_minute;
    let rate = state
        .store
        .acquire(
            &format!("player:{}", player.owner),
            f64::from(per_minute) / 60.0,
            per_minute,
            Duration::ZERO,
        )
        .await?;
    if let Err(retry_after) = rate {
        return Err(ApiError::TooMany {
            message: format!("at most {per_minute} deploys per minute per player"),
            retry_after,
        }
        .into());
    }
    reserve_slot(state, player).await?;
    request.tags.push(player.owner.clone());
    if let Some(base) = &state.webhook_url {
        // Carries the owner's proof: its READY webhook is believed without a read.
        let url = state.owner_key.webhook_url(base, &player.owner);
        // A client's own webhook (allowed by `policy.webhooks`) is kept.
        for slot in [
            &mut request.webhook_on_ready,
            &mut request.webhook_on_error,
            &mut request.webhook_on_terminated,
        ] {
            slot.get_or_insert_with(|| Webhook { url: url.clone() });
        }
    }
    let (id, response) = match state.upstream.call(&request).await {
        Ok((deployed, raw)) => (deployed.request_id, forward(&raw)),
        // v2 422: created, but in error. It exists: count it and pass Edgegap's answer on.
        Err(UpstreamError::Edgegap(EdgegapError::Api {
            status,
            body,
            request_id: Some(id),
            ..
        })) => (
            id,
            json(
                StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                body.into_bytes(),
            ),
        ),
        Err(UpstreamError::Edgegap(error)) if maybe_created(&error) => {
            // Edgegap may have created it without an answer we could read: look for it by
            // owner tag rather than let the client's retry create a second server.
            let owner = &player.owner;
            match unknown_owned(state, owner).await {
                Ok(found) if found.len() == 1 => {
                    let id = found.into_iter().next().unwrap_or_else(|| unreachable!());
                    tracing::warn!(
                        "deploy for `{owner}` was answered unreadably ({error}); found `{id}` \
                         by its owner tag"
                    );
                    let response = accepted(&id);
                    (id, response)
                }
                Ok(_) => {
                    state.store.commit_live(owner, None).await?;
                    tracing::warn!("deploy for `{owner}` failed upstream: {error}");
                    return Err(ApiError::upstream(&error).into());
                }
                Err(list_failed) => {
                    tracing::warn!(
                        "deploy for `{owner}` may have made a server ({error}), and Edgegap's \
                         list failed ({list_failed:?}): its claim and live slot are kept until \
                         a retry finds out"
                    );
                    return Err(NotDeployed {
                        error: ApiError::busy(
                            "the deploy may have made a server the gateway cannot check yet; \
                             retry with the same Idempotency-Key",
                            state.longest_call,
                        ),
                        uncertain: true,
                    });
                }
            }
        }
        Err(error) => {
            state.store.commit_live(&player.owner, None).await?;
            tracing::debug!("deploy for `{}` failed upstream: {error}", player.owner);
            return Err(error.into());
        }
    };
    state
        .store
        .commit_live(&player.owner, Some(id.clone()))
        .await?;
    state.view.deployed(id.as_str());
    tracing::info!(
        "deployed `{id}` ({} {}) for player {:?} (owner tag `{}`)",
        request.application,
        request.version,
        player.id,
        player.owner
    );
    Ok((id, response))
}

/// Whether a failed deploy may still have created a deployment: no answer, an unreadable
/// answer, or a 5xx. (A 4xx, 429 included, created nothing.)
fn maybe_created(error: &EdgegapError) -> bool {
    match error.status() {
        Some(status) => status >= 500 || matches!(error, EdgegapError::Decode { .. }),
        None => error.may_have_been_sent(),
    }
}

/// Reserves a live slot; when full, first forgets deployments Edgegap says are over, read
/// through the view (coalesced, charged to the player).
async fn reserve_slot(state: &AppState, player: &Player) -> Result<(), ApiError> {
    let max = state.policy.max_live_per_player;
    let hold = state.longest_call * 2;
    if state.store.reserve_live(&player.owner, max, hold).await? {
        return Ok(());
    }
    for id in state.store.live(&player.owner).await? {
        let snapshot = state
            .view
            .read(&state.upstream, id.as_str(), Some(&player.owner))
            .await?;
        let over = match &snapshot.result {
            Ok((status, _)) => is_over(status) || !owned(status, &player.owner),
            Err(error) => error.is_not_found(),
        };
        if over {
            state
                .store
                .remove_live(&player.owner, &id, state.ended_visible)
                .await?;
        }
    }
    if state.store.reserve_live(&player.owner, max, hold).await? {
        return Ok(());
    }
    Err(ApiError::TooMany {
        message: format!("at most {max} live deployment(s) per player; stop one first"),
        retry_after: Duration::from_secs(5),
    })
}

/// The `Idempotency-Key` header: absent, or printable ASCII of at most 64 characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
    {
        return Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
        )));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// The deployments carrying `owner`'s tag on Edgegap that the gateway does not count yet.
async fn unknown_owned(state: &AppState, owner: &str) -> Result<Vec<RequestId>, ApiError> {
    let known = state.store.live(owner).await?;
    let found = list_owned(state, |t| t == owner).await?;
    Ok(found
        .into_iter()
        .map(|(_, id)| id)
        .filter(|id| !known.contains(id))
        .collect())
}

/// After a deploy abandoned by a dead replica: the one deployment carrying `owner`'s tag that
/// the gateway does not count yet, if there is exactly one. A failed list is 503: deploying
/// blindly could make a second server.
async fn adopt_abandoned(state: &AppState, owner: &str) -> Result<Option<RequestId>, ApiError> {
    let unknown = unknown_owned(state, owner).await.map_err(|error| {
        tracing::warn!("cannot look for an abandoned deploy of `{owner}`: {error:?}");
        ApiError::busy(
            "cannot check Edgegap for an interrupted deploy; retry later",
            state.longest_call,
        )
    })?;
    Ok(match unknown.as_slice() {
        [id] => Some(id.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unanswered_unreadable_or_5xx_deploys_may_have_created_something() {
        use bevy_edgegap::api::{HttpResponse, api_error};
        let api = |status: u16| api_error(&HttpResponse::new(status, r#"{"message":"x"}"#));
        assert!(maybe_created(&api(500)));
        assert!(maybe_created(&api(502)));
        assert!(maybe_created(&EdgegapError::Timeout));
        assert!(maybe_created(&EdgegapError::decode(202, b"{", "eof")));
        assert!(maybe_created(&EdgegapError::transport(true, "reset")));
        assert!(!maybe_created(&EdgegapError::transport(false, "refused")));
        assert!(!maybe_created(&api(400)));
        assert!(!maybe_created(&api(429)));
        assert!(!maybe_created(&EdgegapError::Config("no token".into())));
    }
}
