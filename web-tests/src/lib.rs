//! The client plugin in a real browser.
//!
//! Each check is a scenario ([`scenarios`]): an async function that drives headless Bevy apps
//! ([`Headless`]: `MinimalPlugins` and the client plugin or the matchmaker plugin) against the
//! services a [`Setup`] names, with the same assertions wherever it runs. `tests/browser.rs`
//! runs them with `wasm-bindgen-test` in headless Chromium; `tests/native.rs` runs them natively, so "the
//! same `EdgegapError`s as on native" is checked by the same code on both.
//!
//! Natively this crate is also the harness (`cargo run -p edgegap-web-tests`, which
//! `cargo xtask test` and `cargo xtask test-web` run): [`services`] starts an emulator whose
//! matchmaker allows the test page, a gateway whose CORS allows it too, a gateway and a
//! matchmaker that allow other origins only, and a small fault server; [`browser`] runs
//! `tests/browser.rs` in headless Chromium with their URLs (handed over at build time in
//! [`Setup::ENV`]), then loads the `web_lobby` example, clicks "Play", waits for READY and
//! saves a screenshot, and opens it in two tabs in matchmaker mode to check that both players
//! land on one server.
#![warn(missing_docs)]

mod headless;
pub mod scenarios;
mod setup;

#[cfg(not(target_arch = "wasm32"))]
pub mod browser;
#[cfg(not(target_arch = "wasm32"))]
pub mod server;
#[cfg(not(target_arch = "wasm32"))]
pub mod services;

pub use headless::{Headless, seen_count, sleep, until_all};
pub use setup::Setup;

/// The matchmaker profile the scenarios search in: a duel (two teams of one).
pub const DUEL_PROFILE: &str = "duel";

/// The same duel, for the `web_lobby` example's tabs (so that they never match a scenario's
/// player).
pub const LOBBY_PROFILE: &str = "lobby-duel";

/// What the fault server answers under `/html502/`: nginx's own error page, as a proxy in
/// front of the gateway would send it.
pub const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The size of the fault server's `/big/` answers (64 KiB).
pub const BIG_BODY: usize = 64 * 1024;

/// How long the fault server holds a request under `/hang/` before it answers (late) `200`,
/// if the client has not closed the connection by then.
pub const HANG_HOLD: std::time::Duration = std::time::Duration::from_secs(4);
