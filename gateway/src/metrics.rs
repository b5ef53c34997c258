//! What the gateway does, as Prometheus metrics: `GET /metrics` answers them in the text format
//! (version 0.0.4), through `prometheus-client` (one registry per gateway: each replica, and
//! each gateway a test starts in one process, reports its own).
//!
//! No label carries a token, a player id, an owner tag or a deployment id: every label value
//! is one of a fixed set (an endpoint class, a budget bucket, an outcome) or an HTTP status
//! code.
//!
//! | Metric | Type | Labels |
//! |---|---|---|
//! | `edgegap_gateway_upstream_calls_total` | counter: calls sent to Edgegap | `endpoint` (`deploy`, `status`, `list`, `stop`, `other`), `status` (HTTP code, `timeout`, `transport`, `error`) |
//! | `edgegap_gateway_budget_waits_total`, `edgegap_gateway_budget_wait_seconds_total` | counters: calls that waited for upstream budget, and how long | `bucket` |
//! | `edgegap_gateway_budget_refusals_total` | counter: calls refused for want of budget | `bucket` (the upstream ones, and `player`: a player's read budget) |
//! | `edgegap_gateway_held_requests` | gauge: status requests held by long-poll now | — |
//! | `edgegap_gateway_open_connections` | gauge: client connections open now | — |
//! | `edgegap_gateway_live_deployments` | gauge: deployments in this replica's view (asked about within 2 min) not known to be over | — |
//! | `edgegap_gateway_ready_notify_seconds` | histogram: from the first sign of READY at this replica (a webhook's arrival, else the read that showed it) to the first answer showing READY | — |
//! | `edgegap_gateway_webhooks_total` | counter: webhooks received | `outcome` (`believed`: a proven READY; `accepted`: confirmed by a read; `wrong_secret`, `bad_body`) |
//! | `edgegap_gateway_webhook_confirmations_total` | counter: reads confirming webhooks | `result` (`read`, `failed`) |

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bevy_edgegap::api::{EdgegapError, HttpResponse};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `Content-Type` of `GET /metrics`.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    endpoint: &'static str,
    status: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BucketLabels {
    bucket: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// What a webhook got (`edgegap_gateway_webhooks_total{outcome}`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum WebhookOutcome {
    /// Confirmed by a read.
    Accepted,
    /// A proven READY, believed without a read.
    Believed,
    WrongSecret,
    BadBody,
}

/// One gateway's metrics (see the module docs).
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    upstream_calls: Family<UpstreamLabels, Counter>,
    budget_waits: Family<BucketLabels, Counter>,
    budget_wait_seconds: Family<BucketLabels, Counter<f64, std::sync::atomic::AtomicU64>>,
    budget_refusals: Family<BucketLabels, Counter>,
    held: Gauge,
    open: Gauge,
    live: Gauge,
    ready_notify: Histogram,
    webhooks: Family<OutcomeLabels, Counter>,
    confirmations: Family<ResultLabels, Counter>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let metrics = Self {
            registry: Mutex::new(Registry::with_prefix("edgegap_gateway")),
            upstream_calls: Family::default(),
            budget_waits: Family::default(),
            budget_wait_seconds: Family::default(),
            budget_refusals: Family::default(),
            held: Gauge::default(),
            open: Gauge::default(),
            live: Gauge::default(),
            // 5 ms to about 41 s.
            ready_notify: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            webhooks: Family::default(),
            confirmations: Family::default(),
        };
        {
            let mut registry = metrics
                .registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            registry.register(
                "upstream_calls",
                "Calls sent to Edgegap, by endpoint class and answer",
                metrics.upstream_calls.clone(),
            );
            registry.register(
                "budget_waits",
                "Upstream calls that waited for budget",
                metrics.budget_waits.clone(),
            );
            registry.register(
                "budget_wait_seconds",
                "Time upstream calls waited for budget",
                metrics.budget_wait_seconds.clone(),
            );
            registry.register(
                "budget_refusals",
                "Calls refused for want of budget (upstream buckets, or a player's reads)",
                metrics.budget_refusals.clone(),
            );
            registry.register(
                "held_requests",
                "Status requests held by long-poll now",
                metrics.held.clone(),
            );
            registry.register(
                "open_connections",
                "Client connections open now",
                metrics.open.clone(),
            );
            registry.register(
                "live_deployments",
                "Deployments in this replica's view (asked about within 2 min) not known to be over",
                metrics.live.clone(),
            );
            registry.register(
                "ready_notify_seconds",
                "From the first sign of READY at this replica (a webhook's arrival, else the \
                 read that showed it) to the first answer showing READY",
                metrics.ready_notify.clone(),
            );
            registry.register(
                "webhooks",
                "Webhooks received, by outcome",
                metrics.webhooks.clone(),
            );
            registry.register(
                "webhook_confirmations",
                "Upstream reads confirming webhooks, by result",
                metrics.confirmations.clone(),
            );
        }
        metrics
    }

    /// An upstream call to `endpoint` (a budget bucket's name) got `sent`.
    pub(crate) fn upstream_call(
        &self,
        endpoint: &'static str,
        sent: &Result<HttpResponse, EdgegapError>,
    ) {
        let status = match sent {
            Ok(response) => Cow::Owned(response.status.to_string()),
            Err(EdgegapError::Timeout) => Cow::Borrowed("timeout"),
            Err(EdgegapError::Transport { .. }) => Cow::Borrowed("transport"),
            Err(_) => Cow::Borrowed("error"),
        };
        self.upstream_calls
            .get_or_create(&UpstreamLabels { endpoint, status })
            .inc();
    }

    /// A call drawing on `bucket` waited `wait` for budget.
    pub(crate) fn budget_wait(&self, bucket: &'static str, wait: Duration) {
        let labels = BucketLabels { bucket };
        self.budget_waits.get_or_create(&labels).inc();
        self.budget_wait_seconds
            .get_or_create(&labels)
            .inc_by(wait.as_secs_f64());
    }

    /// A call drawing on `bucket` was refused for want of budget.
    pub(crate) fn budget_refused(&self, bucket: &'static str) {
        self.budget_refusals
            .get_or_create(&BucketLabels { bucket })
            .inc();
    }

    /// A player was first answered READY `after` the first sign of it.
    pub(crate) fn ready_notified(&self, after: Duration) {
        self.ready_notify.observe(after.as_secs_f64());
    }

    pub(crate) fn webhook(&self, outcome: WebhookOutcome) {
        let outcome = match outcome {
            WebhookOutcome::Accepted => "accepted",
            WebhookOutcome::Believed => "believed",
            WebhookOutcome::WrongSecret => "wrong_secret",
            WebhookOutcome::BadBody => "bad_body",
        };
        self.webhooks
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// A read confirming a webhook was made (`true`) or failed.
    pub(crate) fn confirmation(&self, read: bool) {
        let result = if read { "read" } else { "failed" };
        self.confirmations
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// The text format of every metric, the gauges set to `now` first.
    pub(crate) fn render(&self, now: &Gauges) -> String {
        self.held.set(count(&now.held));
        self.open.set(count(&now.open));
        self.live.set(i64::try_from(now.live).unwrap_or(i64::MAX));
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::new();
        if let Err(error) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        {
            tracing::warn!("encoding the metrics: {error}");
        }
        text
    }
}

/// The gauges' values at a scrape.
pub(crate) struct Gauges {
    pub(crate) held: Arc<AtomicUsize>,
    pub(crate) open: Arc<AtomicUsize>,
    pub(crate) live: usize,
}

fn count(value: &AtomicUsize) -> i64 {
    i64::try_from(value.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_every_metric_with_fixed_labels() {
        let metrics = Metrics::new();
        metrics.upstream_call("status", &Ok(HttpResponse::new(200, "{}")));
        metrics.upstream_call("status", &Ok(HttpResponse::new(429, "{}")));
        metrics.upstream_call("list", &Err(EdgegapError::Timeout));
        metrics.budget_wait("status", Duration::from_millis(250));
        metrics.budget_refused("player");
        metrics.ready_notified(Duration::from_millis(30));
        metrics.webhook(WebhookOutcome::Accepted);
        metrics.confirmation(true);
        let text = metrics.render(&Gauges {
            held: Arc::new(AtomicUsize::new(3)),
            open: Arc::new(AtomicUsize::new(5)),
            live: 7,
        });
        for line in [
            "# TYPE edgegap_gateway_upstream_calls_total counter",
            r#"edgegap_gateway_upstream_calls_total{endpoint="status",status="200"} 1"#,
            r#"edgegap_gateway_upstream_calls_total{endpoint="status",status="429"} 1"#,
            r#"edgegap_gateway_upstream_calls_total{endpoint="list",status="timeout"} 1"#,
            r#"edgegap_gateway_budget_waits_total{bucket="status"} 1"#,
            r#"edgegap_gateway_budget_wait_seconds_total{bucket="status"} 0.25"#,
            r#"edgegap_gateway_budget_refusals_total{bucket="player"} 1"#,
            "edgegap_gateway_held_requests 3",
            "edgegap_gateway_open_connections 5",
            "edgegap_gateway_live_deployments 7",
            r#"edgegap_gateway_ready_notify_seconds_bucket{le="0.04"} 1"#,
            "edgegap_gateway_ready_notify_seconds_count 1",
            r#"edgegap_gateway_webhooks_total{outcome="accepted"} 1"#,
            r#"edgegap_gateway_webhook_confirmations_total{result="read"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }
}
