//! List locations (`GET /v1/locations`).

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, Query, Target};
use super::error::EdgegapError;
use super::lenient;
use super::pagination::list_page;
use super::pagination::page_setters;
use super::pagination::{Pagination, validate_page};
use super::status::Location;
use super::validate;

/// `GET /v1/locations`: where deployments can run, optionally only those with capacity for an
/// app version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListLocations {
    /// Only locations with capacity for this app (`app`).
    pub app: Option<String>,
    /// … at this version (`version`).
    pub version: Option<String>,
    /// Location type (`type`, e.g. `standard`; 2024 swagger only).
    pub location_type: Option<String>,
    /// Include location tags (`tags=true`; 2024 swagger only).
    pub tags: Option<bool>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Page size.
    pub limit: Option<u32>,
}

impl ListLocations {
    /// Every location, first page.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Only locations with capacity for `app`.
    #[must_use]
    pub fn app(mut self, app: impl Into<String>) -> Self {
        self.app = Some(app.into());
        self
    }

    /// … at `version`.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Only locations of this type.
    #[must_use]
    pub fn location_type(mut self, location_type: impl Into<String>) -> Self {
        self.location_type = Some(location_type.into());
        self
    }

    /// Whether to include location tags.
    #[must_use]
    pub fn tags(mut self, include: bool) -> Self {
        self.tags = Some(include);
        self
    }

    page_setters!();
}

impl Endpoint for ListLocations {
    type Output = LocationList;

    fn target(&self) -> Target {
        Target::Path("/v1/locations".into())
    }
    fn query(&self) -> Vec<(String, String)> {
        Query::new()
            .opt("app", self.app.as_ref())
            .opt("version", self.version.as_ref())
            .opt("type", self.location_type.as_ref())
            .opt("tags", self.tags)
            .page(self.page, self.limit)
            .build()
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        if let Some(app) = &self.app {
            validate::non_empty("app", app)?;
        }
        if let Some(version) = &self.version {
            validate::non_empty("version", version)?;
            if self.app.is_none() {
                return Err(EdgegapError::invalid(
                    "version",
                    "needs `app` as well: a version belongs to an app",
                ));
            }
        }
        validate_page(self.page, self.limit)
    }
}

/// A `{key, value}` location tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationTag {
    /// Key.
    #[serde(deserialize_with = "opt_text")]
    pub key: String,
    /// Value.
    #[serde(deserialize_with = "opt_text")]
    pub value: String,
}

fn opt_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient::opt_string(d)?.unwrap_or_default())
}

/// One location of `GET /v1/locations`: the shared [`Location`] model plus the location's type
/// and tags.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationInfo {
    /// City, country, continent, division, time zone and coordinates.
    #[serde(flatten)]
    pub location: Location,
    /// Location type (`type`, e.g. `standard`).
    #[serde(rename = "type")]
    pub location_type: Option<String>,
    /// Location tags (when asked for with [`ListLocations::tags`]).
    #[serde(deserialize_with = "lenient::vec_or_null")]
    pub tags: Vec<LocationTag>,
}

/// The answer of `GET /v1/locations`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationList {
    /// The locations.
    #[serde(deserialize_with = "lenient::vec_or_null")]
    pub locations: Vec<LocationInfo>,
    /// Additional information.
    #[serde(deserialize_with = "lenient::strings")]
    pub messages: Vec<String>,
    /// Total across pages.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub total_count: Option<u64>,
    /// Pagination.
    pub pagination: Option<Pagination>,
}

list_page!(LocationList, locations);
