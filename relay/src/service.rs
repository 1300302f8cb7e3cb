/*!
The relay's behaviour independent of transport: apply an event to a link (read, [`step`], compare-and-set, delete
content), create links from finished uploads, sweep expired ones, notify watchers, and rate-limit per address.

The QUIC and HTTPS front ends both call [`Relay`]; neither touches the store or the state machine directly.
*/

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use burnlink_core::keys::{ClaimKey, HolderProof, LeaseToken, ManageToken};
use burnlink_core::link::LinkId;
use burnlink_core::proto::{CreateRequest, Response, StatusReport};
use burnlink_core::state::{step, Event, Outcome, Record, Timestamp};
use tokio::sync::broadcast;

use crate::store::{Blob, Staged, Store, StoreError};
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
    Claim(HolderProof, ClaimKey),
    /// See [`Event::Resume`].
    Resume(LeaseToken, u64),
    /// See [`Event::Ack`].
    Ack(LeaseToken),
    /// See [`Event::Status`].
    Status(ManageToken),
    /// See [`Event::Revoke`].
    Revoke(ManageToken),
    /// See [`Event::Tick`].
    Tick,
}

/// A token bucket per address.
struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    fn allow(&self, ip: IpAddr) -> bool {
        if self.per_sec <= 0.0 {
            return true;
        }
        let mut b = self.buckets.lock().expect("rate limiter lock");
        let now = Instant::now();
        if b.len() > 100_000 {
            // Forget idle addresses rather than grow without bound.
            b.retain(|_, (tokens, t)| *tokens < self.burst && now.duration_since(*t) < Duration::from_secs(60));
        }
        let (tokens, last) = b.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_sec).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counts connections per address; a [`ConnGuard`] gives its slot back on drop.
#[derive(Default)]
pub struct ConnCounter {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection.
pub struct ConnGuard {
    relay: Arc<Relay>,
    ip: IpAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut c = self.relay.conns.counts.lock().expect("conn counter lock");
        if let Some(n) = c.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.remove(&self.ip);
            }
        }
    }
}

/// The relay: storage, configuration, clock, watchers.
pub struct Relay {
    store: Arc<dyn Store>,
    /// Configuration.
    pub config: Config,
    /// The clock.
    pub clock: Clock,
    changes: broadcast::Sender<LinkId>,
    limiter: RateLimiter,
    conns: ConnCounter,
}

/// A failed relay operation; the front end answers `Error { Internal }` and nothing changed that was acknowledged.
pub type RelayResult<T> = Result<T, StoreError>;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> RelayResult<T> + Send + 'static) -> RelayResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Db(format!("task failed: {e}")))?
}

impl Relay {
    /// A relay over `store`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Arc<Self> {
        let limiter = RateLimiter {
            per_sec: config.rate_per_sec,
            burst: config.rate_burst.max(1) as f64,
            buckets: Mutex::new(HashMap::new()),
        };
        Arc::new(Self {
            store,
            config,
            clock: Clock::default(),
            changes: broadcast::channel(1024).0,
            limiter,
            conns: ConnCounter::default(),
        })
    }

    /// The store (for front ends that stream blobs).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether `ip` may make another peek/claim/resume now.
    pub fn rate_ok(&self, ip: IpAddr) -> bool {
        self.limiter.allow(ip)
    }

    /// Admits a connection from `ip` unless it already has the maximum.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnGuard> {
        let mut c = self.conns.counts.lock().expect("conn counter lock");
        let n = c.entry(ip).or_insert(0);
        if *n >= self.config.max_conns_per_ip {
            return None;
        }
        *n += 1;
        Some(ConnGuard { relay: self.clone(), ip })
    }

    /// Subscribes to "this link changed" notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<LinkId> {
        self.changes.subscribe()
    }

    /// Applies `action` to `id`: read, decide, compare-and-set, wait until durable, then delete content if the new
    /// state holds none. Retries when another request changed the record in between. Sled operations are in-memory
    /// and run inline; only the durability wait is a real wait, and it holds no thread.
    pub async fn apply(self: &Arc<Self>, id: LinkId, action: Action) -> RelayResult<Outcome> {
        loop {
            let current = self.store.get(&id)?;
            let now = self.clock.now();
            let lease_for_claim = LeaseToken::generate(&mut rand::rngs::OsRng);
            let event = match &action {
                Action::Peek => Event::Peek,
                Action::Claim(holder, key) => {
                    Event::Claim { holder, key, lease: &lease_for_claim, lease_ttl: self.config.lease }
                }
                Action::Resume(lease, offset) => Event::Resume { lease, offset: *offset },
                Action::Ack(lease) => Event::Ack { lease },
                Action::Status(manage) => Event::Status { manage },
                Action::Revoke(manage) => Event::Revoke { manage },
                Action::Tick => Event::Tick,
            };
            let out = step(current.as_ref(), now, event);
            let Some(old) = current else { return Ok(out) };
            if !(out.purge || out.next.is_some()) {
                return Ok(out);
            }
            let new = if out.purge { None } else { out.next.clone() };
            let Some(ticket) = self.store.swap(&id, &old, new.as_ref())? else {
                continue; // lost a race: read again
            };
            self.store.durable(ticket).await?;
            if out.drop_content || out.purge {
                let this = self.clone();
                if let Err(e) = blocking(move || this.store.delete_blob(&id)).await {
                    // The state already says "no content"; the start-up sweep removes what is left.
                    tracing::warn!(link = %id.short(), "deleting content failed: {e}");
                }
            }
            let _ = self.changes.send(id);
            return Ok(out);
        }
    }

    /// Stores a finished upload and makes its link visible, durably.
    pub async fn create(self: &Arc<Self>, id: LinkId, req: CreateRequest, staged: Staged) -> RelayResult<Response> {
        let size = match &staged {
            Staged::Inline(b) => b.len() as u64,
            Staged::File { file, .. } => file.metadata()?.len(),
        };
        let record = match Record::new(&req, size, self.clock.now()) {
            Ok(r) => r,
            Err(e) => return Ok(bad_request(e.to_string())),
        };
        let expires_at = record.expires_at;
        let ticket = match staged {
            Staged::Inline(_) => self.store.commit(&id, staged, &record)?,
            Staged::File { .. } => {
                // fsync and rename: real disk work, off the async threads.
                let this = self.clone();
                blocking(move || this.store.commit(&id, staged, &record)).await?
            }
        };
        self.store.durable(ticket).await?;
        Ok(Response::Created { id, expires_at })
    }

    /// The ciphertext of a link. Inline: an in-memory read; file: an open. Both cheap enough to run in place.
    pub fn blob(&self, id: LinkId) -> RelayResult<Option<Blob>> {
        self.store.blob(&id)
    }

    /// The sender's current view (for watch), or `None` if the token is wrong or the link unknown.
    pub async fn status(self: &Arc<Self>, id: LinkId, manage: &ManageToken) -> RelayResult<Option<StatusReport>> {
        match self.apply(id, Action::Status(manage.clone())).await?.reply {
            Response::Status(s) => Ok(Some(s)),
            _ => Ok(None),
        }
    }

    /// One sweep: applies expiry, lease ends and purges to every record. Returns how many records changed.
    pub async fn sweep(self: &Arc<Self>) -> RelayResult<usize> {
        let this = self.clone();
        let records = blocking(move || this.store.records()).await?;
        // (A deadline index would avoid the full scan; at a scan every 30 s it is cheap up to millions of links.)
        let now = self.clock.now();
        let mut changed = 0;
        for (id, rec) in records {
            if rec.next_deadline() <= now {
                let out = self.apply(id, Action::Tick).await?;
                changed += usize::from(out.next.is_some() || out.purge);
            }
        }
        Ok(changed)
    }
}

/// A `BadRequest` error answer.
pub fn bad_request(message: impl Into<String>) -> Response {
    Response::Error { code: burnlink_core::proto::ErrorCode::BadRequest, message: message.into() }
}
