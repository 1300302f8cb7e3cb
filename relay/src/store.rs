/*!
Durable storage for the relay: link records, tombstones and ciphertext. The only file that imports sled.

- **Records** (and tombstones: records in an end state) live in sled under `r<id>`; sled is the source of truth.
- **Small ciphertext** (up to the inline threshold) lives in sled under `b<id>`, written in the same atomic batch as its
  record. Sled writes large values slowly and never gives the space of deleted values back, so
- **larger ciphertext** goes to `blobs/<hex id>`: written to `blobs/tmp/<hex id>.part`, fsynced, renamed on commit, the
  directory fsynced, and only then the record inserted. A crash before the record insert leaves an orphan file, never a
  visible half-upload; [`SledStore::open`] sweeps orphans and temp files.
- **Durability**: a mutating call applies its change and returns a [`Ticket`]; the change is durable once
  [`Store::durable`] has passed the ticket. One flusher thread serves all tickets (group commit: one fsync covers
  every write registered before it started), and waiters wait asynchronously, holding no thread. That is what lets
  many small durable transitions per second through one disk and one core. Callers answer a request only after its
  ticket is durable.

The [`Store`] trait is what the relay needs of a backend. A stateless deployment would implement it over PostgreSQL
(`SELECT … FOR UPDATE` / `UPDATE … WHERE state = …` for [`Store::swap`]) with blobs in S3-compatible storage.
*/

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use burnlink_core::link::LinkId;
use burnlink_core::state::Record;
use tokio::io::AsyncWriteExt;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(String),
    /// A file operation failed.
    #[error("blob storage: {0}")]
    Io(#[from] io::Error),
    /// A stored record did not decode.
    #[error("corrupt record")]
    Corrupt,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// Ciphertext to serve.
pub enum Blob {
    /// Held in the database.
    Inline(bytes::Bytes),
    /// A file, opened.
    File(fs::File),
}

/// An upload that finished arriving and waits for [`Store::commit`].
pub enum Staged {
    /// Small enough to store inline.
    Inline(Vec<u8>),
    /// Written to a temp file.
    File {
        /// The open temp file.
        file: fs::File,
        /// Its path.
        tmp: PathBuf,
    },
}

/// What a relay needs from storage. Calls block (disk, fsync); the relay runs them on blocking threads.
pub trait Store: Send + Sync + 'static {
    /// The record of `id`, if any.
    fn get(&self, id: &LinkId) -> Result<Option<Record>, StoreError>;
    /// Atomically replaces `old` by `new` (`None`: delete the record). `Ok(None)` if the stored record is no longer
    /// `old` (someone else won the race; read again); otherwise a ticket to wait on with [`Store::durable`].
    fn swap(&self, id: &LinkId, old: &Record, new: Option<&Record>) -> Result<Option<Ticket>, StoreError>;
    /// Makes a finished upload's content durable, then inserts its record. Fails if `id` exists. Blocks on disk for
    /// file blobs; the record is durable once the ticket is.
    fn commit(&self, id: &LinkId, staged: Staged, record: &Record) -> Result<Ticket, StoreError>;
    /// Waits until every change up to `ticket` is durable.
    fn durable(
        &self,
        ticket: Ticket,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + '_>>;
    /// The ciphertext of `id`, if stored.
    fn blob(&self, id: &LinkId) -> Result<Option<Blob>, StoreError>;
    /// Deletes the ciphertext of `id` (no error if already gone). Blocks on disk. Call only after the state change that
    /// made the content unreachable is durable: a crash must never leave a live record without its content.
    fn delete_blob(&self, id: &LinkId) -> Result<(), StoreError>;
    /// Every record, for the sweeper.
    fn records(&self) -> Result<Vec<(LinkId, Record)>, StoreError>;
    /// Where uploads above the inline threshold are staged.
    fn temp_path(&self, id: &LinkId) -> PathBuf;
    /// Largest upload kept inline.
    fn inline_threshold(&self) -> usize;
}

/// Collects an upload: in memory up to the inline threshold, then in a temp file.
pub struct Upload {
    mem: Vec<u8>,
    file: Option<(tokio::fs::File, PathBuf)>,
    threshold: usize,
    tmp: PathBuf,
    written: u64,
    /// Write-behind: a clone of the temp file's handle and the sync running on it, so the fsync before `Created`
    /// only has the last stretch left to write.
    syncer: Option<fs::File>,
    syncing: Option<tokio::task::JoinHandle<io::Result<()>>>,
    synced_at: u64,
}

/// Bytes between background syncs of a large upload.
const SYNC_EVERY: u64 = 64 << 20;

impl Upload {
    /// Starts an upload for `id` on `store`.
    pub fn new(store: &dyn Store, id: &LinkId) -> Self {
        Self {
            mem: Vec::new(),
            file: None,
            threshold: store.inline_threshold(),
            tmp: store.temp_path(id),
            written: 0,
            syncer: None,
            syncing: None,
            synced_at: 0,
        }
    }

    /// Bytes received so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends ciphertext.
    pub async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.written += data.len() as u64;
        match &mut self.file {
            Some((f, _)) => {
                f.write_all(data).await?;
                if self.written - self.synced_at >= SYNC_EVERY {
                    self.synced_at = self.written;
                    if let Some(prev) = self.syncing.take() {
                        prev.await.map_err(io::Error::other)??;
                    }
                    if let Some(s) = self.syncer.as_ref().map(fs::File::try_clone).transpose()? {
                        self.syncing = Some(tokio::task::spawn_blocking(move || s.sync_data()));
                    }
                }
                Ok(())
            }
            None if self.mem.len() + data.len() <= self.threshold => {
                self.mem.extend_from_slice(data);
                Ok(())
            }
            None => {
                let mut f = tokio::fs::File::create(&self.tmp).await?;
                self.syncer = Some(f.try_clone().await?.into_std().await);
                f.write_all(&self.mem).await?;
                f.write_all(data).await?;
                self.mem = Vec::new();
                self.file = Some((f, self.tmp.clone()));
                Ok(())
            }
        }
    }

    /// The upload is complete: hands it over for [`Store::commit`].
    pub async fn finish(mut self) -> io::Result<Staged> {
        match self.file.take() {
            None => Ok(Staged::Inline(std::mem::take(&mut self.mem))),
            Some((mut f, tmp)) => {
                f.flush().await?;
                if let Some(prev) = self.syncing.take() {
                    prev.await.map_err(io::Error::other)??;
                }
                Ok(Staged::File { file: f.into_std().await, tmp })
            }
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // An abandoned upload (too large, connection lost) leaves nothing behind.
        if let Some((_, tmp)) = self.file.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// A position in the store's write sequence; durable once the flusher has flushed past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Pending tickets below which the flusher lingers.
const LINGER_BELOW: u64 = 16;
/// How long it lingers.
const LINGER: std::time::Duration = std::time::Duration::from_micros(200);

/// Group commit: writers take a ticket after applying their change; one flusher thread flushes whenever tickets wait
/// and publishes how far it got. One fsync covers every change registered before it began.
struct GroupCommit {
    requested: Mutex<u64>,
    wake: Condvar,
    done: tokio::sync::watch::Sender<u64>,
    stop: std::sync::atomic::AtomicBool,
}

impl GroupCommit {
    fn start(db: sled::Db) -> (Arc<Self>, std::thread::JoinHandle<()>) {
        let gc = Arc::new(Self {
            requested: Mutex::new(0),
            wake: Condvar::new(),
            done: tokio::sync::watch::channel(0).0,
            stop: std::sync::atomic::AtomicBool::new(false),
        });
        let me = gc.clone();
        let mut stats = (std::time::Instant::now(), 0u64, 0u64); // since, flushes, first ticket
        let handle = std::thread::Builder::new()
            .name("burnlink-flush".into())
            .spawn(move || loop {
                if stats.0.elapsed() >= std::time::Duration::from_secs(5) {
                    let done = *me.done.borrow();
                    if stats.1 > 0 {
                        tracing::debug!(
                            flushes = stats.1,
                            writes = done - stats.2,
                            per_flush = (done - stats.2) as f64 / stats.1 as f64,
                            "group commit"
                        );
                    }
                    stats = (std::time::Instant::now(), 0, done);
                }
                {
                    let mut req = me.requested.lock().expect("flush lock");
                    while *req <= *me.done.borrow() {
                        if me.stop.load(std::sync::atomic::Ordering::Acquire) {
                            return;
                        }
                        req = me.wake.wait(req).expect("flush lock");
                    }
                }
                // Linger a moment when few writes wait, so that one flush serves more of them: each flush costs a
                // few context switches and an fsync, and requests arriving together would otherwise split.
                let pending = *me.requested.lock().expect("flush lock") - *me.done.borrow();
                if pending < LINGER_BELOW {
                    std::thread::sleep(LINGER);
                }
                let target = *me.requested.lock().expect("flush lock");
                match db.flush() {
                    Ok(_) => {
                        me.done.send_replace(target);
                        stats.1 += 1;
                    }
                    Err(e) => {
                        tracing::error!("flush failed, retrying: {e}");
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                }
            })
            .expect("spawn flusher");
        (gc, handle)
    }

    fn shutdown(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let _guard = self.requested.lock().expect("flush lock");
        self.wake.notify_all();
    }

    /// Registers a change already applied to sled.
    fn ticket(&self) -> Ticket {
        let mut req = self.requested.lock().expect("flush lock");
        *req += 1;
        self.wake.notify_one();
        Ticket(*req)
    }

    async fn wait(&self, t: Ticket) -> Result<(), StoreError> {
        let mut rx = self.done.subscribe();
        rx.wait_for(|d| *d >= t.0).await.map(|_| ()).map_err(|_| StoreError::Db("flusher stopped".into()))
    }

    /// Blocking wait, for start-up.
    fn wait_blocking(&self, t: Ticket) {
        let mut rx = self.done.subscribe();
        while *rx.borrow_and_update() < t.0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// The sled + files backend.
pub struct SledStore {
    tree: sled::Tree,
    blobs: PathBuf,
    tmp: PathBuf,
    inline_threshold: usize,
    gc: Arc<GroupCommit>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Flush what is pending and release the database (and its file lock) before returning.
        self.gc.shutdown();
        if let Some(h) = self.flusher.take() {
            let _ = h.join();
        }
    }
}

/// What the start-up sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Temp files of uploads that never finished.
    pub temp_files: usize,
    /// Blob files with no record, or whose record holds no content any more.
    pub orphan_files: usize,
    /// Inline blobs of records that hold no content any more.
    pub orphan_inline: usize,
}

const RECORD: u8 = b'r';
const BLOB: u8 = b'b';

fn key(kind: u8, id: &LinkId) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = kind;
    k[1..].copy_from_slice(&id.0);
    k
}

fn id_hex(id: &LinkId) -> String {
    id.0.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex_id(s: &str) -> Option<LinkId> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(LinkId(out))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

impl SledStore {
    /// Opens (or creates) the store under `dir` and sweeps what a crash may have left.
    pub fn open(dir: &Path, inline_threshold: usize) -> Result<(Self, SweepReport), StoreError> {
        let blobs = dir.join("blobs");
        let tmp = blobs.join("tmp");
        fs::create_dir_all(&tmp)?;
        let db = sled::Config::new().path(dir.join("db")).cache_capacity(8 * 1024 * 1024).open()?;
        let tree = db.open_tree("links")?;
        let (gc, flusher) = GroupCommit::start(db);
        let store = Self { tree, blobs, tmp, inline_threshold, gc, flusher: Some(flusher) };
        let report = store.sweep_orphans()?;
        Ok((store, report))
    }

    fn blob_path(&self, id: &LinkId) -> PathBuf {
        self.blobs.join(id_hex(id))
    }

    fn holds_content(&self, id: &LinkId) -> Result<bool, StoreError> {
        Ok(self.get(id)?.map(|r| r.state.kind().holds_content()).unwrap_or(false))
    }

    /// Removes temp files, blob files and inline blobs that no content-holding record owns.
    fn sweep_orphans(&self) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        for e in fs::read_dir(&self.tmp)? {
            fs::remove_file(e?.path())?;
            report.temp_files += 1;
        }
        for e in fs::read_dir(&self.blobs)? {
            let e = e?;
            if !e.file_type()?.is_file() {
                continue;
            }
            let keep = match e.file_name().to_str().and_then(parse_hex_id) {
                Some(id) => self.holds_content(&id)?,
                None => false,
            };
            if !keep {
                fs::remove_file(e.path())?;
                report.orphan_files += 1;
            }
        }
        for kv in self.tree.scan_prefix([BLOB]) {
            let (k, _) = kv?;
            let id = LinkId(k[1..].try_into().map_err(|_| StoreError::Corrupt)?);
            if !self.holds_content(&id)? {
                self.tree.remove(k)?;
                report.orphan_inline += 1;
            }
        }
        if report != SweepReport::default() {
            self.gc.wait_blocking(self.gc.ticket());
        }
        Ok(report)
    }
}

impl Store for SledStore {
    fn get(&self, id: &LinkId) -> Result<Option<Record>, StoreError> {
        match self.tree.get(key(RECORD, id))? {
            None => Ok(None),
            Some(v) => Record::decode(&v).map(Some).map_err(|_| StoreError::Corrupt),
        }
    }

    fn swap(&self, id: &LinkId, old: &Record, new: Option<&Record>) -> Result<Option<Ticket>, StoreError> {
        let old_bytes = old.encode();
        let new_bytes = new.map(Record::encode);
        match self.tree.compare_and_swap(key(RECORD, id), Some(old_bytes), new_bytes)? {
            Ok(()) => Ok(Some(self.gc.ticket())),
            Err(_) => Ok(None),
        }
    }

    fn durable(
        &self,
        ticket: Ticket,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + '_>> {
        Box::pin(self.gc.wait(ticket))
    }

    fn commit(&self, id: &LinkId, staged: Staged, record: &Record) -> Result<Ticket, StoreError> {
        let rkey = key(RECORD, id);
        match staged {
            Staged::Inline(bytes) => {
                // Record and inline blob in one atomic batch; refuse to overwrite an existing id.
                if self.tree.contains_key(rkey)? {
                    return Err(StoreError::Db("id exists".into()));
                }
                let mut batch = sled::Batch::default();
                batch.insert(&key(BLOB, id), bytes);
                batch.insert(&rkey, record.encode());
                self.tree.apply_batch(batch)?;
            }
            Staged::File { file, tmp } => {
                file.sync_all()?;
                drop(file);
                fs::rename(&tmp, self.blob_path(id))?;
                sync_dir(&self.blobs)?;
                if self.tree.compare_and_swap(rkey, None::<&[u8]>, Some(record.encode()))?.is_err() {
                    return Err(StoreError::Db("id exists".into()));
                }
            }
        }
        Ok(self.gc.ticket())
    }

    fn blob(&self, id: &LinkId) -> Result<Option<Blob>, StoreError> {
        if let Some(v) = self.tree.get(key(BLOB, id))? {
            return Ok(Some(Blob::Inline(bytes::Bytes::copy_from_slice(&v))));
        }
        match fs::File::open(self.blob_path(id)) {
            Ok(f) => Ok(Some(Blob::File(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn delete_blob(&self, id: &LinkId) -> Result<(), StoreError> {
        // An inline removal lost in a crash is swept at start-up: its record already holds no content.
        self.tree.remove(key(BLOB, id))?;
        match fs::remove_file(self.blob_path(id)) {
            Ok(()) => sync_dir(&self.blobs).map_err(Into::into),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn records(&self) -> Result<Vec<(LinkId, Record)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix([RECORD]) {
            let (k, v) = kv?;
            let id = LinkId(k[1..].try_into().map_err(|_| StoreError::Corrupt)?);
            out.push((id, Record::decode(&v).map_err(|_| StoreError::Corrupt)?));
        }
        Ok(out)
    }

    fn temp_path(&self, id: &LinkId) -> PathBuf {
        let mut nonce = [0u8; 4];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        self.tmp.join(format!("{}.{:08x}.part", id_hex(id), u32::from_le_bytes(nonce)))
    }

    fn inline_threshold(&self) -> usize {
        self.inline_threshold
    }
}

/// Writes `data` to `path` durably (temp file, fsync, rename, fsync dir). For small files such as generated keys.
pub fn write_file_durably(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burnlink_core::keys::{Digest32, PublicMeta, SecretCheck};
    use burnlink_core::proto::CreateRequest;
    use burnlink_core::state::{State, Timestamp};

    fn record() -> Record {
        let req = CreateRequest {
            ttl_secs: 600,
            claim_hash: Digest32([1; 32]),
            holder_hash: Digest32([3; 32]),
            manage_hash: Digest32([2; 32]),
            meta: PublicMeta { check: SecretCheck([0; 16]), kdf: None },
        };
        Record::new(&req, 3, Timestamp(0)).unwrap()
    }

    async fn stage(store: &SledStore, id: &LinkId, data: &[u8]) -> Staged {
        let mut up = Upload::new(store, id);
        for c in data.chunks(1000) {
            up.write(c).await.unwrap();
        }
        up.finish().await.unwrap()
    }

    fn read_blob(store: &SledStore, id: &LinkId) -> Option<Vec<u8>> {
        match store.blob(id).unwrap()? {
            Blob::Inline(b) => Some(b.to_vec()),
            Blob::File(mut f) => {
                let mut v = Vec::new();
                io::Read::read_to_end(&mut f, &mut v).unwrap();
                Some(v)
            }
        }
    }

    #[tokio::test]
    async fn inline_and_file_blobs_commit_read_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096).unwrap();
        let small = LinkId([1; 16]);
        let big = LinkId([2; 16]);
        let big_data = vec![7u8; 10_000];
        let s = stage(&store, &small, b"abc").await;
        assert!(matches!(s, Staged::Inline(_)));
        let t = store.commit(&small, s, &record()).unwrap();
        store.durable(t).await.unwrap();
        let s = stage(&store, &big, &big_data).await;
        assert!(matches!(s, Staged::File { .. }));
        let t2 = store.commit(&big, s, &record()).unwrap();
        assert!(t2 > t);
        store.durable(t2).await.unwrap();
        assert_eq!(read_blob(&store, &small).unwrap(), b"abc");
        assert_eq!(read_blob(&store, &big).unwrap(), big_data);
        assert!(dir.path().join("blobs").join(id_hex(&big)).exists());
        // Committing the same id twice is refused.
        let s = stage(&store, &small, b"x").await;
        assert!(store.commit(&small, s, &record()).is_err());

        store.delete_blob(&big).unwrap();
        store.delete_blob(&small).unwrap();
        assert!(read_blob(&store, &small).is_none() && read_blob(&store, &big).is_none());
        assert!(!dir.path().join("blobs").join(id_hex(&big)).exists());
    }

    #[tokio::test]
    async fn swap_is_compare_and_set() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096).unwrap();
        let id = LinkId([3; 16]);
        let r = record();
        store.commit(&id, stage(&store, &id, b"x").await, &r).unwrap();
        let mut next = r.clone();
        next.state = State::Revoked;
        assert!(store.swap(&id, &r, Some(&next)).unwrap().is_some());
        assert!(store.swap(&id, &r, Some(&next)).unwrap().is_none(), "stale swap must fail");
        assert_eq!(store.get(&id).unwrap().unwrap().state, State::Revoked);
        let t = store.swap(&id, &next, None).unwrap().unwrap();
        store.durable(t).await.unwrap();
        assert!(store.get(&id).unwrap().is_none());
    }

    #[tokio::test]
    async fn abandoned_uploads_and_orphans_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let id = LinkId([4; 16]);
        let ended = LinkId([5; 16]);
        {
            let (store, _) = SledStore::open(dir.path(), 16).unwrap();
            // An upload dropped mid-way removes its temp file itself.
            let mut up = Upload::new(&store, &id);
            up.write(&[0; 100]).await.unwrap();
            drop(up);
            assert_eq!(fs::read_dir(dir.path().join("blobs/tmp")).unwrap().count(), 0);
            // A crash leaves a temp file, a blob file without a record, and a blob of an ended record.
            fs::write(dir.path().join("blobs/tmp/x.part"), b"partial").unwrap();
            fs::write(dir.path().join("blobs").join(id_hex(&id)), b"orphan").unwrap();
            let r = record();
            store.commit(&ended, stage(&store, &ended, &[1; 100]).await, &r).unwrap();
            let mut gone = r.clone();
            gone.state = State::Consumed;
            let t = store.swap(&ended, &r, Some(&gone)).unwrap().unwrap();
            store.durable(t).await.unwrap();
        }
        let (store, report) = SledStore::open(dir.path(), 16).unwrap();
        assert_eq!(report, SweepReport { temp_files: 1, orphan_files: 2, orphan_inline: 0 });
        assert!(store.blob(&id).unwrap().is_none() && store.blob(&ended).unwrap().is_none());
        assert_eq!(store.get(&ended).unwrap().unwrap().state, State::Consumed, "tombstone stays");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_serves_concurrent_callers_with_shared_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 16).unwrap();
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for t in 0..16u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50u8 {
                    store.tree.insert([t, i], &[1]).unwrap();
                    let ticket = store.gc.ticket();
                    store.durable(ticket).await.unwrap();
                    assert!(*store.gc.done.borrow() >= ticket.0);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*store.gc.requested.lock().unwrap(), 800);
        assert_eq!(*store.gc.done.borrow(), 800);
    }
}
