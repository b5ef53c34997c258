//! The deployment lifecycle as one pure function: [`step`] takes a [`Deployment`], what
//! happened to it and the time, and returns the updated deployment, the transitions to
//! report and the commands to carry out. No `World`: `track` applies the result.

use std::time::Duration;

use bevy::ecs::entity::Entity;

use super::config::{EdgegapConfig, PollPolicy};
use super::deployment::{Answer, Command, Deployment, FailureReason, Phase, Transition};
use crate::api::{DeploymentStatus, EdgegapError, RequestId, Status};
use crate::time::Instant;

/// The knobs of the lifecycle, read from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) poll: PollPolicy,
    pub(crate) stop_on_error: bool,
    pub(crate) max_reconciles: u32,
    pub(crate) unobserved_after: u32,
}

impl Policy {
    pub(crate) fn new(config: &EdgegapConfig) -> Self {
        Self {
            poll: config.poll.clone(),
            stop_on_error: config.stop_on_error,
            max_reconciles: config.max_reconciles.max(1),
            unobserved_after: config.unobserved_after.max(1),
        }
    }

    /// Wait before reconcile search number `done + 1`: 250 ms, doubling, at most 8 s.
    pub(crate) fn reconcile_delay(&self, done: u32) -> Duration {
        Duration::from_millis(250)
            .saturating_mul(1 << done.min(5))
            .min(Duration::from_secs(8))
    }
}

/// The outcome of one [`step`].
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) deployment: Deployment,
    pub(crate) transitions: Vec<Transition>,
    pub(crate) commands: Vec<Command>,
}

/// One lifecycle step: `deployment` after `answer` at `now`.
pub(crate) fn step(deployment: Deployment, answer: Answer, now: Instant, policy: &Policy) -> Step {
    let mut s = Step {
        deployment,
        transitions: Vec::new(),
        commands: Vec::new(),
    };
    match answer {
        Answer::Deployed(Ok(created)) => s.learn_id(created.request_id, policy),
        Answer::Deployed(Err(error)) => s.deploy_failed(error, now, policy),
        Answer::Reconciled(Ok(Some(id))) if s.deployment.uncertain => s.learn_id(id, policy),
        Answer::Reconciled(result) if s.deployment.uncertain => {
            let error = result.err();
            s.search_failed(error, now, policy);
        }
        Answer::Reconciled(_) => {}
        Answer::Status(result) => s.status(result, now, policy),
        Answer::Stopped(result) => s.stopped(result, now, policy),
        Answer::StopRequested(call) => s.stop_requested(call, policy),
        Answer::ReadyTimeout { after, stop } => s.ready_timeout(after, stop, now),
    }
    s
}

/// The phase `deployment` is in (one marker component each).
pub(crate) fn phase(deployment: &Deployment) -> Phase {
    let d = deployment;
    if d.status == Status::Terminated {
        Phase::Ended
    } else if d.request_id.is_none() {
        match (d.failed, d.uncertain) {
            (true, _) => Phase::Ended,
            (false, true) => Phase::Reconciling,
            (false, false) => Phase::Deploying,
        }
    } else if d.stop_requested {
        Phase::Stopping
    } else if d.failed {
        Phase::Ended
    } else if d.status.is_ready() {
        Phase::Running
    } else {
        Phase::Starting
    }
}

/// Whether nothing is left to do for `deployment` before the app exits: it is terminated,
/// its stop was answered, or its deploy certainly created nothing (searches included).
pub(crate) fn settled_for_exit(deployment: &Deployment, policy: &Policy) -> bool {
    let d = deployment;
    if d.status == Status::Terminated || (d.request_id.is_some() && d.stop_confirmed) {
        return true;
    }
    d.request_id.is_none() && d.failed && (!d.uncertain || d.reconciles > policy.max_reconciles)
}

impl Step {
    fn fail(&mut self, reason: FailureReason, server_may_exist: bool, stopped: bool, now: Instant) {
        if self.deployment.failed {
            return;
        }
        self.deployment.failed = true;
        self.deployment.ended_at.get_or_insert(now);
        self.transitions.push(Transition::Failed {
            reason,
            server_may_exist,
            stopped,
        });
    }

    /// Stops `id`, answering every stop call that waited for it (or none).
    fn stop_all(&mut self, id: &RequestId) {
        self.deployment.stop_requested = true;
        let calls = std::mem::take(&mut self.deployment.pending_stops);
        if calls.is_empty() {
            self.commands.push(Command::Stop {
                request_id: id.clone(),
                call: None,
            });
        }
        for call in calls {
            self.commands.push(Command::Stop {
                request_id: id.clone(),
                call: Some(call),
            });
        }
    }

    fn cancel_waiting_stops(&mut self) {
        for call in std::mem::take(&mut self.deployment.pending_stops) {
            self.commands.push(Command::Cancel(call));
        }
    }

    /// The deploy (or a search) named the deployment: adopt it if the entity still wants a
    /// server, otherwise stop it.
    fn learn_id(&mut self, id: RequestId, policy: &Policy) {
        let d = &mut self.deployment;
        if d.request_id.is_some() {
            return; // A re-send answered again: already known.
        }
        d.request_id = Some(id.clone());
        d.uncertain = false;
        d.poll_interval = policy.poll.initial;
        self.commands.push(Command::Poll(policy.poll.initial));
        if d.stop_requested || d.failed {
            self.stop_all(&id);
        } else {
            self.transitions.push(Transition::Created(id));
            self.commands.push(Command::WatchReady);
        }
    }

    fn deploy_failed(&mut self, error: EdgegapError, now: Instant, policy: &Policy) {
        let d = &mut self.deployment;
        if d.request_id.is_some() {
            return;
        }
        if d.uncertain {
            // A re-send through the gateway failed again: one more search spent.
            self.search_failed(Some(error), now, policy);
            return;
        }
        if let Some(id) = error.request_id().cloned() {
            // Created, but in error (v2 422): follow it and stop it.
            d.request_id = Some(id.clone());
            d.poll_interval = policy.poll.initial;
            self.commands.push(Command::Poll(policy.poll.initial));
            self.stop_all(&id);
            self.fail(FailureReason::Api(error), true, true, now);
        } else if error.outcome_unknown() {
            d.uncertain = true;
            d.deploy_error = Some(error);
            self.commands
                .push(Command::Reconcile(policy.reconcile_delay(0)));
        } else {
            self.cancel_waiting_stops();
            self.fail(FailureReason::Api(error), false, false, now);
        }
    }

    fn search_failed(&mut self, error: Option<EdgegapError>, now: Instant, policy: &Policy) {
        let d = &mut self.deployment;
        d.reconciles += 1;
        if d.reconciles < policy.max_reconciles {
            let wait = policy.reconcile_delay(d.reconciles);
            self.commands.push(Command::Reconcile(wait));
            return;
        }
        // Searched enough: report it. It stays uncertain, so the exit searches once more.
        let reason = d
            .deploy_error
            .clone()
            .or(error)
            .unwrap_or(EdgegapError::Timeout);
        self.cancel_waiting_stops();
        self.fail(FailureReason::Api(reason), true, false, now);
    }

    fn status(
        &mut self,
        result: Result<DeploymentStatus, EdgegapError>,
        now: Instant,
        policy: &Policy,
    ) {
        let d = &mut self.deployment;
        d.polling = false;
        let long_poll_sent = d.long_poll_sent.take();
        if d.status == Status::Terminated {
            return;
        }
        match result {
            Ok(status) => self.observed(status, long_poll_sent, now, policy),
            Err(error)
                if error.is_not_found()
                    && (self.deployment.last.is_some() || self.deployment.stop_requested) =>
            {
                // Seen alive (or stopped) and now unknown: it ended and was purged.
                self.terminate(None, now);
            }
            Err(error) if error.is_not_found() && !self.deployment.created_here => {
                self.fail(FailureReason::Api(error), false, false, now);
            }
            Err(error) => self.unobserved(error, policy),
        }
    }

    /// A status answer; `long_poll_sent`: when the poll was sent, if it was a long-poll.
    fn observed(
        &mut self,
        status: DeploymentStatus,
        long_poll_sent: Option<Instant>,
        now: Instant,
        policy: &Policy,
    ) {
        let d = &mut self.deployment;
        if d.unobserved >= policy.unobserved_after {
            self.transitions.push(Transition::Observed);
        }
        d.unobserved = 0;
        d.last_polled_at = Some(now);
        let from = d.status.clone();
        let to = status.current_status.clone();
        if to == Status::Terminated {
            self.terminate(Some(status), now);
            return;
        }
        let changed = from != to;
        d.status = to.clone();
        d.last = Some(status.clone());
        d.poll_interval = if changed {
            policy.poll.initial
        } else {
            policy.poll.next(d.poll_interval)
        };
        if to.is_ready() && d.ready_at.is_none() {
            d.ready_at = Some(now);
        }
        if changed {
            self.transitions.push(Transition::Changed {
                from,
                to: to.clone(),
            });
        }
        let d = &self.deployment;
        if changed && to.is_ready() && !d.stop_requested && !d.failed {
            self.transitions.push(Transition::Ready(status.clone()));
        }
        if to == Status::Error && !d.failed {
            let stop = policy.stop_on_error && !d.stop_requested;
            let stopped = stop || d.stop_requested;
            if stop && let Some(id) = d.request_id.clone() {
                self.stop_all(&id);
            }
            self.fail(
                FailureReason::Error(status.error_detail.clone()),
                true,
                stopped,
                now,
            );
        }
        // A long-poll that brought a change, or was held at least a poll interval, is sent
        // again at once: the gateway holds it. One answered at once with no change (a gateway
        // that does not hold) waits the interval, so polls never come faster than that.
        let again_now = long_poll_sent.is_some_and(|sent| {
            changed || now.saturating_duration_since(sent) >= policy.poll.initial
        });
        // ERROR ends polling unless a stop was asked for: then follow it to TERMINATED.
        let d = &self.deployment;
        if to != Status::Error || d.stop_requested {
            let wait = if again_now {
                Duration::ZERO
            } else {
                d.poll_interval
            };
            self.commands.push(Command::Poll(wait));
        }
    }

    fn unobserved(&mut self, error: EdgegapError, policy: &Policy) {
        let d = &mut self.deployment;
        d.unobserved += 1;
        let mut wait = error
            .retry_after()
            .unwrap_or(d.poll_interval)
            .max(policy.poll.initial);
        if !error.is_transient() {
            wait = wait.max(policy.poll.max);
        }
        d.poll_interval = policy.poll.next(d.poll_interval);
        if d.unobserved == policy.unobserved_after {
            self.transitions.push(Transition::Unobserved {
                failures: d.unobserved,
                error,
            });
        }
        self.commands.push(Command::Poll(wait));
    }

    fn terminate(&mut self, status: Option<DeploymentStatus>, now: Instant) {
        let d = &mut self.deployment;
        let from = std::mem::replace(&mut d.status, Status::Terminated);
        d.ended_at.get_or_insert(now);
        if let Some(status) = &status {
            d.last = Some(status.clone());
        }
        if from != Status::Terminated {
            self.transitions.push(Transition::Changed {
                from,
                to: Status::Terminated,
            });
            self.transitions.push(Transition::Terminated(status));
        }
    }

    fn stopped(
        &mut self,
        result: Result<crate::api::StopResponse, EdgegapError>,
        now: Instant,
        policy: &Policy,
    ) {
        let d = &mut self.deployment;
        d.stop_requested = true;
        d.stop_attempts += 1;
        d.stops_in_flight = d.stops_in_flight.saturating_sub(1);
        if d.status == Status::Terminated {
            return;
        }
        match result {
            Err(error) if error.is_already_terminated() || error.is_not_found() => {
                self.terminate(None, now);
            }
            Err(error) if error.is_transient() && d.stop_attempts < 3 => {
                // The transport's retries ran out: try again, and keep polling meanwhile.
                if let Some(id) = d.request_id.clone() {
                    self.commands.push(Command::Stop {
                        request_id: id,
                        call: None,
                    });
                }
                self.commands.push(Command::Poll(policy.poll.initial));
            }
            result => {
                d.stop_confirmed |= result.is_ok();
                d.poll_interval = policy.poll.initial;
                self.commands.push(Command::Poll(policy.poll.initial));
            }
        }
    }

    fn stop_requested(&mut self, call: Option<Entity>, policy: &Policy) {
        let d = &mut self.deployment;
        d.stop_requested = true;
        let searching = d.uncertain && d.reconciles < policy.max_reconciles;
        match d.request_id.clone() {
            Some(id) => self.commands.push(Command::Stop {
                request_id: id,
                call,
            }),
            // Deploy on its way, or being reconciled: the stop goes out once the id is known.
            None if !d.failed || searching => d.pending_stops.extend(call),
            None => self.commands.extend(call.map(Command::Cancel)),
        }
    }

    fn ready_timeout(&mut self, after: Duration, stop: bool, now: Instant) {
        let d = &self.deployment;
        if d.ready_at.is_some() || d.status.is_terminal() || d.failed {
            return;
        }
        let stop = stop && !d.stop_requested;
        if stop {
            match d.request_id.clone() {
                Some(id) => self.stop_all(&id),
                // Stopped as soon as the id is known.
                None => self.deployment.stop_requested = true,
            }
        }
        self.fail(FailureReason::ReadyTimeout(after), true, stop, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DeployResponse;

    fn policy() -> Policy {
        Policy {
            poll: PollPolicy::default(),
            stop_on_error: true,
            max_reconciles: 3,
            unobserved_after: 3,
        }
    }

    fn status(id: &str, status: Status) -> DeploymentStatus {
        serde_json::from_value(serde_json::json!({
            "request_id": id,
            "current_status": format!("Status.{}", match status {
                Status::Ready => "READY",
                Status::Error => "ERROR",
                Status::Terminated => "TERMINATED",
                _ => "DEPLOYING",
            }),
        }))
        .unwrap()
    }

    fn created(id: &str) -> Deployment {
        let now = Instant::now();
        let s = step(
            Deployment::created(now),
            Answer::Deployed(Ok(DeployResponse {
                request_id: id.into(),
            })),
            now,
            &policy(),
        );
        s.deployment
    }

    fn api(status: u16) -> EdgegapError {
        crate::api::api_error(&crate::api::HttpResponse::new(status, "{}"))
    }

    /// The next poll after a status answer: a long-poll that brought a change, or that the
    /// gateway held at least the first poll interval, goes again at once; one answered at
    /// once with no change (a gateway that does not hold) waits the interval, so a gateway
    /// that ignores the hold is never polled in a tight loop; a plain poll waits the interval.
    #[test]
    fn long_polls_go_again_at_once_only_after_a_hold_or_a_change() {
        let p = policy();
        let t0 = Instant::now();
        let next_poll = |from: Status, to: Status, long_poll: Option<Duration>| {
            let mut d = created("a");
            d.status = from.clone();
            d.last = Some(status("a", from));
            d.long_poll_sent = long_poll.map(|_| t0);
            let now = t0 + long_poll.unwrap_or(Duration::from_millis(30));
            let s = step(d, Answer::Status(Ok(status("a", to))), now, &p);
            assert!(s.deployment.long_poll_sent.is_none());
            s.commands
                .iter()
                .find_map(|c| match c {
                    Command::Poll(wait) => Some(*wait),
                    _ => None,
                })
                .expect("polling goes on")
        };
        let held = Some(p.poll.initial);
        let at_once = Some(Duration::from_millis(30));
        use Status::{Deploying, Ready};
        assert_eq!(
            next_poll(Ready, Ready, held),
            Duration::ZERO,
            "held, no change"
        );
        assert_eq!(
            next_poll(Deploying, Ready, at_once),
            Duration::ZERO,
            "a change"
        );
        assert!(
            next_poll(Ready, Ready, at_once) >= p.poll.initial,
            "not held"
        );
        assert!(
            next_poll(Ready, Ready, None) >= p.poll.initial,
            "a plain poll"
        );
    }

    #[test]
    fn a_table_of_steps() {
        let now = Instant::now();
        let p = policy();
        let stop = |id: &str| Command::Stop {
            request_id: id.into(),
            call: None,
        };
        // (name, deployment, answer, expected transition kinds, expected stop)
        type Case = (&'static str, Deployment, Answer, Vec<&'static str>, bool);
        let mut stopping = created("a");
        stopping.stop_requested = true;
        let mut seen = created("a");
        seen.last = Some(status("a", Status::Deploying));
        let cases: Vec<Case> = vec![
            (
                "ready emits ready",
                created("a"),
                Answer::Status(Ok(status("a", Status::Ready))),
                vec!["changed", "ready"],
                false,
            ),
            (
                "ready after a stop request emits no ready",
                stopping.clone(),
                Answer::Status(Ok(status("a", Status::Ready))),
                vec!["changed"],
                false,
            ),
            (
                "error fails and stops at once",
                created("a"),
                Answer::Status(Ok(status("a", Status::Error))),
                vec!["changed", "failed"],
                true,
            ),
            (
                "a 404 for a deployment seen alive is terminated",
                seen,
                Answer::Status(Err(api(404))),
                vec!["changed", "terminated"],
                false,
            ),
            (
                "a garbled status is not a failure",
                created("a"),
                Answer::Status(Err(EdgegapError::decode(200, b"{\"req", "eof"))),
                vec![],
                false,
            ),
            (
                "a 422 with an id fails and stops",
                Deployment::created(now),
                Answer::Deployed(Err(EdgegapError::Api {
                    status: 422,
                    message: "no capacity".into(),
                    body: String::new(),
                    retry_after: None,
                    request_id: Some("b".into()),
                })),
                vec!["failed"],
                true,
            ),
            (
                "a timeout is reconciled, not failed",
                Deployment::created(now),
                Answer::Deployed(Err(EdgegapError::Timeout)),
                vec![],
                false,
            ),
            (
                "a 400 is a plain failure",
                Deployment::created(now),
                Answer::Deployed(Err(api(400))),
                vec!["failed"],
                false,
            ),
        ];
        for (name, deployment, answer, kinds, stops) in cases {
            let s = step(deployment, answer, now, &p);
            let got: Vec<&str> = s
                .transitions
                .iter()
                .map(|t| match t {
                    Transition::Created(_) => "created",
                    Transition::Changed { .. } => "changed",
                    Transition::Ready(_) => "ready",
                    Transition::Failed { .. } => "failed",
                    Transition::Terminated(_) => "terminated",
                    Transition::Unobserved { .. } => "unobserved",
                    Transition::Observed => "observed",
                })
                .collect();
            assert_eq!(got, kinds, "{name}");
            let stopped = s.commands.iter().any(|c| matches!(c, Command::Stop { .. }));
            assert_eq!(stopped, stops, "{name}: {:?}", s.commands);
            if stops && let Some(id) = s.deployment.request_id() {
                assert!(s.commands.contains(&stop(id.as_str())), "{name}");
            }
        }
    }

    #[test]
    fn an_uncertain_deploy_is_adopted_when_found_and_stopped_when_no_longer_wanted() {
        let now = Instant::now();
        let p = policy();
        let uncertain = step(
            Deployment::created(now),
            Answer::Deployed(Err(EdgegapError::Timeout)),
            now,
            &p,
        )
        .deployment;
        assert_eq!(phase(&uncertain), Phase::Reconciling);
        let adopted = step(
            uncertain.clone(),
            Answer::Reconciled(Ok(Some("f".into()))),
            now,
            &p,
        );
        assert!(matches!(adopted.transitions[..], [Transition::Created(_)]));
        assert_eq!(phase(&adopted.deployment), Phase::Starting);

        let call = Entity::from_raw_u32(7).unwrap();
        let waiting = step(uncertain, Answer::StopRequested(Some(call)), now, &p).deployment;
        assert_eq!(waiting.pending_stops, vec![call]);
        let found = step(
            waiting.clone(),
            Answer::Reconciled(Ok(Some("f".into()))),
            now,
            &p,
        );
        assert!(
            found.transitions.is_empty(),
            "not adopted: a stop was asked for"
        );
        assert!(found.commands.contains(&Command::Stop {
            request_id: "f".into(),
            call: Some(call)
        }));
        // Never found: the waiting stop resolves as cancelled, once.
        let mut d = waiting;
        let mut cancels = 0;
        for _ in 0..p.max_reconciles {
            let s = step(d, Answer::Reconciled(Ok(None)), now, &p);
            cancels += s
                .commands
                .iter()
                .filter(|c| **c == Command::Cancel(call))
                .count();
            d = s.deployment;
        }
        assert_eq!(cancels, 1);
        assert!(d.failed && d.uncertain);
    }

    #[test]
    fn failing_polls_are_reported_once_and_polling_goes_on() {
        let now = Instant::now();
        let p = policy();
        let mut d = created("a");
        let mut reports = 0;
        for _ in 0..10 {
            let s = step(d, Answer::Status(Err(api(503))), now, &p);
            reports += s
                .transitions
                .iter()
                .filter(|t| matches!(t, Transition::Unobserved { .. }))
                .count();
            assert!(s.commands.iter().any(|c| matches!(c, Command::Poll(_))));
            d = s.deployment;
        }
        assert_eq!(reports, 1);
        assert!(!d.failed);
    }
}
