//! The engine-free layer: typed models of Edgegap's API, one value per endpoint, and
//! [`EdgegapError`]. Nothing here imports Bevy; the plugins only schedule and deliver.
//!
//! Every endpoint is a value implementing [`Endpoint`]: it knows its method, path, query,
//! body, auth kind, rate-limit class and success codes, checks itself before sending
//! ([`Endpoint::validate`]) and decodes `(status, body)` into `Result<Output, EdgegapError>`.
//!
//! | Endpoint | Request type | Output | Success |
//! |---|---|---|---|
//! | `POST /v2/deployments` | [`DeployRequest`] | [`DeployResponse`] | 202, 200 |
//! | `POST /v2/private-fleets/deployments` (or `:deploy`) | [`FleetDeployRequest`] | [`DeployResponse`] | 202, 200 |
//! | `POST /v1/deploy` (deprecated) | [`DeployV1Request`] | [`DeployV1Response`] | 200 |
//! | `GET /v1/status/{id}` | [`GetStatus`] | [`DeploymentStatus`] | 200 |
//! | `GET /v1/status/{id}?since=…&wait=…` (gateway only) | [`AwaitStatusChange`] | [`DeploymentStatus`] | 200 |
//! | `DELETE /v1/stop/{id}` | [`StopDeployment`] | [`StopResponse`] | 200, 202 |
//! | `DELETE $ARBITRIUM_DELETE_URL` | [`SelfStopDeployment`] | [`StopResponse`] | 200, 202 |
//! | `POST /v1/deployments/bulk-stop` | [`BulkStop`] | [`BulkStopResponse`] | 200, 202 |
//! | `GET /v1/deployments` | [`ListDeployments`] | [`DeploymentList`] | 2xx |
//! | `GET /v1/locations` | [`ListLocations`] | [`LocationList`] | 2xx |
//! | `GET /v1/deployment/{id}/container-logs` | [`GetContainerLogs`] | [`ContainerLogs`] | 2xx |
//! | `GET /v1/metrics/deployment/{id}` | [`GetMetrics`] | [`DeploymentMetrics`] | 2xx |
//! | `GET /v2/private-fleets/{fleet}/hosts` | [`ListFleetHosts`] | [`FleetHostList`] | 2xx |
//! | `GET /v1/deployments/{id}/tags` | [`ListTags`] | [`TagList`] | 2xx |
//! | `GET /v1/deployments/{id}/tags/{name}` | [`GetTag`] | [`DeploymentTag`] | 2xx |
//! | `POST /v1/deployments/{id}/tags` | [`CreateTag`] | [`DeploymentTag`] | 2xx |
//! | `PATCH /v1/deployments/{id}/tags/{name}` | [`UpdateTag`] | [`DeploymentTag`] | 2xx |
//! | `DELETE /v1/deployments/{id}/tags/{name}` | [`DeleteTag`] | `()` | 204 |
//!
//! Every other status decodes to [`EdgegapError::Api`] (status, Edgegap's `message`, the raw
//! body, `Retry-After`, and the `request_id` of a v2 `422`). Models are lenient: unknown fields
//! are ignored (or kept in `extra`), optional fields may be missing or `null`, numbers may
//! arrive as strings, because Edgegap's answers changed across API versions.
//!
//! ```
//! use bevy_edgegap::api::{DeployRequest, Endpoint, HttpResponse, Secret};
//!
//! let deploy = DeployRequest::new("my-game", "v1").user_ip("1.2.3.4").tag("eu");
//! let request = deploy.to_request("https://api.edgegap.com", &Secret::new("key")).unwrap();
//! assert_eq!(request.url, "https://api.edgegap.com/v2/deployments");
//!
//! let answer = deploy.decode(&HttpResponse::new(202, r#"{"request_id":"a69f8e3e0555"}"#));
//! assert_eq!(answer.unwrap().request_id.as_str(), "a69f8e3e0555");
//! ```

mod bulk_stop;
mod context;
mod deploy;
mod deploy_v1;
mod endpoint;
mod error;
mod filter;
mod fleet;
mod ids;
pub(crate) mod lenient;
mod list;
mod locations;
mod logs;
mod metrics;
mod pagination;
mod status;
mod stop;
mod tags;
pub(crate) mod validate;

pub use bulk_stop::*;
pub use context::*;
pub use deploy::*;
pub use deploy_v1::*;
pub use endpoint::*;
pub use error::*;
pub use filter::*;
pub use fleet::*;
pub use ids::*;
pub use list::*;
pub use locations::*;
pub use logs::*;
pub use metrics::*;
pub use pagination::*;
pub use status::*;
pub use stop::*;
pub use tags::*;

/// Receives one value of each endpoint type, from [`for_each_endpoint`].
pub trait EndpointVisitor {
    /// Called once per endpoint type with a valid example value (it passes
    /// [`Endpoint::validate`]).
    fn visit<E: Endpoint + Clone + std::fmt::Debug>(&mut self, example: E)
    where
        E::Output: Clone + std::fmt::Debug;
}

/// The one list of this module's endpoints: calls `visitor` once per endpoint type, with an
/// example value. The client plugin registers each one's result message from it and the
/// property tests decode arbitrary answers with each, so an endpoint added here is covered by
/// both.
pub fn for_each_endpoint(visitor: &mut impl EndpointVisitor) {
    const ID: &str = "a69f8e3e0555";
    const DELETE_URL: &str = "https://api.edgegap.com/v1/self/stop/a69f8e3e0555/660";
    const CONTEXT_URL: &str = "https://api.edgegap.com/v1/context/a69f8e3e0555/17";
    let deploy = DeployRequest::new("my-game", "v1").user_ip("1.2.3.4");
    visitor.visit(deploy.clone());
    visitor.visit(FleetDeployRequest::new(deploy, ["host-1"]));
    visitor.visit(DeployV1Request::new("my-game").ip("1.2.3.4"));
    visitor.visit(GetStatus::new(ID));
    visitor.visit(AwaitStatusChange::new(
        ID,
        Status::Deploying,
        AwaitStatusChange::MAX_WAIT,
    ));
    visitor.visit(StopDeployment::new(ID));
    visitor.visit(SelfStopDeployment::new(DELETE_URL, "delete-token"));
    visitor.visit(BulkStop::new().tags(FilterType::Any, ["lobby-eu-1"]));
    visitor.visit(ListDeployments::new());
    visitor.visit(ListLocations::new());
    visitor.visit(GetContainerLogs::new(ID));
    visitor.visit(GetMetrics::new(ID));
    visitor.visit(ListFleetHosts::new("my-fleet"));
    visitor.visit(ListTags::new(ID));
    visitor.visit(GetTag::new(ID, "eu"));
    visitor.visit(CreateTag::new(ID, "eu"));
    visitor.visit(UpdateTag::new(ID, "eu", "na"));
    visitor.visit(DeleteTag::new(ID, "eu"));
    visitor.visit(GetContext::new(CONTEXT_URL, "context-token"));
    visitor.visit(CreateContextTag::new(CONTEXT_URL, "context-token", "full"));
    visitor.visit(DeleteContextTag::new(CONTEXT_URL, "context-token", "full"));
}
