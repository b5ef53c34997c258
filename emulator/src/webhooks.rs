//! Webhook delivery: `POST <url>` with a JSON body, from a background task with a timeout.
//!
//! Plain `http://` URLs only (the emulator carries no TLS); an `https://` webhook is logged and
//! skipped. A webhook that cannot be reached is logged and never blocks the API.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Checks a webhook URL: `http://` or `https://`, a host, an optional port that fits, and only
/// visible ASCII (no space, CR, LF or other control character that could inject headers into
/// the webhook request). The error names the problem.
pub(crate) fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("must be an http:// or https:// URL")?;
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must not contain spaces, control or non-ASCII characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or("has an unclosed `[` in its host")?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or("has junk after its host")?),
                ),
            }
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return Err("needs a host");
    }
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return Err("has a port that is not 1..65535");
    }
    Ok(())
}

/// Splits `http://host[:port][/path?query]` into (host:port, path-and-query, host header).
fn split_url(url: &str) -> Option<(String, String, String)> {
    check_url(url).ok()?;
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        },
    };
    if authority.is_empty() {
        return None;
    }
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    let addr = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Some((addr, path, authority.to_owned()))
}

async fn post(url: &str, body: &[u8]) -> Result<u16, String> {
    let (addr, path, host) =
        split_url(url).ok_or_else(|| "only http:// URLs are supported".to_owned())?;
    let mut stream = TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nUser-Agent: edgegap-emulator\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // Only the status line matters.
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.len() > 8192 {
            break;
        }
    }
    let line = String::from_utf8_lossy(&answer);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "no HTTP status line in the answer".to_owned())
}

/// Sends the webhook in a background task; logs the outcome.
pub(crate) fn fire(
    kind: &'static str,
    request_id: String,
    url: String,
    body: serde_json::Value,
    timeout: Duration,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let bytes = body.to_string().into_bytes();
        match tokio::time::timeout(timeout, post(&url, &bytes)).await {
            Ok(Ok(status)) => {
                tracing::debug!(
                    "webhook `{kind}` of `{request_id}` delivered to `{url}`: `{status}`"
                );
            }
            Ok(Err(error)) => {
                tracing::warn!("webhook `{kind}` of `{request_id}` to `{url}` failed: {error}");
            }
            Err(_) => {
                tracing::warn!(
                    "webhook `{kind}` of `{request_id}` to `{url}` timed out after `{timeout:?}`"
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://127.0.0.1:9000/hook?key=1"),
            Some((
                "127.0.0.1:9000".into(),
                "/hook?key=1".into(),
                "127.0.0.1:9000".into()
            ))
        );
        assert_eq!(
            split_url("http://example.com?x"),
            Some(("example.com:80".into(), "/?x".into(), "example.com".into()))
        );
        assert_eq!(split_url("https://example.com/"), None);
        assert_eq!(split_url("http:///x"), None);
        assert_eq!(split_url("http://h/x\r\nX-Injected: 1"), None);
        assert!(check_url("https://[::1]:8443/a?b#c").is_ok());
        assert!(check_url("http://user@host:80/").is_ok());
        assert!(check_url("http://host:0/").is_err());
        assert!(check_url("http://[::1/").is_err());
        assert!(check_url("ftp://host/").is_err());
    }
}
