//! One turn of the client's wheel: collect answers, deliver them, run the lifecycle, send
//! what is queued. The plugin's systems call these each frame; the exit guard calls
//! [`pump`] in a loop.

use bevy::ecs::system::Res;
use bevy::ecs::world::World;

use super::config::EdgegapConfig;
use super::deployment::Tracker;
use super::request::{EdgegapTransport, receive_on};
use super::stats;
use super::track::{drive, track_deployments};
use super::wake;
use crate::time::Instant;

/// [`EdgegapSystems::Receive`](super::super::EdgegapSystems::Receive).
pub(crate) fn receive_responses(world: &mut World) {
    if world.resource::<EdgegapTransport>().0.is_idle() {
        return;
    }
    let freed = receive_on::<EdgegapTransport>(world);
    drive(world);
    // Refill the slots just freed from the queue now rather than in `PostUpdate`; due polls
    // that found no room may find some now.
    if freed {
        world.resource_mut::<Tracker>().polls.room_freed();
        send_requests(world);
    }
}

/// Run condition of [`EdgegapSystems::Receive`](super::super::EdgegapSystems::Receive) and
/// [`EdgegapSystems::Send`](super::super::EdgegapSystems::Send): calls are queued, waiting for
/// a retry, in flight, or resolved and not yet delivered.
pub(crate) fn transport_busy(transport: Res<EdgegapTransport>) -> bool {
    !transport.0.is_idle()
}

/// [`EdgegapSystems::Send`](super::super::EdgegapSystems::Send).
pub(crate) fn send_requests(world: &mut World) {
    let now = Instant::now();
    // The config is borrowed, not cloned: this runs every busy frame. The transport stays in
    // the world (`resource_scope` would take it out, and a command applied meanwhile would
    // find no transport to queue on); only its contents are moved out for the dispatch.
    let mut transport = std::mem::take(&mut world.resource_mut::<EdgegapTransport>().0);
    let config = world.resource::<EdgegapConfig>();
    let max_in_flight = config.max_in_flight;
    // Rebuilds the engine only when these options changed.
    transport.use_engine(
        max_in_flight,
        &config.root_certificates,
        config.max_body_bytes,
    );
    transport.use_wake(wake::hook(world));
    transport.dispatch(&config.rate_limits, max_in_flight, now, |entity| {
        world.get_entity(entity).is_ok()
    });
    let snapshot = stats::EdgegapStats::from_transport(&transport);
    world.resource_mut::<EdgegapTransport>().0 = transport;
    stats::record(world, snapshot);
}

/// Receive, track, send: a whole frame's worth of client work, outside the schedule.
pub(crate) fn pump(world: &mut World) {
    receive_responses(world);
    track_deployments(world);
    send_requests(world);
}
