//! [`EmulatorHandle`]: the running emulator, and what tests can observe through it.

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::classify::Route;
use crate::faults::Fault;
use crate::matchmaker::Matchmaker;
use crate::snapshot::{DeploymentInfo, RecordedRequest};
use crate::state::Shared;
use crate::util::lock;

/// A running emulator. Dropping it (or [`EmulatorHandle::shutdown`]) stops the server and ends
/// every launched process (SIGTERM, then SIGKILL after its grace period, capped at 10 s).
#[derive(Debug)]
pub struct EmulatorHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) matchmaker: Option<Arc<Matchmaker>>,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) thread: Mutex<Option<JoinHandle<()>>>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT` (no trailing slash): the client's base URL.
    #[must_use]
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The API token clients must send as `Authorization: token <token>`.
    #[must_use]
    pub fn token(&self) -> String {
        self.shared.token.clone()
    }

    /// Every deployment ever created, terminated ones included, in creation order.
    #[must_use]
    pub fn deployments(&self) -> Vec<DeploymentInfo> {
        let deployments = self.shared.deployments();
        deployments
            .order
            .iter()
            .filter_map(|id| deployments.by_id.get(id))
            .map(|d| d.info())
            .collect()
    }

    /// One deployment by id.
    #[must_use]
    pub fn deployment(&self, request_id: &str) -> Option<DeploymentInfo> {
        self.shared
            .deployments()
            .by_id
            .get(request_id)
            .map(|d| d.info())
    }

    /// Every app version, `(app, version)`, declared to the builder or made through the API,
    /// in creation order.
    #[must_use]
    pub fn app_versions(&self) -> Vec<(String, String)> {
        self.shared
            .catalog()
            .versions
            .iter()
            .map(|v| (v.app.clone(), v.name().to_owned()))
            .collect()
    }

    /// How many requests reached `route` (whatever the answer, faults and 429s included).
    #[must_use]
    pub fn request_count(&self, route: Route) -> usize {
        lock(&self.shared.observed)
            .counts
            .get(&route)
            .copied()
            .unwrap_or(0)
    }

    /// Every request received, in arrival order: the oldest are dropped past 100,000 requests
    /// or [`EmulatorBuilder::request_log_bytes`](crate::EmulatorBuilder::request_log_bytes)
    /// (16 MiB by default); each path is cut to 1 KiB.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.observed)
            .requests
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// The most requests handled at the same time, all routes together.
    #[must_use]
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak_in_flight.load(Ordering::SeqCst)
    }

    /// How many TCP connections the emulator has accepted since it started. A client that
    /// keeps connections alive opens few; one that connects per request opens one each.
    #[must_use]
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections_accepted.load(Ordering::SeqCst)
    }

    /// How many faults were injected on `route`.
    #[must_use]
    pub fn faults_injected(&self, route: Route) -> usize {
        lock(&self.shared.observed)
            .faults
            .get(&route)
            .copied()
            .unwrap_or(0)
    }

    /// Adds a fault rule (after the existing ones: the first matching rule wins).
    pub fn add_fault(&self, fault: Fault) {
        lock(&self.shared.faults).add(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// The captured stdout+stderr of a deployment's process (synthetic lines for simulated
    /// versions); `None` for an unknown id.
    #[must_use]
    pub fn logs(&self, request_id: &str) -> Option<String> {
        self.shared
            .deployments()
            .by_id
            .get(request_id)
            .map(|d| d.log_text())
    }

    /// Waits until deployment `request_id` has `status` (`"Status.READY"` …); `false` after
    /// `timeout`.
    pub fn wait_for_status(&self, request_id: &str, status: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let current = self
                .shared
                .deployments()
                .by_id
                .get(request_id)
                .map(|d| d.phase.as_str());
            if current == Some(status) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Listens on the port `port_name` of deployment `request_id` (its loopback port): a
    /// [`AppVersion::gated`](crate::AppVersion::gated) deployment then becomes READY. The
    /// port stays open while the listener lives. `NotFound` when there is no such deployment
    /// or port.
    pub fn open_port(&self, request_id: &str, port_name: &str) -> std::io::Result<TcpListener> {
        let port = self
            .deployment(request_id)
            .and_then(|d| d.ports.get(port_name).map(|p| p.0))
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no port `{port_name}` on deployment `{request_id}`"),
                )
            })?;
        TcpListener::bind(("127.0.0.1", port))
    }

    /// The deployments not `Status.TERMINATED` after waiting up to `within` for each: servers
    /// left running, what a test that stops everything asserts is empty. Each is as
    /// [`deployments`](Self::deployments) saw it before the wait.
    #[must_use]
    pub fn not_terminated(&self, within: Duration) -> Vec<DeploymentInfo> {
        self.deployments()
            .into_iter()
            .filter(|d| !self.wait_for_status(&d.request_id, "Status.TERMINATED", within))
            .collect()
    }

    /// The matchmaker's base URL, `http://127.0.0.1:PORT` (no trailing slash; not
    /// [`base_url`](Self::base_url)); empty when the emulator has no matchmaker.
    #[must_use]
    pub fn matchmaker_url(&self) -> String {
        self.matchmaker
            .as_ref()
            .map(|mm| mm.url.clone())
            .unwrap_or_default()
    }

    /// The matchmaker's token, sent raw as `Authorization: <token>`; empty when the emulator
    /// has no matchmaker.
    #[must_use]
    pub fn matchmaker_token(&self) -> String {
        self.matchmaker
            .as_ref()
            .map(|mm| mm.token.clone())
            .unwrap_or_default()
    }

    /// Moves the matchmaker's clock forward by `by` (expansions, expirations and removals due
    /// meanwhile happen in order, at their own times). With a manual clock
    /// ([`matchmaker_manual_clock`](crate::EmulatorBuilder::matchmaker_manual_clock)) this is
    /// the only way it moves. The matchmaker acts on it in the background (and before answering
    /// any request): wait for the state you expect.
    pub fn advance_matchmaker_clock(&self, by: Duration) {
        if let Some(mm) = &self.matchmaker {
            mm.clock.advance(by);
            mm.wake.notify_one();
        }
    }

    /// Stops the server and ends launched processes. Idempotent; also done on drop.
    pub fn shutdown(&self) {
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            self.shutdown.send_replace(true);
            if thread.join().is_err() {
                tracing::error!("the emulator's runtime thread panicked");
            }
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
