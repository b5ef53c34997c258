//! [`Ctx`]: a matchmaker request as the handlers get it, and what handlers share to decode
//! bodies and answer errors (`{"message"}`; Edgegap's error body is undocumented).
#![expect(
    clippy::result_large_err,
    reason = "a rejected request is answered at once with the error reply; boxing it buys nothing"
)]

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::Matchmaker;
use super::classify::MmRoute;
use super::config::Profile;
use super::rules::{self, Attr};
use super::state::{Group, Member, State, Status};
use crate::reply::{self, Reply};

/// Most groups (tickets) and backfills held at once; past it, creating more is answered 429.
pub(crate) const MAX_LIVE: usize = 20_000;

/// Longest `attributes` (as JSON) a ticket may carry: its `MM_TICKET_<id>` variable must stay
/// within Edgegap's 4,096-byte environment values (ids and times take the rest).
pub(crate) const MAX_ATTRIBUTES_BYTES: usize = 3_072;

/// What a handler gets.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub route: MmRoute,
    pub params: Vec<String>,
    pub body: Bytes,
    /// The caller's address (a ticket's `player_ip` when the body gives none).
    pub peer: IpAddr,
}

impl Ctx {
    pub(crate) fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    /// The body as a JSON object, or a 400.
    pub(crate) fn object(&self) -> Result<Map<String, Value>, Reply> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(object)) => Ok(object),
            Ok(_) => Err(bad("the body must be a JSON object")),
            Err(_) if self.body.iter().all(u8::is_ascii_whitespace) => {
                Err(bad("a JSON body is required"))
            }
            Err(e) => Err(bad(format!("malformed JSON body: {e}"))),
        }
    }
}

pub(crate) fn bad(message: impl Into<String>) -> Reply {
    reply::error(400, message, false)
}

pub(crate) fn not_found(what: &str, id: &str) -> Reply {
    reply::error(404, format!("{what} `{id}` not found"), false)
}

/// 409: the group was matched (too late to leave, cancel or change readiness).
pub(crate) fn too_late(status: Status) -> Reply {
    reply::error(
        409,
        format!(
            "Conflict: the match was already found (status {}): keep polling for the assignment",
            status.as_str()
        ),
        false,
    )
}

pub(crate) fn full() -> Reply {
    let mut answer = reply::error(429, "Too Many Requests: the matchmaker is full", false);
    answer.headers_mut().insert(
        hyper::header::RETRY_AFTER,
        hyper::header::HeaderValue::from_static("1"),
    );
    answer
}

/// The profile a body names, or a 400.
pub(crate) fn profile<'a>(
    mm: &'a Matchmaker,
    body: &Map<String, Value>,
) -> Result<&'a Profile, Reply> {
    let name = body
        .get("profile")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`profile` is required (a string)"))?;
    mm.config.profiles.get(name).ok_or_else(|| {
        bad(format!(
            "profile `{name}` does not exist in the matchmaker's configuration"
        ))
    })
}

/// `attributes` decoded for `profile`'s rules, or a 400 naming the mismatch.
pub(crate) fn attributes(
    profile: &Profile,
    body: &Map<String, Value>,
) -> Result<(Value, Vec<Attr>), Reply> {
    let value = body.get("attributes").cloned().unwrap_or(Value::Null);
    let attrs = decode_attributes(profile, &value).map_err(bad)?;
    let value = if value.is_null() { json!({}) } else { value };
    Ok((value, attrs))
}

/// A player's (or a backfill ticket's) `attributes` decoded for `profile`'s rules: at most
/// [`MAX_ATTRIBUTES_BYTES`] of JSON, one value per rule; else what is wrong.
pub(crate) fn decode_attributes(profile: &Profile, value: &Value) -> Result<Vec<Attr>, String> {
    let size = value.to_string().len();
    if size > MAX_ATTRIBUTES_BYTES {
        return Err(format!(
            "`attributes` is {size} bytes of JSON, more than {MAX_ATTRIBUTES_BYTES}"
        ));
    }
    rules::decode(&profile.rules, value).map_err(|problem| {
        format!(
            "attributes do not match profile `{}`: {problem}",
            profile.name
        )
    })
}

/// `player_ip` from the body (an IP address, or null/absent: the caller's address).
pub(crate) fn player_ip(ctx: &Ctx, body: &Map<String, Value>) -> Result<String, Reply> {
    match body.get("player_ip") {
        None | Some(Value::Null) => Ok(ctx.peer.to_string()),
        Some(Value::String(ip)) if ip.parse::<IpAddr>().is_ok() => Ok(ip.clone()),
        Some(_) => Err(bad("`player_ip` must be an IP address or null")),
    }
}

/// `is_ready` from the body (default `default`), or a 400.
pub(crate) fn is_ready(body: &Map<String, Value>, default: Option<bool>) -> Result<bool, Reply> {
    match (body.get("is_ready"), default) {
        (Some(Value::Bool(ready)), _) => Ok(*ready),
        (None | Some(Value::Null), Some(default)) => Ok(default),
        _ => Err(bad("`is_ready` must be true or false")),
    }
}

/// A new member from a group-up body (`profile` checked by the caller).
pub(crate) fn new_member(
    state: &mut State,
    ctx: &Ctx,
    profile: &Profile,
    body: &Map<String, Value>,
) -> Result<Member, Reply> {
    let (attributes, attrs) = attributes(profile, body)?;
    Ok(Member {
        id: state.ids.uuid(),
        is_ready: is_ready(body, Some(false))?,
        player_ip: player_ip(ctx, body)?,
        attributes,
        attrs,
        ticket: None,
    })
}

/// Opens a group for the owner a group-up body describes (`profile` checked by the caller),
/// searching at once if the owner is ready; its id. 429 when the matchmaker is full.
pub(crate) fn open_group(
    state: &mut State,
    ctx: &Ctx,
    profile: &Profile,
    body: &Map<String, Value>,
    now: Duration,
) -> Result<String, Reply> {
    if state.groups.len() >= MAX_LIVE {
        return Err(full());
    }
    let member = new_member(state, ctx, profile, body)?;
    let group = Group {
        id: state.ids.uuid(),
        profile: profile.name.clone(),
        members: vec![member],
        status: Status::Initial,
        seq: 0,
        searched_at: now,
        last_activity: now,
        cancelled_at: None,
        team_id: None,
        match_id: None,
        assignment: None,
        deploy_failures: 0,
        tried: None,
        searching_epoch: 0,
    };
    let id = group.id.clone();
    state.groups.insert(id.clone(), group);
    state.start_search_if_ready(&id, now);
    Ok(id)
}
