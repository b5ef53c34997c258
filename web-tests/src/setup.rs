//! [`Setup`]: what the harness started, as the scenarios see it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The services a scenario talks to, and the player tokens it may use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Setup {
    /// A gateway whose CORS allows the test page's origin (and the lobby's).
    pub gateway: String,
    /// A gateway whose CORS allows another origin only.
    pub closed_gateway: String,
    /// The emulator behind [`Setup::gateway`]: the organisation API, which sends no CORS
    /// header (like Edgegap's).
    pub emulator: String,
    /// The organisation token of [`Setup::emulator`].
    pub emulator_token: String,
    /// The matchmaker of [`Setup::emulator`], whose `allowed_cors_origins` lists the test
    /// page's origin (and the lobby's).
    pub matchmaker: String,
    /// Its token (a matchmaker's token is meant to ship in game clients).
    pub matchmaker_token: String,
    /// A matchmaker whose `allowed_cors_origins` lists only near misses of the page's origin
    /// (the host alone, `localhost`, another scheme, no port, a trailing slash).
    pub closed_matchmaker: String,
    /// Its token.
    pub closed_matchmaker_token: String,
    /// The fault server: `/html502/<name>/…`, `/hang/<name>/…`, `/probe/<name>`; its CORS
    /// allows any origin.
    pub faults: String,
    /// The application version the gateways allow.
    pub app: String,
    /// Its version.
    pub version: String,
    /// Player tokens, by player name (each scenario has its own player, so the gateway's
    /// one-live-deployment quota never couples two of them).
    pub tokens: BTreeMap<String, String>,
}

impl Setup {
    /// The environment variable that carries a [`Setup`] as JSON into the browser tests'
    /// build (`option_env!`: a browser has no environment).
    pub const ENV: &'static str = "EDGEGAP_WEB_SETUP";

    /// The players the harness mints tokens for.
    pub const PLAYERS: &'static [&'static str] = &[
        "deployer", "refused", "html502", "hang", "deadline", "cap", "quota", "big", "lobby",
    ];

    /// `player`'s token.
    ///
    /// # Panics
    /// When `player` is not one of [`Setup::PLAYERS`].
    pub fn token(&self, player: &str) -> &str {
        self.tokens
            .get(player)
            .unwrap_or_else(|| panic!("no token for player `{player}`: add it to Setup::PLAYERS"))
    }

    /// The setup the harness built this crate with.
    ///
    /// # Panics
    /// When the crate was built without [`Setup::ENV`] (not through the harness), saying how
    /// to run these tests.
    #[cfg(target_arch = "wasm32")]
    pub fn from_build() -> Self {
        let json = option_env!("EDGEGAP_WEB_SETUP").unwrap_or_else(|| {
            panic!(
                "built without EDGEGAP_WEB_SETUP: run the browser tests with `cargo xtask test-web`"
            )
        });
        serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("EDGEGAP_WEB_SETUP is not a Setup: {e}"))
    }
}
