//! `GET /monitor` and `GET /locations/beacons`: one beacon per emulator location, each
//! answering UDP and TCP pings on loopback at the ports it lists.

mod support;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use support::{duel_config, matchmaker_emulator, mm};

#[test]
fn monitor_reports_healthy() {
    let emu = matchmaker_emulator(&duel_config());
    let monitor = mm(&emu, "GET", "/monitor", None);
    assert_eq!(monitor.status, 200);
    assert_eq!(
        monitor.json["status"].as_str().map(str::to_lowercase),
        Some("healthy".into())
    );
    assert_eq!(monitor.json["unhealthy_components"], 0);
    assert!(
        monitor.json["healthy_components"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    assert!(monitor.json["message"].is_string());
}

#[test]
fn beacons_answer_pings() {
    let emu = matchmaker_emulator(&duel_config());
    let answer = mm(&emu, "GET", "/locations/beacons", None);
    assert_eq!(answer.status, 200);
    let beacons = answer.json["beacons"].as_array().expect("beacons");
    assert_eq!(answer.json["count"], beacons.len());
    assert_eq!(beacons.len(), 4, "one per default location");
    let cities: Vec<&str> = beacons
        .iter()
        .filter_map(|b| b["location"]["city"].as_str())
        .collect();
    assert!(cities.contains(&"Chicago"), "{cities:?}");
    for beacon in beacons {
        assert_eq!(beacon["public_ip"], "127.0.0.1");
        assert!(beacon["fqdn"].is_string());
        for key in [
            "country",
            "continent",
            "administrative_division",
            "timezone",
        ] {
            assert!(beacon["location"][key].is_string(), "{key}: {beacon}");
        }
        let udp_port = beacon["udp_port"].as_u64().expect("udp port") as u16;
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        socket
            .send_to(b"ping-42", ("127.0.0.1", udp_port))
            .expect("send");
        let mut buf = [0u8; 16];
        let (n, _) = socket.recv_from(&mut buf).expect("a UDP echo");
        assert_eq!(&buf[..n], b"ping-42");
        let tcp_port = beacon["tcp_port"].as_u64().expect("tcp port") as u16;
        let mut stream = TcpStream::connect(("127.0.0.1", tcp_port)).expect("TCP connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream.write_all(b"ping").expect("write");
        let mut echo = [0u8; 4];
        stream.read_exact(&mut echo).expect("a TCP echo");
        assert_eq!(&echo, b"ping");
    }
}
