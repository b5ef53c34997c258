//! `POST /v2/deployments`, `POST /v2/private-fleets/deployments` (and `:deploy`), and the legacy
//! `POST /v1/deploy`.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tags::check_tag_name;
use crate::reply::{self, Reply, bad};
use crate::request::{Ctx, typed};
use crate::state::lifecycle::{self, NewDeployment};
use crate::state::{Shared, Webhooks};
use crate::webhooks::check_url;

/// Fields of the legacy v1 deploy that v2 does not have: sending them to v2 is a 400.
const V1_ONLY_FIELDS: [(&str, &str); 12] = [
    ("app_name", "application"),
    ("version_name", "version"),
    ("ip_list", "users"),
    ("geo_ip_list", "users"),
    ("env_vars", "environment_variables"),
    ("filters", "(no v2 equivalent)"),
    ("webhook_url", "webhook_on_ready / webhook_on_error"),
    ("container_log_storage", "(no v2 equivalent)"),
    ("is_public_app", "(no v2 equivalent)"),
    ("skip_telemetry", "(no v2 equivalent)"),
    ("ap_sort_strategy", "(no v2 equivalent)"),
    ("telemetry_profile_uuid_list", "(no v2 equivalent)"),
];

#[derive(Debug, Deserialize)]
struct User {
    user_type: String,
    user_data: Value,
}

#[derive(Debug, Deserialize)]
struct EnvVar {
    key: String,
    value: String,
    is_hidden: bool,
}

#[derive(Debug, Deserialize)]
struct Resources {
    cpu_units: i64,
    memory_mib: i64,
}

#[derive(Debug, Deserialize)]
struct Webhook {
    url: String,
}

#[derive(Debug, Deserialize)]
struct V2Body {
    application: String,
    version: String,
    users: Vec<User>,
    #[expect(
        dead_code,
        reason = "accepted and validated for type only: there is no placement"
    )]
    require_cached_locations: Option<bool>,
    resources: Option<Resources>,
    environment_variables: Option<Vec<EnvVar>>,
    tags: Option<Vec<String>>,
    webhook_on_ready: Option<Webhook>,
    webhook_on_error: Option<Webhook>,
    webhook_on_terminated: Option<Webhook>,
    private_host_ids: Option<Vec<String>>,
}

fn check_webhook(field: &str, hook: Option<&Webhook>) -> Result<Option<String>, Reply> {
    match hook {
        None => Ok(None),
        Some(h) => match check_url(&h.url) {
            Ok(()) => Ok(Some(h.url.clone())),
            Err(problem) => Err(bad(&format!("{field}.url"), problem)),
        },
    }
}

fn check_user(i: usize, user: &User) -> Result<(), Reply> {
    let field = format!("users[{i}]");
    let data = user.user_data.as_object();
    match user.user_type.as_str() {
        "ip_address" => {
            let ip = data
                .and_then(|d| d.get("ip_address"))
                .and_then(Value::as_str);
            match ip {
                Some(ip) if ip.parse::<std::net::IpAddr>().is_ok() => Ok(()),
                Some(_) => Err(bad(
                    &format!("{field}.user_data.ip_address"),
                    "is not a valid IP address",
                )),
                None => Err(bad(
                    &format!("{field}.user_data"),
                    "must be an object with a string `ip_address`",
                )),
            }
        }
        "geo_coordinates" => {
            let lat = data.and_then(|d| d.get("latitude")).and_then(Value::as_f64);
            let lon = data
                .and_then(|d| d.get("longitude"))
                .and_then(Value::as_f64);
            match (lat, lon) {
                (Some(lat), Some(lon))
                    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
                {
                    Ok(())
                }
                (Some(_), Some(_)) => Err(bad(
                    &format!("{field}.user_data"),
                    "latitude/longitude out of range",
                )),
                _ => Err(bad(
                    &format!("{field}.user_data"),
                    "must be an object with numbers `latitude` and `longitude`",
                )),
            }
        }
        other => Err(bad(
            &format!("{field}.user_type"),
            format!("must be `ip_address` or `geo_coordinates`, not `{other}`"),
        )),
    }
}

fn check_tags(tags: &[String], max: usize) -> Result<(), Reply> {
    for (i, tag) in tags.iter().enumerate() {
        check_tag_name(tag, max).map_err(|problem| bad(&format!("tags[{i}]"), problem))?;
    }
    Ok(())
}

/// Validates a v2 (or private-fleet) deploy body into a [`NewDeployment`].
fn parse_v2(shared: &Shared, ctx: &Ctx, fleet: bool) -> Result<NewDeployment, Reply> {
    let value = ctx.json_body()?;
    let Some(object) = value.as_object() else {
        return Err(bad("body", "must be a JSON object"));
    };
    if let Some((field, instead)) = V1_ONLY_FIELDS.iter().find(|(f, _)| object.contains_key(*f)) {
        return Err(reply::invalid(
            400,
            format!("Invalid request: `{field}` is a v1 field, not accepted by v2 (use {instead})"),
            json!({ *field: format!("unknown field for v2; use {instead}") }),
        ));
    }
    let body: V2Body = typed(value, "body")?;
    if body.application.is_empty() {
        return Err(bad("application", "must not be empty"));
    }
    if body.version.is_empty() {
        return Err(bad("version", "must not be empty"));
    }
    if body.users.is_empty() {
        return Err(bad("users", "must contain at least 1 item"));
    }
    for (i, user) in body.users.iter().enumerate() {
        check_user(i, user)?;
    }
    let mut env_vars = Vec::new();
    for (i, var) in body.environment_variables.iter().flatten().enumerate() {
        if var.key.is_empty() {
            return Err(bad(
                &format!("environment_variables[{i}].key"),
                "must not be empty",
            ));
        }
        if var.value.len() > 4096 {
            return Err(bad(
                &format!("environment_variables[{i}].value"),
                "is longer than 4096 bytes",
            ));
        }
        let _ = var.is_hidden;
        env_vars.push((var.key.clone(), var.value.clone()));
    }
    let resources = match &body.resources {
        None => None,
        Some(r) if r.cpu_units < 100 => {
            return Err(bad("resources.cpu_units", "must be at least 100"));
        }
        Some(r) if r.memory_mib < 100 => {
            return Err(bad("resources.memory_mib", "must be at least 100"));
        }
        Some(r) if r.memory_mib > 2 * r.cpu_units => {
            return Err(bad(
                "resources.memory_mib",
                "must be at most twice `cpu_units`",
            ));
        }
        Some(r) => Some((r.cpu_units as u64, r.memory_mib as u64)),
    };
    let tags = body.tags.clone().unwrap_or_default();
    check_tags(&tags, shared.settings.max_tag_length)?;
    let webhooks = Webhooks {
        on_ready: check_webhook("webhook_on_ready", body.webhook_on_ready.as_ref())?,
        on_error: check_webhook("webhook_on_error", body.webhook_on_error.as_ref())?,
        on_terminated: check_webhook("webhook_on_terminated", body.webhook_on_terminated.as_ref())?,
        v1: None,
    };
    let host_id = if fleet {
        let ids = body.private_host_ids.clone().unwrap_or_default();
        if ids.is_empty() {
            return Err(bad("private_host_ids", "must contain at least 1 item"));
        }
        if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
            return Err(bad("private_host_ids", "items must be unique"));
        }
        let hosts: Vec<_> = shared.settings.fleets.values().flatten().collect();
        for id in &ids {
            match hosts.iter().find(|h| &h.host_id == id) {
                None => {
                    return Err(bad(
                        "private_host_ids",
                        format!("unknown private host `{id}`"),
                    ));
                }
                Some(h) if !h.status.eq_ignore_ascii_case("ACTIVE") => {
                    return Err(bad(
                        "private_host_ids",
                        format!("private host `{id}` is not ACTIVE"),
                    ));
                }
                Some(_) => {}
            }
        }
        ids.first().cloned()
    } else {
        None
    };
    let Some(version) = shared.find_version(&body.application, &body.version) else {
        return Err(reply::invalid(
            400,
            "Invalid Application or Application Version. No deployment has been created",
            json!({ "application": body.application, "version": body.version }),
        ));
    };
    Ok(NewDeployment {
        version,
        env_vars,
        tags,
        webhooks,
        host_id,
        resources,
    })
}

/// The `message` of Edgegap's v2 422 (and the `error_detail` of the deployment it creates).
pub(crate) const COULD_NOT_ALLOCATE: &str = "Couldn't allocate a server";

/// `POST /v2/deployments` and the private-fleet deploy: 202 `{"request_id"}`; with the
/// `CouldNotAllocate` fault, 422 `{"request_id", "message"}` and the deployment in ERROR.
pub(crate) fn deploy_v2(shared: &Arc<Shared>, ctx: &Ctx, fleet: bool) -> Reply {
    match parse_v2(shared, ctx, fleet) {
        Ok(new) if ctx.could_not_allocate => {
            let request_id = lifecycle::create_unallocated(shared, new, COULD_NOT_ALLOCATE);
            reply::json(
                422,
                &json!({ "request_id": request_id, "message": COULD_NOT_ALLOCATE }),
            )
        }
        Ok(new) => {
            let request_id = lifecycle::create(shared, new);
            reply::json(202, &json!({ "request_id": request_id }))
        }
        Err(reply) => reply,
    }
}

#[derive(Debug, Deserialize)]
struct GeoIp {
    ip: String,
    latitude: f64,
    longitude: f64,
}

#[derive(Debug, Deserialize)]
struct V1EnvVar {
    key: String,
    value: String,
    #[expect(
        dead_code,
        reason = "accepted (as a bool or a string, per old docs), not used"
    )]
    is_hidden: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct V1Filter {
    field: String,
    values: Vec<String>,
    filter_type: String,
}

#[derive(Debug, Deserialize)]
struct V1Body {
    app_name: String,
    version_name: Option<String>,
    ip_list: Option<Vec<String>>,
    geo_ip_list: Option<Vec<GeoIp>>,
    env_vars: Option<Vec<V1EnvVar>>,
    webhook_url: Option<String>,
    tags: Option<Vec<String>>,
    container_log_storage: Option<Value>,
    filters: Option<Vec<V1Filter>>,
}

/// `POST /v1/deploy` (deprecated): 200 with the `Request` model.
pub(crate) fn deploy_v1(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let value = match ctx.json_body() {
        Ok(v) => v,
        Err(reply) => return reply,
    };
    if !value.is_object() {
        return bad("body", "must be a JSON object");
    }
    let body: V1Body = match typed(value, "body") {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    if body.ip_list.is_some() && body.geo_ip_list.is_some() {
        return bad("ip_list", "and `geo_ip_list` are mutually exclusive");
    }
    for (i, ip) in body.ip_list.iter().flatten().enumerate() {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return bad(&format!("ip_list[{i}]"), "is not a valid IP address");
        }
    }
    for (i, geo) in body.geo_ip_list.iter().flatten().enumerate() {
        if geo.ip.parse::<std::net::IpAddr>().is_err() {
            return bad(&format!("geo_ip_list[{i}].ip"), "is not a valid IP address");
        }
        let _ = (geo.latitude, geo.longitude);
    }
    for (i, f) in body.filters.iter().flatten().enumerate() {
        const FIELDS: [&str; 6] = [
            "city",
            "country",
            "continent",
            "region",
            "administrative_division",
            "location_tags",
        ];
        if !FIELDS.contains(&f.field.as_str()) {
            return bad(
                &format!("filters[{i}].field"),
                format!("must be one of {}", FIELDS.join(", ")),
            );
        }
        if !["any", "all", "not"].contains(&f.filter_type.as_str()) {
            return bad(
                &format!("filters[{i}].filter_type"),
                "must be `any`, `all` or `not`",
            );
        }
        let _ = &f.values;
    }
    if let Some(storage) = &body.container_log_storage
        && !storage.get("enabled").is_some_and(Value::is_boolean)
    {
        return bad("container_log_storage.enabled", "is required (a boolean)");
    }
    if let Some(url) = &body.webhook_url
        && let Err(problem) = check_url(url)
    {
        return bad("webhook_url", problem);
    }
    let tags = body.tags.clone().unwrap_or_default();
    if let Err(reply) = check_tags(&tags, shared.settings.max_tag_length) {
        return reply;
    }
    if !shared.app_exists(&body.app_name) {
        return reply::error(
            404,
            format!("Application `{}` not found", body.app_name),
            false,
        );
    }
    let version = match &body.version_name {
        Some(name) => shared.find_version(&body.app_name, name),
        None => shared.latest_version(&body.app_name),
    };
    let Some(version) = version else {
        return reply::error(
            400,
            format!(
                "Invalid Application Version `{}` for application `{}`",
                body.version_name.as_deref().unwrap_or(""),
                body.app_name
            ),
            false,
        );
    };
    let user_count =
        body.ip_list.as_ref().map_or(0, Vec::len) + body.geo_ip_list.as_ref().map_or(0, Vec::len);
    let container_log_storage = body
        .container_log_storage
        .clone()
        .unwrap_or_else(|| json!({ "enabled": false, "endpoint_storage": null }));
    let filters: Vec<Value> = body
        .filters
        .iter()
        .flatten()
        .map(|f| json!({ "field": f.field, "values": f.values, "filter_type": f.filter_type }))
        .collect();
    let new = NewDeployment {
        version: Arc::clone(&version),
        env_vars: body
            .env_vars
            .iter()
            .flatten()
            .map(|v| (v.key.clone(), v.value.clone()))
            .collect(),
        tags: tags.clone(),
        webhooks: Webhooks {
            v1: body.webhook_url.clone(),
            ..Webhooks::default()
        },
        host_id: None,
        resources: None,
    };
    let request_id = lifecycle::create(shared, new);
    let location = shared.locations[0].clone();
    let mut answer = Map::new();
    answer.insert("request_id".into(), json!(request_id));
    answer.insert(
        "request_dns".into(),
        json!(format!("{request_id}.pr.edgegap.net")),
    );
    answer.insert("request_app".into(), json!(version.app));
    answer.insert("request_version".into(), json!(version.version));
    answer.insert("request_user_count".into(), json!(user_count));
    answer.insert("city".into(), json!(location.city));
    answer.insert("country".into(), json!(location.country));
    answer.insert("continent".into(), json!(location.continent));
    answer.insert(
        "administrative_division".into(),
        json!(location.administrative_division),
    );
    answer.insert("tags".into(), json!(tags));
    answer.insert("container_log_storage".into(), container_log_storage);
    answer.insert("filters".into(), Value::Array(filters));
    reply::json(200, &Value::Object(answer))
}
