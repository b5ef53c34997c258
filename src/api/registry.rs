//! Edgegap's container registry through the API
//! (`/v1/container-registry/images/{image_name}/tags[/{tag_name}]`): the tags of an image
//! pushed to `registry.edgegap.com`, listed and deleted.
//!
//! `image_name` is the image's name in the registry project. Edgegap's spec gives
//! `<project>/<image>` as its example, and a third-party client reports that only the bare
//! `<image>` works (the project comes from the token): both are sent as given, each `/`
//! kept as a path separator.

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, HttpResponse, Method, Target, decode_json_or, encode_component};
use super::error::EdgegapError;
use super::lenient;
use super::pagination::{list_answer, paged_list};
use super::validate;

/// `/v1/container-registry/images/{image_name}/tags`, each segment of the name encoded.
fn tags_path(image_name: &str) -> String {
    let name: Vec<String> = image_name.split('/').map(encode_component).collect();
    format!("/v1/container-registry/images/{}/tags", name.join("/"))
}

/// An image name: `/`-separated segments, none empty, `.` or `..` (each is a path segment).
fn check_image_name(name: &str) -> Result<(), EdgegapError> {
    validate::non_empty("image_name", name)?;
    if name
        .split('/')
        .any(|part| part.trim().is_empty() || part == "." || part == "..")
    {
        return Err(EdgegapError::invalid(
            "image_name",
            "has an empty, `.` or `..` segment",
        ));
    }
    Ok(())
}

/// A registry tag name: non-empty, without `/`, not `.` or `..`.
fn check_tag(tag: &str) -> Result<(), EdgegapError> {
    validate::non_empty("tag_name", tag)?;
    if tag.contains('/') || tag == "." || tag == ".." {
        return Err(EdgegapError::invalid(
            "tag_name",
            "must not contain `/` or be `.` or `..`",
        ));
    }
    Ok(())
}

paged_list! {
    /// `GET /v1/container-registry/images/{image_name}/tags?page=&limit=`: the image's tags,
    /// newest push first as Edgegap lists them.
    pub struct ListImageTags {
        /// The image (`my-game-server`, or `<project>/my-game-server`).
        pub image_name: String,
    } -> ImageTagList;
    path: tags_path;
    check: check_image_name;
}

/// `DELETE /v1/container-registry/images/{image_name}/tags/{tag_name}`: deletes the tag and
/// the image it points to (an app version naming it can no longer be deployed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteImageTag {
    /// The image.
    pub image_name: String,
    /// The tag.
    pub tag_name: String,
}

impl DeleteImageTag {
    /// Deletes tag `tag_name` of `image_name`.
    pub fn new(image_name: impl Into<String>, tag_name: impl Into<String>) -> Self {
        Self {
            image_name: image_name.into(),
            tag_name: tag_name.into(),
        }
    }
}

impl Endpoint for DeleteImageTag {
    type Output = DeletedImageTag;

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        Target::Path(format!(
            "{}/{}",
            tags_path(&self.image_name),
            encode_component(&self.tag_name)
        ))
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        check_image_name(&self.image_name)?;
        check_tag(&self.tag_name)
    }
    fn decode_success(&self, response: &HttpResponse) -> Result<DeletedImageTag, EdgegapError> {
        decode_json_or(response, DeletedImageTag::default)
    }
}

/// The image a tag points to (`artifact`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Artifact {
    /// Whether the image itself is deleted (no tag left on it).
    #[serde(deserialize_with = "lenient::opt_bool")]
    pub artifact_deleted: Option<bool>,
    /// The image's digest (`sha256:…`).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub image_hash: Option<String>,
    /// Its size in MB.
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub size_mb: Option<f64>,
    /// Every tag on the image.
    #[serde(deserialize_with = "lenient::strings")]
    pub remaining_tags: Vec<String>,
}

/// One tag of [`ImageTagList`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImageTag {
    /// The tag.
    pub tag: String,
    /// When it was last pushed (`YYYY-MM-DD HH:MM:SS.ffffff`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub last_push_at: Option<String>,
    /// The image it points to.
    pub artifact: Option<Artifact>,
}

list_answer! {
    /// The answer of [`ListImageTags`]: `data`, and the list's `total_count` and `pagination`
    /// when Edgegap sends them.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    pub struct ImageTagList {
        /// This page's tags.
        pub data: Vec<ImageTag>,
    }
}

/// The answer of [`DeleteImageTag`]: `{"artifact", "deleted_tag"}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeletedImageTag {
    /// The image the tag pointed to.
    pub artifact: Option<Artifact>,
    /// The tag deleted.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub deleted_tag: Option<String>,
}
