//! [`Services`]: what the scenarios talk to, started on loopback (natively).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use edgegap_emulator::{AppVersion, DeploymentInfo, Emulator, EmulatorHandle, Route};
use edgegap_gateway::{Gateway, GatewayBuilder, GatewayHandle, dev_token};
use serde_json::{Value, json};

use crate::server::{self, Server};
use crate::{DUEL_PROFILE, LOBBY_PROFILE, Setup};

/// The application version the gateways allow (the emulator's simulated server).
pub const APP: &str = "my-game";
/// Its version.
pub const VERSION: &str = "1.0.0";
/// The player-token secret of the gateways (the "auth backend" is the harness).
const SECRET: &[u8] = b"edgegap-web-tests player-token secret";
/// The only origin the closed gateway allows (nothing is served there).
const ELSEWHERE: &str = "https://elsewhere.example";
/// How long each lifecycle step takes on the emulator: slow enough that a page shows each
/// status, quick enough for tests.
const STEP: Duration = Duration::from_millis(250);

/// An emulator with a matchmaker, a gateway allowing the given page origins, a closed gateway
/// in front of a second emulator (whose matchmaker allows none of them), and the fault server.
/// Stopped when dropped.
pub struct Services {
    /// What the scenarios see.
    pub setup: Setup,
    emulator: EmulatorHandle,
    _gateway: GatewayHandle,
    _closed: Arc<EmulatorHandle>,
    _closed_gateway: GatewayHandle,
    _faults: Server,
}

impl Services {
    /// Starts everything; the open gateway's CORS and the open matchmaker's
    /// `allowed_cors_origins` allow `page_origins` (`http://127.0.0.1:<port>`); the closed
    /// matchmaker lists only near misses of them ([`near_misses`]).
    ///
    /// # Panics
    /// When a service does not start.
    pub fn start(page_origins: &[String]) -> Self {
        let upstream = start_emulator(page_origins);
        let open = page_origins
            .iter()
            .fold(gateway(&upstream), |gateway, origin| {
                gateway.cors_origin(origin)
            })
            .start()
            .expect("the gateway starts");
        let misses: Vec<String> = page_origins.iter().flat_map(|o| near_misses(o)).collect();
        let closed = Arc::new(start_emulator(&misses));
        let closed_gateway = gateway(&closed)
            .cors_origin(ELSEWHERE)
            .start()
            .expect("the closed gateway starts");
        let behind_closed = closed.clone();
        let faults = server::faults(move |name| {
            (name == "closed-upstream")
                .then(|| json!({"deploys": behind_closed.request_count(Route::DeployV2)}))
        });
        let tokens: BTreeMap<String, String> = Setup::PLAYERS
            .iter()
            .map(|player| {
                let token = dev_token(SECRET, player, Duration::from_secs(3600))
                    .expect("a development token");
                (player.to_string(), token)
            })
            .collect();
        let setup = Setup {
            gateway: open.base_url(),
            closed_gateway: closed_gateway.base_url(),
            emulator: upstream.base_url(),
            emulator_token: upstream.token(),
            matchmaker: upstream.matchmaker_url(),
            matchmaker_token: upstream.matchmaker_token(),
            closed_matchmaker: closed.matchmaker_url(),
            closed_matchmaker_token: closed.matchmaker_token(),
            faults: faults.url(),
            app: APP.into(),
            version: VERSION.into(),
            tokens,
        };
        Self {
            setup,
            emulator: upstream,
            _gateway: open,
            _closed: closed,
            _closed_gateway: closed_gateway,
            _faults: faults,
        }
    }

    /// The deployments the open emulator's matchmaker made (those with `MM_MATCH_ID`) for
    /// `profile`.
    pub fn matches(&self, profile: &str) -> Vec<DeploymentInfo> {
        self.emulator
            .deployments()
            .into_iter()
            .filter(|d| {
                d.env.contains_key("MM_MATCH_ID")
                    && d.env.get("MM_MATCH_PROFILE").map(String::as_str) == Some(profile)
            })
            .collect()
    }
}

/// Origins that look like `origin` (`http://127.0.0.1:<port>`) and must match nothing, as
/// Edgegap documents `allowed_cors_origins`: the host alone (like `localhost` alone), another
/// name for the same host, another scheme, no port, a trailing slash.
pub fn near_misses(origin: &str) -> Vec<String> {
    let (host, port) = origin
        .trim_start_matches("http://")
        .rsplit_once(':')
        .unwrap_or((origin, ""));
    vec![
        host.to_owned(),
        "localhost".to_owned(),
        format!("http://localhost:{port}"),
        format!("https://{host}:{port}"),
        format!("http://{host}"),
        format!("{origin}/"),
    ]
}

/// An emulator whose matchmaker's `allowed_cors_origins` is `origins`: two duel profiles (two
/// teams of one, on the simulated app version), one for the scenarios and one for the lobby's
/// tabs, so that neither's players match the other's.
fn start_emulator(origins: &[String]) -> EmulatorHandle {
    let duel = json!({
        "ticket_expiration_period": "5m",
        "ticket_removal_period": "1m",
        "group_inactivity_removal_period": "5m",
        "application": { "name": APP, "version": VERSION },
        "rules": { "initial": { "match_size": { "type": "player_count",
            "attributes": { "team_count": 2, "min_team_size": 1, "max_team_size": 1 } } } },
    });
    let config = json!({
        "version": "3.3.2",
        "allowed_cors_origins": origins,
        "profiles": { DUEL_PROFILE: duel, LOBBY_PROFILE: duel },
    });
    Emulator::builder()
        .app_version(AppVersion::simulated(APP, VERSION).port("gameport", 7777, "WS"))
        .without_rate_limits()
        .lifecycle_step(STEP)
        .matchmaker(Value::to_string(&config))
        .start()
        .expect("the emulator starts")
}

fn gateway(upstream: &EmulatorHandle) -> GatewayBuilder {
    Gateway::builder()
        .upstream(upstream.base_url(), upstream.token())
        .allow(APP, VERSION)
        .hs256_secret(SECRET)
        .status_interval(Duration::from_millis(100))
}
