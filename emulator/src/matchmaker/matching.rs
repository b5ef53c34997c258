//! The matching pass, pure: from the state and the clock time it forms matches, assigns
//! backfills, expires and removes; the caller deploys what it formed.
//!
//! First in, first out: the oldest searching group is the anchor and its stage's rules decide;
//! the first full match (whole groups into teams, every team at `max_team_size`) found among
//! the others in arrival order is made at once. A partial match (every team at least
//! `min_team_size`) is made only once the anchor has reached an expansion, or at its
//! expiration (the last chance before `CANCELLED`).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;

use super::config::{Config, Profile, Stage};
use super::env::{self, MatchView};
use super::rules::{Pool, pack};
use super::state::{BackfillStatus, Group, Match, State, Status};

/// Most rule checks spent looking for one anchor's full match (keeps a hostile queue of
/// incompatible tickets cheap).
const SEARCH_BUDGET: usize = 10_000;

/// The earliest time after `after` at which something is due: an expansion, an expiration,
/// a removal or an inactivity purge.
pub(crate) fn next_deadline(state: &State, config: &Config, after: Duration) -> Option<Duration> {
    let mut next: Option<Duration> = None;
    let mut consider = |t: Duration| {
        if t > after && next.is_none_or(|n| t < n) {
            next = Some(t);
        }
    };
    for group in state.groups.values() {
        let Some(profile) = config.profiles.get(&group.profile) else {
            continue;
        };
        match group.status {
            Status::Searching => {
                for stage in &profile.stages[1..] {
                    consider(group.searched_at + stage.from);
                }
                consider(group.searched_at + profile.expiration);
            }
            Status::Cancelled => {
                consider(group.cancelled_at.unwrap_or_default() + profile.removal);
            }
            Status::Initial | Status::HostAssigned => {
                consider(group.last_activity + profile.inactivity);
            }
            Status::MatchFound => {}
        }
    }
    for backfill in state.backfills.values() {
        let Some(profile) = config.profiles.get(&backfill.profile) else {
            continue;
        };
        match backfill.closed_at {
            None => consider(backfill.created + profile.expiration),
            Some(closed) => consider(closed + profile.removal),
        }
    }
    next
}

/// Runs a pass at every deadline up to `now`, then one at `now`; returns the matches formed
/// (to deploy).
pub(crate) fn run_until(state: &mut State, config: &Config, now: Duration) -> Vec<String> {
    let mut formed = Vec::new();
    while let Some(due) = next_deadline(state, config, state.last_pass).filter(|d| *d <= now) {
        state.timer_epoch += 1;
        formed.extend(pass(state, config, due));
        state.last_pass = due;
    }
    formed.extend(pass(state, config, now));
    state.last_pass = state.last_pass.max(now);
    formed
}

/// Searching groups in first-in order.
fn searching(state: &State) -> Vec<String> {
    let mut ids: Vec<(u64, String)> = state
        .groups
        .values()
        .filter(|g| g.status == Status::Searching)
        .map(|g| (g.seq, g.id.clone()))
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(|(_, id)| id).collect()
}

/// One pass at clock time `t`.
fn pass(state: &mut State, config: &Config, t: Duration) -> Vec<String> {
    remove_expired(state, config, t);
    assign_backfills(state, config, t);
    let mut formed = Vec::new();
    let order = searching(state);
    // Searching groups by the epoch they (re)started searching at, oldest first.
    let mut fresh: Vec<(u64, String)> = order
        .iter()
        .filter_map(|id| {
            state
                .groups
                .get(id)
                .map(|g| (g.searching_epoch, id.clone()))
        })
        .collect();
    fresh.sort_unstable();
    let mut taken: HashSet<String> = HashSet::new();
    for anchor in &order {
        if taken.contains(anchor) {
            continue;
        }
        let Some(profile) = state
            .groups
            .get(anchor)
            .and_then(|g| config.profiles.get(&g.profile))
        else {
            continue;
        };
        let group = &state.groups[anchor];
        let age = t.saturating_sub(group.searched_at);
        let index = profile.stage_index_at(age);
        let stage = &profile.stages[index];
        let expired = age >= profile.expiration;
        let partial = index > 0 || expired;
        // Nothing new to match with since it last failed: it would fail again.
        let key = (state.search_epoch, index, expired);
        if group.tried == Some(key) {
            continue;
        }
        // Same stage as when it last failed: a match now needs one of the groups that started
        // searching since, and every rule only narrows as tickets are added, so one of them
        // must get along with the anchor alone.
        if let Some((epoch, tried_index, tried_expired)) = group.tried
            && (tried_index, tried_expired) == (index, expired)
        {
            let since = fresh.partition_point(|(e, _)| *e <= epoch);
            let hopeful = fresh[since..]
                .iter()
                .filter(|(_, id)| id != anchor && !taken.contains(id))
                .filter_map(|(_, id)| state.groups.get(id))
                .any(|g| g.profile == group.profile && pair(stage, group, g));
            if !hopeful {
                if let Some(group) = state.groups.get_mut(anchor) {
                    group.tried = Some(key);
                }
                continue;
            }
        }
        let candidates: Vec<&Group> = order
            .iter()
            .filter(|id| *id != anchor && !taken.contains(*id))
            .filter_map(|id| state.groups.get(id))
            .filter(|g| g.profile == group.profile)
            .collect();
        let Some(Found {
            groups,
            teams,
            pool,
        }) = find(stage, group, &candidates, partial)
        else {
            if let Some(group) = state.groups.get_mut(anchor) {
                group.tried = Some(key);
            }
            continue;
        };
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        taken.extend(ids.iter().cloned());
        let id = form(state, profile, stage, &ids, &teams, &pool, t);
        formed.push(id);
    }
    expire(state, config, t);
    formed
}

/// Whether `a` and `b` could be in one match at `stage` (rules and team sizes).
fn pair(stage: &Stage, a: &Group, b: &Group) -> bool {
    let (team_count, _, max) = stage.teams();
    Pool::new(&stage.kinds)
        .add(&stage.kinds, &a.attrs())
        .and_then(|p| p.add(&stage.kinds, &b.attrs()))
        .is_some()
        && pack(&[a.size(), b.size()], team_count, 0, max).is_some()
}

/// What [`find`] found: the groups (anchor first, then first-in order), each one's team, and
/// what they agree on.
struct Found<'a> {
    groups: Vec<&'a Group>,
    teams: Vec<usize>,
    pool: Pool,
}

/// The first full match for `anchor` among `candidates` (first-in order), else a partial one if
/// `partial` allows it.
fn find<'a>(
    stage: &Stage,
    anchor: &'a Group,
    candidates: &[&'a Group],
    partial: bool,
) -> Option<Found<'a>> {
    let (team_count, min, max) = stage.teams();
    let pool = Pool::new(&stage.kinds).add(&stage.kinds, &anchor.attrs())?;
    pack(&[anchor.size()], team_count, 0, max)?;
    let mut chosen = vec![anchor];
    let mut budget = SEARCH_BUDGET;
    if let Some(found) = full(stage, candidates, 0, &mut chosen, &pool, &mut budget) {
        return Some(found);
    }
    if !partial {
        return None;
    }
    // Partial: everyone who fits, in first-in order, if every team reaches the minimum.
    let mut pool = pool;
    let mut chosen = vec![anchor];
    for candidate in candidates {
        let Some(next) = pool.add(&stage.kinds, &candidate.attrs()) else {
            continue;
        };
        let mut sizes: Vec<u32> = chosen.iter().map(|g| g.size()).collect();
        sizes.push(candidate.size());
        if pack(&sizes, team_count, 0, max).is_some() {
            chosen.push(candidate);
            pool = next;
        }
    }
    let sizes: Vec<u32> = chosen.iter().map(|g| g.size()).collect();
    let teams = pack(&sizes, team_count, min, max)?;
    Some(Found {
        groups: chosen,
        teams,
        pool,
    })
}

/// Depth-first, earlier candidates first: the first set that fills every team.
fn full<'a>(
    stage: &Stage,
    candidates: &[&'a Group],
    start: usize,
    chosen: &mut Vec<&'a Group>,
    pool: &Pool,
    budget: &mut usize,
) -> Option<Found<'a>> {
    let (team_count, _, max) = stage.teams();
    let capacity = u64::from(team_count) * u64::from(max);
    let sizes: Vec<u32> = chosen.iter().map(|g| g.size()).collect();
    let total: u64 = sizes.iter().map(|s| u64::from(*s)).sum();
    if total == capacity {
        return pack(&sizes, team_count, max, max).map(|teams| Found {
            groups: chosen.clone(),
            teams,
            pool: pool.clone(),
        });
    }
    for (j, candidate) in candidates.iter().enumerate().skip(start) {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        if total + u64::from(candidate.size()) > capacity {
            continue;
        }
        let Some(next) = pool.add(&stage.kinds, &candidate.attrs()) else {
            continue;
        };
        let mut with: Vec<u32> = sizes.clone();
        with.push(candidate.size());
        if pack(&with, team_count, 0, max).is_none() {
            continue;
        }
        chosen.push(candidate);
        if let Some(found) = full(stage, candidates, j + 1, chosen, &next, budget) {
            return Some(found);
        }
        chosen.pop();
    }
    None
}

/// Records a match of `ids` (anchor first) in `MATCH_FOUND`; returns its id.
fn form(
    state: &mut State,
    profile: &Profile,
    stage: &Stage,
    ids: &[String],
    teams: &[usize],
    pool: &Pool,
    t: Duration,
) -> String {
    let mut wall = state.started + t;
    if let Some(last) = state.last_match_wall
        && wall <= last
    {
        wall = last + Duration::from_micros(1);
    }
    state.last_match_wall = Some(wall);
    let id = format!(
        "{}_{}-{}",
        profile.name,
        stage.name,
        crate::util::iso_time(wall)
    );
    let team_count = teams.iter().max().map_or(0, |m| m + 1);
    let team_ids: Vec<String> = (0..team_count).map(|_| state.ids.xid()).collect();
    // Groups in first-in order (the anchor is the oldest, so it stays first).
    let mut order: Vec<(u64, usize)> = ids
        .iter()
        .enumerate()
        .map(|(i, gid)| (state.groups[gid].seq, i))
        .collect();
    order.sort_unstable();
    for (i, gid) in ids.iter().enumerate() {
        if let Some(group) = state.groups.get_mut(gid) {
            group.status = Status::MatchFound;
            group.team_id = Some(team_ids[teams[i]].clone());
            group.match_id = Some(id.clone());
        }
    }
    let team_groups: Vec<(String, Vec<String>)> = team_ids
        .iter()
        .enumerate()
        .map(|(team, team_id)| {
            let members = order
                .iter()
                .filter(|(_, i)| teams[*i] == team)
                .map(|(_, i)| ids[*i].clone())
                .collect();
            (team_id.clone(), members)
        })
        .collect();
    let groups: Vec<&Group> = order.iter().map(|(_, i)| &state.groups[&ids[*i]]).collect();
    let env = env::variables(
        state,
        &MatchView {
            id: &id,
            profile: &profile.name,
            stage: &stage.name,
            groups: &groups,
            teams: &team_groups,
            pool,
            rules: &profile.rules,
        },
    );
    tracing::debug!(
        "matchmaker: match `{id}` formed ({} groups, {} tickets)",
        ids.len(),
        groups.iter().map(|g| g.members.len()).sum::<usize>()
    );
    state.matches.insert(
        id.clone(),
        Match {
            id: id.clone(),
            profile: profile.name.clone(),
            groups: order.iter().map(|(_, i)| ids[*i].clone()).collect(),
            env,
            deployment: None,
        },
    );
    id
}

/// Gives each searching backfill (first-in order) the oldest searching group that fits: it
/// plays by the group's stage rules with the server's tickets and is no bigger than a team.
fn assign_backfills(state: &mut State, config: &Config, t: Duration) {
    let mut backfills: Vec<(u64, String)> = state
        .backfills
        .values()
        .filter(|b| b.status == BackfillStatus::Searching)
        .map(|b| (b.seq, b.id.clone()))
        .collect();
    backfills.sort_unstable();
    for (_, backfill_id) in backfills {
        let backfill = &state.backfills[&backfill_id];
        let key = (state.search_epoch, state.timer_epoch);
        if backfill.tried == Some(key) {
            continue;
        }
        let Some(profile) = config.profiles.get(&backfill.profile) else {
            continue;
        };
        let chosen = searching(state).into_iter().find(|gid| {
            let group = &state.groups[gid];
            if group.profile != backfill.profile {
                return false;
            }
            let stage = profile.stage_at(t.saturating_sub(group.searched_at));
            if group.size() > stage.teams().2 {
                return false;
            }
            let mut pool = Some(Pool::new(&stage.kinds));
            for server_group in &backfill.groups {
                let attrs: Vec<&[_]> = server_group.iter().map(Vec::as_slice).collect();
                pool = pool.and_then(|p| p.add(&stage.kinds, &attrs));
            }
            pool.and_then(|p| p.add(&stage.kinds, &group.attrs()))
                .is_some()
        });
        let Some(gid) = chosen else {
            if let Some(backfill) = state.backfills.get_mut(&backfill_id) {
                backfill.tried = Some(key);
            }
            continue;
        };
        // The server's team with the fewest tickets (a new team if its tickets have none).
        let team = {
            let mut counts: Vec<(&String, usize)> = Vec::new();
            for team in &backfill.team_ids {
                match counts.iter_mut().find(|(t, _)| *t == team) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((team, 1)),
                }
            }
            counts
                .iter()
                .min_by_key(|(_, n)| *n)
                .map(|(t, _)| (*t).clone())
        };
        let team = team.unwrap_or_else(|| state.ids.xid());
        let assignment = backfill.assignment.clone();
        let Some(group) = state.groups.get_mut(&gid) else {
            continue;
        };
        group.status = Status::HostAssigned;
        group.team_id = Some(team);
        group.assignment = Some(assignment);
        group.last_activity = t;
        let group = group.clone();
        let created_at = state.created_at(&group);
        let tickets: Vec<Value> = group
            .members
            .iter()
            .map(|m| group.injected_ticket(m, &created_at))
            .collect();
        if let Some(backfill) = state.backfills.get_mut(&backfill_id) {
            backfill.status = BackfillStatus::Assigned;
            backfill.closed_at = Some(t);
            backfill.assigned_ticket = tickets.first().cloned();
            backfill.assigned_tickets = tickets;
        }
        tracing::debug!("matchmaker: backfill `{backfill_id}` assigned group `{gid}`");
    }
}

/// Searching tickets past their expiration become `CANCELLED`; so do searching backfills.
fn expire(state: &mut State, config: &Config, t: Duration) {
    for group in state.groups.values_mut() {
        let Some(profile) = config.profiles.get(&group.profile) else {
            continue;
        };
        if group.status == Status::Searching && group.searched_at + profile.expiration <= t {
            group.status = Status::Cancelled;
            group.cancelled_at = Some(t);
            tracing::debug!("matchmaker: group `{}` expired", group.id);
        }
    }
    for backfill in state.backfills.values_mut() {
        let Some(profile) = config.profiles.get(&backfill.profile) else {
            continue;
        };
        if backfill.status == BackfillStatus::Searching
            && backfill.created + profile.expiration <= t
        {
            backfill.status = BackfillStatus::Cancelled;
            backfill.closed_at = Some(t);
        }
    }
}

/// Removes what is due: cancelled tickets after the removal period, idle groups (forming or
/// assigned) after the inactivity period, closed backfills after the removal period.
fn remove_expired(state: &mut State, config: &Config, t: Duration) {
    let due: Vec<String> = state
        .groups
        .values()
        .filter(|g| {
            let Some(profile) = config.profiles.get(&g.profile) else {
                return true;
            };
            match g.status {
                Status::Cancelled => g.cancelled_at.unwrap_or_default() + profile.removal <= t,
                Status::Initial | Status::HostAssigned => g.last_activity + profile.inactivity <= t,
                Status::Searching | Status::MatchFound => false,
            }
        })
        .map(|g| g.id.clone())
        .collect();
    for id in due {
        state.remove_group(&id);
        tracing::debug!("matchmaker: group `{id}` removed");
    }
    state.backfills.retain(|_, b| {
        let removal = config
            .profiles
            .get(&b.profile)
            .map_or(Duration::ZERO, |p| p.removal);
        b.closed_at.is_none_or(|closed| closed + removal > t)
    });
}

/// The match's server is READY: its groups are `HOST_ASSIGNED` with `assignment`.
pub(crate) fn assign(state: &mut State, match_id: &str, assignment: &Value, t: Duration) {
    let Some(m) = state.matches.remove(match_id) else {
        return;
    };
    for gid in &m.groups {
        if let Some(group) = state.groups.get_mut(gid)
            && group.status == Status::MatchFound
        {
            group.status = Status::HostAssigned;
            group.assignment = Some(assignment.clone());
            group.last_activity = t;
        }
    }
    tracing::debug!("matchmaker: match `{match_id}` host assigned");
}

/// The match's deployment failed: its groups search again (keeping their place and age), or
/// are `CANCELLED` once they have failed more than `max_deployment_retry_count` times.
pub(crate) fn fail(state: &mut State, config: &Config, match_id: &str, t: Duration) {
    let Some(m) = state.matches.remove(match_id) else {
        return;
    };
    for gid in &m.groups {
        let Some(group) = state.groups.get_mut(gid) else {
            continue;
        };
        if group.status != Status::MatchFound {
            continue;
        }
        group.deploy_failures += 1;
        group.team_id = None;
        group.match_id = None;
        if group.deploy_failures > config.max_deployment_retry_count {
            group.status = Status::Cancelled;
            group.cancelled_at = Some(t);
        } else {
            group.status = Status::Searching;
            state.search_epoch += 1;
            group.searching_epoch = state.search_epoch;
        }
    }
    tracing::debug!("matchmaker: match `{match_id}` deployment failed");
}
