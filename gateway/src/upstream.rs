//! Calls to Edgegap: the `bevy_edgegap::api` endpoint values sent over one keep-alive reqwest
//! client (rustls), each within the global budget. The only place the organisation token is
//! used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy_edgegap::api::{
    EdgegapError, Endpoint, EndpointClass, HttpRequest, HttpResponse, ListDeployments, Method,
    Secret,
};

use crate::config::{Budget, UpstreamConfig};
use crate::error::UpstreamError;
use crate::secret::same_secret;
use crate::store::Store;

/// Edgegap, as the handlers see it.
pub(crate) struct Upstream {
    client: reqwest::Client,
    base_url: String,
    token: Secret,
    budget: Budget,
    store: Arc<dyn Store>,
    /// Budget refusals not logged yet, by bucket, since the last warning.
    refusals: Mutex<HashMap<&'static str, Refusals>>,
    /// What Edgegap's last answer (or its absence) said about it, and when: `/readyz`.
    seen: Mutex<Option<(Instant, Seen)>>,
    /// One readiness probe at a time.
    probing: tokio::sync::Mutex<()>,
}

/// What an upstream call said about Edgegap, for readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// It answered (a 4xx other than 401/403 included: it works).
    Answers,
    /// 401/403: it refuses the organisation token.
    RefusesToken,
    /// 5xx.
    Fails,
    /// No answer (connection failed, timed out).
    Unreachable,
}

impl Seen {
    fn of(sent: &Result<HttpResponse, EdgegapError>) -> Option<Self> {
        Some(match sent {
            Ok(response) if matches!(response.status, 401 | 403) => Self::RefusesToken,
            Ok(response) if response.status >= 500 => Self::Fails,
            Ok(_) => Self::Answers,
            Err(EdgegapError::Timeout | EdgegapError::Transport { .. }) => Self::Unreachable,
            Err(_) => return None,
        })
    }

    fn readiness(self) -> Result<(), &'static str> {
        match self {
            Self::Answers => Ok(()),
            Self::RefusesToken => Err("Edgegap refuses the organisation token"),
            Self::Fails => Err("Edgegap fails"),
            Self::Unreachable => Err("Edgegap does not answer"),
        }
    }
}

/// How long what the last upstream call said stands for Edgegap's readiness; older, a probe
/// (one list item) asks again. Also the most a flood of `/readyz` costs: one list call per
/// this.
const SEEN_FRESH: Duration = Duration::from_secs(2);

/// Refusals of one budget bucket: one warning per [`REFUSAL_WARNING_EVERY`] at most, with the
/// count, so a flood of requests cannot flood the log.
#[derive(Default)]
struct Refusals {
    warned: Option<Instant>,
    unlogged: u64,
}

/// How often a budget refusal is logged at most (per bucket).
const REFUSAL_WARNING_EVERY: Duration = Duration::from_secs(10);

/// The budget bucket an endpoint class draws from, and its rate.
fn bucket(class: EndpointClass, method: Method, budget: &Budget) -> (&'static str, u32) {
    match class {
        EndpointClass::Deploy | EndpointClass::FleetDeploy => {
            ("upstream:deploy", budget.deploy_per_second)
        }
        EndpointClass::Status => ("upstream:status", budget.status_per_second),
        EndpointClass::List | EndpointClass::FleetHosts => {
            ("upstream:list", budget.list_per_second)
        }
        EndpointClass::Other if method == Method::Delete => {
            ("upstream:stop", budget.stop_per_second)
        }
        EndpointClass::Other => ("upstream:other", budget.stop_per_second),
    }
}

impl Upstream {
    pub(crate) fn new(
        config: &UpstreamConfig,
        budget: Budget,
        store: Arc<dyn Store>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("edgegap-gateway/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            base_url: config.base_url.trim().trim_end_matches('/').to_owned(),
            token: Secret::new(config.token.expose().trim()),
            budget,
            store,
            refusals: Mutex::new(HashMap::new()),
            seen: Mutex::new(None),
            probing: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether Edgegap answers with the organisation token (`/readyz`): what the last call
    /// said if it is recent, else a one-item list. A probe refused for budget says nothing
    /// (the gateway is busy, not broken).
    pub(crate) async fn readiness(&self) -> Result<(), &'static str> {
        if let Some(seen) = self.recently_seen() {
            return seen.readiness();
        }
        let _one_at_a_time = self.probing.lock().await;
        if let Some(seen) = self.recently_seen() {
            return seen.readiness();
        }
        if let Err(refused @ (UpstreamError::Budget { .. } | UpstreamError::Store(_))) =
            self.call_raw(&ListDeployments::new().limit(1)).await
        {
            tracing::debug!("readiness probe not sent: {refused}");
            return Ok(());
        }
        self.recently_seen().map_or(Ok(()), Seen::readiness)
    }

    fn recently_seen(&self) -> Option<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .filter(|(at, _)| at.elapsed() < SEEN_FRESH)
            .map(|(_, seen)| seen)
    }

    /// Logs a budget refusal, at most once per [`REFUSAL_WARNING_EVERY`] per bucket.
    fn refused(&self, name: &'static str, rate: u32) {
        let now = Instant::now();
        let mut refusals = self
            .refusals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = refusals.entry(name).or_default();
        bucket.unlogged += 1;
        if bucket
            .warned
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_WARNING_EVERY)
        {
            tracing::warn!(
                "upstream budget `{name}` exhausted ({rate}/s): {} request(s) answered 503 \
                 since the last warning",
                bucket.unlogged
            );
            bucket.warned = Some(now);
            bucket.unlogged = 0;
        }
    }

    /// Takes one upstream read from `owner`'s own budget (`budget.player_reads_per_second`,
    /// a burst of three times as many), or refuses at once: one player's requests never spend
    /// more of the global budget than that.
    pub(crate) async fn charge_player(&self, owner: &str) -> Result<(), UpstreamError> {
        let rate = self.budget.player_reads_per_second;
        let granted = self
            .store
            .acquire(
                &format!("reads:{owner}"),
                f64::from(rate),
                rate.saturating_mul(3),
                Duration::ZERO,
            )
            .await?;
        granted
            .map(|_| ())
            .map_err(|retry_after| UpstreamError::Player { retry_after })
    }

    /// Whether `candidate` is the organisation token (a client sending it is logged).
    pub(crate) fn is_org_token(&self, candidate: &str) -> bool {
        same_secret(candidate.trim().as_bytes(), self.token.expose().as_bytes())
    }

    /// Waits for budget, sends `endpoint`, decodes the answer. The raw answer comes back with
    /// a success, so handlers can forward Edgegap's exact body.
    pub(crate) async fn call<E: Endpoint>(
        &self,
        endpoint: &E,
    ) -> Result<(E::Output, HttpResponse), UpstreamError> {
        let response = self.call_raw(endpoint).await?;
        let output = endpoint.decode(&response)?;
        Ok((output, response))
    }

    /// Waits for budget and sends `endpoint`: Edgegap's answer, whatever its status, or why
    /// none came.
    pub(crate) async fn call_raw<E: Endpoint>(
        &self,
        endpoint: &E,
    ) -> Result<HttpResponse, UpstreamError> {
        let (name, rate) = bucket(endpoint.class(), endpoint.method(), &self.budget);
        let max_wait = Duration::from_millis(self.budget.max_wait_ms);
        // One request of headroom below Edgegap's own burst: requests spaced exactly at the
        // limit when they leave can arrive closer together (network jitter) and be refused.
        let burst = rate.saturating_sub(1).max(1);
        let granted = self
            .store
            .acquire(name, f64::from(rate), burst, max_wait)
            .await?;
        match granted {
            Ok(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
            Ok(_) => {}
            Err(retry_after) => {
                self.refused(name, rate);
                return Err(UpstreamError::Budget { retry_after });
            }
        }
        let request = endpoint.to_request(&self.base_url, &self.token)?;
        // Method and URL only: a deploy body carries the webhook path secret.
        tracing::trace!("upstream request {:?} {}", request.method, request.url);
        let sent = self.send(request).await;
        if let Some(seen) = Seen::of(&sent) {
            *self
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((Instant::now(), seen));
        }
        let response = sent?;
        tracing::trace!(
            "upstream answered {} ({} bytes)",
            response.status,
            response.body.len()
        );
        Ok(response)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, EdgegapError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let failed = |error: reqwest::Error| {
            // reqwest's message names the URL, never a header.
            if error.is_timeout() {
                EdgegapError::Timeout
            } else {
                EdgegapError::transport(!error.is_connect(), error.to_string())
            }
        };
        let response = builder.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response.bytes().await.map_err(failed)?.to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
