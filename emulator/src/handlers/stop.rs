//! `GET /v1/status/{id}`, `DELETE /v1/stop/{id}`, `DELETE /v1/self/stop/{id}/{stop_key}` and
//! `POST /v1/deployments/bulk-stop`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::reply::{self, Reply, bad, unknown_deployment};
use crate::request::Ctx;
use crate::state::lifecycle::{carry_out, record_stop};
use crate::state::{Phase, Shared};

/// `GET /v1/status/{request_id}`.
pub(crate) fn status(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    match shared.deployments().by_id.get(id) {
        Some(d) => reply::json(200, &d.status_json()),
        None => unknown_deployment(shared.settings.unknown_status, id),
    }
}

/// What a stop request does to a deployment in its current state.
enum StopOutcome {
    /// READY or ERROR: stopped now (recorded under the lock), 200 with the summary.
    Now(Value),
    /// Still starting (or already stopping): 202, stopped once READY/ERROR.
    Deferred,
    /// Already TERMINATED: 410.
    Gone,
}

/// Decides and records a stop of `id` by `who` under one lock (so concurrent stops apply
/// once); `None` for an unknown id.
fn request_stop(shared: &Arc<Shared>, id: &str, who: &'static str) -> Option<StopOutcome> {
    let mut deployments = shared.deployments();
    let d = deployments.by_id.get_mut(id)?;
    let mut plan = None;
    let outcome = match d.phase {
        Phase::Terminated => StopOutcome::Gone,
        Phase::Terminating => StopOutcome::Deferred,
        Phase::Ready | Phase::Error => {
            let summary = d.status_json();
            plan = record_stop(d, who);
            StopOutcome::Now(summary)
        }
        _ => {
            if d.stop_pending.is_none() {
                d.stop_pending = Some(who);
            }
            d.wake.notify_one();
            StopOutcome::Deferred
        }
    };
    drop(deployments);
    if let Some(plan) = plan {
        carry_out(shared, plan);
    }
    Some(outcome)
}

fn stop_reply(id: &str, outcome: StopOutcome) -> Reply {
    match outcome {
        StopOutcome::Now(summary) => reply::json(
            200,
            &json!({ "message": format!("Instance {id} will be deleted"), "deployment_summary": summary }),
        ),
        StopOutcome::Deferred => reply::json(
            202,
            &json!({ "message": format!("{id} - Delete request will be processed soon") }),
        ),
        StopOutcome::Gone => reply::error(410, "Instance Already terminated", false),
    }
}

/// `DELETE /v1/stop/{request_id}`.
pub(crate) fn stop(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    match request_stop(shared, id, "api") {
        Some(outcome) => stop_reply(id, outcome),
        None => unknown_deployment(shared.settings.unknown_status, id),
    }
}

/// `DELETE /v1/self/stop/{request_id}/{stop_key}` with the raw `ARBITRIUM_DELETE_TOKEN`.
pub(crate) fn self_stop(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (id, key) = (ctx.param(0), ctx.param(1));
    let check = {
        let deployments = shared.deployments();
        match deployments.by_id.get(id) {
            None => Err(reply::error(
                404,
                format!("Deployment {id} not found"),
                false,
            )),
            Some(d) => match ctx.raw_authorization() {
                None => Err(reply::error(401, "Unauthorized - Missing Token", false)),
                Some(token) if token != d.delete_token => {
                    Err(reply::error(401, "Unauthorized - Invalid Token", false))
                }
                Some(_) if key != d.stop_key => Err(reply::error(
                    404,
                    format!("Deployment {id} not found for this stop key"),
                    false,
                )),
                Some(_) => Ok(()),
            },
        }
    };
    if let Err(reply) = check {
        return reply;
    }
    match request_stop(shared, id, "self") {
        Some(outcome) => stop_reply(id, outcome),
        None => reply::error(404, format!("Deployment {id} not found"), false),
    }
}

#[derive(Debug, Deserialize)]
struct BulkFilter {
    field: String,
    values: Vec<String>,
    filter_type: String,
}

#[derive(Debug, Deserialize)]
struct BulkBody {
    filters: Vec<BulkFilter>,
}

/// `POST /v1/deployments/bulk-stop`: filters on `request_id` / `deployment_tags` with
/// `any`/`all`/`not`, ANDed; stops the matching active deployments.
pub(crate) fn bulk_stop(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let body: BulkBody = match ctx.typed_body("body") {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    for (i, f) in body.filters.iter().enumerate() {
        if !["request_id", "deployment_tags"].contains(&f.field.as_str()) {
            return bad(
                &format!("filters[{i}].field"),
                "must be `request_id` or `deployment_tags`",
            );
        }
        if !["any", "all", "not"].contains(&f.filter_type.as_str()) {
            return bad(
                &format!("filters[{i}].filter_type"),
                "must be `any`, `all` or `not`",
            );
        }
    }
    if body.filters.is_empty() {
        return bad("filters", "must contain at least 1 filter");
    }
    let matching: Vec<String> = {
        let deployments = shared.deployments();
        deployments
            .order
            .iter()
            .filter_map(|id| deployments.by_id.get(id))
            .filter(|d| !matches!(d.phase, Phase::Terminated | Phase::Terminating))
            .filter(|d| {
                body.filters.iter().all(|f| {
                    let have: Vec<String> = if f.field == "request_id" {
                        vec![d.request_id.clone()]
                    } else {
                        d.tag_names()
                    };
                    match f.filter_type.as_str() {
                        "any" => f.values.iter().any(|v| have.contains(v)),
                        "all" => f.values.iter().all(|v| have.contains(v)),
                        _ => !f.values.iter().any(|v| have.contains(v)),
                    }
                })
            })
            .map(|d| d.request_id.clone())
            .collect()
    };
    for id in &matching {
        request_stop(shared, id, "bulk");
    }
    let processable: Vec<Value> = matching
        .iter()
        .map(|id| json!({ "request_id": id }))
        .collect();
    reply::json(
        shared.settings.bulk_stop_status,
        &json!({ "processable": processable }),
    )
}
