//! Deployment tags (`/v1/deployments/{request_id}/tags[/{name}]`). Changing tags does not
//! change a running container's `ARBITRIUM_DEPLOYMENT_TAGS`.

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, HttpResponse, Method, Target, encode_component};
use super::error::EdgegapError;
use super::ids::RequestId;
use super::lenient;
use super::pagination::paged_list;
use super::pagination::{Pagination, list_page};
use super::validate;

fn tags_path(request_id: &RequestId) -> String {
    format!(
        "/v1/deployments/{}/tags",
        encode_component(request_id.as_str())
    )
}

fn tag_path(request_id: &RequestId, name: &str) -> String {
    format!("{}/{}", tags_path(request_id), encode_component(name))
}

/// The checks of a request naming tag `name` of deployment `request_id`.
fn check_tag(request_id: &RequestId, name: &str) -> Result<(), EdgegapError> {
    validate::request_id(request_id)?;
    validate::tag_name("name", name)
}

/// A deployment tag (`DeploymentTagResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeploymentTag {
    /// The tag.
    pub name: String,
    /// When it was created (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC).
    pub create_time: Option<String>,
    /// When it was last changed.
    pub last_updated: Option<String>,
}

/// The answer of the tag list: `total_count` and full pagination (OAS1 2026) or `count` and
/// `pagination: {}` (2024 swagger).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TagList {
    /// This page's tags.
    #[serde(deserialize_with = "lenient::vec_or_null")]
    pub tags: Vec<DeploymentTag>,
    /// Total across pages (2026).
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub total_count: Option<u64>,
    /// Count (2024).
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub count: Option<u64>,
    /// Pagination.
    pub pagination: Option<Pagination>,
}

impl TagList {
    /// `total_count`, else `count`.
    pub fn total(&self) -> Option<u64> {
        self.total_count.or(self.count)
    }
}

list_page!(TagList, tags, TagList::total);

paged_list! {
    /// `GET /v1/deployments/{request_id}/tags`.
    pub struct ListTags {
        /// The deployment.
        pub request_id: RequestId,
    } -> TagList;
    path: tags_path;
    check: validate::request_id;
}

/// `GET /v1/deployments/{request_id}/tags/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetTag {
    /// The deployment.
    pub request_id: RequestId,
    /// The tag.
    pub name: String,
}

impl GetTag {
    /// Tag `name` of `request_id`.
    pub fn new(request_id: impl Into<RequestId>, name: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            name: name.into(),
        }
    }
}

impl Endpoint for GetTag {
    type Output = DeploymentTag;

    fn target(&self) -> Target {
        Target::Path(tag_path(&self.request_id, &self.name))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_tag(&self.request_id, &self.name)
    }
}

/// `POST /v1/deployments/{request_id}/tags` with `{"name"}`. `409`: the tag exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTag {
    /// The deployment.
    pub request_id: RequestId,
    /// The new tag (1 to 40 characters).
    pub name: String,
}

impl CreateTag {
    /// Adds tag `name` to `request_id`.
    pub fn new(request_id: impl Into<RequestId>, name: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            name: name.into(),
        }
    }
}

impl Endpoint for CreateTag {
    type Output = DeploymentTag;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        Target::Path(tags_path(&self.request_id))
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "name": self.name }))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_tag(&self.request_id, &self.name)
    }
}

/// `PATCH /v1/deployments/{request_id}/tags/{name}` with `{"name": new_name}`: renames a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateTag {
    /// The deployment.
    pub request_id: RequestId,
    /// The tag's current name.
    pub name: String,
    /// Its new name (1 to 40 characters).
    pub new_name: String,
}

impl UpdateTag {
    /// Renames tag `name` of `request_id` to `new_name`.
    pub fn new(
        request_id: impl Into<RequestId>,
        name: impl Into<String>,
        new_name: impl Into<String>,
    ) -> Self {
        Self {
            request_id: request_id.into(),
            name: name.into(),
            new_name: new_name.into(),
        }
    }
}

impl Endpoint for UpdateTag {
    type Output = DeploymentTag;

    fn method(&self) -> Method {
        Method::Patch
    }
    fn target(&self) -> Target {
        Target::Path(tag_path(&self.request_id, &self.name))
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "name": self.new_name }))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_tag(&self.request_id, &self.name)?;
        validate::tag_name("new_name", &self.new_name)
    }
}

/// `DELETE /v1/deployments/{request_id}/tags/{name}`: `204`, no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTag {
    /// The deployment.
    pub request_id: RequestId,
    /// The tag.
    pub name: String,
}

impl DeleteTag {
    /// Removes tag `name` from `request_id`.
    pub fn new(request_id: impl Into<RequestId>, name: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            name: name.into(),
        }
    }
}

impl Endpoint for DeleteTag {
    type Output = ();

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        Target::Path(tag_path(&self.request_id, &self.name))
    }
    fn is_success(&self, status: u16) -> bool {
        status == 204
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_tag(&self.request_id, &self.name)
    }
    fn decode_success(&self, _response: &HttpResponse) -> Result<(), EdgegapError> {
        Ok(())
    }
}
