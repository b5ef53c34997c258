//! `GET /v1/status/{request_id}`: Edgegap's status object from the gateway's view, held by
//! long-poll with `?since=<Status.X>&wait=<seconds>`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use bevy_edgegap::api::{AwaitStatusChange, Status};
use serde::Deserialize;

use super::ownership::{authorize, is_over, owned_snapshot, plausible_id};
use super::player::Player;
use super::response::forward;
use super::state::AppState;
use crate::error::{ApiError, UpstreamError};
use crate::view::{Entry, Snapshot};

/// The query: `?wait=<seconds>&since=<Status.X>` (long-poll).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StatusQuery {
    wait: Option<String>,
    since: Option<String>,
}

/// What a status request holds for: until the status differs from `since`, for `wait`.
#[derive(Debug, PartialEq)]
pub(crate) struct Hold {
    since: Status,
    wait: Duration,
}

impl StatusQuery {
    /// `None` (answer at once) without `since` or with `wait=0`; `wait` is capped at
    /// [`AwaitStatusChange::MAX_WAIT`] and defaults to it; anything but whole seconds is 400.
    pub(crate) fn hold(&self) -> Result<Option<Hold>, ApiError> {
        let max = AwaitStatusChange::MAX_WAIT.as_secs();
        let wait = match self.wait.as_deref() {
            None => max,
            Some(text) => text.trim().parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "`wait` must be whole seconds (0 to {max}), not `{text}`"
                ))
            })?,
        };
        Ok(self
            .since
            .as_deref()
            .filter(|_| wait > 0)
            .map(|since| Hold {
                since: Status::parse(since),
                wait: Duration::from_secs(wait.min(max)),
            }))
    }
}

/// Whether a status request with this URI is held by long-poll (a valid `since` with a
/// `wait` above zero): such a request is bounded by its own `wait`, not by the request
/// timeout.
pub(crate) fn is_held(uri: &Uri) -> bool {
    Query::<StatusQuery>::try_from_uri(uri).is_ok_and(|q| q.hold().is_ok_and(|h| h.is_some()))
}

/// `GET /v1/status/{request_id}`: Edgegap's status object, if the caller owns it, from the
/// gateway's view (at most one upstream read per deployment per interval, charged to the
/// caller's read budget). With `?since=<Status.X>&wait=<seconds>`, held until the status
/// differs from `since`, or `wait` has passed (then answered with the unchanged status); when
/// the caller, or the gateway, already holds as many requests as allowed, answered at once
/// with the status as it is. An id the caller is not known to own is 404 at once
/// ([`authorize`]).
pub(crate) async fn status(
    State(state): State<Arc<AppState>>,
    player: Player,
    Path(request_id): Path<String>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let query = query.map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    let hold = query.hold()?;
    plausible_id(&request_id)?;
    authorize(&state, &player, &request_id).await?;
    let entry = state.view.entry(&request_id);
    let mut changes = entry.subscribe();
    let mut stopping = state.stopping.clone();
    let start = Instant::now();
    let deadline = start + hold.as_ref().map_or(Duration::ZERO, |h| h.wait);
    let interval = state.view.interval();
    let hold_interval = state.view.hold_interval();
    let mut fresh_after = start.checked_sub(interval).unwrap_or(start);
    let mut holding = None;
    let mut last: Option<Arc<Snapshot>> = None;
    loop {
        let read = state
            .view
            .read_entry(
                &state.upstream,
                &request_id,
                &entry,
                fresh_after,
                Some(&player.owner),
                false,
            )
            .await;
        let (snapshot, refused_until) = match (read, &last) {
            (Ok(snapshot), _) => (snapshot, None),
            // Held already, and the caller's read budget is spent: hold on with the status in
            // hand until it has room again, or something wakes us.
            (Err(UpstreamError::Player { retry_after }), Some(last)) => {
                (Arc::clone(last), Some(Instant::now() + retry_after))
            }
            (Err(error), _) => return Err(error.into()),
        };
        // Our own read was sent on the channel too: mark it seen, so only what comes after
        // it wakes us; and if something did come in between, look again.
        changes.borrow_and_update();
        if refused_until.is_none() && !entry.is_current(&snapshot) && Instant::now() < deadline {
            fresh_after = snapshot.at + Duration::from_nanos(1);
            continue;
        }
        let status = owned_snapshot(&snapshot, &player, &request_id)?;
        let unchanged = hold
            .as_ref()
            .is_some_and(|h| status.current_status == h.since);
        if !unchanged || Instant::now() >= deadline || *stopping.borrow() {
            return answer_status(&state, &player, &entry, &snapshot).await;
        }
        if holding.is_none() {
            match state.holds.try_hold(&player.owner) {
                Some(hold) => holding = Some(hold),
                None => return answer_status(&state, &player, &entry, &snapshot).await,
            }
        }
        // Without webhooks, re-read every interval; with them, only now and then, in case one
        // is lost (a webhook, a stop or another replica's read wakes us before).
        let next_read = refused_until
            .unwrap_or(snapshot.at + hold_interval)
            .min(deadline);
        last = Some(Arc::clone(&snapshot));
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep_until(next_read.into()) => {}
            _ = stopping.wait_for(|s| *s) => {}
        }
        let now = Instant::now();
        fresh_after = if now >= deadline || *stopping.borrow() {
            // Answer from the view: no extra read just because the wait is over.
            now.checked_sub(interval).unwrap_or(now)
        } else {
            // Woken by a new snapshot, or the wait passed: something newer than this.
            snapshot.at + Duration::from_nanos(1)
        };
    }
}

/// Forwards a snapshot's status, forgetting the live slot of a deployment that is over
/// (the first READY answered is timed for `GET /metrics`).
async fn answer_status(
    state: &AppState,
    player: &Player,
    entry: &Entry,
    snapshot: &Snapshot,
) -> Result<Response, ApiError> {
    let (status, raw) = match &snapshot.result {
        Ok(ok) => ok,
        Err(error) => return Err(ApiError::upstream(error)),
    };
    if let Some(after) = state.view.ready_told(entry, snapshot) {
        state.metrics.ready_notified(after);
    }
    if is_over(status) {
        state
            .store
            .remove_live(&player.owner, &status.request_id, state.ended_visible)
            .await?;
    }
    Ok(forward(raw))
}
