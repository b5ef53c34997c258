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

/// A page of a list answer: what a walk over every page reads. Implemented by every list
/// answer; [`ListPage::next_page`] is the one rule every walk (the client's reconcile search, the
/// gateway's rebuild) follows.
///
/// ```
/// use bevy_edgegap::api::{DeploymentList, ListPage};
///
/// let first: DeploymentList = serde_json::from_str(
///     r#"{"data": [{"request_id": "a"}], "pagination": {"number": 1, "has_next": true}}"#,
/// )
/// .unwrap();
/// assert_eq!(first.next_page(1, 100), Some(2));
/// ```
pub trait ListPage {
    /// Items on this page.
    fn page_len(&self) -> usize;
    /// The answer's `pagination`, if it sent one.
    fn pagination(&self) -> Option<&Pagination>;
    /// The item count across every page, if the answer says.
    fn total(&self) -> Option<u64>;

    /// The page to ask for after `current` (asked `limit` items at a time), or `None` when
    /// `current` was the last:
    /// - an empty page is the last (a server that pages forever cannot hold a walk);
    /// - else [`Pagination::next_page`], when it is after `current` (a page number at or
    ///   before `current` ends the walk, so a hostile answer cannot make it loop);
    /// - else `has_next`;
    /// - else, when the pagination says nothing (`{}`, or none at all), another page while
    ///   `current × limit` is below the total.
    ///
    /// Callers still bound their walk by a page count of their own.
    fn next_page(&self, current: u32, limit: u32) -> Option<u32> {
        if self.page_len() == 0 {
            return None;
        }
        let pagination = self.pagination();
        if let Some(next) = pagination.and_then(Pagination::next_page) {
            return u32::try_from(next).ok().filter(|&next| next > current);
        }
        let more = match pagination.and_then(|p| p.has_next) {
            Some(has_next) => has_next,
            None => self
                .total()
                .is_some_and(|total| u64::from(current) * u64::from(limit) < total),
        };
        if more { current.checked_add(1) } else { None }
    }
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

/// The `page` and `limit` setters of a list request whose fields are `page: Option<u32>` and
/// `limit: Option<u32>`, written once for every list.
macro_rules! page_setters {
    () => {
        /// Sets the page number (from 1).
        #[must_use]
        pub fn page(mut self, page: u32) -> Self {
            self.page = Some(page);
            self
        }

        /// Sets the page size.
        #[must_use]
        pub fn limit(mut self, limit: u32) -> Self {
            self.limit = Some(limit);
            self
        }
    };
}
pub(crate) use page_setters;

/// A list answer that is only its items, `total_count` and `pagination` (every key optional;
/// `null` items read as none): the struct, with those two fields added after the items, and
/// its [`ListPage`]. A list answer with more keys is written out and gets its [`ListPage`]
/// from [`list_page!`].
macro_rules! list_answer {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $(#[$items_doc:meta])*
            pub $items:ident: Vec<$item:ty> $(,)?
        }
    ) => {
        $(#[$attr])*
        #[serde(default)]
        pub struct $name {
            $(#[$items_doc])*
            #[serde(deserialize_with = "crate::api::lenient::vec_or_null")]
            pub $items: Vec<$item>,
            /// Total across pages.
            #[serde(deserialize_with = "crate::api::lenient::opt_u64")]
            pub total_count: Option<u64>,
            /// Pagination.
            pub pagination: Option<$crate::api::pagination::Pagination>,
        }

        $crate::api::pagination::list_page!($name, $items);
    };
}
pub(crate) use list_answer;

/// A paged list of the resources under one key (the tags of a deployment, the versions of an
/// app): the request struct with its key field and `page` and `limit` added, `new(key)` and
/// the page setters, and an [`Endpoint`](crate::api::endpoint::Endpoint) that `GET`s
/// `$path(&key)` with `page` and `limit` in the query, after `$check(&key)` and
/// [`validate_page`]. Trailing items go into the `Endpoint` impl (a `decode` of its own).
///
/// ```text
/// paged_list! {
///     /// `GET /v1/deployments/{request_id}/tags`.
///     pub struct ListTags {
///         /// The deployment.
///         pub request_id: RequestId,
///     } -> TagList;
///     path: tags_path;
///     check: validate::request_id;
/// }
/// ```
macro_rules! paged_list {
    (
        $(#[$doc:meta])*
        pub struct $name:ident {
            $(#[$key_doc:meta])*
            pub $key:ident: $key_ty:ty $(,)?
        } -> $output:ty;
        path: $path:expr;
        check: $check:expr;
        $($endpoint_item:tt)*
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(#[$key_doc])*
            pub $key: $key_ty,
            /// Page number, from 1.
            pub page: Option<u32>,
            /// Page size.
            pub limit: Option<u32>,
        }

        impl $name {
            #[doc = concat!("The first page of the list under `", stringify!($key), "`.")]
            pub fn new($key: impl Into<$key_ty>) -> Self {
                Self {
                    $key: $key.into(),
                    page: None,
                    limit: None,
                }
            }

            $crate::api::pagination::page_setters!();
        }

        impl $crate::api::endpoint::Endpoint for $name {
            type Output = $output;

            fn target(&self) -> $crate::api::endpoint::Target {
                $crate::api::endpoint::Target::Path(($path)(&self.$key))
            }
            fn query(&self) -> Vec<(String, String)> {
                $crate::api::endpoint::Query::new()
                    .page(self.page, self.limit)
                    .build()
            }
            fn validate(&self) -> Result<(), $crate::api::error::EdgegapError> {
                ($check)(&self.$key)?;
                $crate::api::pagination::validate_page(self.page, self.limit)
            }
            $($endpoint_item)*
        }
    };
}
pub(crate) use paged_list;

/// [`ListPage`] for a list answer with its items in the field `$items`, a `pagination` field,
/// and its total in `total_count` (or given by the method `$total`, for lists that also
/// answer an older `count`).
macro_rules! list_page {
    ($ty:ty, $items:ident) => {
        $crate::api::pagination::list_page!($ty, $items, |list: &$ty| list.total_count);
    };
    ($ty:ty, $items:ident, $total:expr) => {
        impl $crate::api::pagination::ListPage for $ty {
            fn page_len(&self) -> usize {
                self.$items.len()
            }
            fn pagination(&self) -> Option<&$crate::api::pagination::Pagination> {
                self.pagination.as_ref()
            }
            fn total(&self) -> Option<u64> {
                ($total)(self)
            }
        }
    };
}
pub(crate) use list_page;
