//! TLS: a local HTTPS server (rustls) with a self-signed certificate made in the test, trusted
//! through `EdgegapConfig::with_root_certificate`. Calls succeed over one kept-alive
//! connection; without the root the handshake fails and nothing was sent.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bevy_edgegap::api::{EdgegapError, GetStatus, Status};
use bevy_edgegap::prelude::*;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use support::raw::assert_transport_error;
use support::{app, ask};

const STATUS: &str = r#"{"request_id":"a69f8e3e0555","current_status":"Status.READY"}"#;

/// An HTTPS server on `127.0.0.1` for `localhost`, answering every request with [`STATUS`]
/// and keeping the connection alive. Returns its port, its certificate (PEM), and the counts
/// of connections accepted and requests answered.
fn https_server() -> (u16, String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let (acc, ans) = (accepted.clone(), answered.clone());
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            acc.fetch_add(1, Ordering::SeqCst);
            let (config, ans) = (config.clone(), ans.clone());
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut stream = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                // One request after another on this connection, until the client closes it.
                loop {
                    let mut length = 0usize;
                    let mut first = true;
                    loop {
                        let mut line = String::new();
                        match stream.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" && !first {
                            break;
                        }
                        first = false;
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).is_err() {
                        return;
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\n\r\n{STATUS}",
                        STATUS.len()
                    );
                    let out = stream.get_mut();
                    if out
                        .write_all(answer.as_bytes())
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        return;
                    }
                    ans.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (port, pem, accepted, answered)
}

#[test]
fn calls_over_https_succeed_with_an_added_root_and_reuse_one_connection() {
    let (port, pem, accepted, answered) = https_server();
    let config = EdgegapConfig::new(format!("https://localhost:{port}"), "token")
        .with_rate_limits(RateLimits::none())
        .with_root_certificate(pem);
    let mut app = app(config);
    for _ in 0..5 {
        let status = ask::<GetStatus>(&mut app, |eg| eg.status("a69f8e3e0555")).unwrap();
        assert_eq!(status.current_status, Status::Ready);
    }
    assert_eq!(answered.load(Ordering::SeqCst), 5);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "five sequential calls share one TLS connection"
    );
}

#[test]
fn without_the_root_the_handshake_fails_and_nothing_was_sent() {
    let (port, _pem, _accepted, answered) = https_server();
    let config = EdgegapConfig::new(format!("https://localhost:{port}"), "token")
        .with_rate_limits(RateLimits::none())
        .with_retry(RetryPolicy::never());
    let mut app = app(config);
    let result = ask::<GetStatus>(&mut app, |eg| eg.status("a69f8e3e0555"));
    assert_transport_error(&result, false);
    assert_eq!(answered.load(Ordering::SeqCst), 0);
}

#[test]
fn a_root_that_is_not_pem_is_a_config_error() {
    let config = EdgegapConfig::new("https://localhost:9", "token")
        .with_rate_limits(RateLimits::none())
        .with_root_certificate("not a certificate");
    let mut app = app(config);
    let result = ask::<GetStatus>(&mut app, |eg| eg.status("a69f8e3e0555"));
    assert!(matches!(result, Err(EdgegapError::Config(_))), "{result:?}");
}
