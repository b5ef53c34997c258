//! Which endpoint a request is for, from its method and path: the [`Route`] names and the table
//! of served paths.

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
    /// `POST /v1/app`.
    CreateApp,
    /// `GET /v1/app/{app_name}`.
    GetApp,
    /// `PATCH /v1/app/{app_name}`.
    UpdateApp,
    /// `DELETE /v1/app/{app_name}`.
    DeleteApp,
    /// `GET /v1/apps`.
    ListApps,
    /// `POST /v1/app/{app_name}/version`.
    CreateAppVersion,
    /// `GET /v1/app/{app_name}/version/{version_name}`.
    GetAppVersion,
    /// `PATCH /v1/app/{app_name}/version/{version_name}`.
    UpdateAppVersion,
    /// `DELETE /v1/app/{app_name}/version/{version_name}`.
    DeleteAppVersion,
    /// `GET /v1/app/{app_name}/versions`.
    ListAppVersions,
    /// Any other method or path (answered 404 or 405).
    Unknown,
}

impl Route {
    /// Every route, in declaration order.
    pub(crate) const ALL: [Route; 31] = [
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
        Route::CreateApp,
        Route::GetApp,
        Route::UpdateApp,
        Route::DeleteApp,
        Route::ListApps,
        Route::CreateAppVersion,
        Route::GetAppVersion,
        Route::UpdateAppVersion,
        Route::DeleteAppVersion,
        Route::ListAppVersions,
        Route::Unknown,
    ];

    /// The route's name in config files: the variant name in `snake_case` (`deploy_v2`, `status`).
    #[must_use]
    pub(crate) fn name(self) -> &'static str {
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
            Route::CreateApp => "create_app",
            Route::GetApp => "get_app",
            Route::UpdateApp => "update_app",
            Route::DeleteApp => "delete_app",
            Route::ListApps => "list_apps",
            Route::CreateAppVersion => "create_app_version",
            Route::GetAppVersion => "get_app_version",
            Route::UpdateAppVersion => "update_app_version",
            Route::DeleteAppVersion => "delete_app_version",
            Route::ListAppVersions => "list_app_versions",
            Route::Unknown => "unknown",
        }
    }

    /// The route named `name` (see [`Route::name`]).
    #[must_use]
    pub(crate) fn from_name(name: &str) -> Option<Route> {
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

/// The route and the path parameters of a request (`R`: the route names of one table; the
/// matchmaker has its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matched<R = Route> {
    pub route: R,
    /// Path parameters in order (request id, stop key, tag name, fleet name, …), percent-decoded.
    pub params: Vec<String>,
    /// The path exists but not with this method (405 instead of 404).
    pub wrong_method: bool,
    /// The methods the path takes (`GET, POST`), for a 405's `Allow` header; empty otherwise.
    pub allow: String,
}

/// Every endpoint served: method, path (`{name}` = one path parameter, passed to the handler
/// percent-decoded, in order), route. A path's methods are listed in the order a 405's `Allow`
/// header names them. The router ([`crate::handlers::dispatch`]) names each route's handler.
#[rustfmt::skip]
const TABLE: &[(&str, &str, Route)] = &[
    ("POST", "/v2/deployments", Route::DeployV2),
    ("POST", "/v1/deploy", Route::DeployV1),
    ("GET", "/v1/status/{request_id}", Route::Status),
    ("DELETE", "/v1/stop/{request_id}", Route::Stop),
    ("DELETE", "/v1/self/stop/{request_id}/{stop_key}", Route::SelfStop),
    ("POST", "/v1/deployments/bulk-stop", Route::BulkStop),
    ("GET", "/v1/deployments", Route::ListDeployments),
    ("GET", "/v1/locations", Route::Locations),
    ("GET", "/v1/deployment/{request_id}/container-logs", Route::ContainerLogs),
    ("GET", "/v1/metrics/deployment/{request_id}", Route::Metrics),
    ("POST", "/v2/private-fleets/deployments", Route::FleetDeploy),
    ("POST", "/v2/private-fleets:deploy", Route::FleetDeploy),
    ("GET", "/v2/private-fleets/{fleet_name}/hosts", Route::FleetHosts),
    ("GET", "/v1/deployments/{request_id}/tags", Route::ListTags),
    ("POST", "/v1/deployments/{request_id}/tags", Route::CreateTag),
    ("GET", "/v1/deployments/{request_id}/tags/{tag_name}", Route::GetTag),
    ("PATCH", "/v1/deployments/{request_id}/tags/{tag_name}", Route::UpdateTag),
    ("DELETE", "/v1/deployments/{request_id}/tags/{tag_name}", Route::DeleteTag),
    ("GET", "/v1/context/{request_id}/{security_number}", Route::Context),
    ("POST", "/v1/context/{request_id}/{security_number}/tags", Route::ContextCreateTag),
    ("DELETE", "/v1/context/{request_id}/{security_number}/tags/{tag_name}", Route::ContextDeleteTag),
    ("POST", "/v1/app", Route::CreateApp),
    ("GET", "/v1/app/{app_name}", Route::GetApp),
    ("PATCH", "/v1/app/{app_name}", Route::UpdateApp),
    ("DELETE", "/v1/app/{app_name}", Route::DeleteApp),
    ("GET", "/v1/apps", Route::ListApps),
    ("POST", "/v1/app/{app_name}/version", Route::CreateAppVersion),
    ("GET", "/v1/app/{app_name}/version/{version_name}", Route::GetAppVersion),
    ("PATCH", "/v1/app/{app_name}/version/{version_name}", Route::UpdateAppVersion),
    ("DELETE", "/v1/app/{app_name}/version/{version_name}", Route::DeleteAppVersion),
    ("GET", "/v1/app/{app_name}/versions", Route::ListAppVersions),
];

/// The parameters of `segments` if they fit `pattern` (a [`TABLE`] path).
fn fit(pattern: &str, segments: &[String]) -> Option<Vec<String>> {
    let mut parts = pattern.split('/').skip(1);
    let mut segments = segments.iter();
    let mut params = Vec::new();
    loop {
        match (parts.next(), segments.next()) {
            (None, None) => return Some(params),
            (Some(part), Some(segment)) if part.starts_with('{') => params.push(segment.clone()),
            (Some(part), Some(segment)) if part == segment => {}
            _ => return None,
        }
    }
}

/// Classifies a request by method and path (the path without its query string).
pub(crate) fn classify(method: &str, path: &str) -> Matched {
    classify_in(TABLE, Route::Unknown, method, path)
}

/// Classifies a request against `table` (method, path pattern, route), `unknown` when no path
/// fits.
pub(crate) fn classify_in<R: Copy>(
    table: &[(&str, &str, R)],
    unknown: R,
    method: &str,
    path: &str,
) -> Matched<R> {
    let segments: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(crate::util::percent_decode)
        .collect();
    // The methods the path takes, for a 405.
    let mut allow: Vec<&str> = Vec::new();
    for (expected, pattern, route) in table {
        if let Some(params) = fit(pattern, &segments) {
            if *expected == method {
                return Matched {
                    route: *route,
                    params,
                    wrong_method: false,
                    allow: String::new(),
                };
            }
            allow.push(expected);
        }
    }
    Matched {
        route: unknown,
        params: vec![],
        wrong_method: !allow.is_empty(),
        allow: allow.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_route() {
        #[rustfmt::skip]
        let cases = [
            ("POST", "/v2/deployments", Route::DeployV2),
            ("POST", "/v1/deploy", Route::DeployV1),
            ("GET", "/v1/status/abc", Route::Status),
            ("DELETE", "/v1/stop/abc", Route::Stop),
            ("DELETE", "/v1/self/stop/abc/12", Route::SelfStop),
            ("POST", "/v1/deployments/bulk-stop", Route::BulkStop),
            ("GET", "/v1/deployments", Route::ListDeployments),
            ("GET", "/v1/locations", Route::Locations),
            ("GET", "/v1/deployment/abc/container-logs", Route::ContainerLogs),
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
            ("DELETE", "/v1/context/abc/17/tags/t", Route::ContextDeleteTag),
            ("POST", "/v1/app", Route::CreateApp),
            ("GET", "/v1/app/g", Route::GetApp),
            ("PATCH", "/v1/app/g", Route::UpdateApp),
            ("DELETE", "/v1/app/g", Route::DeleteApp),
            ("GET", "/v1/apps", Route::ListApps),
            ("POST", "/v1/app/g/version", Route::CreateAppVersion),
            ("GET", "/v1/app/g/version/v1", Route::GetAppVersion),
            ("PATCH", "/v1/app/g/version/v1", Route::UpdateAppVersion),
            ("DELETE", "/v1/app/g/version/v1", Route::DeleteAppVersion),
            ("GET", "/v1/app/g/versions", Route::ListAppVersions),
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
        assert_eq!(classify("GET", "/v1/status/abc/").params, ["abc"]);
        assert_eq!(
            classify("DELETE", "/v1/self/stop/abc/12").params,
            ["abc", "12"]
        );
        assert!(!classify("GET", "/").wrong_method);
        for route in Route::ALL {
            assert_eq!(Route::from_name(route.name()), Some(route));
            // Every route but `Unknown` is served, and only through the table.
            let served = TABLE.iter().any(|(_, _, r)| *r == route);
            assert_eq!(served, route != Route::Unknown, "{route:?}");
        }
    }
}
