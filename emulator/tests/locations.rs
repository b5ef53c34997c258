//! `GET /v1/locations`: type and tag filters, the app/version check, pagination.

mod support;

use edgegap_emulator::{AppVersion, Emulator, Location};
use serde_json::json;
use support::{api, assert_pagination, deploy, deploy_body, status_of};

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
        status_of(&emu, "GET", "/v1/locations?app=game&version=v1"),
        200
    );
    assert_eq!(
        status_of(&emu, "GET", "/v1/locations?app=game&version=v9"),
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
