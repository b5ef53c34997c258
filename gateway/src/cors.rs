//! CORS for game clients running in a browser: an allowlist of page origins
//! ([`GatewayConfig::allowed_cors_origins`](crate::GatewayConfig::allowed_cors_origins),
//! `GATEWAY_CORS_ORIGINS`, [`GatewayBuilder::cors_origin`](crate::GatewayBuilder::cors_origin)).
//!
//! - **Empty (the default): no CORS at all.** No `Access-Control-*` header on any answer, and
//!   `OPTIONS` is not served; a browser page cannot read the gateway's answers.
//! - **An entry** is a full origin, `scheme://host[:port]` (`https://game.example.com`,
//!   `http://127.0.0.1:8000`), or `scheme://*.domain[:port]` for every subdomain of `domain`
//!   (not `domain` itself), the way Edgegap's matchmaker reads `allowed_cors_origins`. A bare
//!   `*`, `null`, a path, or an entry without a scheme is refused at start: list the origins
//!   your game is served from.
//! - **Preflight** (`OPTIONS`) is answered for allowed origins only: it allows `GET`, `POST`,
//!   `DELETE` and the request headers `authorization`, `content-type` and `idempotency-key`,
//!   cached 10 minutes. From any other origin (or without one) it is 403, with no CORS header.
//! - **Answers** to an allowed origin carry `Access-Control-Allow-Origin: <that origin>` (never
//!   `*`) and expose `Retry-After`. Credentials (cookies) are never allowed: players
//!   authenticate with a bearer token, which needs none.
//!
//! CORS is not authentication: it only stops other sites' pages from reading the answers in a
//! player's browser. Every request still needs a valid player token.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::GatewayError;

/// The environment variable that replaces the list: origins separated by commas or spaces.
pub(crate) const ENV: &str = "GATEWAY_CORS_ORIGINS";

/// How long a browser may cache a preflight answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// The parsed allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origins(Vec<Pattern>);

/// One allowed origin or family of origins.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    scheme: String,
    host: Host,
    /// `None`: the scheme's default port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// Exactly this host.
    Exact(String),
    /// Any host ending in `.<domain>`.
    SubdomainOf(String),
}

impl Origins {
    fn parse(entries: &[String]) -> Result<Self, GatewayError> {
        entries
            .iter()
            .map(|entry| {
                parse(entry, true).map_err(|why| {
                    GatewayError::Config(format!("allowed_cors_origins: `{entry}` {why}"))
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether the `Origin` a browser sent is allowed.
    fn allows(&self, origin: &HeaderValue) -> bool {
        let Some(origin) = origin.to_str().ok().and_then(|o| parse(o, false).ok()) else {
            return false;
        };
        let Host::Exact(host) = &origin.host else {
            return false;
        };
        self.0.iter().any(|allowed| {
            allowed.scheme == origin.scheme
                && allowed.port == origin.port
                && match &allowed.host {
                    Host::Exact(exact) => exact == host,
                    Host::SubdomainOf(domain) => host
                        .strip_suffix(domain.as_str())
                        .and_then(|sub| sub.strip_suffix('.'))
                        .is_some_and(|sub| !sub.is_empty()),
                }
        })
    }
}

/// Parses an origin (`wildcard`: a configured entry, which may be `*.domain`). Lower-cases
/// scheme and host; a scheme's default port is the same as none.
fn parse(text: &str, wildcard: bool) -> Result<Pattern, &'static str> {
    let text = text.trim();
    let (scheme, rest) = text
        .split_once("://")
        .ok_or("needs a scheme: http://… or https://…")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err("must start with http:// or https://"),
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) || rest.contains(char::is_whitespace)
    {
        return Err("must be scheme://host[:port], without a path");
    }
    // An IPv6 host is in brackets; the port follows the last `:` outside them.
    let (host, port) = match rest.rfind(':') {
        Some(at) if !rest[at..].contains(']') => {
            let port = rest[at + 1..]
                .parse::<u16>()
                .map_err(|_| "has a port that is not a number from 0 to 65535")?;
            (&rest[..at], Some(port))
        }
        _ => (rest, None),
    };
    let host = host.to_ascii_lowercase();
    let port = port.filter(|&p| p != default_port);
    let host = match host.strip_prefix("*.") {
        Some(domain) if wildcard => Host::SubdomainOf(domain.to_owned()),
        _ => Host::Exact(host),
    };
    let name = match &host {
        Host::Exact(name) | Host::SubdomainOf(name) => name,
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || "-.[]:_".contains(c);
    if name.is_empty() || !name.chars().all(valid) {
        return Err("has no valid host (a `*` is only allowed as `scheme://*.domain`)");
    }
    Ok(Pattern { scheme, host, port })
}

/// Splits the value of [`ENV`]: origins separated by commas or whitespace.
pub(crate) fn from_env(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks the configured entries (the gateway refuses to start with a bad one).
pub(crate) fn check(entries: &[String]) -> Result<(), GatewayError> {
    Origins::parse(entries).map(|_| ())
}

/// `router` with CORS for `entries`; `router` unchanged when there are none. Outermost, so
/// every answer (errors and the other layers' refusals included) carries the headers.
pub(crate) fn wrap(router: Router, entries: &[String]) -> Result<Router, GatewayError> {
    if entries.is_empty() {
        return Ok(router);
    }
    let origins = Arc::new(Origins::parse(entries)?);
    let predicate = origins.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            predicate.allows(origin)
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::RETRY_AFTER])
        .max_age(MAX_AGE);
    Ok(router.layer(cors).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let origins = origins.clone();
            async move { refuse_foreign_preflight(&origins, request, next).await }
        },
    )))
}

/// Answers a preflight from an origin not on the list 403 without any CORS header, so only
/// allowed origins ever get one answered.
async fn refuse_foreign_preflight(origins: &Origins, request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS
        && !request
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|origin| origins.allows(origin))
    {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"message":"this origin is not allowed (allowed_cors_origins)"}"#,
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(entries: &[&str]) -> Origins {
        Origins::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn allows(origins: &Origins, origin: &str) -> bool {
        origins.allows(&HeaderValue::from_str(origin).unwrap())
    }

    #[test]
    fn full_origins_match_exactly() {
        let list = origins(&["https://game.example.com", "http://127.0.0.1:8000"]);
        assert!(allows(&list, "https://game.example.com"));
        assert!(allows(&list, "https://GAME.example.com:443"));
        assert!(allows(&list, "http://127.0.0.1:8000"));
        assert!(!allows(&list, "http://game.example.com"), "another scheme");
        assert!(
            !allows(&list, "https://game.example.com:8443"),
            "another port"
        );
        assert!(!allows(&list, "http://127.0.0.1:8001"));
        assert!(!allows(&list, "https://evil.game.example.com"));
        assert!(!allows(&list, "https://game.example.com.evil.net"));
        assert!(!allows(&list, "null"));
        assert!(!allows(&list, ""));
    }

    #[test]
    fn a_star_entry_matches_subdomains_only() {
        let list = origins(&["https://*.itch.zone"]);
        assert!(allows(&list, "https://html.itch.zone"));
        assert!(allows(&list, "https://a.b.itch.zone"));
        assert!(!allows(&list, "https://itch.zone"), "not the domain itself");
        assert!(!allows(&list, "https://evilitch.zone"));
        assert!(!allows(&list, "http://html.itch.zone"));
        assert!(
            !allows(&list, "https://*.itch.zone"),
            "a browser never sends a star"
        );
    }

    #[test]
    fn wildcards_and_malformed_entries_are_refused_with_the_entry_named() {
        for bad in [
            "*",
            "null",
            "localhost",
            "game.example.com",
            "ftp://game.example.com",
            "https://game.example.com/",
            "https://game.example.com/play",
            "https://user@game.example.com",
            "https://game.example.com:99999",
            "https://*",
            "https://a.*.example.com",
            "https://",
        ] {
            let error = check(&[bad.to_string()]).unwrap_err().to_string();
            assert!(error.contains(&format!("`{bad}`")), "{bad}: {error}");
        }
        check(&["https://[::1]:8443".into(), "http://localhost:3000".into()]).unwrap();
    }

    #[test]
    fn the_variable_splits_on_commas_and_spaces() {
        assert_eq!(
            from_env(" https://a.example.com, https://b.example.com  http://127.0.0.1:1,"),
            [
                "https://a.example.com",
                "https://b.example.com",
                "http://127.0.0.1:1"
            ]
        );
        assert!(from_env("  ").is_empty());
    }
}
