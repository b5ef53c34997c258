//! CORS as Edgegap documents it for the matchmaker: `allowed_cors_origins` lists full origins
//! (`https://game.example.com`, `http://localhost:8080`) or `https://*.example.com` for any
//! subdomain; anything else (`localhost` alone, a path, a trailing slash, `*`) matches nothing.

use hyper::header::{self, HeaderValue};

use crate::reply::{self, Reply};

/// `scheme://host[:port]`, lower-cased, with nothing after it.
fn parse(origin: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (host, Some(port.parse::<u16>().ok()?))
        }
        None => (rest, None),
    };
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'*'));
    valid.then(|| (scheme, host.to_ascii_lowercase(), port))
}

/// Whether a browser's `Origin` is allowed by one of `allowed`.
pub(crate) fn allowed(allowed: &[String], origin: &str) -> bool {
    let Some((scheme, host, port)) = parse(origin) else {
        return false;
    };
    if host.contains('*') {
        return false;
    }
    allowed.iter().any(|entry| {
        let Some((entry_scheme, entry_host, entry_port)) = parse(entry) else {
            return false;
        };
        if entry_scheme != scheme || entry_port != port {
            return false;
        }
        match entry_host.strip_prefix("*.") {
            Some(domain) => {
                !domain.is_empty()
                    && !domain.contains('*')
                    && host
                        .strip_suffix(domain)
                        .and_then(|sub| sub.strip_suffix('.'))
                        .is_some_and(|sub| !sub.is_empty())
            }
            None => !entry_host.contains('*') && entry_host == host,
        }
    })
}

/// Adds `Access-Control-Allow-Origin: <origin>` (and `Vary`, exposed headers) to an answer.
pub(crate) fn decorate(reply: &mut Reply, origin: &HeaderValue) {
    let headers = reply.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
}

/// The answer to a preflight `OPTIONS`: 204 with the allowed methods and headers for an
/// allowed origin, 403 without any CORS header otherwise.
pub(crate) fn preflight(origin: Option<&HeaderValue>) -> Reply {
    let Some(origin) = origin else {
        return reply::error(403, "CORS preflight refused: origin not allowed", false);
    };
    let mut answer = reply::empty(204);
    decorate(&mut answer, origin);
    let headers = answer.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PATCH, DELETE"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_as_documented() {
        let list: Vec<String> = [
            "https://game.example.com",
            "http://localhost:8080",
            "https://*.my-game.com",
            "localhost",
            "https://slash.example.com/",
            "*",
        ]
        .map(String::from)
        .to_vec();
        let ok = |o: &str| allowed(&list, o);
        assert!(ok("https://game.example.com"));
        assert!(ok("https://GAME.example.com"));
        assert!(ok("http://localhost:8080"));
        assert!(ok("https://play.my-game.com"));
        assert!(ok("https://a.b.my-game.com"));
        assert!(!ok("https://my-game.com"), "the wildcard is for subdomains");
        assert!(!ok("https://evilmy-game.com"));
        assert!(!ok("http://play.my-game.com"), "scheme differs");
        assert!(
            !ok("http://localhost"),
            "port differs; `localhost` alone matches nothing"
        );
        assert!(!ok("http://localhost:3000"));
        assert!(
            !ok("https://slash.example.com"),
            "an entry with a path matches nothing"
        );
        assert!(!ok("https://anything.org"), "`*` matches nothing");
        assert!(!ok("null"));
        assert!(!ok("https://game.example.com.evil.org"));
    }
}
