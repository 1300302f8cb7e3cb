/*!
What the relay needs of durable storage, and the embedded backend that provides it.

[`Store`] is the whole contract: read a record, compare-and-set it durably, take an upload and commit it with its
record, stream stored content from an offset, erase content, and scan records in batches. Every call that changes
something returns only once the change is on stable storage. The trait names no database, file or staging detail, so
a backend over PostgreSQL and S3-compatible object storage fits behind it as well as [`SledStore`] does.

Every backend seals stored content under a per-link storage key ([`seal`]) and destroys the key first when the
content ends, so a burned link cannot be read back from any copy of the storage.

Submodules: [`seal`] (sealing, pure), `keyslots` (the key file), `files` (durable file helpers and group commit),
`sled_store` (the sled + files backend, the only code that imports sled), `pg` (the PostgreSQL backend, the only code
that speaks SQL), `blobs` (S3-compatible object storage for the PostgreSQL backend's large content), `sealed` (opening
a stream of sealed chunks, shared by the backends).
*/

use std::io;
use std::pin::Pin;

use burnlink_core::link::LinkId;
use burnlink_core::state::Record;
use bytes::Bytes;
use futures_util::Stream;

mod blobs;
mod files;
mod keyslots;
mod pg;
pub mod seal;
mod sealed;
mod sled_store;

pub use blobs::BlobsUrl;
pub use files::{private_dir, write_file_durably};
pub use pg::{PgOptions, PgStats, PgStore};
pub use sled_store::{SledStore, SweepReport};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(String),
    /// Object storage failed.
    #[error("object storage: {0}")]
    Blobs(String),
    /// A file operation failed.
    #[error("storage: {0}")]
    Io(#[from] io::Error),
    /// A stored record did not decode.
    #[error("corrupt record")]
    Corrupt,
    /// A record that holds content has no readable content (its key or bytes are gone).
    #[error("the content of a live link is missing")]
    Lost,
    /// Storage did not confirm a write in time (a full or failing disk).
    #[error("storage did not confirm the write within {0:?}")]
    Timeout(std::time::Duration),
    /// A database or object store could not be reached, or kept failing, until the deadline.
    #[error("storage unreachable for {0:?}: {1}")]
    Unreachable(std::time::Duration, String),
}

/// An error's own words and then each cause's, skipping a cause the text already holds: client libraries often say
/// only "builder error" or "error performing TLS handshake" and keep the reason in a cause.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut why = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !why.contains(&text) {
            why = format!("{why}: {text}");
        }
        cause = c.source();
    }
    why
}

/// Stored content, as it streams back: the bytes from the requested offset to the end.
pub type BlobStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// One record of a [`Store::scan`]: an id and its record, or why the record could not be read.
pub type Scanned = (LinkId, Result<Record, StoreError>);

/// What time alone does to a record that is due: `None` nothing, `Some(None)` purge it, `Some(Some(r))` replace it.
/// The relay passes the state machine's `Tick` here, so the store decides nothing itself.
pub type Decide<'a> = &'a (dyn Fn(&Record) -> Option<Option<Record>> + Send + Sync);

/// A record a sweep changed, durably: what it was and what it is now (`None`: purged).
#[derive(Debug)]
pub struct Ticked {
    /// The link.
    pub id: LinkId,
    /// The record before.
    pub old: Record,
    /// The record after, or `None` if it was purged.
    pub new: Option<Record>,
}

/// One batch of a sweep.
#[derive(Debug, Default)]
pub struct TickBatch {
    /// The records it changed.
    pub changed: Vec<Ticked>,
    /// Records that did not decode, left in place.
    pub bad: usize,
    /// Where the next batch starts, or `None` after the last.
    pub next: Option<LinkId>,
}

/// An upload being received. Dropped without [`Upload::commit`] or [`Upload::finish`], it leaves nothing behind but,
/// once published, its record: the relay then ends that record as UPLOAD_FAILED, which erases the content.
#[async_trait::async_trait]
pub trait Upload: Send {
    /// Appends bytes.
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError>;
    /// Bytes taken so far.
    fn written(&self) -> u64;
    /// Makes the content and then `record` durable, and the link visible. Fails if the id exists.
    async fn commit(self: Box<Self>, record: &Record) -> Result<(), StoreError>;
    /// Live links: makes `record` (an uploading one) durable and the link visible now, with its content readable
    /// through [`Store::open`] as it grows. `Ok(false)`: this store cannot serve content before the upload ends, so
    /// the upload goes on to [`Upload::commit`] as usual.
    async fn publish(&mut self, _record: &Record) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// Ends a published upload: the content is complete and durable. The record is the relay's to update; readers
    /// see the end only when the relay calls the returned [`Release`], after that update, so a recipient who read the
    /// last byte can never ack a record that still says "uploading". Returns the bytes stored.
    async fn finish(self: Box<Self>) -> Result<(u64, Release), StoreError> {
        Err(StoreError::Db("this upload was not published".into()))
    }
}

/// Lets a finished live upload's readers reach its end.
pub type Release = Box<dyn FnOnce() + Send>;

/// The error a live download's stream ends with when the sender's upload ended before it finished.
#[derive(Debug, thiserror::Error)]
#[error("the sender's upload did not finish; nothing was saved")]
pub struct UploadEnded;

/// Whether a download failed because the live upload behind it ended early.
pub fn is_upload_ended(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<UploadEnded>())
}

/// The error a download's stream ends with when the sender revoked the link while it ran.
#[derive(Debug, thiserror::Error)]
#[error("the sender revoked this link during the download")]
pub struct Revoked;

/// Whether a download was cut off by its link's revocation.
pub fn is_revoked(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Revoked>())
}

/// Durable storage of link records and their content.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The record of `id`, if any.
    async fn get(&self, id: &LinkId) -> Result<Option<Record>, StoreError>;
    /// Atomically replaces `old` by `new` (`None`: delete the record), durably. `Ok(false)` if the stored record is no
    /// longer `old`: someone else won the race; read again.
    async fn swap(&self, id: &LinkId, old: &Record, new: Option<&Record>) -> Result<bool, StoreError>;
    /// Adds the record of a new link that owns no content of its own (another recipient's link of an upload, which
    /// shares the first link's content), durably. `Ok(false)` if the id exists.
    async fn insert(&self, id: &LinkId, record: &Record) -> Result<bool, StoreError>;
    /// Starts receiving the content of a new link `id`.
    async fn upload(&self, id: &LinkId) -> Result<Box<dyn Upload>, StoreError>;
    /// The content of `id` from byte `offset`, or `None` if none is stored.
    async fn open(&self, id: &LinkId, offset: u64) -> Result<Option<BlobStream>, StoreError>;
    /// Erases the content of `id`: destroys its storage key durably, then deletes the bytes. Idempotent. Call only once
    /// the state that holds no content is durable: a crash must never leave a live record without its content.
    async fn erase(&self, id: &LinkId) -> Result<(), StoreError>;
    /// Up to `limit` records with ids after `after`, in id order; records that fail to decode are reported, not fatal.
    async fn scan(&self, after: Option<LinkId>, limit: usize) -> Result<Vec<Scanned>, StoreError>;
    /// Free bytes where this store writes, if it is a local disk (`None`: not known or not limited).
    fn available(&self) -> Option<u64>;

    /// Applies `decide` to up to `limit` records that are due at `now`, starting after `after`, each by a durable
    /// compare-and-set. Several relays may sweep one store at once: a backend shared between them must hand each due
    /// record to one sweeper only. This default walks every record in id order, for a store that only one relay uses.
    async fn tick_due(
        &self,
        after: Option<LinkId>,
        now: burnlink_core::state::Timestamp,
        limit: usize,
        decide: Decide<'_>,
    ) -> Result<TickBatch, StoreError> {
        let batch = self.scan(after, limit).await?;
        let next = (batch.len() == limit).then(|| batch.last().map(|(id, _)| *id)).flatten();
        let mut out = TickBatch { next, ..TickBatch::default() };
        for (id, rec) in batch {
            let Ok(old) = rec else {
                out.bad += 1;
                continue;
            };
            if old.next_deadline() > now {
                continue;
            }
            let Some(new) = decide(&old) else { continue };
            // Lost to a request that changed it meanwhile: that request already applied time's effect.
            if self.swap(&id, &old, new.as_ref()).await? {
                out.changed.push(Ticked { id, old, new });
            }
        }
        Ok(out)
    }

    /// Removes what interrupted work left behind (content no live link owns, objects whose deletion failed).
    /// Returns how many things it removed. A store that reconciles at start-up instead does nothing here.
    async fn tidy(&self) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// Live uploads whose writer is gone (its relay died) on a store that several relays share: the relay's sweep ends
    /// each as UPLOAD_FAILED. A store that only one relay uses finds them at start-up instead.
    async fn cut_off_uploads(&self) -> Result<Vec<LinkId>, StoreError> {
        Ok(Vec::new())
    }

    /// Adds page fetches to links' preview counts (the sender's event log). Ids without a record are skipped, and the
    /// counts go when their record does. Not synced on its own (it rides on the next durable write): a count a crash
    /// loses is a count, not a promise, and a page fetch must not cost a sync.
    async fn add_previews(&self, counts: &[(LinkId, u32)]) -> Result<(), StoreError>;

    /// The preview count of `id` (0 if none).
    async fn previews(&self, id: &LinkId) -> Result<u32, StoreError>;

    /// Bytes of content stored by every relay on this store, if the store is shared and can say (`None`: this relay's
    /// own count is the whole truth).
    async fn shared_stored_bytes(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}

/// Every record of a store, a batch at a time, so that no walk over them holds them all in memory.
pub struct Pages<'a> {
    store: &'a dyn Store,
    after: Option<LinkId>,
    limit: usize,
}

impl<'a> Pages<'a> {
    /// Walks `store` in batches of `limit` records.
    pub fn new(store: &'a dyn Store, limit: usize) -> Self {
        Self { store, after: None, limit }
    }

    /// The next batch, or `None` after the last record.
    pub async fn next(&mut self) -> Result<Option<Vec<Scanned>>, StoreError> {
        let batch = self.store.scan(self.after, self.limit).await?;
        let Some((last, _)) = batch.last() else { return Ok(None) };
        self.after = Some(*last);
        Ok(Some(batch))
    }
}
