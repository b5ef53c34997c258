//! What every endpoint knows about itself: method, path, query, body, auth, success codes,
//! and how to decode an answer. The transport needs nothing else.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::error::EdgegapError;
use super::ids::{RequestId, Secret};

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name, upper-case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// The organisation API token: `Authorization: token <key>`.
    ApiToken,
    /// An injected token sent as-is: `Authorization: <token>` (self-stop, context).
    Raw(Secret),
}

/// Who the client is to the server it calls with [`Auth::ApiToken`] endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// Edgegap's API with the organisation token: `Authorization: token <key>`.
    ApiToken(&'a Secret),
    /// An `edgegap-gateway` with a player's token: `Authorization: Bearer <token>`. The gateway
    /// serves only deploy (`POST /v2/deployments`), status and stop, and deploys there may
    /// omit `users`.
    Bearer(&'a Secret),
}

/// Rate-limit class of an endpoint; Edgegap documents a limit for the first five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointClass {
    /// `POST /v2/deployments`, `POST /v1/deploy`: 40 req/s.
    Deploy,
    /// `GET /v1/status/{id}`: 20 req/s.
    Status,
    /// `GET /v1/deployments`: 10 req/s.
    List,
    /// Private-fleet deploy: 40 req/s.
    FleetDeploy,
    /// `GET /v2/private-fleets/{fleet}/hosts`: 10 req/s.
    FleetHosts,
    /// Everything else (no documented limit).
    Other,
}

impl EndpointClass {
    /// Every class, in declaration order: `ALL[class.index()] == class`.
    pub const ALL: [EndpointClass; 6] = [
        Self::Deploy,
        Self::Status,
        Self::List,
        Self::FleetDeploy,
        Self::FleetHosts,
        Self::Other,
    ];

    /// The class's place in [`EndpointClass::ALL`] (for tables with one entry per class).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Edgegap's documented limit for this class, in requests per second.
    pub fn documented_limit(self) -> Option<u32> {
        match self {
            Self::Deploy | Self::FleetDeploy => Some(40),
            Self::Status => Some(20),
            Self::List | Self::FleetHosts => Some(10),
            Self::Other => None,
        }
    }
}

/// Where a request goes: a path below the configured base URL, or a full URL (the injected
/// `ARBITRIUM_DELETE_URL` / `ARBITRIUM_CONTEXT_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path such as `/v1/status/a69f8e3e0555`, joined to the base URL.
    Path(String),
    /// A full URL, used as is.
    Url(String),
}

/// An HTTP request ready to send. Contains the token in `headers`: never log it whole
/// (its `Debug` redacts `Authorization`).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Full URL, query string included.
    pub url: String,
    /// Headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }
}

fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("authorization") {
                    (k.as_str(), "***")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &redact_secrets(&self.body))
            .finish()
    }
}

/// JSON keys whose values are secrets wherever they appear: an app version's registry
/// password, which Edgegap also echoes back in its answers.
const SECRET_KEYS: [&str; 1] = ["private_token"];

/// `body` as text with its secrets replaced by `***`: the value of every `private_token` key,
/// and the `value` of every environment variable marked `is_secret` or `is_hidden`. A body
/// that is not JSON is returned as it is. What every `Debug` and error of a request or answer
/// that may carry secrets shows instead of the raw body.
pub fn redact_secrets(body: &[u8]) -> String {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(object) => {
                let secret_value = ["is_secret", "is_hidden"].iter().any(|flag| {
                    object.get(*flag).is_some_and(|v| {
                        v.as_bool() == Some(true)
                            || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
                    })
                });
                for (key, inner) in object.iter_mut() {
                    if SECRET_KEYS.contains(&key.as_str()) || (secret_value && key == "value") {
                        if !inner.is_null() {
                            *inner = serde_json::Value::String("***".into());
                        }
                    } else {
                        walk(inner);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut json) => {
            walk(&mut json);
            json.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

/// An HTTP answer as the decoders see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers (name, value); names compared case-insensitively by [`HttpResponse::header`].
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// `Retry-After`, in delay-seconds or HTTP-date form, clamped to [`MAX_RETRY_AFTER`]
    /// here, where it is parsed, so no scheduler ever sees a delay that overflows or stalls.
    /// A date in the past is zero; an unreadable value is `None`.
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(self.header("retry-after")?, crate::time::system_now())
    }
}

/// The longest delay a server can ask for with `Retry-After` (60 s); longer values are
/// clamped to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Parses a `Retry-After` value (`120`, `1.5`, or an IMF-fixdate such as
/// `Wed, 21 Oct 2015 07:28:00 GMT`) relative to `now`, clamped to [`MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Any number of digits: a huge value is simply "as long as allowed".
        return Some(match value.parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs).min(MAX_RETRY_AFTER),
            Err(_) => MAX_RETRY_AFTER,
        });
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)).min(MAX_RETRY_AFTER))
}

/// Seconds since the Unix epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant), for years from 1970.
    if !(1970..=9999).contains(&year) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

/// One Edgegap endpoint call: a value that knows how to become an [`HttpRequest`] and how to
/// decode the answer.
pub trait Endpoint: Send + Sync + 'static {
    /// What a success decodes to.
    type Output: DeserializeOwned + Send + Sync + 'static;

    /// HTTP method; `GET` unless the endpoint says otherwise.
    fn method(&self) -> Method {
        Method::Get
    }
    /// Path below the base URL, or a full injected URL.
    fn target(&self) -> Target;
    /// Query parameters (unencoded).
    fn query(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// JSON body, if any.
    fn body(&self) -> Option<serde_json::Value> {
        None
    }
    /// How the request authenticates.
    fn auth(&self) -> Auth {
        Auth::ApiToken
    }
    /// Rate-limit class.
    fn class(&self) -> EndpointClass {
        EndpointClass::Other
    }
    /// Whether sending it twice is harmless (GETs, stops, deletes). Non-idempotent calls
    /// are retried only when they certainly were not processed.
    fn idempotent(&self) -> bool {
        !matches!(self.method(), Method::Post | Method::Patch)
    }
    /// Whether `status` means success for this endpoint.
    fn is_success(&self, status: u16) -> bool {
        (200..300).contains(&status)
    }
    /// Client-side checks, run before anything is sent.
    fn validate(&self) -> Result<(), EdgegapError> {
        Ok(())
    }
    /// Client-side checks when the call goes through an `edgegap-gateway`
    /// ([`Credentials::Bearer`]); the same as [`Endpoint::validate`] unless the gateway fills
    /// something in (a deploy's `users`).
    fn validate_for_gateway(&self) -> Result<(), EdgegapError> {
        self.validate()
    }
    /// Decodes a success answer's body: its JSON, unless the endpoint says otherwise.
    fn decode_success(&self, response: &HttpResponse) -> Result<Self::Output, EdgegapError> {
        decode_json(response)
    }

    /// Decodes any answer: success codes through [`Endpoint::decode_success`], the rest as
    /// [`EdgegapError::Api`].
    fn decode(&self, response: &HttpResponse) -> Result<Self::Output, EdgegapError> {
        if self.is_success(response.status) {
            self.decode_success(response)
        } else {
            Err(api_error(response))
        }
    }

    /// Builds the request against `base_url` with `api_token`, after [`Endpoint::validate`].
    fn to_request(&self, base_url: &str, api_token: &Secret) -> Result<HttpRequest, EdgegapError> {
        self.to_request_as(base_url, Credentials::ApiToken(api_token))
    }

    /// Builds the request against `base_url` as `credentials`, after [`Endpoint::validate`]
    /// (or [`Endpoint::validate_for_gateway`] for [`Credentials::Bearer`]).
    fn to_request_as(
        &self,
        base_url: &str,
        credentials: Credentials<'_>,
    ) -> Result<HttpRequest, EdgegapError> {
        match credentials {
            Credentials::ApiToken(_) => self.validate()?,
            Credentials::Bearer(_) => self.validate_for_gateway()?,
        }
        let mut url = match self.target() {
            Target::Path(path) => {
                let base = base_url.trim_end_matches('/');
                if base.is_empty() {
                    return Err(EdgegapError::Config("the base URL is empty".into()));
                }
                if !(base.starts_with("http://") || base.starts_with("https://")) {
                    return Err(EdgegapError::Config(format!(
                        "the base URL `{base}` must start with http:// or https://"
                    )));
                }
                // Pushed, not `format!`ted: this runs for every call (no formatter, no regrowth).
                let mut url = String::with_capacity(base.len() + path.len());
                url.push_str(base);
                url.push_str(&path);
                url
            }
            Target::Url(url) => url,
        };
        let query = self.query();
        if !query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&encode_query(&query));
        }
        // Room for Accept, Authorization and Content-Type from the start.
        let mut headers = Vec::with_capacity(3);
        headers.push(("Accept".to_owned(), "application/json".to_owned()));
        match self.auth() {
            Auth::ApiToken => {
                let (scheme, token) = match credentials {
                    Credentials::ApiToken(token) => ("token", token),
                    Credentials::Bearer(token) => ("Bearer", token),
                };
                let key = strip_scheme(token.expose().trim(), scheme);
                if key.is_empty() {
                    return Err(EdgegapError::Config(
                        "no API token: set EDGEGAP_TOKEN or EdgegapConfig's token".into(),
                    ));
                }
                let mut value = String::with_capacity(scheme.len() + 1 + key.len());
                value.push_str(scheme);
                value.push(' ');
                value.push_str(key);
                headers.push(("Authorization".to_owned(), value));
            }
            Auth::Raw(token) => {
                if token.is_empty() {
                    return Err(EdgegapError::Config("the injected token is empty".into()));
                }
                headers.push(("Authorization".to_owned(), token.expose().to_owned()));
            }
        }
        let body = match self.body() {
            Some(json) => {
                headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
                serde_json::to_vec(&json)
                    .map_err(|e| EdgegapError::invalid("body", e.to_string()))?
            }
            None => Vec::new(),
        };
        Ok(HttpRequest {
            method: self.method(),
            url,
            headers,
            body,
        })
    }
}

/// `key` without a leading `scheme ` (any case): a key pasted as `token abc` is sent as
/// `token abc`, not `token token abc`.
pub(crate) fn strip_scheme<'a>(key: &'a str, scheme: &str) -> &'a str {
    match key.get(..scheme.len() + 1) {
        Some(head) if head[..scheme.len()].eq_ignore_ascii_case(scheme) && head.ends_with(' ') => {
            key[scheme.len() + 1..].trim_start()
        }
        _ => key,
    }
}

/// Decodes a JSON success body into `T`, keeping status and raw body on failure.
pub(crate) fn decode_json<T: DeserializeOwned>(response: &HttpResponse) -> Result<T, EdgegapError> {
    let bad = |e: &dyn std::fmt::Display| EdgegapError::decode(response.status, &response.body, e);
    // JSON is UTF-8: checked once for the whole body, so serde_json does not check each string
    // again (a fifth of decoding a status answer).
    let text = std::str::from_utf8(&response.body).map_err(|e| bad(&e))?;
    serde_json::from_str(text).map_err(|e| bad(&e))
}

/// Whether the body is empty or white space only: a success that carries nothing (the
/// deletes and stops Edgegap answers without a body).
pub(crate) fn is_blank(response: &HttpResponse) -> bool {
    response.body.iter().all(u8::is_ascii_whitespace)
}

/// [`decode_json`], or `blank()` when the body [`is_blank`].
pub(crate) fn decode_json_or<T: DeserializeOwned>(
    response: &HttpResponse,
    blank: impl FnOnce() -> T,
) -> Result<T, EdgegapError> {
    if is_blank(response) {
        Ok(blank())
    } else {
        decode_json(response)
    }
}

/// Turns a non-success answer into [`EdgegapError::Api`]. Reads Edgegap's `{"message"}` (and the
/// v2 422 `request_id`) when the body is JSON; otherwise keeps the raw text (an HTML 502 from a
/// proxy still yields its status code and body).
pub fn api_error(response: &HttpResponse) -> EdgegapError {
    let body = String::from_utf8_lossy(&response.body).into_owned();
    let json = serde_json::from_slice::<serde_json::Value>(&response.body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let message = field("message")
        .or_else(|| field("detail"))
        .or_else(|| field("error"))
        .unwrap_or_else(|| {
            let trimmed = body.trim();
            if trimmed.is_empty() {
                format!("HTTP {} with an empty body", response.status)
            } else {
                trimmed.chars().take(200).collect()
            }
        });
    EdgegapError::Api {
        status: response.status,
        message,
        body,
        retry_after: response.retry_after(),
        request_id: field("request_id").map(RequestId::from),
    }
}

/// Percent-encodes one URL component (RFC 3986 unreserved characters are kept).
pub(crate) fn encode_component(value: &str) -> String {
    let unreserved = |byte: u8| byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte);
    // Ids are unreserved throughout: one scan and a copy (this runs for every call).
    if value.bytes().all(unreserved) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Builds an endpoint's [`Endpoint::query`]: pairs in the order added, unset values left out.
/// The one way endpoints write their query (`page`/`limit` included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// No pairs.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds `name=value`.
    pub(crate) fn pair(mut self, name: &str, value: impl ToString) -> Self {
        self.0.push((name.to_owned(), value.to_string()));
        self
    }

    /// Adds `name=value` when `value` is set.
    pub(crate) fn opt(self, name: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.pair(name, value),
            None => self,
        }
    }

    /// Adds `page` and `limit`, when set: the paging every list endpoint shares (checked by
    /// [`validate_page`](super::pagination::validate_page)).
    pub(crate) fn page(self, page: Option<u32>, limit: Option<u32>) -> Self {
        self.opt("page", page).opt("limit", limit)
    }

    /// The pairs.
    pub(crate) fn build(self) -> Vec<(String, String)> {
        self.0
    }
}

/// `k1=v1&k2=v2`, each side percent-encoded.
pub(crate) fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn retry_after_is_clamped_where_it_is_parsed() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_470); // 2015-10-21 07:27:50 GMT
        let parse = |v| parse_retry_after(v, now);
        assert_eq!(parse("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse("18446744073709551615"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse("99999999999999999999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("soon"), None);
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(
            parse("Fri, 31 Dec 9999 23:59:59 GMT"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse("Wed, 21 Foo 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn every_class_is_listed_once_at_its_index() {
        // Exhaustive: a class added to the enum stops this from compiling until it is placed
        // here, and then in `ALL`.
        let place = |class| match class {
            EndpointClass::Deploy => 0,
            EndpointClass::Status => 1,
            EndpointClass::List => 2,
            EndpointClass::FleetDeploy => 3,
            EndpointClass::FleetHosts => 4,
            EndpointClass::Other => 5,
        };
        assert_eq!(EndpointClass::ALL.len(), 6);
        for (i, class) in EndpointClass::ALL.into_iter().enumerate() {
            assert_eq!(class.index(), i, "{class:?}");
            assert_eq!(place(class), i, "{class:?}");
        }
    }

    #[test]
    fn a_key_with_its_scheme_is_not_prefixed_twice() {
        assert_eq!(strip_scheme("token abc", "token"), "abc");
        assert_eq!(strip_scheme("Token  abc", "token"), "abc");
        assert_eq!(strip_scheme("abc", "token"), "abc");
        assert_eq!(strip_scheme("tokenabc", "token"), "tokenabc");
        assert_eq!(strip_scheme("Bearer x.y.z", "Bearer"), "x.y.z");
        // Through a request: tests/api_requests.rs (`a_key_pasted_with_its_scheme_…`).
    }
}
