//! Edgegap's matchmaker (Gen2): its own base URL and its own token, sent **raw**
//! (`Authorization: <token>`, no `Bearer `/`token ` prefix). The token is meant to ship in game
//! clients: it gives no access to the Edgegap account.
//!
//! Every endpoint value carries a [`MatchmakerAccess`] (base URL and token), like the context
//! endpoints carry their injected URL: [`Endpoint::to_request`] ignores its own base URL and
//! token arguments for them.
//!
//! | Endpoint | Request type | Output |
//! |---|---|---|
//! | `GET /monitor` | [`GetMonitor`] | [`MonitorStatus`] |
//! | `GET /locations/beacons` | [`ListBeacons`] | [`BeaconList`] |
//! | `POST /groups` | [`CreateGroup`] | [`GroupMember`] (the owner) |
//! | `GET /groups/{group_id}` | [`GetGroup`] | [`GroupView`] |
//! | `DELETE /groups/{group_id}` | [`DeleteGroup`] | `()` |
//! | `POST /groups/{group_id}/members` | [`CreateGroupMember`] | [`GroupMember`] |
//! | `GET /groups/{group_id}/members/{member_id}` | [`GetGroupMember`] | [`GroupMember`] |
//! | `PATCH /groups/{group_id}/members/{member_id}` | [`UpdateGroupMember`] | [`GroupMember`] |
//! | `DELETE /groups/{group_id}/members/{member_id}` | [`DeleteGroupMember`] | `()` |
//! | `POST /tickets` | [`CreateTicket`] | [`Ticket`] |
//! | `GET /tickets/{id}` / `DELETE /tickets/{id}` | [`GetTicket`] / [`DeleteTicket`] | [`Ticket`] / `()` |
//! | `POST /backfills` | [`CreateBackfill`] | [`Backfill`] |
//! | `GET /backfills/{id}` / `DELETE /backfills/{id}` | [`GetBackfill`] / [`DeleteBackfill`] | [`Backfill`] / `()` |
//!
//! Attributes are any `Serialize` type that serializes to a JSON object (the profile's rule
//! names are its keys), `serde_json::Value` by default. Answers are lenient: ports may be
//! numbers or strings, an unknown status is [`MatchStatus::Other`], missing fields are `None`.
//! Errors: `400` profile or attributes do not match the configuration, `401` a wrong token,
//! `404` removed (expired or deleted), `409` too late (a match was found), `429` slow down.
//!
//! ```
//! use bevy_edgegap::api::{CreateGroup, Endpoint, HttpResponse, MatchmakerAccess, Secret};
//! use serde_json::json;
//!
//! let mm = MatchmakerAccess::new("https://mm.example.com", "Bearer mm-token");
//! let create = CreateGroup::new(mm, "ranked-2v2", json!({ "elo_rating": 1337 })).ready(true);
//! let request = create.to_request("", &Secret::default()).unwrap();
//! assert_eq!(request.url, "https://mm.example.com/groups");
//! // Sent raw, whatever prefix was pasted with it.
//! assert!(request.headers.contains(&("Authorization".into(), "mm-token".into())));
//!
//! let member = create
//!     .decode(&HttpResponse::new(201, r#"{"member_id":"m1","group_id":"g1","status":"SEARCHING"}"#))
//!     .unwrap();
//! assert_eq!(member.group_id, "g1");
//! ```

mod groups;
mod shared;
mod tickets;

pub use self::groups::*;
pub use self::shared::*;
pub use self::tickets::*;
