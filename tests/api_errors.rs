//! Error answers decode into `EdgegapError::Api` with status, Edgegap's message, raw body and
//! `Retry-After` (in seconds or as an HTTP date); non-JSON bodies (a proxy's HTML 502) keep
//! status and body.

use std::time::Duration;

use bevy_edgegap::api::*;

fn api_parts(err: &EdgegapError) -> (u16, &str, &str, Option<&RequestId>) {
    match err {
        EdgegapError::Api {
            status,
            message,
            body,
            request_id,
            ..
        } => (
            *status,
            message.as_str(),
            body.as_str(),
            request_id.as_ref(),
        ),
        other => panic!("expected Api, got {other:?}"),
    }
}

#[test]
fn v1_error_bodies_for_each_documented_status() {
    let cases = [
        (400, "Invalid app version"),
        (401, "Unauthorized - Missing Token"),
        (404, "Deployment not found"),
        (409, "Tag already exists"),
        (500, "Internal Server Error"),
    ];
    for (status, message) in cases {
        let body = format!(r#"{{"message": "{message}"}}"#);
        let response = HttpResponse::new(status, body.clone());
        // The same answer is an error for every endpoint.
        let errors = [
            GetStatus::new("a").decode(&response).unwrap_err(),
            CreateTag::new("a", "t").decode(&response).unwrap_err(),
            ListDeployments::new().decode(&response).unwrap_err(),
            DeployV1Request::new("g")
                .decode(&response)
                .map(|_| ())
                .unwrap_err(),
            DeleteTag::new("a", "t").decode(&response).unwrap_err(),
        ];
        for err in &errors {
            let (s, m, b, id) = api_parts(err);
            assert_eq!((s, m, b, id), (status, message, body.as_str(), None));
            assert_eq!(err.status(), Some(status));
            assert_eq!(err.is_not_found(), status == 404);
            assert!(!err.is_rate_limited());
            assert!(!err.is_already_terminated());
            assert!(err.may_have_been_sent());
        }
    }
}

#[test]
fn v2_errors_with_details_and_422_request_id() {
    let deploy = DeployRequest::new("game", "v1").user_ip("1.2.3.4");
    let err = deploy
        .decode(&HttpResponse::new(
            400,
            r#"{"message": "Invalid Application or Application Version. No deployment has been created", "details": {}}"#,
        ))
        .unwrap_err();
    assert_eq!(
        api_parts(&err).1,
        "Invalid Application or Application Version. No deployment has been created"
    );
    let err = deploy
        .decode(&HttpResponse::new(
            422,
            r#"{"request_id": "a69f8e3e0555", "message": "Couldn't Allocate Server"}"#,
        ))
        .unwrap_err();
    let (status, message, _, id) = api_parts(&err);
    assert_eq!(status, 422);
    assert_eq!(message, "Couldn't Allocate Server");
    assert_eq!(id.map(RequestId::as_str), Some("a69f8e3e0555"));
    let fleet = FleetDeployRequest::new(deploy, ["h1"]);
    let err = fleet
        .decode(&HttpResponse::new(
            422,
            r#"{"request_id": "b1", "message": "no host"}"#,
        ))
        .unwrap_err();
    assert_eq!(api_parts(&err).3.map(RequestId::as_str), Some("b1"));
}

#[test]
fn stop_410_is_already_terminated() {
    let response = HttpResponse::new(410, r#"{"message": "Instance Already terminated"}"#);
    for err in [
        StopDeployment::new("a").decode(&response).unwrap_err(),
        SelfStopDeployment::new("https://api.edgegap.com/v1/self/stop/a/1", "t")
            .decode(&response)
            .unwrap_err(),
    ] {
        assert!(err.is_already_terminated(), "{err:?}");
        assert!(!err.is_not_found());
        assert_eq!(api_parts(&err).1, "Instance Already terminated");
    }
}

#[test]
fn not_found_404_and_live_400_for_unknown_id() {
    let err = GetStatus::new("a")
        .decode(&HttpResponse::new(404, r#"{"message": "Not Found"}"#))
        .unwrap_err();
    assert!(err.is_not_found());
    let err = GetStatus::new("a")
        .decode(&HttpResponse::new(
            400,
            r#"{"message": "Deployment a does not exist"}"#,
        ))
        .unwrap_err();
    assert!(
        err.is_not_found(),
        "the live API answers 400 for unknown ids"
    );
    let err = GetStatus::new("a")
        .decode(&HttpResponse::new(400, r#"{"message": "bad request"}"#))
        .unwrap_err();
    assert!(!err.is_not_found());
}

#[test]
fn rate_limited_429_with_retry_after() {
    let response = HttpResponse::new(429, r#"{"message": "Too Many Requests"}"#)
        .with_header("Retry-After", "3");
    let err = ListDeployments::new().decode(&response).unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    // No body, fractional header, other case.
    let err = ListFleetHosts::new("f")
        .decode(&HttpResponse::new(429, "").with_header("retry-after", "0.5"))
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_millis(500)));
    assert_eq!(api_parts(&err).1, "HTTP 429 with an empty body");
    // An HTTP-date is read: one in the past means "now", one far ahead is clamped.
    let err = GetStatus::new("a")
        .decode(
            &HttpResponse::new(429, "{}")
                .with_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
        )
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert!(err.is_rate_limited());
    let err = GetStatus::new("a")
        .decode(
            &HttpResponse::new(429, "{}")
                .with_header("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"),
        )
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(bevy_edgegap::api::MAX_RETRY_AFTER));
}

#[test]
fn html_502_keeps_status_and_raw_body() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let response = HttpResponse::new(502, html);
    let errors = [
        GetStatus::new("a")
            .decode(&response)
            .map(|_| ())
            .unwrap_err(),
        BulkStop::new()
            .tags(FilterType::Any, ["t"])
            .decode(&response)
            .map(|_| ())
            .unwrap_err(),
        GetMetrics::new("a")
            .decode(&response)
            .map(|_| ())
            .unwrap_err(),
    ];
    for err in errors {
        let (status, message, body, _) = api_parts(&err);
        assert_eq!(status, 502);
        assert_eq!(body, html);
        assert!(message.contains("502 Bad Gateway"), "{message}");
        assert_eq!(err.status(), Some(502));
    }
}

#[test]
fn undecodable_success_is_decode_error_with_body() {
    let err = ListTags::new("a")
        .decode(&HttpResponse::new(200, "<html>maintenance</html>"))
        .unwrap_err();
    match &err {
        EdgegapError::Decode { status, body, .. } => {
            assert_eq!(*status, 200);
            assert_eq!(body, "<html>maintenance</html>");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    // A required field missing is a decode error too.
    let err = GetTag::new("a", "t")
        .decode(&HttpResponse::new(200, r#"{"create_time": "x"}"#))
        .unwrap_err();
    assert!(matches!(err, EdgegapError::Decode { .. }), "{err:?}");
    // A body that is not UTF-8 (JSON must be) is a decode error that keeps the body's text,
    // whether the bad bytes sit inside a string or outside one.
    for bytes in [&b"{\"request_id\":\"a\xff\"}"[..], &b"\xfe{}"[..]] {
        let response = HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: bytes.to_vec(),
        };
        match GetStatus::new("a").decode(&response).unwrap_err() {
            EdgegapError::Decode { status, body, .. } => {
                assert_eq!(status, 200);
                assert_eq!(body, String::from_utf8_lossy(bytes));
            }
            other => panic!("expected Decode, got {other:?}"),
        }
    }
}

#[test]
fn error_display_names_status_and_message() {
    let err = GetStatus::new("a")
        .decode(&HttpResponse::new(401, r#"{"message": "Unauthorized"}"#))
        .unwrap_err();
    assert_eq!(err.to_string(), "edgegap answered 401: Unauthorized");
}

#[test]
fn retry_after_as_an_http_date_is_read() {
    let response =
        HttpResponse::new(429, "{}").with_header("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT");
    let wait = response.retry_after().expect("an HTTP date is understood");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
}
