//! The beacon helper: measures the round trip to each of the matchmaker's ping beacons off
//! the main thread, for the `latencies` rule's attribute (`attributes.beacons`). Native only:
//! a browser can open no UDP or raw TCP socket (and Edgegap says a browser profile must not
//! have a `latencies` rule).

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use bevy::ecs::component::Component;
use bevy::ecs::entity::Entity;
use bevy::ecs::event::EntityEvent;
use bevy::ecs::message::Message;
use bevy::ecs::world::World;

use crate::api::{Beacon, BeaconList, EdgegapError};

/// Round trips to the matchmaker's beacons, by city, in milliseconds: the `latencies` rule's
/// attribute. Failed pings are left out and no value is below 1 ms (the matchmaker reads `0`
/// as a failed ping). Both a [`Message`] and an [`EntityEvent`] on the entity
/// [`Matchmaker::measure_beacons`](super::Matchmaker::measure_beacons) returned.
#[derive(Message, EntityEvent, Debug, Clone, PartialEq)]
pub struct BeaconsMeasured {
    /// The measuring call's entity.
    pub entity: Entity,
    /// Milliseconds by beacon city; empty when the list could not be read or no beacon
    /// answered.
    pub latencies: BTreeMap<String, f64>,
    /// Why the beacon list could not be read, if it could not.
    pub error: Option<EdgegapError>,
}

impl BeaconsMeasured {
    /// Sets `attributes["beacons"]` (an object) to the measured latencies; an attributes
    /// value that is not an object is left alone.
    pub fn fill(&self, attributes: &mut serde_json::Value) {
        if let Some(object) = attributes.as_object_mut() {
            object.insert("beacons".to_owned(), serde_json::json!(self.latencies));
        }
    }
}

/// Pings every beacon of `list` (at once, one thread each), each within `timeout`: a UDP
/// datagram to its `udp_port` answered by an echo, else a TCP connection to its `tcp_port`.
/// Blocks the calling thread for at most about `timeout`; call it off the main thread.
pub fn ping_beacons(list: &BeaconList, timeout: Duration) -> BTreeMap<String, f64> {
    let pings: Vec<_> = list
        .beacons
        .iter()
        .filter_map(|beacon| Some((beacon.city()?.to_owned(), beacon.clone())))
        .map(|(city, beacon)| (city, std::thread::spawn(move || ping(&beacon, timeout))))
        .collect();
    pings
        .into_iter()
        .filter_map(|(city, ping)| Some((city, ping.join().ok()??)))
        .map(|(city, rtt)| (city, round_trip_ms(rtt)))
        .collect()
}

/// Milliseconds, rounded to a tenth, never below 1 (`0` means a failed ping).
fn round_trip_ms(rtt: Duration) -> f64 {
    ((rtt.as_secs_f64() * 10_000.0).round() / 10.0).max(1.0)
}

fn ping(beacon: &Beacon, timeout: Duration) -> Option<Duration> {
    let host = beacon.host()?;
    let address = |port: u16| -> Option<SocketAddr> { (host, port).to_socket_addrs().ok()?.next() };
    if let Some(rtt) = beacon
        .udp_port
        .and_then(address)
        .and_then(|to| udp_ping(to, timeout))
    {
        return Some(rtt);
    }
    beacon
        .tcp_port
        .and_then(address)
        .and_then(|to| tcp_ping(to, timeout))
}

fn udp_ping(to: SocketAddr, timeout: Duration) -> Option<Duration> {
    let local: SocketAddr = if to.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).ok()?;
    socket.connect(to).ok()?;
    socket.set_read_timeout(Some(timeout)).ok()?;
    let start = Instant::now();
    socket.send(b"edgegap-ping").ok()?;
    let mut buf = [0u8; 64];
    loop {
        match socket.recv(&mut buf) {
            Ok(_) => return Some(start.elapsed()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

fn tcp_ping(to: SocketAddr, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut stream = TcpStream::connect_timeout(&to, timeout).ok()?;
    let connected = start.elapsed();
    // An echoing beacon answers a few bytes; one that only accepts counts the handshake.
    let _ = stream.set_read_timeout(Some(timeout));
    let start = Instant::now();
    if stream.write_all(b"ping").is_ok() {
        let mut buf = [0u8; 4];
        if stream.read_exact(&mut buf).is_ok() {
            return Some(start.elapsed());
        }
    }
    Some(connected)
}

/// On a measuring call's entity: the pings running on their threads.
#[derive(Component)]
pub(crate) struct Measuring(pub(crate) crossbeam_channel::Receiver<BTreeMap<String, f64>>);

/// Starts the pings of `list` on a thread; the result is collected by [`collect_measures`].
pub(crate) fn start_measure(
    world: &mut World,
    entity: Entity,
    list: BeaconList,
    timeout: Duration,
) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let spawned = std::thread::Builder::new()
        .name("edgegap-beacon-pings".into())
        .spawn(move || {
            let _ = tx.send(ping_beacons(&list, timeout));
        });
    match spawned {
        Ok(_) => {
            if let Ok(mut e) = world.get_entity_mut(entity) {
                e.insert(Measuring(rx));
            }
        }
        Err(e) => finish(
            world,
            entity,
            BTreeMap::new(),
            Some(EdgegapError::transport(
                false,
                format!("no ping thread: {e}"),
            )),
        ),
    }
}

/// Delivers the finished measures (every frame while any runs).
pub(crate) fn collect_measures(world: &mut World) {
    let mut query = world.query::<(Entity, &Measuring)>();
    let done: Vec<(Entity, BTreeMap<String, f64>)> = query
        .iter(world)
        .filter_map(|(entity, measuring)| match measuring.0.try_recv() {
            Ok(latencies) => Some((entity, latencies)),
            Err(crossbeam_channel::TryRecvError::Empty) => None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => Some((entity, BTreeMap::new())),
        })
        .collect();
    for (entity, latencies) in done {
        world.entity_mut(entity).remove::<Measuring>();
        finish(world, entity, latencies, None);
    }
}

/// Emits the result and despawns the call entity.
pub(crate) fn finish(
    world: &mut World,
    entity: Entity,
    latencies: BTreeMap<String, f64>,
    error: Option<EdgegapError>,
) {
    crate::client::request::emit(
        world,
        BeaconsMeasured {
            entity,
            latencies,
            error,
        },
    );
    if let Ok(e) = world.get_entity_mut(entity) {
        e.despawn();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_is_never_zero() {
        assert_eq!(round_trip_ms(Duration::ZERO), 1.0);
        assert_eq!(round_trip_ms(Duration::from_micros(12_340)), 12.3);
        assert_eq!(round_trip_ms(Duration::from_micros(233_250)), 233.3);
    }

    #[test]
    fn a_beacon_that_does_not_answer_is_left_out() {
        // A UDP port nobody listens on and a closed TCP port: no value at all.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let list: BeaconList = serde_json::from_value(serde_json::json!({ "beacons": [
            { "public_ip": "127.0.0.1", "udp_port": port, "tcp_port": port,
              "location": { "city": "Nowhere" } },
            { "public_ip": "127.0.0.1", "location": { "city": "NoPorts" } },
            { "public_ip": "127.0.0.1", "udp_port": port },
        ]}))
        .unwrap();
        assert!(ping_beacons(&list, Duration::from_millis(200)).is_empty());
    }
}
