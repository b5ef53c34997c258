//! Deployment metrics (`GET /v1/metrics/deployment/{request_id}`).

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, Query, Target, encode_component};
use super::error::EdgegapError;
use super::ids::RequestId;
use super::lenient;
use super::validate;

/// `GET /v1/metrics/deployment/{request_id}`: CPU, memory, network and disk series.
///
/// Times are naive UTC, always sent as `%Y-%m-%d %H:%M:%S.%f` (the documented form; the
/// fraction is required): give them typed with [`GetMetrics::start_at`] / [`GetMetrics::end_at`],
/// or as text (`YYYY-MM-DD HH:MM:SS[.f…]`, re-written with six fraction digits).
/// [`Endpoint::validate`] checks their form and that `end_time` is after `start_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMetrics {
    /// The deployment.
    pub request_id: RequestId,
    /// Start (default: the deployment's start).
    pub start_time: Option<String>,
    /// End (default: now, or when it stopped).
    pub end_time: Option<String>,
    /// Step such as `30s`, `1m`, `5m`, `1h` (values averaged per step).
    pub steps: Option<String>,
    /// Raw (unaveraged) data.
    pub raw: Option<bool>,
}

impl GetMetrics {
    /// Metrics of `request_id` over its whole life.
    pub fn new(request_id: impl Into<RequestId>) -> Self {
        Self {
            request_id: request_id.into(),
            start_time: None,
            end_time: None,
            steps: None,
            raw: None,
        }
    }

    /// Sets the start (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC).
    #[must_use]
    pub fn start_time(mut self, time: impl Into<String>) -> Self {
        self.start_time = Some(time.into());
        self
    }

    /// Sets the end (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC).
    #[must_use]
    pub fn end_time(mut self, time: impl Into<String>) -> Self {
        self.end_time = Some(time.into());
        self
    }

    /// Sets the start from a typed time (UTC).
    #[must_use]
    pub fn start_at(self, time: std::time::SystemTime) -> Self {
        self.start_time(format_system_time(time))
    }

    /// Sets the end from a typed time (UTC).
    #[must_use]
    pub fn end_at(self, time: std::time::SystemTime) -> Self {
        self.end_time(format_system_time(time))
    }

    /// Sets the step (`30s`, `1m`, `5m`, `10m`, `1h`, …).
    #[must_use]
    pub fn steps(mut self, steps: impl Into<String>) -> Self {
        self.steps = Some(steps.into());
        self
    }

    /// Asks for raw data.
    #[must_use]
    pub fn raw(mut self, raw: bool) -> Self {
        self.raw = Some(raw);
        self
    }
}

/// A parsed `YYYY-MM-DD HH:MM:SS[.f…]` time: fields in comparison order, the fraction in
/// nanoseconds.
type TimeKey = (u32, u32, u32, u32, u32, u32, u32);

/// `%Y-%m-%d %H:%M:%S.%f` of a parsed time.
fn format_time((y, mo, d, h, mi, s, nanos): TimeKey) -> String {
    format!(
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{:06}",
        nanos / 1000
    )
}

/// `%Y-%m-%d %H:%M:%S.%f` of `time` in UTC (times before 1970 are 1970-01-01).
pub(crate) fn format_system_time(time: std::time::SystemTime) -> String {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil from days (Howard Hinnant).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format_time((
        u32::try_from(year).unwrap_or(9999),
        month as u32,
        day as u32,
        (rest / 3600) as u32,
        (rest % 3600 / 60) as u32,
        (rest % 60) as u32,
        since.subsec_nanos(),
    ))
}

fn parse_time(field: &str, text: &str) -> Result<TimeKey, EdgegapError> {
    let bad = || {
        EdgegapError::invalid(
            field,
            format!("`{text}` is not a time of the form `YYYY-MM-DD HH:MM:SS[.ffffff]`"),
        )
    };
    let (date, time) = text.trim().split_once(' ').ok_or_else(bad)?;
    let num = |s: &str, len: usize| -> Result<u32, EdgegapError> {
        if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u32>().map_err(|_| bad())
    };
    let mut d = date.split('-');
    let (Some(y), Some(mo), Some(day), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return Err(bad());
    };
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut t = hms.split(':');
    let (Some(h), Some(mi), Some(s), None) = (t.next(), t.next(), t.next(), t.next()) else {
        return Err(bad());
    };
    let (y, mo, day, h, mi, s) = (
        num(y, 4)?,
        num(mo, 2)?,
        num(day, 2)?,
        num(h, 2)?,
        num(mi, 2)?,
        num(s, 2)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let nanos = match frac {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(bad());
        }
        Some(f) => {
            let digits: u32 = f.parse().map_err(|_| bad())?;
            digits * 10u32.pow(9 - f.len() as u32)
        }
    };
    Ok((y, mo, day, h, mi, s, nanos))
}

impl Endpoint for GetMetrics {
    type Output = DeploymentMetrics;

    fn target(&self) -> Target {
        Target::Path(format!(
            "/v1/metrics/deployment/{}",
            encode_component(self.request_id.as_str())
        ))
    }
    fn query(&self) -> Vec<(String, String)> {
        // Times always with the fraction Edgegap requires.
        let time = |name: &str, value: &Option<String>| {
            value.as_deref().map(|value| {
                parse_time(name, value)
                    .map(format_time)
                    .unwrap_or_else(|_| value.trim().to_owned())
            })
        };
        Query::new()
            .opt("start_time", time("start_time", &self.start_time))
            .opt("end_time", time("end_time", &self.end_time))
            .opt("steps", self.steps.as_deref().map(str::trim))
            .opt("raw", self.raw)
            .build()
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::request_id(&self.request_id)?;
        let start = self
            .start_time
            .as_deref()
            .map(|t| parse_time("start_time", t))
            .transpose()?;
        let end = self
            .end_time
            .as_deref()
            .map(|t| parse_time("end_time", t))
            .transpose()?;
        if let (Some(start), Some(end)) = (start, end)
            && end <= start
        {
            return Err(EdgegapError::invalid(
                "end_time",
                "must be after start_time",
            ));
        }
        if let Some(steps) = &self.steps {
            validate::non_empty("steps", steps)?;
        }
        Ok(())
    }
}

/// One series: parallel arrays of labels, values and timestamps (Edgegap's `MetricsModel`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricSeries {
    /// Labels such as `"00:00:00"`.
    #[serde(deserialize_with = "lenient::strings")]
    pub labels: Vec<String>,
    /// Values (numbers or numeric strings; a `null` item reads as `NaN`). Units are not
    /// documented.
    #[serde(deserialize_with = "lenient::f64_list")]
    pub datasets: Vec<f64>,
    /// Timestamps such as `"2021-07-14 14:17:37.711"`.
    #[serde(deserialize_with = "lenient::strings")]
    pub timestamps: Vec<String>,
}

/// `total`: cumulative network and disk counters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsTotal {
    /// Bytes received.
    pub receive_total: Option<MetricSeries>,
    /// Bytes sent.
    pub transmit_total: Option<MetricSeries>,
    /// Disk reads.
    pub disk_read_total: Option<MetricSeries>,
    /// Disk writes.
    pub disk_write_total: Option<MetricSeries>,
}

/// `network`: receive and transmit series.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkMetrics {
    /// Received.
    pub receive: Option<MetricSeries>,
    /// Sent.
    pub transmit: Option<MetricSeries>,
}

/// The answer of the metrics endpoint. Every key is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentMetrics {
    /// Cumulative counters.
    pub total: Option<MetricsTotal>,
    /// CPU.
    pub cpu: Option<MetricSeries>,
    /// CPU throttle rate (OAS1 2026 only).
    pub cpu_throttle_rate: Option<MetricSeries>,
    /// CPU throttle total (OAS1 2026 only).
    pub cpu_throttle_total: Option<MetricSeries>,
    /// Memory.
    pub mem: Option<MetricSeries>,
    /// Network.
    pub network: Option<NetworkMetrics>,
}

#[cfg(test)]
mod time_tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn metrics_times_always_carry_the_fraction() {
        let at = UNIX_EPOCH + Duration::from_micros(1_625_875_200_123_456); // 2021-07-10
        let query = GetMetrics::new("abc")
            .start_at(at)
            .end_time("2021-07-11 00:00:00")
            .query();
        assert_eq!(
            query,
            vec![
                (
                    "start_time".to_owned(),
                    "2021-07-10 00:00:00.123456".to_owned()
                ),
                (
                    "end_time".to_owned(),
                    "2021-07-11 00:00:00.000000".to_owned()
                ),
            ]
        );
        assert_eq!(
            format_system_time(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29 00:00:00.000000"
        );
    }
}
