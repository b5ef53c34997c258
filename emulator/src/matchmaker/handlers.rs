//! The matchmaker's router and handlers, one module per family (groups and members, tickets,
//! backfills).
#![expect(
    clippy::result_large_err,
    reason = "a rejected request is answered at once with the error reply; boxing it buys nothing"
)]

mod backfills;
mod groups;
mod tickets;

use serde_json::{Value, json};

use super::Matchmaker;
use super::classify::MmRoute;
use super::request::Ctx;
use crate::reply::{self, Reply};

/// The router: one line per route of the matchmaker's table.
pub(crate) fn dispatch(mm: &Matchmaker, ctx: &Ctx) -> Reply {
    let result = match ctx.route {
        MmRoute::Monitor => Ok(monitor()),
        MmRoute::Beacons => Ok(beacons(mm)),
        MmRoute::CreateGroup => groups::create(mm, ctx),
        MmRoute::GetGroup => groups::get(mm, ctx),
        MmRoute::DeleteGroup => groups::delete(mm, ctx),
        MmRoute::CreateMember => groups::join(mm, ctx),
        MmRoute::GetMember => groups::get_member(mm, ctx),
        MmRoute::UpdateMember => groups::update_member(mm, ctx),
        MmRoute::DeleteMember => groups::leave(mm, ctx),
        MmRoute::CreateTicket => tickets::create(mm, ctx),
        MmRoute::GetTicket => tickets::get(mm, ctx),
        MmRoute::DeleteTicket => tickets::delete(mm, ctx),
        MmRoute::CreateBackfill => backfills::create(mm, ctx),
        MmRoute::GetBackfill => backfills::get(mm, ctx),
        MmRoute::DeleteBackfill => backfills::delete(mm, ctx),
        MmRoute::Unknown => Err(reply::error(404, "Not found", false)),
    };
    result.unwrap_or_else(|answer| answer)
}

/// `GET /monitor`.
fn monitor() -> Reply {
    reply::json(
        200,
        &json!({
            "status": "HEALTHY",
            "message": "edgegap-emulator matchmaker",
            "healthy_components": 1,
            "unhealthy_components": 0,
        }),
    )
}

/// `GET /locations/beacons`.
fn beacons(mm: &Matchmaker) -> Reply {
    let beacons: Vec<Value> = mm.beacons.iter().map(|b| b.json()).collect();
    reply::json(200, &json!({ "count": beacons.len(), "beacons": beacons }))
}
