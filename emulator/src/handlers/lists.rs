//! `GET /v1/deployments` (filters, pagination), `GET /v1/locations` and
//! `GET /v2/private-fleets/{fleet}/hosts`.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{Location, PrivateHost};
use crate::reply::{self, Reply, bad};
use crate::request::Ctx;
use crate::state::{Deployment, Shared};
use crate::util::{iso_time, parse_time};

/// A page of a list: its items as JSON, the list's length and the six-key `pagination` object.
pub(crate) struct Page {
    pub items: Vec<Value>,
    pub total: usize,
    pub pagination: Value,
}

/// The page of `all` that `page` (≥ 1, default 1) and `limit` (≥ 1, default `default_limit`,
/// at most 1000) ask for, each item written by `to_json`.
pub(crate) fn page<T>(
    ctx: &Ctx,
    all: &[T],
    default_limit: usize,
    to_json: impl FnMut(&T) -> Value,
) -> Result<Page, Reply> {
    let total = all.len();
    let number = |key: &str, default: usize| -> Result<usize, Reply> {
        match ctx.query(key) {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n.min(if key == "limit" { 1000 } else { usize::MAX })),
                _ => Err(reply::invalid(
                    400,
                    format!("Invalid request: `{key}` must be an integer >= 1, not `{text}`"),
                    json!({ key: "must be an integer >= 1" }),
                )),
            },
        }
    };
    let page = number("page", 1)?;
    let limit = number("limit", default_limit)?;
    // Every number from the request goes through checked arithmetic: a page whose offset or
    // successor does not fit is a 400, never an overflow.
    let (Some(offset), Some(next)) = (page.checked_mul(limit), page.checked_add(1)) else {
        return Err(reply::invalid(
            400,
            format!("Invalid request: `page` {page} is too large for `limit` {limit}"),
            json!({ "page": "too large" }),
        ));
    };
    let num_pages = total.div_ceil(limit).max(1);
    let start = (offset - limit).min(total);
    let end = start.saturating_add(limit).min(total);
    let pagination = json!({
        "number": page,
        "next_page_number": (page < num_pages).then_some(next),
        "previous_page_number": (page > 1).then(|| (page - 1).min(num_pages)),
        "paginator": { "num_pages": num_pages },
        "has_next": page < num_pages,
        "has_previous": page > 1,
    });
    Ok(Page {
        items: all[start..end].iter().map(to_json).collect(),
        total,
        pagination,
    })
}

#[derive(Debug, Deserialize)]
struct Filter {
    field: String,
    operator: String,
    value: Value,
}

#[derive(Debug, Deserialize)]
struct OrderBy {
    field: String,
    order: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct Query {
    #[serde(default)]
    filters: Vec<Filter>,
    #[serde(default)]
    order_by: Vec<OrderBy>,
}

const FIELDS: [&str; 6] = [
    "status",
    "request_id",
    "tags",
    "app_name",
    "app_version",
    "created_at",
];
const OPERATORS: [&str; 8] = ["eq", "neq", "in", "nin", "lt", "lte", "gt", "gte"];

/// `ready`, `READY` and `Status.READY` all name one status.
fn normalize_status(text: &str) -> String {
    text.strip_prefix("Status.")
        .unwrap_or(text)
        .to_ascii_uppercase()
}

/// One comparable value of a deployment field.
#[derive(Debug, PartialEq, PartialOrd)]
enum Scalar {
    Text(String),
    Time(SystemTime),
}

fn scalar(field: &str, value: &Value) -> Result<Scalar, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("value for `{field}` must be a string"))?;
    Ok(match field {
        "status" => Scalar::Text(normalize_status(text)),
        "created_at" => {
            Scalar::Time(parse_time(text).ok_or_else(|| format!("`{text}` is not a timestamp"))?)
        }
        _ => Scalar::Text(text.to_owned()),
    })
}

fn field_values(d: &Deployment, field: &str) -> Vec<Scalar> {
    match field {
        "status" => vec![Scalar::Text(normalize_status(d.phase.as_str()))],
        "request_id" => vec![Scalar::Text(d.request_id.clone())],
        "app_name" => vec![Scalar::Text(d.version.app.clone())],
        "app_version" => vec![Scalar::Text(d.version.version.clone())],
        "created_at" => vec![Scalar::Time(d.created)],
        _ => d.tag_names().into_iter().map(Scalar::Text).collect(),
    }
}

/// A checked filter: field, operator, one or many operands.
struct Check {
    field: String,
    operator: String,
    operands: Vec<Scalar>,
}

impl Check {
    fn matches(&self, d: &Deployment) -> bool {
        let have = field_values(d, &self.field);
        let any_eq = || self.operands.iter().any(|o| have.contains(o));
        let cmp = |want: fn(Ordering) -> bool| {
            have.iter()
                .any(|h| h.partial_cmp(&self.operands[0]).is_some_and(want))
        };
        match self.operator.as_str() {
            "eq" | "in" => any_eq(),
            "neq" | "nin" => !any_eq(),
            "lt" => cmp(|o| o == Ordering::Less),
            "lte" => cmp(|o| o != Ordering::Greater),
            "gt" => cmp(|o| o == Ordering::Greater),
            _ => cmp(|o| o != Ordering::Less),
        }
    }
}

fn parse_query(text: Option<&str>) -> Result<(Vec<Check>, Vec<OrderBy>), Reply> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let query: Query =
        serde_json::from_str(text).map_err(|e| bad("query", format!("is not valid: {e}")))?;
    let mut checks = Vec::new();
    for (i, f) in query.filters.into_iter().enumerate() {
        if !FIELDS.contains(&f.field.as_str()) {
            return Err(bad(
                "query",
                format!("filters[{i}].field must be one of {}", FIELDS.join(", ")),
            ));
        }
        if !OPERATORS.contains(&f.operator.as_str()) {
            return Err(bad(
                "query",
                format!(
                    "filters[{i}].operator must be one of {}",
                    OPERATORS.join(", ")
                ),
            ));
        }
        let operands = if matches!(f.operator.as_str(), "in" | "nin") {
            let Some(items) = f.value.as_array() else {
                return Err(bad(
                    "query",
                    format!("filters[{i}].value must be an array for `{}`", f.operator),
                ));
            };
            items
                .iter()
                .map(|v| scalar(&f.field, v))
                .collect::<Result<Vec<_>, _>>()
        } else {
            scalar(&f.field, &f.value).map(|s| vec![s])
        }
        .map_err(|problem| bad("query", format!("filters[{i}]: {problem}")))?;
        checks.push(Check {
            field: f.field,
            operator: f.operator,
            operands,
        });
    }
    for (i, o) in query.order_by.iter().enumerate() {
        if !FIELDS.contains(&o.field.as_str()) {
            return Err(bad(
                "query",
                format!("order_by[{i}].field must be one of {}", FIELDS.join(", ")),
            ));
        }
        if !matches!(o.order.as_deref(), None | Some("asc" | "desc")) {
            return Err(bad(
                "query",
                format!("order_by[{i}].order must be `asc` or `desc`"),
            ));
        }
    }
    Ok((checks, query.order_by))
}

/// `GET /v1/deployments`: active (not terminated) deployments, filtered, ordered, paginated.
pub(crate) fn list_deployments(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (checks, order_by) = match parse_query(ctx.query("query")) {
        Ok(q) => q,
        Err(reply) => return reply,
    };
    let deployments = shared.deployments();
    let mut selected: Vec<&Deployment> = deployments
        .order
        .iter()
        .filter_map(|id| deployments.by_id.get(id))
        .filter(|d| d.is_active() && checks.iter().all(|c| c.matches(d)))
        .collect();
    for order in order_by.iter().rev() {
        let descending = order.order.as_deref() == Some("desc");
        selected.sort_by(|a, b| {
            let (x, y) = (field_values(a, &order.field), field_values(b, &order.field));
            let ord = x.first().partial_cmp(&y.first()).unwrap_or(Ordering::Equal);
            if descending { ord.reverse() } else { ord }
        });
    }
    let page = match page(ctx, &selected, shared.settings.default_page_size, |d| {
        d.list_item_json()
    }) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    reply::json(
        200,
        &json!({
            "data": page.items,
            "total_count": page.total,
            "count": page.total,
            "pagination": page.pagination,
            "message": [],
        }),
    )
}

/// `GET /v1/locations`: params `app`, `version` (must exist), `type`, `tags` (`true` lists
/// location tags), `page`, `limit`.
pub(crate) fn locations(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    match (ctx.query("app"), ctx.query("version")) {
        (Some(app), Some(version)) if shared.find_version(app, version).is_none() => {
            return reply::error(
                400,
                format!("Invalid Application or Application Version `{app}`/`{version}`"),
                false,
            );
        }
        (Some(app), None) if !shared.app_exists(app) => {
            return reply::error(400, format!("Invalid Application `{app}`"), false);
        }
        (None, Some(_)) => {
            return reply::invalid(
                400,
                "Invalid request: `version` needs `app`",
                json!({ "version": "needs `app`" }),
            );
        }
        _ => {}
    }
    let with_tags = ctx
        .query("tags")
        .is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let selected: Vec<_> = shared
        .locations
        .iter()
        .filter(|l| {
            ctx.query("type")
                .is_none_or(|t| t.is_empty() || l.kind.eq_ignore_ascii_case(t))
        })
        .collect();
    let location_item = |l: &&Location| {
        let mut item = crate::state::views::location_json(l);
        item["type"] = json!(l.kind);
        if with_tags {
            item["tags"] = l
                .tags
                .iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect();
        }
        item
    };
    let page = match page(
        ctx,
        &selected,
        shared.settings.default_page_size,
        location_item,
    ) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    reply::json(
        200,
        &json!({
            "locations": page.items,
            "messages": [],
            "total_count": page.total,
            "count": page.total,
            "pagination": page.pagination,
        }),
    )
}

/// `GET /v2/private-fleets/{fleet_name}/hosts`.
pub(crate) fn fleet_hosts(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let fleet = ctx.param(0);
    let Some(hosts) = shared.settings.fleets.get(fleet) else {
        // Edgegap documents 400, 401 and 500 here, no 404.
        return reply::invalid(
            400,
            format!("Invalid request: private fleet `{fleet}` not found"),
            json!({ "fleet_name": "unknown private fleet" }),
        );
    };
    let now = iso_time(SystemTime::now());
    let active_on = |host_id: &str| {
        let deployments = shared.deployments();
        deployments
            .by_id
            .values()
            .filter(|d| d.is_active() && d.host_id == host_id)
            .map(|d| {
                let cpu = d
                    .env
                    .get("ARBITRIUM_DEPLOYMENT_VCPU_UNITS")
                    .and_then(|v| v.parse::<u64>().ok());
                let mem = d
                    .env
                    .get("ARBITRIUM_DEPLOYMENT_MEMORY_MB")
                    .and_then(|v| v.parse::<u64>().ok());
                (cpu.unwrap_or(0), mem.unwrap_or(0))
            })
            .fold((0u64, 0u64), |(c, m), (dc, dm)| (c + dc, m + dm))
    };
    let total = hosts.len();
    let host_item = |h: &PrivateHost| {
        let (cpu, mem) = active_on(&h.host_id);
        json!({
            "host_id": h.host_id,
            "status": h.status,
            "ip_address": "127.0.0.1",
            "latitude": h.latitude,
            "longitude": h.longitude,
            "city": h.city,
            "country": h.country,
            "continent": h.continent,
            "allocated_cpu_units": cpu,
            "allocated_memory_mb": mem,
            "allocatable_cpu_units": u64::from(h.cpu_units).saturating_sub(cpu),
            "allocatable_memory_mb": u64::from(h.memory_mb).saturating_sub(mem),
            "beacon": null,
            "created_at": now,
            "updated_at": now,
            "centroid": {
                "label": fleet,
                "latitude": h.latitude.unwrap_or(0.0),
                "longitude": h.longitude.unwrap_or(0.0),
                "radius_km": 100.0,
                "desired_host_count": total,
            },
            "delete_schedule": null,
            "fleet_host_specifications": {
                "cpu_units": h.cpu_units,
                "memory_mb": h.memory_mb,
                "base_clock_speed_mhz": 2000,
            },
        })
    };
    let page = match page(ctx, hosts, total.max(1), host_item) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    reply::json(
        200,
        &json!({ "data": page.items, "total_count": page.total, "count": page.total, "pagination": page.pagination }),
    )
}
