//! `GET /v1/deployment/{id}/container-logs` and `GET /v1/metrics/deployment/{id}`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::process::Sample;
use crate::reply::{self, Reply, bad};
use crate::request::Ctx;
use crate::state::{Phase, Shared};
use crate::util::{metrics_time, parse_metrics_time};

/// Most points one metrics answer holds.
const MAX_POINTS: u64 = 2000;

/// `GET /v1/deployment/{request_id}/container-logs`: the process's captured output,
/// `crash_data` for a non-zero exit; 404 once terminated (as Edgegap without endpoint storage)
/// unless `logs_after_termination`.
pub(crate) fn container_logs(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    let deployments = shared.deployments();
    let Some(d) = deployments.by_id.get(id) else {
        return reply::error(404, format!("Deployment {id} not found"), false);
    };
    if d.phase == Phase::Terminated && !shared.settings.logs_after_termination {
        return reply::error(
            404,
            format!("Logs are not available: deployment {id} is terminated"),
            false,
        );
    }
    let (crash_logs, crash_data) = match &d.crash {
        Some(crash) => (
            json!(crash.logs),
            json!({ "exit_code": crash.exit_code, "message": crash.message, "restart_count": 0 }),
        ),
        None => (Value::Null, Value::Null),
    };
    reply::json(
        200,
        &json!({
            "logs": d.log_text(),
            "encoding": "utf-8",
            "crash_logs": crash_logs,
            "crash_data": crash_data,
            "logs_link": null,
        }),
    )
}

/// `30s`, `1m`, `5m`, `10m`, `1h`, `1d` (any number with one of s/m/h/d).
fn parse_steps(text: &str) -> Option<Duration> {
    let (last, _) = text.char_indices().last()?;
    let (number, unit) = text.split_at(last);
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let unit_secs: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs).map(Duration::from_secs)
}

fn model(points: &[(SystemTime, f64)]) -> Value {
    json!({
        "labels": points.iter().map(|(t, _)| metrics_time(*t)[11..19].to_owned()).collect::<Vec<_>>(),
        "datasets": points.iter().map(|(_, v)| (v * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        "timestamps": points.iter().map(|(t, _)| metrics_time(*t)).collect::<Vec<_>>(),
    })
}

/// `GET /v1/metrics/deployment/{request_id}`: CPU (percent of one core) and memory (MB, RSS)
/// sampled each second from `/proc` for launched processes; small constant figures for
/// simulated ones; network and disk series are zeros (not measured).
pub(crate) fn metrics(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let id = ctx.param(0);
    let deployments = shared.deployments();
    let Some(d) = deployments.by_id.get(id) else {
        return reply::error(404, format!("Deployment {id} not found"), false);
    };
    let time = |key: &str, default: SystemTime| -> Result<SystemTime, Reply> {
        match ctx.query(key) {
            None => Ok(default),
            Some(text) => parse_metrics_time(text).ok_or_else(|| {
                bad(
                    key,
                    "must be `%Y-%m-%d %H:%M:%S.%f` (`2021-07-10 00:00:00.00`)",
                )
            }),
        }
    };
    let start = match time("start_time", d.created) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let end = match time("end_time", d.removed_at.unwrap_or_else(SystemTime::now)) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    if end <= start {
        return reply::json(
            422,
            &json!({ "message": "Unprocessable: `end_time` must be after `start_time`" }),
        );
    }
    let span = end.duration_since(start).unwrap_or_default();
    let raw = match ctx.query("raw") {
        None => false,
        Some(t) if t.eq_ignore_ascii_case("true") => true,
        Some(t) if t.eq_ignore_ascii_case("false") => false,
        Some(_) => return bad("raw", "must be `true` or `false`"),
    };
    let step = match ctx.query("steps") {
        None => Duration::from_secs((span.as_secs() / 60).max(1)),
        Some(text) => match parse_steps(text) {
            Some(step) => step,
            None => {
                return bad(
                    "steps",
                    "must look like `30s`, `1m`, `5m`, `1h` (a positive number that fits)",
                );
            }
        },
    };
    if end.checked_add(step).is_none() {
        return bad("steps", "is too large for this time range");
    }
    if span.as_secs() / step.as_secs().max(1) > MAX_POINTS {
        return reply::json(
            422,
            &json!({ "message": format!("Unprocessable: more than {MAX_POINTS} steps") }),
        );
    }
    let simulated = !d.version.kind.is_process();
    let samples: Vec<Sample> = d
        .samples
        .iter()
        .copied()
        .filter(|s| s.at >= start && s.at <= end)
        .collect();
    let series = |value: fn(&Sample) -> f64, synthetic: f64| -> Vec<(SystemTime, f64)> {
        if raw && !simulated {
            return samples.iter().map(|s| (s.at, value(s))).collect();
        }
        let mut points = Vec::new();
        let mut at = start;
        while at < end {
            // `at < end` and `end + step` fits (checked above), so this cannot overflow.
            let Some(next) = at.checked_add(step) else {
                break;
            };
            let in_step: Vec<f64> = samples
                .iter()
                .filter(|s| s.at >= at && s.at < next)
                .map(value)
                .collect();
            let v = if simulated {
                synthetic
            } else if in_step.is_empty() {
                0.0
            } else {
                in_step.iter().sum::<f64>() / in_step.len() as f64
            };
            points.push((at, v));
            at = next;
        }
        points
    };
    let cpu = series(|s| s.cpu_percent, 1.5);
    let mem = series(|s| s.mem_mb, 64.0);
    let zeros: Vec<(SystemTime, f64)> = cpu.iter().map(|(t, _)| (*t, 0.0)).collect();
    let zero = model(&zeros);
    reply::json(
        200,
        &json!({
            "total": {
                "receive_total": zero,
                "transmit_total": zero,
                "disk_read_total": zero,
                "disk_write_total": zero,
            },
            "cpu": model(&cpu),
            "cpu_throttle_rate": zero,
            "cpu_throttle_total": zero,
            "mem": model(&mem),
            "network": { "receive": zero, "transmit": zero },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_steps() {
        assert_eq!(parse_steps("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_steps("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_steps("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_steps("0m"), None);
        assert_eq!(parse_steps("m"), None);
        assert_eq!(parse_steps(""), None);
        assert_eq!(parse_steps("5é"), None);
        assert_eq!(parse_steps("300000000000000d"), None);
        assert_eq!(parse_steps("99999999999999999999s"), None);
    }
}
