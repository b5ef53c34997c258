//! `deploy`, `status`, `stop`, `logs`, `list`: the engine-free `bevy_edgegap::api` endpoint
//! values, sent with reqwest.

use std::time::{Duration, Instant};

use bevy_edgegap::api::{
    ConnectAddress, ContainerLogs, DeployRequest, DeploymentStatus, DeploymentSummary,
    EdgegapError, Endpoint, GetContainerLogs, GetStatus, HttpRequest, HttpResponse,
    ListDeployments, ListPage, Method, RequestId, Secret, Status, StopDeployment, StopResponse,
    unique_tag,
};
use serde_json::json;

use crate::env::ApiSettings;
use crate::error::{Error, error_chain};
use crate::output::Output;

/// How long one API call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many pages are read by `list` (a server that always says "more" ends).
const MAX_PAGES: u32 = 100;
/// Deployments asked for per page (what the client plugin's and the gateway's walks ask for).
const PAGE_SIZE: u32 = 100;

/// Edgegap's API, as the commands call it.
#[derive(Debug)]
pub struct Api {
    http: reqwest::Client,
    base_url: String,
    token: Secret,
}

impl Api {
    /// A client for `settings`.
    pub fn new(settings: &ApiSettings) -> Result<Self, Error> {
        crate::tls::install_crypto();
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cargo-edgegap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Build(format!("cannot make the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: settings.base_url.clone(),
            token: settings.token.clone(),
        })
    }

    /// Sends `endpoint` and decodes the answer.
    pub async fn call<E: Endpoint>(&self, endpoint: &E) -> Result<E::Output, EdgegapError> {
        let request = endpoint.to_request(&self.base_url, &self.token)?;
        let response = self.send(request).await?;
        endpoint.decode(&response)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, EdgegapError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.http.request(method, &request.url);
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
                EdgegapError::transport(!error.is_connect(), error_chain(&error))
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

/// What `deploy` was asked.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// `--app`.
    pub app: String,
    /// `--version`.
    pub version: String,
    /// `--ip` (players by public IP).
    pub ips: Vec<String>,
    /// `--geo` (players by coordinates).
    pub geo: Vec<(f64, f64)>,
    /// `--tag`.
    pub tags: Vec<String>,
    /// `--wait`: follow it to READY.
    pub wait: bool,
    /// `--timeout` for `--wait`.
    pub timeout: Duration,
    /// Time between two status reads while waiting.
    pub interval: Duration,
}

/// `deploy`: asks for a deployment; with `wait`, prints each status as it changes and then
/// the addresses players connect to. The deployment carries a tag of its own (`cli-` and 16
/// hex digits): when the answer to the deploy is lost, the deployment is found by it.
pub async fn deploy(api: &Api, options: &DeployOptions, out: &Output) -> Result<(), Error> {
    let mut request = DeployRequest::new(&options.app, &options.version);
    for ip in &options.ips {
        request = request.user_ip(ip);
    }
    for (lat, lon) in &options.geo {
        request = request.user_geo(*lat, *lon);
    }
    for tag in &options.tags {
        request = request.tag(tag);
    }
    // A tag of this deploy's own: a deploy whose answer is lost is found by it, never left
    // running unknown.
    let marker = unique_tag("cli-");
    request = request.tag(&marker);
    let id = match api.call(&request).await {
        Ok(answer) => answer.request_id,
        // A 422 that names its deployment says what was made (reported below, in ERROR).
        Err(error) if error.outcome_unknown() && error.request_id().is_none() => {
            out.step(&format!(
                "the deploy's answer was lost ({error}); looking for a deployment tagged `{marker}`"
            ));
            find_tagged(api, &marker).await?.ok_or_else(|| {
                Error::Deployment(format!(
                    "the deploy may not have been made ({error}), and no deployment carries its tag `{marker}`: check with `cargo edgegap list` before deploying again"
                ))
            })?
        }
        Err(error) => return Err(error.into()),
    };
    out.step(&format!(
        "deployment `{id}` of `{}` version `{}` requested",
        options.app, options.version
    ));
    if !options.wait {
        if out.json() {
            out.result_json(&json!({"request_id": id}));
        } else {
            out.result(&format!(
                "{id}\nfollow it with `cargo edgegap status {id}`, stop it with `cargo edgegap stop {id}`"
            ));
        }
        return Ok(());
    }
    let started = Instant::now();
    let deadline = started + options.timeout;
    let mut last: Option<Status> = None;
    loop {
        match api.call(&GetStatus::new(&id)).await {
            Ok(status) => {
                if last.as_ref() != Some(&status.current_status) {
                    out.step(&format!(
                        "[{:>6.1}s] {}",
                        started.elapsed().as_secs_f64(),
                        status.current_status
                    ));
                    last = Some(status.current_status.clone());
                }
                if status.is_ready() {
                    print_ready(&status, out);
                    return Ok(());
                }
                if status.current_status.is_terminal() {
                    let detail = status.error_detail.as_deref().unwrap_or("no detail given");
                    return Err(Error::Deployment(format!(
                        "deployment `{id}` ended as {} before READY: {detail} (its logs: `cargo edgegap logs {id}`)",
                        status.current_status
                    )));
                }
            }
            Err(error) if error.is_transient() => {
                // A failed read says nothing about the deployment: read again until the deadline.
                out.step(&format!(
                    "status of `{id}` not read ({error}); trying again"
                ));
            }
            Err(error) => return Err(error.into()),
        }
        if Instant::now() >= deadline {
            return Err(Error::Deployment(format!(
                "deployment `{id}` is not READY after {}s and keeps running: `cargo edgegap stop {id}` stops it",
                options.timeout.as_secs()
            )));
        }
        tokio::time::sleep(options.interval.min(deadline - Instant::now())).await;
    }
}

/// The deployment carrying `tag`, looked for a few times (a new deployment may take a moment
/// to be listed).
async fn find_tagged(api: &Api, tag: &str) -> Result<Option<RequestId>, Error> {
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let found = all_deployments(api)
            .await?
            .into_iter()
            .find(|d| d.tags.iter().any(|t| t == tag));
        if let Some(deployment) = found {
            return Ok(Some(deployment.request_id));
        }
    }
    Ok(None)
}

/// Every active deployment, all pages (at most [`MAX_PAGES`]), walked by
/// [`ListPage::next_page`] as the client plugin and the gateway walk them.
async fn all_deployments(api: &Api) -> Result<Vec<DeploymentSummary>, Error> {
    let mut all: Vec<DeploymentSummary> = Vec::new();
    let mut page = 1;
    for _ in 0..MAX_PAGES {
        let answer = api
            .call(&ListDeployments::new().page(page).limit(PAGE_SIZE))
            .await?;
        let next = answer.next_page(page, PAGE_SIZE);
        all.extend(answer.data);
        match next {
            Some(next) => page = next,
            None => break,
        }
    }
    Ok(all)
}

/// The ports of a deployment as `name → address (protocol)`, sorted by name.
fn addresses(status: &DeploymentStatus) -> Vec<(String, ConnectAddress, String)> {
    status
        .ports
        .iter()
        .filter_map(|(name, mapping)| {
            Some((
                name.clone(),
                status.address(name)?,
                mapping.protocol.clone().unwrap_or_default(),
            ))
        })
        .collect()
}

fn print_ready(status: &DeploymentStatus, out: &Output) {
    let ports = addresses(status);
    if out.json() {
        let map: serde_json::Map<String, serde_json::Value> = ports
            .iter()
            .map(|(name, address, _)| (name.clone(), json!(address.to_string())))
            .collect();
        out.result_json(&json!({
            "request_id": status.request_id,
            "status": status.current_status,
            "addresses": map,
            "deployment": status,
        }));
        return;
    }
    out.result(&format!("`{}` is READY", status.request_id));
    if ports.is_empty() {
        out.result("  (no ports mapped)");
    }
    for (name, address, protocol) in ports {
        out.result(&format!("  {name}: {address} {protocol}"));
    }
}

/// `status ID`.
pub async fn status(api: &Api, id: &str, out: &Output) -> Result<(), Error> {
    let status = api.call(&GetStatus::new(id)).await?;
    if out.json() {
        out.result_json(&json!(status));
        return Ok(());
    }
    let what = match (&status.app_name, &status.app_version) {
        (Some(app), Some(version)) => format!(" (`{app}` version `{version}`)"),
        _ => String::new(),
    };
    out.result(&format!(
        "`{}`{what}: {}",
        status.request_id, status.current_status
    ));
    for (name, address, protocol) in addresses(&status) {
        out.result(&format!("  {name}: {address} {protocol}"));
    }
    if let Some(detail) = status.error_detail.as_deref().filter(|d| !d.is_empty()) {
        out.result(&format!("  error: {detail}"));
    }
    Ok(())
}

/// `stop ID`: a deployment already stopped counts as stopped.
pub async fn stop(api: &Api, id: &str, out: &Output) -> Result<(), Error> {
    let (line, json) = match api.call(&StopDeployment::new(id)).await {
        Ok(answer) => stopped(id, &answer),
        Err(error) if error.is_already_terminated() => (
            format!("`{id}` was already stopped"),
            json!({"request_id": id, "stopped": true, "already_terminated": true}),
        ),
        Err(error) => return Err(error.into()),
    };
    if out.json() {
        out.result_json(&json);
    } else {
        out.result(&line);
    }
    Ok(())
}

fn stopped(id: &str, answer: &StopResponse) -> (String, serde_json::Value) {
    let line = if answer.is_deferred() {
        format!("`{id}` is not READY yet: Edgegap stops it once it is READY or in ERROR")
    } else {
        format!("`{id}` is stopping")
    };
    (
        line,
        json!({
            "request_id": id,
            "stopped": true,
            "deferred": answer.is_deferred(),
            "message": answer.message,
        }),
    )
}

/// `logs ID`: the container's output.
pub async fn logs(api: &Api, id: &str, out: &Output) -> Result<(), Error> {
    let logs: ContainerLogs = api.call(&GetContainerLogs::new(id)).await?;
    if out.json() {
        out.result_json(&json!(logs));
        return Ok(());
    }
    out.result(logs.logs.as_deref().unwrap_or("").trim_end());
    if let Some(crash) = logs.crash_logs.as_deref().filter(|l| !l.trim().is_empty()) {
        out.result("--- crash logs ---");
        out.result(crash.trim_end());
    }
    if let Some(data) = &logs.crash_data {
        out.result(&format!(
            "--- crashed: exit code {}, {}, {} restart(s) ---",
            data.exit_code.map_or("?".into(), |c| c.to_string()),
            data.message.as_deref().unwrap_or("no message"),
            data.restart_count.unwrap_or(0)
        ));
    }
    Ok(())
}

/// `list`: every active deployment, all pages.
pub async fn list(api: &Api, out: &Output) -> Result<(), Error> {
    let all = all_deployments(api).await?;
    if out.json() {
        out.result_json(&json!({"deployments": all, "count": all.len()}));
        return Ok(());
    }
    for deployment in &all {
        let state = if deployment.is_ready() {
            "ready"
        } else {
            "starting"
        };
        let ports: Vec<String> = deployment
            .ports
            .keys()
            .filter_map(|name| Some(format!("{name}={}", deployment.address(name)?)))
            .collect();
        out.result(&format!(
            "{}  {state:<8}  {}  {}",
            deployment.request_id,
            ports.join(" "),
            deployment.tags.join(",")
        ));
    }
    out.result(&format!("{} deployment(s)", all.len()));
    Ok(())
}
