//! What a failed exchange reports: whether the request may have been sent is decided by the
//! kind of failure (never by words in the URL), no header value ever shows in an error, and an
//! endless body is an error rather than out-of-memory.

mod support;

use std::time::Duration;

use bevy_edgegap::api::{DeployRequest, GetStatus};
use bevy_edgegap::prelude::*;
use support::raw::{Behaviour, RawServer, assert_transport_error};
use support::{app, ask};

fn config(base_url: String, token: &str) -> EdgegapConfig {
    EdgegapConfig::new(base_url, token)
        .with_deadline(Duration::from_secs(10))
        .with_rate_limits(RateLimits::none())
        .with_ready_timeout(None)
}

#[test]
fn a_deploy_dropped_after_sending_is_not_sent_again_whatever_the_url_says() {
    let server = RawServer::start(Behaviour::DropAfterRequest);
    // "dns" and "resolve" in the URL, which error messages quote: they must not matter.
    let base = format!("{}/dns-resolve", server.base_url());
    let mut app = app(config(base, "token"));
    let result = ask::<DeployRequest>(&mut app, |eg| {
        eg.deploy(DeployRequest::new("game", "v1").user_ip("1.2.3.4"))
    });
    assert_transport_error(&result, true);
    assert_eq!(server.count("POST"), 1, "the deploy was sent exactly once");
}

#[test]
fn a_refused_connection_is_certainly_unsent() {
    // Bind then drop a listener: its port is closed on loopback.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut app =
        app(config(format!("http://127.0.0.1:{port}"), "token").with_retry(RetryPolicy::never()));
    let result = ask::<GetStatus>(&mut app, |eg| eg.status("a69f8e3e0555"));
    assert_transport_error(&result, false);
}

#[test]
fn no_header_value_ever_appears_in_an_error() {
    let server = RawServer::start(Behaviour::Hang);
    // A token that is not a valid header value (it would smuggle a second header).
    let token = "sup3r-s3cret\r\nX-Injected: sup3r-s3cret";
    let mut app = app(config(server.base_url(), token).with_retry(RetryPolicy::never()));
    let error = ask::<GetStatus>(&mut app, |eg| eg.status("a69f8e3e0555")).unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("sup3r"), "the token leaked: {shown}");
    assert!(!error.may_have_been_sent(), "{shown}");
    assert_eq!(server.count("GET"), 0, "nothing reached the server");
}

#[test]
fn an_endless_body_is_an_error_not_out_of_memory() {
    let server = RawServer::start(Behaviour::EndlessBody);
    let mut app = app(config(server.base_url(), "token")
        .with_max_body_bytes(256 * 1024)
        .with_retry(RetryPolicy::never()));
    let result = ask::<GetStatus>(&mut app, |eg| eg.status("a69f8e3e0555"));
    assert_transport_error(&result, true);
}
