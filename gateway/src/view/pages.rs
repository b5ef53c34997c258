//! Bulk status reads, the part that touches the view: reading a page of the list (or taking
//! another gateway's record of it), applying it to the view's entries, and the sweeping task
//! that reads the pages the [`Sweeper`] plans (the design is in `sweep.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy_edgegap::api::{HttpResponse, Status};
use serde_json::{Map, Value};

use super::listed::{FromList, Known, from_item};
use super::sweep::{Observed, Order, Page, Plan, Sweeper};
use super::{Entry, Snapshot, StatusView};
use crate::error::UpstreamError;
use crate::store::{ReadClaim, StatusRecord};
use crate::upstream::Upstream;

/// While another gateway reads a page, how often the store is asked again.
const BUSY_POLL: Duration = Duration::from_millis(50);

impl StatusView {
    /// Applies a page of the list read at `at` (this gateway's read, or another's record):
    /// every entry it lists gets the status it says (held requests are woken when that
    /// changes), the demands it answers are answered. Returns the records to share: the
    /// READY statuses the page told this view first (`None`: it is not a page of the list).
    /// Applying one page twice changes nothing.
    pub(crate) fn apply_page(
        &self,
        key: &str,
        at: Instant,
        at_us: u64,
        response: &HttpResponse,
    ) -> Option<Vec<(String, StatusRecord)>> {
        let sweeper = self.sweeper.as_ref()?;
        let (order, number) = Order::parse(key)?;
        let Some(page) = Page::parse(order, number, at, response).map(Arc::new) else {
            tracing::debug!("an unreadable page of the deployment list: ignored");
            return None;
        };
        let mut said = HashMap::new();
        let mut shared = Vec::new();
        for (id, item) in &page.items {
            let Some(entry) = self.existing(id) else {
                continue;
            };
            let (status, record) = self.apply_item(sweeper, id, &entry, &page, item, at_us);
            said.insert(id.clone(), status);
            shared.extend(record);
        }
        if sweeper.settle(&page, &said) {
            sweeper.drop_order("does not come newest first (`order_by` not honoured)");
        }
        Some(shared)
    }

    /// Gives `entry` the status `item` of `page` says; returns that status (`None`: the list
    /// cannot say) and the record to share when it is a READY the view did not know.
    fn apply_item(
        &self,
        sweeper: &Sweeper,
        id: &str,
        entry: &Entry,
        page: &Page,
        item: &Map<String, Value>,
        at_us: u64,
    ) -> (Option<Status>, Option<(String, StatusRecord)>) {
        entry.set_page(page.order, page.page);
        let latest = entry.latest.borrow().clone();
        let known = latest.as_ref().and_then(|s| match &s.result {
            Ok((status, raw)) => Some(Known {
                status,
                body: &raw.body,
                known_since: s.known_since,
            }),
            Err(_) => None,
        });
        let Some(FromList {
            status,
            response,
            known_since,
        }) = from_item(item, page.at, known, sweeper.stale_after())
        else {
            return (None, None);
        };
        let current = status.current_status.clone();
        let exact = current.is_ready();
        let changed = latest
            .as_ref()
            .and_then(|s| s.status())
            .is_none_or(|old| *old != current);
        let record = (exact && changed).then(|| {
            (
                id.to_owned(),
                StatusRecord {
                    read_at_us: at_us,
                    response: response.clone(),
                },
            )
        });
        let snapshot = Arc::new(Snapshot {
            result: Ok((status, response)),
            at: page.at,
            known_since,
            exact,
        });
        entry.offer_quietly(&snapshot, !changed);
        (Some(current), record)
    }

    /// What the pages read lately say of `id` (a deployment first asked about here after they
    /// came): `None` when none read at or after `after` lists it.
    pub(crate) fn listed_lately(
        &self,
        id: &str,
        entry: &Entry,
        after: Instant,
        since: Option<&Status>,
    ) -> Option<Observed> {
        let sweeper = self.sweeper.as_ref()?;
        let page = sweeper.recent_listing(id, after)?;
        let item = page.items.get(id)?;
        let at_us = self.clock.floor_us(page.at);
        let (status, record) = self.apply_item(sweeper, id, entry, &page, item, at_us);
        self.share(record.into_iter().collect());
        Some(match (status, since) {
            (Some(status), Some(since)) if status == *since => Observed::CannotSay,
            (Some(_), _) => Observed::Listed,
            (None, _) => Observed::CannotSay,
        })
    }

    /// Reads `page` of the list in `order`, sent at or after `after`, unless a record of it
    /// that recent is in the store (another gateway's read); applies it either way.
    async fn read_page(
        &self,
        upstream: &Upstream,
        order: Order,
        page: u32,
        after: Instant,
    ) -> Result<(), PageError> {
        let key = order.key(page);
        let deadline = Instant::now() + self.lock_for;
        loop {
            let claim = self
                .store
                .claim_read(&key, self.clock.ceil_us(after), self.lock_for)
                .await;
            let locked = match claim {
                Ok(ReadClaim::Fresh(record)) => {
                    let at = self.clock.instant(record.read_at_us).min(Instant::now());
                    let applied = self.apply_page(&key, at, record.read_at_us, &record.response);
                    let shared = applied.ok_or(PageError::Failed)?;
                    self.share(shared);
                    return Ok(());
                }
                Ok(ReadClaim::Busy) if Instant::now() < deadline => {
                    tokio::time::sleep(BUSY_POLL).await;
                    continue;
                }
                Ok(ReadClaim::Busy) => return Err(PageError::Failed),
                Ok(ReadClaim::Read) => true,
                Err(error) => {
                    tracing::debug!("{error}; reading `{key}` without the shared view");
                    false
                }
            };
            let read = upstream.call_stamped(&order.request(page)).await;
            let (response, sent) = match read {
                Ok(answer) => answer,
                Err(error) => {
                    if locked {
                        self.release(&key).await;
                    }
                    return Err(match error {
                        UpstreamError::Budget { retry_after } => PageError::Refused(retry_after),
                        _ => PageError::Failed,
                    });
                }
            };
            if response.status != 200 {
                if locked {
                    self.release(&key).await;
                }
                return Err(if response.status == 400 && order == Order::Newest {
                    PageError::QueryRefused
                } else {
                    PageError::Failed
                });
            }
            let read_at_us = self.clock.floor_us(sent);
            let at = self.clock.instant(read_at_us);
            let Some(shared) = self.apply_page(&key, at, read_at_us, &response) else {
                if locked {
                    self.release(&key).await;
                }
                return Err(PageError::Failed);
            };
            self.share(shared);
            let record = StatusRecord {
                read_at_us,
                response,
            };
            if let Err(error) = self
                .store
                .put_record(&key, record, super::IDLE_EXPIRY)
                .await
            {
                tracing::debug!("sharing `{key}`: {error}");
                if locked {
                    self.release(&key).await;
                }
            }
            return Ok(());
        }
    }

    async fn release(&self, key: &str) {
        if let Err(error) = self.store.release_read(key).await {
            tracing::debug!("releasing the read lock of `{key}`: {error}");
        }
    }

    /// Puts the statuses a page told this view first into the store, for the other gateways
    /// and later readers (in the background).
    pub(crate) fn share(&self, records: Vec<(String, StatusRecord)>) {
        if records.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = Arc::clone(&self.store);
        runtime.spawn(async move {
            for (id, record) in records {
                if let Err(error) = store.put_record(&id, record, super::RECORD_KEEP).await {
                    tracing::debug!("sharing the status of `{id}`: {error}");
                }
            }
        });
    }
}

/// Why a page was not read.
enum PageError {
    /// The budget refused it: try again after this.
    Refused(Duration),
    /// Edgegap refused the newest-first query.
    QueryRefused,
    /// No answer, or not a list.
    Failed,
}

/// The sweeping task of a gateway: reads the pages its demands wait for, until `stopping`.
pub(crate) async fn run(
    view: Arc<StatusView>,
    upstream: Arc<Upstream>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let Some(sweeper) = view.sweeper.clone() else {
        return;
    };
    loop {
        if *stopping.borrow() {
            return;
        }
        match sweeper.plan(Instant::now()) {
            Plan::Read { order, page, after } => {
                let (view, upstream, sweeper) = (
                    Arc::clone(&view),
                    Arc::clone(&upstream),
                    Arc::clone(&sweeper),
                );
                tokio::spawn(async move {
                    let read = view.read_page(&upstream, order, page, after).await;
                    match read {
                        Ok(()) => sweeper.finished(order, page, None, false),
                        Err(PageError::Refused(retry_after)) => {
                            sweeper.finished(order, page, Some(retry_after), false);
                        }
                        Err(PageError::QueryRefused) => {
                            sweeper.drop_order("refuses `order_by` (400)");
                            sweeper.finished(order, page, None, false);
                        }
                        Err(PageError::Failed) => sweeper.finished(order, page, None, true),
                    }
                });
            }
            Plan::Wait(until) => {
                let sleep = async {
                    match until {
                        Some(until) => tokio::time::sleep_until(until.into()).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = sleep => {}
                    () = sweeper.wake.notified() => {}
                    _ = stopping.changed() => {}
                }
            }
        }
    }
}
