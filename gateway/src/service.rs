//! The client-facing HTTP service, one file per route family, each route next to its handler:
//!
//! - `deploy.rs`: `POST /v2/deployments` (the body policy in `deploy/admit.rs`);
//! - `status.rs`: `GET /v1/status/{request_id}`, long-poll included;
//! - `stop.rs`: `DELETE /v1/stop/{request_id}`;
//! - `webhook.rs`: `POST /webhooks/{secret}`;
//! - `operator.rs`: `GET /healthz`, `GET /readyz` and `GET /metrics`;
//! - shared by them: `player.rs` (the `Player` extractor: who calls, 401 otherwise),
//!   `state.rs` ([`AppState`], the held requests), `ownership.rs` (owner tags, plausible ids,
//!   who may look at what, the owned deployments on Edgegap), `response.rs` (JSON answers)
//!   and `deadline.rs` (the request timeout of every route, held long-polls aside).
//!
//! Which routes exist is [`GATEWAY_ROUTES`], the table the client plugin reads too: [`router`]
//! serves each route of it with its family's handler, and answers anything else 404 with the
//! table's list. The files here import each other (never this one), in one direction: the
//! route families use the shared files, and `ownership.rs` uses `player.rs` and `state.rs`.

mod deadline;
mod deploy;
mod operator;
mod ownership;
mod player;
mod response;
mod state;
mod status;
mod stop;
mod webhook;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};
use bevy_edgegap::api::{GATEWAY_ROUTES, GatewayCaller, GatewayRoute, GatewayRouteKind};

use crate::config::GatewayConfig;
use crate::error::ApiError;

pub(crate) use ownership::rebuild;
pub(crate) use state::{AppState, Holds};
pub(crate) use webhook::confirm_webhooks;

/// Longest accepted request body (a deploy's, a webhook's).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The gateway's routes: every route of [`GATEWAY_ROUTES`], nothing else, each answered
/// within `http.request_timeout_ms` unless it is a held long-poll. The one place the router
/// is built: layers that depend on the config are added here.
pub(crate) fn router(state: Arc<AppState>, config: &GatewayConfig) -> Router {
    let request_timeout = Duration::from_millis(config.http.request_timeout_ms);
    let mut router = Router::new();
    for route in GATEWAY_ROUTES {
        match method_filter(route) {
            Some(method) => {
                let deadline = deadline::Deadline {
                    timeout: request_timeout,
                    holds: route.kind == GatewayRouteKind::Status,
                };
                let handler = handler(method, route.kind)
                    .layer(from_fn_with_state(deadline, deadline::bounded));
                router = router.route(route.path, handler);
            }
            // Unreachable with the table as written (a unit test checks every method).
            None => tracing::error!("GATEWAY_ROUTES: `{}` is not an HTTP method", route.method),
        }
    }
    router
        .fallback(not_served)
        .method_not_allowed_fallback(not_served)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn method_filter(route: &GatewayRoute) -> Option<MethodFilter> {
    let method = Method::from_bytes(route.method.as_bytes()).ok()?;
    MethodFilter::try_from(method).ok()
}

/// The handler of each kind of route, for `method`.
fn handler(method: MethodFilter, kind: GatewayRouteKind) -> MethodRouter<Arc<AppState>> {
    match kind {
        GatewayRouteKind::Deploy => on(method, deploy::deploy),
        GatewayRouteKind::Status => on(method, status::status),
        GatewayRouteKind::Stop => on(method, stop::stop),
        GatewayRouteKind::Webhook => on(method, webhook::webhook),
        GatewayRouteKind::Health => on(method, operator::healthz),
        GatewayRouteKind::Ready => on(method, operator::readyz),
        GatewayRouteKind::Metrics => on(method, operator::metrics),
    }
}

/// 404 for anything [`GATEWAY_ROUTES`] does not list, naming what players may call.
async fn not_served() -> ApiError {
    static MESSAGE: LazyLock<String> = LazyLock::new(|| {
        let served: Vec<String> = GATEWAY_ROUTES
            .iter()
            .filter(|route| route.caller == GatewayCaller::Player)
            .map(GatewayRoute::describe)
            .collect();
        format!("not served by the gateway: only {}", served.join(", "))
    });
    ApiError::Edgegap {
        status: StatusCode::NOT_FOUND,
        message: MESSAGE.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_table_has_an_http_method() {
        for route in GATEWAY_ROUTES {
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            assert!(
                MethodFilter::try_from(method).is_ok(),
                "{}",
                route.describe()
            );
        }
    }
}
