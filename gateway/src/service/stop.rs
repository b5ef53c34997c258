//! `DELETE /v1/stop/{request_id}`: stops the caller's deployment, reaching Edgegap once per
//! deployment however often it is asked: a deployment the view shows stopping or terminated
//! is answered from the view; one stop per deployment is in flight at a time, and its answer
//! is every stop's that arrived meanwhile; a stop Edgegap accepted is answered again, as it
//! was, for a while.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bevy_edgegap::api::{DeploymentStatus, Status, StopDeployment};

use super::ownership::{authorize, owned_snapshot, plausible_id};
use super::player::Player;
use super::response::{forward, json};
use super::state::AppState;
use crate::error::{ApiError, UpstreamError};
use crate::view::LastStop;

/// How long a stop Edgegap accepted (200, or 202: deferred until READY) answers the stops of
/// the same deployment that follow, without asking Edgegap again.
const ACCEPTED_STOP_ANSWERS_FOR: Duration = Duration::from_secs(60);

/// `DELETE /v1/stop/{request_id}`: stops it, if the caller owns it (ownership read from the
/// gateway's view); afterwards the view of it is out of date on every replica.
pub(crate) async fn stop(
    State(state): State<Arc<AppState>>,
    player: Player,
    Path(request_id): Path<String>,
) -> Result<Response, ApiError> {
    let arrived = Instant::now();
    plausible_id(&request_id)?;
    authorize(&state, &player, &request_id).await?;
    let entry = state.view.entry(&request_id);
    // Whose it is and whether it is already stopping: what the view knows, of any age (the
    // owner tag never changes; a status that moved on since is Edgegap's to answer).
    let snapshot = state
        .view
        .known(&state.upstream, &request_id, Some(&player.owner))
        .await?;
    let status = owned_snapshot(&snapshot, &player, &request_id)?;
    let id = status.request_id.clone();
    if let Some(answer) = already_stopping(status) {
        state
            .store
            .remove_live(&player.owner, &id, state.ended_visible)
            .await?;
        return Ok(answer);
    }
    // One stop of this deployment at a time; the last one's answer may be this one's.
    let mut last = entry.stops().await;
    if let Some(previous) = last.as_ref().filter(|stop| answers(stop, arrived)) {
        tracing::debug!("stop of `{id}` answered by the one sent before");
        return previous
            .answer
            .as_ref()
            .map(forward)
            .map_err(ApiError::upstream);
    }
    let answer = match state.upstream.call(&StopDeployment::new(id.clone())).await {
        Ok((_, raw)) => Ok(raw),
        Err(UpstreamError::Edgegap(error)) => Err(error),
        // Not sent (budget, store): nothing changed upstream.
        Err(refused) => return Err(refused.into()),
    };
    *last = Some(LastStop {
        answered_at: Instant::now(),
        answer: answer.clone(),
    });
    drop(last);
    // Whatever Edgegap answered, the view's status is out of date, on every replica.
    state.view.invalidate(id.as_str()).await;
    match answer {
        Ok(raw) => {
            state
                .store
                .remove_live(&player.owner, &id, state.ended_visible)
                .await?;
            tracing::info!("stopped `{id}` for player {:?}", player.id);
            Ok(forward(&raw))
        }
        Err(error) => {
            if error.is_already_terminated() || error.is_not_found() {
                state
                    .store
                    .remove_live(&player.owner, &id, state.ended_visible)
                    .await?;
            }
            Err(ApiError::upstream(&error))
        }
    }
}

/// Whether `stop`'s answer is also the answer to a stop that arrived at `arrived`: it was
/// answered after that (the two were in flight together), or Edgegap accepted it not long ago.
fn answers(stop: &LastStop, arrived: Instant) -> bool {
    let accepted = stop
        .answer
        .as_ref()
        .is_ok_and(|raw| matches!(raw.status, 200 | 202));
    stop.answered_at >= arrived
        || (accepted && stop.answered_at.elapsed() < ACCEPTED_STOP_ANSWERS_FOR)
}

/// Edgegap's answer to a stop of a deployment that is already stopping (202) or terminated
/// (410), from the view: nothing is sent.
fn already_stopping(status: &DeploymentStatus) -> Option<Response> {
    let (code, message) = match status.current_status {
        Status::Terminated => (StatusCode::GONE, "Instance Already terminated".to_owned()),
        Status::Terminating => (
            StatusCode::ACCEPTED,
            format!("{} - already stopping", status.request_id),
        ),
        _ => return None,
    };
    let body = serde_json::json!({ "message": message }).to_string();
    Some(json(code, body.into_bytes()))
}
