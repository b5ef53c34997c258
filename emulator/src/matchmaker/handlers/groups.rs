//! Group-up: `POST /groups`, `GET|DELETE /groups/{gid}`, `POST /groups/{gid}/members`,
//! `GET|PATCH|DELETE /groups/{gid}/members/{mid}`.

use std::time::Duration;

use crate::matchmaker::Matchmaker;
use crate::matchmaker::request::{
    Ctx, bad, is_ready, new_member, not_found, open_group, profile, too_late,
};
use crate::matchmaker::state::{Group, State, Status};
use crate::reply::{self, Reply};
use crate::util::lock;

/// `POST /groups`: the owner's member answer (201). A group created ready starts searching.
pub(super) fn create(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let body = ctx.object()?;
    let profile = profile(mm, &body)?;
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let id = open_group(&mut state, ctx, profile, &body, now)?;
    let group = &state.groups[&id];
    Ok(reply::json(201, &group.member_json(&group.members[0])))
}

/// The group `gid` (activity refreshed), or a 404.
fn touch<'a>(state: &'a mut State, gid: &str, now: Duration) -> Result<&'a mut Group, Reply> {
    let group = state
        .groups
        .get_mut(gid)
        .ok_or_else(|| not_found("group", gid))?;
    group.last_activity = now;
    Ok(group)
}

/// `GET /groups/{gid}`: `{status, assignment, team_id}`.
pub(super) fn get(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let group = touch(&mut state, ctx.param(0), now)?;
    Ok(reply::json(200, &group.json()))
}

/// `DELETE /groups/{gid}`: removes the group for every member (204); 409 once matched.
pub(super) fn delete(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let gid = ctx.param(0);
    let mut state = lock(&mm.state);
    let status = state
        .groups
        .get(gid)
        .ok_or_else(|| not_found("group", gid))?
        .status;
    if status.is_matched() {
        return Err(too_late(status));
    }
    state.remove_group(gid);
    Ok(reply::empty(204))
}

/// `POST /groups/{gid}/members`: a member joins a forming group (201); 404 unknown group, 409
/// once it searches, 400 for another profile, a full group or bad attributes.
pub(super) fn join(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let gid = ctx.param(0);
    let body = ctx.object()?;
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let (status, group_profile, size) = {
        let group = state
            .groups
            .get(gid)
            .ok_or_else(|| not_found("group", gid))?;
        (group.status, group.profile.clone(), group.size())
    };
    let profile = profile(mm, &body)?;
    if profile.name != group_profile {
        return Err(bad(format!(
            "profile `{}` differs from the group's profile `{group_profile}`",
            profile.name
        )));
    }
    if status != Status::Initial {
        return Err(reply::error(
            409,
            format!(
                "Conflict: the group is {} and takes no new member",
                status.as_str()
            ),
            false,
        ));
    }
    if size >= profile.largest_team() {
        return Err(bad(format!(
            "the group is full: a group plays in one team of at most {} players",
            profile.largest_team()
        )));
    }
    let member = new_member(&mut state, ctx, profile, &body)?;
    let member_id = member.id.clone();
    let group = touch(&mut state, gid, now)?;
    group.members.push(member);
    state.start_search_if_ready(gid, now);
    let group = &state.groups[gid];
    let member = group
        .member(&member_id)
        .ok_or_else(|| not_found("member", &member_id))?;
    Ok(reply::json(201, &group.member_json(member)))
}

/// `GET /groups/{gid}/members/{mid}`: the member answer (the resource clients poll).
pub(super) fn get_member(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let (gid, mid) = (ctx.param(0), ctx.param(1));
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let group = touch(&mut state, gid, now)?;
    let member = group.member(mid).ok_or_else(|| not_found("member", mid))?;
    Ok(reply::json(200, &group.member_json(member)))
}

/// `PATCH /groups/{gid}/members/{mid}` `{"is_ready": bool}`: the search starts once every
/// member is ready; un-readying a searching group stops its search. 409 once matched or
/// cancelled.
pub(super) fn update_member(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let (gid, mid) = (ctx.param(0), ctx.param(1));
    let body = ctx.object()?;
    let ready = is_ready(&body, None)?;
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let group = touch(&mut state, gid, now)?;
    let status = group.status;
    let member = group
        .members
        .iter_mut()
        .find(|m| m.id == mid)
        .ok_or_else(|| not_found("member", mid))?;
    if status.is_matched() || status == Status::Cancelled {
        return Err(too_late(status));
    }
    member.is_ready = ready;
    match (status, ready) {
        (Status::Initial, true) => state.start_search_if_ready(gid, now),
        (Status::Searching, false) => state.stop_search(gid),
        _ => {}
    }
    let group = &state.groups[gid];
    let member = group.member(mid).ok_or_else(|| not_found("member", mid))?;
    Ok(reply::json(200, &group.member_json(member)))
}

/// `DELETE /groups/{gid}/members/{mid}`: leaves (204). While forming only that member goes
/// (the owner leaving removes the group); while searching the whole group is cancelled; 409
/// once matched.
pub(super) fn leave(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let (gid, mid) = (ctx.param(0), ctx.param(1));
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    let group = state
        .groups
        .get_mut(gid)
        .ok_or_else(|| not_found("group", gid))?;
    let index = group
        .members
        .iter()
        .position(|m| m.id == mid)
        .ok_or_else(|| not_found("member", mid))?;
    if group.status.is_matched() {
        return Err(too_late(group.status));
    }
    let status = group.status;
    let member = group.members.remove(index);
    let empty = group.members.is_empty();
    if status == Status::Searching {
        group.status = Status::Cancelled;
        group.cancelled_at = Some(now);
    }
    if let Some(ticket) = member.ticket {
        state.tickets.remove(&ticket);
    }
    if empty || (index == 0 && status == Status::Initial) {
        state.remove_group(gid);
    }
    Ok(reply::empty(204))
}
