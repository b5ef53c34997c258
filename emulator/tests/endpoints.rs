//! Every other endpoint: legacy deploy, bulk stop, list (filters, pagination), locations,
//! container logs, metrics, private fleets, tags, context; and bad input.

mod common;

use std::time::Duration;

use common::{api, deploy, deploy_body, send, wait_status};
use edgegap_emulator::{AppVersion, Emulator, EmulatorHandle, Location, PrivateHost, Route};
use serde_json::{Value, json};

const PAGINATION_KEYS: [&str; 6] = [
    "number",
    "next_page_number",
    "previous_page_number",
    "paginator",
    "has_next",
    "has_previous",
];

fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1").port("gameport", 7777, "UDP"))
        .app_version(AppVersion::simulated("game", "v2"))
        .app_version(AppVersion::simulated("other", "v1"))
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .private_host(
            "fleet-a",
            PrivateHost::new("alpha-1").place("Toronto", "Canada", "North America", 43.6, -79.3),
        )
        .private_host("fleet-a", PrivateHost::new("alpha-2").status("PENDING"))
        .without_rate_limits()
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts")
}

fn assert_pagination(value: &Value) {
    for key in PAGINATION_KEYS {
        assert!(
            value["pagination"].get(key).is_some(),
            "pagination lacks `{key}`: {value}"
        );
    }
}

fn deploy_tagged(emu: &EmulatorHandle, version: &str, tags: &[&str]) -> String {
    let mut body = deploy_body("game", version);
    body["tags"] = json!(tags);
    let id = deploy(emu, &body);
    wait_status(
        emu,
        &id,
        if version == "stuck" {
            "Status.DEPLOYING"
        } else {
            "Status.READY"
        },
    );
    id
}

#[test]
fn legacy_v1_deploy() {
    let emu = emulator();
    let body = json!({
        "app_name": "game", "version_name": "v1", "ip_list": ["1.2.3.4"], "tags": ["legacy"],
        "env_vars": [{"key": "A", "value": "1", "is_hidden": "true"}],
        "filters": [{"field": "country", "values": ["Canada"], "filter_type": "any"}],
    });
    let answer = api(&emu, "POST", "/v1/deploy", Some(&body));
    assert_eq!(answer.status, 200, "{answer:?}");
    let a = &answer.json;
    let id = a["request_id"].as_str().expect("request_id").to_owned();
    assert_eq!(a["request_dns"], json!(format!("{id}.pr.edgegap.net")));
    assert_eq!(
        (a["request_app"].as_str(), a["request_version"].as_str()),
        (Some("game"), Some("v1"))
    );
    assert_eq!(a["request_user_count"], 1);
    assert_eq!(a["container_log_storage"]["enabled"], false);
    assert_eq!(a["filters"][0]["field"], "country");
    assert_eq!(a["tags"], json!(["legacy"]));
    assert_eq!(emu.deployment(&id).expect("known").env["A"], "1");
    let latest = api(
        &emu,
        "POST",
        "/v1/deploy",
        Some(&json!({"app_name": "game"})),
    );
    assert_eq!(
        latest.json["request_version"], "stuck",
        "no version_name: the last declared version"
    );
    assert_eq!(
        api(
            &emu,
            "POST",
            "/v1/deploy",
            Some(&json!({"app_name": "nope"}))
        )
        .status,
        404
    );
    assert_eq!(
        api(
            &emu,
            "POST",
            "/v1/deploy",
            Some(&json!({"app_name": "game", "version_name": "x"}))
        )
        .status,
        400
    );
    let missing = api(
        &emu,
        "POST",
        "/v1/deploy",
        Some(&json!({"version_name": "v1"})),
    );
    assert_eq!(missing.status, 400);
    assert!(
        missing.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("app_name")),
        "{missing:?}"
    );
    let both = json!({"app_name": "game", "ip_list": ["1.2.3.4"], "geo_ip_list": [{"ip": "1.2.3.4", "latitude": 1.0, "longitude": 2.0}]});
    assert_eq!(api(&emu, "POST", "/v1/deploy", Some(&both)).status, 400);
    let bad_filter = json!({"app_name": "game", "filters": [{"field": "planet", "values": [], "filter_type": "any"}]});
    assert_eq!(
        api(&emu, "POST", "/v1/deploy", Some(&bad_filter)).status,
        400
    );
}

#[test]
fn bulk_stop_filters_are_anded() {
    let emu = emulator();
    let a = deploy_tagged(&emu, "v1", &["red", "big"]);
    let b = deploy_tagged(&emu, "v1", &["red"]);
    let c = deploy_tagged(&emu, "v1", &["blue"]);
    let filters = json!({"filters": [
        {"field": "deployment_tags", "filter_type": "any", "values": ["red"]},
        {"field": "request_id", "filter_type": "not", "values": [b]},
    ]});
    let answer = api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&filters));
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.json, json!({"processable": [{"request_id": a}]}));
    wait_status(&emu, &a, "Status.TERMINATED");
    assert_eq!(
        emu.deployment(&a).expect("known").stopped_by.as_deref(),
        Some("bulk")
    );
    let all = json!({"filters": [{"field": "deployment_tags", "filter_type": "all", "values": ["red", "big"]}]});
    assert_eq!(
        api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&all)).json["processable"],
        json!([]),
        "terminated ones are not processable"
    );
    let by_id =
        json!({"filters": [{"field": "request_id", "filter_type": "any", "values": [b, c]}]});
    let answer = api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&by_id));
    assert_eq!(answer.json["processable"].as_array().map(Vec::len), Some(2));
    for bad in [
        json!({}),
        json!({"filters": [{"field": "status", "filter_type": "any", "values": []}]}),
        json!({"filters": [{"field": "request_id", "filter_type": "some", "values": []}]}),
        json!({"filters": [{"field": "request_id", "filter_type": "any"}]}),
    ] {
        assert_eq!(
            api(&emu, "POST", "/v1/deployments/bulk-stop", Some(&bad)).status,
            400,
            "{bad}"
        );
    }
    let legacy = Emulator::builder()
        .token("t")
        .bulk_stop_status(200)
        .start()
        .expect("starts");
    let answer = api(&legacy, "POST", "/v1/deployments/bulk-stop", Some(&by_id));
    assert_eq!(
        (answer.status, answer.json["processable"].clone()),
        (200, json!([]))
    );
}

fn list(emu: &EmulatorHandle, query: Option<Value>, extra: &str) -> common::Answer {
    let mut path = "/v1/deployments?".to_owned();
    if let Some(query) = query {
        let text = query.to_string();
        let encoded: String = text
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        path.push_str(&format!("query={encoded}&"));
    }
    path.push_str(extra);
    api(emu, "GET", &path, None)
}

fn ids(answer: &common::Answer) -> Vec<String> {
    answer.json["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|d| d["request_id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn list_filters_paginates_and_hides_terminated() {
    let emu = emulator();
    let a = deploy_tagged(&emu, "v1", &["red"]);
    let b = deploy_tagged(&emu, "v2", &["blue"]);
    let c = deploy_tagged(&emu, "stuck", &["red"]);
    let d = deploy_tagged(&emu, "v1", &[]);
    assert_eq!(
        api(&emu, "DELETE", &format!("/v1/stop/{d}"), None).status,
        200
    );
    wait_status(&emu, &d, "Status.TERMINATED");
    let all = list(&emu, None, "");
    assert_eq!(all.status, 200);
    assert_eq!(
        ids(&all),
        [a.clone(), b.clone(), c.clone()],
        "active ones, in creation order"
    );
    assert_eq!(
        (all.json["total_count"].as_u64(), all.json["count"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(all.json["message"], json!([]));
    assert_pagination(&all.json);
    let item = &all.json["data"][0];
    for key in [
        "request_id",
        "fqdn",
        "start_time",
        "ready",
        "public_ip",
        "ports",
        "tags",
    ] {
        assert!(item.get(key).is_some(), "list item lacks `{key}`");
    }
    let filter = |field: &str, operator: &str, value: Value| json!({"filters": [{"field": field, "operator": operator, "value": value}]});
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter("status", "eq", json!("ready"))),
            ""
        )),
        [a.clone(), b.clone()]
    );
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter("status", "eq", json!("Status.READY"))),
            ""
        )),
        [a.clone(), b.clone()]
    );
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter("status", "neq", json!("ready"))),
            ""
        )),
        [c.as_str()]
    );
    assert_eq!(
        ids(&list(&emu, Some(filter("tags", "eq", json!("red"))), "")),
        [a.clone(), c.clone()]
    );
    assert_eq!(
        ids(&list(&emu, Some(filter("tags", "nin", json!(["red"]))), "")),
        [b.as_str()]
    );
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter("request_id", "in", json!([a, c]))),
            ""
        )),
        [a.clone(), c.clone()]
    );
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter("app_version", "eq", json!("v2"))),
            ""
        )),
        [b.as_str()]
    );
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter("app_name", "eq", json!("other"))),
            ""
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter("created_at", "gte", json!("2000-01-01 00:00:00"))),
            ""
        ))
        .len(),
        3
    );
    assert_eq!(
        ids(&list(
            &emu,
            Some(filter(
                "created_at",
                "lt",
                json!("2000-01-01 00:00:00.000000")
            )),
            ""
        ))
        .len(),
        0
    );
    let anded = json!({"filters": [
        {"field": "tags", "operator": "eq", "value": "red"},
        {"field": "status", "operator": "eq", "value": "ready"}]});
    assert_eq!(ids(&list(&emu, Some(anded), "")), [a.as_str()]);
    let ordered = json!({"filters": [], "order_by": [{"field": "created_at", "order": "desc"}]});
    assert_eq!(
        ids(&list(&emu, Some(ordered), "")),
        [c.clone(), b.clone(), a.clone()]
    );
    let page = list(&emu, None, "page=2&limit=2");
    assert_eq!(ids(&page), [c.as_str()]);
    assert_eq!(page.json["total_count"], 3);
    let p = &page.json["pagination"];
    assert_eq!(
        (
            p["number"].as_u64(),
            p["has_next"].as_bool(),
            p["has_previous"].as_bool()
        ),
        (Some(2), Some(false), Some(true))
    );
    assert_eq!(
        (
            p["previous_page_number"].as_u64(),
            p["paginator"]["num_pages"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert!(p["next_page_number"].is_null());
    let first = list(&emu, None, "limit=2").json;
    assert_eq!(
        (
            first["pagination"]["next_page_number"].as_u64(),
            first["pagination"]["has_next"].as_bool()
        ),
        (Some(2), Some(true))
    );
    for (query, extra) in [
        (
            Some(json!({"filters": [{"field": "color", "operator": "eq", "value": "x"}]})),
            "",
        ),
        (
            Some(json!({"filters": [{"field": "status", "operator": "like", "value": "x"}]})),
            "",
        ),
        (
            Some(json!({"filters": [{"field": "status", "operator": "in", "value": "ready"}]})),
            "",
        ),
        (
            Some(
                json!({"filters": [{"field": "created_at", "operator": "gt", "value": "yesterday"}]}),
            ),
            "",
        ),
        (None, "page=0"),
        (None, "limit=abc"),
    ] {
        let answer = list(&emu, query.clone(), extra);
        assert_eq!(answer.status, 400, "{query:?} {extra}: {answer:?}");
        assert!(answer.json["message"].is_string());
    }
    assert_eq!(
        api(&emu, "GET", "/v1/deployments?query=%7Bnot", None).status,
        400
    );
}

#[test]
fn default_page_size_is_twenty() {
    let emu = emulator();
    for _ in 0..21 {
        deploy(&emu, &deploy_body("game", "v1"));
    }
    let page = list(&emu, None, "");
    assert_eq!(page.json["data"].as_array().map(Vec::len), Some(20));
    assert_eq!(page.json["total_count"], 21);
    assert_eq!(page.json["pagination"]["has_next"], true);
}

#[test]
fn locations_with_type_tags_and_app_filters() {
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .location(
            Location::new("Montreal", "Canada", "North America", 45.5, -73.6).tag("tier", "1"),
        )
        .location(Location::new("Tokyo", "Japan", "Asia", 35.7, 139.7).kind("premium"))
        .start()
        .expect("starts");
    let all = api(&emu, "GET", "/v1/locations", None);
    assert_eq!(all.status, 200);
    let locations = all.json["locations"].as_array().expect("locations");
    assert_eq!(locations.len(), 2);
    for key in [
        "city",
        "country",
        "continent",
        "administrative_division",
        "timezone",
        "latitude",
        "longitude",
        "type",
    ] {
        assert!(locations[0].get(key).is_some(), "location lacks `{key}`");
    }
    assert!(locations[0].get("tags").is_none(), "tags only when asked");
    assert_eq!(
        (all.json["total_count"].as_u64(), all.json["count"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(all.json["messages"], json!([]));
    assert_pagination(&all.json);
    let tagged = api(&emu, "GET", "/v1/locations?tags=true", None).json;
    assert_eq!(
        tagged["locations"][0]["tags"],
        json!([{"key": "tier", "value": "1"}])
    );
    let premium = api(&emu, "GET", "/v1/locations?type=premium", None).json;
    assert_eq!(premium["locations"][0]["city"], "Tokyo");
    assert_eq!(premium["total_count"], 1);
    assert_eq!(
        api(&emu, "GET", "/v1/locations?app=game&version=v1", None).status,
        200
    );
    assert_eq!(
        api(&emu, "GET", "/v1/locations?app=game&version=v9", None).status,
        400
    );
    assert_eq!(
        api(&emu, "GET", "/v1/locations?limit=1&page=2", None).json["locations"][0]["city"],
        "Tokyo"
    );
    let id = deploy(&emu, &deploy_body("game", "v1"));
    assert!(
        emu.deployment(&id).expect("known").env["ARBITRIUM_DEPLOYMENT_LOCATION"]
            .contains("Montreal")
    );
}

#[test]
fn container_logs_and_metrics_of_a_simulated_deployment() {
    let emu = emulator();
    let id = deploy_tagged(&emu, "v1", &[]);
    let logs = api(
        &emu,
        "GET",
        &format!("/v1/deployment/{id}/container-logs"),
        None,
    );
    assert_eq!(logs.status, 200);
    assert!(
        logs.json["logs"]
            .as_str()
            .is_some_and(|l| l.contains(&id) && l.lines().count() >= 3),
        "{logs:?}"
    );
    assert!(logs.json["crash_data"].is_null());
    assert_eq!(emu.logs(&id), logs.json["logs"].as_str().map(str::to_owned));
    assert_eq!(
        api(
            &emu,
            "GET",
            "/v1/deployment/000000000000/container-logs",
            None
        )
        .status,
        404
    );
    let path = format!(
        "/v1/metrics/deployment/{id}?start_time=2026-01-01%2000:00:00.00&end_time=2026-01-01%2000:10:00.00&steps=1m"
    );
    let metrics = api(&emu, "GET", &path, None);
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let m = &metrics.json;
    for series in [
        &m["cpu"],
        &m["mem"],
        &m["total"]["receive_total"],
        &m["total"]["transmit_total"],
        &m["network"]["receive"],
    ] {
        let labels = series["labels"].as_array().expect("labels").len();
        assert_eq!(labels, 10, "ten 1-minute steps: {series}");
        assert_eq!(series["datasets"].as_array().map(Vec::len), Some(10));
        assert_eq!(series["timestamps"].as_array().map(Vec::len), Some(10));
    }
    assert_eq!(m["cpu"]["timestamps"][1], "2026-01-01 00:01:00.000");
    assert_eq!(m["cpu"]["labels"][1], "00:01:00");
    assert_eq!(
        api(&emu, "GET", &format!("/v1/metrics/deployment/{id}"), None).status,
        200
    );
    let backwards = format!(
        "/v1/metrics/deployment/{id}?start_time=2026-01-02%2000:00:00.0&end_time=2026-01-01%2000:00:00.0"
    );
    assert_eq!(api(&emu, "GET", &backwards, None).status, 422);
    assert_eq!(
        api(
            &emu,
            "GET",
            &format!("/v1/metrics/deployment/{id}?steps=fast"),
            None
        )
        .status,
        400
    );
    assert_eq!(
        api(
            &emu,
            "GET",
            &format!("/v1/metrics/deployment/{id}?start_time=soon"),
            None
        )
        .status,
        400
    );
    assert_eq!(
        api(&emu, "GET", "/v1/metrics/deployment/000000000000", None).status,
        404
    );
}

#[test]
fn private_fleet_deploy_on_both_paths_and_hosts() {
    let emu = emulator();
    let mut body = deploy_body("game", "v1");
    body["private_host_ids"] = json!(["alpha-1"]);
    for path in [
        "/v2/private-fleets/deployments",
        "/v2/private-fleets:deploy",
    ] {
        let answer = api(&emu, "POST", path, Some(&body));
        assert_eq!(answer.status, 202, "{path}: {answer:?}");
        let id = answer.json["request_id"].as_str().expect("id");
        assert_eq!(
            emu.deployment(id).expect("known").env["ARBITRIUM_HOST_ID"],
            "alpha-1"
        );
    }
    assert_eq!(emu.request_count(Route::FleetDeploy), 2);
    for (ids, names) in [
        (json!([]), "private_host_ids"),
        (json!(["alpha-1", "alpha-1"]), "unique"),
        (json!(["nope"]), "nope"),
        (json!(["alpha-2"]), "ACTIVE"),
    ] {
        let mut bad = body.clone();
        bad["private_host_ids"] = ids;
        let answer = api(&emu, "POST", "/v2/private-fleets/deployments", Some(&bad));
        assert_eq!(answer.status, 400);
        assert!(
            answer.json.to_string().contains(names),
            "{names}: {answer:?}"
        );
    }
    let mut missing = body.clone();
    missing
        .as_object_mut()
        .expect("object")
        .remove("private_host_ids");
    assert_eq!(
        api(
            &emu,
            "POST",
            "/v2/private-fleets/deployments",
            Some(&missing)
        )
        .status,
        400
    );
    let hosts = api(&emu, "GET", "/v2/private-fleets/fleet-a/hosts", None);
    assert_eq!(hosts.status, 200);
    let data = hosts.json["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    for key in [
        "host_id",
        "status",
        "ip_address",
        "allocated_cpu_units",
        "allocated_memory_mb",
        "created_at",
        "updated_at",
        "centroid",
        "fleet_host_specifications",
    ] {
        assert!(data[0].get(key).is_some(), "host lacks `{key}`");
    }
    assert_eq!(
        data[0]["allocated_cpu_units"], 512,
        "two deployments of 256 units"
    );
    assert_eq!(
        (
            hosts.json["total_count"].as_u64(),
            hosts.json["count"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_pagination(&hosts.json);
    let unknown = api(&emu, "GET", "/v2/private-fleets/nope/hosts", None);
    assert_eq!(unknown.status, 400);
    assert!(unknown.json["details"].is_object());
}

#[test]
fn deployment_tags_crud() {
    let emu = emulator();
    let id = deploy_tagged(&emu, "v1", &["initial"]);
    let base = format!("/v1/deployments/{id}/tags");
    let created = api(&emu, "POST", &base, Some(&json!({"name": "v1.0.0"})));
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.json["name"], "v1.0.0");
    assert!(created.json["create_time"].is_string() && created.json["last_updated"].is_string());
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": "v1.0.0"}))).status,
        409
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": ""}))).status,
        400
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": "x".repeat(21)}))).status,
        400
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"name": "x".repeat(20)}))).status,
        200
    );
    assert_eq!(
        api(&emu, "POST", &base, Some(&json!({"label": "x"}))).status,
        400
    );
    let listed = api(&emu, "GET", &base, None);
    assert_eq!(listed.status, 200);
    let names: Vec<&str> = listed.json["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["initial", "v1.0.0", &"x".repeat(20)]);
    assert_eq!(
        (
            listed.json["total_count"].as_u64(),
            listed.json["count"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert_pagination(&listed.json);
    assert_eq!(
        api(&emu, "GET", &format!("{base}/v1.0.0"), None).json["name"],
        "v1.0.0"
    );
    assert_eq!(api(&emu, "GET", &format!("{base}/nope"), None).status, 404);
    let renamed = api(
        &emu,
        "PATCH",
        &format!("{base}/v1.0.0"),
        Some(&json!({"name": "v1.0.1"})),
    );
    assert_eq!(
        (renamed.status, renamed.json["name"].as_str()),
        (200, Some("v1.0.1"))
    );
    assert_eq!(
        api(
            &emu,
            "PATCH",
            &format!("{base}/v1.0.1"),
            Some(&json!({"name": "initial"}))
        )
        .status,
        409
    );
    assert_eq!(
        api(
            &emu,
            "PATCH",
            &format!("{base}/nope"),
            Some(&json!({"name": "z"}))
        )
        .status,
        404
    );
    let deleted = api(&emu, "DELETE", &format!("{base}/v1.0.1"), None);
    assert_eq!((deleted.status, deleted.text.as_str()), (204, ""));
    assert_eq!(
        api(&emu, "DELETE", &format!("{base}/v1.0.1"), None).status,
        404
    );
    assert_eq!(
        api(&emu, "GET", "/v1/deployments/000000000000/tags", None).status,
        404
    );
    let status = api(&emu, "GET", &format!("/v1/status/{id}"), None).json;
    assert_eq!(status["tags"], json!(["initial", "x".repeat(20)]));
    assert_eq!(
        emu.deployment(&id).expect("known").env["ARBITRIUM_DEPLOYMENT_TAGS"],
        "initial",
        "env fixed at start"
    );
    for route in [
        Route::CreateTag,
        Route::ListTags,
        Route::GetTag,
        Route::UpdateTag,
        Route::DeleteTag,
    ] {
        assert!(emu.request_count(route) > 0, "{route:?}");
    }
}

#[test]
fn context_api_with_the_raw_context_token() {
    let emu = emulator();
    let id = deploy_tagged(&emu, "v1", &["tag1"]);
    let env = emu.deployment(&id).expect("known").env;
    let url = env["ARBITRIUM_CONTEXT_URL"].clone();
    let token = env["ARBITRIUM_CONTEXT_TOKEN"].clone();
    let context = send("GET", &url, Some(&token), None);
    assert_eq!(context.status, 200, "{context:?}");
    let c = &context.json;
    for key in [
        "request_id",
        "public_ip",
        "status",
        "ready",
        "whitelisting_active",
        "fqdn",
        "ports",
        "location",
        "tags",
    ] {
        assert!(c.get(key).is_some(), "context lacks `{key}`");
    }
    assert_eq!(
        (c["status"].as_str(), c["ready"].as_bool()),
        (Some("Status.READY"), Some(true))
    );
    assert_eq!(send("GET", &url, None, None).status, 401);
    assert_eq!(
        send("GET", &url, Some("token t"), None).status,
        401,
        "the API token is not the context token"
    );
    assert_eq!(
        send(
            "GET",
            &format!("{}/v1/context/{id}/0999999", emu.base_url()),
            Some(&token),
            None
        )
        .status,
        404
    );
    let body = json!({"name": "from-server"}).to_string();
    let created = send("POST", &format!("{url}/tags"), Some(&token), Some(&body));
    assert_eq!(
        (created.status, created.json["name"].as_str()),
        (200, Some("from-server"))
    );
    assert_eq!(
        send("POST", &format!("{url}/tags"), Some(&token), Some(&body)).status,
        409
    );
    assert_eq!(
        send(
            "DELETE",
            &format!("{url}/tags/from-server"),
            Some(&token),
            None
        )
        .status,
        204
    );
    assert_eq!(
        send(
            "DELETE",
            &format!("{url}/tags/from-server"),
            Some(&token),
            None
        )
        .status,
        404
    );
    assert_eq!(
        send("DELETE", &format!("{url}/tags/tag1"), Some("wrong"), None).status,
        401
    );
}

#[test]
fn bad_input_never_panics_and_names_the_problem() {
    let emu = Emulator::builder()
        .token("t")
        .app_version(AppVersion::simulated("game", "v1"))
        .without_rate_limits()
        .max_body_bytes(4096)
        .start()
        .expect("starts");
    let huge =
        json!({"application": "game", "version": "v1", "users": [], "pad": "x".repeat(10_000)});
    let answer = api(&emu, "POST", "/v2/deployments", Some(&huge));
    assert_eq!(answer.status, 413, "{answer:?}");
    assert!(answer.json["message"].is_string());
    let url = format!("{}/v2/deployments", emu.base_url());
    for body in [
        "null",
        "\"string\"",
        "{\"application\": null}",
        "{\"application\": \"game\", \"version\": \"v1\", \"users\": {}}",
        "{\"application\": \"game\", \"version\": \"v1\", \"users\": [{\"user_type\": 1}]}",
        "\u{0}\u{1}",
        "{\"application\": \"\u{e9}\", \"version\": \"v1\", \"users\": [{\"user_type\": \"ip_address\", \"user_data\": null}]}",
    ] {
        let answer = send("POST", &url, Some("token t"), Some(body));
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        assert!(
            answer.json["message"].is_string() && answer.json["details"].is_object(),
            "{answer:?}"
        );
    }
    for path in [
        "/v1/status/%ff%fe",
        "/v1/deployments/%00/tags/%zz",
        "/v1/metrics/deployment/x?start_time=%e9%e9&steps=%ff",
        "/v1/deployments?query=%ff&page=99999999999999999999999",
    ] {
        let answer = api(&emu, "GET", path, None);
        assert!((400..500).contains(&answer.status), "{path}: {answer:?}");
    }
    assert_eq!(
        api(&emu, "GET", "/v1/locations", None).status,
        200,
        "still serving"
    );
}
