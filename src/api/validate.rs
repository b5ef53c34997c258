//! Client-side checks that fail before anything is sent.

use super::error::EdgegapError;
use super::ids::{RequestId, Secret};

/// Longest deployment tag name: 20 characters. The API reference this crate follows says 20
/// and a newer spec says 40; a client must not send what either generation rejects.
pub(crate) const MAX_TAG_NAME_LEN: usize = 20;

/// Largest environment variable value: 4 KiB (OAS1 2026; a 2024 book said 255 bytes).
pub(crate) const MAX_ENV_VALUE_BYTES: usize = 4096;

/// `value` must not be empty or whitespace.
pub(crate) fn non_empty(field: &str, value: &str) -> Result<(), EdgegapError> {
    if value.trim().is_empty() {
        Err(EdgegapError::invalid(field, "must not be empty"))
    } else {
        Ok(())
    }
}

/// A deployment id must be non-empty, not `.` or `..`, and free of `/`, whitespace and
/// control characters (it becomes a path segment: `..` would reach `GET /v1/`).
pub(crate) fn request_id(id: &RequestId) -> Result<(), EdgegapError> {
    let text = id.as_str();
    non_empty("request_id", text)?;
    if text == "." || text == ".." {
        return Err(EdgegapError::invalid(
            "request_id",
            "must not be `.` or `..`",
        ));
    }
    if text
        .chars()
        .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(EdgegapError::invalid(
            "request_id",
            "must not contain `/`, whitespace or control characters",
        ));
    }
    Ok(())
}

/// A deployment tag name: 1 to [`MAX_TAG_NAME_LEN`] characters.
pub(crate) fn tag_name(field: &str, name: &str) -> Result<(), EdgegapError> {
    non_empty(field, name)?;
    let len = name.chars().count();
    if len > MAX_TAG_NAME_LEN {
        return Err(EdgegapError::invalid(
            field,
            format!("is {len} characters long; Edgegap allows at most {MAX_TAG_NAME_LEN}"),
        ));
    }
    Ok(())
}

/// An environment variable: non-empty key, value at most [`MAX_ENV_VALUE_BYTES`].
pub(crate) fn env_var(field: &str, key: &str, value: &str) -> Result<(), EdgegapError> {
    non_empty(&format!("{field}.key"), key)?;
    if value.len() > MAX_ENV_VALUE_BYTES {
        return Err(EdgegapError::invalid(
            format!("{field}.value"),
            format!(
                "of `{key}` is {} bytes; Edgegap allows at most {MAX_ENV_VALUE_BYTES}",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// Latitude in −90..=90 and longitude in −180..=180.
pub(crate) fn coordinates(field: &str, latitude: f64, longitude: f64) -> Result<(), EdgegapError> {
    if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
        return Err(EdgegapError::invalid(
            format!("{field}.latitude"),
            format!("must be within -90..=90, got {latitude}"),
        ));
    }
    if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
        return Err(EdgegapError::invalid(
            format!("{field}.longitude"),
            format!("must be within -180..=180, got {longitude}"),
        ));
    }
    Ok(())
}

/// An injected endpoint (`ARBITRIUM_DELETE_URL`, `ARBITRIUM_CONTEXT_URL`): the one check for
/// missing or invalid injected variables, run when the endpoint is built and again before it
/// is sent. Both variables must be set, the URL http(s) and the token non-empty; every failure
/// is an [`EdgegapError::Invalid`] whose `field` is the variable's name.
pub(crate) fn injected(
    url_var: &str,
    url: Option<&str>,
    token_var: &str,
    token: Option<&Secret>,
) -> Result<(), EdgegapError> {
    let not_set = |var: &str| EdgegapError::invalid(var, "is not set");
    let url = url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| not_set(url_var))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(EdgegapError::invalid(
            url_var,
            "must be an http:// or https:// URL",
        ));
    }
    match token {
        Some(token) if !token.is_empty() => Ok(()),
        _ => Err(not_set(token_var)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_that_would_leave_their_path_segment_are_refused() {
        for bad in ["", " ", ".", "..", "a/b", "/", "a b", "a\tb", "a\u{7f}"] {
            assert!(
                matches!(
                    request_id(&RequestId::from(bad)),
                    Err(EdgegapError::Invalid { .. })
                ),
                "{bad:?} accepted"
            );
        }
        for good in ["a69f8e3e0555", "a.b", "..a", "x-y_z"] {
            assert!(
                request_id(&RequestId::from(good)).is_ok(),
                "{good:?} refused"
            );
        }
    }

    #[test]
    fn tag_names_are_held_to_twenty_characters() {
        assert!(tag_name("tags[0]", &"a".repeat(20)).is_ok());
        assert!(tag_name("tags[0]", &"a".repeat(21)).is_err());
    }
}
