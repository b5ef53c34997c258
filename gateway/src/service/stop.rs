//! `DELETE /v1/stop/{request_id}`: stops the caller's deployment.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use bevy_edgegap::api::StopDeployment;

use super::ownership::{owned_snapshot, plausible_id};
use super::player::Player;
use super::response::forward;
use super::state::AppState;
use crate::error::{ApiError, UpstreamError};

/// `DELETE /v1/stop/{request_id}`: stops it, if the caller owns it (ownership read from the
/// gateway's view); afterwards the view of it is out of date on every replica.
pub(crate) async fn stop(
    State(state): State<Arc<AppState>>,
    player: Player,
    Path(request_id): Path<String>,
) -> Result<Response, ApiError> {
    plausible_id(&request_id)?;
    let snapshot = state.view.read(&state.upstream, &request_id).await?;
    let id = owned_snapshot(&snapshot, &player, &request_id)?
        .request_id
        .clone();
    let answer = match state.upstream.call(&StopDeployment::new(id.clone())).await {
        Ok((_, raw)) => Ok(raw),
        Err(UpstreamError::Edgegap(error)) => Err(error),
        // Not sent (budget, store): nothing changed upstream.
        Err(refused) => return Err(refused.into()),
    };
    // Whatever Edgegap answered, the view's status is out of date, on every replica.
    state.view.invalidate(id.as_str()).await;
    match answer {
        Ok(raw) => {
            state.store.remove_live(&player.owner, &id).await?;
            tracing::info!("stopped `{id}` for player {:?}", player.id);
            Ok(forward(&raw))
        }
        Err(error) => {
            if error.is_already_terminated() || error.is_not_found() {
                state.store.remove_live(&player.owner, &id).await?;
            }
            Err(ApiError::upstream(&error))
        }
    }
}
