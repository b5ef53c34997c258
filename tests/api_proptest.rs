//! Every endpoint's `decode` returns (Ok or Err) without panicking on arbitrary bytes and
//! arbitrary JSON, for success and error statuses alike; non-success statuses always give Err.

use bevy_edgegap::api::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

const STATUSES: [u16; 10] = [200, 202, 204, 400, 401, 404, 410, 422, 429, 502];

/// Field names the models read, so generated objects reach the nested decoders.
const KEYS: [&str; 24] = [
    "request_id",
    "current_status",
    "ports",
    "external",
    "tags",
    "sockets",
    "data",
    "pagination",
    "paginator",
    "num_pages",
    "total_count",
    "count",
    "locations",
    "latitude",
    "datasets",
    "labels",
    "cpu",
    "total",
    "processable",
    "host_id",
    "status",
    "name",
    "crash_data",
    "message",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9.eE+-]{0,12}".prop_map(Value::String),
        ".{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned),
                        "[a-z_]{1,10}"
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn check<E: Endpoint>(endpoint: &E, response: &HttpResponse) -> Result<(), TestCaseError> {
    let result = endpoint.decode(response);
    if !endpoint.is_success(response.status) {
        prop_assert!(
            matches!(result, Err(EdgegapError::Api { status, .. }) if status == response.status),
            "status {} must give Api error",
            response.status
        );
    }
    Ok(())
}

/// Decodes `response` with every endpoint of [`for_each_endpoint`] (the list the client
/// registers from, so no endpoint is left out).
fn check_all(response: &HttpResponse) -> Result<(), TestCaseError> {
    struct Check<'a> {
        response: &'a HttpResponse,
        result: Result<(), TestCaseError>,
    }
    impl EndpointVisitor for Check<'_> {
        fn visit<E: Endpoint + Clone + std::fmt::Debug>(&mut self, example: E)
        where
            E::Output: Clone + std::fmt::Debug,
        {
            if self.result.is_ok() {
                self.result = check(&example, self.response);
            }
        }
    }
    let mut each = Check {
        response,
        result: Ok(()),
    };
    for_each_endpoint(&mut each);
    each.result
}

/// Every example of the list is valid and builds a request for its own target.
#[test]
fn every_listed_endpoint_builds_its_request() {
    struct Build(Vec<String>);
    impl EndpointVisitor for Build {
        fn visit<E: Endpoint + Clone + std::fmt::Debug>(&mut self, example: E)
        where
            E::Output: Clone + std::fmt::Debug,
        {
            let request = example
                .to_request("http://127.0.0.1:1", &Secret::new("k"))
                .unwrap_or_else(|e| panic!("{example:?}: {e}"));
            let target = match example.target() {
                Target::Path(path) => format!("http://127.0.0.1:1{path}"),
                Target::Url(url) => url,
            };
            assert!(request.url.starts_with(&target), "{request:?}");
            self.0.push(std::any::type_name::<E>().to_owned());
        }
    }
    let mut built = Build(Vec::new());
    for_each_endpoint(&mut built);
    let unique: std::collections::BTreeSet<_> = built.0.iter().collect();
    assert_eq!(unique.len(), built.0.len(), "listed twice: {:?}", built.0);
    assert!(built.0.len() >= 21, "{:?}", built.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        status in prop::sample::select(STATUSES.to_vec()),
        body in prop::collection::vec(any::<u8>(), 0..256),
        retry_after in proptest::option::of(".{0,12}"),
    ) {
        let mut response = HttpResponse::new(status, body);
        if let Some(value) = retry_after {
            response = response.with_header("Retry-After", value);
        }
        check_all(&response)?;
        let _ = response.retry_after();
    }

    #[test]
    fn arbitrary_json_never_panics(
        status in prop::sample::select(STATUSES.to_vec()),
        value in json_value(),
    ) {
        let body = serde_json::to_vec(&value).unwrap();
        check_all(&HttpResponse::new(status, body))?;
    }

    #[test]
    fn arbitrary_inputs_to_builders_never_panic(
        id in ".{0,16}",
        name in ".{0,48}",
        start in prop_oneof!["[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?", ".{0,24}"],
        end in prop_oneof!["[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?", ".{0,24}"],
    ) {
        let key = Secret::new("k");
        let base = "http://127.0.0.1:1";
        let metrics = GetMetrics::new(id.as_str()).start_time(start).end_time(end);
        if let Ok(request) = metrics.to_request(base, &key) {
            prop_assert!(request.url.starts_with("http://127.0.0.1:1/v1/metrics/deployment/"));
            prop_assert!(!request.url[base.len()..].contains(' '), "{}", request.url);
        }
        for result in [
            CreateTag::new(id.as_str(), name.as_str()).to_request(base, &key),
            UpdateTag::new(id.as_str(), name.as_str(), name.as_str()).to_request(base, &key),
            ListFleetHosts::new(name.as_str()).to_request(base, &key),
            BulkStop::new().request_ids(FilterType::Any, [id.as_str()]).to_request(base, &key),
        ] {
            match result {
                Ok(request) => prop_assert!(!request.url[base.len()..].contains(' ')),
                Err(err) => prop_assert!(matches!(err, EdgegapError::Invalid { .. }), "{err:?}"),
            }
        }
    }
}
