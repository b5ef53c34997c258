//! Applications (`/v1/app[/{app_name}]`, `/v1/apps`) and app versions
//! (`/v1/app/{app_name}/version[/{version_name}]`, `/v1/app/{app_name}/versions`).
//!
//! Codes as Edgegap documents them: 409 for a duplicate application or version (and for a
//! version, or an app with a version, that a matchmaker profile deploys: it cannot be deleted
//! or renamed), 404 for an unknown one, 400 naming the field for a body that breaks the
//! spec's rules, 424 on create (or update) with `verify_image` when the image's manifest
//! cannot be fetched. A version whose `docker_repository` is a loopback registry with a port
//! (`127.0.0.1:5000`) deploys its image (see `crate::image`); any other deploys simulated.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::lists::page;
use crate::reply::{self, Reply, bad};
use crate::request::Ctx;
use crate::state::Shared;
use crate::state::apps::{App, Version, VersionFields};
use crate::util::v1_time;

/// What a secret variable's value reads as in an answer (Edgegap stores it encrypted; what it
/// answers for one is undocumented).
const SECRET_MASK: &str = "********";
/// The protocols a port may have.
const PROTOCOLS: [&str; 7] = ["TCP", "UDP", "TCP/UDP", "HTTP", "HTTPS", "WS", "WSS"];
/// How long `verify_image` may take to fetch a manifest.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(15);

fn app_not_found(name: &str) -> Reply {
    reply::error(404, format!("Application `{name}` not found"), false)
}

fn version_not_found(app: &str, version: &str) -> Reply {
    reply::error(
        404,
        format!("Application Version `{version}` of application `{app}` not found"),
        false,
    )
}

fn pinned(app: &str, version: &str) -> Reply {
    reply::error(
        409,
        format!(
            "Application Version `{version}` of `{app}` is used by a matchmaker profile: remove it from the matchmaker first"
        ),
        false,
    )
}

/// The JSON body as `T`, or a 400 naming the problem.
fn body<T: DeserializeOwned>(ctx: &Ctx) -> Result<T, Reply> {
    let value = ctx.json_body()?;
    if !value.is_object() {
        return Err(bad("body", "must be a JSON object"));
    }
    serde_json::from_value::<T>(value.clone()).map_err(|e| {
        // serde's message does not say which key: the first key that fails alone does.
        let field = value.as_object().and_then(|object| {
            object
                .iter()
                .find(|(k, v)| {
                    serde_json::from_value::<T>(json!({ *k: v }))
                        .is_err_and(|alone| !alone.to_string().starts_with("missing field"))
                })
                .map(|(k, _)| k.clone())
        });
        match field {
            Some(field) => bad(&field, format!("has the wrong type: {e}")),
            None => reply::invalid(
                400,
                format!("Invalid request: {e}"),
                json!({ "body": e.to_string() }),
            ),
        }
    })
}

fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), Reply> {
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(bad(
            field,
            format!("must be {min} to {max} characters, not {len}"),
        ))
    }
}

fn app_json(app: &App) -> Value {
    json!({
        "name": app.name,
        "is_active": app.is_active,
        "image": app.image,
        "create_time": v1_time(app.created),
        "last_updated": v1_time(app.updated),
    })
}

#[derive(Debug, serde::Deserialize)]
struct AppBody {
    name: Option<String>,
    is_active: Option<bool>,
    image: Option<String>,
}

/// `POST /v1/app` (`name`, `is_active` and `image` required, as the 2026 spec says): 200 with
/// the application, 409 when the name is taken.
pub(crate) fn create_app(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let body: AppBody = match body(ctx) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let (Some(name), Some(is_active), Some(image)) = (body.name, body.is_active, body.image) else {
        return bad(
            "body",
            "needs `name`, `is_active` and `image` (an empty logo is \"\")",
        );
    };
    if let Err(reply) = check_length("name", &name, 3, 64) {
        return reply;
    }
    let mut catalog = shared.catalog();
    if catalog.app(&name).is_some() {
        return reply::error(409, format!("Application `{name}` already exists"), false);
    }
    let now = SystemTime::now();
    let app = App {
        name,
        is_active,
        image,
        created: now,
        updated: now,
    };
    let answer = app_json(&app);
    catalog.apps.push(app);
    reply::json(200, &answer)
}

/// `GET /v1/app/{app_name}`.
pub(crate) fn get_app(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let name = ctx.param(0);
    match shared.catalog().app(name) {
        Some(app) => reply::json(200, &app_json(app)),
        None => app_not_found(name),
    }
}

/// `PATCH /v1/app/{app_name}`: a rename takes the versions along (409 when the new name is
/// taken, or a matchmaker deploys one of its versions).
pub(crate) fn update_app(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let name = ctx.param(0);
    let body: AppBody = match body(ctx) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if let Some(new) = &body.name
        && let Err(reply) = check_length("name", new, 3, 64)
    {
        return reply;
    }
    let mut catalog = shared.catalog();
    if catalog.app(name).is_none() {
        return app_not_found(name);
    }
    if let Some(new) = body.name.as_deref().filter(|new| *new != name) {
        if catalog.app(new).is_some() {
            return reply::error(409, format!("Application `{new}` already exists"), false);
        }
        if let Some((_, version)) = catalog.pinned.iter().find(|(a, _)| a == name) {
            return pinned(name, version);
        }
        for version in catalog.versions.iter_mut().filter(|v| v.app == name) {
            version.app = new.to_owned();
            version.runtime = Arc::new(version.fields.runtime(new));
        }
    }
    let Some(app) = catalog.app_mut(name) else {
        return app_not_found(name);
    };
    if let Some(new) = body.name {
        app.name = new;
    }
    if let Some(active) = body.is_active {
        app.is_active = active;
    }
    if let Some(image) = body.image {
        app.image = image;
    }
    app.updated = SystemTime::now();
    reply::json(200, &app_json(app))
}

/// `DELETE /v1/app/{app_name}`: the app and its versions; 200 with an empty body. Running
/// deployments keep running.
pub(crate) fn delete_app(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let name = ctx.param(0);
    let mut catalog = shared.catalog();
    if catalog.app(name).is_none() {
        return app_not_found(name);
    }
    if let Some((_, version)) = catalog.pinned.iter().find(|(a, _)| a == name) {
        return pinned(name, version);
    }
    catalog.apps.retain(|a| a.name != name);
    catalog.versions.retain(|v| v.app != name);
    reply::empty(200)
}

/// `GET /v1/apps` (`page`, `limit`).
pub(crate) fn list_apps(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let catalog = shared.catalog();
    let page = match page(
        ctx,
        &catalog.apps,
        shared.settings.default_page_size,
        app_json,
    ) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    reply::json(
        200,
        &json!({ "applications": page.items, "total_count": page.total, "pagination": page.pagination }),
    )
}

/// A version as Edgegap answers it: the fields it was given, with Edgegap's defaults for the
/// others (`time_to_deploy` is the one the emulator uses); `private_token` echoed back as
/// Edgegap's example does, secret variables masked.
fn version_json(version: &Version) -> Value {
    let f = &version.fields;
    let ports: Vec<Value> = f
        .ports
        .iter()
        .flatten()
        .map(|p| {
            json!({
                "port": p.port,
                "protocol": p.protocol,
                "to_check": p.to_check.unwrap_or(true),
                "tls_upgrade": p.tls_upgrade.unwrap_or(false),
                "name": p.name,
            })
        })
        .collect();
    let envs: Vec<Value> = f
        .envs
        .iter()
        .flatten()
        .map(|e| {
            let value = if e.secret() { SECRET_MASK } else { &e.value };
            json!({ "key": e.key, "value": value, "is_secret": e.secret() })
        })
        .collect();
    json!({
        "name": version.name(),
        "create_time": v1_time(version.created),
        "last_updated": v1_time(version.updated),
        "is_active": f.is_active.unwrap_or(true),
        "req_cpu": f.req_cpu,
        "req_memory": f.req_memory,
        "req_video": f.req_video.unwrap_or(0),
        "docker_repository": f.docker_repository,
        "private_username": f.private_username,
        "private_token": f.private_token,
        "docker_image": f.docker_image,
        "docker_tag": f.docker_tag,
        "verify_image": f.verify_image.unwrap_or(false),
        "force_cache": f.force_cache.unwrap_or(false),
        "caching_percent": 0.0,
        "time_to_deploy": version.runtime.pull_timeout.as_secs(),
        "max_duration": version.runtime.max_duration,
        "restart_policy": f.restart_policy.as_deref().unwrap_or("always"),
        "termination_grace_period_seconds": version.runtime.grace.as_secs(),
        "ports": ports,
        "envs": envs,
    })
}

/// The spec's rules for the keys `fields` sets.
fn check_fields(f: &VersionFields) -> Result<(), Reply> {
    if let Some(name) = &f.name {
        check_length("name", name, 1, 64)?;
    }
    for (field, value) in [
        ("docker_repository", &f.docker_repository),
        ("docker_image", &f.docker_image),
        ("docker_tag", &f.docker_tag),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(bad(field, "must not be empty"));
        }
    }
    let at_least = |field: &str, value: Option<i64>, min: i64| match value {
        Some(v) if v < min => Err(bad(field, format!("must be at least {min}, not {v}"))),
        _ => Ok(()),
    };
    at_least("req_cpu", f.req_cpu, 100)?;
    at_least("req_memory", f.req_memory, 100)?;
    at_least("req_video", f.req_video, 0)?;
    at_least("time_to_deploy", f.time_to_deploy, 15)?;
    if let (Some(cpu), Some(memory)) = (f.req_cpu, f.req_memory)
        && memory > cpu.saturating_mul(2)
    {
        return Err(bad(
            "req_memory",
            format!("must be at most twice `req_cpu` ({cpu}), not {memory}"),
        ));
    }
    if let Some(minutes) = f.max_duration
        && !(-1..=1440).contains(&minutes)
    {
        return Err(bad("max_duration", "must be within -1..=1440"));
    }
    if let Some(seconds) = f.termination_grace_period_seconds
        && !(5..=3600).contains(&seconds)
    {
        return Err(bad(
            "termination_grace_period_seconds",
            "must be within 5..=3600",
        ));
    }
    if let Some(policy) = &f.restart_policy
        && !["always", "never", "on_failure"].contains(&policy.as_str())
    {
        return Err(bad(
            "restart_policy",
            "must be `always`, `never` or `on_failure`",
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, port) in f.ports.iter().flatten().enumerate() {
        let field = format!("ports[{i}]");
        if !(0..=59_999).contains(&port.port) {
            return Err(bad(&format!("{field}.port"), "must be within 0..=59999"));
        }
        if !PROTOCOLS.contains(&port.protocol.as_str()) {
            return Err(bad(
                &format!("{field}.protocol"),
                format!("must be one of {}", PROTOCOLS.join(", ")),
            ));
        }
        let name = port.name.as_deref().filter(|n| !n.trim().is_empty());
        if port.port == 0 && name.is_none() {
            return Err(bad(&format!("{field}.name"), "is required for port 0"));
        }
        if let Some(name) = name
            && !names.insert(name)
        {
            return Err(bad(&format!("{field}.name"), "names two ports"));
        }
        if port.tls_upgrade == Some(true) && !matches!(port.protocol.as_str(), "HTTP" | "WS") {
            return Err(bad(
                &format!("{field}.tls_upgrade"),
                "is for HTTP and WS ports only",
            ));
        }
    }
    for (i, env) in f.envs.iter().flatten().enumerate() {
        if env.key.trim().is_empty() {
            return Err(bad(&format!("envs[{i}].key"), "must not be empty"));
        }
        if env.value.len() > 4096 {
            return Err(bad(
                &format!("envs[{i}].value"),
                "is longer than 4096 bytes",
            ));
        }
    }
    Ok(())
}

/// `verify_image`: the version's image manifest can be fetched, or a 424.
async fn verify(fields: &VersionFields) -> Result<(), Reply> {
    let failed = |why: String| {
        reply::error(
            424,
            format!("Failed Dependency: cannot pull the image with the given parameters: {why}"),
            false,
        )
    };
    let Some(source) = fields.image_source() else {
        return Err(failed(format!(
            "the emulator reaches only registries on loopback with a port (`127.0.0.1:5000`), not `{}`",
            fields.docker_repository.as_deref().unwrap_or_default()
        )));
    };
    crate::image::verify(&source, VERIFY_TIMEOUT)
        .await
        .map_err(|error| failed(error.to_string()))
}

/// `POST /v1/app/{app_name}/version`: 200 `{"success": true, "version"}`; 404 unknown app, 409
/// duplicate name, 400 a broken rule, 424 `verify_image` failed.
pub(crate) async fn create_version(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let app = ctx.param(0).to_owned();
    let fields: VersionFields = match body(ctx) {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    if let Err(reply) = check_fields(&fields) {
        return reply;
    }
    for (field, set) in [
        ("name", fields.name.is_some()),
        ("docker_repository", fields.docker_repository.is_some()),
        ("docker_image", fields.docker_image.is_some()),
        ("docker_tag", fields.docker_tag.is_some()),
        ("req_cpu", fields.req_cpu.is_some()),
        ("req_memory", fields.req_memory.is_some()),
    ] {
        if !set {
            return bad(field, "is required");
        }
    }
    let name = fields.name.clone().unwrap_or_default();
    // Checked before the (slow) image check, and again after it.
    if let Err(reply) = version_free(shared, &app, &name) {
        return reply;
    }
    if fields.verify_image == Some(true)
        && let Err(reply) = verify(&fields).await
    {
        return reply;
    }
    let mut catalog = shared.catalog();
    if catalog.app(&app).is_none() {
        return app_not_found(&app);
    }
    if catalog.version(&app, &name).is_some() {
        return duplicate(&app, &name);
    }
    let now = SystemTime::now();
    let version = Version {
        runtime: Arc::new(fields.runtime(&app)),
        app,
        fields,
        created: now,
        updated: now,
    };
    let answer = json!({ "success": true, "version": version_json(&version) });
    tracing::debug!(
        "app version `{}`/`{}` created ({:?})",
        version.app,
        version.name(),
        version.runtime.kind
    );
    catalog.versions.push(version);
    reply::json(200, &answer)
}

fn duplicate(app: &str, name: &str) -> Reply {
    reply::error(
        409,
        format!("Application Version `{name}` already exists for application `{app}`"),
        false,
    )
}

/// 404 when `app` is unknown, 409 when it has a version `name`.
fn version_free(shared: &Shared, app: &str, name: &str) -> Result<(), Reply> {
    let catalog = shared.catalog();
    if catalog.app(app).is_none() {
        return Err(app_not_found(app));
    }
    if catalog.version(app, name).is_some() {
        return Err(duplicate(app, name));
    }
    Ok(())
}

/// `GET /v1/app/{app_name}/version/{version_name}`: the bare version.
pub(crate) fn get_version(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (app, name) = (ctx.param(0), ctx.param(1));
    let catalog = shared.catalog();
    if catalog.app(app).is_none() {
        return app_not_found(app);
    }
    match catalog.version(app, name) {
        Some(version) => reply::json(200, &version_json(version)),
        None => version_not_found(app, name),
    }
}

/// `PATCH /v1/app/{app_name}/version/{version_name}`: changes what the body sets; running
/// deployments keep what they started with. 409 for a rename onto another version's name (or
/// of a version a matchmaker deploys), 424 when it asks for `verify_image` and the (new) image
/// cannot be fetched.
pub(crate) async fn update_version(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (app, name) = (ctx.param(0).to_owned(), ctx.param(1).to_owned());
    let patch: VersionFields = match body(ctx) {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    let merged = {
        let catalog = shared.catalog();
        if catalog.app(&app).is_none() {
            return app_not_found(&app);
        }
        let Some(version) = catalog.version(&app, &name) else {
            return version_not_found(&app, &name);
        };
        version.fields.merged(&patch)
    };
    if let Err(reply) = check_fields(&merged) {
        return reply;
    }
    let image_changed = patch.docker_repository.is_some()
        || patch.docker_image.is_some()
        || patch.docker_tag.is_some()
        || patch.private_username.is_some()
        || patch.private_token.is_some();
    if merged.verify_image == Some(true)
        && (patch.verify_image == Some(true) || image_changed)
        && let Err(reply) = verify(&merged).await
    {
        return reply;
    }
    let mut catalog = shared.catalog();
    let new_name = merged.name.clone().unwrap_or_else(|| name.clone());
    if new_name != name {
        if catalog.version(&app, &new_name).is_some() {
            return duplicate(&app, &new_name);
        }
        if catalog.is_pinned(&app, Some(&name)) {
            return pinned(&app, &name);
        }
    }
    let Some(version) = catalog.version_mut(&app, &name) else {
        return version_not_found(&app, &name);
    };
    version.runtime = Arc::new(merged.runtime(&app));
    version.fields = merged;
    version.updated = SystemTime::now();
    reply::json(
        200,
        &json!({ "success": true, "version": version_json(version) }),
    )
}

/// `DELETE /v1/app/{app_name}/version/{version_name}`: 200 `{"success", "message"}`; 409 when
/// a matchmaker profile deploys it. Running deployments keep running.
pub(crate) fn delete_version(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (app, name) = (ctx.param(0), ctx.param(1));
    let mut catalog = shared.catalog();
    if catalog.app(app).is_none() {
        return app_not_found(app);
    }
    if catalog.version(app, name).is_none() {
        return version_not_found(app, name);
    }
    if catalog.is_pinned(app, Some(name)) {
        return pinned(app, name);
    }
    catalog
        .versions
        .retain(|v| !(v.app == app && v.name() == name));
    reply::json(
        200,
        &json!({ "success": true, "message": format!("Application Version `{name}` deleted") }),
    )
}

/// `GET /v1/app/{app_name}/versions` (`page`, `limit`).
pub(crate) fn list_versions(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let app = ctx.param(0);
    let catalog = shared.catalog();
    if catalog.app(app).is_none() {
        return app_not_found(app);
    }
    let versions: Vec<&Version> = catalog.versions_of(app).collect();
    let page = match page(ctx, &versions, shared.settings.default_page_size, |v| {
        version_json(v)
    }) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    reply::json(
        200,
        &json!({ "versions": page.items, "total_count": page.total, "pagination": page.pagination }),
    )
}
