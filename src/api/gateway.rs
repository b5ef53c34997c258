//! What an `edgegap-gateway` serves, in one table: [`GATEWAY_ROUTES`]. The gateway builds its
//! router and its 404 text from it, and the client plugin in gateway mode refuses, before
//! sending, every call that is not a [`GatewayCaller::Player`] route of it
//! ([`served_by_gateway`](super::served_by_gateway)).
//!
//! This module imports nothing from the rest of `api` (methods are spelled as
//! [`Method::as_str`](super::Method::as_str) spells them), so `endpoint` can read the table
//! without the two importing each other.

/// Who calls a gateway route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatewayCaller {
    /// Game clients with a player token (`Authorization: Bearer <JWT>`): the only routes the
    /// client plugin sends through a gateway.
    Player,
    /// Edgegap itself: the webhooks of the deployments the gateway made.
    Edgegap,
    /// Whoever runs the gateway: the load balancer's liveness and readiness checks, and the
    /// Prometheus scrape.
    Operator,
}

/// What a gateway route does. The gateway matches every variant to its handler, so a route in
/// the table without one does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatewayRouteKind {
    /// Deploys a server for the caller under the gateway's policy.
    Deploy,
    /// The caller's deployment's status; long-poll with `?since=<Status.X>&wait=<seconds>`.
    Status,
    /// Stops the caller's deployment.
    Stop,
    /// Edgegap says a deployment moved on (path secret; the claim is confirmed upstream).
    Webhook,
    /// `{"status":"ok"}` while the gateway serves (liveness).
    Health,
    /// `{"status":"ready"}` while the gateway's shared store and Edgegap answer (readiness);
    /// 503 otherwise.
    Ready,
    /// The replica's Prometheus metrics, in the text format.
    Metrics,
}

/// One route an `edgegap-gateway` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayRoute {
    /// The HTTP method, upper-case (`"POST"`), as [`Method::as_str`](super::Method::as_str)
    /// spells it.
    pub method: &'static str,
    /// The path; `{name}` stands for one non-empty path segment (axum's syntax, so the
    /// gateway's router takes it as is).
    pub path: &'static str,
    /// What it does.
    pub kind: GatewayRouteKind,
    /// Who calls it.
    pub caller: GatewayCaller,
}

/// Every route an `edgegap-gateway` serves; anything else is 404.
pub const GATEWAY_ROUTES: &[GatewayRoute] = &[
    GatewayRoute {
        method: "POST",
        path: "/v2/deployments",
        kind: GatewayRouteKind::Deploy,
        caller: GatewayCaller::Player,
    },
    GatewayRoute {
        method: "GET",
        path: "/v1/status/{request_id}",
        kind: GatewayRouteKind::Status,
        caller: GatewayCaller::Player,
    },
    GatewayRoute {
        method: "DELETE",
        path: "/v1/stop/{request_id}",
        kind: GatewayRouteKind::Stop,
        caller: GatewayCaller::Player,
    },
    GatewayRoute {
        method: "POST",
        path: "/webhooks/{secret}",
        kind: GatewayRouteKind::Webhook,
        caller: GatewayCaller::Edgegap,
    },
    GatewayRoute {
        method: "GET",
        path: "/healthz",
        kind: GatewayRouteKind::Health,
        caller: GatewayCaller::Operator,
    },
    GatewayRoute {
        method: "GET",
        path: "/readyz",
        kind: GatewayRouteKind::Ready,
        caller: GatewayCaller::Operator,
    },
    GatewayRoute {
        method: "GET",
        path: "/metrics",
        kind: GatewayRouteKind::Metrics,
        caller: GatewayCaller::Operator,
    },
];

impl GatewayRoute {
    /// Whether a request `method` `path` (no query string) is this route.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let mut pattern = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (pattern.next(), actual.next()) {
                (None, None) => return true,
                (Some(expected), Some(segment)) => {
                    let placeholder = expected.starts_with('{') && expected.ends_with('}');
                    let fits = if placeholder {
                        !segment.is_empty()
                    } else {
                        expected == segment
                    };
                    if !fits {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }

    /// The route a request `method` `path` calls, if a gateway serves it.
    pub fn find(method: &str, path: &str) -> Option<&'static GatewayRoute> {
        GATEWAY_ROUTES.iter().find(|r| r.matches(method, path))
    }

    /// Whether a gateway serves `method` `path` to a player (a [`GatewayCaller::Player`]
    /// route): what the client plugin sends to a gateway, and nothing else.
    pub fn serves_player(method: &str, path: &str) -> bool {
        Self::find(method, path).is_some_and(|route| route.caller == GatewayCaller::Player)
    }

    /// `"POST /v2/deployments"`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_segment_by_segment_and_placeholders_need_a_segment() {
        let status = GatewayRoute::find("GET", "/v1/status/a69f8e3e0555").unwrap();
        assert_eq!(status.kind, GatewayRouteKind::Status);
        assert_eq!(
            GatewayRoute::find("POST", "/v2/deployments").map(|r| r.kind),
            Some(GatewayRouteKind::Deploy)
        );
        assert_eq!(
            GatewayRoute::find("delete", "/v1/stop/x").map(|r| r.kind),
            Some(GatewayRouteKind::Stop)
        );
        for (method, path) in [
            ("GET", "/v1/status/"),
            ("GET", "/v1/status"),
            ("GET", "/v1/status/a/b"),
            ("POST", "/v1/status/a"),
            ("GET", "/v2/deployments"),
            ("POST", "/v2/deployments/"),
            ("GET", "/v1/deployments"),
            ("PATCH", "/v1/stop/a"),
            ("GET", ""),
        ] {
            assert!(
                GatewayRoute::find(method, path).is_none(),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn the_table_has_one_route_per_kind_and_well_formed_patterns() {
        let kinds: std::collections::HashSet<_> = GATEWAY_ROUTES.iter().map(|r| r.kind).collect();
        assert_eq!(kinds.len(), GATEWAY_ROUTES.len());
        for route in GATEWAY_ROUTES {
            assert!(route.path.starts_with('/'), "{}", route.describe());
            assert_eq!(route.method, route.method.to_ascii_uppercase());
            // Every route matches itself with its placeholders filled in.
            let filled = route
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            assert_eq!(GatewayRoute::find(route.method, &filled), Some(route));
        }
    }
}
