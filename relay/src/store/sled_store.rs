/*!
The embedded backend: records in sled, content sealed under per-link storage keys, large content in files. The only
code that imports sled.

Under the data dir (0700):

| path | what |
| --- | --- |
| `db/` | sled: `r<id>` record, `k<id>` the link's key slot (u32), `b<id>` sealed content up to the inline threshold |
| `keys` | storage keys, one 32-byte slot per link holding content (see `keyslots`) |
| `blobs/<hex id>` | sealed content above the inline threshold; `blobs/tmp/<id>.<n>.part` uploads in progress |
| `format` | the store's format version |

sled is the source of truth. Large content is written to a temp file, synced, renamed, its folder synced, and only
then is its record inserted, so a crash never leaves a visible half-upload; [`SledStore::open`] sweeps orphans.

**Durability.** sled 0.34's `flush` ends in `sync_file_range`, which flushes neither the device's cache nor the file's
metadata, and sled never syncs the blob files it writes for large nodes (nor its `conf`, which
[`SledStore::open`] syncs). So the flusher's sync is: `fdatasync` of the
key file (a new key reaches the disk before the record that needs it), `db.flush()`, `fdatasync` of sled's log, and
`fsync` of every sled blob file written since the last sync and of their folder. sled's own periodic flush is off:
all of its writes go through this one path.

**Live uploads.** A published upload ([`Upload::publish`]) keeps writing its temp file; its record and key are in
sled from the moment it is published, and an in-memory entry tells [`Store::open`] where the bytes are and how far
they go, so a download reads behind the writer and waits for more. [`Upload::finish`] syncs and renames the file as a
commit does; a published upload dropped unfinished tells its readers so and leaves the record to the relay, which
ends it as UPLOAD_FAILED (and after a crash finds it still uploading and does the same).

**Erasure.** [`Store::erase`] takes the link's slot out of sled atomically (so only one eraser ever destroys it),
overwrites the key with zeros, waits for the key file's sync, and only then deletes the content and frees the slot.
*/

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burnlink_core::link::LinkId;
use burnlink_core::state::Record;
use bytes::Bytes;
use tokio::sync::watch;

use super::files::{create_private, private_dir, sync_dir, write_file_durably, GroupCommit};
use super::keyslots::KeySlots;
use super::seal::{self, Algorithm, Opener, Sealer};
use super::{BlobStream, Release, Scanned, Store, StoreError, Upload, UploadEnded};

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// Written to `DATA/format`; a data dir from an older relay (no storage keys) is refused, not misread.
const FORMAT: &str = "burnlink-store 2\n";

const RECORD: u8 = b'r';
const KEY: u8 = b'k';
const BLOB: u8 = b'b';
/// A link's preview count (u32, big-endian), beside its record so a page fetch never changes the record.
const PREVIEWS: u8 = b'p';

fn key(kind: u8, id: &LinkId) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = kind;
    k[1..].copy_from_slice(&id.0);
    k
}

fn id_of(k: &[u8]) -> Result<LinkId, StoreError> {
    Ok(LinkId(k.get(1..).and_then(|b| b.try_into().ok()).ok_or(StoreError::Corrupt)?))
}

/// A key entry: the slot (u32 BE), then the seal's [`Algorithm`] byte (absent in entries written before there was a
/// choice: ChaCha20-Poly1305).
fn key_entry(slot: u32, algorithm: Algorithm) -> [u8; 5] {
    let mut v = [0u8; 5];
    v[..4].copy_from_slice(&slot.to_be_bytes());
    v[4] = algorithm.byte();
    v
}

fn slot_of(v: &[u8]) -> Result<u32, StoreError> {
    Ok(u32::from_be_bytes(v.get(..4).and_then(|b| b.try_into().ok()).ok_or(StoreError::Corrupt)?))
}

fn algorithm_of(v: &[u8]) -> Result<Algorithm, StoreError> {
    match v.len() {
        4 => Ok(Algorithm::ChaCha20Poly1305),
        5 => Algorithm::from_byte(v[4]).ok_or(StoreError::Corrupt),
        _ => Err(StoreError::Corrupt),
    }
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

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Db(format!("task failed: {e}")))?
}

/// What the start-up sweep found and removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Temp files of uploads that never finished.
    pub temp_files: usize,
    /// Blob files with no record, or whose record holds no content any more.
    pub orphan_files: usize,
    /// Inline content of records that hold no content any more.
    pub orphan_inline: usize,
    /// Storage keys no live link owned (an interrupted burn or upload), destroyed.
    pub keys_destroyed: usize,
    /// Records that claimed content whose key was gone (an upload never acknowledged, or a data dir restored without
    /// its key file), removed.
    pub lost_links: usize,
    /// Records that did not decode, left in place.
    pub corrupt_records: usize,
}

struct Inner {
    dir: PathBuf,
    tree: sled::Tree,
    blobs: PathBuf,
    tmp: PathBuf,
    keys: Arc<KeySlots>,
    gc: Arc<GroupCommit>,
    inline_threshold: usize,
    /// Published uploads still running.
    live: Mutex<HashMap<LinkId, Live>>,
}

/// Where a published upload's bytes are and how far they go.
#[derive(Clone)]
struct Live {
    /// The temp file, and once finished the stored one.
    tmp: PathBuf,
    progress: watch::Receiver<Progress>,
    /// Set when the link's content is erased mid-upload (a revoke): the upload stops at its next write.
    erased: Arc<AtomicBool>,
}

/// How far a published upload has got.
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// Sealed bytes in the temp file that readers may read: whole chunks until the end.
    sealed: u64,
    /// `Some(true)`: finished (`sealed` is the whole); `Some(false)`: ended early.
    end: Option<bool>,
}

/// The sled + files backend.
pub struct SledStore {
    inner: Arc<Inner>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Flush what is pending and release the database (and its file lock) before returning.
        self.inner.gc.shutdown();
        if let Some(h) = self.flusher.take() {
            let _ = h.join();
        }
    }
}

/// The files sled writes outside its log: large nodes go to `db/blobs/<lsn>`, which sled never syncs.
struct SledBlobs {
    dir: PathBuf,
    synced: HashSet<OsString>,
}

impl SledBlobs {
    fn sync_new(&mut self) -> io::Result<()> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut now = HashSet::new();
        let mut new = false;
        for e in entries {
            let e = e?;
            let name = e.file_name();
            if !self.synced.contains(&name) {
                match fs::File::open(e.path()) {
                    Ok(f) => f.sync_all()?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // collected meanwhile
                    Err(e) => return Err(e),
                }
                new = true;
            }
            now.insert(name);
        }
        if new {
            sync_dir(&self.dir)?;
        }
        self.synced = now;
        Ok(())
    }
}

impl SledStore {
    /// Opens (or creates) the store under `dir`, reconciles keys with records and sweeps what a crash may have left.
    /// Durable waits fail after `deadline`.
    pub fn open(dir: &Path, inline_threshold: usize, deadline: Duration) -> Result<(Self, SweepReport), StoreError> {
        private_dir(dir)?;
        let format = dir.join("format");
        match fs::read_to_string(&format) {
            Ok(f) if f == FORMAT => {}
            Ok(_) => return Err(StoreError::Db(format!("{} is from another version of the relay", dir.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if dir.join("db").exists() {
                    return Err(StoreError::Db(format!(
                        "{} was written by an older relay that kept no storage keys; move it aside to start afresh",
                        dir.display()
                    )));
                }
                write_file_durably(&format, FORMAT.as_bytes(), 0o600)?;
            }
            Err(e) => return Err(e.into()),
        }
        let blobs = dir.join("blobs");
        let tmp = blobs.join("tmp");
        private_dir(&tmp)?;
        let db =
            sled::Config::new().path(dir.join("db")).cache_capacity(8 * 1024 * 1024).flush_every_ms(None).open()?;
        let tree = db.open_tree("links")?;
        // sled writes its `conf` when it creates a database and never syncs it, nor the folder's entries.
        fs::File::open(dir.join("db").join("conf"))?.sync_all()?;
        sync_dir(&dir.join("db"))?;
        let keys = Arc::new(KeySlots::open(&dir.join("keys"))?);
        let log = fs::File::open(dir.join("db").join("db"))?;
        let mut sled_blobs = SledBlobs { dir: dir.join("db").join("blobs"), synced: HashSet::new() };
        let sync_keys = keys.clone();
        let sync = Box::new(move || {
            sync_keys.sync()?;
            db.flush().map_err(io::Error::other)?;
            log.sync_data()?;
            sled_blobs.sync_new()
        });
        let (gc, flusher) = GroupCommit::start(sync, deadline);
        let live = Mutex::new(HashMap::new());
        let inner = Arc::new(Inner { dir: dir.to_path_buf(), tree, blobs, tmp, keys, gc, inline_threshold, live });
        let store = Self { inner, flusher: Some(flusher) };
        let report = store.reconcile()?;
        Ok((store, report))
    }

    fn blob_path(&self, id: &LinkId) -> PathBuf {
        self.inner.blobs.join(id_hex(id))
    }

    /// Start-up: keys of live links' content are kept, every other key destroyed; live links without a key are removed; temp
    /// files, orphan files and orphan inline content are deleted. Ends with a sync.
    fn reconcile(&self) -> Result<SweepReport, StoreError> {
        let t = &self.inner.tree;
        let mut report = SweepReport::default();
        let mut slots = HashMap::new();
        for kv in t.scan_prefix([KEY]) {
            let (k, v) = kv?;
            slots.insert(id_of(&k)?, slot_of(&v)?);
        }
        let mut live = HashSet::new();
        let mut owned = HashSet::new();
        for kv in t.scan_prefix([RECORD]) {
            let (k, v) = kv?;
            let id = id_of(&k)?;
            let Ok(rec) = Record::decode(&v) else {
                report.corrupt_records += 1;
                continue;
            };
            if !rec.state.kind().holds_content() {
                continue;
            }
            // Recipients' links of one upload share the content stored under the first link's id.
            let content = rec.content_id(id);
            if live.contains(&content) {
                continue;
            }
            match slots.get(&content) {
                Some(&slot) if !owned.contains(&slot) && self.inner.keys.read(slot)?.is_some() => {
                    owned.insert(slot);
                    live.insert(content);
                }
                _ => {
                    t.remove(k)?;
                    report.lost_links += 1;
                }
            }
        }
        for (id, _) in slots.iter().filter(|(id, _)| !live.contains(*id)) {
            t.remove(key(KEY, id))?;
        }
        report.keys_destroyed = self.inner.keys.reconcile(&owned)?;
        for e in fs::read_dir(&self.inner.tmp)? {
            fs::remove_file(e?.path())?;
            report.temp_files += 1;
        }
        for e in fs::read_dir(&self.inner.blobs)? {
            let e = e?;
            if !e.file_type()?.is_file() {
                continue;
            }
            if !e.file_name().to_str().and_then(parse_hex_id).is_some_and(|id| live.contains(&id)) {
                fs::remove_file(e.path())?;
                report.orphan_files += 1;
            }
        }
        for kv in t.scan_prefix([BLOB]) {
            let (k, _) = kv?;
            if !live.contains(&id_of(&k)?) {
                t.remove(k)?;
                report.orphan_inline += 1;
            }
        }
        sync_dir(&self.inner.blobs)?;
        self.inner.gc.wait_blocking(self.inner.gc.ticket())?;
        Ok(report)
    }

    /// An upload of `id` sealed with `algorithm` (tests: content as an older relay sealed it).
    fn upload_sealed(&self, id: &LinkId, algorithm: Algorithm) -> Result<SledUpload, StoreError> {
        let (slot, key) = self.inner.keys.alloc()?;
        let mut nonce = [0u8; 4];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let tmp = self.inner.tmp.join(format!("{}.{:08x}.part", id_hex(id), u32::from_le_bytes(nonce)));
        Ok(SledUpload {
            inner: self.inner.clone(),
            id: *id,
            slot,
            algorithm,
            sealer: Some(Sealer::new(&key, id, algorithm)),
            out: Vec::new(),
            file: None,
            tmp,
            written: 0,
            syncer: None,
            syncing: None,
            synced_at: 0,
            file_bytes: 0,
            committed: false,
            published: None,
        })
    }

    /// The key slot of `id`'s content and the seal's algorithm.
    fn slot(&self, id: &LinkId) -> Result<Option<(u32, Algorithm)>, StoreError> {
        self.inner.tree.get(key(KEY, id))?.map(|v| Ok((slot_of(&v)?, algorithm_of(&v)?))).transpose()
    }
}

#[async_trait::async_trait]
impl Store for SledStore {
    async fn get(&self, id: &LinkId) -> Result<Option<Record>, StoreError> {
        match self.inner.tree.get(key(RECORD, id))? {
            None => Ok(None),
            Some(v) => Record::decode(&v).map(Some).map_err(|_| StoreError::Corrupt),
        }
    }

    async fn swap(&self, id: &LinkId, old: &Record, new: Option<&Record>) -> Result<bool, StoreError> {
        let new_bytes = new.map(Record::encode);
        match self.inner.tree.compare_and_swap(key(RECORD, id), Some(old.encode()), new_bytes)? {
            Ok(()) => {
                if new.is_none() {
                    self.inner.tree.remove(key(PREVIEWS, id))?;
                }
                self.inner.gc.commit().await?;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    async fn upload(&self, id: &LinkId) -> Result<Box<dyn Upload>, StoreError> {
        Ok(Box::new(self.upload_sealed(id, Algorithm::preferred())?))
    }

    async fn insert(&self, id: &LinkId, record: &Record) -> Result<bool, StoreError> {
        match self.inner.tree.compare_and_swap(key(RECORD, id), None as Option<&[u8]>, Some(record.encode()))? {
            Ok(()) => {
                self.inner.gc.commit().await?;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    async fn add_previews(&self, counts: &[(LinkId, u32)]) -> Result<(), StoreError> {
        for (id, n) in counts {
            if !self.inner.tree.contains_key(key(RECORD, id))? {
                continue;
            }
            self.inner.tree.update_and_fetch(key(PREVIEWS, id), |old| {
                let was = old.and_then(|v| v.try_into().ok()).map_or(0, u32::from_be_bytes);
                Some(was.saturating_add(*n).to_be_bytes().to_vec())
            })?;
        }
        // A purge between the check and the update leaves a count without a record: drop it again.
        for (id, _) in counts {
            if !self.inner.tree.contains_key(key(RECORD, id))? {
                self.inner.tree.remove(key(PREVIEWS, id))?;
            }
        }
        Ok(())
    }

    async fn previews(&self, id: &LinkId) -> Result<u32, StoreError> {
        let v = self.inner.tree.get(key(PREVIEWS, id))?;
        Ok(v.and_then(|v| v.as_ref().try_into().ok()).map_or(0, u32::from_be_bytes))
    }

    async fn open(&self, id: &LinkId, offset: u64) -> Result<Option<BlobStream>, StoreError> {
        let Some((slot, algorithm)) = self.slot(id)? else { return Ok(None) };
        let storage_key = self.inner.keys.read(slot)?.ok_or(StoreError::Lost)?;
        let opener = Opener::new(&storage_key, id, algorithm);
        let first = offset / seal::CHUNK as u64;
        let skip = (offset % seal::CHUNK as u64) as usize;
        let live = self.inner.live.lock().expect("not poisoned").get(id).cloned();
        if let Some(live) = live {
            match fs::File::open(&live.tmp) {
                Ok(mut f) => {
                    io::Seek::seek(&mut f, io::SeekFrom::Start(first * seal::SEALED_CHUNK as u64))?;
                    let reader = FileReader { file: f, opener, index: first, skip };
                    return Ok(Some(tail(reader, live.progress)));
                }
                // Finished (renamed into place) since the lookup: read it as stored content.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(v) = self.inner.tree.get(key(BLOB, id))? {
            // Inline content is small: open it all at once.
            let from = (first as usize * seal::SEALED_CHUNK).min(v.len());
            let plain = opener.open_run(first, skip, v[from..].to_vec()).map_err(|_| StoreError::Lost)?;
            return Ok(Some(Box::pin(futures_util::stream::iter([Ok(Bytes::from(plain))]))));
        }
        let mut f = match fs::File::open(self.blob_path(id)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::Lost),
            Err(e) => return Err(e.into()),
        };
        io::Seek::seek(&mut f, io::SeekFrom::Start(first * seal::SEALED_CHUNK as u64))?;
        let reader = FileReader { file: f, opener, index: first, skip };
        Ok(Some(Box::pin(futures_util::stream::unfold(Some(reader), |st| async move {
            let st = st?;
            match tokio::task::spawn_blocking(move || st.next(READ_BATCH)).await {
                Ok(step) => step,
                Err(e) => Some((Err(io::Error::other(e)), None)),
            }
        }))))
    }

    async fn erase(&self, id: &LinkId) -> Result<(), StoreError> {
        let inner = &self.inner;
        let live = inner.live.lock().expect("not poisoned").remove(id);
        if let Some(live) = live {
            // The upload stops at its next write and its drop tells the readers; its bytes go now.
            live.erased.store(true, Ordering::Release);
            let _ = fs::remove_file(&live.tmp);
        }
        // Taking the slot out is the one atomic step: a second eraser finds nothing and can never destroy a key that
        // was freed and handed to another link meanwhile.
        let slot = inner.tree.remove(key(KEY, id))?.map(|v| slot_of(&v)).transpose()?;
        if let Some(slot) = slot {
            inner.keys.destroy(slot)?;
            inner.gc.commit().await?;
        }
        inner.tree.remove(key(BLOB, id))?;
        let path = self.blob_path(id);
        let blobs = inner.blobs.clone();
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => sync_dir(&blobs).map_err(Into::into),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await?;
        if let Some(slot) = slot {
            inner.keys.release(slot);
        }
        Ok(())
    }

    async fn scan(&self, after: Option<LinkId>, limit: usize) -> Result<Vec<Scanned>, StoreError> {
        let start = match after {
            Some(id) => Bound::Excluded(key(RECORD, &id).to_vec()),
            None => Bound::Included(vec![RECORD]),
        };
        let mut out = Vec::new();
        for kv in self.inner.tree.range::<Vec<u8>, _>((start, Bound::Excluded(vec![RECORD + 1]))).take(limit) {
            let (k, v) = kv?;
            out.push((id_of(&k)?, Record::decode(&v).map_err(|_| StoreError::Corrupt)));
        }
        Ok(out)
    }

    fn available(&self) -> Option<u64> {
        let st = rustix::fs::statvfs(&self.inner.dir).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }
}

/// Reads and opens a sealed file a few chunks at a time, on a blocking thread.
struct FileReader {
    file: fs::File,
    opener: Opener,
    index: u64,
    skip: usize,
}

/// Sealed bytes read per step: 256 KiB of content.
const READ_BATCH: usize = seal::SEALED_CHUNK * 4;

impl FileReader {
    /// The next piece of content, from up to `max` sealed bytes (whole chunks but at the end), and the reader for the
    /// rest (`None` after the end or an error).
    fn next(mut self, max: usize) -> Option<(io::Result<Bytes>, Option<Self>)> {
        // Read into spare capacity: `read_to_end` does not zero it first, as `vec![0; max]` would (a 1 GiB download
        // spent ~2% of the relay's CPU in that memset).
        let mut sealed = Vec::with_capacity(max);
        if let Err(e) = Read::take(&mut self.file, max as u64).read_to_end(&mut sealed) {
            return Some((Err(e), None));
        }
        let n = sealed.len();
        if n == 0 {
            return None;
        }
        let Ok(plain) = self.opener.open_run(self.index, self.skip, sealed) else {
            return Some((Err(io::Error::other("stored content failed to authenticate")), None));
        };
        self.index += n.div_ceil(seal::SEALED_CHUNK) as u64;
        self.skip = 0;
        Some((Ok(Bytes::from(plain)), (n == max).then_some(self)))
    }
}

/// A download that reads a published upload behind its writer: whatever whole chunks are in the file, then waits for
/// more; it ends cleanly only after the upload finished and every byte was read, and with [`UploadEnded`] if the
/// upload ended early.
fn tail(reader: FileReader, progress: watch::Receiver<Progress>) -> BlobStream {
    let at = reader.index * seal::SEALED_CHUNK as u64;
    Box::pin(futures_util::stream::unfold(Some((reader, at, progress)), |st| async move {
        let (reader, at, mut progress) = st?;
        loop {
            let p = *progress.borrow_and_update();
            if at < p.sealed {
                let max = (p.sealed - at).min(READ_BATCH as u64) as usize;
                let step = tokio::task::spawn_blocking(move || reader.next(max)).await;
                return match step {
                    Ok(Some((Ok(b), Some(reader)))) => Some((Ok(b), Some((reader, at + max as u64, progress)))),
                    // Fewer bytes than the writer reported, or an unreadable chunk: never a clean end, which would
                    // read as the upload's end.
                    Ok(Some((Ok(_), None))) | Ok(None) => {
                        Some((Err(io::Error::other("a live upload's file is shorter than written")), None))
                    }
                    Ok(Some((Err(e), _))) => Some((Err(e), None)),
                    Err(e) => Some((Err(io::Error::other(e)), None)),
                };
            }
            match p.end {
                Some(true) => return None,
                Some(false) => return Some((Err(io::Error::other(UploadEnded)), None)),
                None => {
                    if progress.changed().await.is_err() {
                        return Some((Err(io::Error::other(UploadEnded)), None));
                    }
                }
            }
        }
    }))
}

/// Bytes between background syncs of a large upload, so the sync before `commit` has only the last stretch left.
const SYNC_EVERY: u64 = 64 << 20;
/// Sealed bytes buffered before a write to the temp file.
const WRITE_BATCH: usize = 256 * 1024;

/// An upload to the sled store: sealed as it arrives, in memory up to the inline threshold, then in a temp file.
struct SledUpload {
    inner: Arc<Inner>,
    id: LinkId,
    slot: u32,
    algorithm: Algorithm,
    sealer: Option<Sealer>,
    /// Sealed bytes not yet written (all of them while inline).
    out: Vec<u8>,
    file: Option<fs::File>,
    tmp: PathBuf,
    written: u64,
    syncer: Option<fs::File>,
    syncing: Option<tokio::task::JoinHandle<io::Result<()>>>,
    synced_at: u64,
    file_bytes: u64,
    committed: bool,
    /// Set once published: readers' progress and the erase flag.
    published: Option<(watch::Sender<Progress>, Arc<AtomicBool>)>,
}

impl SledUpload {
    /// The whole temp file on stable storage, renamed to the link's name, and the rename durable.
    async fn put_in_place(&mut self) -> Result<(), StoreError> {
        let f = self.file.take().expect("spilled");
        if let Some(prev) = self.syncing.take() {
            prev.await.map_err(io::Error::other)??;
        }
        let (tmp, dest, blobs) = (self.tmp.clone(), self.inner.blobs.join(id_hex(&self.id)), self.inner.blobs.clone());
        blocking(move || {
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &dest)?;
            sync_dir(&blobs)?;
            Ok(())
        })
        .await
    }

    async fn spill(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            let file = create_private(&self.tmp)?;
            self.syncer = Some(file.try_clone()?);
            self.file = Some(file);
        }
        // Written on a blocking thread straight from this buffer (an async file would copy it into its own first).
        let (mut f, out) = (self.file.take().expect("just opened"), std::mem::take(&mut self.out));
        let (f, mut out, wrote) = tokio::task::spawn_blocking(move || {
            let wrote = io::Write::write_all(&mut f, &out);
            (f, out, wrote)
        })
        .await
        .map_err(io::Error::other)?;
        self.file = Some(f);
        wrote?;
        self.file_bytes += out.len() as u64;
        out.clear();
        self.out = out;
        if let Some((progress, _)) = &self.published {
            // In the file (the page cache) before readers hear of it.
            let sealed = self.file_bytes;
            progress.send_modify(|p| p.sealed = sealed);
        }
        if self.file_bytes - self.synced_at >= SYNC_EVERY {
            if let Some(prev) = self.syncing.take() {
                prev.await.map_err(io::Error::other)??;
            }
            let s = self.syncer.as_ref().expect("set with the file").try_clone()?;
            self.syncing = Some(tokio::task::spawn_blocking(move || s.sync_data()));
            self.synced_at = self.file_bytes;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Upload for SledUpload {
    async fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        if self.published.as_ref().is_some_and(|(_, erased)| erased.load(Ordering::Acquire)) {
            return Err(StoreError::Lost);
        }
        self.sealer.as_mut().expect("not finished").write(data, &mut self.out);
        self.written += data.len() as u64;
        let inline = self.file.is_none() && self.written <= self.inner.inline_threshold as u64;
        if !inline && self.out.len() >= WRITE_BATCH {
            self.spill().await?;
        }
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    async fn commit(mut self: Box<Self>, record: &Record) -> Result<(), StoreError> {
        self.sealer.take().expect("committed once").finish(&mut self.out);
        let inner = self.inner.clone();
        let (id, rkey) = (self.id, key(RECORD, &self.id));
        if inner.tree.contains_key(rkey)? {
            return Err(StoreError::Db("id exists".into()));
        }
        let mut batch = sled::Batch::default();
        if self.file.is_none() && self.written <= inner.inline_threshold as u64 {
            batch.insert(&key(BLOB, &id), std::mem::take(&mut self.out));
        } else {
            self.spill().await?;
            self.put_in_place().await?;
        }
        batch.insert(&key(KEY, &id), &key_entry(self.slot, self.algorithm));
        batch.insert(&rkey, record.encode());
        inner.tree.apply_batch(batch)?;
        // From here the record exists: even if the wait below times out, the key and content belong to it.
        self.committed = true;
        inner.gc.commit().await
    }

    async fn publish(&mut self, record: &Record) -> Result<bool, StoreError> {
        let inner = self.inner.clone();
        let (id, rkey) = (self.id, key(RECORD, &self.id));
        if inner.tree.contains_key(rkey)? {
            return Err(StoreError::Db("id exists".into()));
        }
        // Everything so far goes to the file, so readers find it there.
        self.spill().await?;
        let (progress, readers) = watch::channel(Progress { sealed: self.file_bytes, end: None });
        let erased = Arc::new(AtomicBool::new(false));
        let live = Live { tmp: self.tmp.clone(), progress: readers, erased: erased.clone() };
        // Readers must find the bytes from the moment a claim can see the record.
        inner.live.lock().expect("not poisoned").insert(id, live);
        self.published = Some((progress, erased));
        let mut batch = sled::Batch::default();
        batch.insert(&key(KEY, &id), &key_entry(self.slot, self.algorithm));
        batch.insert(&rkey, record.encode());
        inner.tree.apply_batch(batch)?;
        inner.gc.commit().await?;
        Ok(true)
    }

    async fn finish(mut self: Box<Self>) -> Result<(u64, Release), StoreError> {
        self.sealer.take().expect("finished once").finish(&mut self.out);
        self.spill().await?;
        self.put_in_place().await?;
        let inner = self.inner.clone();
        let (progress, erased) = self.published.take().expect("published");
        if erased.load(Ordering::Acquire) {
            // Erased while the last bytes went in: the erase may have missed the renamed file.
            let _ = fs::remove_file(inner.blobs.join(id_hex(&self.id)));
            self.published = Some((progress, erased));
            return Err(StoreError::Lost);
        }
        // Until the release, every reader (new ones too) reads the renamed file as a live one and waits at its end.
        let id = self.id;
        if let Some(live) = inner.live.lock().expect("not poisoned").get_mut(&id) {
            live.tmp = inner.blobs.join(id_hex(&id));
        }
        self.committed = true;
        let sealed = self.file_bytes;
        let release = Box::new(move || {
            inner.live.lock().expect("not poisoned").remove(&id);
            progress.send_modify(|p| *p = Progress { sealed, end: Some(true) });
        });
        Ok((self.written, release))
    }
}

impl Drop for SledUpload {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        if let Some((progress, _)) = self.published.take() {
            // The record owns the key now: the relay ends the link, which erases it. Readers hear of the end at once.
            progress.send_modify(|p| p.end = Some(false));
            let mut live = self.inner.live.lock().expect("not poisoned");
            if live.get(&self.id).is_some_and(|l| l.tmp == self.tmp) {
                live.remove(&self.id);
            }
            drop(live);
            let _ = fs::remove_file(&self.tmp);
            return;
        }
        // An abandoned upload (refused, too large, connection lost, failed commit) leaves nothing behind: its key
        // first, as on every end, then its bytes.
        if self.inner.keys.destroy(self.slot).is_ok() {
            self.inner.keys.release(self.slot);
        }
        let _ = fs::remove_file(&self.tmp);
        let _ = fs::remove_file(self.inner.blobs.join(id_hex(&self.id)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burnlink_core::keys::{Digest32, PublicMeta, SecretCheck};
    use burnlink_core::proto::CreateRequest;
    use burnlink_core::state::{State, Timestamp};
    use futures_util::StreamExt;

    const DEADLINE: Duration = Duration::from_secs(10);

    fn record() -> Record {
        let req = CreateRequest {
            ttl_secs: 600,
            claim_hash: Digest32([1; 32]),
            holder_hash: Digest32([3; 32]),
            manage_hash: Digest32([2; 32]),
            meta: PublicMeta { check: SecretCheck([0; 16]), kdf: None },
            live: None,
            rules: Default::default(),
            extra: Vec::new(),
            answer: None,
        };
        Record::new(&req, 3, Timestamp(0)).unwrap()
    }

    async fn put(store: &SledStore, id: &LinkId, data: &[u8]) {
        let mut up = store.upload(id).await.unwrap();
        for c in data.chunks(1000) {
            up.write(c).await.unwrap();
        }
        up.commit(&record()).await.unwrap();
    }

    async fn read(store: &SledStore, id: &LinkId, offset: u64) -> Option<Vec<u8>> {
        let mut s = store.open(id, offset).await.unwrap()?;
        let mut v = Vec::new();
        while let Some(b) = s.next().await {
            v.extend_from_slice(&b.unwrap());
        }
        Some(v)
    }

    fn tmp_files(dir: &Path) -> usize {
        fs::read_dir(dir.join("blobs/tmp")).unwrap().count()
    }

    fn live_record() -> Record {
        Record { uploading: true, ..record() }
    }

    /// Reads a live stream until `n` bytes arrived (or it ended).
    async fn read_n(s: &mut BlobStream, n: usize) -> Vec<u8> {
        let mut v = Vec::new();
        while v.len() < n {
            match s.next().await {
                Some(b) => v.extend_from_slice(&b.unwrap()),
                None => break,
            }
        }
        v
    }

    #[tokio::test]
    async fn a_published_upload_is_read_behind_its_writer_and_ends_only_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
        let id = LinkId([7; 16]);
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut up = store.upload(&id).await.unwrap();
        up.write(&data[..10_000]).await.unwrap();
        assert!(up.publish(&live_record()).await.unwrap());
        assert_eq!(store.get(&id).await.unwrap(), Some(live_record()), "the record is there, durably");
        let mut early = store.open(&id, 0).await.unwrap().unwrap();
        up.write(&data[10_000..600_000]).await.unwrap();
        // Whole sealed chunks reach the reader as they are written (the last partial one waits for more).
        let got = read_n(&mut early, 524_288).await;
        assert!(got[..] == data[..got.len()] && got.len() >= 524_288);
        let mut late = store.open(&id, 123_457).await.unwrap().unwrap();
        up.write(&data[600_000..]).await.unwrap();
        let (size, release) = up.finish().await.unwrap();
        assert_eq!(size, data.len() as u64);
        // Finished and stored, but the readers wait at the end until the relay has recorded it.
        let rest = read_n(&mut early, data.len() - got.len()).await;
        assert!(rest[..] == data[got.len()..]);
        let waiting = tokio::time::timeout(Duration::from_millis(200), early.next()).await;
        assert!(waiting.is_err(), "no end before the release");
        release();
        assert!(early.next().await.is_none(), "a clean end after the release");
        let late = read_n(&mut late, usize::MAX).await;
        assert!(late[..] == data[123_457..]);
        assert!(read(&store, &id, 999_999).await.unwrap() == data[999_999..], "stored as any other");
        assert_eq!(tmp_files(dir.path()), 0);
    }

    #[tokio::test]
    async fn a_published_upload_that_stops_short_ends_its_readers_with_upload_ended() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
        let (cut, erased) = (LinkId([8; 16]), LinkId([9; 16]));
        let data = vec![5u8; 300_000];
        let mut up = store.upload(&cut).await.unwrap();
        up.write(&data).await.unwrap();
        up.publish(&live_record()).await.unwrap();
        let mut reader = store.open(&cut, 0).await.unwrap().unwrap();
        assert_eq!(read_n(&mut reader, 262_144).await.len(), 262_144);
        drop(up);
        let end = loop {
            match reader.next().await {
                Some(Ok(_)) => continue,
                other => break other,
            }
        };
        let e = end.expect("an error, not a clean end").unwrap_err();
        assert!(super::super::is_upload_ended(&e), "{e}");
        assert_eq!(tmp_files(dir.path()), 0, "its bytes are gone");
        // The record and its key are the relay's to end (as UPLOAD_FAILED), which erases them.
        assert!(store.get(&cut).await.unwrap().is_some());
        store.erase(&cut).await.unwrap();

        // Erased mid-upload (a revoke): the upload's next write fails and nothing is left.
        let mut up = store.upload(&erased).await.unwrap();
        up.write(&data).await.unwrap();
        up.publish(&live_record()).await.unwrap();
        store.erase(&erased).await.unwrap();
        assert!(matches!(up.write(&data).await, Err(StoreError::Lost)));
        drop(up);
        assert_eq!(tmp_files(dir.path()), 0);
        assert!(store.open(&erased, 0).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn content_sealed_before_aes_with_a_four_byte_key_entry_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
        for (n, len) in [(1u8, 100usize), (2, 300_000)] {
            let id = LinkId([n; 16]);
            let data: Vec<u8> = (0..len).map(|i| (i % 247) as u8).collect();
            // Sealed as a relay before AES-256-GCM did: ChaCha20-Poly1305, and a key entry of the slot alone.
            let mut up: Box<dyn Upload> = Box::new(store.upload_sealed(&id, Algorithm::ChaCha20Poly1305).unwrap());
            up.write(&data).await.unwrap();
            up.commit(&record()).await.unwrap();
            let (slot, _) = store.slot(&id).unwrap().unwrap();
            store.inner.tree.insert(key(KEY, &id), &slot.to_be_bytes()).unwrap();
            assert_eq!(store.slot(&id).unwrap(), Some((slot, Algorithm::ChaCha20Poly1305)));
            assert!(read(&store, &id, 0).await.unwrap() == data, "len {len}");
            assert!(read(&store, &id, 70_000.min(len as u64)).await.unwrap() == data[70_000.min(len)..]);
            // New content takes the preferred algorithm, and the byte says so.
            let fresh = LinkId([n + 10; 16]);
            put(&store, &fresh, &data).await;
            assert_eq!(store.slot(&fresh).unwrap().unwrap().1, Algorithm::preferred());
            assert!(read(&store, &fresh, 0).await.unwrap() == data);
        }
    }

    #[tokio::test]
    async fn inline_and_file_content_commit_read_from_any_offset_and_erase() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
        let (small, big) = (LinkId([1; 16]), LinkId([2; 16]));
        let big_data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        put(&store, &small, b"abc").await;
        put(&store, &big, &big_data).await;
        assert_eq!(read(&store, &small, 0).await.unwrap(), b"abc");
        assert_eq!(read(&store, &small, 2).await.unwrap(), b"c");
        for off in [0u64, 1, 65_535, 65_536, 65_537, 299_999, 300_000] {
            assert!(read(&store, &big, off).await.unwrap() == big_data[off as usize..], "offset {off}");
        }
        assert!(dir.path().join("blobs").join(id_hex(&big)).exists());
        assert_eq!(tmp_files(dir.path()), 0);
        // Committing the same id twice is refused, and the refused upload leaves nothing.
        let mut up = store.upload(&small).await.unwrap();
        up.write(b"x").await.unwrap();
        assert!(up.commit(&record()).await.is_err());
        assert_eq!(read(&store, &small, 0).await.unwrap(), b"abc");

        store.erase(&big).await.unwrap();
        store.erase(&small).await.unwrap();
        store.erase(&small).await.unwrap(); // idempotent
        assert!(read(&store, &small, 0).await.is_none() && read(&store, &big, 0).await.is_none());
        assert!(!dir.path().join("blobs").join(id_hex(&big)).exists());
    }

    #[tokio::test]
    async fn swap_is_compare_and_set() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
        let id = LinkId([3; 16]);
        let r = record();
        put(&store, &id, b"x").await;
        let mut next = r.clone();
        next.state = State::Revoked;
        assert!(store.swap(&id, &r, Some(&next)).await.unwrap());
        assert!(!store.swap(&id, &r, Some(&next)).await.unwrap(), "stale swap must fail");
        assert_eq!(store.get(&id).await.unwrap().unwrap().state, State::Revoked);
        assert!(store.swap(&id, &next, None).await.unwrap());
        assert!(store.get(&id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn abandoned_uploads_orphans_and_stray_keys_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let (id, ended) = (LinkId([4; 16]), LinkId([5; 16]));
        {
            let (store, _) = SledStore::open(dir.path(), 16, DEADLINE).unwrap();
            // An upload dropped mid-way removes its temp file and destroys its key itself.
            let mut up = store.upload(&id).await.unwrap();
            up.write(&[0; 300_000]).await.unwrap();
            assert_eq!(tmp_files(dir.path()), 1);
            drop(up);
            assert_eq!(tmp_files(dir.path()), 0);
            // A crash leaves a temp file, a blob file without a record, an ended record with its content, and a key
            // nobody owns.
            fs::write(dir.path().join("blobs/tmp/x.part"), b"partial").unwrap();
            fs::write(dir.path().join("blobs").join(id_hex(&id)), b"orphan").unwrap();
            put(&store, &ended, &[1; 100]).await;
            let r = record();
            let mut gone = r.clone();
            gone.state = State::Consumed;
            assert!(store.swap(&ended, &r, Some(&gone)).await.unwrap());
            let _stray = store.inner.keys.alloc().unwrap();
            store.inner.gc.commit().await.unwrap();
        }
        let (store, report) = SledStore::open(dir.path(), 16, DEADLINE).unwrap();
        assert_eq!(
            report,
            SweepReport { temp_files: 1, orphan_files: 2, keys_destroyed: 2, ..SweepReport::default() },
            "the ended link's key and the stray key are destroyed"
        );
        assert!(read(&store, &id, 0).await.is_none() && read(&store, &ended, 0).await.is_none());
        assert_eq!(store.get(&ended).await.unwrap().unwrap().state, State::Consumed, "tombstone stays");
    }

    #[tokio::test]
    async fn a_live_link_whose_key_is_gone_is_removed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let id = LinkId([6; 16]);
        {
            let (store, _) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
            put(&store, &id, b"secret").await;
        }
        fs::remove_file(dir.path().join("keys")).unwrap();
        let (store, report) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
        assert_eq!((report.lost_links, report.orphan_inline), (1, 1));
        assert!(store.get(&id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_data_dir_from_an_older_relay_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("db")).unwrap();
        let err = SledStore::open(dir.path(), 4096, DEADLINE).err().unwrap();
        assert!(err.to_string().contains("older relay"), "{err}");
    }

    #[tokio::test]
    async fn scan_pages_through_records_and_reports_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 4096, DEADLINE).unwrap();
        for i in 0..25u8 {
            put(&store, &LinkId([i; 16]), b"x").await;
        }
        store.inner.tree.insert(key(RECORD, &LinkId([7; 16])), &b"garbage"[..]).unwrap();
        let (mut seen, mut bad, mut after) = (0, 0, None);
        loop {
            let batch = store.scan(after, 10).await.unwrap();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= 10);
            after = Some(batch.last().unwrap().0);
            seen += batch.len();
            bad += batch.iter().filter(|(_, r)| r.is_err()).count();
        }
        assert_eq!((seen, bad), (25, 1));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_serves_concurrent_callers_with_shared_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SledStore::open(dir.path(), 16, DEADLINE).unwrap();
        let store = Arc::new(store);
        let before = store.inner.gc.counts().0;
        let mut tasks = Vec::new();
        for t in 0..16u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50u8 {
                    store.inner.tree.insert([t, i], &[1]).unwrap();
                    store.inner.gc.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(store.inner.gc.counts(), (before + 800, before + 800));
    }
}
