//! Where opened payloads go: a staging folder inside the output folder, moved into place only after the last chunk
//! verified, never overwriting anything. Files are on stable storage before [`StagingSink::commit`] returns, because
//! the ack that follows makes the relay destroy the only other copy: large files are synced in the background as they
//! are written, so the last sync has little left to do, and the many small files of a folder are made durable by one
//! file-system sync (Linux `syncfs`) rather than one each.

/// Bytes written between background syncs of a large file.
const SYNC_EVERY: u64 = 64 << 20;

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use burnlink_core::container::{SafePath, Sink};
use burnlink_core::zeroize::Zeroizing;

/// Stages a payload's files under `<out>/.burnlink-<tag>.partial/` (mode 0700). Dropped without
/// [`StagingSink::commit`], it removes everything it wrote.
pub struct StagingSink {
    out: PathBuf,
    staging: PathBuf,
    current: Option<BufWriter<fs::File>>,
    /// Bytes of the current file not yet covered by a sync.
    unsynced: u64,
    /// A background sync of the current file.
    syncing: Option<std::thread::JoinHandle<io::Result<()>>>,
    text: Option<Zeroizing<String>>,
    top: Vec<String>,
    committed: bool,
}

impl StagingSink {
    /// Creates the staging folder in `out` (which must exist).
    pub fn new(out: &Path, tag: &str) -> io::Result<Self> {
        remove_stale(out, tag);
        let mut suffix = [0u8; 4];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut suffix);
        let staging = out.join(format!(".burnlink-{tag}-{:08x}.partial", u32::from_le_bytes(suffix)));
        let mut b = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&staging)?;
        Ok(Self {
            out: out.to_path_buf(),
            staging,
            current: None,
            unsynced: 0,
            syncing: None,
            text: None,
            top: Vec::new(),
            committed: false,
        })
    }

    fn path_of(&mut self, p: &SafePath) -> PathBuf {
        let first = p.components().next().expect("safe paths are not empty").to_owned();
        if !self.top.contains(&first) {
            self.top.push(first);
        }
        let mut full = self.staging.clone();
        full.extend(p.components());
        full
    }

    /// The text secret, if the payload was one.
    pub fn take_text(&mut self) -> Option<Zeroizing<String>> {
        self.text.take()
    }

    /// The staged top-level entries, in payload order (for `--out -`).
    pub fn staged(&self) -> Vec<PathBuf> {
        self.top.iter().map(|t| self.staging.join(t)).collect()
    }

    /// Moves every top-level entry into the output folder, renaming `name` to `name (1)` and so on where something
    /// of that name exists. Returns the final paths.
    pub fn commit(mut self) -> io::Result<Vec<PathBuf>> {
        // Every staged file and folder entry on stable storage, then the renames, then the output folder's entries.
        #[cfg(target_os = "linux")]
        rustix::fs::syncfs(fs::File::open(&self.staging)?)?;
        let mut saved = Vec::new();
        for name in self.top.clone() {
            let from = self.staging.join(&name);
            let mut n = 0;
            loop {
                let to = self.out.join(numbered(&name, n));
                if to.symlink_metadata().is_err() {
                    match rename_noreplace(&from, &to) {
                        Ok(()) => {
                            saved.push(to);
                            break;
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                }
                n += 1;
            }
        }
        // The new names, durable too.
        fs::File::open(&self.out)?.sync_all()?;
        self.committed = true;
        fs::remove_dir_all(&self.staging)?;
        Ok(saved)
    }
}

/// Removes staging folders an earlier, killed attempt at the same link left in `out` (nothing in them was verified).
fn remove_stale(out: &Path, tag: &str) {
    let prefix = format!(".burnlink-{tag}-");
    let Ok(entries) = fs::read_dir(out) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".partial") && e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// `name`, `name (1)`, `name (2)`... keeping the extension: `a.txt` -> `a (1).txt`.
fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{} ({n}){}", &name[..i], &name[i..]),
        _ => format!("{name} ({n})"),
    }
}

/// Renames without replacing an existing target: a file is hard-linked then unlinked (link fails if the target
/// exists); a folder rename fails on a non-empty target, and an empty one was checked just before.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    if from.is_dir() {
        if to.symlink_metadata().is_ok() {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        fs::rename(from, to)
    } else {
        fs::hard_link(from, to)?;
        fs::remove_file(from)
    }
}

impl Drop for StagingSink {
    fn drop(&mut self) {
        if !self.committed {
            self.current = None;
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

impl Sink for StagingSink {
    fn text(&mut self, text: Zeroizing<String>) -> io::Result<()> {
        self.text = Some(text);
        Ok(())
    }

    fn dir(&mut self, path: &SafePath) -> io::Result<()> {
        let p = self.path_of(path);
        fs::create_dir_all(p)
    }

    fn begin_file(&mut self, path: &SafePath, _size: u64) -> io::Result<()> {
        let p = self.path_of(path);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        let f = fs::OpenOptions::new().write(true).create_new(true).open(p)?;
        // The decoder's pieces are this size, so each goes to the file without a copy into the buffer.
        self.current = Some(BufWriter::with_capacity(burnlink_core::container::FILE_READ, f));
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let w = self.current.as_mut().ok_or_else(|| io::Error::other("no file open"))?;
        w.write_all(data)?;
        self.unsynced += data.len() as u64;
        if self.unsynced >= SYNC_EVERY && self.syncing.as_ref().is_none_or(|s| s.is_finished()) {
            if let Some(prev) = self.syncing.take() {
                prev.join().map_err(|_| io::Error::other("a sync thread failed"))??;
            }
            w.flush()?;
            let f = w.get_ref().try_clone()?;
            self.syncing = Some(std::thread::spawn(move || {
                f.sync_data()?;
                // What is on disk need not stay in the page cache: dropping it keeps a large download from pressing
                // on the cache (and, where the cache is capped, on the writer).
                #[cfg(target_os = "linux")]
                let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
                Ok(())
            }));
            self.unsynced = 0;
        }
        Ok(())
    }

    fn end_file(&mut self) -> io::Result<()> {
        if let Some(w) = self.current.take() {
            let f = w.into_inner().map_err(|e| e.into_error())?;
            let large = self.syncing.is_some();
            if let Some(prev) = self.syncing.take() {
                prev.join().map_err(|_| io::Error::other("a sync thread failed"))??;
            }
            // A large file's last stretch now; small ones wait for the one sync at commit (on Linux).
            if large || !cfg!(target_os = "linux") {
                f.sync_data()?;
            }
            self.unsynced = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_never_overwrites_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), b"mine").unwrap();
        let mut s = StagingSink::new(dir.path(), "t").unwrap();
        s.begin_file(&SafePath::new("a.txt").unwrap(), 3).unwrap();
        s.write(b"new").unwrap();
        s.end_file().unwrap();
        s.begin_file(&SafePath::new("d/x").unwrap(), 1).unwrap();
        s.write(b"x").unwrap();
        s.end_file().unwrap();
        let saved = s.commit().unwrap();
        assert_eq!(saved, vec![dir.path().join("a (1).txt"), dir.path().join("d")]);
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"mine");
        assert_eq!(fs::read(dir.path().join("a (1).txt")).unwrap(), b"new");
        assert_eq!(fs::read(dir.path().join("d/x")).unwrap(), b"x");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3, "staging folder removed");

        let mut s = StagingSink::new(dir.path(), "t").unwrap();
        s.begin_file(&SafePath::new("b").unwrap(), 1).unwrap();
        s.write(b"b").unwrap();
        drop(s);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3, "nothing left after an unverified payload");
    }

    #[test]
    fn numbering_keeps_extensions() {
        assert_eq!(numbered("a.tar.gz", 2), "a.tar (2).gz");
        assert_eq!(numbered(".env", 1), ".env (1)");
        assert_eq!(numbered("dir", 3), "dir (3)");
    }
}
