//! Private fleets: deploys on both paths (`private_host_ids` known, unique and `ACTIVE`) and
//! the hosts list; an unknown fleet gets the documented 400.

mod support;

use edgegap_emulator::Route;
use serde_json::json;
use support::{api, assert_pagination, deploy_body, emulator, status_of};

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
fn unknown_private_fleet_answers_a_documented_400() {
    let emu = emulator();
    let unknown = api(&emu, "GET", "/v2/private-fleets/nope/hosts", None);
    assert_eq!(unknown.status, 400, "{unknown:?}");
    assert!(unknown.json["message"].is_string() && unknown.json["details"].is_object());
    assert_eq!(
        status_of(&emu, "GET", "/v2/private-fleets/fleet-a/hosts"),
        200
    );
}
