//! What a matchmaking entity is, as data: the [`Matchmaking`] component, its phase markers,
//! the messages/events, and [`step`], the lifecycle as one pure function of the state, an
//! answer and the time. Nothing here acts: `track` applies what `step` returns.

use std::time::Duration;

use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::message::Message;
use bevy::ecs::resource::Resource;

use crate::api::{Assignment, ConnectAddress, EdgegapError, GroupMember, MatchStatus};
use crate::client::schedule::PollSchedule;
use crate::time::Instant;

/// A player's (or party member's) search, made by [`Matchmaker`](super::Matchmaker): the
/// plugin polls its member resource until `HOST_ASSIGNED` or `CANCELLED`. It is never
/// despawned by the plugin, and keeps its [`Assignment`] until the game despawns it.
#[derive(Component, Debug, Clone)]
pub struct Matchmaking {
    pub(crate) profile: Option<String>,
    pub(crate) owner: bool,
    pub(crate) member: Option<GroupMember>,
    pub(crate) assignment: Option<Assignment>,
    pub(crate) match_found: bool,
    pub(crate) ended: bool,
    pub(crate) leave_requested: bool,
    pub(crate) leaving: bool,
    pub(crate) failures: u32,
    pub(crate) polling: bool,
    pub(crate) next_poll: Option<Instant>,
}

impl Matchmaking {
    pub(crate) fn new(profile: Option<String>, owner: bool) -> Self {
        Self {
            profile,
            owner,
            member: None,
            assignment: None,
            match_found: false,
            ended: false,
            leave_requested: false,
            leaving: false,
            failures: 0,
            polling: false,
            next_poll: None,
        }
    }

    /// A search resumed from its ids (after a restart): polled from the first frame.
    pub(crate) fn resumed(group_id: String, member_id: String) -> Self {
        let mut state = Self::new(None, false);
        state.member = Some(GroupMember {
            group_id,
            member_id,
            ..GroupMember::default()
        });
        state
    }

    /// The profile searched in (unknown for a resumed search).
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// The group's id, once the matchmaker answered: friends join with it, and with
    /// [`member_id`](Self::member_id) it resumes the search after a restart.
    pub fn group_id(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.group_id.as_str())
    }

    /// This member's id, once the matchmaker answered.
    pub fn member_id(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.member_id.as_str())
    }

    /// This player's ticket, once the group searches: the id a server admits it by.
    pub fn ticket_id(&self) -> Option<&str> {
        self.member.as_ref()?.ticket_id.as_deref()
    }

    /// This player's team, from `MATCH_FOUND` on.
    pub fn team_id(&self) -> Option<&str> {
        self.member.as_ref()?.team_id.as_deref()
    }

    /// The last status seen (`INITIAL` before the first answer).
    pub fn status(&self) -> MatchStatus {
        self.member
            .as_ref()
            .map(|m| m.status.clone())
            .unwrap_or_default()
    }

    /// The last member answer.
    pub fn last(&self) -> Option<&GroupMember> {
        self.member.as_ref()
    }

    /// Where to connect, from `HOST_ASSIGNED` on (kept until the entity is despawned).
    pub fn assignment(&self) -> Option<&Assignment> {
        self.assignment.as_ref()
    }

    /// Whether this player created the group (its owner).
    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// Whether nothing more will happen: assigned, cancelled, left or failed.
    pub fn is_over(&self) -> bool {
        self.ended
    }
}

/// Phase marker: the group is being created or joined.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Joining;

/// Phase marker: in a forming group (`INITIAL`): not every member is ready.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forming;

/// Phase marker: searching for a match.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Searching;

/// Phase marker: a match was found (`MATCH_FOUND`), its server is being deployed. Too late to
/// leave: the assignment will come.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Matched;

/// Phase marker: `HOST_ASSIGNED`: [`Matchmaking::assignment`] says where to connect.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assigned;

/// Phase marker: a leave was sent and not answered yet.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leaving;

/// Phase marker: over without an assignment: cancelled, left, removed or failed.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unmatched;

/// The group was created or joined: its ids are known (share `group_id` with friends; keep
/// both to [`Matchmaker::resume`](super::Matchmaker::resume) after a restart).
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct GroupJoined {
    /// The matchmaking entity.
    pub entity: Entity,
    /// The group's id.
    pub group_id: String,
    /// This member's id.
    pub member_id: String,
}

/// A poll saw another status.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct MatchmakingStatusChanged {
    /// The matchmaking entity.
    pub entity: Entity,
    /// The status before.
    pub from: MatchStatus,
    /// The status now.
    pub to: MatchStatus,
}

/// A match was found (`MATCH_FOUND`): its server is being deployed; leaving is now refused.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct MatchFound {
    /// The matchmaking entity.
    pub entity: Entity,
    /// This player's ticket (the id a server admits it by).
    pub ticket_id: Option<String>,
    /// This player's team.
    pub team_id: Option<String>,
}

/// The server is ready (`HOST_ASSIGNED`): connect to [`HostAssigned::address`].
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct HostAssigned {
    /// The matchmaking entity.
    pub entity: Entity,
    /// Where to connect.
    pub assignment: Assignment,
    /// This player's ticket: send it to the server, which admits it by it.
    pub ticket_id: Option<String>,
    /// This player's team.
    pub team_id: Option<String>,
}

impl HostAssigned {
    /// Where to connect for port `port_name`: the public IP (else the FQDN) and its external
    /// port.
    pub fn address(&self, port_name: &str) -> Option<ConnectAddress> {
        self.assignment.address(port_name)
    }
}

/// Why a search ended without a match.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelReason {
    /// The matchmaker said `CANCELLED`: the ticket expired, the group was cancelled by
    /// another member, or the match ran out of deployment retries.
    Cancelled,
    /// `404`: the ticket or group was removed (expired and purged, or deleted elsewhere).
    Removed,
    /// The player left ([`Matchmaker::leave`](super::Matchmaker::leave)) before a match.
    Left,
}

impl std::fmt::Display for CancelReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cancelled => "cancelled by the matchmaker",
            Self::Removed => "removed by the matchmaker",
            Self::Left => "left",
        })
    }
}

/// The search ended without a match.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct MatchmakingCancelled {
    /// The matchmaking entity.
    pub entity: Entity,
    /// Why.
    pub reason: CancelReason,
}

/// The search could not go on: the create or join was refused (`400`: the profile or the
/// attributes do not match the matchmaker's configuration; `401`: a wrong token; `409`: the
/// group already searches), or an answer other than `404`, `409`, `429` or `5xx`. The error
/// never contains the token.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct MatchmakingFailed {
    /// The matchmaking entity.
    pub entity: Entity,
    /// What went wrong.
    pub error: EdgegapError,
}

/// What happened to a search, fed to [`step`].
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// The create or join call's result.
    Joined(Result<GroupMember, EdgegapError>),
    /// A poll's (or a ready change's) result.
    Polled(Result<GroupMember, EdgegapError>),
    /// The game asked to leave.
    LeaveRequested,
    /// The leave call's result.
    Left(Result<(), EdgegapError>),
    /// A call could not be made at all (bad attributes, bad configuration).
    Refused(EdgegapError),
}

/// What [`step`] asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// Poll after this long (replaces any scheduled poll).
    Poll(Duration),
    /// Send the leave (`DELETE` group for the owner, member otherwise).
    Leave,
}

/// What [`step`] reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Transition {
    Joined,
    Changed { from: MatchStatus, to: MatchStatus },
    MatchFound,
    HostAssigned(Assignment),
    Cancelled(CancelReason),
    Failed(EdgegapError),
}

/// The phase a search is in; one marker component each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Joining,
    Forming,
    Searching,
    Matched,
    Assigned,
    Leaving,
    Unmatched,
}

/// The knobs of the lifecycle, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// Between two polls.
    pub(crate) interval: Duration,
    /// The longest wait between two polls.
    pub(crate) max: Duration,
}

impl Pace {
    /// The wait after `failures` failed polls in a row (`Retry-After` wins, within `max`).
    fn backoff(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let grown = self
            .interval
            .saturating_mul(1 << failures.min(6))
            .min(self.max);
        retry_after.map_or(grown, |after| after.clamp(self.interval, self.max))
    }
}

/// The outcome of one [`step`].
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) state: Matchmaking,
    pub(crate) transitions: Vec<Transition>,
    pub(crate) commands: Vec<Command>,
}

/// One lifecycle step: `state` after `answer`.
pub(crate) fn step(state: Matchmaking, answer: Answer, pace: Pace) -> Step {
    let mut s = Step {
        state,
        transitions: Vec::new(),
        commands: Vec::new(),
    };
    if s.state.ended {
        return s;
    }
    match answer {
        Answer::Joined(Ok(member)) => {
            s.transitions.push(Transition::Joined);
            s.seen(member, pace);
        }
        Answer::Joined(Err(error)) | Answer::Refused(error) => s.fail(error),
        Answer::Polled(Ok(member)) => {
            s.state.failures = 0;
            s.seen(member, pace);
        }
        Answer::Polled(Err(error)) => s.poll_failed(error, pace),
        Answer::LeaveRequested => {
            s.state.leave_requested = true;
            if s.state.member.is_none() {
                // Still joining: the leave goes out once the ids are known.
            } else if !s.state.status().is_matched() && !s.state.leaving {
                s.state.leaving = true;
                s.commands.push(Command::Leave);
            }
        }
        Answer::Left(result) => {
            s.state.leaving = false;
            match result {
                Ok(()) => s.cancel(CancelReason::Left),
                Err(error) if error.status() == Some(404) => s.cancel(CancelReason::Removed),
                // 409: a match was found. Keep polling: the assignment is coming.
                Err(_) => s.commands.push(Command::Poll(pace.interval)),
            }
        }
    }
    s
}

impl Step {
    fn fail(&mut self, error: EdgegapError) {
        self.state.ended = true;
        self.transitions.push(Transition::Failed(error));
    }

    fn cancel(&mut self, reason: CancelReason) {
        self.state.ended = true;
        self.transitions.push(Transition::Cancelled(reason));
    }

    /// A member answer: report what changed, then poll again, leave, or stop.
    fn seen(&mut self, member: GroupMember, pace: Pace) {
        let from = self.state.status();
        let to = member.status.clone();
        let first = self.state.member.is_none();
        // A poll answer may omit what an earlier one said (a resumed search's profile).
        self.state.member = Some(member.clone());
        // The first answer reports a change from `INITIAL` when it is already further.
        if (from != to && !first) || (first && to != MatchStatus::Initial) {
            self.transitions.push(Transition::Changed {
                from,
                to: to.clone(),
            });
        }
        if to.is_matched() && !self.state.match_found {
            self.state.match_found = true;
            self.transitions.push(Transition::MatchFound);
        }
        match to {
            MatchStatus::HostAssigned => match member.assignment {
                Some(assignment) => {
                    self.state.ended = true;
                    self.state.assignment = Some(assignment.clone());
                    self.transitions.push(Transition::HostAssigned(assignment));
                }
                // Assigned without an assignment: ask again.
                None => self.commands.push(Command::Poll(pace.interval)),
            },
            MatchStatus::Cancelled => self.cancel(CancelReason::Cancelled),
            status => {
                if self.state.leave_requested && !status.is_matched() && !self.state.leaving {
                    self.state.leaving = true;
                    self.commands.push(Command::Leave);
                } else {
                    self.commands.push(Command::Poll(pace.interval));
                }
            }
        }
    }

    fn poll_failed(&mut self, error: EdgegapError, pace: Pace) {
        if error.status() == Some(404) {
            self.cancel(CancelReason::Removed);
        } else if error.status() == Some(409) {
            // A ready change refused: too late, a match was found. Keep polling.
            self.commands.push(Command::Poll(pace.interval));
        } else if error.is_transient() {
            // 429, 5xx, no answer: never strand a player whose match may be coming.
            self.state.failures = self.state.failures.saturating_add(1);
            let wait = pace.backoff(self.state.failures, error.retry_after());
            self.commands.push(Command::Poll(wait));
        } else {
            self.fail(error);
        }
    }
}

/// The phase `state` is in.
pub(crate) fn phase(state: &Matchmaking) -> Phase {
    if state.assignment.is_some() {
        Phase::Assigned
    } else if state.ended {
        Phase::Unmatched
    } else if state.leaving {
        Phase::Leaving
    } else if state.member.is_none() {
        Phase::Joining
    } else {
        match state.status() {
            MatchStatus::Initial => Phase::Forming,
            status if status.is_matched() => Phase::Matched,
            _ => Phase::Searching,
        }
    }
}

/// Answers waiting for the lifecycle and the poll schedule.
#[derive(Resource, Default)]
pub(crate) struct MatchTracker {
    pub(crate) inbox: Vec<(Entity, Answer)>,
    pub(crate) polls: PollSchedule,
}

impl MatchTracker {
    /// Whether anything waits or is due at `now` (a look at the earliest poll time only).
    pub(crate) fn due(&self, now: Instant) -> bool {
        !self.inbox.is_empty() || self.polls.is_due(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACE: Pace = Pace {
        interval: Duration::from_secs(1),
        max: Duration::from_secs(10),
    };

    fn member(status: MatchStatus) -> GroupMember {
        GroupMember {
            member_id: "m".into(),
            group_id: "g".into(),
            status,
            ..GroupMember::default()
        }
    }

    fn assigned() -> GroupMember {
        GroupMember {
            assignment: Some(Assignment {
                public_ip: Some("1.2.3.4".into()),
                ..Assignment::default()
            }),
            ..member(MatchStatus::HostAssigned)
        }
    }

    fn api(status: u16) -> EdgegapError {
        crate::api::api_error(&crate::api::HttpResponse::new(status, "{}"))
    }

    /// Runs `answers` from a fresh solo search; returns the last state, every transition and
    /// the last step's commands.
    fn run(answers: Vec<Answer>) -> (Matchmaking, Vec<Transition>, Vec<Command>) {
        let mut state = Matchmaking::new(Some("duel".into()), true);
        let mut all = Vec::new();
        let mut commands = Vec::new();
        for answer in answers {
            let s = step(state, answer, PACE);
            state = s.state;
            all.extend(s.transitions);
            commands = s.commands;
        }
        (state, all, commands)
    }

    #[test]
    fn a_search_to_its_assignment() {
        let (state, transitions, commands) = run(vec![
            Answer::Joined(Ok(member(MatchStatus::Searching))),
            Answer::Polled(Ok(member(MatchStatus::Searching))),
            Answer::Polled(Ok(member(MatchStatus::MatchFound))),
            Answer::Polled(Ok(assigned())),
            Answer::Polled(Ok(member(MatchStatus::Cancelled))),
        ]);
        assert!(matches!(transitions[0], Transition::Joined));
        assert!(transitions.contains(&Transition::MatchFound));
        assert!(matches!(
            transitions.last(),
            Some(Transition::HostAssigned(_))
        ));
        assert_eq!(
            transitions
                .iter()
                .filter(|t| matches!(t, Transition::MatchFound))
                .count(),
            1
        );
        assert!(commands.is_empty(), "nothing after the end");
        assert_eq!(phase(&state), Phase::Assigned);
        assert!(state.assignment().is_some(), "kept");
    }

    #[test]
    fn a_refused_leave_keeps_polling_and_the_assignment_still_comes() {
        let (state, transitions, commands) = run(vec![
            Answer::Joined(Ok(member(MatchStatus::Searching))),
            Answer::LeaveRequested,
            Answer::Left(Err(api(409))),
        ]);
        assert_eq!(commands, [Command::Poll(PACE.interval)]);
        assert!(!state.is_over());
        assert!(
            !transitions
                .iter()
                .any(|t| matches!(t, Transition::Cancelled(_)))
        );
        let s = step(
            state,
            Answer::Polled(Ok(member(MatchStatus::MatchFound))),
            PACE,
        );
        assert_eq!(
            s.commands,
            [Command::Poll(PACE.interval)],
            "no leave once matched"
        );
        let s = step(s.state, Answer::Polled(Ok(assigned())), PACE);
        assert!(matches!(
            s.transitions.last(),
            Some(Transition::HostAssigned(_))
        ));
    }

    #[test]
    fn leaving_before_a_match() {
        let (state, transitions, _) = run(vec![
            Answer::LeaveRequested,
            Answer::Joined(Ok(member(MatchStatus::Searching))),
        ]);
        assert_eq!(
            phase(&state),
            Phase::Leaving,
            "the leave waited for the ids"
        );
        let s = step(state, Answer::Left(Ok(())), PACE);
        assert_eq!(s.transitions, [Transition::Cancelled(CancelReason::Left)]);
        assert!(matches!(transitions[0], Transition::Joined));
    }

    #[test]
    fn polls_survive_rate_limits_and_outages_but_not_refusals() {
        let limited = crate::api::api_error(
            &crate::api::HttpResponse::new(429, "{}").with_header("Retry-After", "30"),
        );
        let (state, _, commands) = run(vec![
            Answer::Joined(Ok(member(MatchStatus::Searching))),
            Answer::Polled(Err(limited)),
        ]);
        assert_eq!(commands, [Command::Poll(PACE.max)], "Retry-After clamped");
        let s = step(state, Answer::Polled(Err(api(503))), PACE);
        assert_eq!(
            s.commands,
            [Command::Poll(Duration::from_secs(4))],
            "backoff grows"
        );
        let s = step(s.state, Answer::Polled(Err(api(404))), PACE);
        assert_eq!(
            s.transitions,
            [Transition::Cancelled(CancelReason::Removed)]
        );
        let (_, transitions, commands) = run(vec![
            Answer::Joined(Ok(member(MatchStatus::Searching))),
            Answer::Polled(Err(api(401))),
        ]);
        assert!(matches!(transitions.last(), Some(Transition::Failed(_))));
        assert!(commands.is_empty());
    }
}
