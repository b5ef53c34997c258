//! Requests: every builder fully filled serializes to the documented JSON; paths, query
//! strings, methods, rate-limit classes and the Authorization header are exact; invalid
//! requests (a tag over twenty characters, say) are refused before anything is built.

use bevy_edgegap::api::*;
use serde_json::json;

const BASE: &str = "https://api.edgegap.com";

fn key() -> Secret {
    Secret::new("0b6c1c35-e458-4592-b607-c2c28afd8b62")
}

fn build<E: Endpoint>(endpoint: &E) -> HttpRequest {
    endpoint.to_request(BASE, &key()).unwrap()
}

fn body(request: &HttpRequest) -> serde_json::Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// Asserts `validate` and `to_request` both refuse `endpoint` and returns the field named.
fn invalid_field<E: Endpoint>(endpoint: &E) -> String {
    let err = endpoint.validate().unwrap_err();
    assert!(!err.may_have_been_sent());
    assert_eq!(endpoint.to_request(BASE, &key()).unwrap_err(), err);
    match err {
        EdgegapError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn v2_deploy_documented_body() {
    let deploy = DeployRequest::new("my-game-server", "2024.01.30-16.23.00-UTC")
        .require_cached_locations(false)
        .user_ip("75.28.35.192")
        .user_geo(45.508888, -73.561668)
        .env("MY_ENVIRONMENT_VARIABLE", "my-value")
        .tag("my-custom-tag")
        .webhook_on_ready("https://my-webhook.com")
        .webhook_on_error("https://my-webhook.com")
        .webhook_on_terminated("https://my-webhook.com");
    let request = build(&deploy);
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, "https://api.edgegap.com/v2/deployments");
    assert_eq!(
        body(&request),
        json!({
          "application": "my-game-server",
          "version": "2024.01.30-16.23.00-UTC",
          "require_cached_locations": false,
          "users": [
            {"user_type": "ip_address", "user_data": {"ip_address": "75.28.35.192"}},
            {"user_type": "geo_coordinates", "user_data": {"latitude": 45.508888, "longitude": -73.561668}}
          ],
          "environment_variables": [{"key": "MY_ENVIRONMENT_VARIABLE", "value": "my-value", "is_hidden": false}],
          "tags": ["my-custom-tag"],
          "webhook_on_ready": {"url": "https://my-webhook.com"},
          "webhook_on_error": {"url": "https://my-webhook.com"},
          "webhook_on_terminated": {"url": "https://my-webhook.com"}
        })
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(deploy.class(), EndpointClass::Deploy);
    assert!(!deploy.idempotent());
}

#[test]
fn fleet_deploy_body_and_both_paths() {
    let fleet = FleetDeployRequest::new(
        DeployRequest::new("my-game-server", "v1")
            .user_ip("75.28.35.192")
            .hidden_env("SECRET", "s3cr3t")
            .resources(1024, 2048),
        ["alpha-north-america-95fab093"],
    );
    let request = build(&fleet);
    assert_eq!(
        request.url,
        "https://api.edgegap.com/v2/private-fleets/deployments"
    );
    assert_eq!(
        body(&request),
        json!({
            "application": "my-game-server",
            "version": "v1",
            "users": [{"user_type": "ip_address", "user_data": {"ip_address": "75.28.35.192"}}],
            "resources": {"cpu_units": 1024, "memory_mib": 2048},
            "environment_variables": [{"key": "SECRET", "value": "s3cr3t", "is_hidden": true}],
            "private_host_ids": ["alpha-north-america-95fab093"]
        })
    );
    let colon = build(&fleet.clone().path(FleetDeployPath::ColonDeploy));
    assert_eq!(
        colon.url,
        "https://api.edgegap.com/v2/private-fleets:deploy"
    );
    assert_eq!(fleet.class(), EndpointClass::FleetDeploy);
}

#[test]
fn v1_deploy_fully_filled_body() {
    let deploy = DeployV1Request::new("my-game-server")
        .version_name("2024.01.30-16.23.00-UTC")
        .ip("75.28.35.192")
        .ip("1.2.3.4")
        .env("MODE", "ranked")
        .hidden_env("SECRET", "s3cr3t")
        .tag("production")
        .webhook_url("https://my-webhook.com")
        .filter(LocationFilter::continent(
            FilterType::Any,
            ["Europe", "North America"],
        ))
        .filter(LocationFilter::country(FilterType::Not, ["France"]))
        .container_log_storage(true, "my-s3")
        .command("./server")
        .arguments("--port 7777");
    let request = build(&deploy);
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, "https://api.edgegap.com/v1/deploy");
    assert_eq!(
        body(&request),
        json!({
            "app_name": "my-game-server",
            "version_name": "2024.01.30-16.23.00-UTC",
            "ip_list": ["75.28.35.192", "1.2.3.4"],
            "env_vars": [
                {"key": "MODE", "value": "ranked", "is_hidden": false},
                {"key": "SECRET", "value": "s3cr3t", "is_hidden": true}
            ],
            "tags": ["production"],
            "webhook_url": "https://my-webhook.com",
            "filters": [
                {"field": "continent", "values": ["Europe", "North America"], "filter_type": "any"},
                {"field": "country", "values": ["France"], "filter_type": "not"}
            ],
            "container_log_storage": {"enabled": true, "endpoint_storage": "my-s3"},
            "command": "./server",
            "arguments": "--port 7777"
        })
    );
    assert_eq!(deploy.class(), EndpointClass::Deploy);
    assert!(deploy.is_success(200) && !deploy.is_success(202));
}

#[test]
fn v1_deploy_geo_ip_body() {
    let deploy = DeployV1Request::new("my-game-server").geo_ip("75.28.35.192", 45.5, -73.5);
    assert_eq!(
        body(&build(&deploy)),
        json!({
            "app_name": "my-game-server",
            "geo_ip_list": [{"ip": "75.28.35.192", "latitude": 45.5, "longitude": -73.5}]
        })
    );
}

#[test]
fn bulk_stop_documented_body_and_idempotence() {
    let stop = BulkStop::new()
        .request_ids(FilterType::Any, ["c0653765de3b", "61b1be8f54d9"])
        .tags(FilterType::All, ["mcp-test"]);
    let request = build(&stop);
    assert_eq!(request.method, Method::Post);
    assert_eq!(
        request.url,
        "https://api.edgegap.com/v1/deployments/bulk-stop"
    );
    assert_eq!(
        body(&request),
        json!({"filters": [
            {"field": "request_id", "filter_type": "any", "values": ["c0653765de3b", "61b1be8f54d9"]},
            {"field": "deployment_tags", "filter_type": "all", "values": ["mcp-test"]}
        ]})
    );
    assert!(stop.idempotent(), "stopping twice is harmless");
    assert!(stop.is_success(200) && stop.is_success(202));
    let not = BulkStop::new().filter(BulkStopField::DeploymentTags, FilterType::Not, ["keep"]);
    assert_eq!(body(&build(&not))["filters"][0]["filter_type"], "not");
}

#[test]
fn list_deployments_query_is_url_encoded_json() {
    let list = ListDeployments::new().filter("status", QueryOperator::Eq, "ready");
    let request = build(&list);
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.url,
        "https://api.edgegap.com/v1/deployments?query=\
         %7B%22filters%22%3A%5B%7B%22field%22%3A%22status%22%2C%22operator%22%3A%22eq%22%2C\
         %22value%22%3A%22ready%22%7D%5D%7D"
    );
    assert!(request.body.is_empty());
    assert_eq!(list.class(), EndpointClass::List);

    let full = ListDeployments::new()
        .query(
            DeploymentQuery::new()
                .filter("status", QueryOperator::In, json!(["ready", "deploying"]))
                .filter("created_at", QueryOperator::Gte, "2026-01-01")
                .order_by("created_at", SortOrder::Desc),
        )
        .page(2)
        .limit(50);
    let query = Endpoint::query(&full);
    assert_eq!(query[0].0, "query");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&query[0].1).unwrap(),
        json!({
            "filters": [
                {"field": "status", "operator": "in", "value": ["ready", "deploying"]},
                {"field": "created_at", "operator": "gte", "value": "2026-01-01"}
            ],
            "order_by": [{"field": "created_at", "order": "desc"}]
        })
    );
    assert_eq!(
        &query[1..],
        &[
            ("page".to_owned(), "2".to_owned()),
            ("limit".to_owned(), "50".to_owned())
        ]
    );
    assert!(build(&full).url.ends_with("&page=2&limit=50"));
    assert_eq!(
        build(&ListDeployments::new()).url,
        "https://api.edgegap.com/v1/deployments"
    );
    let ops = [
        (QueryOperator::Eq, "eq"),
        (QueryOperator::Neq, "neq"),
        (QueryOperator::In, "in"),
        (QueryOperator::Nin, "nin"),
        (QueryOperator::Lt, "lt"),
        (QueryOperator::Lte, "lte"),
        (QueryOperator::Gt, "gt"),
        (QueryOperator::Gte, "gte"),
    ];
    for (op, wire) in ops {
        assert_eq!(serde_json::to_value(op).unwrap(), wire);
    }
    assert_eq!(serde_json::to_value(SortOrder::Asc).unwrap(), "asc");
}

#[test]
fn list_locations_query() {
    let list = ListLocations::new()
        .app("my-game")
        .version("v 1")
        .location_type("standard")
        .tags(true)
        .page(1)
        .limit(20);
    assert_eq!(
        build(&list).url,
        "https://api.edgegap.com/v1/locations?app=my-game&version=v%201&type=standard&tags=true&page=1&limit=20"
    );
    assert_eq!(
        build(&ListLocations::new().tags(false)).url,
        "https://api.edgegap.com/v1/locations?tags=false"
    );
}

#[test]
fn logs_metrics_and_fleet_hosts_paths() {
    let logs = build(&GetContainerLogs::new("2d35052ec4e9"));
    assert_eq!(logs.method, Method::Get);
    assert_eq!(
        logs.url,
        "https://api.edgegap.com/v1/deployment/2d35052ec4e9/container-logs"
    );
    let metrics = GetMetrics::new("2d35052ec4e9")
        .start_time("2021-07-10 00:00:00.00")
        .end_time("2021-07-10 01:00:00")
        .steps("5m")
        .raw(true);
    assert_eq!(
        build(&metrics).url,
        "https://api.edgegap.com/v1/metrics/deployment/2d35052ec4e9\
         ?start_time=2021-07-10%2000%3A00%3A00.000000&end_time=2021-07-10%2001%3A00%3A00.000000&steps=5m&raw=true"
    );
    let hosts = ListFleetHosts::new("test fleet/1");
    assert_eq!(
        build(&hosts).url,
        "https://api.edgegap.com/v2/private-fleets/test%20fleet%2F1/hosts"
    );
    assert_eq!(hosts.class(), EndpointClass::FleetHosts);
}

#[test]
fn a_key_pasted_with_its_scheme_is_not_prefixed_twice() {
    for (key, scheme) in [("token abc", "token abc"), ("Token  abc", "token abc")] {
        let request = GetStatus::new("abc")
            .to_request(BASE, &Secret::new(key))
            .unwrap();
        assert_eq!(request.header("Authorization"), Some(scheme), "{key}");
    }
    let player = GetStatus::new("abc")
        .to_request_as(BASE, Credentials::Bearer(&Secret::new("Bearer x.y.z")))
        .unwrap();
    assert_eq!(player.header("Authorization"), Some("Bearer x.y.z"));
}

#[test]
fn get_app_request() {
    let get = build(&GetApp::new("my game/1"));
    assert_eq!(get.method, Method::Get);
    assert_eq!(get.url, "https://api.edgegap.com/v1/app/my%20game%2F1");
    assert_eq!(
        get.header("Authorization"),
        Some("token 0b6c1c35-e458-4592-b607-c2c28afd8b62")
    );
    assert!(get.body.is_empty());
    assert_eq!(GetApp::new("my-game").class(), EndpointClass::Other);
    assert_eq!(invalid_field(&GetApp::new(" ")), "app_name");
}

#[test]
fn tag_requests() {
    let list = build(&ListTags::new("2d35052ec4e9").page(3).limit(10));
    assert_eq!(list.method, Method::Get);
    assert_eq!(
        list.url,
        "https://api.edgegap.com/v1/deployments/2d35052ec4e9/tags?page=3&limit=10"
    );
    let get = build(&GetTag::new("2d35052ec4e9", "v1.0 beta/x"));
    assert_eq!(
        get.url,
        "https://api.edgegap.com/v1/deployments/2d35052ec4e9/tags/v1.0%20beta%2Fx"
    );
    let create = build(&CreateTag::new("2d35052ec4e9", "v1.0.0"));
    assert_eq!(create.method, Method::Post);
    assert_eq!(
        create.url,
        "https://api.edgegap.com/v1/deployments/2d35052ec4e9/tags"
    );
    assert_eq!(body(&create), json!({"name": "v1.0.0"}));
    let update = build(&UpdateTag::new("2d35052ec4e9", "old", "new-name"));
    assert_eq!(update.method, Method::Patch);
    assert_eq!(
        update.url,
        "https://api.edgegap.com/v1/deployments/2d35052ec4e9/tags/old"
    );
    assert_eq!(body(&update), json!({"name": "new-name"}));
    let delete = DeleteTag::new("2d35052ec4e9", "old");
    let request = build(&delete);
    assert_eq!(request.method, Method::Delete);
    assert_eq!(
        request.url,
        "https://api.edgegap.com/v1/deployments/2d35052ec4e9/tags/old"
    );
    assert!(request.body.is_empty());
    assert!(delete.idempotent());
}

#[test]
fn status_and_stop_paths_and_log_storage_query() {
    let status = GetStatus::new("c0653765de3b");
    assert_eq!(
        build(&status).url,
        "https://api.edgegap.com/v1/status/c0653765de3b"
    );
    assert_eq!(status.class(), EndpointClass::Status);
    let stop = StopDeployment::new("c0653765de3b");
    let request = build(&stop);
    assert_eq!(request.method, Method::Delete);
    assert_eq!(request.url, "https://api.edgegap.com/v1/stop/c0653765de3b");
    for (storage, query) in [
        (ContainerLogStorage::Enabled, "true"),
        (ContainerLogStorage::Disabled, "false"),
        (ContainerLogStorage::Endpoint("my s3".into()), "my%20s3"),
    ] {
        assert_eq!(
            build(&stop.clone().container_log_storage(storage)).url,
            format!("https://api.edgegap.com/v1/stop/c0653765de3b?container_log_storage={query}")
        );
    }
}

#[test]
fn authorization_is_token_prefixed_except_self_stop() {
    let request = build(&GetStatus::new("c0653765de3b"));
    assert_eq!(
        request.header("authorization"),
        Some("token 0b6c1c35-e458-4592-b607-c2c28afd8b62")
    );
    assert!(
        !format!("{request:?}").contains("0b6c1c35"),
        "Debug must redact the token"
    );

    let self_stop = SelfStopDeployment::new(
        "https://api.edgegap.com/v1/self/stop/23c01225b99d/463660",
        "injected-delete-token",
    );
    // No API token needed.
    let request = self_stop.to_request(BASE, &Secret::default()).unwrap();
    assert_eq!(request.method, Method::Delete);
    assert_eq!(
        request.url,
        "https://api.edgegap.com/v1/self/stop/23c01225b99d/463660"
    );
    assert_eq!(
        request.header("authorization"),
        Some("injected-delete-token")
    );
    assert!(!format!("{self_stop:?}").contains("injected-delete-token"));

    // Every API-token endpoint refuses to build without a token.
    let err = GetStatus::new("c0653765de3b")
        .to_request(BASE, &Secret::default())
        .unwrap_err();
    assert!(matches!(err, EdgegapError::Config(_)), "{err:?}");
}

#[test]
fn validation_empty_names() {
    assert_eq!(
        invalid_field(&DeployRequest::new("", "v1").user_ip("1.2.3.4")),
        "application"
    );
    assert_eq!(
        invalid_field(&DeployRequest::new("game", " ").user_ip("1.2.3.4")),
        "version"
    );
    assert_eq!(
        invalid_field(&DeployV1Request::new("").ip("1.2.3.4")),
        "app_name"
    );
    assert_eq!(
        invalid_field(&DeployV1Request::new("game").version_name("").ip("1.2.3.4")),
        "version_name"
    );
    assert_eq!(invalid_field(&GetStatus::new("")), "request_id");
    assert_eq!(invalid_field(&GetContainerLogs::new("a b")), "request_id");
    assert_eq!(invalid_field(&ListFleetHosts::new("")), "fleet");
    assert_eq!(
        invalid_field(&ListLocations::new().version("v1")),
        "version"
    );
}

#[test]
fn validation_deploy_without_users() {
    assert_eq!(invalid_field(&DeployRequest::new("game", "v1")), "users");
    assert_eq!(invalid_field(&DeployV1Request::new("game")), "ip_list");
    assert_eq!(
        invalid_field(
            &DeployV1Request::new("game")
                .ip("1.2.3.4")
                .geo_ip("5.6.7.8", 1.0, 2.0)
        ),
        "geo_ip_list"
    );
    assert_eq!(
        invalid_field(&DeployV1Request::new("game").geo_ip("5.6.7.8", 91.0, 2.0)),
        "geo_ip_list[0].latitude"
    );
}

#[test]
fn validation_tag_names() {
    // 20: the stricter of the two API generations (the reference says 20, a newer spec 40).
    let long = "x".repeat(21);
    assert_eq!(invalid_field(&CreateTag::new("a", long.clone())), "name");
    assert_eq!(invalid_field(&GetTag::new("a", "")), "name");
    assert_eq!(invalid_field(&DeleteTag::new("a", long.clone())), "name");
    assert_eq!(
        invalid_field(&UpdateTag::new("a", "old", long.clone())),
        "new_name"
    );
    let twenty = "x".repeat(20);
    assert!(CreateTag::new("a", twenty).validate().is_ok());
}

#[test]
fn validation_metrics_times() {
    let m = GetMetrics::new("a")
        .start_time("2021-07-10 01:00:00")
        .end_time("2021-07-10 00:59:59.999999");
    assert_eq!(invalid_field(&m), "end_time");
    let equal = GetMetrics::new("a")
        .start_time("2021-07-10 01:00:00.5")
        .end_time("2021-07-10 01:00:00.500");
    assert_eq!(invalid_field(&equal), "end_time");
    assert_eq!(
        invalid_field(&GetMetrics::new("a").start_time("2021-07-10T00:00:00Z")),
        "start_time"
    );
    assert_eq!(
        invalid_field(&GetMetrics::new("a").end_time("2021-13-10 00:00:00")),
        "end_time"
    );
    assert_eq!(
        invalid_field(&GetMetrics::new("a").end_time("yesterday")),
        "end_time"
    );
    // Fractions compare by value, not by text.
    assert!(
        GetMetrics::new("a")
            .start_time("2021-07-10 00:00:00.09")
            .end_time("2021-07-10 00:00:00.1")
            .validate()
            .is_ok()
    );
    assert!(
        GetMetrics::new("a")
            .start_time("2021-07-10 23:59:59")
            .end_time("2021-07-11 00:00:00")
            .validate()
            .is_ok()
    );
}

#[test]
fn validation_env_value_limit() {
    let big = "v".repeat(4097);
    assert_eq!(
        invalid_field(
            &DeployRequest::new("game", "v1")
                .user_ip("1.2.3.4")
                .env("BIG", big.clone())
        ),
        "environment_variables[0].value"
    );
    assert_eq!(
        invalid_field(
            &DeployV1Request::new("game")
                .ip("1.2.3.4")
                .hidden_env("BIG", big)
        ),
        "env_vars[0].value"
    );
    assert!(
        DeployRequest::new("game", "v1")
            .user_ip("1.2.3.4")
            .env("OK", "v".repeat(4096))
            .validate()
            .is_ok()
    );
}

#[test]
fn validation_fleet_deploy_without_hosts() {
    let deploy = DeployRequest::new("game", "v1").user_ip("1.2.3.4");
    assert_eq!(
        invalid_field(&FleetDeployRequest::new(
            deploy.clone(),
            Vec::<String>::new()
        )),
        "private_host_ids"
    );
    assert_eq!(
        invalid_field(&FleetDeployRequest::new(deploy, ["h1", "h1"])),
        "private_host_ids[1]"
    );
}

#[test]
fn validation_bulk_stop_and_lists() {
    assert_eq!(invalid_field(&BulkStop::new()), "filters");
    assert_eq!(
        invalid_field(&BulkStop::new().request_ids(FilterType::Any, Vec::<String>::new())),
        "filters[0].values"
    );
    assert_eq!(
        invalid_field(&BulkStop::new().tags(FilterType::Any, ["ok", ""])),
        "filters[0].values[1]"
    );
    assert_eq!(
        invalid_field(&ListDeployments::new().filter("status", QueryOperator::In, "ready")),
        "query.filters[0].value"
    );
    assert_eq!(invalid_field(&ListDeployments::new().page(0)), "page");
    assert_eq!(invalid_field(&ListTags::new("a").limit(0)), "limit");
    assert_eq!(
        invalid_field(
            &DeployV1Request::new("g")
                .ip("1.2.3.4")
                .filter(LocationFilter::city(FilterType::Any, Vec::<String>::new()))
        ),
        "filters[0].values"
    );
}

#[test]
fn tag_names_over_twenty_characters_are_refused() {
    let request = DeployRequest::new("game", "v1")
        .user_ip("1.2.3.4")
        .tag("a".repeat(21));
    assert!(matches!(
        request.validate(),
        Err(EdgegapError::Invalid { .. })
    ));
    assert!(
        DeployRequest::new("game", "v1")
            .user_ip("1.2.3.4")
            .tag("a".repeat(20))
            .validate()
            .is_ok()
    );
}

#[test]
fn application_requests() {
    let create = build(&CreateApp::new("my-game-server"));
    assert_eq!(create.method, Method::Post);
    assert_eq!(create.url, "https://api.edgegap.com/v1/app");
    // Edgegap's plugins send an empty logo; the field is required.
    assert_eq!(
        body(&create),
        json!({"name": "my-game-server", "is_active": true, "image": ""})
    );
    let inactive = build(
        &CreateApp::new("my-game-server")
            .is_active(false)
            .image("iVBO"),
    );
    assert_eq!(
        body(&inactive),
        json!({"name": "my-game-server", "is_active": false, "image": "iVBO"})
    );
    assert!(!CreateApp::new("abc").idempotent());

    let update = build(&UpdateApp::new("my game").name("new-name").is_active(false));
    assert_eq!(update.method, Method::Patch);
    assert_eq!(update.url, "https://api.edgegap.com/v1/app/my%20game");
    assert_eq!(
        body(&update),
        json!({"name": "new-name", "is_active": false})
    );
    assert_eq!(body(&build(&UpdateApp::new("a"))), json!({}));

    let delete = build(&DeleteApp::new("my-game-server"));
    assert_eq!(delete.method, Method::Delete);
    assert_eq!(delete.url, "https://api.edgegap.com/v1/app/my-game-server");
    assert!(delete.body.is_empty() && DeleteApp::new("a").idempotent());

    let list = build(&ListApps::new().page(2).limit(20));
    assert_eq!(list.url, "https://api.edgegap.com/v1/apps?page=2&limit=20");
    assert_eq!(
        build(&ListApps::new()).url,
        "https://api.edgegap.com/v1/apps"
    );

    // Names are 3 to 64 characters (the 2026 spec) where one is created or renamed.
    assert_eq!(invalid_field(&CreateApp::new("ab")), "name");
    assert_eq!(invalid_field(&CreateApp::new("a".repeat(65))), "name");
    assert!(CreateApp::new("a".repeat(64)).validate().is_ok());
    assert!(CreateApp::new("abc").validate().is_ok());
    assert_eq!(invalid_field(&UpdateApp::new("abc").name("x")), "name");
    assert_eq!(invalid_field(&UpdateApp::new("")), "app_name");
    assert_eq!(invalid_field(&DeleteApp::new(" ")), "app_name");
    assert_eq!(invalid_field(&ListApps::new().page(0)), "page");
}

/// The spec's create example (2026), with every optional key this crate sends.
fn full_version() -> CreateAppVersion {
    CreateAppVersion::new(
        "my-game-server",
        "2024.01.30-16.23.00-UTC",
        "registry.edgegap.com",
        "my-org-cv2l3w3vy6fg/my-game-server",
        "2024.01.30-16.23.00-UTC",
        1536,
        3072,
    )
    .req_video(0)
    .private_registry(
        "robot$my-org-cv2l3w3vy6fg+app-version-pull",
        "ghca3dz3foAxXf2tu2xjExtXrBOMydfC",
    )
    .is_active(true)
    .verify_image(true)
    .force_cache(false)
    .time_to_deploy(120)
    .max_duration(60)
    .restart_policy(RestartPolicy::Never)
    .termination_grace_period_seconds(5)
    .port(AppVersionPort::new("gameport", 7777, "UDP").to_check(false))
    .port(
        AppVersionPort::new("web", 8080, "HTTP")
            .to_check(true)
            .tls_upgrade(true),
    )
    .env("MAP_ID", "forest1")
    .secret_env("STEAM_KEY", "steam-Secret-123")
}

#[test]
fn app_version_create_body() {
    let create = full_version();
    let request = build(&create);
    assert_eq!(request.method, Method::Post);
    assert_eq!(
        request.url,
        "https://api.edgegap.com/v1/app/my-game-server/version"
    );
    assert_eq!(
        body(&request),
        json!({
            "name": "2024.01.30-16.23.00-UTC",
            "docker_repository": "registry.edgegap.com",
            "docker_image": "my-org-cv2l3w3vy6fg/my-game-server",
            "docker_tag": "2024.01.30-16.23.00-UTC",
            "req_cpu": 1536,
            "req_memory": 3072,
            "req_video": 0,
            "private_username": "robot$my-org-cv2l3w3vy6fg+app-version-pull",
            "private_token": "ghca3dz3foAxXf2tu2xjExtXrBOMydfC",
            "is_active": true,
            "verify_image": true,
            "force_cache": false,
            "time_to_deploy": 120,
            "max_duration": 60,
            "restart_policy": "never",
            "termination_grace_period_seconds": 5,
            "ports": [
                {"port": 7777, "protocol": "UDP", "to_check": false, "name": "gameport"},
                {"port": 8080, "protocol": "HTTP", "to_check": true, "tls_upgrade": true, "name": "web"}
            ],
            "envs": [
                {"key": "MAP_ID", "value": "forest1", "is_secret": false},
                {"key": "STEAM_KEY", "value": "steam-Secret-123", "is_secret": true}
            ]
        })
    );
    assert!(!create.idempotent());
    // The spec's minimal example: only the required keys and what was set.
    let minimal = CreateAppVersion::new(
        "my-game-server",
        "v1",
        "registry.edgegap.com",
        "proj/img",
        "v1",
        256,
        512,
    );
    assert_eq!(
        body(&build(&minimal)),
        json!({"name": "v1", "docker_repository": "registry.edgegap.com",
               "docker_image": "proj/img", "docker_tag": "v1", "req_cpu": 256, "req_memory": 512})
    );
}

#[test]
fn app_version_secrets_never_show_in_debug() {
    let create = full_version();
    let request = build(&create);
    // The wire has them (Edgegap needs them)...
    let wire = String::from_utf8(request.body.clone()).unwrap();
    assert!(wire.contains("ghca3dz3foAxXf2tu2xjExtXrBOMydfC") && wire.contains("steam-Secret-123"));
    // ...and no Debug does: the request, the built HTTP request, the settings.
    for debug in [
        format!("{create:?}"),
        format!("{create:#?}"),
        format!("{request:?}"),
        format!("{:?}", create.settings),
    ] {
        assert!(
            !debug.contains("ghca3dz3foAxXf2tu2xjExtXrBOMydfC"),
            "{debug}"
        );
        assert!(!debug.contains("steam-Secret-123"), "{debug}");
        assert!(
            debug.contains("forest1"),
            "plain values stay readable: {debug}"
        );
    }
    let update = UpdateAppVersion::new("a", "v1").private_registry("robot$x", "upd-Secret-9");
    assert!(!format!("{update:?}").contains("upd-Secret-9"));
    assert!(!format!("{:?}", build(&update)).contains("upd-Secret-9"));
    // A deploy's hidden variable is hidden in the built request's Debug too.
    let deploy = DeployRequest::new("g", "v1")
        .user_ip("1.2.3.4")
        .hidden_env("K", "hidden-Secret-7");
    assert!(!format!("{:?}", build(&deploy)).contains("hidden-Secret-7"));
}

#[test]
fn app_version_get_update_delete_list_requests() {
    let get = build(&GetAppVersion::new("my game", "2024.01.30 16/23"));
    assert_eq!(get.method, Method::Get);
    assert_eq!(
        get.url,
        "https://api.edgegap.com/v1/app/my%20game/version/2024.01.30%2016%2F23"
    );
    assert!(get.body.is_empty());

    // The spec's update example, then re-pointing a version at a new tag.
    let update = UpdateAppVersion::new("my-game-server", "v1")
        .time_to_deploy(30)
        .env("MAP_ID", "forest1");
    let request = build(&update);
    assert_eq!(request.method, Method::Patch);
    assert_eq!(
        request.url,
        "https://api.edgegap.com/v1/app/my-game-server/version/v1"
    );
    assert_eq!(
        body(&request),
        json!({"time_to_deploy": 30, "envs": [{"key": "MAP_ID", "value": "forest1", "is_secret": false}]})
    );
    let retag = UpdateAppVersion::new("g", "v1").image("127.0.0.1:5000", "proj/g", "build-2");
    assert_eq!(
        body(&build(&retag)),
        json!({"docker_repository": "127.0.0.1:5000", "docker_image": "proj/g", "docker_tag": "build-2"})
    );
    assert_eq!(
        body(&build(
            &UpdateAppVersion::new("g", "v1").name("v2").is_active(false)
        )),
        json!({"name": "v2", "is_active": false})
    );

    let delete = build(&DeleteAppVersion::new("g", "v1"));
    assert_eq!(delete.method, Method::Delete);
    assert_eq!(delete.url, "https://api.edgegap.com/v1/app/g/version/v1");

    let list = build(&ListAppVersions::new("my-game-server").page(1).limit(50));
    assert_eq!(
        list.url,
        "https://api.edgegap.com/v1/app/my-game-server/versions?page=1&limit=50"
    );
}

#[test]
fn app_version_validation_refuses_before_sending() {
    let base = || {
        CreateAppVersion::new(
            "game",
            "v1",
            "registry.edgegap.com",
            "p/game",
            "v1",
            256,
            512,
        )
    };
    let tagged = |tag: &str| CreateAppVersion {
        docker_tag: tag.into(),
        ..base()
    };
    let cases: Vec<(CreateAppVersion, &str)> = vec![
        (tagged("latest"), "docker_tag"),
        (tagged("LATEST"), "docker_tag"),
        (tagged(""), "docker_tag"),
        (tagged("a b"), "docker_tag"),
        (
            CreateAppVersion::new("game", "v1", "r", "p/game:v1", "v1", 256, 512),
            "docker_image",
        ),
        (
            CreateAppVersion::new("game", "v1", "", "p/game", "v1", 256, 512),
            "docker_repository",
        ),
        (
            CreateAppVersion::new("game", "v1", "r", "p/g", "v1", 99, 100),
            "req_cpu",
        ),
        (
            CreateAppVersion::new("game", "v1", "r", "p/g", "v1", 100, 99),
            "req_memory",
        ),
        (
            CreateAppVersion::new("game", "v1", "r", "p/g", "v1", 256, 513),
            "req_memory",
        ),
        (
            CreateAppVersion::new("ga", "v1", "r", "p/g", "v1", 256, 512),
            "app_name",
        ),
        (
            CreateAppVersion::new("game", "", "r", "p/g", "v1", 256, 512),
            "name",
        ),
        (
            CreateAppVersion::new("game", "v".repeat(65), "r", "p/g", "v1", 256, 512),
            "name",
        ),
        (
            base().port(AppVersionPort::new("g", 60000, "UDP")),
            "ports[0].port",
        ),
        (
            base().port(AppVersionPort::new("g", 7777, "udp")),
            "ports[0].protocol",
        ),
        (
            base().port(AppVersionPort {
                port: 0,
                protocol: "TCP".into(),
                to_check: None,
                tls_upgrade: None,
                name: None,
            }),
            "ports[0].name",
        ),
        (
            base().port(AppVersionPort::new("g", 7777, "UDP").tls_upgrade(true)),
            "ports[0].tls_upgrade",
        ),
        (
            base()
                .port(AppVersionPort::new("g", 1, "UDP"))
                .port(AppVersionPort::new("g", 2, "TCP")),
            "ports[1].name",
        ),
        (base().env("", "x"), "envs[0].key"),
        (base().secret_env("K", "x".repeat(4097)), "envs[0].value"),
        (base().time_to_deploy(14), "time_to_deploy"),
        (base().max_duration(1441), "max_duration"),
        (base().max_duration(-2), "max_duration"),
        (
            base().termination_grace_period_seconds(4),
            "termination_grace_period_seconds",
        ),
    ];
    for (request, field) in cases {
        assert_eq!(invalid_field(&request), field, "{request:?}");
    }
    // The edges that are allowed.
    let edges = base()
        .port(AppVersionPort::new("one-to-one", 0, "TCP/UDP"))
        .port(AppVersionPort::new("top", 59_999, "WS").tls_upgrade(true))
        .max_duration(-1)
        .time_to_deploy(15);
    assert!(edges.validate().is_ok(), "{:?}", edges.validate());
    assert!(
        CreateAppVersion::new("game", "v1", "r", "p/g", "v1", 100, 200)
            .validate()
            .is_ok()
    );
    assert_eq!(
        invalid_field(&UpdateAppVersion::new("g", "v1").docker_tag("latest")),
        "docker_tag"
    );
    assert_eq!(
        invalid_field(&UpdateAppVersion::new("g", "")),
        "version_name"
    );
    assert_eq!(invalid_field(&GetAppVersion::new("", "v1")), "app_name");
    assert_eq!(
        invalid_field(&DeleteAppVersion::new("g", " ")),
        "version_name"
    );
    assert_eq!(invalid_field(&ListAppVersions::new("g").limit(0)), "limit");
}

#[test]
fn registry_tag_requests() {
    let list = build(&ListImageTags::new("my-game-server").page(2).limit(20));
    assert_eq!(list.method, Method::Get);
    assert_eq!(
        list.url,
        "https://api.edgegap.com/v1/container-registry/images/my-game-server/tags?page=2&limit=20"
    );
    // The spec's example names the image with its project: the `/` stays a separator.
    let namespaced = build(&ListImageTags::new("my-org-cv2l3w3vy6fg/my-game-server"));
    assert_eq!(
        namespaced.url,
        "https://api.edgegap.com/v1/container-registry/images/my-org-cv2l3w3vy6fg/my-game-server/tags"
    );
    let delete = build(&DeleteImageTag::new(
        "my-game-server",
        "2024.01.30-16.23.00-UTC",
    ));
    assert_eq!(delete.method, Method::Delete);
    assert_eq!(
        delete.url,
        "https://api.edgegap.com/v1/container-registry/images/my-game-server/tags/2024.01.30-16.23.00-UTC"
    );
    for bad in ["", "a//b", "../x", "a/.", " "] {
        assert_eq!(
            invalid_field(&ListImageTags::new(bad)),
            "image_name",
            "{bad:?}"
        );
    }
    assert_eq!(invalid_field(&DeleteImageTag::new("g", "a/b")), "tag_name");
    assert_eq!(invalid_field(&DeleteImageTag::new("g", "..")), "tag_name");
    assert_eq!(invalid_field(&ListImageTags::new("g").page(0)), "page");
}
