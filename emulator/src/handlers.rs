//! The router: which handler answers each [`Route`]; the handlers, one module per family of
//! endpoints.
//!
//! Validation helpers return `Result<_, Reply>`: the error *is* the answer to send.
#![expect(
    clippy::result_large_err,
    reason = "a rejected request is answered at once with the error reply; boxing it buys nothing"
)]

mod apps;
pub(crate) mod deploy;
mod lists;
mod logs;
mod stop;
mod tags;

use std::sync::Arc;

use crate::classify::Route;
use crate::reply::{self, Reply};
use crate::request::Ctx;
use crate::state::Shared;

/// The router: calls the handler of `ctx.route` (one line per route of the `classify` table).
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
        Route::CreateApp => apps::create_app(shared, ctx),
        Route::GetApp => apps::get_app(shared, ctx),
        Route::UpdateApp => apps::update_app(shared, ctx),
        Route::DeleteApp => apps::delete_app(shared, ctx),
        Route::ListApps => apps::list_apps(shared, ctx),
        Route::CreateAppVersion => apps::create_version(shared, ctx).await,
        Route::GetAppVersion => apps::get_version(shared, ctx),
        Route::UpdateAppVersion => apps::update_version(shared, ctx).await,
        Route::DeleteAppVersion => apps::delete_version(shared, ctx),
        Route::ListAppVersions => apps::list_versions(shared, ctx),
        Route::Unknown => reply::error(404, "Not found", false),
    }
}
