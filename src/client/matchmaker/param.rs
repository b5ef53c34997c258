//! The [`Matchmaker`] system parameter: starts, readies, leaves and resumes searches, and
//! sends any matchmaker endpoint.

use bevy::ecs::entity::Entity;
use bevy::ecs::system::{Commands, SystemParam};
use bevy::ecs::world::World;
use serde::Serialize;

use super::config::MatchmakerConfig;
use super::state::{Answer, Joining, Matchmaking, Searching};
use super::track::{answer_with, push, schedule_poll, send_mm};
use crate::api::{
    CreateGroup, CreateGroupMember, EdgegapError, Endpoint, GetMonitor, GroupMember, ListBeacons,
    MatchmakerAccess, UpdateGroupMember,
};
use crate::client::edgegap::queue_call;
use crate::client::request::Handling;

/// Finds matches through Edgegap's matchmaker from any system or observer, like
/// [`Commands`]. A search is an entity carrying [`Matchmaking`] and a phase marker
/// ([`Joining`], `Forming`, [`Searching`], `Matched`, `Assigned`, `Leaving`, `Unmatched`); its
/// results are messages and events triggered on it: [`GroupJoined`](super::GroupJoined),
/// [`MatchFound`](super::MatchFound), [`HostAssigned`](super::HostAssigned),
/// [`MatchmakingCancelled`](super::MatchmakingCancelled),
/// [`MatchmakingFailed`](super::MatchmakingFailed).
///
/// Attributes are any `Serialize` value that serializes to a JSON object whose keys are the
/// profile's rule names (`serde_json::json!({..})` or a struct of your own). One that does
/// not is a [`MatchmakingFailed`](super::MatchmakingFailed) with
/// [`EdgegapError::Invalid`], nothing sent.
#[derive(SystemParam)]
pub struct Matchmaker<'w, 's> {
    commands: Commands<'w, 's>,
}

impl<'w, 's> Matchmaker<'w, 's> {
    /// The underlying [`Commands`].
    pub fn commands(&mut self) -> &mut Commands<'w, 's> {
        &mut self.commands
    }

    /// Searches alone: a group of one, ready at once (`POST /groups` with `is_ready: true`).
    pub fn find_match(&mut self, profile: impl Into<String>, attributes: impl Serialize) -> Entity {
        self.start(None, profile.into(), attributes, true)
    }

    /// Creates a group, not ready: share [`Matchmaking::group_id`] (also on
    /// [`GroupJoined`](super::GroupJoined)) with friends, who
    /// [`join_group`](Self::join_group); the search starts once every member
    /// [`set_ready`](Self::set_ready). This player owns the group: leaving cancels it for all.
    pub fn create_group(
        &mut self,
        profile: impl Into<String>,
        attributes: impl Serialize,
    ) -> Entity {
        self.start(None, profile.into(), attributes, false)
    }

    /// Joins a friend's group by its id (`POST /groups/{group_id}/members`), not ready.
    pub fn join_group(
        &mut self,
        group_id: impl Into<String>,
        profile: impl Into<String>,
        attributes: impl Serialize,
    ) -> Entity {
        self.start(Some(group_id.into()), profile.into(), attributes, false)
    }

    fn start(
        &mut self,
        group_id: Option<String>,
        profile: String,
        attributes: impl Serialize,
        ready: bool,
    ) -> Entity {
        let owner = group_id.is_none();
        let entity = self
            .commands
            .spawn((Matchmaking::new(Some(profile.clone()), owner), Joining))
            .id();
        let attributes = serde_json::to_value(attributes)
            .map_err(|e| EdgegapError::invalid("attributes", e.to_string()));
        self.commands.queue(move |world: &mut World| {
            let attributes = match attributes {
                Ok(attributes) => attributes,
                Err(error) => return push(world, entity, Answer::Refused(error)),
            };
            let access = access(world);
            let then = answer_with::<GroupMember>(Answer::Joined);
            match group_id {
                None => {
                    let create = CreateGroup::new(access, profile, attributes).ready(ready);
                    send_mm(world, entity, create, Handling::internal(then));
                }
                Some(group_id) => {
                    let join =
                        CreateGroupMember::new(access, group_id, profile, attributes).ready(ready);
                    send_mm(world, entity, join, Handling::internal(then));
                }
            }
        });
        entity
    }

    /// Says whether this member is ready (`PATCH`). A group searches once every member is;
    /// un-readying a searching group stops its search. Too late once a match was found
    /// (`409`): the search goes on to its assignment.
    pub fn set_ready(&mut self, search: Entity, ready: bool) {
        self.commands.queue(move |world: &mut World| {
            let Some(member) = world
                .get::<Matchmaking>(search)
                .and_then(|s| s.last().cloned())
                .filter(|_| {
                    world
                        .get::<Matchmaking>(search)
                        .is_some_and(|s| !s.is_over())
                })
            else {
                return;
            };
            let update =
                UpdateGroupMember::new(access(world), member.group_id, member.member_id, ready);
            let then = answer_with::<GroupMember>(Answer::Polled);
            send_mm(world, search, update, Handling::internal(then));
        });
    }

    /// Leaves: the owner deletes the group (for every member), a member leaves it. Before a
    /// match this ends in [`MatchmakingCancelled`](super::MatchmakingCancelled) with
    /// [`CancelReason::Left`](super::CancelReason::Left). Once a match was found the
    /// matchmaker refuses (`409`): the search goes on, and the assignment still comes.
    pub fn leave(&mut self, search: Entity) {
        self.commands.queue(move |world: &mut World| {
            push(world, search, Answer::LeaveRequested);
        });
    }

    /// Follows a search started earlier (by this game before a restart, say) from its
    /// [`group_id`](Matchmaking::group_id) and [`member_id`](Matchmaking::member_id):
    /// polled from the next frame, with the same events.
    pub fn resume(&mut self, group_id: impl Into<String>, member_id: impl Into<String>) -> Entity {
        let state = Matchmaking::resumed(group_id.into(), member_id.into());
        let entity = self.commands.spawn((state, Searching)).id();
        self.commands.queue(move |world: &mut World| {
            schedule_poll(world, entity, std::time::Duration::ZERO);
        });
        entity
    }

    /// Sends any matchmaker endpoint (build it with [`MatchmakerConfig::access`]). The result
    /// arrives as [`EdgegapResponse<E>`](crate::client::EdgegapResponse) on the returned
    /// call entity (despawned once delivered unless it has
    /// [`KeepCall`](crate::client::KeepCall)).
    pub fn send<E: Endpoint>(&mut self, endpoint: E) -> Entity
    where
        E::Output: Clone,
    {
        self.call(move |_| endpoint)
    }

    /// `GET /monitor`: [`EdgegapResponse<GetMonitor>`](crate::client::EdgegapResponse) on the
    /// returned call entity.
    pub fn monitor(&mut self) -> Entity {
        self.send_with(GetMonitor::new)
    }

    /// `GET /locations/beacons`: [`EdgegapResponse<ListBeacons>`](crate::client::EdgegapResponse)
    /// on the returned call entity.
    pub fn beacons(&mut self) -> Entity {
        self.send_with(ListBeacons::new)
    }

    /// Fetches the beacons (`GET /locations/beacons`) and measures the round trip to each
    /// one off the main thread (UDP echo, else TCP), each within `timeout`. The result
    /// arrives as [`BeaconsMeasured`](super::BeaconsMeasured) on the returned entity (then
    /// despawned); [`BeaconsMeasured::fill`](super::BeaconsMeasured::fill) puts it in the
    /// attributes. Not in the browser: it opens UDP and TCP sockets.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn measure_beacons(&mut self, timeout: std::time::Duration) -> Entity {
        use super::beacons;
        let entity = self.commands.spawn_empty().id();
        self.commands.queue(move |world: &mut World| {
            let list = ListBeacons::new(access(world));
            let then = Box::new(
                move |world: &mut World,
                      entity,
                      result: &Result<crate::api::BeaconList, EdgegapError>| {
                    match result {
                        Ok(list) => beacons::start_measure(world, entity, list.clone(), timeout),
                        Err(error) => {
                            beacons::finish(world, entity, Default::default(), Some(error.clone()))
                        }
                    }
                },
            );
            send_mm(world, entity, list, Handling::internal(then));
        });
        entity
    }

    fn send_with<E: Endpoint>(&mut self, make: fn(MatchmakerAccess) -> E) -> Entity
    where
        E::Output: Clone,
    {
        self.call(move |world| make(access(world)))
    }

    /// A call entity for `E`; the endpoint `make` builds (from the world, when the commands
    /// are applied) is sent with the result delivered on it.
    fn call<E: Endpoint>(&mut self, make: impl FnOnce(&World) -> E + Send + 'static) -> Entity
    where
        E::Output: Clone,
    {
        queue_call::<E>(&mut self.commands, move |world, call| {
            let endpoint = make(world);
            send_mm(world, call, endpoint, Handling::respond());
        })
    }
}

/// The configured matchmaker (an empty one without the plugin: the call then fails with
/// [`EdgegapError::Config`]).
fn access(world: &World) -> MatchmakerAccess {
    world
        .get_resource::<MatchmakerConfig>()
        .map_or_else(|| MatchmakerAccess::new("", ""), MatchmakerConfig::access)
}
