//! [`EmulatorBuilder`]: the settings of an emulator, and starting it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::classify::Route;
use crate::config::{AppVersion, Location, PrivateHost, Settings};
use crate::error::EmulatorError;
use crate::faults::Fault;
use crate::handle::EmulatorHandle;
use crate::state::{self, Shared};
use crate::util::Hidden;
use crate::{server, util};

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    pub(crate) settings: Settings,
}

impl EmulatorBuilder {
    /// Edgegap's defaults (see [`crate::Emulator::builder`]).
    pub(crate) fn new() -> Self {
        Self {
            settings: Settings::default(),
        }
    }

    /// The API token clients must send (`Authorization: token <token>`); default random.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.settings.token = Some(Hidden(token.into()));
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.settings.bind = address;
        self
    }

    /// Adds an app version deploys may name.
    pub fn app_version(mut self, version: AppVersion) -> Self {
        self.settings.versions.push(version);
        self
    }

    /// Removes every rate limit (limits set afterwards with [`Self::rate_limit`] still apply).
    pub fn without_rate_limits(mut self) -> Self {
        self.settings.rate_limits.clear();
        self
    }

    /// Limits `route` to `per_second` requests per second (bursts up to that many); 0 removes
    /// its limit. Defaults: deploy 40/s, status 20/s, list 10/s, fleet deploy 40/s, fleet hosts
    /// 10/s.
    pub fn rate_limit(mut self, route: Route, per_second: u32) -> Self {
        if per_second == 0 {
            self.settings.rate_limits.remove(&route);
        } else {
            self.settings.rate_limits.insert(route, per_second);
        }
        self
    }

    /// Time between two lifecycle statuses (default 1 s; zero for tests: READY within
    /// microseconds, the order still recorded in `last_status` and the transitions log).
    pub fn lifecycle_step(mut self, step: Duration) -> Self {
        self.settings.lifecycle_step = step;
        self
    }

    /// The status answered for an unknown `request_id` on status and stop: 404 (default, the
    /// spec) or 400 (observed on the live API).
    pub fn unknown_deployment_status(mut self, status: u16) -> Self {
        self.settings.unknown_status = status;
        self
    }

    /// The success status of bulk stop: 202 (default, 2026 spec) or 200 (2024 spec).
    pub fn bulk_stop_status(mut self, status: u16) -> Self {
        self.settings.bulk_stop_status = status;
        self
    }

    /// Adds a fault rule (the first matching rule wins).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.settings.faults.push(fault);
        self
    }

    /// The seed of fault probabilities (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.settings.seed = seed;
        self
    }

    /// Adds a location (replacing the four built-in ones once any is added). Deployments are
    /// placed in the first.
    pub fn location(mut self, location: Location) -> Self {
        self.settings.locations.push(location);
        self
    }

    /// Adds a host to private fleet `fleet`.
    pub fn private_host(mut self, fleet: impl Into<String>, host: PrivateHost) -> Self {
        self.settings
            .fleets
            .entry(fleet.into())
            .or_default()
            .push(host);
        self
    }

    /// How long a webhook may take before it is abandoned (default 10 s, Edgegap's).
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.settings.webhook_timeout = timeout;
        self
    }

    /// Page size of list endpoints when the request gives no `limit` (default 20).
    pub fn default_page_size(mut self, size: usize) -> Self {
        self.settings.default_page_size = size.max(1);
        self
    }

    /// Largest request body accepted (default 1 MiB; larger ones get 413).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_body_bytes = bytes;
        self
    }

    /// Keep container logs readable after `Status.TERMINATED` (default `false`: Edgegap's are
    /// gone once the deployment is terminated unless endpoint storage was set up; the emulator
    /// then answers 404).
    pub fn logs_after_termination(mut self, keep: bool) -> Self {
        self.settings.logs_after_termination = keep;
        self
    }

    /// Longest tag name accepted, in characters (default 20, Edgegap's documented maximum; the
    /// 2026 OpenAPI spec says 40). Longer names in tag calls and deploy bodies get 400.
    pub fn max_tag_length(mut self, chars: usize) -> Self {
        self.settings.max_tag_length = chars.max(1);
        self
    }

    /// How long a request body may take to arrive once the headers are in (default 10 s);
    /// a slower one is answered 408 and its connection closed.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.settings.body_timeout = timeout;
        self
    }

    /// Most bytes of methods and paths the request log ([`EmulatorHandle::requests`]) keeps
    /// (default 16 MiB; the oldest entries go first; each path is cut to 1 KiB). Counters are
    /// not affected.
    pub fn request_log_bytes(mut self, bytes: usize) -> Self {
        self.settings.request_log_bytes = bytes;
        self
    }

    /// Adds Edgegap's matchmaker, configured by `config_json`: the JSON the dashboard takes
    /// (version 3.3.x; profiles, rules, expansions, timers, `allowed_cors_origins`). It is
    /// checked at [`start`](Self::start) as the dashboard checks it (each profile's
    /// `application` must be an app version of this emulator): a refusal is
    /// [`EmulatorError::Matchmaker`]. It serves on its own base URL
    /// ([`EmulatorHandle::matchmaker_url`]) with its own token.
    pub fn matchmaker(mut self, config_json: impl Into<String>) -> Self {
        self.settings.matchmaker.config = Some(config_json.into());
        self
    }

    /// The matchmaker's token (clients send it raw: `Authorization: <token>`); default random.
    pub fn matchmaker_token(mut self, token: impl Into<String>) -> Self {
        self.settings.matchmaker.token = Some(Hidden(token.into()));
        self
    }

    /// The matchmaker's listening address (default `127.0.0.1:0`, a free port).
    pub fn matchmaker_bind(mut self, address: SocketAddr) -> Self {
        self.settings.matchmaker.bind = address;
        self
    }

    /// The matchmaker's timers (expansions, expiration, removal, inactivity) run on a clock
    /// that moves only through [`EmulatorHandle::advance_matchmaker_clock`], instead of wall
    /// time: a test decides exactly when an expansion fires.
    pub fn matchmaker_manual_clock(mut self) -> Self {
        self.settings.matchmaker.manual_clock = true;
        self
    }

    fn check(&self) -> Result<(), EmulatorError> {
        let s = &self.settings;
        for (i, v) in s.versions.iter().enumerate() {
            if s.versions[..i]
                .iter()
                .any(|w| w.app == v.app && w.version == v.version)
            {
                return Err(EmulatorError::Config(format!(
                    "app version `{}`/`{}` is declared twice",
                    v.app, v.version
                )));
            }
            let mut names: Vec<&str> = v.ports.iter().map(|p| p.name.as_str()).collect();
            names.sort_unstable();
            if names.windows(2).any(|w| w[0] == w[1]) {
                return Err(EmulatorError::Config(format!(
                    "app version `{}`/`{}` has two ports with one name",
                    v.app, v.version
                )));
            }
        }
        if !matches!(s.unknown_status, 400 | 404) {
            return Err(EmulatorError::Config(format!(
                "unknown_deployment_status must be 400 or 404, not {}",
                s.unknown_status
            )));
        }
        if !matches!(s.bulk_stop_status, 200 | 202) {
            return Err(EmulatorError::Config(format!(
                "bulk_stop_status must be 200 or 202, not {}",
                s.bulk_stop_status
            )));
        }
        if s.token
            .as_ref()
            .is_some_and(|t| t.0.is_empty() || t.0.chars().any(char::is_whitespace))
        {
            return Err(EmulatorError::Config(
                "the token must be non-empty without spaces".into(),
            ));
        }
        Ok(())
    }

    /// Binds the socket and starts serving on a runtime thread of its own. Synchronous: usable
    /// from a plain `#[test]` or a Bevy app.
    pub fn start(self) -> Result<EmulatorHandle, EmulatorError> {
        self.check()?;
        let matchmaker = crate::matchmaker::prepare(&self.settings)?;
        let settings = self.settings;
        let token = settings
            .token
            .clone()
            .map_or_else(|| util::random_hex(32), |t| t.0);
        let listener = std::net::TcpListener::bind(settings.bind)?;
        listener.set_nonblocking(true)?;
        let mut address = listener.local_addr()?;
        if address.ip().is_unspecified() {
            address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let base_url = format!("http://{address}");
        let shared = Arc::new(Shared::new(settings, token, base_url));
        if let Some(prepared) = &matchmaker {
            shared.catalog().pinned.extend(prepared.versions());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("edgegap-emulator-worker")
            .enable_all()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let matchmaker = matchmaker
            .map(|m| crate::matchmaker::start(m, &shared, &runtime, &shutdown_rx))
            .transpose()?;
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("edgegap-emulator".into())
            .spawn(move || {
                runtime.block_on(async {
                    server::serve(listener, Arc::clone(&thread_shared), shutdown_rx).await;
                    state::lifecycle::stop_all_processes(&thread_shared, Duration::from_secs(10))
                        .await;
                    thread_shared.images.remove_all();
                });
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        tracing::debug!("emulator listening on `{}`", shared.base_url);
        Ok(EmulatorHandle {
            shared,
            matchmaker,
            shutdown,
            thread: Mutex::new(Some(thread)),
        })
    }
}
