/*!
Durable file helpers and group commit.

- Private folders (0700) and files created with their final mode (0600), never chmod-ed after the fact, so there is
  no moment at which a key file is readable by others.
- [`GroupCommit`]: writers apply a change, take a [`Ticket`], and wait until one flusher thread has run the store's
  sync past it. One sync covers every change registered before it began, which is what lets thousands of small
  durable transitions per second through one disk. Waits are asynchronous (they hold no thread) and have a
  deadline, so a failing disk gives a clear error instead of a request that never ends.
*/

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::StoreError;

/// Creates `dir` and its missing parents with mode 0700, and closes `dir` to 0700 if it already existed with another
/// mode (made beforehand by a script's `mkdir -p`, say, with the umask's mode).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Makes a directory's entries (creations, renames, removals) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Creates a new file with `mode` from the start (O_CREAT|O_EXCL), for temp files that will hold stored content.
pub fn create_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

/// Writes `data` to `path` durably: a temp file created with `mode`, fsync, rename, fsync of the folder. For small
/// files such as generated keys and certificates.
pub fn write_file_durably(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// A position in the store's write sequence; durable once the flusher has synced past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Pending tickets below which the flusher lingers.
const LINGER_BELOW: u64 = 16;
/// How long it lingers.
const LINGER: Duration = Duration::from_micros(200);

/// The sync the flusher runs: everything written before it began must be on stable storage when it returns.
pub type SyncFn = Box<dyn FnMut() -> io::Result<()> + Send>;

/// Group commit over one sync function.
pub struct GroupCommit {
    requested: Mutex<u64>,
    wake: Condvar,
    done: tokio::sync::watch::Sender<u64>,
    stop: AtomicBool,
    deadline: Duration,
}

impl GroupCommit {
    /// Starts the flusher thread. `deadline` bounds every wait.
    pub fn start(mut sync: SyncFn, deadline: Duration) -> (Arc<Self>, std::thread::JoinHandle<()>) {
        let gc = Arc::new(Self {
            requested: Mutex::new(0),
            wake: Condvar::new(),
            done: tokio::sync::watch::channel(0).0,
            stop: AtomicBool::new(false),
            deadline,
        });
        let me = gc.clone();
        let mut stats = (Instant::now(), 0u64, 0u64); // since, syncs, first ticket
        let handle = std::thread::Builder::new()
            .name("burnlink-flush".into())
            .spawn(move || loop {
                if stats.0.elapsed() >= Duration::from_secs(5) {
                    let done = *me.done.borrow();
                    if stats.1 > 0 {
                        tracing::debug!(syncs = stats.1, writes = done - stats.2, "group commit");
                    }
                    stats = (Instant::now(), 0, done);
                }
                let mut idle = false;
                {
                    let mut req = me.requested.lock().expect("flush lock");
                    while *req <= *me.done.borrow() {
                        if me.stop.load(Ordering::Acquire) {
                            return;
                        }
                        idle = true;
                        req = me.wake.wait(req).expect("flush lock");
                    }
                }
                // Under load (writes arrived while the last sync ran), linger a moment when few wait, so that one
                // sync serves more of them. A write that found the flusher idle is synced at once: a lone request
                // (a text's create, claim and ack) never waits for company that is not coming.
                let pending = *me.requested.lock().expect("flush lock") - *me.done.borrow();
                if !idle && pending < LINGER_BELOW {
                    std::thread::sleep(LINGER);
                }
                let target = *me.requested.lock().expect("flush lock");
                match sync() {
                    Ok(()) => {
                        me.done.send_replace(target);
                        stats.1 += 1;
                    }
                    Err(e) => {
                        tracing::error!("sync failed, retrying: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
            .expect("spawn flusher");
        (gc, handle)
    }

    /// Stops the flusher once nothing is pending.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        let _guard = self.requested.lock().expect("flush lock");
        self.wake.notify_all();
    }

    /// Registers a change already applied.
    pub fn ticket(&self) -> Ticket {
        let mut req = self.requested.lock().expect("flush lock");
        *req += 1;
        self.wake.notify_one();
        Ticket(*req)
    }

    /// Waits until `t` is durable, at most the deadline.
    pub async fn wait(&self, t: Ticket) -> Result<(), StoreError> {
        let mut rx = self.done.subscribe();
        let waited = tokio::time::timeout(self.deadline, rx.wait_for(|d| *d >= t.0)).await.map(|r| r.map(|_| ()));
        match waited {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(StoreError::Db("the flusher stopped".into())),
            Err(_) => Err(StoreError::Timeout(self.deadline)),
        }
    }

    /// Registers a change and waits until it is durable.
    pub async fn commit(&self) -> Result<(), StoreError> {
        self.wait(self.ticket()).await
    }

    /// Blocking wait, for start-up.
    pub fn wait_blocking(&self, t: Ticket) -> Result<(), StoreError> {
        let start = Instant::now();
        let rx = self.done.subscribe();
        while *rx.borrow() < t.0 {
            if start.elapsed() > self.deadline {
                return Err(StoreError::Timeout(self.deadline));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    #[cfg(test)]
    pub fn counts(&self) -> (u64, u64) {
        (*self.requested.lock().unwrap(), *self.done.borrow())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sync_that_never_returns_gives_a_clear_error_at_the_deadline() {
        let stuck: SyncFn = Box::new(|| {
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        });
        let (gc, _flusher) = GroupCommit::start(stuck, Duration::from_millis(200));
        let t = Instant::now();
        assert!(matches!(gc.commit().await, Err(StoreError::Timeout(_))));
        assert!(t.elapsed() < Duration::from_secs(2));
        gc.shutdown();
    }
}
