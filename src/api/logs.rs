//! Container logs (`GET /v1/deployment/{request_id}/container-logs`).

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, Target, encode_component};
use super::error::EdgegapError;
use super::ids::RequestId;
use super::lenient;
use super::validate;

/// `GET /v1/deployment/{request_id}/container-logs` (singular `deployment`). Logs are
/// available while the deployment runs, or later from endpoint storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetContainerLogs {
    /// The deployment.
    pub request_id: RequestId,
}

impl GetContainerLogs {
    /// Logs of `request_id`.
    pub fn new(request_id: impl Into<RequestId>) -> Self {
        Self {
            request_id: request_id.into(),
        }
    }
}

impl Endpoint for GetContainerLogs {
    type Output = ContainerLogs;

    fn target(&self) -> Target {
        Target::Path(format!(
            "/v1/deployment/{}/container-logs",
            encode_component(self.request_id.as_str())
        ))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::request_id(&self.request_id)
    }
}

/// What Edgegap knows about a crash (`crash_data`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CrashData {
    /// The container's exit code.
    #[serde(deserialize_with = "lenient::opt_i64")]
    pub exit_code: Option<i64>,
    /// E.g. `"OOM killed"`.
    pub message: Option<String>,
    /// How many times the container restarted.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub restart_count: Option<u64>,
}

/// The answer of the container-logs endpoint. Every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerLogs {
    /// stdout and stderr, as text.
    pub logs: Option<String>,
    /// E.g. `"utf-8"`.
    pub encoding: Option<String>,
    /// Logs of the crashed run.
    pub crash_logs: Option<String>,
    /// Crash details.
    pub crash_data: Option<CrashData>,
    /// Link to the logs in endpoint storage.
    pub logs_link: Option<String>,
}
