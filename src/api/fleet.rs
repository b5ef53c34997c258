//! Private-fleet hosts (`GET /v2/private-fleets/{fleet}/hosts`).

use serde::{Deserialize, Serialize};

use super::endpoint::{Endpoint, EndpointClass, Target, encode_component};
use super::error::EdgegapError;
use super::lenient;
use super::pagination::list_answer;
use super::validate;

/// `GET /v2/private-fleets/{fleet}/hosts` (10 req/s): the hosts of a private fleet, whose
/// `host_id`s go into [`FleetDeployRequest`](super::FleetDeployRequest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFleetHosts {
    /// The fleet's name.
    pub fleet: String,
}

impl ListFleetHosts {
    /// Hosts of `fleet`.
    pub fn new(fleet: impl Into<String>) -> Self {
        Self {
            fleet: fleet.into(),
        }
    }
}

impl Endpoint for ListFleetHosts {
    type Output = FleetHostList;

    fn target(&self) -> Target {
        Target::Path(format!(
            "/v2/private-fleets/{}/hosts",
            encode_component(&self.fleet)
        ))
    }
    fn class(&self) -> EndpointClass {
        EndpointClass::FleetHosts
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("fleet", &self.fleet)
    }
}

/// A host's state. Only [`HostStatus::Active`] hosts accept deployments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostStatus {
    /// `PENDING`
    Pending,
    /// `ACTIVE`
    Active,
    /// Any other value, as sent.
    Other(String),
}

lenient::wire_names!(HostStatus, prefix: "", {
    Pending => "PENDING",
    Active => "ACTIVE",
});

lenient::wire_string!(HostStatus);

/// A host's beacon (when beacons are enabled).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HostBeacon {
    /// TCP port.
    #[serde(deserialize_with = "lenient::opt_u16")]
    pub tcp_port: Option<u16>,
    /// UDP port.
    #[serde(deserialize_with = "lenient::opt_u16")]
    pub udp_port: Option<u16>,
    /// IP address.
    pub ip_address: Option<String>,
}

/// The area a fleet's hosts are placed around.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Centroid {
    /// Label.
    pub label: Option<String>,
    /// Latitude.
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub latitude: Option<f64>,
    /// Longitude.
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub longitude: Option<f64>,
    /// Radius in km.
    #[serde(deserialize_with = "lenient::opt_f64")]
    pub radius_km: Option<f64>,
    /// How many hosts are wanted there.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub desired_host_count: Option<u64>,
}

/// A scheduled deletion.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteSchedule {
    /// Schedule id.
    pub uuid: Option<String>,
    /// When (ISO 8601, UTC).
    pub scheduled_at: Option<String>,
}

/// A host's machine.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FleetHostSpecifications {
    /// CPU units (1024 = 1 vCPU).
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub cpu_units: Option<u64>,
    /// Memory in MB.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub memory_mb: Option<u64>,
    /// Base clock in MHz.
    #[serde(deserialize_with = "lenient::opt_u64")]
    pub base_clock_speed_mhz: Option<u64>,
}

/// One private-fleet host.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FleetHost {
    /// Host id (e.g. `alpha-north-america-95fab093`).
    pub host_id: String,
    /// State.
    pub status: Option<HostStatus>,
    /// IP address.
    pub ip_address: Option<String>,
    /// Latitude.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub latitude: Option<f64>,
    /// Longitude.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub longitude: Option<f64>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Continent.
    pub continent: Option<String>,
    /// CPU units in use.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub allocated_cpu_units: Option<u64>,
    /// Memory in use, MB.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub allocated_memory_mb: Option<u64>,
    /// CPU units available for deployments.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub allocatable_cpu_units: Option<u64>,
    /// Memory available for deployments, MB.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub allocatable_memory_mb: Option<u64>,
    /// Beacon.
    pub beacon: Option<HostBeacon>,
    /// Created (ISO 8601, UTC).
    pub created_at: Option<String>,
    /// Updated (ISO 8601, UTC).
    pub updated_at: Option<String>,
    /// Placement area.
    pub centroid: Option<Centroid>,
    /// Scheduled deletion.
    pub delete_schedule: Option<DeleteSchedule>,
    /// Machine.
    pub fleet_host_specifications: Option<FleetHostSpecifications>,
}

impl FleetHost {
    /// `ACTIVE`: accepts deployments.
    pub fn is_active(&self) -> bool {
        self.status == Some(HostStatus::Active)
    }
}

list_answer! {
    /// The answer of `GET /v2/private-fleets/{fleet}/hosts` (`total_count` and `pagination`
    /// since OAS2 2026-06).
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    pub struct FleetHostList {
        /// The hosts.
        pub data: Vec<FleetHost>,
    }
}
