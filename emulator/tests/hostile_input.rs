//! A property test that throws arbitrary methods, paths, query strings, headers and bodies at
//! every route: the emulator always answers (never drops a connection) and never answers a 5xx
//! (no fault is injected here).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, PrivateHost};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use support::{deploy, deploy_body, wait_status};

/// One request, as bytes on the wire.
#[derive(Debug, Clone)]
struct Hostile {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, Vec<u8>)>,
    authorized: bool,
    body: Option<Vec<u8>>,
}

/// Percent-encodes every byte outside RFC 3986's unreserved set.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every route: its method and path template (`{}` is replaced by a segment).
const ROUTES: [(&str, &str); 20] = [
    ("POST", "/v2/deployments"),
    ("POST", "/v1/deploy"),
    ("GET", "/v1/status/{}"),
    ("DELETE", "/v1/stop/{}"),
    ("DELETE", "/v1/self/stop/{}/{}"),
    ("POST", "/v1/deployments/bulk-stop"),
    ("GET", "/v1/deployments"),
    ("GET", "/v1/locations"),
    ("GET", "/v1/deployment/{}/container-logs"),
    ("GET", "/v1/metrics/deployment/{}"),
    ("POST", "/v2/private-fleets/deployments"),
    ("POST", "/v2/private-fleets:deploy"),
    ("GET", "/v2/private-fleets/{}/hosts"),
    ("GET", "/v1/deployments/{}/tags"),
    ("POST", "/v1/deployments/{}/tags"),
    ("GET", "/v1/deployments/{}/tags/{}"),
    ("PATCH", "/v1/deployments/{}/tags/{}"),
    ("DELETE", "/v1/deployments/{}/tags/{}"),
    ("GET", "/v1/context/{}/{}"),
    ("DELETE", "/v1/context/{}/{}/tags/{}"),
];

const QUERY_KEYS: [&str; 12] = [
    "page",
    "limit",
    "query",
    "steps",
    "start_time",
    "end_time",
    "raw",
    "app",
    "version",
    "type",
    "tags",
    "format",
];

const FIELDS: [&str; 16] = [
    "application",
    "version",
    "users",
    "user_type",
    "user_data",
    "ip_address",
    "tags",
    "environment_variables",
    "webhook_on_ready",
    "url",
    "private_host_ids",
    "filters",
    "name",
    "app_name",
    "resources",
    "cpu_units",
];

/// Numbers and strings that break naive parsers (half of them numbers at the edges).
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "18446744073709551615",
            "9223372036854775807",
            "99999999999999999999999",
            "0",
            "-1",
            "1",
            "300000000000000d",
            "200000000000000d",
        ])
        .prop_map(str::to_owned),
        1 => prop::sample::select(vec![
            "9999-12-31 23:59:59.999999",
            "2026-01-01 00:00:00.0",
            "99999999999999-01-01 00:00:00",
            "{\"filters\":[{\"field\":\"status\",\"operator\":\"eq\",\"value\":\"ready\"}]}",
            "{\"filters\":[{\"field\":\"created_at\",\"operator\":\"gt\",\"value\":\"99999999999999-01-01 00:00:00\"}]}",
            "{\"filters\":[{\"field\":\"tags\",\"operator\":\"in\",\"value\":[1e999]}]}",
        ])
        .prop_map(str::to_owned),
        2 => "[0-9]{1,25}[smhd]?",
        1 => any::<String>(),
    ]
}

/// JSON values, biased towards the fields the handlers read.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        nasty_text().prop_map(Value::from),
        Just(json!("ip_address")),
        Just(json!("game")),
        Just(json!("v1")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS.to_vec()), inner), 0..6).prop_map(
                |pairs| {
                    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }
            ),
        ]
    })
}

fn segment(ids: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(ids),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| encode(&b)),
        nasty_text().prop_map(|t| encode(t.as_bytes())),
        (1usize..70_000).prop_map(|n| "a".repeat(n)),
    ]
}

/// `template` with each `{}` replaced by an arbitrary segment.
fn path(template: &'static str, ids: Vec<String>) -> impl Strategy<Value = String> {
    prop::collection::vec(segment(ids), 3).prop_map(move |segments| {
        let mut path = template.to_owned();
        for s in segments {
            path = path.replacen("{}", &s, 1);
        }
        path
    })
}

/// Requests aimed at one route: mostly its own method (so its handler runs), sometimes another;
/// or, without a route, any method on a random path.
fn hostile(
    route: Option<(&'static str, &'static str)>,
    ids: Vec<String>,
) -> impl Strategy<Value = Hostile> {
    let other_method = prop_oneof![
        prop::sample::select(vec![
            "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"
        ])
        .prop_map(str::to_owned),
        "[A-Z]{1,12}",
    ];
    let method_and_path = match route {
        Some((method, template)) => (
            prop_oneof![4 => Just(method.to_owned()), 1 => other_method],
            path(template, ids),
        )
            .boxed(),
        None => (
            other_method,
            prop::collection::vec(any::<u8>(), 0..80)
                .prop_map(|b| format!("/{}", encode(&b).replace("%2F", "/"))),
        )
            .boxed(),
    };
    let key = prop_oneof![
        3 => Just("page".to_owned()),
        2 => Just("limit".to_owned()),
        2 => Just("steps".to_owned()),
        6 => prop::sample::select(QUERY_KEYS.to_vec()).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    let query = prop::collection::vec((key, nasty_text()), 0..6);
    let headers = prop::collection::vec(
        (
            "[A-Za-z][A-Za-z0-9-]{0,20}",
            prop::collection::vec(
                prop_oneof![0x20u8..0x7f, Just(b'\t'), 0x80u8..=0xff],
                0..200,
            ),
        ),
        0..4,
    );
    let body = prop_oneof![
        1 => Just(None),
        2 => json_value().prop_map(|v| Some(v.to_string().into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..2000).prop_map(Some),
    ];
    (
        method_and_path,
        query,
        headers,
        prop::bool::weighted(0.8),
        body,
    )
        .prop_map(
            |((method, path), query, headers, authorized, body)| Hostile {
                method,
                path,
                query,
                headers,
                authorized,
                body,
            },
        )
}

/// Sends `request` on a fresh connection; the status answered, or why there was none.
fn exchange(address: &str, request: &Hostile) -> Result<u16, String> {
    let mut target = request.path.clone();
    if !request.query.is_empty() {
        let pairs: Vec<String> = request
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes())))
            .collect();
        target = format!("{target}?{}", pairs.join("&"));
    }
    let mut wire = format!(
        "{} {target} HTTP/1.1\r\nHost: {address}\r\n",
        request.method
    )
    .into_bytes();
    if request.authorized {
        wire.extend_from_slice(b"Authorization: token t\r\n");
    }
    for (name, value) in &request.headers {
        wire.extend_from_slice(format!("X-{name}: ").as_bytes());
        wire.extend_from_slice(value);
        wire.extend_from_slice(b"\r\n");
    }
    if let Some(body) = &request.body {
        wire.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    wire.extend_from_slice(b"Connection: close\r\n\r\n");
    if let Some(body) = &request.body {
        wire.extend_from_slice(body);
    }
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(|e| e.to_string())?;
    stream.write_all(&wire).map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    // The emulator may close after answering before reading the whole body: a reset after the
    // status line still counts as an answer.
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok());
    status.ok_or_else(|| format!("no answer: {text:?}"))
}

fn emulator() -> (EmulatorHandle, Vec<String>) {
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(AppVersion::simulated("game", "broken").fail_with("boom"))
        .private_host("fleet", PrivateHost::new("host-a"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    let mut ids = vec!["fleet".to_owned(), "host-a".to_owned()];
    for version in ["v1", "v1", "broken"] {
        let mut body = deploy_body("game", version);
        body["tags"] = json!(["red", "blue"]);
        let id = deploy(&emu, &body);
        wait_status(
            &emu,
            &id,
            if version == "v1" {
                "Status.READY"
            } else {
                "Status.ERROR"
            },
        );
        let info = emu.deployment(&id).expect("known");
        for key in ["ARBITRIUM_DELETE_URL", "ARBITRIUM_CONTEXT_URL"] {
            if let Some(last) = info.env[key].rsplit('/').next() {
                ids.push(last.to_owned());
            }
        }
        ids.extend(["red".to_owned(), id]);
    }
    (emu, ids)
}

#[test]
fn every_request_is_answered_and_never_with_a_5xx() {
    let (emu, ids) = emulator();
    let address = emu.base_url().trim_start_matches("http://").to_owned();
    // Each route gets its own run, so every handler sees many cases.
    let routes = ROUTES.iter().copied().map(Some).chain([None]);
    for route in routes {
        let mut runner = TestRunner::new(Config {
            cases: 60,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&hostile(route, ids.clone()), |request| {
            let status = exchange(&address, &request).map_err(TestCaseError::fail)?;
            prop_assert!(
                (100..500).contains(&status),
                "{} {} answered {status}",
                request.method,
                request.path.chars().take(200).collect::<String>()
            );
            Ok(())
        });
        if let Err(error) = result {
            panic!("{route:?}: {error}");
        }
    }
    let answered = emu.requests().iter().filter(|r| r.status != 0).count();
    assert!(answered > 0, "the emulator logged the answers");
    assert!(
        emu.requests().iter().all(|r| r.status < 500),
        "no 5xx in the log"
    );
}
