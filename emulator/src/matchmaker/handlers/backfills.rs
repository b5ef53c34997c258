//! Server backfill: `POST /backfills`, `GET|DELETE /backfills/{id}`.

use serde_json::{Map, Value};

use crate::matchmaker::Matchmaker;
use crate::matchmaker::request::{Ctx, MAX_LIVE, bad, decode_attributes, full, not_found, profile};
use crate::matchmaker::rules;
use crate::matchmaker::state::{Backfill, BackfillStatus};
use crate::reply::{self, Reply};
use crate::util::lock;

/// `POST /backfills` `{profile, attributes: {assignment}, tickets: {id: ticket}}` (201,
/// `SEARCHING`). Each of the server's tickets must carry attributes that fit the profile.
pub(super) fn create(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let body = ctx.object()?;
    let profile = profile(mm, &body)?;
    let assignment = body
        .get("attributes")
        .and_then(|a| a.get("assignment"))
        .filter(|a| a.is_object())
        .cloned()
        .ok_or_else(|| bad("`attributes.assignment` is required (the server's fqdn, public_ip, ports and location)"))?;
    let empty = Map::new();
    let tickets = match body.get("tickets") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(tickets)) => tickets,
        Some(_) => return Err(bad("`tickets` must be an object of tickets by id")),
    };
    // The server's tickets, grouped by `group_id` in first-seen order.
    let mut groups: Vec<(String, Vec<Vec<rules::Attr>>)> = Vec::new();
    let mut team_ids = Vec::new();
    for (id, ticket) in tickets {
        let attributes = ticket.get("attributes").unwrap_or(&Value::Null);
        let attrs = decode_attributes(profile, attributes)
            .map_err(|problem| bad(format!("ticket `{id}`: {problem}")))?;
        let group = ticket
            .get("group_id")
            .and_then(Value::as_str)
            .unwrap_or(id)
            .to_owned();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, members)) => members.push(attrs),
            None => groups.push((group, vec![attrs])),
        }
        if let Some(team) = ticket.get("team_id").and_then(Value::as_str) {
            team_ids.push(team.to_owned());
        }
    }
    let now = mm.clock.now();
    let mut state = lock(&mm.state);
    if state.backfills.len() >= MAX_LIVE {
        return Err(full());
    }
    let seq = state.seq();
    let id = crate::util::random_hex(12);
    let backfill = Backfill {
        id: id.clone(),
        profile: profile.name.clone(),
        assignment,
        tickets: Value::Object(tickets.clone()),
        groups: groups.into_iter().map(|(_, members)| members).collect(),
        team_ids,
        status: BackfillStatus::Searching,
        tried: None,
        seq,
        created: now,
        closed_at: None,
        assigned_ticket: None,
        assigned_tickets: Vec::new(),
    };
    let answer = backfill.json();
    state.backfills.insert(id, backfill);
    Ok(reply::json(201, &answer))
}

/// `GET /backfills/{id}`: `{id, profile, tickets, status, assigned_ticket}`.
pub(super) fn get(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let state = lock(&mm.state);
    let backfill = state
        .backfills
        .get(ctx.param(0))
        .ok_or_else(|| not_found("backfill", ctx.param(0)))?;
    Ok(reply::json(200, &backfill.json()))
}

/// `DELETE /backfills/{id}`: 204.
pub(super) fn delete(mm: &Matchmaker, ctx: &Ctx) -> Result<Reply, Reply> {
    let mut state = lock(&mm.state);
    state
        .backfills
        .remove(ctx.param(0))
        .ok_or_else(|| not_found("backfill", ctx.param(0)))?;
    Ok(reply::empty(204))
}
