//! Deployment tags under `/v1/deployments/{id}/tags` and the context API
//! (`/v1/context/{id}/{security_number}`, raw `ARBITRIUM_CONTEXT_TOKEN`).

use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{Value, json};

use super::lists::page;
use crate::reply::{self, Reply, bad};
use crate::request::Ctx;
use crate::state::{Deployment, Shared, Tag};
use crate::util::v1_time;

fn tag_json(tag: &Tag) -> Value {
    json!({ "name": tag.name, "create_time": v1_time(tag.created), "last_updated": v1_time(tag.updated) })
}

fn not_found(id: &str) -> Reply {
    reply::error(404, format!("Deployment {id} not found"), false)
}

fn tag_not_found(id: &str, name: &str) -> Reply {
    reply::error(
        404,
        format!("Tag `{name}` not found on deployment {id}"),
        false,
    )
}

#[derive(Debug, Deserialize)]
struct TagBody {
    name: String,
}

/// Checks a tag name: 1 to `max` characters (Edgegap documents 20).
pub(crate) fn check_tag_name(name: &str, max: usize) -> Result<(), String> {
    let len = name.chars().count();
    if (1..=max).contains(&len) {
        Ok(())
    } else {
        Err(format!("must be 1 to {max} characters, not {len}"))
    }
}

/// Reads `{"name"}` (1..=`max_tag_length` characters).
fn tag_name(shared: &Shared, ctx: &Ctx) -> Result<String, Reply> {
    let body: TagBody = ctx.typed_body("name")?;
    check_tag_name(&body.name, shared.settings.max_tag_length)
        .map_err(|problem| bad("name", problem))?;
    Ok(body.name)
}

/// Adds tag `name` to `d`: 200 with the tag, 409 if it exists.
fn add_tag(d: &mut Deployment, name: String) -> Reply {
    if d.tags.iter().any(|t| t.name == name) {
        return reply::error(
            409,
            format!("Tag `{name}` already exists on deployment {}", d.request_id),
            false,
        );
    }
    let now = SystemTime::now();
    let tag = Tag {
        name,
        created: now,
        updated: now,
    };
    let answer = tag_json(&tag);
    d.tags.push(tag);
    reply::json(200, &answer)
}

/// Removes tag `name` from `d`: 204 empty, 404 if absent.
fn remove_tag(d: &mut Deployment, name: &str) -> Reply {
    let before = d.tags.len();
    d.tags.retain(|t| t.name != name);
    if d.tags.len() == before {
        return tag_not_found(&d.request_id, name);
    }
    reply::empty(204)
}

/// `GET /v1/deployments/{id}/tags` (`page`, `limit`).
pub(crate) fn list(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    let deployments = shared.deployments();
    let Some(d) = deployments.by_id.get(id) else {
        return not_found(id);
    };
    let page = match page(ctx, &d.tags, shared.settings.default_page_size, tag_json) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    reply::json(
        200,
        &json!({ "tags": page.items, "total_count": page.total, "count": page.total, "pagination": page.pagination }),
    )
}

/// `GET /v1/deployments/{id}/tags/{name}`.
pub(crate) fn get(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (id, name) = (ctx.param(0), ctx.param(1));
    let deployments = shared.deployments();
    let Some(d) = deployments.by_id.get(id) else {
        return not_found(id);
    };
    match d.tags.iter().find(|t| t.name == name) {
        Some(tag) => reply::json(200, &tag_json(tag)),
        None => tag_not_found(id, name),
    }
}

/// `POST /v1/deployments/{id}/tags` with `{"name"}`.
pub(crate) fn create(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    if !shared.deployments().by_id.contains_key(id) {
        return not_found(id);
    }
    add_tag_named_in_body(shared, ctx, id)
}

/// Adds the tag the body names (`{"name"}`) to deployment `id`, whose existence and access the
/// caller checked before reading the body.
fn add_tag_named_in_body(shared: &Shared, ctx: &Ctx, id: &str) -> Reply {
    let name = match tag_name(shared, ctx) {
        Ok(n) => n,
        Err(reply) => return reply,
    };
    match shared.deployments().by_id.get_mut(id) {
        Some(d) => add_tag(d, name),
        None => not_found(id),
    }
}

/// `PATCH /v1/deployments/{id}/tags/{name}` with `{"name": new}` (a rename).
pub(crate) fn update(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (id, old) = (ctx.param(0), ctx.param(1));
    if !shared.deployments().by_id.contains_key(id) {
        return not_found(id);
    }
    let new = match tag_name(shared, ctx) {
        Ok(n) => n,
        Err(reply) => return reply,
    };
    let mut deployments = shared.deployments();
    let Some(d) = deployments.by_id.get_mut(id) else {
        return not_found(id);
    };
    if !d.tags.iter().any(|t| t.name == old) {
        return tag_not_found(id, old);
    }
    if new != old && d.tags.iter().any(|t| t.name == new) {
        return reply::error(
            409,
            format!("Tag `{new}` already exists on deployment {id}"),
            false,
        );
    }
    let Some(tag) = d.tags.iter_mut().find(|t| t.name == old) else {
        return tag_not_found(id, old);
    };
    tag.name = new;
    tag.updated = SystemTime::now();
    reply::json(200, &tag_json(tag))
}

/// `DELETE /v1/deployments/{id}/tags/{name}`: 204.
pub(crate) fn delete(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let (id, name) = (ctx.param(0), ctx.param(1));
    match shared.deployments().by_id.get_mut(id) {
        Some(d) => remove_tag(d, name),
        None => not_found(id),
    }
}

/// Checks the context URL's security number and the raw context token.
fn context_check(d: &Deployment, ctx: &Ctx) -> Result<(), Reply> {
    match ctx.raw_authorization() {
        None => return Err(reply::error(401, "Unauthorized - Missing Token", false)),
        Some(token) if token != d.context_token => {
            return Err(reply::error(401, "Unauthorized - Invalid Token", false));
        }
        Some(_) => {}
    }
    if ctx.param(1) != d.security_number.to_string() {
        return Err(reply::error(
            404,
            format!(
                "Deployment {} not found for this security number",
                d.request_id
            ),
            false,
        ));
    }
    Ok(())
}

/// `GET /v1/context/{id}/{security_number}`: the `Deployment` model.
pub(crate) fn context(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    let deployments = shared.deployments();
    let Some(d) = deployments.by_id.get(id) else {
        return not_found(id);
    };
    match context_check(d, ctx) {
        Ok(()) => reply::json(200, &d.context_json()),
        Err(reply) => reply,
    }
}

/// `POST /v1/context/{id}/{security_number}/tags`.
pub(crate) fn context_create_tag(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    {
        let deployments = shared.deployments();
        let Some(d) = deployments.by_id.get(id) else {
            return not_found(id);
        };
        if let Err(reply) = context_check(d, ctx) {
            return reply;
        }
    }
    add_tag_named_in_body(shared, ctx, id)
}

/// `DELETE /v1/context/{id}/{security_number}/tags/{name}`: 204.
pub(crate) fn context_delete_tag(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    let mut deployments = shared.deployments();
    let Some(d) = deployments.by_id.get_mut(id) else {
        return not_found(id);
    };
    if let Err(reply) = context_check(d, ctx) {
        return reply;
    }
    remove_tag(d, ctx.param(2))
}
