//! The pagination wrapper of list-type answers (`pagination` next to `total_count`).

use serde::{Deserialize, Serialize};

use super::lenient;

/// `pagination` of a list answer. Every key is optional: the 2024 tag list sends
/// `"pagination": {}`, the 2026 specs send all six.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Pagination {
    /// This page's number (from 1).
    #[serde(
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub number: Option<u64>,
    /// The next page's number, if any.
    #[serde(
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_page_number: Option<u64>,
    /// The previous page's number, if any.
    #[serde(
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub previous_page_number: Option<u64>,
    /// Page count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paginator: Option<Paginator>,
    /// Whether a next page exists.
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub has_next: Option<bool>,
    /// Whether a previous page exists.
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub has_previous: Option<bool>,
}

impl Pagination {
    /// Whether another page follows: `has_next`, else a `next_page_number`, else `false`.
    pub fn has_more(&self) -> bool {
        self.has_next
            .unwrap_or_else(|| self.next_page_number.is_some())
    }

    /// The page to ask for next, if any: `next_page_number`, else `number + 1` when
    /// `has_next` says there is one.
    pub fn next_page(&self) -> Option<u64> {
        if self.has_next == Some(false) {
            return None;
        }
        self.next_page_number.or_else(|| {
            (self.has_next == Some(true))
                .then(|| self.number.map(|n| n.saturating_add(1)))
                .flatten()
        })
    }
}

/// `pagination.paginator`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Paginator {
    /// How many pages there are.
    #[serde(
        deserialize_with = "lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub num_pages: Option<u64>,
}

/// `page` and `limit` query parameters (both optional).
pub(crate) fn page_query(page: Option<u32>, limit: Option<u32>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(page) = page {
        out.push(("page".to_owned(), page.to_string()));
    }
    if let Some(limit) = limit {
        out.push(("limit".to_owned(), limit.to_string()));
    }
    out
}

/// `page` and `limit` must be at least 1 when set.
pub(crate) fn validate_page(
    page: Option<u32>,
    limit: Option<u32>,
) -> Result<(), super::error::EdgegapError> {
    if page == Some(0) {
        return Err(super::error::EdgegapError::invalid(
            "page",
            "must be at least 1 (pages count from 1)",
        ));
    }
    if limit == Some(0) {
        return Err(super::error::EdgegapError::invalid(
            "limit",
            "must be at least 1",
        ));
    }
    Ok(())
}
