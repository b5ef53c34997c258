//! Match-lifecycle policies: stop the deployment when nobody joined in time, when the match has
//! been empty for a while, or when it ran too long. The game reports players through
//! [`PlayerCount`]; the decision is a pure function ([`Policies::decide`]) of the policies, the
//! player count and the time since start, applied by one system.
//!
//! On a matchmaker deployment ([`MatchEnv`]) the no-show policy also applies: the game reports
//! the tickets that arrive in [`MatchArrivals`]; once the grace period is over, each expected
//! ticket that has not arrived is a [`PlayerNoShow`], and when none arrived at all the server
//! stops itself ([`no_shows`] decides, one system applies).

use std::collections::BTreeSet;
use std::time::Duration;

use bevy::prelude::*;

use super::announce::Announce;
use super::match_env::MatchEnv;
use super::self_stop::{SelfStopReason, SelfStopper};

/// The tickets of the matched players who arrived, as the game reports them: call
/// [`arrived`](Self::arrived) when a client presenting a ticket [`MatchEnv::expects`] is
/// admitted. Read by the no-show policy of [`EdgegapServerPlugin`](super::EdgegapServerPlugin).
///
/// ```
/// use bevy::prelude::*;
/// use bevy_edgegap::prelude::*;
///
/// fn admit(ticket: &str, env: &MatchEnv, arrivals: &mut MatchArrivals) -> bool {
///     if !env.expects(ticket) {
///         return false; // not a player of this match: refuse
///     }
///     arrivals.arrived(ticket);
///     true
/// }
/// # let mut arrivals = MatchArrivals::default();
/// # assert!(arrivals.arrived("t1"));
/// # assert!(!arrivals.arrived("t1"));
/// # assert!(arrivals.has_arrived("t1") && arrivals.count() == 1);
/// ```
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchArrivals {
    arrived: BTreeSet<String>,
}

impl MatchArrivals {
    /// Records that the player of `ticket_id` arrived; `true` the first time.
    pub fn arrived(&mut self, ticket_id: impl Into<String>) -> bool {
        self.arrived.insert(ticket_id.into())
    }

    /// Whether the player of `ticket_id` arrived.
    pub fn has_arrived(&self, ticket_id: &str) -> bool {
        self.arrived.contains(ticket_id)
    }

    /// How many tickets arrived.
    pub fn count(&self) -> usize {
        self.arrived.len()
    }
}

/// A matched player (`MM_TICKET_IDS`) had not arrived when the no-show grace period ended
/// (default 60 s, Edgegap's connection grace). Both a [`Message`] and a global [`Event`].
/// When every matched player is a no-show, the server stops itself
/// ([`SelfStopReason::NoShow`]).
#[derive(Message, Event, Debug, Clone, PartialEq, Eq)]
pub struct PlayerNoShow {
    /// The player's ticket.
    pub ticket_id: String,
    /// The player's team, if the matchmaker said.
    pub team_id: Option<String>,
    /// The grace period that ran out.
    pub grace: Duration,
}

/// The no-show policy's settings.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoShowPolicy {
    pub grace: Duration,
    pub stop_if_nobody_shows: bool,
}

impl Default for NoShowPolicy {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(60),
            stop_if_nobody_shows: true,
        }
    }
}

/// The expected tickets that did not arrive, and whether to stop: nobody arrived, and the
/// game's [`PlayerCount`] never saw a player either (a game that counts players but forgets
/// to report arrivals is not stopped under its players).
pub(crate) fn no_shows(
    env: &MatchEnv,
    arrivals: &MatchArrivals,
    players: &PlayerCount,
) -> (Vec<String>, bool) {
    let missing: Vec<String> = env
        .ticket_ids
        .iter()
        .filter(|id| !arrivals.has_arrived(id))
        .cloned()
        .collect();
    let nobody = env.expected_players() > 0
        && missing.len() == env.expected_players()
        && !players.ever_joined();
    (missing, nobody)
}

/// Once the grace period is over (time since start), reports the no-shows once and asks for
/// the self-stop when nobody came. Runs in
/// [`EdgegapServerSystems::Send`](super::EdgegapServerSystems::Send) on a matchmaker
/// deployment, before the self-stop starts.
pub(crate) fn check_no_shows(
    policy: Res<NoShowPolicy>,
    seen: (Res<MatchEnv>, Res<MatchArrivals>, Res<PlayerCount>),
    time: Res<Time<Real>>,
    mut done: Local<bool>,
    mut no_show: Announce<PlayerNoShow>,
    mut stopper: ResMut<SelfStopper>,
) {
    if *done || time.elapsed() < policy.grace {
        return;
    }
    *done = true;
    let (env, arrivals, players) = seen;
    let (missing, nobody) = no_shows(&env, &arrivals, &players);
    for ticket_id in missing {
        info!(
            "matched player `{ticket_id}` did not arrive within `{:?}`",
            policy.grace
        );
        let event = PlayerNoShow {
            team_id: env.team_of(&ticket_id).map(str::to_owned),
            ticket_id,
            grace: policy.grace,
        };
        no_show.send(event);
    }
    if nobody && policy.stop_if_nobody_shows {
        stopper.request(SelfStopReason::NoShow(policy.grace));
    }
}

/// How many players are connected, as the game reports it: call [`joined`](Self::joined) and
/// [`left`](Self::left) as players come and go, or [`set`](Self::set) the count the game keeps
/// itself. The match-lifecycle policies of
/// [`EdgegapServerPlugin`](super::EdgegapServerPlugin) read it every frame.
///
/// ```
/// use bevy::prelude::*;
/// use bevy_edgegap::prelude::*;
///
/// fn on_hello(mut players: ResMut<PlayerCount>) {
///     players.joined();
/// }
/// # let mut players = PlayerCount::default();
/// # players.joined();
/// # players.left();
/// # players.left();
/// # assert_eq!(players.count(), 0);
/// # assert!(players.ever_joined());
/// ```
#[derive(Resource, Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayerCount {
    count: usize,
    ever_joined: bool,
}

impl PlayerCount {
    /// One more player.
    pub fn joined(&mut self) {
        self.set(self.count.saturating_add(1));
    }

    /// One fewer player (never below zero).
    pub fn left(&mut self) {
        self.set(self.count.saturating_sub(1));
    }

    /// The number of connected players, as the game counts them.
    pub fn set(&mut self, count: usize) {
        self.count = count;
        self.ever_joined |= count > 0;
    }

    /// Players connected now.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether any player has joined since the start.
    pub fn ever_joined(&self) -> bool {
        self.ever_joined
    }
}

/// The three policies, each off (`None`) or a limit; inserted by the plugin.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Policies {
    pub empty_for: Option<Duration>,
    pub no_player_within: Option<Duration>,
    pub max_duration: Option<Duration>,
}

/// What the policies remember between frames.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PolicyClock {
    /// Since when the match has been empty (after a first player), in time since start.
    empty_since: Option<Duration>,
    /// A policy fired: they are done.
    fired: bool,
}

impl Policies {
    pub fn any(&self) -> bool {
        self.empty_for.is_some() || self.no_player_within.is_some() || self.max_duration.is_some()
    }

    /// One step: the clock after this frame, and the reason to stop if a limit is reached.
    /// `now` is the time since start. Once a policy fired, nothing more fires.
    pub fn decide(
        &self,
        clock: PolicyClock,
        players: &PlayerCount,
        now: Duration,
    ) -> (PolicyClock, Option<SelfStopReason>) {
        if clock.fired {
            return (clock, None);
        }
        let empty_since = match (players.ever_joined(), players.count()) {
            (true, 0) => Some(clock.empty_since.unwrap_or(now)),
            _ => None,
        };
        let reason = if let Some(limit) = self.max_duration.filter(|limit| now >= *limit) {
            Some(SelfStopReason::MaxMatchDuration(limit))
        } else if let Some(limit) = self
            .no_player_within
            .filter(|limit| !players.ever_joined() && now >= *limit)
        {
            Some(SelfStopReason::NoPlayerWithin(limit))
        } else {
            self.empty_for
                .zip(empty_since)
                .filter(|(limit, since)| now.saturating_sub(*since) >= *limit)
                .map(|(limit, _)| SelfStopReason::EmptyFor(limit))
        };
        let clock = PolicyClock {
            empty_since,
            fired: reason.is_some(),
        };
        (clock, reason)
    }
}

/// Applies the policies. Runs in [`EdgegapServerSystems::Send`](super::EdgegapServerSystems::Send),
/// before the self-stop starts, so a policy that fires sends in the same frame.
pub(crate) fn apply_policies(
    policies: Res<Policies>,
    time: Res<Time<Real>>,
    players: Res<PlayerCount>,
    mut clock: ResMut<PolicyClock>,
    mut stopper: ResMut<SelfStopper>,
) {
    if !policies.any() {
        return;
    }
    let (next, reason) = policies.decide(*clock, &players, time.elapsed());
    *clock = next;
    if let Some(reason) = reason {
        stopper.request(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn players(count: usize, ever: bool) -> PlayerCount {
        PlayerCount {
            count,
            ever_joined: ever,
        }
    }

    /// Runs `steps` of (seconds since start, players, ever joined) and returns what fired when.
    fn run(policies: Policies, steps: &[(u64, usize, bool)]) -> Vec<(u64, SelfStopReason)> {
        let mut clock = PolicyClock::default();
        let mut fired = Vec::new();
        for &(at, count, ever) in steps {
            let (next, reason) = policies.decide(clock, &players(count, ever), S(at));
            clock = next;
            fired.extend(reason.map(|r| (at, r)));
        }
        fired
    }

    #[test]
    fn no_policy_never_fires() {
        let fired = run(Policies::default(), &[(0, 0, false), (1_000_000, 0, true)]);
        assert!(fired.is_empty());
    }

    #[test]
    fn nobody_joined_in_time() {
        let policies = Policies {
            no_player_within: Some(S(60)),
            ..Policies::default()
        };
        assert_eq!(
            run(policies, &[(0, 0, false), (59, 0, false), (60, 0, false)]),
            [(60, SelfStopReason::NoPlayerWithin(S(60)))]
        );
        // A player who joined and left still counts as joined.
        assert!(run(policies, &[(10, 1, true), (20, 0, true), (600, 0, true)]).is_empty());
    }

    #[test]
    fn empty_counts_only_after_a_first_player_and_restarts_when_one_comes_back() {
        let policies = Policies {
            empty_for: Some(S(30)),
            ..Policies::default()
        };
        // Never joined: not "empty" in this sense.
        assert!(run(policies, &[(0, 0, false), (1000, 0, false)]).is_empty());
        assert_eq!(
            run(
                policies,
                &[
                    (10, 1, true),
                    (20, 0, true),  // empty since 20
                    (45, 1, true),  // back: the clock resets
                    (50, 0, true),  // empty since 50
                    (79, 0, true),  // 29 s
                    (80, 0, true),  // 30 s
                    (200, 0, true), // once only
                ]
            ),
            [(80, SelfStopReason::EmptyFor(S(30)))]
        );
    }

    #[test]
    fn the_maximum_duration_applies_with_players_connected() {
        let policies = Policies {
            max_duration: Some(S(600)),
            empty_for: Some(S(30)),
            no_player_within: Some(S(60)),
        };
        assert_eq!(
            run(policies, &[(5, 4, true), (599, 4, true), (600, 4, true)]),
            [(600, SelfStopReason::MaxMatchDuration(S(600)))]
        );
    }

    #[test]
    fn counts_never_go_below_zero_and_remember_a_join() {
        let mut count = PlayerCount::default();
        count.left();
        assert_eq!(count.count(), 0);
        assert!(!count.ever_joined());
        count.joined();
        count.joined();
        count.left();
        assert_eq!(count.count(), 1);
        count.set(0);
        assert!(count.ever_joined());
    }

    fn env(tickets: &[&str]) -> MatchEnv {
        let ids = serde_json::to_string(tickets).unwrap();
        MatchEnv::from_vars([("MM_TICKET_IDS".to_owned(), ids)]).unwrap()
    }

    #[test]
    fn a_no_show_is_an_expected_ticket_that_did_not_arrive() {
        let env = env(&["a", "b", "c"]);
        let mut arrivals = MatchArrivals::default();
        arrivals.arrived("b");
        arrivals.arrived("stranger");
        let (missing, nobody) = no_shows(&env, &arrivals, &players(1, true));
        assert_eq!(missing, ["a", "c"]);
        assert!(!nobody);
    }

    #[test]
    fn nobody_showed_up_only_when_no_ticket_arrived_and_no_player_was_counted() {
        let env = env(&["a", "b"]);
        let arrivals = MatchArrivals::default();
        assert_eq!(
            no_shows(&env, &arrivals, &players(0, false)),
            (vec!["a".into(), "b".into()], true)
        );
        // The game counts players but forgot to report arrivals: not stopped.
        assert!(!no_shows(&env, &arrivals, &players(0, true)).1);
        // A stranger's arrival does not count as a matched player's.
        let mut strangers = MatchArrivals::default();
        strangers.arrived("x");
        assert!(no_shows(&env, &strangers, &players(0, false)).1);
        // No expected player at all: nothing to wait for, nothing to stop for.
        assert!(!no_shows(&self::env(&[]), &arrivals, &players(0, false)).1);
    }

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(
            SelfStopReason::EmptyFor(S(30)).to_string(),
            "the match has been empty for `30s`"
        );
        assert_eq!(
            SelfStopReason::StateEntered("Finished".into()).to_string(),
            "entered state `Finished`"
        );
        assert_eq!(
            SelfStopReason::NoShow(S(60)).to_string(),
            "no matched player arrived within `60s`"
        );
    }
}
