//! Bulk status reads: the deployments the view is asked about are read through Edgegap's list
//! (`GET /v1/deployments`, 100 a page), not one status read each.
//!
//! A reader that needs a deployment's status newer than some instant *demands* it here
//! ([`Sweeper::demand`]). One task per gateway ([`run`]) reads the pages that hold what is
//! demanded, inside the list budget (10/s for the whole organisation, shared by replicas
//! through the store like the status budget): urgent demands (a webhook's confirmation) at
//! once, the others gathered for a short while (`interval / 4`, at most 250 ms) so that one page
//! read answers many. Each page read is shared through the store like a status read (a record
//! under the key `list:<order>:<page>`, a read lock per page): a page one replica read answers
//! the demands of every replica, and wakes their held requests.
//!
//! Where a deployment is: the page it was last seen on (its entry keeps it), else the page
//! where new deployments were last found (`newest`). The list is asked newest first
//! (`order_by created_at desc`, which only third parties document), so the deployments not
//! READY yet, the ones asked about most, are on page 1. Nothing depends on that order: a
//! deployment not on its page is looked for on the next one, the previous one and the newest
//! one, and one on none of them is what the list cannot say. When page 1 does not hold this
//! gateway's newest deployment although it is full, or Edgegap refuses the query (400), the
//! order is dropped for 10 minutes: pages are then read in Edgegap's own order, and `newest`
//! follows wherever new deployments show up.
//!
//! Only active deployments are listed, so the list cannot say that one ended, nor that one
//! failed: a deployment gone from where it was looked for, listed not READY after READY, or not
//! READY for longer than `[status] not_ready_read_secs` since its status was read, gets one
//! status read (`view.rs`), as does a webhook the list shows no change for.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bevy_edgegap::api::{HttpResponse, ListDeployments, SortOrder, Status};
use serde_json::{Map, Value};
use tokio::sync::{Notify, oneshot};

/// Deployments asked per page.
pub(crate) const PAGE_SIZE: u32 = 100;
/// Page reads under way at once, per gateway.
const MAX_IN_FLIGHT: usize = 4;
/// How long the list is read in Edgegap's own order after the newest-first order failed.
const ORDER_RETRY: Duration = Duration::from_secs(600);
/// This gateway's deploys kept for the order check, and how recent one must be to be checked
/// (far fewer than a page of deploys happen meanwhile).
const DEPLOYS_KEPT: usize = 64;
const DEPLOY_RECENT: Duration = Duration::from_secs(1);
/// How long a deploy is new: the page listing it is where new deployments are.
const NEW_FOR: Duration = Duration::from_secs(10);
/// The longest a non-urgent demand is gathered with others before its page is read.
const MAX_BATCH: Duration = Duration::from_millis(250);
/// Page reads made for one demand at most; then the list cannot say. (Each read answers a
/// demand or sends it to its next page, so this is only a guard.)
const MAX_READS: u8 = 8;

/// How the list is asked: newest first, or in Edgegap's own order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Order {
    /// `order_by: created_at desc`.
    Newest,
    /// No query: Edgegap's order.
    Default,
}

impl Order {
    /// The store key of `page` read in this order (never a deployment id: `:` is not allowed
    /// in one).
    pub(crate) fn key(self, page: u32) -> String {
        let order = match self {
            Self::Newest => "new",
            Self::Default => "any",
        };
        format!("list:{order}:{page}")
    }

    /// The order and page of a store key made by [`Order::key`].
    pub(crate) fn parse(key: &str) -> Option<(Self, u32)> {
        let rest = key.strip_prefix("list:")?;
        let (order, page) = rest.split_once(':')?;
        let order = match order {
            "new" => Self::Newest,
            "any" => Self::Default,
            _ => return None,
        };
        Some((order, page.parse().ok().filter(|p| *p >= 1)?))
    }

    pub(super) fn request(self, page: u32) -> ListDeployments {
        let list = ListDeployments::new().page(page).limit(PAGE_SIZE);
        match self {
            Self::Newest => list.order_by("created_at", SortOrder::Desc),
            Self::Default => list,
        }
    }
}

/// What a demand learned ([`Sweeper::demand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observed {
    /// A page read late enough listed it: its entry holds the status from it.
    Listed,
    /// The list cannot say (not found where it was looked for, or a status it cannot tell):
    /// read the status.
    CannotSay,
    /// No page could be read: read the status.
    Unavailable,
}

/// A status wanted from the list.
struct Demand {
    /// A page read sent at or after this that lists it answers it.
    after: Instant,
    /// When it was asked: only a page read sent after this, which does not list it, sends it
    /// to look elsewhere (an earlier one may predate the deployment).
    arrived: Instant,
    urgent: bool,
    /// A confirmation's status before: only another status answers it.
    since: Option<Status>,
    /// The pages it may be on, the next to read first (numbered in `order`).
    candidates: VecDeque<u32>,
    order: Order,
    /// The page being read for it now.
    reading: Option<u32>,
    /// Page reads made for it so far (bounded: [`MAX_READS`]).
    reads: u8,
    reply: oneshot::Sender<Observed>,
}

/// The pages, as this gateway last saw them.
struct Inner {
    demands: HashMap<String, Demand>,
    /// Newest first until this (`None`: always); Edgegap's order before.
    default_until: Option<Instant>,
    /// The page count of the last page read, per order.
    pages: HashMap<Order, u32>,
    /// Where new deployments were last found, per order.
    newest: HashMap<Order, u32>,
    /// Page keys being read now.
    in_flight: HashSet<String>,
    /// The latest read of each page, for the deployments asked about after it came.
    recent: HashMap<String, Arc<Page>>,
    /// This gateway's recent deploys, newest last.
    deploys: VecDeque<(String, Instant)>,
    /// No read before this (the budget refused one).
    paused_until: Option<Instant>,
}

/// The next thing the sweeping task does ([`Sweeper::plan`]).
#[derive(Debug, PartialEq)]
pub(crate) enum Plan {
    /// Read `page` in `order`, sent at or after `after`.
    Read {
        order: Order,
        page: u32,
        after: Instant,
    },
    /// Nothing due: look again at this instant (`None`: when woken).
    Wait(Option<Instant>),
}

/// The bulk reader of one gateway (see the module docs).
pub(crate) struct Sweeper {
    inner: Mutex<Inner>,
    pub(super) wake: Notify,
    /// How long a non-urgent demand is gathered with others.
    batch: Duration,
    /// How long a status on the way to READY is kept from the list without a status read.
    stale_after: Duration,
}

/// One page of the list, as read.
pub(crate) struct Page {
    pub(super) order: Order,
    pub(super) page: u32,
    /// When the read was sent.
    pub(super) at: Instant,
    /// Its items, by deployment id.
    pub(super) items: HashMap<String, Map<String, Value>>,
    /// The page count, if the answer says.
    pages: Option<u32>,
    /// Whether the page is full (more may follow).
    full: bool,
}

impl Page {
    /// The page of the list in `response`, read in `order` at `at`; `None` when it is not a
    /// list.
    pub(super) fn parse(
        order: Order,
        page: u32,
        at: Instant,
        response: &HttpResponse,
    ) -> Option<Self> {
        let answer = serde_json::from_slice::<Map<String, Value>>(&response.body).ok()?;
        let data = answer.get("data")?.as_array()?;
        let full = data.len() >= PAGE_SIZE as usize;
        let items = data
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|item| {
                let id = item.get("request_id")?.as_str()?;
                Some((id.to_owned(), item.clone()))
            })
            .collect();
        Some(Self {
            order,
            page,
            at,
            items,
            pages: page_count(&answer),
            full,
        })
    }
}

impl Sweeper {
    /// `interval`: the view's; `stale_after`: `[status] not_ready_read_secs`.
    pub(crate) fn new(interval: Duration, stale_after: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner {
                demands: HashMap::new(),
                default_until: None,
                pages: HashMap::new(),
                newest: HashMap::new(),
                in_flight: HashSet::new(),
                recent: HashMap::new(),
                deploys: VecDeque::new(),
                paused_until: None,
            }),
            wake: Notify::new(),
            batch: (interval / 4).clamp(Duration::from_millis(10), MAX_BATCH),
            stale_after,
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long a status on the way to READY is kept from the list without a status read.
    pub(crate) fn stale_after(&self) -> Duration {
        self.stale_after
    }

    /// The order pages are asked in now.
    fn order(inner: &Inner, now: Instant) -> Order {
        match inner.default_until {
            Some(until) if now < until => Order::Default,
            _ => Order::Newest,
        }
    }

    /// This gateway deployed `id` now (for the order check).
    pub(crate) fn deployed(&self, id: &str) {
        let mut inner = self.inner();
        inner.deploys.push_back((id.to_owned(), Instant::now()));
        while inner.deploys.len() > DEPLOYS_KEPT {
            inner.deploys.pop_front();
        }
    }

    /// The latest page read at or after `after` that lists `id`, in the order used now.
    pub(super) fn recent_listing(&self, id: &str, after: Instant) -> Option<Arc<Page>> {
        let inner = self.inner();
        let order = Self::order(&inner, Instant::now());
        inner
            .recent
            .values()
            .filter(|page| page.order == order && page.at >= after && page.items.contains_key(id))
            .max_by_key(|page| page.at)
            .cloned()
    }

    /// Asks for the status of `id` from a page read sent at or after `after`; `hint`: the
    /// page it was last seen on. `urgent`: read its page as soon as the budget allows (else
    /// with others, within the batch time). `since`: a confirmation's status before, which
    /// does not answer it. The receiver gets what was learned.
    pub(crate) fn demand(
        &self,
        id: &str,
        after: Instant,
        hint: Option<(Order, u32)>,
        urgent: bool,
        since: Option<Status>,
    ) -> oneshot::Receiver<Observed> {
        let (reply, observed) = oneshot::channel();
        let now = Instant::now();
        let mut inner = self.inner();
        let order = Self::order(&inner, now);
        let candidates = inner.candidates(order, hint.filter(|(o, _)| *o == order).map(|(_, p)| p));
        // One demand per deployment (its entry's fetch lock): a leftover one is answered
        // by the new one's read as well, so it is replaced.
        inner.demands.insert(
            id.to_owned(),
            Demand {
                after,
                arrived: now,
                urgent,
                since,
                candidates,
                order,
                reading: None,
                reads: 0,
                reply,
            },
        );
        drop(inner);
        self.wake.notify_one();
        observed
    }

    /// Forgets the demand of `id` (its reader gave up).
    pub(crate) fn forget(&self, id: &str) {
        self.inner().demands.remove(id);
    }

    /// What to do at `now`: the page most demands wait for (urgent ones first), or how long
    /// to wait.
    pub(crate) fn plan(&self, now: Instant) -> Plan {
        let mut inner = self.inner();
        if let Some(until) = inner.paused_until {
            if now < until {
                return Plan::Wait(Some(until));
            }
            inner.paused_until = None;
        }
        if inner.in_flight.len() >= MAX_IN_FLIGHT {
            return Plan::Wait(None);
        }
        let order = Self::order(&inner, now);
        let fresh_start = inner.candidates(order, None);
        let mut votes: HashMap<u32, (u32, u32)> = HashMap::new();
        let mut next_due: Option<Instant> = None;
        let Inner {
            demands, in_flight, ..
        } = &mut *inner;
        for demand in demands.values_mut() {
            if demand.order != order && demand.reading.is_none() {
                // Numbered in an order no longer used: where to look again.
                demand.order = order;
                demand.candidates = fresh_start.clone();
            }
            let Some(&page) = demand.candidates.front() else {
                continue;
            };
            if demand.reading.is_some() || in_flight.contains(&order.key(page)) {
                continue;
            }
            let due = if demand.urgent {
                demand.arrived
            } else {
                demand.arrived + self.batch
            };
            if due > now {
                next_due = Some(next_due.map_or(due, |d| d.min(due)));
                continue;
            }
            let vote = votes.entry(page).or_default();
            vote.0 += u32::from(demand.urgent);
            vote.1 += 1;
        }
        let Some(page) = votes
            .iter()
            .max_by_key(|(page, vote)| (**vote, std::cmp::Reverse(**page)))
            .map(|(page, _)| *page)
        else {
            return Plan::Wait(next_due);
        };
        // Sent after every demand it serves arrived: an older read was looked at then.
        let mut after = None::<Instant>;
        for demand in demands.values_mut() {
            if demand.order == order
                && demand.candidates.front() == Some(&page)
                && demand.reading.is_none()
            {
                demand.reading = Some(page);
                demand.reads = demand.reads.saturating_add(1);
                after = Some(after.map_or(demand.arrived, |a| a.max(demand.arrived)));
            }
        }
        in_flight.insert(order.key(page));
        Plan::Read {
            order,
            page,
            after: after.unwrap_or(now),
        }
    }

    /// A read of `page` in `order` ended (`refused`: the budget refused it, retry after that;
    /// `failed`: its demands are given up on): its demands not answered are looked at again.
    pub(super) fn finished(
        &self,
        order: Order,
        page: u32,
        refused: Option<Duration>,
        failed: bool,
    ) {
        let mut inner = self.inner();
        inner.in_flight.remove(&order.key(page));
        if let Some(retry_after) = refused {
            inner.paused_until = Some(Instant::now() + retry_after);
        }
        let mut gave_up = Vec::new();
        for (id, demand) in &mut inner.demands {
            if demand.order == order && demand.reading == Some(page) {
                demand.reading = None;
                if failed {
                    gave_up.push((id.clone(), Observed::Unavailable));
                } else if demand.reads >= MAX_READS {
                    gave_up.push((id.clone(), Observed::CannotSay));
                }
            }
        }
        for (id, observed) in gave_up {
            if let Some(demand) = inner.demands.remove(&id) {
                let _ = demand.reply.send(observed);
            }
        }
        drop(inner);
        self.wake.notify_one();
    }

    /// Edgegap refused the newest-first query: the list is read in its own order for a while.
    pub(super) fn drop_order(&self, why: &str) {
        let mut inner = self.inner();
        if inner
            .default_until
            .is_none_or(|until| until <= Instant::now())
        {
            tracing::warn!(
                "Edgegap's deployment list {why}: reading it in Edgegap's own order for {} min",
                ORDER_RETRY.as_secs() / 60
            );
        }
        inner.default_until = Some(Instant::now() + ORDER_RETRY);
    }

    /// Answers and moves on the demands `page` concerns, `said` being what it says of the
    /// deployments this gateway has entries for (`None`: the list cannot say); learns the
    /// page count and where new deployments are, and keeps the page for later demands.
    /// Returns whether the newest-first order failed its check.
    pub(super) fn settle(&self, page: &Arc<Page>, said: &HashMap<String, Option<Status>>) -> bool {
        let mut inner = self.inner();
        if let Some(pages) = page.pages {
            inner.pages.insert(page.order, pages.max(1));
        } else if page.full {
            let known = inner.pages.get(&page.order).copied().unwrap_or(1);
            inner.pages.insert(page.order, known.max(page.page + 1));
        }
        let key = page.order.key(page.page);
        if inner.recent.get(&key).is_none_or(|kept| kept.at <= page.at) {
            inner.recent.insert(key, Arc::clone(page));
        }
        let mut answered = Vec::new();
        for (id, demand) in &mut inner.demands {
            if demand.order != page.order || page.at < demand.after {
                continue;
            }
            if page.items.contains_key(id) {
                let observed = match (said.get(id), &demand.since) {
                    (Some(Some(status)), Some(since)) if status == since => Observed::CannotSay,
                    (Some(Some(_)), _) => Observed::Listed,
                    _ => Observed::CannotSay,
                };
                answered.push((id.clone(), observed));
            } else if page.at >= demand.arrived && demand.candidates.front() == Some(&page.page) {
                demand.candidates.pop_front();
                demand.reading = None;
                if demand.candidates.is_empty() {
                    answered.push((id.clone(), Observed::CannotSay));
                }
            }
        }
        for (id, observed) in answered {
            if let Some(demand) = inner.demands.remove(&id) {
                let _ = demand.reply.send(observed);
            }
        }
        // Where new deployments are: where this gateway's recent deploys are listed.
        let recent_deploy_here = inner.deploys.iter().any(|(id, at)| {
            *at <= page.at && page.at.duration_since(*at) < NEW_FOR && page.items.contains_key(id)
        });
        if recent_deploy_here {
            inner.newest.insert(page.order, page.page);
        }
        // The order check: this gateway's newest deploy, made just before the read, is on a
        // full page 1 when the list really comes newest first.
        let unordered = page.order == Order::Newest
            && page.page == 1
            && page.full
            && inner
                .deploys
                .iter()
                .rev()
                .find(|(_, at)| *at <= page.at)
                .filter(|(_, at)| page.at.duration_since(*at) < DEPLOY_RECENT)
                .is_some_and(|(id, _)| !page.items.contains_key(id));
        drop(inner);
        self.wake.notify_one();
        unordered
    }
}

impl Inner {
    /// Where to look for a deployment in `order`, last seen on page `hint` (none: not seen
    /// yet): see [`candidates`].
    fn candidates(&self, order: Order, hint: Option<u32>) -> VecDeque<u32> {
        let pages = self.pages.get(&order).copied().unwrap_or(1);
        let newest = match (self.newest.get(&order), order) {
            (Some(&newest), _) => newest,
            (None, Order::Newest) => 1,
            // Edgegap's own order, nothing learned yet: new deployments last, most likely.
            (None, Order::Default) => pages,
        };
        let ends = match order {
            Order::Newest => None,
            Order::Default => Some((1, pages)),
        };
        candidates(hint, newest, pages, ends)
    }
}

/// Where to look for a deployment last seen on page `hint` (none: not seen yet), `newest`
/// being where new deployments were last found and `pages` the page count: its page, the next
/// one (newer deployments push it there), the previous one (older ones ended), then where new
/// ones are; one not seen yet, in an order nothing is known of, also at both `ends`.
fn candidates(
    hint: Option<u32>,
    newest: u32,
    pages: u32,
    ends: Option<(u32, u32)>,
) -> VecDeque<u32> {
    let base = hint.unwrap_or(newest).max(1);
    let ends = ends.filter(|_| hint.is_none());
    let mut pages_to_try = VecDeque::new();
    let all = [
        Some(base),
        Some(base + 1),
        base.checked_sub(1),
        Some(newest),
    ]
    .into_iter()
    .chain([ends.map(|e| e.0), ends.map(|e| e.1)]);
    for page in all.flatten() {
        if page >= 1 && page <= pages.max(base) + 1 && !pages_to_try.contains(&page) {
            pages_to_try.push_back(page);
        }
    }
    pages_to_try
}

/// The page count a list answer gives: `paginator.num_pages`, else from `total_count`.
fn page_count(answer: &Map<String, Value>) -> Option<u32> {
    let pagination = answer.get("pagination").and_then(Value::as_object);
    let num_pages = pagination
        .and_then(|p| p.get("paginator"))
        .and_then(|p| p.get("num_pages"))
        .and_then(Value::as_u64);
    let from_total = answer
        .get("total_count")
        .and_then(Value::as_u64)
        .map(|total| total.div_ceil(u64::from(PAGE_SIZE)).max(1));
    num_pages.or(from_total).and_then(|n| u32::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_keys_are_never_deployment_ids_and_parse_back() {
        for order in [Order::Newest, Order::Default] {
            let key = order.key(7);
            assert!(key.contains(':'));
            assert_eq!(Order::parse(&key), Some((order, 7)));
        }
        for key in ["list:new:0", "list:x:1", "snap:1", "list:new:", "abc123"] {
            assert_eq!(Order::parse(key), None, "{key}");
        }
    }

    #[test]
    fn a_deployment_is_looked_for_on_its_page_the_next_the_previous_and_the_newest() {
        let pages = |c: VecDeque<u32>| c.into_iter().collect::<Vec<_>>();
        assert_eq!(pages(candidates(Some(5), 1, 9, None)), [5, 6, 4, 1]);
        assert_eq!(pages(candidates(None, 1, 9, None)), [1, 2]);
        // Edgegap's own order, new ones last: from the last page, then the first.
        assert_eq!(pages(candidates(None, 9, 9, Some((1, 9)))), [9, 10, 8, 1]);
        assert_eq!(pages(candidates(Some(4), 9, 9, Some((1, 9)))), [4, 5, 3, 9]);
        // Never past one page beyond the last known.
        assert_eq!(pages(candidates(Some(3), 1, 1, None)), [3, 4, 2, 1]);
    }

    /// A page listing `ids`, each READY, read at `at`.
    fn listing(
        number: u32,
        ids: &[&str],
        full: bool,
        at: Instant,
    ) -> (Arc<Page>, HashMap<String, Option<Status>>) {
        let page = Page {
            order: Order::Newest,
            page: number,
            at,
            items: ids
                .iter()
                .map(|id| ((*id).to_owned(), Map::new()))
                .collect(),
            pages: Some(3),
            full,
        };
        let said = ids
            .iter()
            .map(|id| ((*id).to_owned(), Some(Status::Ready)))
            .collect();
        (Arc::new(page), said)
    }

    fn settle(
        sweeper: &Sweeper,
        (page, said): (Arc<Page>, HashMap<String, Option<Status>>),
    ) -> bool {
        sweeper.settle(&page, &said)
    }

    #[test]
    fn demands_are_answered_by_a_later_read_and_walk_their_pages_otherwise() {
        let sweeper = Sweeper::new(Duration::from_secs(1), Duration::from_secs(30));
        let t0 = Instant::now();
        let mut here = sweeper.demand("here", t0, Some((Order::Newest, 2)), true, None);
        let mut gone = sweeper.demand("gone", t0, Some((Order::Newest, 2)), true, None);
        let mut same = sweeper.demand(
            "same",
            t0,
            Some((Order::Newest, 2)),
            true,
            Some(Status::Ready),
        );
        let Plan::Read { order, page, after } = sweeper.plan(Instant::now()) else {
            panic!("urgent demands are read at once");
        };
        assert_eq!((order, page), (Order::Newest, 2));
        assert!(after >= t0);
        // A page read before the demands answers none of them, nor sends them elsewhere.
        let before = t0.checked_sub(Duration::from_millis(1)).unwrap_or(t0);
        assert!(!settle(
            &sweeper,
            listing(2, &["here", "same"], false, before)
        ));
        assert!(!settle(&sweeper, listing(2, &[], false, before)));
        assert!(here.try_recv().is_err() && gone.try_recv().is_err());
        let later = Instant::now();
        settle(&sweeper, listing(2, &["here", "same"], false, later));
        sweeper.finished(Order::Newest, 2, None, false);
        assert_eq!(here.try_recv(), Ok(Observed::Listed));
        // A confirmation the page shows no change for: the list cannot say.
        assert_eq!(same.try_recv(), Ok(Observed::CannotSay));
        // Not on its page: the next one, then the previous one, then the newest; then the
        // list cannot say.
        for page in [3, 1] {
            assert!(matches!(
                sweeper.plan(Instant::now()),
                Plan::Read { order: Order::Newest, page: p, after } if p == page && after >= t0
            ));
            assert!(gone.try_recv().is_err());
            settle(&sweeper, listing(page, &[], false, Instant::now()));
            sweeper.finished(Order::Newest, page, None, false);
        }
        assert_eq!(gone.try_recv(), Ok(Observed::CannotSay));
        assert_eq!(sweeper.plan(Instant::now()), Plan::Wait(None));
    }

    #[test]
    fn demands_that_can_wait_are_gathered_and_a_failed_read_gives_up_on_them() {
        let sweeper = Sweeper::new(Duration::from_secs(1), Duration::from_secs(30));
        let t0 = Instant::now();
        let mut first = sweeper.demand("a", t0, None, false, None);
        let _second = sweeper.demand("b", t0, None, false, None);
        let Plan::Wait(Some(due)) = sweeper.plan(Instant::now()) else {
            panic!("gathered, not read at once");
        };
        assert!(due > t0 && due <= t0 + MAX_BATCH + Duration::from_millis(10));
        let Plan::Read { page, .. } = sweeper.plan(due) else {
            panic!("due");
        };
        assert_eq!(page, 1);
        // Both are being read: nothing else to do.
        assert_eq!(sweeper.plan(due), Plan::Wait(None));
        sweeper.finished(Order::Newest, 1, None, true);
        assert_eq!(first.try_recv(), Ok(Observed::Unavailable));
        // A refusal keeps them and pauses the reads.
        let mut third = sweeper.demand("c", t0, None, true, None);
        let Plan::Read { page, .. } = sweeper.plan(Instant::now()) else {
            panic!("urgent");
        };
        sweeper.finished(Order::Newest, page, Some(Duration::from_secs(60)), false);
        assert!(matches!(sweeper.plan(Instant::now()), Plan::Wait(Some(_))));
        assert!(third.try_recv().is_err());
    }

    #[test]
    fn a_full_first_page_without_this_gateways_newest_deploy_fails_the_order_check() {
        let sweeper = Sweeper::new(Duration::from_secs(1), Duration::from_secs(30));
        sweeper.deployed("mine");
        let now = Instant::now();
        assert!(!settle(&sweeper, listing(1, &["mine", "x"], true, now)));
        // Not full: everything is on it, whatever the order.
        assert!(!settle(&sweeper, listing(1, &["x"], false, now)));
        assert!(settle(&sweeper, listing(1, &["x"], true, now)));
        // Another page says nothing about the order.
        assert!(!settle(&sweeper, listing(2, &["x"], true, now)));
        sweeper.drop_order("test");
        // Kept for later demands: a deployment asked about now is found on it.
        let _ = sweeper.recent_listing("x", now);
        let _demand = sweeper.demand("d", now, Some((Order::Newest, 4)), true, None);
        assert!(matches!(
            sweeper.plan(Instant::now()),
            Plan::Read {
                order: Order::Default,
                ..
            }
        ));
    }
}
