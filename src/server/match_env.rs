//! [`MatchEnv`]: who the matchmaker sent to this deployment, parsed from the `MM_*` variables it
//! injects next to `ARBITRIUM_*`. Absent on a deployment the matchmaker did not make.

use std::collections::{BTreeMap, BTreeSet};

use bevy::log::warn;
use bevy::prelude::Resource;

use super::env::{ArbitriumEnv, EnvWarning};
use crate::api::{Assignment, CreateBackfill, MatchTicket, MatchmakerAccess, PortMapping};

const MATCH_ID: &str = "MM_MATCH_ID";
const PROFILE: &str = "MM_MATCH_PROFILE";
const EXPANSION: &str = "MM_EXPANSION";
const EXPANSION_STAGE: &str = "MM_EXPANSION_STAGE";
const TICKET_IDS: &str = "MM_TICKET_IDS";
const TICKET_PREFIX: &str = "MM_TICKET_";
const GROUPS: &str = "MM_GROUPS";
const TEAMS: &str = "MM_TEAMS";
const EQUALITY: &str = "MM_EQUALITY";
const INTERSECTION: &str = "MM_INTERSECTION";

/// The match the matchmaker made for this deployment: a [`Resource`] inserted by
/// [`EdgegapServerPlugin`](super::EdgegapServerPlugin) when `MM_MATCH_ID` or `MM_TICKET_IDS`
/// is set, absent otherwise (a deployment made by a deploy call, a local run).
///
/// Admission: a client sends its ticket id (its [`GroupMember::ticket_id`](crate::api::GroupMember::ticket_id))
/// when it connects; the server admits it if [`MatchEnv::expects`] it, and reports it with
/// [`MatchArrivals::arrived`](super::MatchArrivals::arrived) for the no-show policy.
///
/// Parsing never panics and never fails as a whole: a variable that is not the JSON it should
/// be is recorded in [`MatchEnv::warnings`] (logged once at `warn` by the plugin) and skipped.
/// `MM_TICKET_IDS` is read before the `MM_TICKET_<id>` prefix that also matches it; the
/// expansion is `MM_EXPANSION`, else `MM_EXPANSION_STAGE` (sources disagree on the name).
///
/// ```
/// use bevy_edgegap::server::MatchEnv;
///
/// let vars = [
///     ("MM_MATCH_ID", "duel_initial-2026-12-06T13:47:04Z"),
///     ("MM_MATCH_PROFILE", "duel"),
///     ("MM_TICKET_IDS", r#"["t1","t2"]"#),
///     ("MM_GROUPS", r#"{"g1":["t1"],"g2":["t2"]}"#),
///     ("MM_TEAMS", r#"{"red":["g1"],"blue":["g2"]}"#),
/// ];
/// let env = MatchEnv::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned()))).unwrap();
/// assert!(env.expects("t1") && !env.expects("t3"));
/// assert_eq!(env.team_of("t2"), Some("blue"));
/// assert_eq!(env.expected_players(), 2);
/// assert!(MatchEnv::from_vars(Vec::new()).is_none());
/// ```
#[derive(Resource, Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct MatchEnv {
    /// `MM_MATCH_ID` (empty when only `MM_TICKET_IDS` was set).
    pub match_id: String,
    /// `MM_MATCH_PROFILE`.
    pub profile: Option<String>,
    /// The expansion stage that formed the match (`initial`, `30`): `MM_EXPANSION`, else
    /// `MM_EXPANSION_STAGE`.
    pub expansion: Option<String>,
    /// `MM_TICKET_IDS`: the expected players' tickets, in the matchmaker's order. Without a
    /// readable `MM_TICKET_IDS`, the ids of the `MM_TICKET_<id>` variables.
    pub ticket_ids: Vec<String>,
    /// `MM_TICKET_<id>`, by id: each player's group, team, IP and attributes.
    pub tickets: BTreeMap<String, MatchTicket>,
    /// `MM_GROUPS`: group id → its tickets.
    pub groups: BTreeMap<String, Vec<String>>,
    /// `MM_TEAMS`: team id → its **groups** (Edgegap's format).
    pub teams: BTreeMap<String, Vec<String>>,
    /// `MM_EQUALITY`: each `string_equality` rule's shared value.
    pub equality: BTreeMap<String, serde_json::Value>,
    /// `MM_INTERSECTION`: each `intersection` rule's shared values.
    pub intersection: BTreeMap<String, Vec<String>>,
    /// Ticket → team, through team → groups → tickets (else the ticket's own `team_id`).
    team_index: BTreeMap<String, String>,
    expected: BTreeSet<String>,
    warnings: Vec<EnvWarning>,
}

impl MatchEnv {
    /// Reads the process environment's `MM_*` variables (values that are not UTF-8 are
    /// skipped). `None` when neither `MM_MATCH_ID` nor `MM_TICKET_IDS` is set. Logs each
    /// problem once at `warn`.
    pub fn from_env() -> Option<Self> {
        let env = Self::read_process_env()?;
        env.log_warnings();
        Some(env)
    }

    /// [`MatchEnv::from_env`] without the logs.
    pub(crate) fn read_process_env() -> Option<Self> {
        let vars = std::env::vars_os().filter_map(|(key, value)| {
            let key = key.into_string().ok()?;
            key.starts_with("MM_")
                .then(|| value.into_string().ok().map(|value| (key, value)))?
        });
        Self::parse(vars)
    }

    /// Parses `(name, value)` pairs (other variables are ignored). `None` when neither
    /// `MM_MATCH_ID` nor `MM_TICKET_IDS` is set to a non-empty value. Logs each problem once
    /// at `warn`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let env = Self::parse(vars)?;
        env.log_warnings();
        Some(env)
    }

    /// Logs each problem once, at `warn`.
    pub(crate) fn log_warnings(&self) {
        for warning in &self.warnings {
            warn!("matchmaker environment: {warning}");
        }
    }

    fn parse(vars: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let mut env = Self::default();
        let mut ticket_ids: Option<String> = None;
        let mut expansion_stage = None;
        let mut raw_tickets = BTreeMap::new();
        for (key, value) in vars {
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            // `MM_TICKET_IDS` before the `MM_TICKET_` prefix that also matches it.
            match key.as_str() {
                MATCH_ID => env.match_id = value,
                PROFILE => env.profile = Some(value),
                EXPANSION => env.expansion = Some(value),
                EXPANSION_STAGE => expansion_stage = Some(value),
                TICKET_IDS => ticket_ids = Some(value),
                GROUPS => env.groups = env.json(GROUPS, &value).unwrap_or_default(),
                TEAMS => env.teams = env.json(TEAMS, &value).unwrap_or_default(),
                EQUALITY => env.equality = env.json(EQUALITY, &value).unwrap_or_default(),
                INTERSECTION => {
                    env.intersection = env.json(INTERSECTION, &value).unwrap_or_default()
                }
                _ => {
                    if let Some(id) = key.strip_prefix(TICKET_PREFIX)
                        && !id.is_empty()
                    {
                        raw_tickets.insert(id.to_owned(), (key.clone(), value));
                    }
                }
            }
        }
        if env.match_id.is_empty() && ticket_ids.is_none() {
            return None;
        }
        if env.expansion.is_none() {
            env.expansion = expansion_stage;
        }
        for (id, (key, value)) in raw_tickets {
            let mut ticket = env.json::<MatchTicket>(&key, &value).unwrap_or_default();
            if ticket.id.as_deref().is_some_and(|inner| inner != id) {
                env.warn(
                    &key,
                    "names another ticket in its `id`; the variable's name wins",
                );
            }
            ticket.id = Some(id.clone());
            env.tickets.insert(id, ticket);
        }
        env.ticket_ids = match ticket_ids.and_then(|raw| env.json::<Vec<String>>(TICKET_IDS, &raw))
        {
            Some(ids) => ids,
            None => {
                if !env.tickets.is_empty() {
                    env.warn(
                        TICKET_IDS,
                        "is missing: the `MM_TICKET_<id>` variables name the players",
                    );
                }
                env.tickets.keys().cloned().collect()
            }
        };
        // A ticket listed twice is one player.
        let mut seen = BTreeSet::new();
        env.ticket_ids
            .retain(|id| !id.is_empty() && seen.insert(id.clone()));
        env.expected = seen;
        env.index_teams();
        Some(env)
    }

    fn warn(&mut self, variable: &str, reason: impl Into<String>) {
        self.warnings.push(EnvWarning {
            variable: variable.to_owned(),
            reason: reason.into(),
        });
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self, variable: &str, value: &str) -> Option<T> {
        match serde_json::from_str(value) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                self.warn(variable, format!("is not the expected JSON: {e}"));
                None
            }
        }
    }

    /// Ticket → team through `MM_TEAMS` (team → groups) and `MM_GROUPS` (group → tickets);
    /// a ticket they do not place keeps its own `team_id`.
    fn index_teams(&mut self) {
        let mut index = BTreeMap::new();
        for (team, groups) in &self.teams {
            for group in groups {
                for ticket in self.groups.get(group).into_iter().flatten() {
                    index.entry(ticket.clone()).or_insert_with(|| team.clone());
                }
            }
        }
        for (id, ticket) in &self.tickets {
            if let Some(team) = &ticket.team_id {
                index.entry(id.clone()).or_insert_with(|| team.clone());
            }
        }
        self.team_index = index;
    }

    /// Whether `ticket_id` is one of the players the matchmaker sent here
    /// (`MM_TICKET_IDS`): admit it, or refuse it.
    pub fn expects(&self, ticket_id: &str) -> bool {
        self.expected.contains(ticket_id)
    }

    /// The team of `ticket_id`: through team → groups → tickets, else the ticket's own
    /// `team_id`. `None` for a ticket not in the match.
    pub fn team_of(&self, ticket_id: &str) -> Option<&str> {
        self.team_index.get(ticket_id).map(String::as_str)
    }

    /// How many players the matchmaker sent here.
    pub fn expected_players(&self) -> usize {
        self.ticket_ids.len()
    }

    /// A backfill request for this match: one more group of `self.profile`, connecting to this
    /// server (`env`'s public IP, FQDN, ports and location, and its `request_id`), with the
    /// tickets the server still has: the injected ones of the players in `keep`. Send it to
    /// `access` (the matchmaker's URL and token, e.g. as hidden app-version variables) and poll
    /// [`GetBackfill`](crate::api::GetBackfill) until `ASSIGNED`.
    pub fn backfill<'a>(
        &self,
        access: MatchmakerAccess,
        env: &ArbitriumEnv,
        keep: impl IntoIterator<Item = &'a str>,
    ) -> CreateBackfill {
        let mut backfill = CreateBackfill::new(
            access,
            self.profile.clone().unwrap_or_default(),
            assignment_of(env),
        );
        for id in keep {
            if let Some(ticket) = self.tickets.get(id) {
                backfill = backfill.ticket(ticket.clone());
            }
        }
        backfill
    }

    /// The variables that were set but could not be read, with why.
    pub fn warnings(&self) -> &[EnvWarning] {
        &self.warnings
    }
}

/// This server as a matchmaker [`Assignment`]: where a backfilled group connects.
fn assignment_of(env: &ArbitriumEnv) -> Assignment {
    let ports = env
        .ports
        .values()
        .map(|port| {
            let mapping = PortMapping {
                internal: port.internal,
                external: port.external,
                protocol: port.protocol.clone(),
                name: Some(port.name.clone()),
                ..PortMapping::default()
            };
            (port.name.clone(), mapping)
        })
        .collect();
    Assignment {
        fqdn: env.fqdn.clone(),
        public_ip: env.public_ip.clone(),
        ports,
        location: env.location.clone(),
        request_id: Some(env.request_id.to_string()),
    }
}
