//! Fault injection: latency, error statuses, 429s, broken bodies, hung connections.

use std::time::Duration;

use crate::classify::Route;
use crate::util::SplitMix;

/// What an injected fault does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Handle the request at once and send its answer after this delay, as a slow network
    /// would: a client that gives up meanwhile has still had its request carried out.
    Latency(Duration),
    /// Answer this status with a JSON `{"message"}` body, without handling the request.
    Status(u16),
    /// Answer 429 with a `Retry-After` header (whole seconds, rounded up) and `{"message"}`.
    RateLimited {
        /// The delay the `Retry-After` header asks for.
        retry_after: Duration,
    },
    /// Handle the request, then answer a success status with a truncated, unparsable body.
    MalformedJson,
    /// Answer 502 with an HTML body (a proxy's error page), without handling the request.
    Html502,
    /// Hold the connection this long, then close it without answering.
    Hang(Duration),
    /// Edgegap's v2 `422` "couldn't allocate": on the deploy routes (`DeployV2`, `FleetDeploy`)
    /// a valid request still creates the deployment, in `Status.ERROR` with the request's tags,
    /// and the answer is `422 {"request_id", "message": "Couldn't allocate a server"}`. The
    /// deployment is stopped and listed like any other. Auth, rate limits and body validation
    /// apply first (a bad body still gets its 400). On other routes: `422 {"message"}`.
    CouldNotAllocate,
}

/// A fault rule: which requests it matches and how often it fires.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Fault {
    pub(crate) route: Option<Route>,
    pub(crate) kind: FaultKind,
    pub(crate) remaining: Option<usize>,
    pub(crate) probability: Option<f64>,
}

impl Fault {
    /// A fault on every request to `route`.
    pub fn new(route: Route, kind: FaultKind) -> Self {
        Self {
            route: Some(route),
            kind,
            remaining: None,
            probability: None,
        }
    }

    /// A fault on every request, whatever the route.
    pub fn global(kind: FaultKind) -> Self {
        Self {
            route: None,
            kind,
            remaining: None,
            probability: None,
        }
    }

    /// Only the next `n` matching requests (then the rule is spent).
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    /// Only a fraction `p` (0..=1) of matching requests, drawn from the emulator's seeded
    /// generator (same seed, same sequence).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p.clamp(0.0, 1.0));
        self
    }
}

/// The active fault rules.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: Vec<Fault>,
    rng: SplitMix,
}

impl Faults {
    pub(crate) fn new(rules: Vec<Fault>, seed: u64) -> Self {
        Self {
            rules,
            rng: SplitMix::new(seed),
        }
    }

    pub(crate) fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault to apply to a request on `route`, if any: the first matching live rule whose
    /// probability draw succeeds. Spent `times` rules are removed.
    pub(crate) fn pick(&mut self, route: Route) -> Option<FaultKind> {
        let mut chosen = None;
        for rule in &mut self.rules {
            if rule.route.is_some_and(|r| r != route) || rule.remaining == Some(0) {
                continue;
            }
            if let Some(p) = rule.probability
                && self.rng.next_f64() >= p
            {
                continue;
            }
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            chosen = Some(rule.kind.clone());
            break;
        }
        self.rules.retain(|r| r.remaining != Some(0));
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_limits_a_rule_and_route_filters() {
        let mut faults = Faults::new(
            vec![Fault::new(Route::Status, FaultKind::Status(503)).times(2)],
            0,
        );
        assert_eq!(faults.pick(Route::Stop), None);
        assert_eq!(faults.pick(Route::Status), Some(FaultKind::Status(503)));
        assert_eq!(faults.pick(Route::Status), Some(FaultKind::Status(503)));
        assert_eq!(faults.pick(Route::Status), None);
    }

    #[test]
    fn probability_fires_a_fraction_deterministically() {
        let run = || {
            let mut faults =
                Faults::new(vec![Fault::global(FaultKind::Html502).probability(0.25)], 7);
            (0..1000)
                .filter(|_| faults.pick(Route::Status).is_some())
                .count()
        };
        let hits = run();
        assert!(
            (150..350).contains(&hits),
            "{hits} hits of 1000 at p = 0.25"
        );
        assert_eq!(hits, run());
    }
}
