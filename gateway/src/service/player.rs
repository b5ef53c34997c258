//! [`Player`]: the authenticated caller, as an extractor that refuses with 401.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::state::AppState;
use crate::error::ApiError;

/// The authenticated caller.
pub(crate) struct Player {
    /// `sub`, or `anon:<ip>` in anonymous mode.
    pub(crate) id: String,
    /// The owner tag of `id`.
    pub(crate) owner: String,
    /// The caller's address (socket peer, or `X-Forwarded-For` from a trusted proxy).
    pub(crate) address: IpAddr,
}

impl FromRequestParts<Arc<AppState>> for Player {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        // Every line: a proxy may add its own rather than append to the client's. A line that
        // is not text ends the walk there, like an entry that is not an address.
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        let address = state.proxies.client(peer, forwarded);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        let id = state
            .verifier
            .player(authorization, address)
            .inspect_err(|_| {
                let sent = authorization.unwrap_or_default();
                let bare = ["Bearer ", "bearer ", "token "]
                    .iter()
                    .find_map(|scheme| sent.strip_prefix(scheme))
                    .unwrap_or(sent);
                if state.upstream.is_org_token(bare) {
                    tracing::warn!(
                        "a client at `{address}` sent the organisation token as its player token; \
                     refused. Rotate the token if it has leaked"
                    );
                }
            })?;
        let owner = state.owner_key.tag(&id);
        Ok(Self { id, owner, address })
    }
}
