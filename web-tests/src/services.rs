//! [`Services`]: what the scenarios talk to, started on loopback (natively).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Route};
use edgegap_gateway::{Gateway, GatewayBuilder, GatewayHandle, dev_token};
use serde_json::json;

use crate::Setup;
use crate::server::{self, Server};

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

/// An emulator, a gateway allowing the given page origins, a closed gateway in front of a
/// second emulator, and the fault server. Stopped when dropped.
pub struct Services {
    /// What the scenarios see.
    pub setup: Setup,
    _emulator: EmulatorHandle,
    _gateway: GatewayHandle,
    _closed: Arc<EmulatorHandle>,
    _closed_gateway: GatewayHandle,
    _faults: Server,
}

impl Services {
    /// Starts everything; the open gateway's CORS allows `page_origins`.
    ///
    /// # Panics
    /// When a service does not start.
    pub fn start(page_origins: &[String]) -> Self {
        let upstream = start_emulator();
        let open = page_origins
            .iter()
            .fold(gateway(&upstream), |gateway, origin| {
                gateway.cors_origin(origin)
            })
            .start()
            .expect("the gateway starts");
        let closed = Arc::new(start_emulator());
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
            faults: faults.url(),
            app: APP.into(),
            version: VERSION.into(),
            tokens,
        };
        Self {
            setup,
            _emulator: upstream,
            _gateway: open,
            _closed: closed,
            _closed_gateway: closed_gateway,
            _faults: faults,
        }
    }
}

fn start_emulator() -> EmulatorHandle {
    Emulator::builder()
        .app_version(AppVersion::simulated(APP, VERSION).port("gameport", 7777, "WS"))
        .without_rate_limits()
        .lifecycle_step(STEP)
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
