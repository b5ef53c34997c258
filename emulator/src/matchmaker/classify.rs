//! The matchmaker's endpoints: the [`MmRoute`] names and the table of served paths.

use crate::classify::{Matched, classify_in};

/// An endpoint of the emulated matchmaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MmRoute {
    Monitor,
    Beacons,
    CreateGroup,
    GetGroup,
    DeleteGroup,
    CreateMember,
    GetMember,
    UpdateMember,
    DeleteMember,
    CreateTicket,
    GetTicket,
    DeleteTicket,
    CreateBackfill,
    GetBackfill,
    DeleteBackfill,
    /// Any other method or path (404 or 405).
    Unknown,
}

/// Every endpoint served (paths as Edgegap's SDKs call them, no version prefix).
#[rustfmt::skip]
const TABLE: &[(&str, &str, MmRoute)] = &[
    ("GET", "/monitor", MmRoute::Monitor),
    ("GET", "/locations/beacons", MmRoute::Beacons),
    ("POST", "/groups", MmRoute::CreateGroup),
    ("GET", "/groups/{group_id}", MmRoute::GetGroup),
    ("DELETE", "/groups/{group_id}", MmRoute::DeleteGroup),
    ("POST", "/groups/{group_id}/members", MmRoute::CreateMember),
    ("GET", "/groups/{group_id}/members/{member_id}", MmRoute::GetMember),
    ("PATCH", "/groups/{group_id}/members/{member_id}", MmRoute::UpdateMember),
    ("DELETE", "/groups/{group_id}/members/{member_id}", MmRoute::DeleteMember),
    ("POST", "/tickets", MmRoute::CreateTicket),
    ("GET", "/tickets/{ticket_id}", MmRoute::GetTicket),
    ("DELETE", "/tickets/{ticket_id}", MmRoute::DeleteTicket),
    ("POST", "/backfills", MmRoute::CreateBackfill),
    ("GET", "/backfills/{backfill_id}", MmRoute::GetBackfill),
    ("DELETE", "/backfills/{backfill_id}", MmRoute::DeleteBackfill),
];

/// Classifies a matchmaker request by method and path.
pub(crate) fn classify(method: &str, path: &str) -> Matched<MmRoute> {
    classify_in(TABLE, MmRoute::Unknown, method, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_sdk_paths() {
        assert_eq!(classify("GET", "/monitor").route, MmRoute::Monitor);
        let member = classify("PATCH", "/groups/g-1/members/m-2");
        assert_eq!(member.route, MmRoute::UpdateMember);
        assert_eq!(member.params, ["g-1", "m-2"]);
        assert_eq!(classify("GET", "/backfills/b").route, MmRoute::GetBackfill);
        let wrong = classify("PUT", "/groups/g");
        assert_eq!((wrong.route, wrong.wrong_method), (MmRoute::Unknown, true));
        assert_eq!(wrong.allow, "GET, DELETE");
        assert_eq!(classify("GET", "/v1/status/x").route, MmRoute::Unknown);
    }
}
