//! Applications (`/v1/app[/{app_name}]`, `/v1/apps`): the app a deployment's versions belong
//! to. Create, read, update, delete and list.

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, HttpResponse, Method, Query, Target, encode_component};
use super::error::EdgegapError;
use super::lenient;
use super::pagination::{list_answer, page_setters, validate_page};
use super::validate;

/// Shortest application name Edgegap accepts.
pub const MIN_APP_NAME_LEN: usize = 3;
/// Longest application name Edgegap accepts.
pub const MAX_APP_NAME_LEN: usize = 64;

/// `/v1/app/{app_name}`.
pub(crate) fn app_path(app_name: &str) -> String {
    format!("/v1/app/{}", encode_component(app_name))
}

/// A name for a new (or renamed) application: [`MIN_APP_NAME_LEN`] to [`MAX_APP_NAME_LEN`]
/// characters (the 2026 spec; the 2024 swagger allowed one).
pub(crate) fn check_app_name(field: &str, name: &str) -> Result<(), EdgegapError> {
    validate::non_empty(field, name)?;
    check_length(field, name, MIN_APP_NAME_LEN, MAX_APP_NAME_LEN)
}

/// `value` is `min..=max` characters long.
pub(crate) fn check_length(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), EdgegapError> {
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(EdgegapError::invalid(
            field,
            format!("is {len} characters long; Edgegap takes {min} to {max}"),
        ))
    }
}

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

    fn target(&self) -> Target {
        Target::Path(app_path(&self.app_name))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)
    }
}

/// `POST /v1/app` with `{"name", "is_active", "image"}`: a new application. `409`: one with
/// this name exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateApp {
    /// The name (3 to 64 characters).
    pub name: String,
    /// Whether its versions can be deployed (default `true`).
    pub is_active: bool,
    /// A logo as base64 (not a container image); empty for none, as Edgegap's plugins send.
    pub image: String,
}

impl CreateApp {
    /// An active application named `name`, without a logo.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            is_active: true,
            image: String::new(),
        }
    }

    /// Whether its versions can be deployed.
    #[must_use]
    pub fn is_active(mut self, active: bool) -> Self {
        self.is_active = active;
        self
    }

    /// Its logo, as base64 without the `data:image/png;base64,` prefix.
    #[must_use]
    pub fn image(mut self, base64: impl Into<String>) -> Self {
        self.image = base64.into();
        self
    }
}

impl Endpoint for CreateApp {
    type Output = Application;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Path("/v1/app".into())
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "name": self.name,
            "is_active": self.is_active,
            "image": self.image,
        }))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_app_name("name", &self.name)
    }
}

/// `PATCH /v1/app/{app_name}`: changes what is set (a new name, `is_active`, the logo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateApp {
    /// The application's current name.
    pub app_name: String,
    /// A new name (3 to 64 characters).
    pub name: Option<String>,
    /// Whether its versions can be deployed.
    pub is_active: Option<bool>,
    /// A new logo, as base64.
    pub image: Option<String>,
}

impl UpdateApp {
    /// A change to `app_name`; set what changes with the builder methods.
    pub fn new(app_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
            name: None,
            is_active: None,
            image: None,
        }
    }

    /// Renames it.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Turns deployments of its versions on or off.
    #[must_use]
    pub fn is_active(mut self, active: bool) -> Self {
        self.is_active = Some(active);
        self
    }

    /// Replaces its logo (base64).
    #[must_use]
    pub fn image(mut self, base64: impl Into<String>) -> Self {
        self.image = Some(base64.into());
        self
    }
}

impl Endpoint for UpdateApp {
    type Output = Application;

    fn method(&self) -> Method {
        Method::Patch
    }
    fn target(&self) -> Target {
        Target::Path(app_path(&self.app_name))
    }
    fn body(&self) -> Option<serde_json::Value> {
        let mut body = serde_json::Map::new();
        if let Some(name) = &self.name {
            body.insert("name".into(), name.clone().into());
        }
        if let Some(active) = self.is_active {
            body.insert("is_active".into(), active.into());
        }
        if let Some(image) = &self.image {
            body.insert("image".into(), image.clone().into());
        }
        Some(serde_json::Value::Object(body))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)?;
        if let Some(name) = &self.name {
            check_app_name("name", name)?;
        }
        Ok(())
    }
}

/// `DELETE /v1/app/{app_name}`: deletes the application **and its versions**; `200` with an
/// empty body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteApp {
    /// The application.
    pub app_name: String,
}

impl DeleteApp {
    /// Deletes `app_name` and its versions.
    pub fn new(app_name: impl Into<String>) -> Self {
        Self {
            app_name: app_name.into(),
        }
    }
}

impl Endpoint for DeleteApp {
    type Output = ();

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        Target::Path(app_path(&self.app_name))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("app_name", &self.app_name)
    }
    fn decode_success(&self, _response: &HttpResponse) -> Result<(), EdgegapError> {
        Ok(())
    }
}

/// `GET /v1/apps?page=&limit=`: the organisation's applications.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListApps {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Page size.
    pub limit: Option<u32>,
}

impl ListApps {
    /// The first page, Edgegap's page size.
    pub fn new() -> Self {
        Self::default()
    }

    page_setters!();
}

impl Endpoint for ListApps {
    type Output = ApplicationList;

    fn target(&self) -> Target {
        Target::Path("/v1/apps".into())
    }
    fn query(&self) -> Vec<(String, String)> {
        Query::new().page(self.page, self.limit).build()
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate_page(self.page, self.limit)
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
    pub create_time: Option<String>,
    /// When it was last changed.
    pub last_updated: Option<String>,
}

list_answer! {
    /// The answer of [`ListApps`]: `applications`, `total_count`, `pagination`.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct ApplicationList {
        /// This page's applications.
        pub applications: Vec<Application>,
    }
}
