//! Filters shared by the legacy deploy (`filters`) and bulk stop.

use serde::{Deserialize, Serialize};

use super::error::EdgegapError;
use super::lenient;
use super::validate;

/// How a filter matches its `values` (`filter_type`).
///
/// Serialized lower-case; read case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterType {
    /// `any`: matches one of the values.
    Any,
    /// `all`: matches every value (tags).
    All,
    /// `not`: matches none of the values.
    Not,
}

impl<'de> Deserialize<'de> for FilterType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let s = String::deserialize(deserializer)?;
        match s.trim().to_ascii_lowercase().as_str() {
            "any" => Ok(Self::Any),
            "all" => Ok(Self::All),
            "not" => Ok(Self::Not),
            _ => Err(D::Error::custom(format!(
                "unknown filter_type {s:?}, expected any, all or not"
            ))),
        }
    }
}

/// A location filter of the legacy deploy (`filters[]` in `POST /v1/deploy`).
///
/// `field` is one of `city`, `country`, `continent`, `region`, `administrative_division`,
/// `location_tags`; it is kept as text so answers with other fields still decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationFilter {
    /// Which location attribute to match.
    #[serde(default)]
    pub field: String,
    /// The values to match.
    #[serde(default, deserialize_with = "lenient::strings")]
    pub values: Vec<String>,
    /// How to match them.
    pub filter_type: FilterType,
}

impl LocationFilter {
    /// A filter on `field`.
    pub fn new<I, S>(field: impl Into<String>, filter_type: FilterType, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            field: field.into(),
            values: values.into_iter().map(Into::into).collect(),
            filter_type,
        }
    }

    /// A filter on `city`.
    pub fn city<I: IntoIterator<Item = S>, S: Into<String>>(kind: FilterType, values: I) -> Self {
        Self::new("city", kind, values)
    }

    /// A filter on `country`.
    pub fn country<I: IntoIterator<Item = S>, S: Into<String>>(
        kind: FilterType,
        values: I,
    ) -> Self {
        Self::new("country", kind, values)
    }

    /// A filter on `continent`.
    pub fn continent<I: IntoIterator<Item = S>, S: Into<String>>(
        kind: FilterType,
        values: I,
    ) -> Self {
        Self::new("continent", kind, values)
    }

    /// A filter on `region`.
    pub fn region<I: IntoIterator<Item = S>, S: Into<String>>(kind: FilterType, values: I) -> Self {
        Self::new("region", kind, values)
    }

    /// A filter on `administrative_division`.
    pub fn administrative_division<I: IntoIterator<Item = S>, S: Into<String>>(
        kind: FilterType,
        values: I,
    ) -> Self {
        Self::new("administrative_division", kind, values)
    }

    /// A filter on `location_tags`.
    pub fn location_tags<I: IntoIterator<Item = S>, S: Into<String>>(
        kind: FilterType,
        values: I,
    ) -> Self {
        Self::new("location_tags", kind, values)
    }

    pub(crate) fn validate(&self, field: &str) -> Result<(), EdgegapError> {
        validate::non_empty(&format!("{field}.field"), &self.field)?;
        if self.values.is_empty() {
            return Err(EdgegapError::invalid(
                format!("{field}.values"),
                "needs at least one value",
            ));
        }
        for (i, value) in self.values.iter().enumerate() {
            validate::non_empty(&format!("{field}.values[{i}]"), value)?;
        }
        Ok(())
    }
}
