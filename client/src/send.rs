//! Sending: collect what to send, seal it into an age payload on a blocking thread while it streams to the relay,
//! and return the link. Constant memory whatever the size: files are read as they are encrypted and sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use burnlink_core::container::{padme, SafePath, MAX_TEXT};
use burnlink_core::envelope::{payload_overhead, Sealer};
use burnlink_core::keys::{AnswerProof, ManageToken, NewLink};
use burnlink_core::link::{Link, LinkId, RelayOrigin, RequestLink};
use burnlink_core::policy::{Rules, MAX_ALLOW};
use burnlink_core::proto::{AnswerTo, CreateRequest, Recipient, MAX_RECIPIENTS};
use burnlink_core::secrecy::SecretString;
use burnlink_core::state::{CreateError, Timestamp, MAX_TTL, MIN_TTL};
use burnlink_core::zeroize::Zeroizing;
use bytes::Bytes;

use crate::transport::{Patience, TransportError};
use crate::{Error, Progress, RelayClient};

/// What to send.
pub enum Payload {
    /// A text secret.
    Text(Zeroizing<String>),
    /// Files and folders.
    Paths(Vec<PathBuf>),
}

impl Payload {
    /// Checks what can be checked before connecting: a text secret is not empty and within [`MAX_TEXT`].
    pub fn check(&self) -> Result<(), Error> {
        match self {
            Payload::Text(t) => payload_text_ok(t),
            Payload::Paths(_) => Ok(()),
        }
    }
}

fn payload_text_ok(t: &str) -> Result<(), Error> {
    if t.is_empty() {
        return Err(Error::Input("the secret is empty".into()));
    }
    // The decoders refuse a longer text (a hostile payload must not make them buffer GiBs), so a link made from one
    // would only burn and report "damaged".
    let n = t.len() as u64;
    if n > MAX_TEXT {
        return Err(Error::Input(format!(
            "the text is {:.1} MiB, more than the {} MiB a text secret may hold; save it to a file and send the file",
            n as f64 / MIB,
            MAX_TEXT / (1 << 20)
        )));
    }
    Ok(())
}

/// How to send.
pub struct SendOptions {
    /// Time to live, 5 min ..= 30 days.
    pub ttl: Duration,
    /// Optional passphrase (a second channel).
    pub passphrase: Option<SecretString>,
    /// The template and network allowlist (checked here before anything is uploaded; a template that requires a
    /// passphrase needs one in `passphrase`: front ends generate it and show it).
    pub rules: Rules,
    /// How many recipients: one upload, a link for each, each with its own keys, burning on its own (1 ..=
    /// [`MAX_RECIPIENTS`]). More than one makes the links once everything is stored (`live` is not used).
    pub recipients: usize,
    /// `Some`: answer this request for a secret instead of making a link to share: the payload is encrypted to the
    /// requester's key from the request link, and only the requester can open it. Not with a passphrase, rules,
    /// several recipients or `live`.
    pub answer: Option<RequestLink>,
    /// `Some`: a live link, handed to this as soon as the relay has made it visible (its `bytes` are the plaintext
    /// bytes that will be sent), while the upload goes on; a recipient may open it at once. `None`: the link exists
    /// only once everything is stored.
    pub live: Option<OnLink>,
}

/// Hears a live link the moment it exists.
pub type OnLink = Arc<dyn Fn(&Sent) + Send + Sync>;

/// A created link. Its `Debug` shows neither the link nor the manage token.
pub struct Sent {
    /// The https link, with the secret in the fragment (for an answer: the request link it answered).
    pub link: Zeroizing<String>,
    /// The link id.
    pub id: LinkId,
    /// When it expires unopened.
    pub expires_at: Timestamp,
    /// The sender's token for status, revoke and watch.
    pub manage: ManageToken,
    /// Plaintext bytes sent (files or text).
    pub bytes: u64,
    /// Symbolic links and special files that were skipped.
    pub skipped: Vec<PathBuf>,
    /// The other recipients' links of the same upload (see [`SendOptions::recipients`]).
    pub more: Vec<SentLink>,
}

/// Another recipient's link of an upload. Its `Debug` shows neither the link nor the manage token.
pub struct SentLink {
    /// The https link, with its own secret in the fragment.
    pub link: Zeroizing<String>,
    /// Its id.
    pub id: LinkId,
    /// Its own manage token.
    pub manage: ManageToken,
}

impl std::fmt::Debug for SentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentLink").field("id", &self.id).finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Entry {
    Dir(SafePath),
    File(SafePath, PathBuf, u64),
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("link", &"<redacted>")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .field("bytes", &self.bytes)
            .field("skipped", &self.skipped)
            .field("more", &self.more)
            .finish_non_exhaustive()
    }
}

/// The files and folders under `paths`, named relative to each path's parent, in a stable order.
fn collect(paths: &[PathBuf]) -> Result<(Vec<Entry>, u64, Vec<PathBuf>), Error> {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut total = 0u64;
    let mut tops = std::collections::HashSet::new();
    fn name_of(p: &Path) -> Result<String, Error> {
        p.file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .ok_or_else(|| Error::Input(format!("{}: the name is not valid UTF-8 or has no file name", p.display())))
    }
    fn walk(
        dir: &Path,
        rel: &str,
        out: &mut Vec<Entry>,
        total: &mut u64,
        skipped: &mut Vec<PathBuf>,
    ) -> Result<(), Error> {
        let mut children: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::Input(format!("{}: {e}", dir.display())))?
            .collect::<Result<_, _>>()?;
        children.sort_by_key(|e| e.file_name());
        for c in children {
            let path = c.path();
            let name = format!("{rel}/{}", name_of(&path)?);
            let safe = SafePath::new(&name).map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
            let ft = c.file_type()?;
            if ft.is_dir() {
                out.push(Entry::Dir(safe));
                walk(&path, &name, out, total, skipped)?;
            } else if ft.is_file() {
                let len = c.metadata()?.len();
                *total += len;
                out.push(Entry::File(safe, path, len));
            } else {
                skipped.push(path);
            }
        }
        Ok(())
    }
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::Input(format!("{}: {e}", p.display())))?;
        let abs = std::fs::canonicalize(p)?;
        let name = name_of(&abs)?;
        if !tops.insert(name.clone()) {
            return Err(Error::Input(format!("two things named `{name}` were given; rename one")));
        }
        let safe = SafePath::new(&name).map_err(|e| Error::Input(format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            entries.push(Entry::Dir(safe));
            walk(&abs, &name, &mut entries, &mut total, &mut skipped)?;
        } else if meta.is_file() {
            total += meta.len();
            entries.push(Entry::File(safe, abs, meta.len()));
        } else {
            return Err(Error::Input(format!("{}: not a file or folder", p.display())));
        }
    }
    if entries.is_empty() {
        return Err(Error::Input("nothing to send".into()));
    }
    Ok((entries, total, skipped))
}

const MIB: f64 = (1 << 20) as f64;

/// Estimated ciphertext size, for progress bars.
fn estimate(entries: &[Entry], text: usize) -> u64 {
    let tar: u64 = if entries.is_empty() {
        2048 + (text as u64).div_ceil(512) * 512
    } else {
        entries
            .iter()
            .map(|e| match e {
                Entry::Dir(p) => 512 + if p.as_str().len() > 99 { 1024 } else { 0 },
                Entry::File(p, _, len) => 512 + len.div_ceil(512) * 512 + if p.as_str().len() > 99 { 1024 } else { 0 },
            })
            .sum::<u64>()
            + 1024
    };
    let padded = padme(tar);
    padded + payload_overhead(padded) + 200
}

/// Encrypts `payload` to a new link and uploads it. `progress` hears (ciphertext bytes sent, estimated total).
pub async fn send(
    client: &RelayClient,
    origin: &RelayOrigin,
    payload: Payload,
    opts: SendOptions,
    progress: Progress,
) -> Result<Sent, Error> {
    if !(MIN_TTL..=MAX_TTL).contains(&opts.ttl) {
        return Err(Error::Input("expiry must be between 5 minutes and 30 days".into()));
    }
    if let Some(t) = opts.rules.policy {
        if opts.ttl > t.max_ttl() {
            return Err(Error::Input(CreateError::PolicyTtl(t).to_string()));
        }
        if t.passphrase_required() && opts.passphrase.is_none() {
            return Err(Error::Input(CreateError::PolicyPassphrase(t).to_string()));
        }
    }
    if !(1..=MAX_RECIPIENTS).contains(&opts.recipients) {
        return Err(Error::Input(format!("one upload gives 1 to {MAX_RECIPIENTS} links")));
    }
    if opts.rules.allow.len() > MAX_ALLOW {
        return Err(Error::Input(CreateError::Allowlist.to_string()));
    }
    if opts.answer.is_some() && (opts.passphrase.is_some() || !opts.rules.is_empty() || opts.recipients != 1) {
        return Err(Error::Input(CreateError::AnswerExtras.to_string()));
    }
    let (entries, text, bytes, skipped) = match payload {
        Payload::Text(t) => {
            payload_text_ok(&t)?;
            let n = t.len() as u64;
            (Vec::new(), Some(t), n, Vec::new())
        }
        Payload::Paths(paths) => {
            let (e, n, skipped) = tokio::task::spawn_blocking(move || collect(&paths)).await.map_err(join)??;
            (e, None, n, skipped)
        }
    };
    let total = estimate(&entries, text.as_ref().map_or(0, |t| t.len()));
    let passphrase = opts.passphrase;
    let n = opts.recipients.max(1);
    // Argon2id (64 MiB) and key derivation: real work, off the async threads. Each recipient's link has its own
    // secret, so its own keys and passphrase salt.
    let mut links = tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|_| NewLink::generate(&mut rand::rngs::OsRng, passphrase.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Input(e.to_string()))
    })
    .await
    .map_err(join)??;
    let manages: Vec<_> = (0..n).map(|_| ManageToken::generate(&mut rand::rngs::OsRng)).collect();
    let recipients: Vec<_> = match &opts.answer {
        Some(to) => vec![to.age_recipient()],
        None => links.iter().map(|l| l.keys.recipient()).collect(),
    };
    let extra = links[1..]
        .iter()
        .zip(&manages[1..])
        .map(|(l, m)| Recipient {
            claim_hash: l.keys.claim_key().digest(),
            holder_hash: l.keys.holder().digest(),
            manage_hash: m.digest(),
            meta: l.meta,
        })
        .collect();
    let others: Vec<_> = links.drain(1..).zip(manages[1..].iter().cloned()).collect();
    let new = links.remove(0);
    let manage = manages[0].clone();
    // Several recipients' links are made once everything is stored: each must find the whole content.
    // An answer's link is only for the requester, who lists it once it exists: nothing to hand out early.
    let live = if n > 1 || opts.answer.is_some() { None } else { opts.live.clone() };
    let req = CreateRequest {
        ttl_secs: opts.ttl.as_secs() as u32,
        claim_hash: new.keys.claim_key().digest(),
        holder_hash: new.keys.holder().digest(),
        manage_hash: manage.digest(),
        meta: new.meta,
        live: live.is_some().then_some(total),
        rules: opts.rules.clone(),
        extra,
        answer: opts.answer.as_ref().map(|to| AnswerTo { request: to.id, proof: AnswerProof::of(&to.recipient) }),
    };
    let link_of = |id: LinkId| match &opts.answer {
        Some(to) => Zeroizing::new(to.to_https(origin)),
        None => Link { relay: Some(origin.clone()), id, secret: new.secret.clone() }.to_https(origin),
    };
    let on_created = |id: LinkId, expires_at: Timestamp| {
        crate::timing::mark("created");
        if let Some(f) = &live {
            let (manage, skipped) = (manage.clone(), skipped.clone());
            let early = Sent { link: link_of(id), id, expires_at, manage, bytes, skipped, more: Vec::new() };
            f(&early);
        }
    };

    // A relay that is busy says how long to wait before anything is stored: seal and upload again after that, within
    // a bound. Files are read again; the text is still in memory.
    let mut patience = Patience::default();
    let (id, expires_at, more_ids) = loop {
        let attempt = upload(
            client,
            req.clone(),
            recipients.clone(),
            entries.clone(),
            text.clone(),
            total,
            progress.clone(),
            &on_created,
        )
        .await;
        match attempt {
            Err(Error::Relay(TransportError::RetryAfter(after))) => {
                if !patience.wait(after).await {
                    return Err(TransportError::RetryAfter(after).into());
                }
            }
            Err(Error::Relay(TransportError::Gone)) if opts.answer.is_some() => return Err(Error::RequestClosed),
            other => break other?,
        }
    };
    crate::timing::mark("stored");
    if more_ids.len() != others.len() {
        return Err(TransportError::Protocol("the relay made a different number of links".into()).into());
    }
    let more = others
        .into_iter()
        .zip(more_ids)
        .map(|((l, manage), id)| SentLink {
            link: Link { relay: Some(origin.clone()), id, secret: l.secret.clone() }.to_https(origin),
            id,
            manage,
        })
        .collect();
    Ok(Sent { link: link_of(id), id, expires_at, manage, bytes, skipped, more })
}

/// Seals the payload on a blocking thread while it streams to the relay.
#[allow(clippy::too_many_arguments)]
async fn upload(
    client: &RelayClient,
    req: CreateRequest,
    recipients: Vec<burnlink_core::age::x25519::Recipient>,
    entries: Vec<Entry>,
    text: Option<Zeroizing<String>>,
    total: u64,
    progress: Progress,
    on_created: crate::transport::OnCreated<'_>,
) -> Result<(LinkId, Timestamp, Vec<LinkId>), Error> {
    // The sealing thread hands over whole chunks, each sent without another copy; a few in flight keep both sides busy.
    let (tx, chunks) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    let seal = tokio::task::spawn_blocking(move || -> Result<(), Error> {
        let mut s = Sealer::to_recipients(&recipients, ChunkWriter::new(tx))?;
        if let Some(t) = text {
            s.add_text(t.as_bytes())?;
        }
        for e in entries {
            match e {
                Entry::Dir(p) => s.add_dir(&p)?,
                Entry::File(p, path, len) => {
                    let f = std::fs::File::open(&path).map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
                    s.add_file(&p, len, f).map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
                }
            }
        }
        // Only a finished payload sends the end mark: a failure (or a panic) closes the channel without it, which the
        // upload reports as a failed source, never as a finished upload.
        s.finish()?.end()?;
        Ok(())
    });
    let report = move |n: u64| progress(n.min(total), total);
    let created = client.create_streaming(req, chunks, &report, on_created).await;
    let sealed = seal.await.map_err(join)?;
    match created {
        // The relay refused before reading everything: its answer explains more than the broken pipe it caused.
        Err(e @ TransportError::RetryAfter(_)) | Err(e @ TransportError::Relay { .. }) => Err(e.into()),
        created => {
            // A sealing error (unreadable file) explains a failed upload better than the broken pipe it caused.
            sealed?;
            Ok(created?)
        }
    }
}

/// Sealed bytes per chunk handed to the upload.
const CHUNK: usize = 256 * 1024;
/// Chunks between the sealing thread and the upload.
const CHUNKS_IN_FLIGHT: usize = 8;

/// The sealing thread's output: fills a chunk, hands it over whole (no copy on the way to QUIC), and blocks while
/// [`CHUNKS_IN_FLIGHT`] wait, so memory stays bounded.
struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn new(tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) -> Self {
        Self { tx, buf: Vec::with_capacity(CHUNK) }
    }

    fn hand_over(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| std::io::ErrorKind::BrokenPipe.into())
    }

    /// The last chunk, then the end mark (an empty chunk).
    fn end(mut self) -> std::io::Result<()> {
        self.hand_over()?;
        self.tx.blocking_send(Ok(Bytes::new())).map_err(|_| std::io::ErrorKind::BrokenPipe.into())
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.hand_over()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn join(e: tokio::task::JoinError) -> Error {
    Error::Io(std::io::Error::other(format!("worker failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_the_link_nor_the_manage_token() {
        let manage = ManageToken::from_bytes([0x5a; 32]);
        let token = manage.to_text();
        let sent = Sent {
            link: Zeroizing::new("https://r.example/o/AAAAAAAAAAAAAAAAAAAAAA#FRAGMENT-SECRET".into()),
            id: LinkId([0; 16]),
            expires_at: Timestamp(0),
            manage,
            bytes: 5,
            skipped: Vec::new(),
            more: vec![SentLink {
                link: Zeroizing::new("https://r.example/o/BBBBBBBBBBBBBBBBBBBBBB#OTHER-SECRET".into()),
                id: LinkId([1; 16]),
                manage: ManageToken::from_bytes([0x5b; 32]),
            }],
        };
        let shown = format!("{sent:?} {sent:#?}");
        assert!(!shown.contains("OTHER-SECRET"), "{shown}");
        assert!(!shown.contains("FRAGMENT-SECRET") && !shown.contains(&token[..12]), "{shown}");
    }
}
