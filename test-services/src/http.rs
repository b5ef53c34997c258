//! A small blocking HTTP client for tests (ureq): one request, its whole answer, with no
//! error status turned into an error. The emulator's tests and the gateway's testkit send
//! their requests through it.

use std::time::Duration;

use serde_json::Value;

/// An answer: status, every header, body text and JSON.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Every header, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub text: String,
    /// The body as JSON (`Null` when it is not).
    pub json: Value,
}

impl Answer {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body's `message` (an error answer's), or `""` when there is none.
    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or_default()
    }

    /// The body's `request_id`; panics (failing the test) when there is none.
    pub fn request_id(&self) -> String {
        self.json["request_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no request_id in {} {}", self.status, self.text))
            .to_owned()
    }
}

/// Sends `method url` with `headers` and a raw JSON body (if any), waiting at most `timeout`.
/// An answer with any status is `Ok`; `Err` says why no answer came (the transport error).
pub fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout: Duration,
) -> Result<Answer, String> {
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request
            .set("Content-Type", "application/json")
            .send_string(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| {
            let value = response.header(&n)?.to_owned();
            Some((n.to_ascii_lowercase(), value))
        })
        .collect();
    let text = response.into_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        headers,
        text,
        json,
    })
}
