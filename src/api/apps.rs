//! Applications (`/v1/app/{app_name}`): the app a deployment's versions belong to.

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, HttpResponse, Method, Target, decode_json, encode_component};
use super::error::EdgegapError;
use super::lenient;
use super::validate;

/// `GET /v1/app/{app_name}`: one application. `404` when there is none, which is how a release
/// tool learns that it has to create the app first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetApp {
    /// The application's name.
    pub app_name: String,
}

impl GetApp {
    /// The application `app_name`.
    pub fn new(app_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
        }
    }
}

impl Endpoint for GetApp {
    type Output = Application;

    fn method(&self) -> Method {
        Method::Get
    }
    fn target(&self) -> Target {
        Target::Path(format!("/v1/app/{}", encode_component(&self.app_name)))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<Application, EdgegapError> {
        decode_json(response)
    }
}

/// An application (`Application`). Only `name` is required here: the 2026 spec requires every
/// key, the 2024 swagger not `image`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Application {
    /// The application's name (3 to 64 characters).
    pub name: String,
    /// Whether it can be deployed.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_active: Option<bool>,
    /// The application's logo as base64 (not a container image).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub image: Option<String>,
    /// When it was created (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC).
    #[serde(default)]
    pub create_time: Option<String>,
    /// When it was last changed.
    #[serde(default)]
    pub last_updated: Option<String>,
}
