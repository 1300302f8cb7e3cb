/*!
What the relay needs of durable storage, and the embedded backend that provides it.

[`Store`] is the whole contract: read a record, compare-and-set it durably, take an upload and commit it with its
record, stream stored content from an offset, erase content, and scan records in batches. Every call that changes
something returns only once the change is on stable storage. The trait names no database, file or staging detail, so
a backend over PostgreSQL and S3-compatible object storage fits behind it as well as [`SledStore`] does.

Every backend seals stored content under a per-link storage key ([`seal`]) and destroys the key first when the
content ends, so a burned link cannot be read back from any copy of the storage.

Submodules: [`seal`] (sealing, pure), `keyslots` (the key file), `files` (durable file helpers and group commit),
`sled_store` (the sled + files backend, the only code that imports sled).
*/

use std::io;
use std::pin::Pin;

use burnlink_core::link::LinkId;
use burnlink_core::state::Record;
use bytes::Bytes;
use futures_util::Stream;

mod files;
mod keyslots;
pub mod seal;
mod sled_store;

pub use files::write_file_durably;
pub use sled_store::{SledStore, SweepReport};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(String),
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
}

/// Stored content, as it streams back: the bytes from the requested offset to the end.
pub type BlobStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// One record of a [`Store::scan`]: an id and its record, or why the record could not be read.
pub type Scanned = (LinkId, Result<Record, StoreError>);

/// An upload being received. Dropped without [`Upload::commit`], it leaves nothing behind.
#[async_trait::async_trait]
pub trait Upload: Send {
    /// Appends bytes.
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError>;
    /// Bytes taken so far.
    fn written(&self) -> u64;
    /// Makes the content and then `record` durable, and the link visible. Fails if the id exists.
    async fn commit(self: Box<Self>, record: &Record) -> Result<(), StoreError>;
}

/// Durable storage of link records and their content.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The record of `id`, if any.
    async fn get(&self, id: &LinkId) -> Result<Option<Record>, StoreError>;
    /// Atomically replaces `old` by `new` (`None`: delete the record), durably. `Ok(false)` if the stored record is no
    /// longer `old`: someone else won the race; read again.
    async fn swap(&self, id: &LinkId, old: &Record, new: Option<&Record>) -> Result<bool, StoreError>;
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
