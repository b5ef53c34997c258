//! Route handlers, one module per area.
//!
//! Validation helpers return `Result<_, Reply>`: the error *is* the answer to send.
#![expect(
    clippy::result_large_err,
    reason = "a rejected request is answered at once with the error reply; boxing it buys nothing"
)]

mod deploy;
mod lists;
mod logs;
mod stop;
mod tags;

use std::sync::Arc;

use bytes::Bytes;
use hyper::HeaderMap;
use serde_json::{Value, json};

use crate::reply::{self, Reply};
use crate::route::Route;
use crate::state::Shared;

/// What a handler gets: the route, path parameters, decoded query pairs, headers and body.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub route: Route,
    pub params: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// A [`crate::FaultKind::CouldNotAllocate`] fault fired for this request.
    pub could_not_allocate: bool,
}

impl Ctx {
    pub(crate) fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `Authorization` header as sent (raw injected tokens).
    pub(crate) fn raw_authorization(&self) -> Option<&str> {
        self.headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The body as a JSON value, or a 400 naming the problem.
    pub(crate) fn json_body(&self) -> Result<Value, Reply> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(reply::invalid(
                400,
                "Request body is required (a JSON object)",
                json!({ "body": "missing" }),
            ));
        }
        serde_json::from_slice::<Value>(&self.body).map_err(|e| {
            reply::invalid(
                400,
                format!("Malformed JSON body: {e}"),
                json!({ "body": e.to_string() }),
            )
        })
    }
}

/// The answer for an unknown deployment id.
pub(crate) fn unknown_deployment(status: u16, id: &str) -> Reply {
    reply::error(status, format!("Deployment {id} not found"), false)
}

/// Calls the handler of `ctx.route`.
pub(crate) async fn dispatch(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    if ctx.could_not_allocate && !matches!(ctx.route, Route::DeployV2 | Route::FleetDeploy) {
        return reply::error(422, deploy::COULD_NOT_ALLOCATE, ctx.route.is_v2());
    }
    match ctx.route {
        Route::DeployV2 => deploy::deploy_v2(shared, ctx, false),
        Route::FleetDeploy => deploy::deploy_v2(shared, ctx, true),
        Route::DeployV1 => deploy::deploy_v1(shared, ctx),
        Route::Status => stop::status(shared, ctx),
        Route::Stop => stop::stop(shared, ctx),
        Route::SelfStop => stop::self_stop(shared, ctx),
        Route::BulkStop => stop::bulk_stop(shared, ctx),
        Route::ListDeployments => lists::list_deployments(shared, ctx),
        Route::Locations => lists::locations(shared, ctx),
        Route::FleetHosts => lists::fleet_hosts(shared, ctx),
        Route::ContainerLogs => logs::container_logs(shared, ctx),
        Route::Metrics => logs::metrics(shared, ctx),
        Route::ListTags => tags::list(shared, ctx),
        Route::GetTag => tags::get(shared, ctx),
        Route::CreateTag => tags::create(shared, ctx),
        Route::UpdateTag => tags::update(shared, ctx),
        Route::DeleteTag => tags::delete(shared, ctx),
        Route::Context => tags::context(shared, ctx),
        Route::ContextCreateTag => tags::context_create_tag(shared, ctx),
        Route::ContextDeleteTag => tags::context_delete_tag(shared, ctx),
        Route::Unknown => reply::error(404, "Not found", false),
    }
}
