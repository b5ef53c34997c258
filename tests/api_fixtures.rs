//! Every response type decodes its documented example and the conflicting variants listed in
//! the API reference (§8): missing optional fields, nulls, unknown fields, numbers as strings,
//! 2024 vs 2026 shapes.

use bevy_edgegap::api::*;

fn ok(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status, body)
}

/// `decode` of an answer that must decode: the one step of most tests here.
trait Decoded: Endpoint {
    #[track_caller]
    fn decoded(&self, status: u16, body: &str) -> Self::Output {
        self.decode(&ok(status, body)).unwrap()
    }
}

impl<E: Endpoint> Decoded for E {}

#[test]
fn status_2024_with_whitelisting_and_sockets() {
    let s = GetStatus::new("c0653765de3b").decoded(200, include_str!("fixtures/status_2024.json"));
    assert_eq!(s.request_id.as_str(), "c0653765de3b");
    assert_eq!(s.current_status, Status::Ready);
    assert_eq!(s.last_status, Some(Status::Deploying));
    assert_eq!(s.whitelisting_active, Some(false));
    assert_eq!(s.max_duration, None);
    assert_eq!(s.sockets, Some(5));
    assert_eq!(s.sockets_usage, Some(2));
    assert_eq!(s.elapsed_time, Some(120));
    assert_eq!(s.sessions, Some(vec![]));
    let addr = s.address("gameport").unwrap();
    assert_eq!(addr.to_string(), "192.53.120.48:31669");
    assert_eq!(s.ports["gameport"].proxy, Some(65002));
    assert_eq!(s.location.unwrap().city.as_deref(), Some("Montreal"));
}

#[test]
fn status_2026_with_max_duration_without_whitelisting() {
    let s = GetStatus::new("c0653765de3b").decoded(200, include_str!("fixtures/status_2026.json"));
    assert_eq!(s.whitelisting_active, None);
    assert_eq!(s.max_duration, Some(1440));
    assert_eq!(s.sockets, None);
    assert_eq!(s.ports.len(), 2);
    assert_eq!(s.port("web").unwrap().tls_upgrade, Some(true));
    assert_eq!(s.command, None);
    assert!(
        s.extra.is_empty(),
        "all 2026 fields are modelled: {:?}",
        s.extra
    );
}

#[test]
fn status_with_nulls_strings_and_unknown_fields() {
    let s =
        GetStatus::new("c0653765de3b").decoded(200, include_str!("fixtures/status_lenient.json"));
    assert_eq!(s.current_status, Status::Deploying);
    assert_eq!(s.running, Some(false));
    assert_eq!(s.elapsed_time, Some(0));
    assert_eq!(s.max_duration, Some(-1));
    assert_eq!(s.error, None);
    assert!(s.ports.is_empty());
    assert!(s.tags.is_empty());
    assert_eq!(s.sockets, Some(5));
    assert_eq!(s.sockets_usage, Some(0));
    let location = s.location.as_ref().unwrap();
    assert_eq!(location.latitude, Some(45.5));
    assert_eq!(location.longitude, None);
    assert!(s.extra.contains_key("brand_new_field"));
    assert_eq!(s.address("gameport"), None);
}

#[test]
fn v2_deploy_202() {
    let r = DeployRequest::new("my-game-server", "v1")
        .user_ip("1.2.3.4")
        .decoded(202, include_str!("fixtures/deploy_v2_202.json"));
    assert_eq!(r.request_id.as_str(), "a69f8e3e0555");
}

#[test]
fn v1_deploy_200_documented() {
    let r = DeployV1Request::new("my-game-server")
        .decoded(200, include_str!("fixtures/deploy_v1_200.json"));
    assert_eq!(
        r,
        DeployV1Response {
            request_id: RequestId::new("61b1be8f54d9"),
            request_dns: Some("61b1be8f54d9.pr.edgegap.net".into()),
            request_app: Some("my-game-server".into()),
            request_version: Some("2024.01.30-16.23.00-UTC".into()),
            request_user_count: Some(1),
            city: Some("Montreal".into()),
            country: Some("Canada".into()),
            continent: Some("North America".into()),
            administrative_division: Some("Quebec".into()),
            tags: vec!["production".into()],
            container_log_storage: Some(ContainerLogStorageConfig {
                enabled: false,
                endpoint_storage: None,
            }),
            filters: vec![],
        }
    );
}

#[test]
fn v1_deploy_lenient() {
    let r = DeployV1Request::new("my-game-server")
        .decoded(200, include_str!("fixtures/deploy_v1_lenient.json"));
    assert_eq!(r.request_user_count, Some(3));
    assert!(r.tags.is_empty());
    assert_eq!(r.city, None);
    assert_eq!(
        r.filters,
        vec![LocationFilter::continent(FilterType::Any, ["Europe"])]
    );
    let storage = r.container_log_storage.unwrap();
    assert!(storage.enabled);
    assert_eq!(storage.endpoint_storage.as_deref(), Some("my-s3"));
    // 201 is not a documented success for the legacy deploy.
    assert!(
        DeployV1Request::new("a")
            .decode(&ok(201, include_str!("fixtures/deploy_v1_200.json")))
            .is_err()
    );
}

#[test]
fn stop_200_and_202() {
    let stop = StopDeployment::new("93924761ccde");
    let r = stop.decoded(200, include_str!("fixtures/stop_200.json"));
    assert!(!r.is_deferred());
    assert_eq!(r.deployment_summary.unwrap().current_status, Status::Ready);
    let r = stop.decoded(202, include_str!("fixtures/stop_202.json"));
    assert!(r.is_deferred());
    assert!(r.deployment_summary.is_none());
    assert_eq!(
        r.message.as_deref(),
        Some("1a9e4ff02cce - Delete request will be processed soon")
    );
}

#[test]
fn bulk_stop_200_and_202() {
    let stop = BulkStop::new().tags(FilterType::All, ["mcp-test"]);
    let body = include_str!("fixtures/bulk_stop.json");
    let expected = BulkStopResponse {
        processable: vec![
            ProcessableDeployment {
                request_id: "c0653765de3b".into(),
            },
            ProcessableDeployment {
                request_id: "61b1be8f54d9".into(),
            },
        ],
    };
    assert_eq!(stop.decoded(200, body), expected);
    assert_eq!(stop.decoded(202, body), expected);
    assert_eq!(stop.decoded(202, ""), BulkStopResponse::default());
    assert_eq!(
        stop.decoded(200, r#"{"processable": null}"#),
        BulkStopResponse::default()
    );
    assert!(stop.decode(&ok(204, body)).is_err());
}

#[test]
fn deployments_list_documented() {
    let list = ListDeployments::new().decoded(200, include_str!("fixtures/deployments_list.json"));
    assert_eq!(list.total_count, Some(1));
    assert_eq!(list.total(), Some(1));
    assert!(list.message.is_empty());
    let d = &list.data[0];
    assert_eq!(d.request_id.as_str(), "2d35052ec4e9");
    assert_eq!(d.ready, Some(true));
    assert_eq!(d.ports["gameport"].external, Some(31669));
    assert_eq!(d.tags, ["production"]);
    assert_eq!(d.sockets, Some(5));
    assert_eq!(d.is_joinable_by_session, Some(true));
    assert!(d.extra.is_empty());
    let p = list.pagination.unwrap();
    assert_eq!(
        p,
        Pagination {
            number: Some(1),
            next_page_number: None,
            previous_page_number: None,
            paginator: Some(Paginator { num_pages: Some(1) }),
            has_next: Some(false),
            has_previous: Some(false),
        }
    );
    assert!(!p.has_more());
}

#[test]
fn deployments_list_lenient() {
    let list =
        ListDeployments::new().decoded(200, include_str!("fixtures/deployments_list_lenient.json"));
    assert_eq!(list.total_count, None);
    assert_eq!(list.total(), Some(2));
    assert!(list.message.is_empty());
    assert_eq!(list.data.len(), 2);
    let d = &list.data[0];
    assert_eq!(d.ready, Some(true));
    assert!(d.ports.is_empty());
    assert!(d.tags.is_empty());
    assert_eq!((d.sockets, d.sockets_usage), (Some(5), Some(2)));
    assert_eq!(d.extra["status"], "Status.READY");
    assert_eq!(list.data[1].fqdn, None);
    let p = list.pagination.unwrap();
    assert_eq!(p.number, Some(2));
    assert_eq!(p.paginator.as_ref().unwrap().num_pages, Some(4));
    assert!(p.has_more());
}

#[test]
fn locations_documented_and_2026() {
    let list = ListLocations::new().decoded(200, include_str!("fixtures/locations.json"));
    assert_eq!(
        list.locations,
        vec![LocationInfo {
            location: Location {
                city: Some("Montreal".into()),
                country: Some("Canada".into()),
                continent: Some("North America".into()),
                administrative_division: Some("Quebec".into()),
                timezone: Some("Eastern Time".into()),
                latitude: Some(45.3324097),
                longitude: Some(-73.2693626),
            },
            location_type: Some("standard".into()),
            tags: vec![LocationTag {
                key: "key".into(),
                value: "value".into(),
            }],
        }]
    );
    assert_eq!(list.total_count, Some(1));
    assert!(list.pagination.is_some());

    let list = ListLocations::new().decoded(200, include_str!("fixtures/locations_2026.json"));
    assert_eq!(list.locations.len(), 2);
    assert_eq!(list.locations[0].location.latitude, Some(50.1109));
    assert_eq!(list.locations[0].location_type, None);
    assert!(list.locations[0].tags.is_empty());
    assert_eq!(list.locations[1].location.city.as_deref(), Some("Tokyo"));
    assert!(list.messages.is_empty());
    assert_eq!(list.total_count, None);
    assert_eq!(list.pagination, None);
}

#[test]
fn container_logs_documented_and_minimal() {
    let logs = GetContainerLogs::new("2d35052ec4e9")
        .decoded(200, include_str!("fixtures/container_logs.json"));
    assert_eq!(
        logs,
        ContainerLogs {
            logs: Some("Server listening on 0.0.0.0:7777\n".into()),
            encoding: Some("utf-8".into()),
            crash_logs: Some("Logs of the container when it crashed".into()),
            crash_data: Some(CrashData {
                exit_code: Some(0),
                message: Some("OOM killed".into()),
                restart_count: Some(0),
            }),
            logs_link: None,
        }
    );
    let logs = GetContainerLogs::new("2d35052ec4e9")
        .decoded(200, include_str!("fixtures/container_logs_minimal.json"));
    assert_eq!(logs.logs.as_deref(), Some(""));
    assert_eq!(logs.crash_data, None);
    assert_eq!(logs.encoding, None);
}

#[test]
fn metrics_documented() {
    let m = GetMetrics::new("2d35052ec4e9").decoded(200, include_str!("fixtures/metrics.json"));
    let total = m.total.unwrap();
    assert_eq!(
        total.receive_total.unwrap(),
        MetricSeries {
            labels: vec!["00:00:00".into()],
            datasets: vec![2458.0],
            timestamps: vec!["2021-07-14 14:17:37.711".into()],
        }
    );
    assert_eq!(total.disk_write_total.unwrap().datasets, [4096.0]);
    assert_eq!(m.cpu.unwrap().datasets, [0.25, 0.5]);
    assert!(m.cpu_throttle_rate.is_some() && m.cpu_throttle_total.is_some());
    assert_eq!(m.mem.unwrap().datasets, [52428800.0]);
    let network = m.network.unwrap();
    assert_eq!(network.receive.unwrap().datasets, [12.0]);
    assert_eq!(network.transmit.unwrap().datasets, [34.0]);
}

#[test]
fn metrics_numeric_strings_nulls_and_missing_keys() {
    let m =
        GetMetrics::new("2d35052ec4e9").decoded(200, include_str!("fixtures/metrics_lenient.json"));
    let cpu = m.cpu.unwrap();
    assert_eq!(cpu.labels.len(), 3);
    assert_eq!(&cpu.datasets[..2], &[0.25, 1.0]);
    assert!(cpu.datasets[2].is_nan(), "a null item keeps its slot");
    assert!(cpu.timestamps.is_empty());
    assert_eq!(m.mem.unwrap().datasets, [52428800.0]);
    assert_eq!(m.network, None);
    assert_eq!(m.total, None);
    assert_eq!(m.cpu_throttle_rate, None);
    // A non-numeric string is a decode error that keeps status and body.
    let err = GetMetrics::new("x")
        .decode(&ok(200, r#"{"cpu": {"datasets": ["lots"]}}"#))
        .unwrap_err();
    assert!(
        matches!(err, EdgegapError::Decode { status: 200, .. }),
        "{err:?}"
    );
}

#[test]
fn fleet_hosts_documented() {
    let list =
        ListFleetHosts::new("test-fleet").decoded(200, include_str!("fixtures/fleet_hosts.json"));
    assert_eq!(list.total_count, Some(1));
    assert!(list.pagination.is_some());
    let h = &list.data[0];
    assert_eq!(h.host_id, "alpha-north-america-95fab093");
    assert_eq!(h.status, Some(HostStatus::Active));
    assert!(h.is_active());
    assert_eq!(h.allocatable_cpu_units, Some(12928));
    assert_eq!(
        h.beacon,
        Some(HostBeacon {
            tcp_port: Some(30974),
            udp_port: Some(31843),
            ip_address: Some("192.53.120.48".into()),
        })
    );
    let c = h.centroid.as_ref().unwrap();
    assert_eq!(c.radius_km, Some(100.0));
    assert_eq!(c.desired_host_count, Some(1));
    assert_eq!(
        h.delete_schedule.as_ref().unwrap().scheduled_at.as_deref(),
        Some("2025-11-30T23:59:00Z")
    );
    assert_eq!(
        h.fleet_host_specifications,
        Some(FleetHostSpecifications {
            cpu_units: Some(16384),
            memory_mb: Some(32768),
            base_clock_speed_mhz: Some(2000),
        })
    );
}

#[test]
fn fleet_hosts_2026_03_without_pagination_nulls_and_unknown_status() {
    let list = ListFleetHosts::new("test-fleet")
        .decoded(200, include_str!("fixtures/fleet_hosts_2026_03.json"));
    assert_eq!(list.total_count, None);
    assert_eq!(list.pagination, None);
    let pending = &list.data[0];
    assert_eq!(pending.status, Some(HostStatus::Pending));
    assert!(!pending.is_active());
    assert_eq!(pending.ip_address, None);
    assert_eq!(pending.beacon, None);
    assert_eq!(pending.allocated_cpu_units, None);
    assert_eq!(pending.allocated_memory_mb, Some(0));
    assert_eq!(pending.centroid.as_ref().unwrap().radius_km, Some(250.5));
    let other = &list.data[1];
    assert_eq!(other.status, Some(HostStatus::Other("DRAINING".into())));
    assert_eq!(other.centroid, None);
}

#[test]
fn tag_list_2026_total_count_and_full_pagination() {
    let list = ListTags::new("2d35052ec4e9").decoded(200, include_str!("fixtures/tags_2026.json"));
    assert_eq!(list.total_count, Some(1));
    assert_eq!(list.count, None);
    assert_eq!(list.total(), Some(1));
    assert_eq!(
        list.tags,
        vec![DeploymentTag {
            name: "development".into(),
            create_time: Some("2026-04-22 20:30:52.283949".into()),
            last_updated: Some("2026-04-22 20:30:52.283949".into()),
        }]
    );
    assert_eq!(list.pagination.unwrap().has_next, Some(false));
}

#[test]
fn tag_list_2024_count_and_empty_pagination() {
    let list = ListTags::new("2d35052ec4e9").decoded(200, include_str!("fixtures/tags_2024.json"));
    assert_eq!(list.total_count, None);
    assert_eq!(list.count, Some(2));
    assert_eq!(list.total(), Some(2));
    assert_eq!(list.pagination, Some(Pagination::default()));
    assert!(!list.pagination.unwrap().has_more());
    assert_eq!(list.tags[1].name, "eu");
    assert_eq!(list.tags[1].create_time, None);
}

#[test]
fn application_2026_2024_and_lenient() {
    // The 2026 spec's example (S1 `Application`).
    let app = GetApp::new("my-game-server").decoded(
        200,
        r#"{"name":"my-game-server","is_active":true,"image":"",
                "create_time":"2026-04-22 12:00:46.444265",
                "last_updated":"2026-04-22 12:00:46.444265"}"#,
    );
    assert_eq!(
        app,
        Application {
            name: "my-game-server".into(),
            is_active: Some(true),
            image: Some(String::new()),
            create_time: Some("2026-04-22 12:00:46.444265".into()),
            last_updated: Some("2026-04-22 12:00:46.444265".into()),
        }
    );
    // The 2024 swagger's example: `is_telemetry_agent_active`, gone since, is ignored.
    let old = GetApp::new("Example App")
        .decoded(200,
            r#"{"is_telemetry_agent_active":false,"image":"iVBORw0KGgoAAAANSUhEUg[...]AAABJRU5ErkJggg==",
                "last_updated":"2024-05-26 12:00:45.831041","is_active":true,
                "create_time":"2024-05-26 12:00:45.831041","name":"Example App"}"#);
    assert_eq!(old.name, "Example App");
    assert_eq!(old.is_active, Some(true));
    // Nulls, a boolean as text, missing keys.
    let lenient = GetApp::new("a").decoded(200, r#"{"name":"a","is_active":"false","image":null}"#);
    assert_eq!((lenient.is_active, lenient.image), (Some(false), None));
    // No name: not an application.
    assert!(matches!(
        GetApp::new("a").decode(&ok(200, r#"{"is_active":true}"#)),
        Err(EdgegapError::Decode { .. })
    ));
    // A missing app is a 404 the caller can test for.
    let missing = GetApp::new("nope")
        .decode(&ok(404, r#"{"message":"Application nope not found"}"#))
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
}

#[test]
fn tag_get_create_update_and_delete() {
    let body = include_str!("fixtures/tag.json");
    let expected = DeploymentTag {
        name: "v1.0.0".into(),
        create_time: Some("2022-01-01 00:00:00.000000".into()),
        last_updated: Some("2022-01-01 00:00:00.000000".into()),
    };
    assert_eq!(GetTag::new("a", "v1.0.0").decoded(200, body), expected);
    assert_eq!(CreateTag::new("a", "v1.0.0").decoded(200, body), expected);
    assert_eq!(
        UpdateTag::new("a", "old", "v1.0.0").decoded(200, body),
        expected
    );
    let delete = DeleteTag::new("a", "v1.0.0");
    assert_eq!(delete.decode(&ok(204, "")), Ok(()));
    assert_eq!(delete.decode(&ok(204, "not json at all")), Ok(()));
    assert!(
        delete.decode(&ok(200, "")).is_err(),
        "only 204 is documented"
    );
}

#[test]
fn stop_200_with_summary_in_an_unexpected_shape_is_still_a_stop() {
    let r = StopDeployment::new("93924761ccde")
        .decoded(200,
            r#"{"message": "Instance 93924761ccde will be deleted", "deployment_summary": {"current_status": 7}}"#);
    assert_eq!(
        r.message.as_deref(),
        Some("Instance 93924761ccde will be deleted")
    );
    assert!(r.deployment_summary.is_none());
    assert_eq!(r.http_status, 200);
    // A body that is not JSON at all is still a decode error.
    assert!(matches!(
        StopDeployment::new("a").decode(&ok(200, "<html>")),
        Err(EdgegapError::Decode { .. })
    ));
}

#[test]
fn large_integers_keep_every_digit_and_fractions_are_refused() {
    let s = GetStatus::new("a")
        .decoded(200,
            r#"{"request_id": "a", "current_status": "Status.READY", "elapsed_time": 9007199254740993, "sockets": "9007199254740993"}"#);
    assert_eq!(s.elapsed_time, Some(9_007_199_254_740_993));
    assert_eq!(s.sockets, Some(9_007_199_254_740_993));
    let s = GetStatus::new("a")
        .decoded(200,
            r#"{"request_id": "a", "current_status": "Status.READY", "elapsed_time": 12.0, "sockets": "3.0"}"#);
    assert_eq!((s.elapsed_time, s.sockets), (Some(12), Some(3)));
    for bad in [r#""1.5""#, "1.5", "-1", "true"] {
        let body = format!(r#"{{"request_id": "a", "current_status": "READY", "sockets": {bad}}}"#);
        assert!(
            matches!(
                GetStatus::new("a").decode(&ok(200, &body)),
                Err(EdgegapError::Decode { .. })
            ),
            "sockets {bad} must not decode"
        );
    }
}

#[test]
fn tags_as_a_single_string_and_hidden_flag_as_text() {
    let s = GetStatus::new("a").decoded(
        200,
        r#"{"request_id": "a", "current_status": "READY", "tags": "solo"}"#,
    );
    assert_eq!(s.tags, ["solo"]);
    let var: EnvVar =
        serde_json::from_str(r#"{"key": "K", "value": "v", "is_hidden": "true"}"#).unwrap();
    assert!(var.is_hidden);
    let var: EnvVar = serde_json::from_str(r#"{"key": "K", "value": "v"}"#).unwrap();
    assert!(!var.is_hidden);
}

#[test]
fn deployment_summary_connect_address() {
    let list = ListDeployments::new().decoded(200, include_str!("fixtures/deployments_list.json"));
    let d = &list.data[0];
    assert!(d.is_ready());
    assert_eq!(
        d.address("gameport"),
        Some(ConnectAddress {
            host: "100.10.0.85".into(),
            port: 31669
        })
    );
    assert_eq!(d.address("missing"), None);
    let list = ListDeployments::new().decoded(
        200,
        r#"{"data": [{"request_id": "a", "fqdn": "a.pr.edgegap.net", "public_ip": " ",
                "ports": {"7777": {"name": "game", "external": 30000}}}]}"#,
    );
    let d = &list.data[0];
    assert!(!d.is_ready());
    assert_eq!(
        d.address("game").unwrap().to_string(),
        "a.pr.edgegap.net:30000",
        "falls back to the FQDN and to the port's name field"
    );
}

#[test]
fn pagination_next_page() {
    let page = |json: &str| serde_json::from_str::<Pagination>(json).unwrap();
    assert_eq!(
        page(r#"{"number": 1, "next_page_number": 2, "has_next": true}"#).next_page(),
        Some(2)
    );
    assert_eq!(
        page(r#"{"number": 3, "has_next": true}"#).next_page(),
        Some(4)
    );
    assert_eq!(
        page(r#"{"number": 3, "next_page_number": 4, "has_next": false}"#).next_page(),
        None
    );
    assert_eq!(page(r#"{"next_page_number": 5}"#).next_page(), Some(5));
    assert_eq!(page("{}").next_page(), None);
    assert!(!page("{}").has_more());
}

/// The one rule of every list walk: (answer, page asked, limit) -> next page.
#[test]
fn list_walks_share_one_next_page_rule() {
    let item = r#"{"request_id":"a"}"#;
    let list = |rest: &str| -> DeploymentList {
        serde_json::from_str(&format!(r#"{{"data":[{item}]{rest}}}"#)).unwrap()
    };
    let cases: [(&str, DeploymentList, u32, Option<u32>); 12] = [
        (
            "explicit next",
            list(r#","pagination":{"number":1,"next_page_number":2,"has_next":true}"#),
            1,
            Some(2),
        ),
        (
            "server skips ahead",
            list(r#","pagination":{"next_page_number":5}"#),
            1,
            Some(5),
        ),
        (
            "has_next without numbers",
            list(r#","pagination":{"has_next":true}"#),
            3,
            Some(4),
        ),
        (
            "last page",
            list(r#","pagination":{"number":2,"next_page_number":null,"has_next":false}"#),
            2,
            None,
        ),
        (
            "has_next false beats the total",
            list(r#","total_count":900,"pagination":{"has_next":false}"#),
            1,
            None,
        ),
        (
            "points back at the same page",
            list(r#","pagination":{"number":1,"next_page_number":1,"has_next":true}"#),
            1,
            None,
        ),
        (
            "points backwards",
            list(r#","pagination":{"next_page_number":1}"#),
            4,
            None,
        ),
        (
            "past u32",
            list(r#","pagination":{"next_page_number":4294967296}"#),
            1,
            None,
        ),
        (
            "pagination {} and a total: more",
            list(r#","total_count":150,"pagination":{}"#),
            1,
            Some(2),
        ),
        (
            "pagination {} and a total: done",
            list(r#","total_count":150,"pagination":{}"#),
            2,
            None,
        ),
        (
            "no pagination, the older count",
            list(r#","count":101"#),
            1,
            Some(2),
        ),
        ("nothing said", list(""), 1, None),
    ];
    for (what, answer, current, want) in cases {
        assert_eq!(answer.next_page(current, 100), want, "{what}");
    }
    let empty: DeploymentList =
        serde_json::from_str(r#"{"data":[],"pagination":{"number":1,"has_next":true}}"#).unwrap();
    assert_eq!(empty.next_page(1, 100), None, "an empty page is the last");
    assert_eq!(
        list(r#","pagination":{"has_next":true}"#).next_page(u32::MAX, 100),
        None
    );

    // Every list answer follows it.
    let tags: TagList =
        serde_json::from_str(r#"{"tags":[{"name":"a"}],"count":3,"pagination":{}}"#).unwrap();
    assert_eq!(tags.next_page(1, 2), Some(2));
    assert_eq!(tags.next_page(2, 2), None);
    let locations: LocationList =
        serde_json::from_str(r#"{"locations":[{}],"pagination":{"number":1,"has_next":true}}"#)
            .unwrap();
    assert_eq!(locations.next_page(1, 10), Some(2));
    let hosts: FleetHostList =
        serde_json::from_str(r#"{"data":[{"host_id":"h"}],"total_count":1}"#).unwrap();
    assert_eq!(hosts.next_page(1, 10), None);
}

#[test]
fn filter_type_reads_any_case() {
    let f: LocationFilter =
        serde_json::from_str(r#"{"field": "city", "values": "Paris", "filter_type": "NOT"}"#)
            .unwrap();
    assert_eq!(f, LocationFilter::city(FilterType::Not, ["Paris"]));
    assert!(
        serde_json::from_str::<FilterType>(r#""some""#).is_err(),
        "an unknown filter type is an error, not a silent `any`"
    );
}

/// `{}` decodes to the default of every model whose keys are all optional (they carry
/// `#[serde(default)]` on the struct), and a model with a required key still refuses it.
#[test]
fn all_optional_models_read_an_empty_object_and_required_keys_stay_required() {
    fn empty<T: serde::de::DeserializeOwned + Default + PartialEq + std::fmt::Debug>() {
        let decoded: T = serde_json::from_str("{}").unwrap();
        assert_eq!(decoded, T::default(), "{}", std::any::type_name::<T>());
    }
    empty::<BulkStopResponse>();
    empty::<ContainerLogStorageConfig>();
    empty::<HostBeacon>();
    empty::<Centroid>();
    empty::<DeleteSchedule>();
    empty::<FleetHostSpecifications>();
    empty::<FleetHostList>();
    empty::<DeploymentQuery>();
    empty::<DeploymentList>();
    empty::<LocationTag>();
    empty::<LocationInfo>();
    empty::<LocationList>();
    empty::<CrashData>();
    empty::<ContainerLogs>();
    empty::<MetricSeries>();
    empty::<MetricsTotal>();
    empty::<NetworkMetrics>();
    empty::<DeploymentMetrics>();
    empty::<Pagination>();
    empty::<Paginator>();
    empty::<PortMapping>();
    empty::<Location>();
    empty::<StopResponse>();
    empty::<TagList>();

    fn refused<T: serde::de::DeserializeOwned>(missing: &str) {
        let error = serde_json::from_str::<T>("{}").err().unwrap();
        assert!(error.to_string().contains(missing), "{error}");
    }
    refused::<DeploymentStatus>("request_id");
    let no_status = serde_json::from_str::<DeploymentStatus>(r#"{"request_id": "a"}"#);
    assert!(
        no_status
            .err()
            .unwrap()
            .to_string()
            .contains("current_status"),
        "a status answer without `current_status` is refused"
    );
    refused::<DeploymentSummary>("request_id");
    refused::<DeploymentTag>("name");
    refused::<FleetHost>("host_id");
    refused::<DeployResponse>("request_id");
    refused::<DeploymentContext>("request_id");
}

#[test]
fn applications_create_update_delete_and_list() {
    let body = r#"{"name":"my-game-server","is_active":true,"image":"",
        "create_time":"2026-04-22 12:00:46.444265","last_updated":"2026-04-22 12:00:46.444265"}"#;
    let created = CreateApp::new("my-game-server").decoded(200, body);
    assert_eq!(created.name, "my-game-server");
    assert_eq!(UpdateApp::new("my-game-server").decoded(200, body), created);
    // A duplicate is a 409 the caller can tell apart.
    let duplicate = CreateApp::new("my-game-server")
        .decode(&ok(409, r#"{"message":"Application already exists"}"#))
        .unwrap_err();
    assert_eq!(duplicate.status(), Some(409));
    // Delete answers 200 with an empty body.
    assert_eq!(DeleteApp::new("a").decode(&ok(200, "")), Ok(()));
    // The list: the 2026 item and the 2024 one (`is_telemetry_agent_active` ignored).
    let list = ListApps::new().decoded(200, include_str!("fixtures/apps_list.json"));
    assert_eq!(list.applications.len(), 2);
    assert_eq!(list.applications[1].name, "Example App");
    assert_eq!(list.total_count, Some(2));
    assert_eq!(list.next_page(1, 20), None);
    // The 2024 swagger's list: no count, no pagination.
    let old = ListApps::new().decoded(200, r#"{"applications":[{"name":"Example App"}]}"#);
    assert_eq!((old.applications.len(), old.total_count), (1, None));
}

#[test]
fn app_version_create_answer_2026_keeps_the_token_secret() {
    let saved = CreateAppVersion::new("my-game-server", "v", "r", "p/i", "t", 256, 512)
        .decoded(200, include_str!("fixtures/app_version_create_200.json"));
    assert_eq!(saved.success, Some(true));
    let version = saved.version.expect("the version");
    assert_eq!(version.name, "2024.01.30-16.23.00-UTC");
    assert_eq!(version.docker_repository.as_deref(), Some("docker.io"));
    assert_eq!(
        version.docker_image.as_deref(),
        Some("my-org-cv2l3w3vy6fg/my-game-server")
    );
    assert_eq!(
        (version.req_cpu, version.req_memory),
        (Some(1536), Some(3072))
    );
    assert_eq!(version.caching_percent, Some(0.8));
    assert_eq!(version.time_to_deploy, Some(30));
    assert_eq!(version.max_duration, Some(60));
    assert_eq!(version.termination_grace_period_seconds, Some(5));
    let port = version.port("gameport").expect("gameport");
    assert_eq!((port.port, port.protocol.as_str()), (7777, "UDP"));
    assert_eq!(port.to_check, Some(false));
    // Edgegap echoes the registry token in clear: it is held, and never shown.
    assert_eq!(
        version.private_token.as_ref().map(Secret::expose),
        Some("ghca3dz3foAxXf2tu2xjExtXrBOMydfC")
    );
    let debug = format!("{version:?} {version:#?}");
    assert!(
        !debug.contains("ghca3dz3foAxXf2tu2xjExtXrBOMydfC"),
        "{debug}"
    );
    assert!(debug.contains("robot$my-org-cv2l3w3vy6fg+app-version-pull"));
    // An update's answer may come without the version.
    let updated = UpdateAppVersion::new("a", "v").decoded(200, r#"{"success":true}"#);
    assert_eq!((updated.success, updated.version), (Some(true), None));
}

#[test]
fn app_version_list_2024_with_secret_envs_and_legacy_keys() {
    let list =
        ListAppVersions::new("a").decoded(200, include_str!("fixtures/app_versions_2024.json"));
    assert_eq!(list.versions.len(), 2);
    let version = &list.versions[0];
    assert_eq!(version.name, "name");
    assert_eq!(version.req_video, Some(256));
    assert_eq!(version.port("Game port").map(|p| p.port), Some(5555));
    assert!(version.envs.iter().all(|e| e.is_secret));
    assert_eq!(version.envs[0].value.as_deref(), Some("value"));
    let debug = format!("{list:?}");
    assert!(
        !debug.contains("\"value\""),
        "secret env values hidden: {debug}"
    );
    assert!(!debug.contains("\"private_token\""), "{debug}");
    // A version answer's env may say `is_hidden` (the 2026 schema) and carry no value.
    let version = GetAppVersion::new("a", "v").decoded(
        200,
        r#"{"name":"v","envs":[{"key":"K","value":"hidden-Val","is_hidden":true},
                {"key":"M","is_secret":"false","value":"forest"},{"key":"N","value":null}],
                "ports":null,"restart_policy":"on_failure","private_token":null}"#,
    );
    assert!(version.envs[0].is_secret && !version.envs[1].is_secret);
    assert_eq!(version.envs[2].value, None);
    assert_eq!(version.restart_policy, Some(RestartPolicy::OnFailure));
    assert!(version.ports.is_empty() && version.private_token.is_none());
    let debug = format!("{version:?}");
    assert!(
        !debug.contains("hidden-Val") && debug.contains("forest"),
        "{debug}"
    );
    let odd =
        GetAppVersion::new("a", "v").decoded(200, r#"{"name":"v","restart_policy":"sometimes"}"#);
    assert_eq!(
        odd.restart_policy,
        Some(RestartPolicy::Other("sometimes".into()))
    );
    assert_eq!(
        DeleteAppVersion::new("a", "v")
            .decoded(200, r#"{"success":true,"message":"deleted"}"#)
            .message
            .as_deref(),
        Some("deleted")
    );
    assert_eq!(
        DeleteAppVersion::new("a", "v").decode(&ok(200, "")),
        Ok(AppVersionDeleted::default())
    );
}

#[test]
fn app_version_errors_never_carry_a_secret() {
    let create = CreateAppVersion::new("game", "v1", "r", "p/g", "v1", 256, 512)
        .private_registry("robot$x", "pull-Secret-41")
        .secret_env("STEAM_KEY", "steam-Secret-42");
    // An error that quotes what it was sent (a validation answer echoing the body).
    let echoed = create
        .decode(&ok(
            400,
            r#"{"message":"bad private_token pull-Secret-41 for STEAM_KEY=steam-Secret-42",
                "private_token":"pull-Secret-41"}"#,
        ))
        .unwrap_err();
    assert_eq!(echoed.status(), Some(400));
    // A success whose body does not decode: kept for the caller, secrets replaced.
    let undecodable = create
        .decode(&ok(
            200,
            r#"{"success":true,"version":{"name":5e999,"private_token":"pull-Secret-41"}}"#,
        ))
        .unwrap_err();
    assert!(matches!(undecodable, EdgegapError::Decode { .. }));
    // A read answer names a token the caller never gave: hidden by its key.
    let read = GetAppVersion::new("game", "v1")
        .decode(&ok(
            200,
            r#"{"private_token":"echoed-Secret-43","envs":[]}"#,
        ))
        .unwrap_err();
    for error in [&echoed, &undecodable, &read] {
        let shown = format!("{error:?} {error}");
        for secret in ["pull-Secret-41", "steam-Secret-42", "echoed-Secret-43"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
    assert!(format!("{echoed:?}").contains("***"));
    // A missing app, a duplicate version, a failed image check: statuses the caller reads.
    for status in [404, 409, 424] {
        let error = create
            .decode(&ok(status, r#"{"message":"no"}"#))
            .unwrap_err();
        assert_eq!(error.status(), Some(status));
    }
}

#[test]
fn registry_tags_list_and_delete() {
    let list =
        ListImageTags::new("my-game-server").decoded(200, include_str!("fixtures/image_tags.json"));
    assert_eq!(list.data.len(), 1);
    let tag = &list.data[0];
    assert_eq!(tag.tag, "2024.01.30-16.23.00-UTC");
    let artifact = tag.artifact.as_ref().expect("artifact");
    assert_eq!(
        artifact.image_hash.as_deref(),
        Some("sha256:1234567890abcdef")
    );
    assert_eq!(artifact.size_mb, Some(512.0));
    assert_eq!(artifact.remaining_tags, ["tag1", "tag2"]);
    assert_eq!(artifact.artifact_deleted, Some(false));
    assert_eq!(list.next_page(1, 20), None);
    let deleted = DeleteImageTag::new("my-game-server", "1.0.0")
        .decoded(200, include_str!("fixtures/image_tag_deleted.json"));
    assert_eq!(deleted.deleted_tag.as_deref(), Some("1.0.0"));
    assert_eq!(deleted.artifact.unwrap().artifact_deleted, Some(true));
    // Lenient: a size as text, tags as null.
    let lenient = ListImageTags::new("g")
        .decoded(200,
            r#"{"data":[{"tag":"v1","artifact":{"size_mb":"12.5","remaining_tags":null}}],"total_count":"1"}"#);
    assert_eq!(
        lenient.data[0].artifact.as_ref().unwrap().size_mb,
        Some(12.5)
    );
    assert_eq!(lenient.total_count, Some(1));
}
