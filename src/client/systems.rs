//! [`EdgegapSystems`], the client's system sets: shared by the client plugin and the
//! matchmaker plugin, which order their systems by them.

use bevy::ecs::schedule::SystemSet;

/// The client's systems, chained in this order within a frame.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgegapSystems {
    /// Runs in [`PreUpdate`](bevy::app::PreUpdate): collects answers, applies deadlines and retries, delivers
    /// results (messages and events), runs the deployment lifecycle, and refills the
    /// in-flight slots it freed from the queue.
    Receive,
    /// Runs in [`PostUpdate`](bevy::app::PostUpdate): waiting lifecycle answers, ready timeouts, due reconcile
    /// searches and the status polls whose turn it is.
    Track,
    /// Runs in [`PostUpdate`](bevy::app::PostUpdate), after [`EdgegapSystems::Track`]: sends queued calls (those
    /// issued during `Update` go out the same frame) and records statistics.
    Send,
    /// Runs in [`Last`](bevy::app::Last): on `AppExit`, reconciles uncertain deploys and stops the
    /// deployments with [`StopOnExit`](super::StopOnExit).
    Exit,
}
