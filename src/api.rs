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
//! | `DELETE $ARBITRIUM_DELETE_URL` | [`SelfStop`] | [`StopResponse`] | 200, 202 |
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
//! arrive as strings (see [`lenient`]), because Edgegap's answers changed across API versions.
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
mod gateway;
mod ids;
pub mod lenient;
mod list;
mod locations;
mod logs;
mod metrics;
mod pagination;
mod status;
mod stop;
mod tags;
pub mod validate;

pub use bulk_stop::*;
pub use context::*;
pub use deploy::*;
pub use deploy_v1::*;
pub use endpoint::*;
pub use error::*;
pub use filter::*;
pub use fleet::*;
pub use gateway::*;
pub use ids::*;
pub use list::*;
pub use locations::*;
pub use logs::*;
pub use metrics::*;
pub use pagination::*;
pub use status::*;
pub use stop::*;
pub use tags::*;
