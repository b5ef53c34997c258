//! `edgegap-emulator`: Edgegap's dedicated-server HTTP API on loopback.
//!
//! It serves the same paths, bodies, status codes, auth and rate limits as
//! `https://api.edgegap.com` for the deployment endpoints, and runs each app version either as
//! a **simulated** server (statuses change on a clock) or as a **local command**: your real
//! server binary, launched with the injected `ARBITRIUM_*` environment and real free ports, so
//! the code that runs on Edgegap runs on a laptop.
//!
//! ```no_run
//! use edgegap_emulator::{AppVersion, Emulator, Fault, FaultKind, Route};
//! use std::time::Duration;
//!
//! let emu = Emulator::builder()
//!     .token("test-token")
//!     .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
//!     .app_version(
//!         AppVersion::command("game", "v2", "/path/to/server", ["--server"])
//!             .port("gameport", 7777, "UDP")
//!             .grace_period(Duration::from_secs(3)),
//!     )
//!     .without_rate_limits()
//!     .lifecycle_step(Duration::ZERO)
//!     .fault(Fault::new(Route::Status, FaultKind::Status(503)).times(3))
//!     .start()?;
//! println!("EDGEGAP_BASE_URL={}", emu.base_url());
//! # Ok::<(), edgegap_emulator::EmulatorError>(())
//! ```
//!
//! Applications and app versions can also be made through the API (`POST /v1/app`,
//! `POST /v1/app/{app}/version`, …), as on Edgegap. A version whose image is in a registry on
//! loopback (`docker_repository` = `127.0.0.1:<port>`) is pulled at deploy time, its digests
//! checked, unpacked into a directory of its own and its entrypoint run there like a command
//! (see `README.md`, "Applications and versions through the API").
//!
//! With [`EmulatorBuilder::matchmaker`] it also runs Edgegap's matchmaker on a base URL of its
//! own ([`EmulatorHandle::matchmaker_url`]), from the dashboard's JSON configuration: groups,
//! tickets and backfills matched first in, first out, each match deployed through the same
//! lifecycle with the `MM_*` variables (see `README.md`, "Matchmaker").
//!
//! The emulator is an independent check of a client: its JSON is written from Edgegap's
//! reference and OpenAPI specs, not from any client's models. See `README.md` for what differs
//! from the real service.
#![warn(missing_docs, unreachable_pub)]

mod builder;
mod classify;
mod config;
mod error;
mod faults;
mod handle;
mod handlers;
mod image;
mod matchmaker;
mod process;
mod ratelimit;
mod reply;
mod request;
mod server;
mod snapshot;
mod state;
mod util;
mod webhooks;

pub use builder::EmulatorBuilder;
pub use classify::Route;
pub use config::{AppVersion, Location, PrivateHost};
pub use error::EmulatorError;
pub use faults::{Fault, FaultKind};
pub use handle::EmulatorHandle;
pub use matchmaker::{MatchmakerConfigError, matchmaker_config, player_count_rule};
pub use snapshot::{DeploymentInfo, RecordedRequest};

/// Entry point: [`Emulator::builder`].
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with Edgegap's defaults: random token, 127.0.0.1 on a free port, one-second
    /// lifecycle steps, the documented rate limits, unknown ids answered 404.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::new()
    }

    /// A builder configured by a TOML file (the binary's `--config`; format in the README).
    /// Relative command paths resolve against the file's folder.
    pub fn from_config_file(
        path: impl AsRef<std::path::Path>,
    ) -> Result<EmulatorBuilder, EmulatorError> {
        config::file::load_file(path.as_ref())
    }

    /// A builder configured by TOML text; relative command paths resolve against the current
    /// directory.
    pub fn from_config_str(text: &str) -> Result<EmulatorBuilder, EmulatorError> {
        config::file::parse(text, std::path::Path::new("."))
    }
}
