//! List deployments (`GET /v1/deployments`) and its query language.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, EndpointClass, Query, Target};
use super::error::EdgegapError;
use super::ids::RequestId;
use super::lenient;
use super::pagination::page_setters;
use super::pagination::{Pagination, list_page, validate_page};
use super::status::PortMapping;
use super::validate;
use crate::api::status::reachable;

/// A comparison in a list query (`operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryOperator {
    /// `eq`
    Eq,
    /// `neq`
    Neq,
    /// `in` (the value is a list)
    In,
    /// `nin` (the value is a list)
    Nin,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `gt`
    Gt,
    /// `gte`
    Gte,
}

/// One `filters[]` entry of a list query, e.g. `{"field": "status", "operator": "eq", "value": "ready"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryFilter {
    /// The field compared (`status`, `created_at`, …; Edgegap's vocabulary is not fully documented).
    pub field: String,
    /// The comparison.
    pub operator: QueryOperator,
    /// The value; a list for [`QueryOperator::In`] and [`QueryOperator::Nin`].
    pub value: serde_json::Value,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// `asc`
    Asc,
    /// `desc`
    Desc,
}

/// One `order_by[]` entry of a list query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBy {
    /// The field sorted on.
    pub field: String,
    /// The direction.
    pub order: SortOrder,
}

/// The `query` parameter of `GET /v1/deployments`, sent as URL-encoded JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentQuery {
    /// Filters (ANDed).
    pub filters: Vec<QueryFilter>,
    /// Sort keys (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<OrderBy>,
}

impl DeploymentQuery {
    /// An empty query.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter.
    #[must_use]
    pub fn filter(
        mut self,
        field: impl Into<String>,
        operator: QueryOperator,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.filters.push(QueryFilter {
            field: field.into(),
            operator,
            value: value.into(),
        });
        self
    }

    /// Adds a sort key.
    #[must_use]
    pub fn order_by(mut self, field: impl Into<String>, order: SortOrder) -> Self {
        self.order_by.push(OrderBy {
            field: field.into(),
            order,
        });
        self
    }

    /// The query as the JSON text sent in the `query` parameter.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    fn validate(&self) -> Result<(), EdgegapError> {
        for (i, filter) in self.filters.iter().enumerate() {
            validate::non_empty(&format!("query.filters[{i}].field"), &filter.field)?;
            if matches!(filter.operator, QueryOperator::In | QueryOperator::Nin)
                && !filter.value.is_array()
            {
                return Err(EdgegapError::invalid(
                    format!("query.filters[{i}].value"),
                    "must be a list for the `in` and `nin` operators",
                ));
            }
        }
        for (i, order) in self.order_by.iter().enumerate() {
            validate::non_empty(&format!("query.order_by[{i}].field"), &order.field)?;
        }
        Ok(())
    }
}

/// `GET /v1/deployments` (10 req/s): the organisation's active deployments, one page at a time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListDeployments {
    /// Filter and sort (`query`).
    pub query: Option<DeploymentQuery>,
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Page size.
    pub limit: Option<u32>,
}

impl ListDeployments {
    /// The first page, unfiltered.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the whole query. (This builder shadows [`Endpoint::query`] on a concrete
    /// `ListDeployments`; call `Endpoint::query(&list)` for the query-string pairs.)
    #[must_use]
    pub fn query(mut self, query: DeploymentQuery) -> Self {
        self.query = Some(query);
        self
    }

    /// The query with `change` applied (an empty query when none is set yet): the one way
    /// the builders below edit it, through [`DeploymentQuery`]'s own builders.
    fn edit_query(mut self, change: impl FnOnce(DeploymentQuery) -> DeploymentQuery) -> Self {
        let query = change(self.query.take().unwrap_or_default());
        self.query(query)
    }

    /// Adds a filter to the query ([`DeploymentQuery::filter`]).
    #[must_use]
    pub fn filter(
        self,
        field: impl Into<String>,
        operator: QueryOperator,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.edit_query(|query| query.filter(field, operator, value))
    }

    /// Adds a sort key to the query ([`DeploymentQuery::order_by`]).
    #[must_use]
    pub fn order_by(self, field: impl Into<String>, order: SortOrder) -> Self {
        self.edit_query(|query| query.order_by(field, order))
    }

    page_setters!();
}

impl Endpoint for ListDeployments {
    type Output = DeploymentList;

    fn target(&self) -> Target {
        Target::Path("/v1/deployments".into())
    }
    fn query(&self) -> Vec<(String, String)> {
        Query::new()
            .opt("query", self.query.as_ref().map(DeploymentQuery::to_json))
            .page(self.page, self.limit)
            .build()
    }
    fn class(&self) -> EndpointClass {
        EndpointClass::List
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        if let Some(query) = &self.query {
            query.validate()?;
        }
        validate_page(self.page, self.limit)
    }
}

/// One entry of the deployment list (`DeploymentListData`). It has no status field: every
/// listed deployment is active; `ready` says whether it accepts players.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeploymentSummary {
    /// Deployment id.
    pub request_id: RequestId,
    /// `<request_id>.pr.edgegap.net`.
    pub fqdn: Option<String>,
    /// When it started (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC).
    pub start_time: Option<String>,
    /// Whether it is READY.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub ready: Option<bool>,
    /// Public IP of the host.
    pub public_ip: Option<String>,
    /// Ports by name.
    #[serde(default, deserialize_with = "lenient::map_or_null")]
    pub ports: BTreeMap<String, PortMapping>,
    /// Deployment tags.
    #[serde(default, deserialize_with = "lenient::strings")]
    pub tags: Vec<String>,
    /// Session capacity.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sockets: Option<u64>,
    /// Sessions in use.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub sockets_usage: Option<u64>,
    /// Whether sessions may join it.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub is_joinable_by_session: Option<bool>,
    /// Fields this crate does not model (e.g. a `status` some clients read), as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl DeploymentSummary {
    /// Whether it accepts players (`ready`).
    pub fn is_ready(&self) -> bool {
        self.ready == Some(true)
    }

    reachable!();
}

/// The answer of `GET /v1/deployments`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentList {
    /// This page's deployments.
    #[serde(deserialize_with = "lenient::vec_or_null")]
    pub data: Vec<DeploymentSummary>,
    /// Total across pages (OAS1).
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub total_count: Option<u64>,
    /// Count (older swagger).
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub count: Option<u64>,
    /// Pagination.
    pub pagination: Option<Pagination>,
    /// Additional information about the query.
    #[serde(deserialize_with = "lenient::strings")]
    pub message: Vec<String>,
}

impl DeploymentList {
    /// `total_count`, else `count`.
    pub fn total(&self) -> Option<u64> {
        self.total_count.or(self.count)
    }
}

list_page!(DeploymentList, data, DeploymentList::total);
