//! [`PollSchedule`]: when each followed entity (a deployment, a matchmaking search) is to be
//! polled next, and when the rate budget can next take a poll. The deployment tracker and the
//! matchmaker's each keep one, so an idle follower costs nothing per frame: a frame looks at
//! the earliest time only, and while every due poll waits for the budget, not even that.

use std::collections::BTreeSet;
use std::time::Duration;

use bevy::ecs::entity::Entity;

use crate::time::Instant;

/// The longest a due poll waits to be looked at again when the transport could not say when
/// its budget has room (a rate limit changed at run time, a request not started yet).
const RECHECK: Duration = Duration::from_millis(100);

/// Poll times by entity, earliest first, and the budget's gate.
#[derive(Debug, Default)]
pub(crate) struct PollSchedule {
    at: BTreeSet<(Instant, Entity)>,
    /// Due polls found no room in the budget: nothing to look at before then.
    gate: Option<Instant>,
}

impl PollSchedule {
    /// Schedules `entity`'s poll at `at`.
    pub(crate) fn insert(&mut self, at: Instant, entity: Entity) {
        self.at.insert((at, entity));
    }

    /// Unschedules the poll `insert(at, entity)` made.
    pub(crate) fn remove(&mut self, at: Instant, entity: Entity) {
        self.at.remove(&(at, entity));
    }

    /// Polls scheduled (stale ones included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether a poll is due at `now` and the budget may have room for it.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.gate.is_none_or(|gate| gate <= now)
            && self.at.first().is_some_and(|&(at, _)| at <= now)
    }

    /// Takes up to `room` polls due at `now`, earliest first. When due polls are left behind
    /// (no room), nothing is due before `next_room` (`None`: not before an answer frees a
    /// slot, [`PollSchedule::room_freed`]), and at the latest [`RECHECK`] from now.
    pub(crate) fn take_due(
        &mut self,
        now: Instant,
        room: usize,
        next_room: impl FnOnce() -> Option<Instant>,
    ) -> Vec<(Instant, Entity)> {
        self.gate = None;
        let mut due = Vec::new();
        while let Some(&(at, entity)) = self.at.first() {
            if at > now {
                break;
            }
            if due.len() == room {
                let recheck = crate::time::after(now, Some(RECHECK));
                self.gate = Some(next_room().map_or(recheck, |at| at.clamp(now, recheck)));
                break;
            }
            self.at.pop_first();
            due.push((at, entity));
        }
        due
    }

    /// An answer freed a slot: due polls may find room now.
    pub(crate) fn room_freed(&mut self) {
        self.gate = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(i: u32) -> Entity {
        Entity::from_raw_u32(i).expect("a valid index")
    }

    #[test]
    fn due_polls_are_taken_earliest_first_within_the_room() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut schedule = PollSchedule::default();
        assert!(!schedule.is_due(at(1000)), "nothing scheduled");
        for i in 0..5 {
            schedule.insert(at(u64::from(i) * 10 + 10), entity(i));
        }
        assert!(!schedule.is_due(at(9)));
        schedule.remove(at(50), entity(4));
        let taken = schedule.take_due(at(35), 2, || None);
        assert_eq!(taken, vec![(at(10), entity(0)), (at(20), entity(1))]);
        assert_eq!(schedule.len(), 2);
    }

    /// Due polls left behind for want of budget are not looked at again before the budget has
    /// room, nor later than `RECHECK`; an answer opens the gate at once.
    #[test]
    fn polls_waiting_for_the_budget_are_not_looked_at_every_frame() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut schedule = PollSchedule::default();
        for i in 0..3 {
            schedule.insert(at(0), entity(i));
        }
        assert!(schedule.is_due(at(0)));
        assert_eq!(schedule.take_due(at(0), 1, || Some(at(40))).len(), 1);
        assert!(!schedule.is_due(at(39)), "no room before 40 ms");
        assert!(schedule.is_due(at(40)));
        assert_eq!(schedule.take_due(at(40), 0, || None).len(), 0);
        assert!(!schedule.is_due(at(139)));
        assert!(schedule.is_due(at(140)), "looked at again after RECHECK");
        assert_eq!(schedule.take_due(at(140), 0, || Some(at(10_000))).len(), 0);
        assert!(!schedule.is_due(at(200)));
        assert!(schedule.is_due(at(240)), "never later than RECHECK");
        assert_eq!(schedule.take_due(at(240), 0, || None).len(), 0);
        schedule.room_freed();
        assert!(schedule.is_due(at(241)), "an answer freed a slot");
        assert_eq!(schedule.take_due(at(241), 5, || None).len(), 2);
        assert!(!schedule.is_due(at(10_000)), "nothing left");
    }
}
