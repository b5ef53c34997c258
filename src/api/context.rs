//! The context API, called from inside a deployment through the injected
//! `ARBITRIUM_CONTEXT_URL` with the raw `ARBITRIUM_CONTEXT_TOKEN`: read the deployment's own
//! context ([`GetContext`]) and add or remove its tags ([`CreateContextTag`] → [`DeploymentTag`],
//! [`DeleteContextTag`]). No API token is needed.
//!
//! ```
//! use bevy_edgegap::api::{Endpoint, GetContext, HttpResponse, Secret};
//!
//! let get = GetContext::new("https://api.edgegap.com/v1/context/9170f5211e17/17", "0123abcd");
//! let request = get.to_request("", &Secret::default()).unwrap();
//! assert_eq!(request.url, "https://api.edgegap.com/v1/context/9170f5211e17/17");
//!
//! let body = r#"{"request_id": "9170f5211e17", "public_ip": "162.254.141.66",
//!                "status": "Status.READY", "ready": true, "fqdn": "9170f5211e17.pr.edgegap.net"}"#;
//! let context = get.decode(&HttpResponse::new(200, body)).unwrap();
//! assert!(context.ready);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::endpoint::{
    Auth, Endpoint, HttpResponse, Method, Target, decode_json_or, encode_component,
};
use super::error::EdgegapError;
use super::ids::{RequestId, Secret};
use super::lenient;
use super::status::{Location, PortMapping, Status};
use super::stop::debug_injected;
use super::tags::DeploymentTag;
use super::validate;
use crate::api::status::reachable;

/// The `GET $ARBITRIUM_CONTEXT_URL` object: the deployment as seen from inside it.
///
/// Lenient like [`DeploymentStatus`](super::DeploymentStatus): every field but `request_id`
/// may be missing, numbers may arrive as strings, and unknown fields land in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeploymentContext {
    /// Deployment id.
    pub request_id: RequestId,
    /// Public IP of the host.
    pub public_ip: Option<String>,
    /// Current state (`"Status.READY"`).
    #[serde(default)]
    pub status: Status,
    /// Whether the deployment is READY.
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub ready: bool,
    /// Whether the access-control list is active.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub whitelisting_active: Option<bool>,
    /// `<request_id>.pr.edgegap.net`.
    pub fqdn: Option<String>,
    /// Ports by name.
    #[serde(default, deserialize_with = "lenient::map_or_null")]
    pub ports: BTreeMap<String, PortMapping>,
    /// Where it runs.
    pub location: Option<Location>,
    /// The deployment's tags, as they are now (unlike `ARBITRIUM_DEPLOYMENT_TAGS`, fixed at start).
    #[serde(default, deserialize_with = "lenient::strings")]
    pub tags: Vec<String>,
    /// Session capacity.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sockets: Option<u64>,
    /// Sessions in use.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sockets_usage: Option<u64>,
    /// Whether sessions may still join (session-based apps).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_joinable_by_session: Option<bool>,
    /// Fields this crate does not model, as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl DeploymentContext {
    reachable!();
}

/// The injected `ARBITRIUM_CONTEXT_URL` and `ARBITRIUM_CONTEXT_TOKEN` are set and usable: the
/// first check of every context call.
fn check_injected(url: &str, token: &Secret) -> Result<(), EdgegapError> {
    validate::injected(
        "ARBITRIUM_CONTEXT_URL",
        Some(url),
        "ARBITRIUM_CONTEXT_TOKEN",
        Some(token),
    )
}

/// `GET $ARBITRIUM_CONTEXT_URL` with `Authorization: $ARBITRIUM_CONTEXT_TOKEN` (raw).
#[derive(Clone, PartialEq, Eq)]
pub struct GetContext {
    /// The injected `ARBITRIUM_CONTEXT_URL`.
    pub url: String,
    /// The injected `ARBITRIUM_CONTEXT_TOKEN`.
    pub token: Secret,
}

impl GetContext {
    /// Reads the context through the injected `url` and `token`.
    pub fn new(url: impl Into<String>, token: impl Into<Secret>) -> Self {
        Self {
            url: url.into(),
            token: token.into(),
        }
    }
}

impl std::fmt::Debug for GetContext {
    /// Hides the URL's secret part ([`redacted_url`](super::redacted_url)) and the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_injected(f, "GetContext", &self.url, &self.token).finish()
    }
}

impl Endpoint for GetContext {
    type Output = DeploymentContext;

    fn target(&self) -> Target {
        Target::Url(self.url.clone())
    }
    fn auth(&self) -> Auth {
        Auth::Raw(self.token.clone())
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_injected(&self.url, &self.token)
    }
}

/// `POST $ARBITRIUM_CONTEXT_URL/tags` with `{"name"}`: tags the deployment itself. Answers the
/// same `{"name", "create_time", "last_updated"}` as the organisation-side tag endpoints.
/// `409` when the tag exists.
#[derive(Clone, PartialEq, Eq)]
pub struct CreateContextTag {
    /// The injected `ARBITRIUM_CONTEXT_URL`.
    pub url: String,
    /// The injected `ARBITRIUM_CONTEXT_TOKEN`.
    pub token: Secret,
    /// The tag to add.
    pub name: String,
}

impl CreateContextTag {
    /// Adds tag `name` through the injected `url` and `token`.
    pub fn new(url: impl Into<String>, token: impl Into<Secret>, name: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: token.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Debug for CreateContextTag {
    /// Hides the URL's secret part ([`redacted_url`](super::redacted_url)) and the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_injected(f, "CreateContextTag", &self.url, &self.token)
            .field("name", &self.name)
            .finish()
    }
}

impl Endpoint for CreateContextTag {
    type Output = DeploymentTag;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Url(format!("{}/tags", self.url.trim_end_matches('/')))
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "name": self.name }))
    }
    fn auth(&self) -> Auth {
        Auth::Raw(self.token.clone())
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_injected(&self.url, &self.token)?;
        validate::tag_name("name", &self.name)
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<DeploymentTag, EdgegapError> {
        decode_json_or(response, || DeploymentTag {
            name: self.name.clone(),
            ..DeploymentTag::default()
        })
    }
}

/// `DELETE $ARBITRIUM_CONTEXT_URL/tags/{name}`: removes one of the deployment's own tags.
/// Any `2xx` is success (the sources do not name one); an empty body is fine.
#[derive(Clone, PartialEq, Eq)]
pub struct DeleteContextTag {
    /// The injected `ARBITRIUM_CONTEXT_URL`.
    pub url: String,
    /// The injected `ARBITRIUM_CONTEXT_TOKEN`.
    pub token: Secret,
    /// The tag to remove.
    pub name: String,
}

impl DeleteContextTag {
    /// Removes tag `name` through the injected `url` and `token`.
    pub fn new(url: impl Into<String>, token: impl Into<Secret>, name: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: token.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Debug for DeleteContextTag {
    /// Hides the URL's secret part ([`redacted_url`](super::redacted_url)) and the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_injected(f, "DeleteContextTag", &self.url, &self.token)
            .field("name", &self.name)
            .finish()
    }
}

impl Endpoint for DeleteContextTag {
    type Output = ();

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        Target::Url(format!(
            "{}/tags/{}",
            self.url.trim_end_matches('/'),
            encode_component(&self.name)
        ))
    }
    fn auth(&self) -> Auth {
        Auth::Raw(self.token.clone())
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_injected(&self.url, &self.token)?;
        validate::tag_name("name", &self.name)
    }
    fn decode_success(&self, _response: &HttpResponse) -> Result<(), EdgegapError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://api.edgegap.com/v1/context/9170f5211e17/17";

    fn no_api_token() -> Secret {
        Secret::default()
    }

    #[test]
    fn get_sends_the_raw_token_to_the_injected_url() {
        let request = GetContext::new(URL, "abc123")
            .to_request("", &no_api_token())
            .unwrap();
        assert_eq!(request.url, URL);
        assert_eq!(request.method, Method::Get);
        assert!(
            request
                .headers
                .iter()
                .any(|(k, v)| k == "Authorization" && v == "abc123")
        );
        assert!(!format!("{request:?}").contains("abc123"));
    }

    #[test]
    fn the_documented_context_decodes() {
        let body = r#"{"request_id": "9170f5211e17", "public_ip": "162.254.141.66", "status": "Status.READY", "ready": true,
 "whitelisting_active": false, "fqdn": "9170f5211e17.pr.edgegap.net",
 "ports": {"gameport": {"external": 31504, "internal": 7777, "protocol": "UDP", "name": "gameport",
                        "tls_upgrade": false, "link": "9170f5211e17.pr.edgegap.net:31504"}},
 "location": {"city": "Montreal", "country": "Canada", "continent": "North America",
              "administrative_division": "Quebec", "timezone": "Eastern Time",
              "latitude": 45.513707, "longitude": -73.619073},
 "tags": ["tag1", "tag2"], "sockets": 5, "sockets_usage": 2, "is_joinable_by_session": true, "new_field": 1}"#;
        let context = GetContext::new(URL, "t")
            .decode(&HttpResponse::new(200, body))
            .unwrap();
        assert_eq!(context.request_id.as_str(), "9170f5211e17");
        assert_eq!(context.status, Status::Ready);
        assert!(context.ready);
        assert_eq!(context.whitelisting_active, Some(false));
        assert_eq!(context.port("gameport").unwrap().external, Some(31504));
        assert_eq!(context.location.unwrap().city.as_deref(), Some("Montreal"));
        assert_eq!(context.tags, ["tag1", "tag2"]);
        assert_eq!((context.sockets, context.sockets_usage), (Some(5), Some(2)));
        assert_eq!(context.is_joinable_by_session, Some(true));
        assert!(context.extra.contains_key("new_field"));
    }

    #[test]
    fn a_sparse_context_with_strings_and_nulls_decodes() {
        let body =
            r#"{"request_id": "x", "ready": null, "ports": null, "tags": null, "sockets": "3"}"#;
        let context = GetContext::new(URL, "t")
            .decode(&HttpResponse::new(200, body))
            .unwrap();
        assert!(!context.ready);
        assert!(context.ports.is_empty() && context.tags.is_empty());
        assert_eq!(context.sockets, Some(3));
    }

    #[test]
    fn tags_go_below_the_context_url() {
        let create = CreateContextTag::new(URL, "t", "full").to_request("", &no_api_token());
        let create = create.unwrap();
        assert_eq!(create.url, format!("{URL}/tags"));
        assert_eq!(create.method, Method::Post);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&create.body).unwrap(),
            serde_json::json!({"name": "full"})
        );
        let delete = DeleteContextTag::new(format!("{URL}/"), "t", "a b")
            .to_request("", &no_api_token())
            .unwrap();
        assert_eq!(delete.url, format!("{URL}/tags/a%20b"));
        assert_eq!(delete.method, Method::Delete);
    }

    #[test]
    fn tag_answers_decode() {
        let tag = CreateContextTag::new(URL, "t", "full")
            .decode(&HttpResponse::new(
                200,
                r#"{"name": "full", "create_time": "2026-04-22 20:30:52.283949", "last_updated": "2026-04-22 20:30:52.283949"}"#,
            ))
            .unwrap();
        assert_eq!(tag.name, "full");
        assert!(tag.create_time.is_some());
        let conflict = CreateContextTag::new(URL, "t", "full")
            .decode(&HttpResponse::new(409, r#"{"message": "exists"}"#))
            .unwrap_err();
        assert_eq!(conflict.status(), Some(409));
        let delete = DeleteContextTag::new(URL, "t", "full");
        assert!(delete.decode(&HttpResponse::new(204, "")).is_ok());
        assert!(delete.decode(&HttpResponse::new(200, "{}")).is_ok());
        assert_eq!(
            delete
                .decode(&HttpResponse::new(404, r#"{"message": "no"}"#))
                .unwrap_err()
                .status(),
            Some(404)
        );
    }

    #[test]
    fn missing_injected_values_are_invalid_and_never_sent() {
        for error in [
            GetContext::new("", "t")
                .to_request("", &no_api_token())
                .unwrap_err(),
            GetContext::new("ftp://x", "t")
                .to_request("", &no_api_token())
                .unwrap_err(),
            GetContext::new(URL, " ")
                .to_request("", &no_api_token())
                .unwrap_err(),
            CreateContextTag::new(URL, "t", "")
                .to_request("", &no_api_token())
                .unwrap_err(),
        ] {
            assert!(!error.may_have_been_sent(), "{error}");
        }
    }
}
