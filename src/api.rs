//! The engine-free layer: typed models of Edgegap's API, one value per endpoint, and
//! [`EdgegapError`]. Nothing here imports Bevy; the plugins only schedule and deliver.
//!
//! Every endpoint is a value implementing [`Endpoint`]: it knows its method, path, query,
//! body, auth kind, rate-limit class and success codes, checks itself before sending
//! ([`Endpoint::validate`]) and decodes `(status, body)` into `Result<Output, EdgegapError>`.
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

mod context;
mod deploy;
mod endpoint;
mod error;
mod ids;
pub mod lenient;
mod status;
mod stop;
pub mod validate;

pub use context::*;
pub use deploy::*;
pub use endpoint::*;
pub use error::*;
pub use ids::*;
pub use status::*;
pub use stop::*;
