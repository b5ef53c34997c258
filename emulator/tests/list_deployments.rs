//! `GET /v1/deployments`: the official status filter, the inferred filter vocabulary, order,
//! pagination, only documented item fields, terminated deployments hidden.

mod support;

use std::time::Duration;

use edgegap_emulator::{AppVersion, EmulatorHandle};
use serde_json::{Value, json};
use support::{
    api, assert_pagination, deploy, deploy_body, deploy_ready, deploy_tagged, emulator,
    game_v1_builder, status_of, wait_status,
};

fn list(emu: &EmulatorHandle, query: Option<Value>, extra: &str) -> support::Answer {
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

fn ids(answer: &support::Answer) -> Vec<String> {
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
    assert_eq!(status_of(&emu, "DELETE", &format!("/v1/stop/{d}")), 200);
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
    assert_eq!(status_of(&emu, "GET", "/v1/deployments?query=%7Bnot"), 400);
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
fn list_items_carry_only_documented_fields() {
    let emu = emulator();
    deploy_ready(&emu);
    let list = api(&emu, "GET", "/v1/deployments", None);
    let item = list.json["data"][0].as_object().expect("one item").clone();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "fqdn",
            "is_joinable_by_session",
            "ports",
            "public_ip",
            "ready",
            "request_id",
            "sockets",
            "sockets_usage",
            "start_time",
            "tags",
        ]
    );
}

#[test]
fn the_official_status_filter_example_works_as_documented() {
    let emu = game_v1_builder()
        .app_version(AppVersion::simulated("game", "stuck").never_ready())
        .lifecycle_step(Duration::ZERO)
        .start()
        .expect("starts");
    let a = deploy_ready(&emu);
    let stuck = deploy(&emu, &deploy_body("game", "stuck"));
    wait_status(&emu, &stuck, "Status.DEPLOYING");
    // The OAS1 example, URL-encoded exactly as a client would send it.
    let answer = api(
        &emu,
        "GET",
        "/v1/deployments?query=%7B%22filters%22%3A%5B%7B%22field%22%3A%22status%22%2C%22operator%22%3A%22eq%22%2C%22value%22%3A%22ready%22%7D%5D%7D",
        None,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(ids(&answer), [a.as_str()]);
    assert_eq!(answer.json["total_count"], 1);
}
