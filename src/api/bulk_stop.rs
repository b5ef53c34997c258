//! Bulk stop (`POST /v1/deployments/bulk-stop`).

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, HttpResponse, Method, Target, decode_json_or};
use super::error::EdgegapError;
use super::filter::FilterType;
use super::ids::RequestId;
use super::lenient;
use super::validate;

/// What a bulk-stop filter matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStopField {
    /// `request_id`
    RequestId,
    /// `deployment_tags`
    DeploymentTags,
}

/// One `filters[]` entry of a bulk stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkStopFilter {
    /// What it matches on.
    pub field: BulkStopField,
    /// How it matches `values`.
    pub filter_type: FilterType,
    /// Ids or tags.
    pub values: Vec<String>,
}

/// `POST /v1/deployments/bulk-stop`: stops every deployment matching all `filters`.
///
/// At least one filter is required client-side, so an empty request never reaches Edgegap.
/// Sending it twice is harmless, so it counts as idempotent for retries.
///
/// ```
/// use bevy_edgegap::api::{BulkStop, FilterType};
///
/// let stop = BulkStop::new()
///     .request_ids(FilterType::Any, ["c0653765de3b", "61b1be8f54d9"])
///     .tags(FilterType::All, ["mcp-test"]);
/// assert_eq!(stop.filters.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BulkStop {
    /// The filters (ANDed).
    pub filters: Vec<BulkStopFilter>,
}

impl BulkStop {
    /// A bulk stop with no filters yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter.
    #[must_use]
    pub fn filter<I, S>(mut self, field: BulkStopField, filter_type: FilterType, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filters.push(BulkStopFilter {
            field,
            filter_type,
            values: values.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Adds a filter on `request_id`.
    #[must_use]
    pub fn request_ids<I, S>(self, filter_type: FilterType, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filter(BulkStopField::RequestId, filter_type, ids)
    }

    /// Adds a filter on `deployment_tags`.
    #[must_use]
    pub fn tags<I, S>(self, filter_type: FilterType, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filter(BulkStopField::DeploymentTags, filter_type, tags)
    }
}

/// One deployment a bulk stop will stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessableDeployment {
    /// Its id.
    pub request_id: RequestId,
}

/// The answer of a bulk stop (`200` in the 2024 swagger, `202` in OAS1 2026).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BulkStopResponse {
    /// The deployments that will be stopped.
    #[serde(deserialize_with = "lenient::vec_or_null")]
    pub processable: Vec<ProcessableDeployment>,
}

impl Endpoint for BulkStop {
    type Output = BulkStopResponse;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Path("/v1/deployments/bulk-stop".into())
    }
    fn body(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
    fn idempotent(&self) -> bool {
        true
    }
    fn is_success(&self, status: u16) -> bool {
        status == 200 || status == 202
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        if self.filters.is_empty() {
            return Err(EdgegapError::invalid(
                "filters",
                "needs at least one filter (request_ids or tags)",
            ));
        }
        for (i, filter) in self.filters.iter().enumerate() {
            if filter.values.is_empty() {
                return Err(EdgegapError::invalid(
                    format!("filters[{i}].values"),
                    "needs at least one value",
                ));
            }
            for (j, value) in filter.values.iter().enumerate() {
                validate::non_empty(&format!("filters[{i}].values[{j}]"), value)?;
            }
        }
        Ok(())
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<BulkStopResponse, EdgegapError> {
        decode_json_or(response, BulkStopResponse::default)
    }
}
