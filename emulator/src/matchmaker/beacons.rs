//! Ping beacons on loopback, one per emulator location: a UDP socket that echoes each datagram
//! and a TCP port that accepts (and echoes what it reads), so a client can measure a round trip
//! to the ports `GET /locations/beacons` lists.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, watch};

use crate::config::Location;
use crate::state::views::{PUBLIC_IP, location_json};

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Most TCP pings answered at once (the rest wait).
const MAX_TCP_PINGS: usize = 64;

/// One beacon: a location and its two ports on 127.0.0.1.
#[derive(Debug)]
pub(crate) struct Beacon {
    pub location: Location,
    pub udp: std::net::UdpSocket,
    pub tcp: std::net::TcpListener,
}

impl Beacon {
    /// Binds a beacon's sockets on free loopback ports.
    pub(crate) fn bind(location: Location) -> std::io::Result<Self> {
        let udp = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let tcp = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        udp.set_nonblocking(true)?;
        tcp.set_nonblocking(true)?;
        Ok(Self { location, udp, tcp })
    }

    fn port(address: std::io::Result<SocketAddr>) -> u16 {
        address.map_or(0, |a| a.port())
    }

    /// An item of `GET /locations/beacons`.
    pub(crate) fn json(&self) -> Value {
        let slug: String = self
            .location
            .city
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        json!({
            "fqdn": format!("beacon-{slug}.pr.edgegap.net"),
            "public_ip": PUBLIC_IP,
            "tcp_port": Self::port(self.tcp.local_addr()),
            "udp_port": Self::port(self.udp.local_addr()),
            "location": location_json(&self.location),
        })
    }

    /// Answers pings until `shutdown` turns true (spawned on the emulator's runtime).
    pub(crate) fn serve(&self, shutdown: &watch::Receiver<bool>) -> std::io::Result<()> {
        let udp = tokio::net::UdpSocket::from_std(self.udp.try_clone()?)?;
        let tcp = tokio::net::TcpListener::from_std(self.tcp.try_clone()?)?;
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                tokio::select! {
                    received = udp.recv_from(&mut buf) => {
                        if let Ok((n, from)) = received {
                            let _ = udp.send_to(&buf[..n], from).await;
                        }
                    }
                    () = stopped(&mut stop) => return,
                }
            }
        });
        let mut stop = shutdown.clone();
        let permits = Arc::new(Semaphore::new(MAX_TCP_PINGS));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = tcp.accept() => {
                        let Ok((mut stream, _)) = accepted else { continue };
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
                        tokio::spawn(async move {
                            let mut buf = [0u8; 64];
                            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
                                let _ = stream.write_all(&buf[..n]).await;
                            }
                            drop(permit);
                        });
                    }
                    () = stopped(&mut stop) => return,
                }
            }
        });
        Ok(())
    }
}
