//! Which endpoint a request is for, from its method and path.

/// An endpoint of the emulated API. Every request is classified into one of these (even one the
/// emulator does not serve: [`Route::Unknown`]), counted, and matched against faults and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `POST /v2/deployments`.
    DeployV2,
    /// `POST /v1/deploy` (legacy, deprecated).
    DeployV1,
    /// `GET /v1/status/{request_id}`.
    Status,
    /// `DELETE /v1/stop/{request_id}`.
    Stop,
    /// `DELETE /v1/self/stop/{request_id}/{stop_key}` (raw delete token).
    SelfStop,
    /// `POST /v1/deployments/bulk-stop`.
    BulkStop,
    /// `GET /v1/deployments`.
    ListDeployments,
    /// `GET /v1/locations`.
    Locations,
    /// `GET /v1/deployment/{request_id}/container-logs`.
    ContainerLogs,
    /// `GET /v1/metrics/deployment/{request_id}`.
    Metrics,
    /// `POST /v2/private-fleets/deployments` and `POST /v2/private-fleets:deploy`.
    FleetDeploy,
    /// `GET /v2/private-fleets/{fleet_name}/hosts`.
    FleetHosts,
    /// `GET /v1/deployments/{request_id}/tags`.
    ListTags,
    /// `GET /v1/deployments/{request_id}/tags/{tag_name}`.
    GetTag,
    /// `POST /v1/deployments/{request_id}/tags`.
    CreateTag,
    /// `PATCH /v1/deployments/{request_id}/tags/{tag_name}`.
    UpdateTag,
    /// `DELETE /v1/deployments/{request_id}/tags/{tag_name}`.
    DeleteTag,
    /// `GET /v1/context/{request_id}/{security_number}` (raw context token).
    Context,
    /// `POST /v1/context/{request_id}/{security_number}/tags`.
    ContextCreateTag,
    /// `DELETE /v1/context/{request_id}/{security_number}/tags/{tag_name}`.
    ContextDeleteTag,
    /// Any other method or path (answered 404 or 405).
    Unknown,
}

impl Route {
    /// Every route, in declaration order.
    pub const ALL: [Route; 21] = [
        Route::DeployV2,
        Route::DeployV1,
        Route::Status,
        Route::Stop,
        Route::SelfStop,
        Route::BulkStop,
        Route::ListDeployments,
        Route::Locations,
        Route::ContainerLogs,
        Route::Metrics,
        Route::FleetDeploy,
        Route::FleetHosts,
        Route::ListTags,
        Route::GetTag,
        Route::CreateTag,
        Route::UpdateTag,
        Route::DeleteTag,
        Route::Context,
        Route::ContextCreateTag,
        Route::ContextDeleteTag,
        Route::Unknown,
    ];

    /// The route's name in config files: the variant name in `snake_case` (`deploy_v2`, `status`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Route::DeployV2 => "deploy_v2",
            Route::DeployV1 => "deploy_v1",
            Route::Status => "status",
            Route::Stop => "stop",
            Route::SelfStop => "self_stop",
            Route::BulkStop => "bulk_stop",
            Route::ListDeployments => "list_deployments",
            Route::Locations => "locations",
            Route::ContainerLogs => "container_logs",
            Route::Metrics => "metrics",
            Route::FleetDeploy => "fleet_deploy",
            Route::FleetHosts => "fleet_hosts",
            Route::ListTags => "list_tags",
            Route::GetTag => "get_tag",
            Route::CreateTag => "create_tag",
            Route::UpdateTag => "update_tag",
            Route::DeleteTag => "delete_tag",
            Route::Context => "context",
            Route::ContextCreateTag => "context_create_tag",
            Route::ContextDeleteTag => "context_delete_tag",
            Route::Unknown => "unknown",
        }
    }

    /// The route named `name` (see [`Route::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether the route needs the organisation's API token (`Authorization: token <key>`).
    /// Self-stop and context routes take the raw injected token instead.
    pub(crate) fn needs_api_token(self) -> bool {
        !matches!(
            self,
            Route::SelfStop | Route::Context | Route::ContextCreateTag | Route::ContextDeleteTag
        )
    }

    /// Whether errors on this route carry v2's `details` object.
    pub(crate) fn is_v2(self) -> bool {
        matches!(
            self,
            Route::DeployV2 | Route::FleetDeploy | Route::FleetHosts
        )
    }
}

/// The route and the path parameters of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched {
    pub route: Route,
    /// Path parameters in order (request id, stop key, tag name, fleet name, …), percent-decoded.
    pub params: Vec<String>,
    /// The path exists but not with this method (405 instead of 404).
    pub wrong_method: bool,
    /// The methods the path takes (`GET, POST`), for a 405's `Allow` header; empty otherwise.
    pub allow: String,
}

/// Classifies a request by method and path (the path without its query string).
pub(crate) fn classify(method: &str, path: &str) -> Matched {
    let segments: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(crate::util::percent_decode)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let found = |route: Route, params: &[&str]| Matched {
        route,
        params: params.iter().map(|p| (*p).to_owned()).collect(),
        wrong_method: false,
        allow: String::new(),
    };
    // (expected method, route, params) for the path, if the path is known.
    let by_path: Option<Vec<(&str, Route, Vec<&str>)>> = match seg.as_slice() {
        ["v2", "deployments"] => Some(vec![("POST", Route::DeployV2, vec![])]),
        ["v1", "deploy"] => Some(vec![("POST", Route::DeployV1, vec![])]),
        ["v1", "status", id] => Some(vec![("GET", Route::Status, vec![id])]),
        ["v1", "stop", id] => Some(vec![("DELETE", Route::Stop, vec![id])]),
        ["v1", "self", "stop", id, key] => Some(vec![("DELETE", Route::SelfStop, vec![id, key])]),
        ["v1", "deployments", "bulk-stop"] => Some(vec![("POST", Route::BulkStop, vec![])]),
        ["v1", "deployments"] => Some(vec![("GET", Route::ListDeployments, vec![])]),
        ["v1", "locations"] => Some(vec![("GET", Route::Locations, vec![])]),
        ["v1", "deployment", id, "container-logs"] => {
            Some(vec![("GET", Route::ContainerLogs, vec![id])])
        }
        ["v1", "metrics", "deployment", id] => Some(vec![("GET", Route::Metrics, vec![id])]),
        ["v2", "private-fleets", "deployments"] | ["v2", "private-fleets:deploy"] => {
            Some(vec![("POST", Route::FleetDeploy, vec![])])
        }
        ["v2", "private-fleets", fleet, "hosts"] => {
            Some(vec![("GET", Route::FleetHosts, vec![fleet])])
        }
        ["v1", "deployments", id, "tags"] => Some(vec![
            ("GET", Route::ListTags, vec![id]),
            ("POST", Route::CreateTag, vec![id]),
        ]),
        ["v1", "deployments", id, "tags", name] => Some(vec![
            ("GET", Route::GetTag, vec![id, name]),
            ("PATCH", Route::UpdateTag, vec![id, name]),
            ("DELETE", Route::DeleteTag, vec![id, name]),
        ]),
        ["v1", "context", id, sec] => Some(vec![("GET", Route::Context, vec![id, sec])]),
        ["v1", "context", id, sec, "tags"] => {
            Some(vec![("POST", Route::ContextCreateTag, vec![id, sec])])
        }
        ["v1", "context", id, sec, "tags", name] => Some(vec![(
            "DELETE",
            Route::ContextDeleteTag,
            vec![id, sec, name],
        )]),
        _ => None,
    };
    match by_path {
        None => Matched {
            route: Route::Unknown,
            params: vec![],
            wrong_method: false,
            allow: String::new(),
        },
        Some(options) => options
            .iter()
            .find(|(m, _, _)| *m == method)
            .map(|(_, route, params)| found(*route, params))
            .unwrap_or_else(|| Matched {
                route: Route::Unknown,
                params: vec![],
                wrong_method: true,
                allow: options
                    .iter()
                    .map(|(m, _, _)| *m)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_route() {
        let cases = [
            ("POST", "/v2/deployments", Route::DeployV2),
            ("POST", "/v1/deploy", Route::DeployV1),
            ("GET", "/v1/status/abc", Route::Status),
            ("DELETE", "/v1/stop/abc", Route::Stop),
            ("DELETE", "/v1/self/stop/abc/12", Route::SelfStop),
            ("POST", "/v1/deployments/bulk-stop", Route::BulkStop),
            ("GET", "/v1/deployments", Route::ListDeployments),
            ("GET", "/v1/locations", Route::Locations),
            (
                "GET",
                "/v1/deployment/abc/container-logs",
                Route::ContainerLogs,
            ),
            ("GET", "/v1/metrics/deployment/abc", Route::Metrics),
            ("POST", "/v2/private-fleets/deployments", Route::FleetDeploy),
            ("POST", "/v2/private-fleets:deploy", Route::FleetDeploy),
            ("GET", "/v2/private-fleets/f/hosts", Route::FleetHosts),
            ("GET", "/v1/deployments/abc/tags", Route::ListTags),
            ("POST", "/v1/deployments/abc/tags", Route::CreateTag),
            ("GET", "/v1/deployments/abc/tags/t", Route::GetTag),
            ("PATCH", "/v1/deployments/abc/tags/t", Route::UpdateTag),
            ("DELETE", "/v1/deployments/abc/tags/t", Route::DeleteTag),
            ("GET", "/v1/context/abc/17", Route::Context),
            ("POST", "/v1/context/abc/17/tags", Route::ContextCreateTag),
            (
                "DELETE",
                "/v1/context/abc/17/tags/t",
                Route::ContextDeleteTag,
            ),
            ("GET", "/v3/nothing", Route::Unknown),
        ];
        for (method, path, route) in cases {
            assert_eq!(classify(method, path).route, route, "{method} {path}");
        }
        let wrong = classify("GET", "/v2/deployments");
        assert_eq!((wrong.route, wrong.wrong_method), (Route::Unknown, true));
        assert_eq!(wrong.allow, "POST");
        assert_eq!(
            classify("PUT", "/v1/deployments/a/tags/x").allow,
            "GET, PATCH, DELETE"
        );
        assert_eq!(
            classify("GET", "/v1/deployments/a%20b/tags/x").params,
            ["a b", "x"]
        );
        for route in Route::ALL {
            assert_eq!(Route::from_name(route.name()), Some(route));
        }
    }
}
