//! The private record of a download in progress, so that a receiver killed mid-transfer can resume with the same
//! link while the lease lasts: `<state dir>/<id>.lease` holds the lease token, the link's public metadata and the
//! hash of its claim key, which the relay holds too (never a key). The next `open` downloads again from the start
//! under that lease, after checking the passphrase it was given against that hash, so a mistyped passphrase never
//! costs the download. Removed after the ack.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use burnlink_core::keys::{Digest32, KdfParams, LeaseToken, PublicMeta, SecretCheck};
use burnlink_core::link::LinkId;

/// Where the CLI keeps resume state: `$BURNLINK_STATE_DIR`, else the platform state (or local data) dir.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BURNLINK_STATE_DIR") {
        return d.into();
    }
    dirs::state_dir().or_else(dirs::data_local_dir).unwrap_or_else(std::env::temp_dir).join("burnlink")
}

/// A download in progress.
#[derive(Clone)]
pub struct ResumeState {
    /// The lease.
    pub lease: LeaseToken,
    /// Ciphertext size.
    pub size: u64,
    /// What peek said (peek says "gone" once claimed, so it is kept here).
    pub meta: PublicMeta,
    /// `SHA-256(C)` of the claim that won: a resume checks the passphrase against it. `None` in older state files.
    pub claim_hash: Option<Digest32>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Writes `body` to `path` for this user alone (a 0600 file in a 0700 folder, made if missing), durably: a temporary
/// file synced, then renamed over `path`, so a crash leaves the old contents or the new, never half of either.
pub(crate) fn write_private(path: &Path, body: &[u8]) -> io::Result<()> {
    let dir = path.parent().expect("state files live in a folder");
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(body)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// Path of one link's state file.
#[derive(Clone)]
pub struct StateFiles {
    /// `<id>.lease`.
    pub lease: PathBuf,
}

impl StateFiles {
    /// The files for `id` under `dir`.
    pub fn new(dir: &Path, id: &LinkId) -> Self {
        let name = hex(&id.0);
        Self { lease: dir.join(format!("{name}.lease")) }
    }

    /// Reads a saved state, if any.
    pub fn load(&self) -> io::Result<Option<ResumeState>> {
        let text = match fs::read_to_string(&self.lease) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad = || io::Error::other(format!("unreadable resume state {}", self.lease.display()));
        let mut f = std::collections::HashMap::new();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                f.insert(k, v);
            }
        }
        let get = |k: &str| f.get(k).copied().ok_or_else(bad);
        let kdf = match get("kdf")? {
            "none" => None,
            v => {
                let p: Vec<&str> = v.split(',').collect();
                if p.len() != 4 {
                    return Err(bad());
                }
                Some(KdfParams {
                    salt: unhex(p[0]).ok_or_else(bad)?,
                    m_kib: p[1].parse().map_err(|_| bad())?,
                    t: p[2].parse().map_err(|_| bad())?,
                    p: p[3].parse().map_err(|_| bad())?,
                })
            }
        };
        Ok(Some(ResumeState {
            lease: LeaseToken::from_bytes(unhex(get("lease")?).ok_or_else(bad)?),
            size: get("size")?.parse().map_err(|_| bad())?,
            meta: PublicMeta { check: SecretCheck(unhex(get("check")?).ok_or_else(bad)?), kdf },
            claim_hash: match f.get("claim") {
                None => None,
                Some(h) => Some(Digest32(unhex(h).ok_or_else(bad)?)),
            },
        }))
    }

    /// Saves the state (mode 0600 in a 0700 folder), durably, before the first ciphertext byte is read.
    pub fn save(&self, s: &ResumeState) -> io::Result<()> {
        let kdf = match &s.meta.kdf {
            None => "none".to_owned(),
            Some(k) => format!("{},{},{},{}", hex(&k.salt), k.m_kib, k.t, k.p),
        };
        let mut body = format!(
            "version=1\nlease={}\nsize={}\ncheck={}\nkdf={kdf}\n",
            hex(s.lease.expose()),
            s.size,
            hex(&s.meta.check.0)
        );
        if let Some(h) = &s.claim_hash {
            body.push_str(&format!("claim={}\n", hex(&h.0)));
        }
        write_private(&self.lease, body.as_bytes())
    }

    /// Removes the state.
    pub fn remove(&self) {
        let _ = fs::remove_file(&self.lease);
    }
}
