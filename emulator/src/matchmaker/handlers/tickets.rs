//! Server-to-server tickets: `POST /tickets`, `GET|DELETE /tickets/{id}`. A ticket made here
//! is a group of one, ready at once.

use crate::matchmaker::Matchmaker;
use crate::matchmaker::request::{Ctx, not_found, open_group, profile, too_late};
use crate::matchmaker::state::{Group, Member, State};
use crate::reply::{self, Reply};
use crate::util::lock;

/// The group and member holding ticket `id`, or a 404.
fn find<'a>(state: &'a State, id: &str) -> Result<(&'a Group, &'a Member), Reply> {
    state
        .tickets
        .get(id)
        .and_then(|gid| state.groups.get(gid))
        .and_then(|g| {
            g.members
                .iter()
                .find(|m| m.ticket.as_deref() == Some(id))
                .map(|m| (g, m))
        })
        .ok_or_else(|| not_found("ticket", id))
}

/// `POST /tickets` `{profile, attributes, player_ip?}`: the ticket answer (201), searching.
pub(super) fn create(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let mut body = ctx.object()?;
    let profile = profile(mm, &body)?;
    body.insert("is_ready".into(), serde_json::Value::Bool(true));
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let gid = open_group(&mut state, ctx, profile, &body, now)?;
    let group = &state.groups[&gid];
    let member = &group.members[0];
    Ok(reply::json(
        201,
        &group.ticket_json(member, &state.created_at(group)),
    ))
}

/// `GET /tickets/{id}`: the ticket answer.
pub(super) fn get(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let gid = find(&state, ctx.param(0))?.0.id.clone();
    if let Some(group) = state.groups.get_mut(&gid) {
        group.last_activity = now;
    }
    let (group, member) = find(&state, ctx.param(0))?;
    Ok(reply::json(
        200,
        &group.ticket_json(member, &state.created_at(group)),
    ))
}

/// `DELETE /tickets/{id}`: removes the ticket's group (204); 409 once matched.
pub(super) fn delete(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let mut state = lock(&mm.state);
    let (group, _) = find(&state, ctx.param(0))?;
    if group.status.is_matched() {
        return Err(too_late(group.status));
    }
    let gid = group.id.clone();
    state.remove_group(&gid);
    Ok(reply::empty(204))
}
