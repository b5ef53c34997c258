//! Tickets (server to server: Edgegap's SDKs call them deprecated for game clients) and
//! backfills (a running server asks for one more group).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::shared::{
    Assignment, MatchStatus, MatchTicket, MatchmakerAccess, attributes_json, by_id, mm_auth,
    mm_target, nothing,
};
use crate::api::endpoint::{Auth, Endpoint, Method, Target, decode_json};
use crate::api::error::EdgegapError;
use crate::api::lenient;
use crate::api::validate;

/// The ticket answer (`POST /tickets`, `GET /tickets/{id}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Ticket {
    /// The ticket id.
    #[serde(deserialize_with = "super::shared::string_or_empty")]
    pub id: String,
    /// Its profile.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub profile: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub created_at: Option<String>,
    /// Its status.
    pub status: MatchStatus,
    /// The player's IP.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub player_ip: Option<String>,
    /// Its group.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub group_id: Option<String>,
    /// Its team, from `MATCH_FOUND` on.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub team_id: Option<String>,
    /// Its match, from `MATCH_FOUND` on.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub match_id: Option<String>,
    /// Where to connect, at `HOST_ASSIGNED`.
    pub assignment: Option<Assignment>,
}

/// `POST /tickets`: a ticket searching at once (a group of one). Server to server: game
/// clients use Group Up ([`CreateGroup`](super::CreateGroup)).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTicket<A = serde_json::Value> {
    /// The matchmaker.
    pub access: MatchmakerAccess,
    /// The profile.
    pub profile: String,
    /// The player's public IP.
    pub player_ip: Option<String>,
    /// The player's attributes.
    pub attributes: A,
}

impl<A> CreateTicket<A> {
    /// A ticket for `profile` with `attributes`.
    pub fn new(access: MatchmakerAccess, profile: impl Into<String>, attributes: A) -> Self {
        Self {
            access,
            profile: profile.into(),
            player_ip: None,
            attributes,
        }
    }

    /// The player's public IP (default: the address the matchmaker sees).
    #[must_use]
    pub fn player_ip(mut self, ip: impl Into<String>) -> Self {
        self.player_ip = Some(ip.into());
        self
    }
}

impl<A> Endpoint for CreateTicket<A>
where
    A: Serialize + Send + Sync + 'static,
{
    type Output = Ticket;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        mm_target(&self.access, &["tickets"])
    }
    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::json!({
            "profile": self.profile,
            "attributes": attributes_json(&self.attributes).unwrap_or_default(),
        });
        if let Some(ip) = &self.player_ip {
            body["player_ip"] = ip.clone().into();
        }
        Some(body)
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.access.validate()?;
        validate::non_empty("profile", &self.profile)?;
        attributes_json(&self.attributes).map(drop)
    }
}

by_id!(
    /// `GET /tickets/{id}` (`404` once removed).
    GetTicket, Get, "tickets", id, Ticket, decode_json
);
by_id!(
    /// `DELETE /tickets/{id}`: cancels the search (`409` once matched, `404` gone).
    DeleteTicket, Delete, "tickets", id, (), nothing
);
by_id!(
    /// `GET /backfills/{id}`: poll until `ASSIGNED` (`404` once removed).
    GetBackfill, Get, "backfills", id, Backfill, decode_json
);
by_id!(
    /// `DELETE /backfills/{id}`: stop looking for players.
    DeleteBackfill, Delete, "backfills", id, (), nothing
);

/// A backfill's `status`: `SEARCHING` → `ASSIGNED` (with `assigned_ticket`), or `CANCELLED`
/// at the profile's expiration. Anything else is kept as [`BackfillStatus::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum BackfillStatus {
    /// Looking for a group.
    #[default]
    Searching,
    /// A group was assigned: see [`Backfill::assigned_ticket`].
    Assigned,
    /// Expired or cancelled.
    Cancelled,
    /// A status this crate does not know, as sent.
    Other(String),
}

lenient::wire_names!(BackfillStatus, prefix: "", {
    Searching => "SEARCHING",
    Assigned => "ASSIGNED",
    Cancelled => "CANCELLED" | "CANCELED",
});

lenient::wire_string!(BackfillStatus, null_is_default);

/// The backfill answer (`POST /backfills`, `GET /backfills/{id}`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Backfill {
    /// The backfill id.
    #[serde(deserialize_with = "super::shared::string_or_empty")]
    pub id: String,
    /// Its profile.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub profile: Option<String>,
    /// The tickets the server already has, as sent.
    #[serde(deserialize_with = "lenient::map_or_null")]
    pub tickets: BTreeMap<String, MatchTicket>,
    /// Its status.
    pub status: BackfillStatus,
    /// The ticket of the group it was assigned (its first), at `ASSIGNED`.
    pub assigned_ticket: Option<MatchTicket>,
}

/// `POST /backfills`: a running server asks for one more group. `assignment` is where the
/// group connects (the server's own, with its `request_id`); `tickets` the players it has,
/// as the matchmaker injected them (`MM_TICKET_<id>`).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateBackfill<A = serde_json::Value> {
    /// The matchmaker.
    pub access: MatchmakerAccess,
    /// The profile.
    pub profile: String,
    /// Where the assigned group connects (sent as `attributes.assignment`).
    pub assignment: Assignment,
    /// The tickets the server already has, by id.
    pub tickets: BTreeMap<String, MatchTicket<A>>,
}

impl<A> CreateBackfill<A> {
    /// A backfill for `profile`, players connecting to `assignment`, no ticket yet.
    pub fn new(
        access: MatchmakerAccess,
        profile: impl Into<String>,
        assignment: Assignment,
    ) -> Self {
        Self {
            access,
            profile: profile.into(),
            assignment,
            tickets: BTreeMap::new(),
        }
    }

    /// Adds a ticket the server already has (its `id` is the key).
    #[must_use]
    pub fn ticket(mut self, ticket: MatchTicket<A>) -> Self {
        self.tickets
            .insert(ticket.id.clone().unwrap_or_default(), ticket);
        self
    }
}

impl<A> Endpoint for CreateBackfill<A>
where
    A: Serialize + Send + Sync + 'static,
{
    type Output = Backfill;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        mm_target(&self.access, &["backfills"])
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "profile": self.profile,
            "attributes": { "assignment": self.assignment },
            "tickets": self.tickets,
        }))
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.access.validate()?;
        validate::non_empty("profile", &self.profile)?;
        for (id, ticket) in &self.tickets {
            validate::non_empty("tickets", id)?;
            attributes_json(&ticket.attributes).map_err(|_| {
                EdgegapError::invalid(
                    format!("tickets.{id}.attributes"),
                    "must serialize to a JSON object",
                )
            })?;
        }
        Ok(())
    }
}
