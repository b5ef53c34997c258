//! What the gateway serves is one table, `bevy_edgegap::api::GATEWAY_ROUTES`: the gateway
//! serves exactly its routes and answers anything else 404 naming the player routes, and the
//! client plugin sends through a gateway exactly the player routes of it.

mod support;

use bevy_edgegap::api::{
    GATEWAY_ROUTES, GatewayCaller, GatewayRoute, GatewayRouteKind, Method, Target,
};

/// What the client plugin sends to a gateway (`EdgegapConfig` in gateway mode asks the same).
fn served_by_gateway(method: Method, target: &Target) -> bool {
    let Target::Path(path) = target else {
        return false;
    };
    GatewayRoute::serves_player(method.as_str(), path)
}
use support::*;

/// `route`'s path with every `{placeholder}` filled in.
fn filled(route: &GatewayRoute) -> String {
    route
        .path
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                "a69f8e3e0555"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The 404 text of something the gateway does not serve.
fn not_served(answer: &Answer) -> bool {
    answer.status == 404 && answer.message().starts_with("not served by the gateway")
}

#[test]
fn the_gateway_serves_every_route_of_the_table_and_nothing_else() {
    let emu = emulator();
    let gw = gateway(&emu);
    let base = gw.base_url();
    for route in GATEWAY_ROUTES {
        let body = (route.method == "POST").then_some("{}");
        let answer = send(route.method, &format!("{base}{}", filled(route)), &[], body);
        assert!(
            !not_served(&answer),
            "{}: {}",
            route.describe(),
            answer.text
        );
        // Without a player token: what each route answers a stranger.
        let expected = match route.kind {
            GatewayRouteKind::Deploy | GatewayRouteKind::Status | GatewayRouteKind::Stop => 401,
            GatewayRouteKind::Webhook => 404, // a wrong secret
            GatewayRouteKind::Health | GatewayRouteKind::Ready | GatewayRouteKind::Metrics => 200,
        };
        assert_eq!(
            answer.status,
            expected,
            "{}: {}",
            route.describe(),
            answer.text
        );
    }
    // Edgegap's other routes, and served paths with another method: 404, naming what players
    // may call, from the table.
    let auth = format!("Bearer {}", token("alice"));
    for (method, path) in [
        ("GET", "/v1/deployments"),
        ("POST", "/v1/deployments/bulk-stop"),
        ("GET", "/v1/locations"),
        ("GET", "/v2/deployments"),
        ("POST", "/v1/status/a69f8e3e0555"),
        ("DELETE", "/healthz"),
        ("POST", "/readyz"),
        ("GET", "/"),
    ] {
        let answer = send(
            method,
            &format!("{base}{path}"),
            &[("Authorization", &auth)],
            None,
        );
        assert!(not_served(&answer), "{method} {path}: {}", answer.text);
        for route in GATEWAY_ROUTES {
            let named = answer.message().contains(&route.describe());
            assert_eq!(
                named,
                route.caller == GatewayCaller::Player,
                "{}: {}",
                route.describe(),
                answer.text
            );
        }
    }
    assert_eq!(upstream_calls(&emu), 0);
}

#[test]
fn the_client_sends_through_a_gateway_exactly_its_player_routes() {
    let methods = [Method::Get, Method::Post, Method::Patch, Method::Delete];
    for route in GATEWAY_ROUTES {
        for method in methods {
            let target = Target::Path(filled(route));
            assert_eq!(
                served_by_gateway(method, &target),
                route.caller == GatewayCaller::Player && method.as_str() == route.method,
                "{} {}",
                method.as_str(),
                route.describe()
            );
        }
    }
    // Edgegap's other routes are not sent to a gateway.
    for path in [
        "/v1/deployments",
        "/v1/locations",
        "/v1/deployments/bulk-stop",
    ] {
        assert!(!served_by_gateway(Method::Get, &Target::Path(path.into())));
        assert!(!served_by_gateway(Method::Post, &Target::Path(path.into())));
    }
}
