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
//! | `POST /v1/app` | [`CreateApp`] | [`Application`] | 2xx |
//! | `GET /v1/app/{app_name}` | [`GetApp`] | [`Application`] | 2xx |
//! | `PATCH /v1/app/{app_name}` | [`UpdateApp`] | [`Application`] | 2xx |
//! | `DELETE /v1/app/{app_name}` | [`DeleteApp`] | `()` | 2xx |
//! | `GET /v1/apps` | [`ListApps`] | [`ApplicationList`] | 2xx |
//! | `POST /v1/app/{app_name}/version` | [`CreateAppVersion`] | [`AppVersionSaved`] | 2xx |
//! | `GET /v1/app/{app_name}/version/{version_name}` | [`GetAppVersion`] | [`AppVersion`] | 2xx |
//! | `PATCH /v1/app/{app_name}/version/{version_name}` | [`UpdateAppVersion`] | [`AppVersionSaved`] | 2xx |
//! | `DELETE /v1/app/{app_name}/version/{version_name}` | [`DeleteAppVersion`] | [`AppVersionDeleted`] | 2xx |
//! | `GET /v1/app/{app_name}/versions` | [`ListAppVersions`] | [`AppVersionList`] | 2xx |
//! | `GET /v1/container-registry/images/{image_name}/tags` | [`ListImageTags`] | [`ImageTagList`] | 2xx |
//! | `DELETE /v1/container-registry/images/{image_name}/tags/{tag_name}` | [`DeleteImageTag`] | [`DeletedImageTag`] | 2xx |
//! | `GET $ARBITRIUM_CONTEXT_URL` | [`GetContext`] | [`DeploymentContext`] | 2xx |
//! | `POST $ARBITRIUM_CONTEXT_URL/tags` | [`CreateContextTag`] | [`DeploymentTag`] | 2xx |
//! | `DELETE $ARBITRIUM_CONTEXT_URL/tags/{name}` | [`DeleteContextTag`] | `()` | 2xx |
//! | the matchmaker's 15 endpoints (own base URL and raw token) | [`GetMonitor`], [`CreateGroup`], … (see [`MatchmakerAccess`]) | [`GroupMember`], … | 2xx |
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
//!
//! # Adding an endpoint
//!
//! A new endpoint touches two library files, its area's file in `src/api/` and this one, plus
//! its tests. The client plugin, the property tests and the transport need no change.
//!
//! 1. **Request and answer**, in the file of its area (`src/api/<area>.rs`; a new area is a
//!    new file, declared here with `mod <area>;` and `pub use <area>::*;`). No Bevy import.
//!    - The request: a struct named verb-first after the operation (`GetApp`, `ListTags`,
//!      `StopDeployment`), `#[derive(Debug, Clone, PartialEq)]` (a hand-written `Debug` that
//!      hides any token or injected URL), public fields, `new(..)` taking the required parts
//!      as `impl Into<..>`, `#[must_use]` builder methods for the optional ones; a list takes
//!      `page: Option<u32>` and `limit: Option<u32>`, and `page_setters!();` in its `impl`
//!      writes their `page(n)` and `limit(n)` builders. A list of what is under one key (the
//!      tags of a deployment, the versions of an app) is one `paged_list!` (request, `new`,
//!      page setters and `impl Endpoint` from the key, its path and its check; see
//!      `ListTags`).
//!    - `impl Endpoint`: `method` only when not `GET`; `target` (`Target::Path` with every path parameter through
//!      `encode_component`, or `Target::Url` for an injected URL or another service's base
//!      URL); `query` built with `Query::new()` (`.opt(name, value)`, `.page(page, limit)`);
//!      `body` as JSON; `auth` only when it is not the organisation token (`Auth::Raw` sends
//!      `Authorization: <token>` as the matchmaker and the injected URLs want); `is_success`
//!      only when not every `2xx` is a success; `validate` with the checks of the crate's
//!      `validate` module (`non_empty`, `request_id`, `tag_name`, …, and `validate_page` for
//!      pages), so nothing invalid is sent; `decode_success` only when a success is not
//!      the answer type's JSON (an empty body, secrets to scrub).
//!      `class` stays [`EndpointClass::Other`] unless Edgegap documents a rate limit for it:
//!      a new class is a transport change.
//!    - The answer: `#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]`
//!      with public fields. `#[serde(default)]` on the struct when every key is optional,
//!      else on each optional field that is not a plain `Option` (serde reads a missing
//!      `Option` as `None`; a `deserialize_with` field needs `default`); `Option` for what a
//!      spec may omit or send as `null`; the crate's `lenient` deserializers where sources
//!      disagree on a type (`lenient::wire_names!` for an open enum's wire names); unknown
//!      keys are ignored. A list answer keeps `pagination: Option<Pagination>` and implements
//!      [`ListPage`], so every walk pages it with [`ListPage::next_page`]: one `list_answer!`
//!      when it is only its items, `total_count` and `pagination` (see `ApplicationList`),
//!      else the struct written out and `list_page!` for its [`ListPage`].
//! 2. **Register it** in [`for_each_endpoint`] (below, in this file) with a valid example
//!    value, and add its row to the table above. The client plugin then registers its result
//!    message (`EdgegapResponse<E>`, readable with a `MessageReader`), and the property tests
//!    fuzz its decoder.
//! 3. **Test it** (`cargo test --test api_requests --test api_fixtures --test api_proptest`):
//!    in `tests/api_requests.rs` the request it builds (method, URL with query, headers, body
//!    compared as JSON) and what `validate` refuses; in `tests/api_fixtures.rs` the spec's
//!    example answer (copied into the test or `tests/fixtures/`; tests never read files
//!    outside the repository) and the variants the API reference lists.
//! 4. **Changelog**: one line under `[Unreleased]`.
//!
//! Not needed: a method on the client's `Edgegap` parameter (`edgegap.send(GetApp::new(..))`
//! sends any endpoint, and its result arrives as `EdgegapResponse<GetApp>`; add a named
//! method only for the calls DESIGN.md names), a prelude entry, a client test (every endpoint
//! takes the same path through the plugin). The emulator serving the route and the gateway
//! forwarding it are changes to those crates.

mod apps;
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
pub(crate) mod lenient;
mod list;
mod locations;
mod logs;
mod matchmaker;
mod metrics;
mod pagination;
mod registry;
mod status;
mod stop;
mod tags;
pub(crate) mod validate;
mod versions;

pub use apps::*;
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
pub use matchmaker::*;
pub use metrics::*;
pub use pagination::*;
pub use registry::*;
pub use status::*;
pub use stop::*;
pub use tags::*;
pub use versions::*;

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
    visitor.visit(CreateApp::new("my-game"));
    visitor.visit(GetApp::new("my-game"));
    visitor.visit(UpdateApp::new("my-game").is_active(false));
    visitor.visit(DeleteApp::new("my-game"));
    visitor.visit(ListApps::new());
    visitor.visit(
        CreateAppVersion::new(
            "my-game",
            "v1",
            "registry.edgegap.com",
            "my-org/my-game",
            "v1",
            256,
            512,
        )
        .port(AppVersionPort::new("gameport", 7777, "UDP")),
    );
    visitor.visit(GetAppVersion::new("my-game", "v1"));
    visitor.visit(UpdateAppVersion::new("my-game", "v1").docker_tag("v2"));
    visitor.visit(DeleteAppVersion::new("my-game", "v1"));
    visitor.visit(ListAppVersions::new("my-game"));
    visitor.visit(ListImageTags::new("my-game"));
    visitor.visit(DeleteImageTag::new("my-game", "v1"));
    visitor.visit(GetContext::new(CONTEXT_URL, "context-token"));
    visitor.visit(CreateContextTag::new(CONTEXT_URL, "context-token", "full"));
    visitor.visit(DeleteContextTag::new(CONTEXT_URL, "context-token", "full"));
    let mm = MatchmakerAccess::new("https://mm.example.com", "mm-token");
    let (group, member, ticket) = (
        "b2080c27-19c9-4fb0-8fe7-4bf1e5d285d1",
        "8a1f6f2e-51a1-4d6c-9a57-3b8f4a0c2d11",
        "cusfn10msflc73beiik0",
    );
    let attributes = serde_json::json!({ "elo_rating": 1337 });
    visitor.visit(GetMonitor::new(mm.clone()));
    visitor.visit(ListBeacons::new(mm.clone()));
    visitor.visit(CreateGroup::new(mm.clone(), "ranked-2v2", attributes.clone()).ready(true));
    visitor.visit(GetGroup::new(mm.clone(), group));
    visitor.visit(DeleteGroup::new(mm.clone(), group));
    visitor.visit(CreateGroupMember::new(
        mm.clone(),
        group,
        "ranked-2v2",
        attributes.clone(),
    ));
    visitor.visit(GetGroupMember::new(mm.clone(), group, member));
    visitor.visit(UpdateGroupMember::new(mm.clone(), group, member, true));
    visitor.visit(DeleteGroupMember::new(mm.clone(), group, member));
    visitor.visit(CreateTicket::new(mm.clone(), "ranked-2v2", attributes));
    visitor.visit(GetTicket::new(mm.clone(), ticket));
    visitor.visit(DeleteTicket::new(mm.clone(), ticket));
    visitor.visit(CreateBackfill::<serde_json::Value>::new(
        mm.clone(),
        "ranked-2v2",
        Assignment::default(),
    ));
    visitor.visit(GetBackfill::new(mm.clone(), "5f0f1ca2b3d4"));
    visitor.visit(DeleteBackfill::new(mm, "5f0f1ca2b3d4"));
}
