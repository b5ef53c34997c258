//! Stop (`DELETE /v1/stop/{id}`) and self-stop (the injected `ARBITRIUM_DELETE_URL`).

use serde::{Deserialize, Serialize};

use super::endpoint::{
    Auth, Endpoint, HttpResponse, Method, Query, Target, decode_json, encode_component, is_blank,
};
use super::error::EdgegapError;
use super::ids::{RequestId, Secret};
use super::status::DeploymentStatus;
use super::validate;

/// What to do with the container logs on stop (`container_log_storage` query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerLogStorage {
    /// `true`: use the endpoint storage linked to the app version.
    Enabled,
    /// `false`: do not store logs for this stop.
    Disabled,
    /// The name of an endpoint storage to upload the logs to.
    Endpoint(String),
}

impl ContainerLogStorage {
    fn as_query(&self) -> &str {
        match self {
            Self::Enabled => "true",
            Self::Disabled => "false",
            Self::Endpoint(name) => name,
        }
    }
}

/// The query of a stop or self-stop.
fn log_storage_query(storage: Option<&ContainerLogStorage>) -> Vec<(String, String)> {
    Query::new()
        .opt(
            "container_log_storage",
            storage.map(ContainerLogStorage::as_query),
        )
        .build()
}

/// The answer of a stop or self-stop: `200` with a summary, or `202` (applied once the
/// deployment reaches READY or ERROR).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StopResponse {
    /// E.g. `"Instance 93924761ccde will be deleted"`.
    pub message: Option<String>,
    /// The deployment's status when the stop was accepted (200 only).
    pub deployment_summary: Option<DeploymentStatus>,
    /// The HTTP status: 200 (stopping now) or 202 (stop deferred until READY/ERROR).
    #[serde(skip)]
    pub http_status: u16,
}

impl StopResponse {
    /// `202`: the deployment was not READY yet; Edgegap stops it once READY or ERROR.
    pub fn is_deferred(&self) -> bool {
        self.http_status == 202
    }
}

fn decode_stop(response: &HttpResponse) -> Result<StopResponse, EdgegapError> {
    let mut out = if is_blank(response) {
        StopResponse::default()
    } else {
        match decode_json::<StopResponse>(response) {
            Ok(out) => out,
            // The stop was accepted; a summary in an unexpected shape must not turn that into
            // an error. Keep the message, drop the summary.
            Err(err) => match serde_json::from_slice::<serde_json::Value>(&response.body) {
                Ok(serde_json::Value::Object(map)) => StopResponse {
                    message: map
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_owned),
                    ..StopResponse::default()
                },
                _ => return Err(err),
            },
        }
    };
    out.http_status = response.status;
    Ok(out)
}

/// `DELETE /v1/stop/{request_id}`. `410` (already terminated) decodes as an
/// [`EdgegapError::Api`] for which [`EdgegapError::is_already_terminated`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopDeployment {
    /// The deployment.
    pub request_id: RequestId,
    /// Log storage for this stop.
    pub container_log_storage: Option<ContainerLogStorage>,
}

impl StopDeployment {
    /// Stop `request_id`.
    pub fn new(request_id: impl Into<RequestId>) -> Self {
        Self {
            request_id: request_id.into(),
            container_log_storage: None,
        }
    }

    /// Sets `container_log_storage`.
    #[must_use]
    pub fn container_log_storage(mut self, storage: ContainerLogStorage) -> Self {
        self.container_log_storage = Some(storage);
        self
    }
}

impl Endpoint for StopDeployment {
    type Output = StopResponse;

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        Target::Path(format!(
            "/v1/stop/{}",
            encode_component(self.request_id.as_str())
        ))
    }
    fn query(&self) -> Vec<(String, String)> {
        log_storage_query(self.container_log_storage.as_ref())
    }
    fn is_success(&self, status: u16) -> bool {
        status == 200 || status == 202
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::request_id(&self.request_id)
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<StopResponse, EdgegapError> {
        decode_stop(response)
    }
}

/// An injected URL with its secret parts hidden, for logs and `Debug`: `scheme://host[:port]`,
/// then `/***` for the rest. The path holds secrets (the self-stop key, the context's security
/// number), and so may a query or user info.
///
/// ```
/// use bevy_edgegap::api::redacted_url;
///
/// assert_eq!(
///     redacted_url("https://api.edgegap.com/v1/self/stop/f68e011bfb01/463660"),
///     "https://api.edgegap.com/***"
/// );
/// assert_eq!(redacted_url("http://user:pw@127.0.0.1:8080"), "http://127.0.0.1:8080");
/// assert_eq!(redacted_url("not a url"), "***");
/// ```
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if rest.len() > authority.len() {
        format!("{scheme}://{host}/***")
    } else {
        format!("{scheme}://{host}")
    }
}

/// `Debug` of an injected URL: [`redacted_url`].
pub(crate) struct RedactedUrl<'a>(pub &'a str);

impl std::fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&redacted_url(self.0), f)
    }
}

/// The `Debug` of an endpoint called through an injected URL and token (self-stop, context),
/// up to its other fields: `name { url, token }` with the URL's secret part
/// ([`redacted_url`]) and the token hidden. The caller adds its other fields and finishes.
pub(crate) fn debug_injected<'a, 'b: 'a>(
    f: &'a mut std::fmt::Formatter<'b>,
    name: &str,
    url: &str,
    token: &Secret,
) -> std::fmt::DebugStruct<'a, 'b> {
    let mut out = f.debug_struct(name);
    out.field("url", &RedactedUrl(url)).field("token", token);
    out
}

/// `DELETE $ARBITRIUM_DELETE_URL` with `Authorization: $ARBITRIUM_DELETE_TOKEN` (raw), from
/// inside the deployment. Needs no API token. `Debug` hides the URL's secret part
/// ([`redacted_url`]) and the token.
///
/// Named after the operation ("Self-Stop Deployment"); the server plugin's
/// `server::SelfStop` is the message that sends it. Formerly `api::SelfStop`.
#[doc(alias = "SelfStop")]
#[derive(Clone, PartialEq, Eq)]
pub struct SelfStopDeployment {
    /// The injected `ARBITRIUM_DELETE_URL`.
    pub url: String,
    /// The injected `ARBITRIUM_DELETE_TOKEN`.
    pub token: Secret,
    /// Log storage for this stop.
    pub container_log_storage: Option<ContainerLogStorage>,
}

impl SelfStopDeployment {
    /// A self-stop through the injected `url` and `token`.
    pub fn new(url: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self {
            url: url.into(),
            token: token.into(),
            container_log_storage: None,
        }
    }
}

impl std::fmt::Debug for SelfStopDeployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_injected(f, "SelfStopDeployment", &self.url, &self.token)
            .field("container_log_storage", &self.container_log_storage)
            .finish()
    }
}

impl Endpoint for SelfStopDeployment {
    type Output = StopResponse;

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        Target::Url(self.url.clone())
    }
    fn query(&self) -> Vec<(String, String)> {
        log_storage_query(self.container_log_storage.as_ref())
    }
    fn auth(&self) -> Auth {
        Auth::Raw(self.token.clone())
    }
    fn is_success(&self, status: u16) -> bool {
        status == 200 || status == 202
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::injected(
            "ARBITRIUM_DELETE_URL",
            Some(&self.url),
            "ARBITRIUM_DELETE_TOKEN",
            Some(&self.token),
        )
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<StopResponse, EdgegapError> {
        // OAS1 leaves the 200 schema `{}`; anything undecodable still means "accepted".
        Ok(decode_stop(response).unwrap_or(StopResponse {
            http_status: response.status,
            ..StopResponse::default()
        }))
    }
}
