//! The matchmaker's data: groups (each member a ticket once the group searches), backfills and
//! the matches being deployed, with the JSON shapes the endpoints answer.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::rules::Attr;
use crate::util::{SplitMix, iso_time, random_u64};

/// A ticket's status, shared by every ticket of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// The group is forming: not every member is ready (no tickets yet).
    Initial,
    Searching,
    /// Matched; its server is being deployed.
    MatchFound,
    HostAssigned,
    /// Expired, left, or out of deployment retries.
    Cancelled,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Initial => "INITIAL",
            Status::Searching => "SEARCHING",
            Status::MatchFound => "MATCH_FOUND",
            Status::HostAssigned => "HOST_ASSIGNED",
            Status::Cancelled => "CANCELLED",
        }
    }

    /// Matched: too late to leave, cancel or change readiness (409).
    pub(crate) fn is_matched(self) -> bool {
        matches!(self, Status::MatchFound | Status::HostAssigned)
    }
}

/// A group member; its ticket exists while the group searches or is matched.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: String,
    pub is_ready: bool,
    pub player_ip: String,
    /// The attributes as sent (injected into `MM_TICKET_<id>`).
    pub attributes: Value,
    /// The attributes decoded for the profile's rules.
    pub attrs: Vec<Attr>,
    pub ticket: Option<String>,
}

/// A group of players searching together (a legacy `POST /tickets` ticket is a group of one).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: String,
    pub profile: String,
    pub members: Vec<Member>,
    pub status: Status,
    /// First-in order of the search (set when the search starts).
    pub seq: u64,
    /// When its tickets were created: the search started (expansions and expiration count
    /// from here).
    pub searched_at: Duration,
    pub last_activity: Duration,
    /// When it was cancelled (removal counts from here).
    pub cancelled_at: Option<Duration>,
    pub team_id: Option<String>,
    pub match_id: Option<String>,
    pub assignment: Option<Value>,
    /// Failed deployments of matches it was in.
    pub deploy_failures: u32,
    /// `(search epoch, stage index, expired)` when it last failed to anchor a match: until one
    /// of them changes, trying again would fail again.
    pub tried: Option<(u64, usize, bool)>,
    /// The search epoch at which it last started (or resumed) searching.
    pub searching_epoch: u64,
}

impl Group {
    pub(crate) fn size(&self) -> u32 {
        self.members.len() as u32
    }

    pub(crate) fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    pub(crate) fn attrs(&self) -> Vec<&[Attr]> {
        self.members.iter().map(|m| m.attrs.as_slice()).collect()
    }

    /// The member answer (`POST /groups`, `GET|PATCH /groups/{gid}/members/{mid}`).
    pub(crate) fn member_json(&self, member: &Member) -> Value {
        json!({
            "member_id": member.id,
            "group_id": self.id,
            "is_ready": member.is_ready,
            "status": self.status.as_str(),
            "ticket_id": member.ticket,
            "team_id": self.team_id,
            "assignment": self.assignment,
        })
    }

    /// `GET /groups/{gid}`.
    pub(crate) fn json(&self) -> Value {
        json!({
            "status": self.status.as_str(),
            "assignment": self.assignment,
            "team_id": self.team_id,
        })
    }

    /// The legacy ticket answer (`POST|GET /tickets`).
    pub(crate) fn ticket_json(&self, member: &Member, created_at: &str) -> Value {
        json!({
            "id": member.ticket,
            "profile": self.profile,
            "created_at": created_at,
            "status": self.status.as_str(),
            "player_ip": member.player_ip,
            "group_id": self.id,
            "team_id": self.team_id,
            "match_id": self.match_id,
            "assignment": self.assignment,
        })
    }

    /// A ticket as injected into `MM_TICKET_<id>` and returned as a backfill's
    /// `assigned_ticket`.
    pub(crate) fn injected_ticket(&self, member: &Member, created_at: &str) -> Value {
        json!({
            "id": member.ticket,
            "created_at": created_at,
            "player_ip": member.player_ip,
            "group_id": self.id,
            "team_id": self.team_id,
            "attributes": member.attributes,
        })
    }
}

/// A backfill's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackfillStatus {
    Searching,
    Assigned,
    Cancelled,
}

impl BackfillStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BackfillStatus::Searching => "SEARCHING",
            BackfillStatus::Assigned => "ASSIGNED",
            BackfillStatus::Cancelled => "CANCELLED",
        }
    }
}

/// A running server's request for one more group.
#[derive(Debug, Clone)]
pub(crate) struct Backfill {
    pub id: String,
    pub profile: String,
    /// `attributes.assignment` as sent: what the assigned group receives.
    pub assignment: Value,
    /// `tickets` as sent.
    pub tickets: Value,
    /// The server's tickets, decoded, grouped by their `group_id` (for the rules).
    pub groups: Vec<Vec<Vec<Attr>>>,
    /// The `team_id` of each of the server's tickets (those that have one).
    pub team_ids: Vec<String>,
    pub status: BackfillStatus,
    /// `(search epoch, timer epoch)` when it last found no group.
    pub tried: Option<(u64, u64)>,
    pub seq: u64,
    pub created: Duration,
    /// When it was assigned or cancelled (removal counts from here).
    pub closed_at: Option<Duration>,
    pub assigned_ticket: Option<Value>,
    pub assigned_tickets: Vec<Value>,
}

impl Backfill {
    pub(crate) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "profile": self.profile,
            "tickets": self.tickets,
            "status": self.status.as_str(),
            "assigned_ticket": self.assigned_ticket,
            "assigned_tickets": self.assigned_tickets,
        })
    }
}

/// A match whose server is being deployed.
#[derive(Debug, Clone)]
pub(crate) struct Match {
    pub id: String,
    pub profile: String,
    pub groups: Vec<String>,
    /// The `MM_*` variables.
    pub env: Vec<(String, String)>,
    /// The deployment, once the deploy call succeeded.
    pub deployment: Option<String>,
}

/// Identifiers in Edgegap's shapes: 20-character xid-like ticket, team and member ids (base32hex),
/// UUID v4 group ids, 12-hex backfill ids.
#[derive(Debug)]
pub(crate) struct Ids(SplitMix);

impl Ids {
    pub(crate) fn new() -> Self {
        Self(SplitMix::new(random_u64()))
    }

    /// 20 characters of `0-9a-v` (an xid's alphabet).
    pub(crate) fn xid(&mut self) -> String {
        const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
        let (a, b) = (self.0.next_u64(), self.0.next_u64());
        (0..20)
            .map(|i| {
                let bits = if i < 12 {
                    a >> (i * 5)
                } else {
                    b >> ((i - 12) * 5)
                };
                ALPHABET[(bits & 31) as usize] as char
            })
            .collect()
    }

    /// A random (version 4) UUID.
    pub(crate) fn uuid(&mut self) -> String {
        let (a, b) = (self.0.next_u64(), self.0.next_u64());
        let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
        let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

/// Everything the matchmaker holds.
#[derive(Debug)]
pub(crate) struct State {
    pub groups: HashMap<String, Group>,
    /// Ticket id → group id.
    pub tickets: HashMap<String, String>,
    pub backfills: HashMap<String, Backfill>,
    pub matches: HashMap<String, Match>,
    pub next_seq: u64,
    /// Counts the times a group started (or resumed) searching: a new candidate for everyone.
    pub search_epoch: u64,
    /// Counts the passes run at a deadline (stages change with time).
    pub timer_epoch: u64,
    /// The clock time of the last matching pass.
    pub last_pass: Duration,
    /// The wall time of the last match id (match ids never repeat).
    pub last_match_wall: Option<SystemTime>,
    pub ids: Ids,
    /// When the matchmaker started (wall clock): timestamps are this plus the clock's time.
    pub started: SystemTime,
}

impl State {
    pub(crate) fn new(started: SystemTime) -> Self {
        Self {
            groups: HashMap::new(),
            tickets: HashMap::new(),
            backfills: HashMap::new(),
            matches: HashMap::new(),
            next_seq: 0,
            search_epoch: 0,
            timer_epoch: 0,
            last_pass: Duration::ZERO,
            last_match_wall: None,
            ids: Ids::new(),
            started,
        }
    }

    pub(crate) fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The ISO 8601 time of clock time `t`.
    pub(crate) fn time(&self, t: Duration) -> String {
        iso_time(self.started + t)
    }

    /// Removes a group and its tickets' index entries.
    pub(crate) fn remove_group(&mut self, id: &str) -> Option<Group> {
        let group = self.groups.remove(id)?;
        for member in &group.members {
            if let Some(ticket) = &member.ticket {
                self.tickets.remove(ticket);
            }
        }
        Some(group)
    }

    /// Starts the search of group `id` at `now` if every member is ready: one ticket per member.
    pub(crate) fn start_search_if_ready(&mut self, id: &str, now: Duration) {
        let seq = self.next_seq + 1;
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        if group.status != Status::Initial || !group.members.iter().all(|m| m.is_ready) {
            return;
        }
        self.next_seq = seq;
        self.search_epoch += 1;
        group.searching_epoch = self.search_epoch;
        group.status = Status::Searching;
        group.seq = seq;
        group.searched_at = now;
        for member in &mut group.members {
            let ticket = self.ids.xid();
            self.tickets.insert(ticket.clone(), group.id.clone());
            member.ticket = Some(ticket);
        }
        tracing::debug!("matchmaker: group `{id}` searching");
    }

    /// Back to forming (a member un-readied): its tickets are dropped.
    pub(crate) fn stop_search(&mut self, id: &str) {
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        group.status = Status::Initial;
        for member in &mut group.members {
            if let Some(ticket) = member.ticket.take() {
                self.tickets.remove(&ticket);
            }
        }
    }

    /// The ticket's creation time as ISO 8601 (the search's start).
    pub(crate) fn created_at(&self, group: &Group) -> String {
        self.time(group.searched_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_edgegap_shapes() {
        let mut ids = Ids::new();
        let xid = ids.xid();
        assert_eq!(xid.len(), 20);
        assert!(
            xid.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
        );
        assert_ne!(xid, ids.xid());
        let uuid = ids.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
    }
}
