//! What the handle hands out: plain snapshots of a deployment and of a request, copied out of
//! the emulator's state (no lock held, nothing shared).

use std::collections::BTreeMap;

use crate::classify::Route;

/// A snapshot of one deployment, as the emulator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeploymentInfo {
    /// The deployment's id (12 lowercase hex characters).
    pub request_id: String,
    /// The application name.
    pub app: String,
    /// The app version name.
    pub version: String,
    /// The current status, `"Status.READY"` etc.
    pub status: String,
    /// Every status it went through, in order, starting with `"Status.INITIALIZING"`.
    pub transitions: Vec<String>,
    /// Its current tags.
    pub tags: Vec<String>,
    /// The injected environment (`ARBITRIUM_*`, then app-version env, then deploy env).
    pub env: BTreeMap<String, String>,
    /// Ports by name: `(internal, external, protocol)`.
    pub ports: BTreeMap<String, (u16, u16, String)>,
    /// The launched process's id (command versions, once launched).
    pub pid: Option<u32>,
    /// The launched process's exit code (128 + signal number when killed by a signal).
    pub exit_code: Option<i32>,
    /// Who stopped it: `"api"`, `"self"`, `"bulk"` or `"exit"` (the process exited on its own).
    pub stopped_by: Option<String>,
    /// The `error_detail` of an errored deployment.
    pub error_detail: Option<String>,
    /// When it became `Status.READY` (the moment its READY webhooks were due), if it did.
    pub ready_at: Option<std::time::SystemTime>,
}

/// One request as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The route it was classified as.
    pub route: Route,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The status answered; 0 while unanswered or when the connection was dropped (`Hang`).
    pub status: u16,
}
