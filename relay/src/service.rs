/*!
The relay's behaviour independent of transport: apply an event to a link (read, [`step`], open the content it will
serve, compare-and-set, erase content), create links from finished uploads, sweep expired ones, notify watchers, and
rate-limit per address.

The QUIC and HTTPS front ends both call [`Relay`]; neither touches the store or the state machine directly.
*/

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use burnlink_core::keys::{AnswerProof, ClaimKey, HolderProof, LeaseToken, ManageToken};
use burnlink_core::link::LinkId;
use burnlink_core::proto::{AnswerTo, AskRequest, CreateRequest, ErrorCode, Response, StatusReport};
use burnlink_core::state::{span, step, Claimer, CreateError, Event, Outcome, Record, State, StateKind, Timestamp};
use tokio::sync::broadcast;

use crate::limits::{Buckets, ConnSlot, Conns, Group, Space};
use crate::metrics::Metrics;
use crate::request::bad_request;
use crate::store::{is_upload_ended, BlobStream, Pages, Revoked, Store, StoreError, Upload};
use crate::Config;

/// The relay's clock: system time plus an offset that tests can advance.
#[derive(Default, Debug)]
pub struct Clock {
    offset_ms: AtomicU64,
}

impl Clock {
    /// Now.
    pub fn now(&self) -> Timestamp {
        let sys = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Timestamp(sys + self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (tests: expiry and lease ends without waiting).
    pub fn advance(&self, d: Duration) {
        self.offset_ms.fetch_add(d.as_millis() as u64, Ordering::Relaxed);
    }

    /// Sets the offset from system time (black-box tests, through the relay's hidden `--clock-offset-file`).
    pub fn set_offset(&self, d: Duration) {
        self.offset_ms.store(d.as_millis() as u64, Ordering::Relaxed);
    }
}

/// An event with owned tokens, so it can be rebuilt on every retry of a compare-and-set.
#[derive(Debug)]
pub enum Action {
    /// See [`Event::Peek`].
    Peek,
    /// See [`Event::Claim`].
    Claim(HolderProof, ClaimKey, Claimer),
    /// See [`Event::ClaimPlain`].
    ClaimPlain(HolderProof, ClaimKey, Claimer),
    /// See [`Event::Resume`].
    Resume(LeaseToken, u64),
    /// See [`Event::Extend`].
    Extend(LeaseToken, u64),
    /// See [`Event::Ack`].
    Ack(LeaseToken),
    /// See [`Event::Status`].
    Status(ManageToken),
    /// See [`Event::Revoke`].
    Revoke(ManageToken),
    /// See [`Event::Tick`].
    Tick,
    /// See [`Event::Uploaded`].
    Uploaded(u64),
    /// See [`Event::UploadFailed`].
    UploadFailed,
    /// See [`Event::Answer`]: the answer's id.
    Answer(AnswerProof, LinkId),
    /// See [`Event::Answers`].
    Answers(HolderProof),
}

/// The relay: storage, configuration, clock, watchers.
pub struct Relay {
    store: Arc<dyn Store>,
    /// Configuration.
    pub config: Config,
    /// The clock.
    pub clock: Clock,
    changes: broadcast::Sender<LinkId>,
    /// Peek, claim and resume budgets per address group.
    pub(crate) reads: Buckets<Group>,
    /// Create budgets per address group.
    pub(crate) creates: Buckets<Group>,
    /// Uploaded-bytes budgets per address group.
    pub(crate) bytes: Buckets<Group>,
    conns: Arc<Conns>,
    /// Stored and incoming bytes, against the cap and the disk's reserve.
    pub space: Space,
    /// Page fetches counted since the last [`Relay::flush_previews`], per link.
    previews: std::sync::Mutex<HashMap<LinkId, u32>>,
    /// Held by a flush while its batch is on the way to the store, and by a count, so a count never misses a batch
    /// that has left memory but not yet reached the store.
    flushing: tokio::sync::Mutex<()>,
    /// What operators see (`--metrics`).
    pub metrics: Metrics,
}

/// A failed relay operation; the front end answers `Error { Internal }` and nothing changed that was acknowledged.
pub type RelayResult<T> = Result<T, StoreError>;

/// What [`Relay::apply`] did: the state machine's outcome and, when it says to serve content, the content.
pub struct Applied {
    /// The outcome (reply, new record, ...).
    pub outcome: Outcome,
    /// The content from the outcome's `serve_from`, opened before the state changed.
    pub body: Option<BlobStream>,
}

/// How often this relay's preview counts are added to the store's.
pub const PREVIEW_FLUSH: Duration = Duration::from_secs(1);
/// Links with preview counts waiting for the next flush, at most: fetches of made-up ids cannot grow the map past
/// this (a fetch beyond it goes uncounted).
const MAX_PENDING_PREVIEWS: usize = 10_000;

/// How often a download looks for a revocation made through another relay sharing the store.
const REVOKE_POLL: Duration = Duration::from_secs(1);

/// Records the sweeper reads per step, so a sweep never holds every record in memory at once.
const SWEEP_BATCH: usize = 1000;

impl Relay {
    /// A relay over `store`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Arc<Self> {
        let c = &config;
        let hourly = c.bytes_per_hour as f64;
        Arc::new(Self {
            store,
            reads: Buckets::new(c.rate_per_sec, c.rate_burst.into()),
            creates: Buckets::new(c.create_per_sec, c.create_burst.into()),
            bytes: Buckets::new(hourly / 3600.0, hourly),
            conns: Arc::new(Conns::default()),
            space: Space::default(),
            clock: Clock::default(),
            changes: broadcast::channel(1024).0,
            previews: Default::default(),
            flushing: Default::default(),
            metrics: Metrics::default(),
            config,
        })
    }

    /// The operator's metrics as OpenMetrics text (see [`crate::metrics`]).
    pub fn render_metrics(&self) -> String {
        self.metrics.render(self.space.stored())
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Admits a connection from `ip` unless its group already has the maximum of live ones.
    pub fn admit(&self, ip: IpAddr) -> Option<ConnSlot> {
        self.conns.admit(Group::of(ip), self.config.max_conns_per_ip)
    }

    /// Counts the content already stored (at start-up), for the storage cap.
    pub async fn count_stored(&self) -> RelayResult<u64> {
        if let Some(total) = self.store.shared_stored_bytes().await? {
            self.space.set_stored(total);
            return Ok(total);
        }
        let mut pages = Pages::new(self.store.as_ref(), SWEEP_BATCH);
        let mut total = 0;
        while let Some(batch) = pages.next().await? {
            total += batch
                .iter()
                .filter_map(|(id, r)| r.as_ref().ok().map(|r| (id, r)))
                // Recipients' links that share another's content count with it, once.
                .filter(|(id, r)| r.state.kind().holds_content() && !r.uploading && r.content_id(**id) == **id)
                .map(|(_, r)| r.size)
                .sum::<u64>();
        }
        self.space.add_stored(total);
        Ok(total)
    }

    /// Counts a fetch of `id`'s page for the sender's event log. Memory only; [`Relay::flush_previews`] stores the
    /// counts in batches, so a fetch costs no write and never touches the link's record or state.
    pub fn previewed(&self, id: LinkId) {
        self.metrics.previewed();
        let mut pending = self.previews.lock().expect("not poisoned");
        if pending.len() < MAX_PENDING_PREVIEWS || pending.contains_key(&id) {
            let n = pending.entry(id).or_default();
            *n = n.saturating_add(1);
        }
    }

    /// Adds the preview counts gathered since the last call to the store (ids that hold no link are dropped there).
    pub async fn flush_previews(&self) -> RelayResult<()> {
        let _flushing = self.flushing.lock().await;
        let batch: Vec<_> = std::mem::take(&mut *self.previews.lock().expect("not poisoned")).into_iter().collect();
        if batch.is_empty() {
            return Ok(());
        }
        self.store.add_previews(&batch).await
    }

    /// `id`'s preview count: the store's and this relay's not yet flushed.
    async fn preview_count(&self, id: &LinkId) -> RelayResult<u32> {
        let _flushing = self.flushing.lock().await;
        let pending = self.previews.lock().expect("not poisoned").get(id).copied().unwrap_or(0);
        Ok(self.store.previews(id).await?.saturating_add(pending))
    }

    /// Subscribes to "this link changed" notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<LinkId> {
        self.changes.subscribe()
    }

    /// Applies `action` to `id`: read, decide, open the content to serve (before anything changes, so a claim that
    /// cannot deliver never burns), compare-and-set durably, then erase the content if the new state holds none.
    /// Retries when another request changed the record in between.
    pub async fn apply(self: &Arc<Self>, id: LinkId, action: Action) -> RelayResult<Applied> {
        let mut applied = self.apply_once(id, action).await?;
        if let Response::Status(report) = &mut applied.outcome.reply {
            // Only the sender (who proved the manage token) gets a status: the count is for its event log.
            report.previews = self.preview_count(&id).await?;
        }
        Ok(applied)
    }

    async fn apply_once(self: &Arc<Self>, id: LinkId, action: Action) -> RelayResult<Applied> {
        loop {
            let current = self.store.get(&id).await?;
            let now = self.clock.now();
            let lease_for_claim = LeaseToken::generate(&mut rand::rngs::OsRng);
            let event = match &action {
                Action::Peek => Event::Peek,
                Action::Claim(holder, key, by) => {
                    Event::Claim { holder, key, lease: &lease_for_claim, lease_ttl: self.config.lease, by: *by }
                }
                Action::ClaimPlain(holder, key, by) => {
                    Event::ClaimPlain { holder, key, lease: &lease_for_claim, lease_ttl: self.config.lease, by: *by }
                }
                Action::Resume(lease, offset) => Event::Resume { lease, offset: *offset, lease_ttl: self.config.lease },
                Action::Extend(lease, served) => Event::Extend { lease, served: *served, lease_ttl: self.config.lease },
                Action::Ack(lease) => Event::Ack { lease },
                Action::Status(manage) => Event::Status { manage },
                Action::Revoke(manage) => Event::Revoke { manage },
                Action::Tick => Event::Tick,
                Action::Uploaded(size) => Event::Uploaded { size: *size },
                Action::UploadFailed => Event::UploadFailed,
                Action::Answer(proof, answer) => Event::Answer { proof, answer: *answer },
                Action::Answers(holder) => Event::Answers { holder },
            };
            let mut outcome = step(current.as_ref(), now, event);
            let senders = matches!(
                action,
                Action::Status(_) | Action::Revoke(_) | Action::Tick | Action::Uploaded(_) | Action::UploadFailed
            );
            if !senders && matches!(outcome.reply, Response::Gone) && outcome.next.is_some() {
                // Time alone ended this link (an expiry or a lease end not yet swept). Answer "gone" at once, exactly
                // as for an id that never existed, and make the change in the background: a write and a sync before
                // the answer would tell anyone timing it that this id once held a link.
                tokio::spawn(self.clone().tick_later(id));
                outcome.next = None;
                outcome.drop_content = false;
                return Ok(Applied { outcome, body: None });
            }
            let body = match outcome.serve_from {
                Some(offset) => {
                    let content = current.as_ref().map_or(id, |r| r.content_id(id));
                    let Some(body) = self.store.open(&content, offset).await? else {
                        // The content went away after the read: another request (perhaps on another relay) ended
                        // the link meanwhile. Decide again on what is there now.
                        if self.store.get(&id).await? != current {
                            continue;
                        }
                        return Err(StoreError::Lost);
                    };
                    // Whatever serves a download, its lease runs on while its bytes flow.
                    match (&action, &outcome.reply) {
                        (Action::Resume(lease, _), _) | (_, Response::Claimed { lease, .. }) => {
                            Some(self.keep_lease(id, lease.clone(), offset, body))
                        }
                        _ => Some(body),
                    }
                }
                None => None,
            };
            let Some(old) = current else { return Ok(Applied { outcome, body }) };
            if !(outcome.purge || outcome.next.is_some()) {
                return Ok(Applied { outcome, body });
            }
            let new = if outcome.purge { None } else { outcome.next.clone() };
            let started = std::time::Instant::now();
            if !self.store.swap(&id, &old, new.as_ref()).await? {
                continue; // lost a race: read again
            }
            self.metrics.durable(started.elapsed());
            self.metrics.changed(&old, new.as_ref());
            if outcome.drop_content || outcome.purge {
                let (relay, old) = (self.clone(), old.clone());
                let drop_content = outcome.drop_content;
                let erase = async move {
                    let released =
                        if drop_content { relay.release(id, &old).await } else { relay.store.erase(&id).await };
                    if let Err(e) = released {
                        // The state already says "no content"; the start-up reconcile destroys what is left.
                        tracing::warn!(link = %id.short(), "erasing content failed: {e}");
                    }
                };
                if matches!(action, Action::Ack(_)) {
                    // The recipient waits on its ack only for the durable CONSUMED; the erase (a second sync) follows
                    // at once without holding its answer.
                    tokio::spawn(erase);
                } else {
                    erase.await;
                }
            }
            let _ = self.changes.send(id);
            return Ok(Applied { outcome, body });
        }
    }

    /// Wraps a download so that its lease runs on while bytes flow: each time half a lease has passed since the last
    /// extension and the recipient is still reading, the lease is extended in the background (one durable write per
    /// half lease, never per chunk). `served` is where the download started. The download also stops at once if the
    /// sender revokes the link (see [`Relay::stop_on_revoke`]).
    fn keep_lease(self: &Arc<Self>, id: LinkId, lease: LeaseToken, served: u64, body: BlobStream) -> BlobStream {
        use futures_util::StreamExt;
        let relay = self.clone();
        let half = self.config.lease / 2;
        let mut next = self.clock.now().plus(half);
        let mut served = served;
        let extended = Box::pin(body.map(move |item| {
            if let Ok(b) = &item {
                served += b.len() as u64;
                let now = relay.clock.now();
                if now >= next {
                    next = now.plus(half);
                    let (relay, lease) = (relay.clone(), lease.clone());
                    tokio::spawn(async move {
                        if let Err(e) = relay.apply(id, Action::Extend(lease, served)).await {
                            tracing::warn!(link = %id.short(), "extending a lease failed: {e}");
                        }
                    });
                }
            }
            item
        }));
        self.stop_on_revoke(id, extended)
    }

    /// Ends a download with [`Revoked`] as soon as its link is revoked: at once when the revoke came through this
    /// relay, within [`REVOKE_POLL`] when it came through another one sharing the store. A read that fails because
    /// the content went away is reported the same way when a revoke is why. (The content itself is erased by the
    /// revoke; without this, a file already open would go on streaming to the recipient.)
    fn stop_on_revoke(self: &Arc<Self>, id: LinkId, body: BlobStream) -> BlobStream {
        use futures_util::StreamExt;
        let relay = self.clone();
        let mut changes = self.changes.subscribe();
        let watcher = self.clone();
        let revoked: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = Box::pin(async move {
            loop {
                tokio::select! {
                    changed = changes.recv() => match changed {
                        Ok(changed) if changed != id => continue,
                        Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                        _ => {} // this link changed, or notices were missed: look
                    },
                    () = tokio::time::sleep(REVOKE_POLL) => {}
                }
                match watcher.store.get(&id).await {
                    Ok(Some(r)) if r.state == State::Revoked => return,
                    Ok(Some(r)) if r.state.kind() == StateKind::Claimed => {}
                    Err(_) => {}
                    // Ended some other way (acked, an upload that failed): nothing more to watch.
                    _ => std::future::pending::<()>().await,
                }
            }
        });
        let revoked_error = || Err(io::Error::other(Revoked));
        Box::pin(futures_util::stream::unfold((body, Some(revoked)), move |(mut body, revoked)| {
            let relay = relay.clone();
            async move {
                let mut revoked = revoked?;
                tokio::select! {
                    biased;
                    () = &mut revoked => Some((revoked_error(), (body, None))),
                    item = body.next() => match item? {
                        Err(e) if !is_upload_ended(&e) && relay.is_revoked(&id).await => {
                            Some((revoked_error(), (body, None)))
                        }
                        item => Some((item, (body, Some(revoked)))),
                    },
                }
            }
        }))
    }

    /// `id` ended (its record, `old` before, now holds no content): erases its content, unless it shares it with
    /// other recipients' links of the same upload that still hold it. Each member checks the others after its own end
    /// is durable, so the last to end always finds none left and erases (two may both erase: erasing is idempotent).
    async fn release(&self, id: LinkId, old: &Record) -> RelayResult<()> {
        if let Some(group) = &old.group {
            for m in group.members.iter().filter(|m| **m != id) {
                if self.store.get(m).await?.is_some_and(|r| r.state.kind().holds_content()) {
                    return Ok(());
                }
            }
        }
        if !old.uploading {
            // An upload still running counts as incoming, not stored: its receiver settles it.
            self.space.remove_stored(old.size);
        }
        self.store.erase(&old.content_id(id)).await
    }

    async fn is_revoked(&self, id: &LinkId) -> bool {
        matches!(self.store.get(id).await, Ok(Some(r)) if r.state == State::Revoked)
    }

    /// Applies what time alone did to `id`, as the sweeper would (boxed: `apply` spawns it).
    fn tick_later(self: Arc<Self>, id: LinkId) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            if let Err(e) = self.apply(id, Action::Tick).await {
                tracing::warn!(link = %id.short(), "ending a link failed: {e}");
            }
        })
    }

    /// Checks a create request before any of its body is read, so a refused upload costs no storage.
    pub fn check_create(&self, req: &CreateRequest) -> Result<(), Response> {
        Record::check_request(req).map_err(|e: CreateError| bad_request(e.to_string()))?;
        let c = &self.config;
        // An answer carries no template (it is encrypted to the requester alone, who chose the request's expiry).
        if let Some(allowed) = c.policies.as_ref().filter(|_| req.answer.is_none()) {
            if !req.rules.policy.is_some_and(|t| allowed.contains(&t)) {
                let names: Vec<_> = allowed.iter().map(|t| t.name()).collect();
                let message = format!("this relay accepts only links made under the {} policy", names.join(" or "));
                return Err(Response::Error { code: ErrorCode::NotAllowed, message });
            }
        }
        self.check_ttl(req.ttl_secs)
    }

    /// The operator's longest expiry.
    fn check_ttl(&self, ttl_secs: u32) -> Result<(), Response> {
        if let Some(max) = self.config.max_ttl.filter(|max| Duration::from_secs(ttl_secs.into()) > *max) {
            return Err(bad_request(format!("this relay keeps links for at most {}", span(max))));
        }
        Ok(())
    }

    /// Stores a finished upload and makes its link visible, durably.
    pub async fn create(
        self: &Arc<Self>,
        id: LinkId,
        req: CreateRequest,
        upload: Box<dyn Upload>,
    ) -> RelayResult<Response> {
        // Everything from here on is making the stored upload's link durable.
        let started = std::time::Instant::now();
        let made = self.create_durably(id, req, upload).await;
        if matches!(made, Ok(Response::Created { .. })) {
            self.metrics.durable(started.elapsed());
        }
        made
    }

    async fn create_durably(
        self: &Arc<Self>,
        id: LinkId,
        req: CreateRequest,
        upload: Box<dyn Upload>,
    ) -> RelayResult<Response> {
        let mut record = match Record::new(&req, upload.written(), self.clock.now()) {
            Ok(r) => r,
            Err(e) => return Ok(bad_request(e.to_string())), // `upload` drops and leaves nothing
        };
        if let Some(a) = &req.answer {
            return self.answer(id, a, record, upload).await;
        }
        let expires_at = record.expires_at;
        if req.extra.is_empty() {
            upload.commit(&record).await?;
            return Ok(Response::Created { id, expires_at, more: Vec::new() });
        }
        // Several recipients: a link each, sharing this upload's content (stored under `id`). The sender hears of
        // none of them until all are durable; a crash in between leaves links nobody knows, which expire.
        let more: Vec<LinkId> = req.extra.iter().map(|_| LinkId::generate(&mut rand::rngs::OsRng)).collect();
        let members: Vec<LinkId> = std::iter::once(id).chain(more.iter().copied()).collect();
        record.group = Some(burnlink_core::state::Group { content: id, members });
        let siblings: Vec<Record> = req.extra.iter().map(|r| record.for_recipient(r)).collect();
        upload.commit(&record).await?;
        for (sid, sibling) in more.iter().zip(&siblings) {
            if !self.store.insert(sid, sibling).await? {
                return Err(StoreError::Db("a new link's id exists".into()));
            }
        }
        Ok(Response::Created { id, expires_at, more })
    }

    /// Stores an answer to a request, then takes one of the request's answers for it. In that order: a crash in
    /// between leaves an answer nobody lists, which expires, and the request keeps the answer its sender will send
    /// again; the other order would leave the request one answer short for good. An answer that loses the race for
    /// the last place (or finds the request ended meanwhile) is removed again, content and all.
    async fn answer(
        self: &Arc<Self>,
        id: LinkId,
        to: &AnswerTo,
        record: Record,
        upload: Box<dyn Upload>,
    ) -> RelayResult<Response> {
        let Some(request) = self.store.get(&to.request).await? else { return Ok(Response::Gone) };
        let record = record.answering(&request);
        let expires_at = record.expires_at;
        upload.commit(&record).await?;
        let taken = self.apply(to.request, Action::Answer(to.proof.clone(), id)).await;
        if matches!(&taken, Ok(t) if matches!(t.outcome.reply, Response::Info(_)) && t.outcome.next.is_some()) {
            return Ok(Response::Created { id, expires_at, more: Vec::new() });
        }
        // Not taken: nobody will ever list it. Its bytes were never counted as stored (the caller settles them).
        if self.store.swap(&id, &record, None).await? {
            self.store.erase(&id).await?;
        }
        taken.map(|_| Response::Gone)
    }

    /// Whether `answer` would be taken now (read only): checked before an answer's body is read, so an answer to a
    /// request that takes none, or from someone holding only its id, costs no storage.
    pub async fn can_answer(&self, answer: &AnswerTo) -> RelayResult<bool> {
        let request = self.store.get(&answer.request).await?;
        let event = Event::Answer { proof: &answer.proof, answer: LinkId([0; 16]) };
        Ok(matches!(step(request.as_ref(), self.clock.now(), event).reply, Response::Info(_)))
    }

    /// Makes a request for a secret.
    pub async fn ask(self: &Arc<Self>, req: &AskRequest) -> RelayResult<Response> {
        let record = match Record::new_request(req, self.clock.now()) {
            Ok(r) => r,
            Err(e) => return Ok(bad_request(e.to_string())),
        };
        if let Err(resp) = self.check_ttl(req.ttl_secs) {
            return Ok(resp);
        }
        let id = LinkId::generate(&mut rand::rngs::OsRng);
        if !self.store.insert(&id, &record).await? {
            return Err(StoreError::Db("a new request's id exists".into()));
        }
        self.metrics.asked();
        Ok(Response::Created { id, expires_at: record.expires_at, more: Vec::new() })
    }

    /// A request's answers with each one's state, for whoever proves holding the request's secret; otherwise the
    /// neutral "gone".
    pub async fn answers(self: &Arc<Self>, id: LinkId, holder: HolderProof) -> RelayResult<Response> {
        let mut reply = self.apply(id, Action::Answers(holder)).await?.outcome.reply;
        if let Response::Answers(list) = &mut reply {
            for entry in &mut list.answers {
                let now = self.clock.now();
                // As the sweeper would see it; a purged answer is long expired.
                entry.state = match self.store.get(&entry.id).await? {
                    Some(rec) => step(Some(&rec), now, Event::Tick).next.unwrap_or(rec).state.kind(),
                    None => StateKind::Expired,
                };
            }
        }
        Ok(reply)
    }

    /// Start-up on a store no other relay shares: every live upload still marked as running was cut off by this
    /// relay's last exit, so each ends as UPLOAD_FAILED (its content erased) before anyone can claim it again.
    /// Returns how many.
    pub async fn fail_interrupted_uploads(self: &Arc<Self>) -> RelayResult<usize> {
        let mut pages = Pages::new(self.store.as_ref(), SWEEP_BATCH);
        let mut cut = Vec::new();
        while let Some(batch) = pages.next().await? {
            cut.extend(batch.into_iter().filter(|(_, r)| r.as_ref().is_ok_and(|r| r.uploading)).map(|(id, _)| id));
        }
        for id in &cut {
            self.apply(*id, Action::UploadFailed).await?;
        }
        Ok(cut.len())
    }

    /// The sender's current view (for watch), or `None` if the token is wrong or the link unknown.
    pub async fn status(self: &Arc<Self>, id: LinkId, manage: &ManageToken) -> RelayResult<Option<StatusReport>> {
        match self.apply(id, Action::Status(manage.clone())).await?.outcome.reply {
            Response::Status(s) => Ok(Some(s)),
            _ => Ok(None),
        }
    }

    /// One sweep: applies expiry, lease ends and purges to every record due, in bounded batches, then tidies what
    /// interrupted work left in the store. A record that does not decode is skipped and reported, never the end of the
    /// sweep. On a store that several relays share, each due record goes to one relay's sweep, and the storage count
    /// is refreshed from the store's own total. Returns how many records changed.
    pub async fn sweep(self: &Arc<Self>) -> RelayResult<usize> {
        let now = self.clock.now();
        let decide = move |rec: &Record| {
            let o = step(Some(rec), now, Event::Tick);
            if o.purge {
                Some(None)
            } else {
                o.next.map(Some)
            }
        };
        let (mut changed, mut bad, mut after) = (0, 0, None);
        loop {
            let batch = self.store.tick_due(after, now, SWEEP_BATCH, &decide).await?;
            bad += batch.bad;
            for t in &batch.changed {
                changed += 1;
                self.metrics.changed(&t.old, t.new.as_ref());
                let holds = |r: &Record| r.state.kind().holds_content();
                if holds(&t.old) && !t.new.as_ref().is_some_and(holds) {
                    if let Err(e) = self.release(t.id, &t.old).await {
                        // The state already says "no content"; tidying (or the start-up reconcile) finishes it.
                        tracing::warn!(link = %t.id.short(), "erasing content failed: {e}");
                    }
                }
                let _ = self.changes.send(t.id);
            }
            match batch.next {
                Some(next) => after = Some(next),
                None => break,
            }
            tokio::task::yield_now().await;
        }
        if bad > 0 {
            tracing::error!(records = bad, "the sweeper skipped records that do not decode");
        }
        for id in self.store.cut_off_uploads().await? {
            // Only a link still uploading ends; one that finished meanwhile is left as it is.
            if self.apply(id, Action::UploadFailed).await?.outcome.next.is_some() {
                changed += 1;
                tracing::info!(link = %id.short(), "ended a live upload whose relay went away");
            }
        }
        match self.store.tidy().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "tidied what interrupted work left behind"),
            Err(e) => tracing::warn!("tidying the store failed: {e}"),
        }
        if let Some(total) = self.store.shared_stored_bytes().await? {
            self.space.set_stored(total);
        }
        Ok(changed)
    }
}
