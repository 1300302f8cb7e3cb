/*!
The file of storage keys, `DATA/keys`: fixed 32-byte slots, one per link that holds content. A burn overwrites its
link's slot with zeros in place and syncs the file, so the key is gone from the disk rather than left in a log or a
freed block. An all-zero slot is free.

Writes here are made durable by the store's flusher ([`KeySlots::sync`]), which syncs this file before the database:
a new key is on disk before the record that needs it. A slot returns to the free list only once the end state of
its link and the zeroing are both durable, so no durable record that holds content ever names a reused slot.

Overwriting in place erases the old bytes on ext4, XFS and other update-in-place file systems. On copy-on-write file
systems (btrfs, ZFS) and flash that remaps blocks it is best effort: run the data dir on an encrypted volume there.
*/

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::seal::StorageKey;

const SLOT: u64 = 32;
/// Slots added when the file is full.
const GROW: u32 = 1024;

/// The key file and its free list.
pub struct KeySlots {
    file: fs::File,
    state: Mutex<Slots>,
    /// Written since the last sync: a sync of an unchanged file (most syncs: claims, acks, lease extensions) is
    /// skipped, which saves a text's round trips a device flush each.
    dirty: AtomicBool,
}

struct Slots {
    free: Vec<u32>,
    len: u32,
}

impl KeySlots {
    /// Opens (or creates, mode 0600) the key file. No slot is free until [`KeySlots::reconcile`].
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)?;
        let len = u32::try_from(file.metadata()?.len() / SLOT).map_err(|_| io::Error::other("key file too large"))?;
        Ok(Self { file, state: Mutex::new(Slots { free: Vec::new(), len }), dirty: AtomicBool::new(false) })
    }

    /// The key in `slot`, or `None` if it was destroyed (or never made durable).
    pub fn read(&self, slot: u32) -> io::Result<Option<StorageKey>> {
        let mut b = [0u8; 32];
        match self.file.read_exact_at(&mut b, u64::from(slot) * SLOT) {
            Ok(()) => Ok(StorageKey::from_bytes(b)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes a free slot and writes a fresh key into it (durable with the next sync).
    pub fn alloc(&self) -> io::Result<(u32, StorageKey)> {
        let slot = {
            let mut s = self.state.lock().expect("key slots lock");
            if s.free.is_empty() {
                let new_len = s.len.checked_add(GROW).ok_or_else(|| io::Error::other("key file full"))?;
                self.file.set_len(u64::from(new_len) * SLOT)?;
                let old_len = s.len;
                s.free.extend((old_len..new_len).rev());
                s.len = new_len;
            }
            s.free.pop().expect("just grown")
        };
        let key = StorageKey::generate();
        if let Err(e) = self.file.write_all_at(key.expose(), u64::from(slot) * SLOT) {
            self.release(slot);
            return Err(e);
        }
        self.dirty.store(true, Ordering::SeqCst);
        Ok((slot, key))
    }

    /// Overwrites `slot` with zeros (durable with the next sync). The slot stays taken until [`KeySlots::release`].
    pub fn destroy(&self, slot: u32) -> io::Result<()> {
        self.file.write_all_at(&[0u8; 32], u64::from(slot) * SLOT)?;
        self.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Returns a destroyed slot to the free list.
    pub fn release(&self, slot: u32) {
        self.state.lock().expect("key slots lock").free.push(slot);
    }

    /// Makes every write that completed before this call durable. Each write sets the flag once it is done, and the
    /// flag is cleared before the sync: a write done before the clearing is in this sync; one done after sets the
    /// flag again for the next.
    pub fn sync(&self) -> io::Result<()> {
        if !self.dirty.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        self.file.sync_data().inspect_err(|_| self.dirty.store(true, Ordering::SeqCst))
    }

    /// At start-up: zeroes every slot not in `owned` (keys an interrupted burn or upload left behind) and frees it.
    /// Returns how many keys it destroyed.
    pub fn reconcile(&self, owned: &HashSet<u32>) -> io::Result<usize> {
        let mut s = self.state.lock().expect("key slots lock");
        let mut destroyed = 0;
        let mut free = Vec::new();
        for slot in (0..s.len).rev() {
            if owned.contains(&slot) {
                continue;
            }
            if self.read(slot)?.is_some() {
                self.destroy(slot)?;
                destroyed += 1;
            }
            free.push(slot);
        }
        s.free = free;
        drop(s);
        self.sync()?;
        Ok(destroyed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_destroy_release_and_reconcile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let ks = KeySlots::open(&path).unwrap();
        ks.reconcile(&HashSet::new()).unwrap();
        let (a, ka) = ks.alloc().unwrap();
        let (b, _) = ks.alloc().unwrap();
        assert_ne!(a, b);
        assert_eq!(ks.read(a).unwrap().unwrap().expose(), ka.expose());
        ks.destroy(a).unwrap();
        assert!(ks.read(a).unwrap().is_none());
        ks.release(a);
        assert_eq!(ks.alloc().unwrap().0, a, "a released slot is reused");
        ks.sync().unwrap();
        let raw = fs::read(&path).unwrap();
        assert_eq!(raw.len() as u64, u64::from(GROW) * SLOT);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

        // Start-up keeps owned keys and destroys the rest.
        drop(ks);
        let ks = KeySlots::open(&path).unwrap();
        assert_eq!(ks.reconcile(&[b].into_iter().collect()).unwrap(), 1);
        assert!(ks.read(a).unwrap().is_none() && ks.read(b).unwrap().is_some());
        assert_ne!(ks.alloc().unwrap().0, b, "an owned slot is never handed out");
    }

    #[test]
    fn a_sync_covers_every_finished_write_and_skips_an_unchanged_file() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KeySlots::open(&dir.path().join("keys")).unwrap();
        ks.reconcile(&HashSet::new()).unwrap();
        assert!(!ks.dirty.load(Ordering::SeqCst), "reconcile synced");
        let (a, _) = ks.alloc().unwrap();
        assert!(ks.dirty.load(Ordering::SeqCst), "a new key waits for the next sync");
        ks.sync().unwrap();
        assert!(!ks.dirty.load(Ordering::SeqCst));
        ks.sync().unwrap();
        ks.destroy(a).unwrap();
        assert!(ks.dirty.load(Ordering::SeqCst), "a destroyed key waits for the next sync");
        ks.sync().unwrap();
        assert!(!ks.dirty.load(Ordering::SeqCst));
    }
}
