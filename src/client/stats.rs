//! [`EdgegapStats`] and the matching Bevy diagnostics.

use std::time::Duration;

use bevy::diagnostic::DiagnosticPath;
use bevy::ecs::resource::Resource;
use bevy::ecs::world::World;

use super::request::ClientTransport;

/// `edgegap/in_flight`: requests handed to the engine (on the wire, or next in line for a
/// worker).
pub const IN_FLIGHT: DiagnosticPath = DiagnosticPath::const_new("edgegap/in_flight");
/// `edgegap/queued`: calls waiting (in-flight cap, rate budget, retry backoff).
pub const QUEUED: DiagnosticPath = DiagnosticPath::const_new("edgegap/queued");
/// `edgegap/latency_ms`: time from send to answer of the last finished request.
pub const LATENCY_MS: DiagnosticPath = DiagnosticPath::const_new("edgegap/latency_ms");
/// `edgegap/retries`: retries so far.
pub const RETRIES: DiagnosticPath = DiagnosticPath::const_new("edgegap/retries");
/// `edgegap/rate_limit_waits`: calls that had to wait for a client-side rate budget so far.
pub const RATE_LIMIT_WAITS: DiagnosticPath = DiagnosticPath::const_new("edgegap/rate_limit_waits");

pub(crate) const PATHS: [&DiagnosticPath; 5] = [
    &IN_FLIGHT,
    &QUEUED,
    &LATENCY_MS,
    &RETRIES,
    &RATE_LIMIT_WAITS,
];

/// The client transport's counters, updated every frame in
/// [`EdgegapSystems::Send`](super::EdgegapSystems::Send). With
/// [`EdgegapDiagnosticsPlugin`](super::EdgegapDiagnosticsPlugin) the same figures are
/// recorded as Bevy diagnostics under `edgegap/…` when they change.
#[derive(Resource, Debug, Clone, Default, PartialEq)]
pub struct EdgegapStats {
    /// Requests handed to the engine now: on the wire, or next in line for a worker (at
    /// most sixteen times `max_in_flight`).
    pub in_flight: usize,
    /// Calls waiting now (in-flight cap, rate budget, retry backoff).
    pub queued: usize,
    /// Requests sent so far (each attempt counts).
    pub sent: u64,
    /// Calls resolved so far (polls included; cancelled ones not).
    pub resolved: u64,
    /// Retries so far.
    pub retries: u64,
    /// Calls that had to wait for a client-side rate budget so far.
    pub rate_limit_waits: u64,
    /// Calls that ran past their deadline so far.
    pub timeouts: u64,
    /// Calls cancelled (entity despawned) so far.
    pub cancelled: u64,
    /// Send-to-answer time of the last finished request.
    pub last_latency: Option<Duration>,
}

impl EdgegapStats {
    pub(crate) fn from_transport(transport: &ClientTransport) -> Self {
        let c = &transport.counters;
        Self {
            in_flight: transport.in_flight(),
            queued: transport.queued(),
            sent: c.sent,
            resolved: c.resolved,
            retries: c.retries,
            rate_limit_waits: c.rate_limit_waits,
            timeouts: c.timeouts,
            cancelled: c.cancelled,
            last_latency: c.last_latency,
        }
    }
}

/// Stores `now` in the resource, if anything changed.
pub(crate) fn record(world: &mut World, now: EdgegapStats) {
    if let Some(mut stats) = world.get_resource_mut::<EdgegapStats>()
        && *stats != now
    {
        *stats = now;
    }
}
