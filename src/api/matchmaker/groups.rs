//! Group Up, what game clients use: a group (a party, or a solo player) searches together.
//! The owner creates it ([`CreateGroup`]), friends join it by its id ([`CreateGroupMember`]),
//! each member polls its own resource ([`GetGroupMember`]) and says it is ready
//! ([`UpdateGroupMember`]); the search starts when every member is ready. A solo player is a
//! group of one created ready.

use serde::{Deserialize, Serialize};

use super::shared::{
    Assignment, MatchStatus, MatchmakerAccess, attributes_json, by_id, mm_auth, mm_id, mm_target,
    nothing, string_or_empty,
};
use crate::api::endpoint::{Auth, Endpoint, HttpResponse, Method, Target, decode_json};
use crate::api::error::EdgegapError;
use crate::api::lenient;
use crate::api::validate;

/// What a player searches with: the body of `POST /groups` and `POST /groups/{id}/members`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRequest<A = serde_json::Value> {
    /// The matchmaker profile (a queue: `ranked-2v2`).
    pub profile: String,
    /// Whether this member is ready (the search starts when every member is).
    pub is_ready: bool,
    /// The player's public IP (default: the address the matchmaker sees).
    pub player_ip: Option<String>,
    /// The player's attributes: one key per rule of the profile (but `player_count`).
    pub attributes: A,
}

impl<A> GroupRequest<A> {
    /// A search of `profile` with `attributes`, not ready yet, from the address the
    /// matchmaker sees.
    pub fn new(profile: impl Into<String>, attributes: A) -> Self {
        Self {
            profile: profile.into(),
            is_ready: false,
            player_ip: None,
            attributes,
        }
    }
}

/// The `ready` and `player_ip` setters of a request that holds a [`GroupRequest`] in
/// `request`: the group's creation and a member's.
macro_rules! request_setters {
    () => {
        /// Whether this player is ready (default `false`).
        #[must_use]
        pub fn ready(mut self, ready: bool) -> Self {
            self.request.is_ready = ready;
            self
        }

        /// The player's public IP (default: the address the matchmaker sees).
        #[must_use]
        pub fn player_ip(mut self, ip: impl Into<String>) -> Self {
            self.request.player_ip = Some(ip.into());
            self
        }
    };
}

impl<A: Serialize> GroupRequest<A> {
    fn validate(&self) -> Result<(), EdgegapError> {
        validate::non_empty("profile", &self.profile)?;
        if let Some(ip) = &self.player_ip {
            validate::non_empty("player_ip", ip)?;
        }
        attributes_json(&self.attributes).map(drop)
    }

    fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "profile": self.profile,
            "is_ready": self.is_ready,
            "attributes": attributes_json(&self.attributes).unwrap_or_default(),
        });
        if let Some(ip) = &self.player_ip {
            body["player_ip"] = ip.clone().into();
        }
        body
    }
}

/// A group member, as the matchmaker answers for it: the resource a player polls.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMember {
    /// This member's id.
    #[serde(deserialize_with = "string_or_empty")]
    pub member_id: String,
    /// The group's id: friends join with it.
    #[serde(deserialize_with = "string_or_empty")]
    pub group_id: String,
    /// Whether this member is ready.
    #[serde(deserialize_with = "lenient::bool_or_false")]
    pub is_ready: bool,
    /// The group's status.
    pub status: MatchStatus,
    /// This member's ticket, once the group searches: the id a server admits it by.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub ticket_id: Option<String>,
    /// This member's team, from `MATCH_FOUND` on.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub team_id: Option<String>,
    /// Where to connect, at `HOST_ASSIGNED`.
    pub assignment: Option<Assignment>,
}

/// The `GET /groups/{group_id}` answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupView {
    /// The group's status.
    pub status: MatchStatus,
    /// Where to connect, at `HOST_ASSIGNED`.
    pub assignment: Option<Assignment>,
    /// The group's team, from `MATCH_FOUND` on.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub team_id: Option<String>,
}

/// `POST /groups`: creates a group with its owner as first member. Not ready by default;
/// `.ready(true)` for a solo player (the search starts at once).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateGroup<A = serde_json::Value> {
    /// The matchmaker.
    pub access: MatchmakerAccess,
    /// The owner's request.
    pub request: GroupRequest<A>,
}

impl<A> CreateGroup<A> {
    /// A group for `profile`, its owner searching with `attributes`.
    pub fn new(access: MatchmakerAccess, profile: impl Into<String>, attributes: A) -> Self {
        Self {
            access,
            request: GroupRequest::new(profile, attributes),
        }
    }

    request_setters!();
}

impl<A> Endpoint for CreateGroup<A>
where
    A: Serialize + Send + Sync + 'static,
{
    type Output = GroupMember;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        mm_target(&self.access, &["groups"])
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(self.request.body())
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.access.validate()?;
        self.request.validate()
    }
}

/// `POST /groups/{group_id}/members`: joins a forming group (`404` unknown group, `409` once
/// it searches, `400` full or another profile).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateGroupMember<A = serde_json::Value> {
    /// The matchmaker.
    pub access: MatchmakerAccess,
    /// The group to join.
    pub group_id: String,
    /// The member's request.
    pub request: GroupRequest<A>,
}

impl<A> CreateGroupMember<A> {
    /// Joins `group_id` for `profile` with `attributes`, not ready yet.
    pub fn new(
        access: MatchmakerAccess,
        group_id: impl Into<String>,
        profile: impl Into<String>,
        attributes: A,
    ) -> Self {
        Self {
            access,
            group_id: group_id.into(),
            request: GroupRequest::new(profile, attributes),
        }
    }

    request_setters!();
}

impl<A> Endpoint for CreateGroupMember<A>
where
    A: Serialize + Send + Sync + 'static,
{
    type Output = GroupMember;

    fn method(&self) -> Method {
        Method::Post
    }
    fn target(&self) -> Target {
        mm_target(&self.access, &["groups", &self.group_id, "members"])
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(self.request.body())
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.access.validate()?;
        mm_id("group_id", &self.group_id)?;
        self.request.validate()
    }
}

by_id!(
    /// `GET /groups/{group_id}`.
    GetGroup, Get, "groups", group_id, GroupView, decode_json
);
by_id!(
    /// `DELETE /groups/{group_id}`: the owner cancels for every member (`409` once matched).
    DeleteGroup, Delete, "groups", group_id, (), nothing
);

/// A member of a group, as a path: `/groups/{group_id}/members/{member_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    /// The matchmaker.
    pub access: MatchmakerAccess,
    /// The group.
    pub group_id: String,
    /// The member.
    pub member_id: String,
}

impl MemberRef {
    /// Member `member_id` of group `group_id`.
    pub fn new(
        access: MatchmakerAccess,
        group_id: impl Into<String>,
        member_id: impl Into<String>,
    ) -> Self {
        Self {
            access,
            group_id: group_id.into(),
            member_id: member_id.into(),
        }
    }

    fn target(&self) -> Target {
        mm_target(
            &self.access,
            &["groups", &self.group_id, "members", &self.member_id],
        )
    }

    fn validate(&self) -> Result<(), EdgegapError> {
        self.access.validate()?;
        mm_id("group_id", &self.group_id)?;
        mm_id("member_id", &self.member_id)
    }
}

/// `GET /groups/{group_id}/members/{member_id}`: the resource a player polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetGroupMember(pub MemberRef);

impl GetGroupMember {
    /// Member `member_id` of group `group_id`.
    pub fn new(
        access: MatchmakerAccess,
        group_id: impl Into<String>,
        member_id: impl Into<String>,
    ) -> Self {
        Self(MemberRef::new(access, group_id, member_id))
    }
}

impl Endpoint for GetGroupMember {
    type Output = GroupMember;

    fn target(&self) -> Target {
        self.0.target()
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.0.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.0.validate()
    }
}

/// `PATCH /groups/{group_id}/members/{member_id}` with `{"is_ready": bool}` (`409` once
/// matched or cancelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateGroupMember {
    /// The member.
    pub member: MemberRef,
    /// Ready or not.
    pub is_ready: bool,
}

impl UpdateGroupMember {
    /// Sets whether member `member_id` of group `group_id` is ready.
    pub fn new(
        access: MatchmakerAccess,
        group_id: impl Into<String>,
        member_id: impl Into<String>,
        is_ready: bool,
    ) -> Self {
        Self {
            member: MemberRef::new(access, group_id, member_id),
            is_ready,
        }
    }
}

impl Endpoint for UpdateGroupMember {
    type Output = GroupMember;

    fn method(&self) -> Method {
        Method::Patch
    }
    fn target(&self) -> Target {
        self.member.target()
    }
    fn body(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "is_ready": self.is_ready }))
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.member.access)
    }
    fn idempotent(&self) -> bool {
        // Setting a flag to a value twice is harmless.
        true
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.member.validate()
    }
}

/// `DELETE /groups/{group_id}/members/{member_id}`: leave (`409` once matched: keep polling,
/// the assignment still comes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteGroupMember(pub MemberRef);

impl DeleteGroupMember {
    /// Member `member_id` leaves group `group_id`.
    pub fn new(
        access: MatchmakerAccess,
        group_id: impl Into<String>,
        member_id: impl Into<String>,
    ) -> Self {
        Self(MemberRef::new(access, group_id, member_id))
    }
}

impl Endpoint for DeleteGroupMember {
    type Output = ();

    fn method(&self) -> Method {
        Method::Delete
    }
    fn target(&self) -> Target {
        self.0.target()
    }
    fn auth(&self) -> Auth {
        mm_auth(&self.0.access)
    }
    fn validate(&self) -> Result<(), EdgegapError> {
        self.0.validate()
    }
    fn decode_success(&self, _response: &HttpResponse) -> Result<(), EdgegapError> {
        Ok(())
    }
}
