//! The `MM_*` variables a matchmaker deployment is given (Edgegap's names and formats; every
//! value a string, most of them JSON).

use serde_json::{Map, Value, json};

use super::rules::Pool;
use super::state::{Group, State};

/// A match about to be deployed, as the variables describe it.
pub(crate) struct MatchView<'a> {
    pub id: &'a str,
    pub profile: &'a str,
    /// `initial` or the expansion key of the stage that formed it.
    pub stage: &'a str,
    /// Its groups in first-in order, team ids already set.
    pub groups: &'a [&'a Group],
    /// Team ids in order, each with its groups' ids.
    pub teams: &'a [(String, Vec<String>)],
    pub pool: &'a Pool,
    pub rules: &'a [super::rules::Rule],
}

/// `MM_MATCH_ID`, `MM_MATCH_PROFILE`, `MM_EXPANSION`, `MM_TICKET_IDS`, `MM_TICKET_<id>` (one per
/// ticket), `MM_GROUPS`, `MM_TEAMS`, `MM_EQUALITY`, `MM_INTERSECTION`.
pub(crate) fn variables(state: &State, m: &MatchView<'_>) -> Vec<(String, String)> {
    let mut vars = vec![
        ("MM_MATCH_ID".to_owned(), m.id.to_owned()),
        ("MM_MATCH_PROFILE".to_owned(), m.profile.to_owned()),
        ("MM_EXPANSION".to_owned(), m.stage.to_owned()),
    ];
    let mut ticket_ids = Vec::new();
    let mut groups = Map::new();
    for group in m.groups {
        let created_at = state.created_at(group);
        let mut ids = Vec::new();
        for member in &group.members {
            let Some(ticket) = &member.ticket else {
                continue;
            };
            ids.push(json!(ticket));
            ticket_ids.push(json!(ticket));
            vars.push((
                format!("MM_TICKET_{ticket}"),
                group.injected_ticket(member, &created_at).to_string(),
            ));
        }
        groups.insert(group.id.clone(), Value::Array(ids));
    }
    let teams: Map<String, Value> = m
        .teams
        .iter()
        .map(|(team, group_ids)| (team.clone(), json!(group_ids)))
        .collect();
    vars.push((
        "MM_TICKET_IDS".to_owned(),
        Value::Array(ticket_ids).to_string(),
    ));
    vars.push(("MM_GROUPS".to_owned(), Value::Object(groups).to_string()));
    vars.push(("MM_TEAMS".to_owned(), Value::Object(teams).to_string()));
    vars.push((
        "MM_EQUALITY".to_owned(),
        m.pool.equality(m.rules).to_string(),
    ));
    vars.push((
        "MM_INTERSECTION".to_owned(),
        m.pool.intersection(m.rules).to_string(),
    ));
    vars
}
