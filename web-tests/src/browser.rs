//! The harness's browser side (natively): headless Chromium through chromedriver, for
//! `tests/browser.rs` (run by `wasm-bindgen-test-runner`) and for the `web_lobby` example
//! (driven over WebDriver: by [`lobby`] through the gateway, by [`lobby_match`] in two tabs
//! through the matchmaker).
//!
//! Chromium is started with a fresh profile and every background service off (no QUIC, no
//! first-run, no component updates, no sync): on a closed network it would otherwise try to
//! reach Google's servers and stall.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use edgegap_test_services::{Spawned, free_port, require};
use serde_json::{Value, json};
use web_time::Instant;

use crate::server;
use crate::services::Services;
use crate::{LOBBY_PROFILE, Setup};

/// Chromium's arguments (`--headless` and the rest), for a profile in `profile`.
pub fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=900,700",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// The WebDriver capabilities that start Chromium that way.
fn capabilities(profile: &Path) -> Value {
    json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": require("chromium"),
            "args": chromium_args(profile),
        }
    })
}

/// The workspace's `target/` directory, where the harness keeps its files.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// The workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("web-tests is in the workspace")
        .to_path_buf()
}

/// A fresh, empty directory under `target/web-tests/`.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = target_dir().join("web-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a directory under target/");
    dir
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `tests/browser.rs` in headless Chromium, served from `page` (an address the
/// gateway's CORS allows), with `setup` built in. Whether every test passed.
pub fn run_wasm_tests(setup: &Setup, page: &str) -> bool {
    let profile = fresh_dir("chromium-tests");
    let webdriver = target_dir().join("web-tests").join("webdriver.json");
    std::fs::write(&webdriver, capabilities(&profile).to_string()).expect("write webdriver.json");
    let status = cargo()
        .args([
            "test",
            "-p",
            "edgegap-web-tests",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(["--test", "browser"])
        .env(
            Setup::ENV,
            serde_json::to_string(setup).expect("a Setup is JSON"),
        )
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            require("wasm-bindgen-test-runner"),
        )
        .env("CHROMEDRIVER", require("chromedriver"))
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver)
        .env("WASM_BINDGEN_TEST_ADDRESS", page)
        // The whole run, not one test: the wait for every test's output.
        .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
        .status()
        .expect("run cargo test");
    let _ = std::fs::remove_dir_all(&profile);
    status.success()
}

/// A WebDriver session of chromedriver's (started and stopped with it).
struct Browser {
    url: String,
    agent: ureq::Agent,
    _driver: Spawned,
}

impl Browser {
    fn start(profile: &Path) -> Result<Self, String> {
        let port = free_port();
        let mut command = Command::new(require("chromedriver"));
        command.arg(format!("--port={port}")).stdin(Stdio::null());
        let driver = Spawned::start(command, port, "chromedriver", Duration::from_secs(20));
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let base = format!("http://127.0.0.1:{port}");
        let created = post(
            &agent,
            &format!("{base}/session"),
            json!({"capabilities": {"alwaysMatch": capabilities(profile)}}),
        )?;
        let session = created["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session: {created}"))?;
        Ok(Self {
            url: format!("{base}/session/{session}"),
            agent,
            _driver: driver,
        })
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        post(&self.agent, &format!("{}{path}", self.url), body)
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        let answer = self
            .agent
            .get(&format!("{}{path}", self.url))
            .call()
            .map_err(|e| format!("GET {path}: {e}"))?;
        let value: Value = answer.into_json().map_err(|e| e.to_string())?;
        Ok(value["value"].clone())
    }

    /// The first element matching `css`.
    fn element(&self, css: &str) -> Result<String, String> {
        let found = self.post("/element", json!({"using": "css selector", "value": css}))?;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no element `{css}`: {found}"))
    }

    /// Waits (with a deadline) for the element `css` to be there, then clicks it.
    fn click(&self, css: &str) -> Result<(), String> {
        let element = wait(Duration::from_secs(30), css, || self.element(css).ok())?;
        self.post(&format!("/element/{element}/click"), json!({}))?;
        Ok(())
    }

    /// Opens `url` in a new tab and makes it the current one; returns its handle.
    fn new_tab(&self, url: &str) -> Result<String, String> {
        let opened = self.post("/window/new", json!({"type": "tab"}))?;
        let handle = opened["handle"]
            .as_str()
            .ok_or_else(|| format!("no new tab: {opened}"))?
            .to_owned();
        self.switch_to(&handle)?;
        self.post("/url", json!({"url": url}))?;
        Ok(handle)
    }

    /// Makes the tab `handle` the current one.
    fn switch_to(&self, handle: &str) -> Result<(), String> {
        self.post("/window", json!({"handle": handle}))?;
        Ok(())
    }

    /// Saves a screenshot of the current tab to `path` (a PNG).
    fn screenshot(&self, path: &Path) -> Result<(), String> {
        let png = self.get("/screenshot")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .map_err(|e| format!("the screenshot is not base64: {e}"))?;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err("the screenshot is not a PNG".into());
        }
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(path, &png).map_err(|e| format!("write the screenshot: {e}"))
    }

    fn text(&self, css: &str) -> Result<String, String> {
        let element = self.element(css)?;
        Ok(self
            .get(&format!("/element/{element}/text"))?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.url).call();
    }
}

fn post(agent: &ureq::Agent, url: &str, body: Value) -> Result<Value, String> {
    let answer = match agent.post(url).send_json(body) {
        Ok(answer) | Err(ureq::Error::Status(_, answer)) => answer,
        Err(e) => return Err(format!("POST {url}: {e}")),
    };
    let value: Value = answer.into_json().map_err(|e| e.to_string())?;
    if value["value"]["error"].is_string() {
        return Err(format!("POST {url}: {}", value["value"]));
    }
    Ok(value["value"].clone())
}

/// The `web_lobby` example, built for the browser with `wasm-bindgen --target web` next to
/// its `index.html`, in a fresh directory.
pub fn build_lobby() -> Result<PathBuf, String> {
    let built = cargo()
        .args([
            "build",
            "-p",
            "web_lobby",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !built.success() {
        return Err("the web_lobby example does not build for wasm32".into());
    }
    let out = fresh_dir("web_lobby");
    let wasm = target_dir().join("wasm32-unknown-unknown/debug/web_lobby.wasm");
    let bindgen = require("wasm-bindgen-test-runner").with_file_name("wasm-bindgen");
    let generated = Command::new(bindgen)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&out)
        .arg(&wasm)
        .status()
        .map_err(|e| format!("wasm-bindgen: {e}"))?;
    if !generated.success() {
        return Err("wasm-bindgen failed on web_lobby.wasm".into());
    }
    std::fs::copy(
        workspace().join("examples/web_lobby/index.html"),
        out.join("index.html"),
    )
    .map_err(|e| format!("copy index.html: {e}"))?;
    Ok(out)
}

/// Serves the lobby built in `dir` on `port` (the gateway's CORS and the matchmaker's must
/// allow `http://127.0.0.1:<port>`) until the server is dropped.
pub fn serve_lobby(dir: PathBuf, port: u16) -> server::Server {
    server::files(dir, port)
}

/// The lobby served at `lobby` (by [`serve_lobby`]), opened in headless Chromium in gateway
/// mode, "Play" clicked: waits (with a deadline) for READY and an address on the page, then
/// saves a screenshot to `screenshot`. Returns the address the page shows.
pub fn lobby(setup: &Setup, lobby: &str, screenshot: &Path) -> Result<String, String> {
    let url = format!(
        "{lobby}/?gateway={}&token={}",
        setup.gateway,
        setup.token("lobby")
    );
    let profile = fresh_dir("chromium-lobby");
    let browser = Browser::start(&profile)?;
    browser.post("/url", json!({"url": url}))?;
    browser.click("#play")?;
    let address = wait(Duration::from_secs(60), "READY and an address", || {
        let statuses = browser.text("#statuses").ok()?;
        let address = browser.text("#address").ok()?;
        (statuses.contains("READY") && !address.trim().is_empty()).then_some(address)
    })?;
    browser.screenshot(screenshot)?;
    drop(browser);
    let _ = std::fs::remove_dir_all(&profile);
    Ok(address)
}

/// What one tab of the lobby showed once its search was over.
struct Outcome {
    /// `#address`: "Connect to <host:port> (gameport) · server <fqdn>".
    address: String,
    /// Its ticket, from the "ticket <id>" line of `#statuses`.
    ticket: String,
}

/// The lobby served at `lobby`, in matchmaker mode (the duel profile
/// [`LOBBY_PROFILE`]), opened in two tabs of one headless Chromium, "Play" clicked in each:
/// two players, each a Bevy app in its own page, search through `MatchmakerPlugin`'s
/// `find_match`. Waits (with a deadline) until both tabs show an address, or fails at the
/// first error a tab shows; then checks that both show the same server and their own
/// tickets, and that the emulator holds one deployment, made by its matchmaker for exactly
/// these two tickets, at the address shown. Saves a screenshot of the second tab to
/// `screenshot`. Returns that address.
pub fn lobby_match(services: &Services, lobby: &str, screenshot: &Path) -> Result<String, String> {
    let setup = &services.setup;
    let url = format!(
        "{lobby}/?matchmaker={}&mm_token={}&profile={LOBBY_PROFILE}",
        setup.matchmaker, setup.matchmaker_token
    );
    let profile = fresh_dir("chromium-match");
    let browser = Browser::start(&profile)?;
    let mut tabs = Vec::new();
    for _ in 0..2 {
        tabs.push(browser.new_tab(&url)?);
        browser.click("#play")?;
    }
    let outcomes = wait(Duration::from_secs(60), "both tabs' assignments", || {
        let mut outcomes = Vec::new();
        for tab in &tabs {
            if let Err(e) = browser.switch_to(tab) {
                return Some(Err(e));
            }
            let error = browser.text("#error").ok()?;
            if !error.trim().is_empty() {
                return Some(Err(format!("a tab shows an error: {error}")));
            }
            let address = browser.text("#address").ok()?;
            if address.trim().is_empty() {
                return None;
            }
            let statuses = browser.text("#statuses").ok()?;
            let ticket = statuses
                .lines()
                .find_map(|line| line.trim().strip_prefix("ticket "))
                .map(str::to_owned);
            let Some(ticket) = ticket else {
                return Some(Err(format!("no ticket among the statuses: {statuses}")));
            };
            outcomes.push(Outcome { address, ticket });
        }
        Some(Ok(outcomes))
    })??;
    browser.screenshot(screenshot)?;
    drop(browser);
    let _ = std::fs::remove_dir_all(&profile);
    let [a, b] = &outcomes[..] else {
        return Err("not two tabs".into());
    };
    if a.address != b.address {
        return Err(format!(
            "the tabs landed on two servers: `{}` and `{}`",
            a.address, b.address
        ));
    }
    if a.ticket == b.ticket {
        return Err(format!("both tabs show ticket `{}`", a.ticket));
    }
    let servers: Vec<_> = services
        .matches(LOBBY_PROFILE)
        .into_iter()
        .filter(|d| {
            a.address
                .ends_with(&format!("server {}.pr.edgegap.net", d.request_id))
        })
        .collect();
    let [server] = &servers[..] else {
        return Err(format!(
            "{} of the matchmaker's deployments are at `{}`",
            servers.len(),
            a.address
        ));
    };
    let port = server.ports.get("gameport").map_or(0, |p| p.1);
    if !a.address.contains(&format!(":{port} ")) {
        return Err(format!("`{}` is not at gameport {port}", a.address));
    }
    let mut expected = vec![a.ticket.clone(), b.ticket.clone()];
    expected.sort();
    let mut tickets: Vec<String> = server
        .env
        .get("MM_TICKET_IDS")
        .and_then(|ids| serde_json::from_str(ids).ok())
        .unwrap_or_default();
    tickets.sort();
    if tickets != expected {
        return Err(format!(
            "the server expects {tickets:?}, the tabs hold {expected:?}"
        ));
    }
    Ok(a.address.clone())
}

/// Polls `check` every 100 ms until it gives a value, at most `limit`.
fn wait<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> Result<T, String> {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if start.elapsed() > limit {
            return Err(format!("gave up waiting for {what} after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
