//! Which deployments are whose. Every deployment the gateway makes carries its player's owner
//! tag; Edgegap's status object is the source of truth for ownership, and Edgegap's list for
//! who runs what (the live counts rebuilt at start, a deploy found again after an unreadable
//! answer).
//!
//! Before anything costs an upstream read, [`authorize`] answers 404 for an id the player is
//! not known to own (the store's live and recently ended deployments of the player): a
//! player flooding random or stolen ids spends nothing of the budget every player shares.

use bevy_edgegap::api::{DeploymentStatus, ListDeployments, ListPage, RequestId, Status};

use super::player::Player;
use super::state::AppState;
use crate::auth::OWNER_TAG_PREFIX;
use crate::error::{ApiError, UpstreamError};
use crate::view::Snapshot;

/// Ids that cannot be Edgegap's are 404 without an upstream read.
pub(crate) fn plausible_id(request_id: &str) -> Result<(), ApiError> {
    let plausible = !request_id.is_empty()
        && request_id.len() <= 64
        && request_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plausible {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// 404 unless `player` may look at `request_id`, spending nothing upstream: a snapshot of it
/// in the view no older than the interval says whose it is; otherwise the store must know the
/// player owns it (live, or ended within `status.ended_visible_secs`). The deployments the
/// store forgot are found again by the rebuild from Edgegap's list at start. Whatever passes
/// is checked again against the owner tag Edgegap reports ([`owned_snapshot`]).
pub(crate) async fn authorize(
    state: &AppState,
    player: &Player,
    request_id: &str,
) -> Result<(), ApiError> {
    let known = match state.view.fresh(request_id) {
        Some(snapshot) => match &snapshot.result {
            Ok((status, _)) => owned(status, &player.owner),
            Err(_) => owns(state, player, request_id).await?,
        },
        None => owns(state, player, request_id).await?,
    };
    if known {
        Ok(())
    } else {
        tracing::debug!(
            "player {:?} asked for `{request_id}`, not theirs: 404",
            player.id
        );
        Err(ApiError::NotFound)
    }
}

async fn owns(state: &AppState, player: &Player, request_id: &str) -> Result<bool, ApiError> {
    Ok(state
        .store
        .owns(&player.owner, &RequestId::from(request_id))
        .await?)
}

/// The snapshot's status, or 404 when it is unknown or not the caller's (an upstream failure
/// is answered as such).
pub(crate) fn owned_snapshot<'a>(
    snapshot: &'a Snapshot,
    player: &Player,
    request_id: &str,
) -> Result<&'a DeploymentStatus, ApiError> {
    match &snapshot.result {
        Ok((status, _)) if owned(status, &player.owner) => Ok(status),
        Ok(_) => {
            tracing::debug!(
                "player {:?} asked for `{request_id}`, which is not theirs: 404",
                player.id
            );
            Err(ApiError::NotFound)
        }
        Err(error) => Err(ApiError::upstream(error)),
    }
}

/// Whether `status` carries `owner`'s tag.
pub(crate) fn owned(status: &DeploymentStatus, owner: &str) -> bool {
    status.tags.iter().any(|t| t == owner)
}

/// Whether the deployment no longer counts as live.
pub(crate) fn is_over(status: &DeploymentStatus) -> bool {
    matches!(
        status.current_status,
        Status::Terminating | Status::Terminated | Status::Error
    )
}

/// Every live deployment on Edgegap with an owner tag that `wanted` accepts, as
/// `(owner tag, id)`, over every page of the list.
pub(crate) async fn list_owned(
    state: &AppState,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(String, RequestId)>, UpstreamError> {
    const PAGE_SIZE: u32 = 100;
    const MAX_PAGES: u32 = 1000;
    let mut found = Vec::new();
    let mut page = 1;
    while page <= MAX_PAGES {
        let list = ListDeployments::new().page(page).limit(PAGE_SIZE);
        let (list, _) = state.upstream.call(&list).await?;
        let next = list.next_page(page, PAGE_SIZE);
        for deployment in list.data {
            for tag in deployment.tags.iter().filter(|t| wanted(t)) {
                found.push((tag.clone(), deployment.request_id.clone()));
            }
        }
        match next {
            Some(next) => page = next,
            None => break,
        }
    }
    Ok(found)
}

/// Counts the live deployments carrying owner tags (the rebuild at start).
pub(crate) async fn rebuild(state: &AppState) -> Result<usize, UpstreamError> {
    let found = list_owned(state, is_owner_tag).await?;
    let n = found.len();
    state.store.add_live(found).await?;
    Ok(n)
}

fn is_owner_tag(tag: &str) -> bool {
    tag.strip_prefix(OWNER_TAG_PREFIX)
        .is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tags_are_the_prefix_and_sixteen_hex_digits() {
        assert!(is_owner_tag("gw-0123456789abcdef"));
        assert!(!is_owner_tag("gw-xyz"));
        assert!(!is_owner_tag("gw-0123456789abcdef0"));
        assert!(!is_owner_tag("xx-0123456789abcdef"));
    }

    #[test]
    fn ids_that_cannot_be_edgegaps_are_404() {
        assert!(plausible_id("a69f8e3e0555").is_ok());
        for id in ["", "..%2F", "a/b", &"a".repeat(65)] {
            assert_eq!(plausible_id(id), Err(ApiError::NotFound), "{id}");
        }
    }
}
