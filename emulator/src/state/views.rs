//! The JSON shapes of a deployment: status object, list item, context, location, ports.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::{Deployment, Phase, Port};
use crate::config::Location;
use crate::util::v1_time;

/// The public IP every deployment reports: clients connect over loopback.
pub(crate) const PUBLIC_IP: &str = "127.0.0.1";

/// `ARBITRIUM_DEPLOYMENT_LOCATION` / status `location` / `LocationData`.
pub(crate) fn location_json(location: &Location) -> Value {
    json!({
        "city": location.city,
        "country": location.country,
        "continent": location.continent,
        "administrative_division": location.administrative_division,
        "timezone": location.timezone,
        "latitude": location.latitude,
        "longitude": location.longitude,
    })
}

/// The status `ports` map: key = port name; `link` = `127.0.0.1:<external>` (clients connect by
/// IP on loopback).
pub(crate) fn ports_json(ports: &[Port]) -> Value {
    let map: Map<String, Value> = ports
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                json!({
                    "external": p.external,
                    "internal": p.internal,
                    "protocol": p.protocol,
                    "name": p.name,
                    "tls_upgrade": false,
                    "link": format!("{PUBLIC_IP}:{}", p.external),
                }),
            )
        })
        .collect();
    Value::Object(map)
}

impl Deployment {
    /// `start_time`: when it became READY; before that, when it was created (never null, so
    /// strict clients decode it).
    fn start(&self) -> SystemTime {
        self.ready_at.unwrap_or(self.created)
    }

    fn elapsed_secs(&self) -> u64 {
        let end = self.removed_at.unwrap_or_else(SystemTime::now);
        end.duration_since(self.start())
            .unwrap_or_default()
            .as_secs()
    }

    /// `GET /v1/status/{id}`: the superset of the 2024 swagger and 2026 OpenAPI shapes.
    pub(crate) fn status_json(&self) -> Value {
        json!({
            "request_id": self.request_id,
            "fqdn": self.fqdn(),
            "app_name": self.version.app,
            "app_version": self.version.version,
            "current_status": self.phase.as_str(),
            "last_status": self.last_phase.map(Phase::as_str),
            "running": self.phase == Phase::Ready,
            "whitelisting_active": false,
            "start_time": v1_time(self.start()),
            "removal_time": self.removed_at.map(v1_time),
            "elapsed_time": self.elapsed_secs(),
            "max_duration": self.version.max_duration,
            "error": self.phase == Phase::Error,
            "error_detail": self.error_detail,
            "ports": ports_json(&self.ports),
            "public_ip": PUBLIC_IP,
            "sessions": [],
            "location": location_json(&self.location),
            "tags": self.tag_names(),
            "sockets": null,
            "sockets_usage": null,
            "command": null,
            "arguments": null,
        })
    }

    /// One `data` item of `GET /v1/deployments`: only the documented `DeploymentListData` fields
    /// (a client needing the status, app or creation time reads the status call).
    pub(crate) fn list_item_json(&self) -> Value {
        json!({
            "request_id": self.request_id,
            "fqdn": self.fqdn(),
            "start_time": v1_time(self.start()),
            "ready": self.phase == Phase::Ready,
            "public_ip": PUBLIC_IP,
            "ports": ports_json(&self.ports),
            "tags": self.tag_names(),
            "sockets": null,
            "sockets_usage": null,
            "is_joinable_by_session": false,
        })
    }

    /// `GET /v1/context/{id}/{security_number}`: the `Deployment` model.
    pub(crate) fn context_json(&self) -> Value {
        json!({
            "request_id": self.request_id,
            "public_ip": PUBLIC_IP,
            "status": self.phase.as_str(),
            "ready": self.phase == Phase::Ready,
            "whitelisting_active": false,
            "fqdn": self.fqdn(),
            "ports": ports_json(&self.ports),
            "location": location_json(&self.location),
            "tags": self.tag_names(),
            "sockets": null,
            "sockets_usage": null,
            "is_joinable_by_session": false,
        })
    }
}

impl Deployment {
    /// The container's output: the captured stdout+stderr of a launched process, or synthetic
    /// lines for a simulated version.
    pub(crate) fn log_text(&self) -> String {
        if self.version.kind.is_process() {
            return crate::util::lock(&self.logs).text.clone();
        }
        let mut text = format!(
            "[emulator] simulated server `{}`/`{}` for deployment `{}`\n",
            self.version.app, self.version.version, self.request_id
        );
        for port in &self.ports {
            text.push_str(&format!(
                "[emulator] listening on port `{}` ({}) as `{}`\n",
                port.internal, port.protocol, port.name
            ));
        }
        for phase in &self.transitions {
            text.push_str(&format!("[emulator] status `{}`\n", phase.as_str()));
        }
        text
    }
}
