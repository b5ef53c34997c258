//! [`EdgegapDiagnosticsPlugin`]: the transport's figures as Bevy diagnostics, opt-in.

use bevy::app::{App, Last, Plugin};
use bevy::diagnostic::{Diagnostic, Diagnostics, RegisterDiagnostic};
use bevy::ecs::change_detection::DetectChanges;
use bevy::ecs::system::{Local, Res};

use super::stats::{EdgegapStats, IN_FLIGHT, LATENCY_MS, PATHS, QUEUED, RATE_LIMIT_WAITS, RETRIES};

/// Records [`EdgegapStats`] as Bevy diagnostics (`edgegap/in_flight`, `edgegap/queued`,
/// `edgegap/latency_ms`, `edgegap/retries`, `edgegap/rate_limit_waits`), visible with
/// `LogDiagnosticsPlugin`. Part of [`EdgegapPlugins`](crate::EdgegapPlugins), disabled there
/// by default; add it after [`EdgegapClientPlugin`](super::EdgegapClientPlugin).
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgegapDiagnosticsPlugin;

impl Plugin for EdgegapDiagnosticsPlugin {
    fn build(&self, app: &mut App) {
        for path in PATHS {
            app.register_diagnostic(Diagnostic::new(path.clone()));
        }
        // In `Last`: after the client's `Send` set has refreshed `EdgegapStats`.
        app.add_systems(Last, record_diagnostics);
    }
}

fn record_diagnostics(
    stats: Option<Res<EdgegapStats>>,
    mut resolved: Local<u64>,
    mut diagnostics: Diagnostics,
) {
    let Some(stats) = stats else { return };
    if !stats.is_changed() {
        return;
    }
    diagnostics.add_measurement(&IN_FLIGHT, || stats.in_flight as f64);
    diagnostics.add_measurement(&QUEUED, || stats.queued as f64);
    if stats.resolved != *resolved
        && let Some(latency) = stats.last_latency
    {
        diagnostics.add_measurement(&LATENCY_MS, || latency.as_secs_f64() * 1000.0);
    }
    *resolved = stats.resolved;
    diagnostics.add_measurement(&RETRIES, || stats.retries as f64);
    diagnostics.add_measurement(&RATE_LIMIT_WAITS, || stats.rate_limit_waits as f64);
}
