//! Opening: peek, derive the keys, claim with the proof, then stream the ciphertext into the decryptor; files are staged and moved into place only after the last chunk verified; then ack.
//!
//! A dropped connection is retried in place while the lease lasts; a receiver killed mid-transfer resumes on the next
//! `open` of the same link (see [`crate::resume`]).

use std::io::{self, BufRead, Read};
use std::path::PathBuf;
use std::time::Duration;

use burnlink_core::container::Summary;
use burnlink_core::envelope::{self, OpenError};
use burnlink_core::keys::{KeyError, LinkKeys, PublicMeta, SecretCheck};
use burnlink_core::link::Link;
use burnlink_core::proto::{ClientKind, LinkInfo};
use burnlink_core::secrecy::SecretString;
use burnlink_core::zeroize::Zeroizing;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::resume::{ResumeState, StateFiles};
use crate::send::join;
use crate::sink::StagingSink;
use crate::timing;
use crate::transport::{Claim, Peek, PlainClaim};
use crate::{Connector, Error, Progress, RelayClient};

/// Where opened files go.
#[derive(Clone, Debug)]
pub enum Output {
    /// Into this folder (never overwriting).
    Dir(PathBuf),
    /// A single file's bytes to stdout (staged in the state folder first).
    Stdout,
}

/// How to open.
pub struct OpenOptions {
    /// Where files go.
    pub out: Output,
    /// The passphrase, for links that have one.
    pub passphrase: Option<SecretString>,
    /// Private folder for resume state.
    pub state_dir: PathBuf,
    /// What kind of client this is, told to the relay with the claim for the sender's event log.
    pub client: ClientKind,
}

/// What a link held. Its `Debug` never shows a revealed text.
pub enum Opened {
    /// A text secret.
    Text(Zeroizing<String>),
    /// Files, saved at these paths (top-level entries).
    Files {
        /// Final paths of the top-level entries.
        saved: Vec<PathBuf>,
        /// What the payload held.
        summary: Summary,
    },
    /// A single file written to stdout.
    Stdout {
        /// Bytes written.
        bytes: u64,
    },
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Opened::Text(t) => write!(f, "Text(<{} bytes redacted>)", t.len()),
            Opened::Files { saved, summary } => {
                f.debug_struct("Files").field("saved", saved).field("summary", summary).finish()
            }
            Opened::Stdout { bytes } => f.debug_struct("Stdout").field("bytes", bytes).finish(),
        }
    }
}

/// What is known about a link without opening it. Never burns.
pub async fn peek(connector: &Connector, link: &Link) -> Result<LinkInfo, Error> {
    let client = connector.connect().await?;
    let peeked = client.peek(link.id).await;
    // Closed on every path: a connection left to time out keeps a slot of this address's limit at the relay.
    client.close().await;
    match peeked? {
        Peek::Fresh(info) => Ok(info),
        Peek::Gone => Err(Error::Gone),
    }
}

async fn unlock(
    link: &Link,
    meta: burnlink_core::keys::PublicMeta,
    pass: Option<SecretString>,
) -> Result<LinkKeys, Error> {
    let secret = link.secret.clone();
    tokio::task::spawn_blocking(move || LinkKeys::unlock(&secret, &meta, pass.as_ref())).await.map_err(join)?.map_err(
        |e| match e {
            KeyError::WrongSecret => Error::WrongKey,
            KeyError::PassphraseRequired => Error::PassphraseRequired,
            KeyError::KdfParams => Error::Damaged("the link's passphrase parameters are out of range".into()),
            other => Error::Damaged(other.to_string()),
        },
    )
}

/// Reads chunks from a channel as a blocking reader (for the decryptor's thread).
struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let have = self.fill_buf()?;
            let n = buf.len().min(have.len());
            buf[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

/// Its buffer is the chunk at hand, so the decryptor reads straight from what QUIC received.
impl BufRead for ChannelReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.cur = b,
                None => break,
            }
        }
        Ok(&self.cur)
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.cur.len());
        bytes::Buf::advance(&mut self.cur, amt);
    }
}

/// How many times a dropped download is resumed before giving up.
const RESUME_TRIES: u32 = 5;
/// A download at least this large moves to a connection made for large transfers (see
/// [`Connector::connect_bulk`]): its first bytes are dropped and fetched again there under the lease.
const BULK: u64 = 8 << 20;

/// Opens `link`: the whole flow. `progress` hears (ciphertext bytes received, total).
pub async fn open(connector: &Connector, link: &Link, opts: OpenOptions, progress: Progress) -> Result<Opened, Error> {
    let mut client = connector.connect().await?;
    let opened = open_on(&mut client, connector, link, opts, progress).await;
    // Closed on every path, "gone" included: a connection left to time out keeps a slot of this address's limit at
    // the relay, and sixteen recipients racing from one office would soon find the door shut.
    client.close().await;
    opened
}

async fn open_on(
    client: &mut RelayClient,
    connector: &Connector,
    link: &Link,
    opts: OpenOptions,
    progress: Progress,
) -> Result<Opened, Error> {
    let files = StateFiles::new(&opts.state_dir, &link.id);
    let saved = files.load()?;

    // A claim's lease is saved durably for a resume after a crash. The save runs beside the download rather than
    // before it (a text is downloaded and verified in the time the sync takes); it is complete before anything
    // removes the file and before this returns.
    let mut saving = None;
    let (state, keys, first_body) = match saved {
        Some(state) => {
            // A download of this link was interrupted: resume it under the saved lease, once the passphrase is known
            // to be the one that claimed it (a wrong one must not cost the download).
            let keys = unlock(link, state.meta, opts.passphrase.clone()).await?;
            if state.claim_hash.is_some_and(|h| keys.claim_key().digest() != h) {
                return Err(Error::WrongPassphraseOnResume);
            }
            (state, keys, None)
        }
        None => {
            // Most links have no passphrase: claim with the keys of one, in the round trip a peek would take. A link
            // that has one answers as a peek (nothing counted), and the usual peek, unlock, claim follows.
            let plain = LinkKeys::derive(&link.secret, None).map_err(|e| Error::Damaged(e.to_string()))?;
            let plain_meta = PublicMeta { check: SecretCheck::of(&link.secret), kdf: None };
            let via = Some(opts.client);
            let first = client.claim_plain_as(link.id, plain.holder().clone(), plain.claim_key().clone(), via).await?;
            timing::mark("claimed");
            let (claimed, meta, keys) = match first {
                PlainClaim::Claim(c) if !matches!(c, Claim::Gone) => (c, plain_meta, plain),
                other => {
                    let info = match other {
                        PlainClaim::NeedsPassphrase(info) => info,
                        // Gone, or not this link's holder (a damaged link): a peek tells which, and burns nothing.
                        PlainClaim::Claim(_) => match client.peek(link.id).await? {
                            Peek::Fresh(i) => i,
                            Peek::Gone => return Err(Error::Gone),
                        },
                    };
                    let keys = unlock(link, info.meta, opts.passphrase.clone()).await?;
                    let claimed =
                        client.claim_as(link.id, keys.holder().clone(), keys.claim_key().clone(), via).await?;
                    (claimed, info.meta, keys)
                }
            };
            match claimed {
                Claim::Won { lease, body, .. } => {
                    let claim_hash = Some(keys.claim_key().digest());
                    let state = ResumeState { lease, size: body.size, meta, claim_hash };
                    let (f, s) = (files.clone(), state.clone());
                    saving = Some(tokio::task::spawn_blocking(move || f.save(&s)));
                    (state, keys, Some(body))
                }
                Claim::WrongProof { attempts_left } => return Err(Error::WrongPassphrase { attempts_left }),
                Claim::Gone => return Err(Error::Gone),
            }
        }
    };

    // A large download goes on over a connection that probes for large packets; the lease holder resumes from 0.
    let mut first_body = first_body;
    // Whether the claim found the upload still running: what a lost lease then means, even if the relay goes away
    // before the first resume below.
    let claimed_live = first_body.as_ref().is_some_and(|b| b.live);
    if state.size >= BULK {
        if let Ok(bulk) = connector.connect_bulk().await {
            first_body = None;
            std::mem::replace(client, bulk).close().await;
        }
    }

    // After a crash the download restarts from byte 0 under the saved lease (the relay serves the lease holder any
    // offset), so no ciphertext copy is kept on disk; a dropped connection within this run resumes where it stopped.
    let mut received = 0u64;
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    let (out_dir, stdout) = match &opts.out {
        Output::Dir(d) => (d.clone(), false),
        Output::Stdout => (opts.state_dir.clone(), true),
    };
    let tag = link.id.short();
    let decrypt = tokio::task::spawn_blocking(move || -> Result<(Summary, StagingSink), Error> {
        let mut sink = StagingSink::new(&out_dir, &tag)?;
        let input = ChannelReader { rx, cur: Bytes::new() };
        let summary = envelope::open_buffered(input, &keys, &mut sink).map_err(|e| match e {
            OpenError::Sink(e) => Error::Io(e),
            OpenError::Source(e) => Error::Io(e),
            other => Error::Damaged(other.to_string()),
        })?;
        Ok((summary, sink))
    });

    let download = async {
        let mut body = first_body;
        let mut tries = 0;
        // A live body (the sender still uploading) ends with its stream; a stored one at `size`.
        let (mut size, mut live) = (state.size, claimed_live);
        progress(received, size);
        loop {
            if !live && received >= size {
                break;
            }
            let b = match body.take() {
                Some(b) => b,
                None => match client.resume(link.id, state.lease.clone(), received).await {
                    Ok(Some(b)) => b,
                    // A live download whose lease is gone: the sender's upload stopped (a relay that restarts
                    // mid-upload ends the link as "upload failed"), which is what the recipient needs to hear.
                    Ok(None) if live => return Err(Error::UploadFailed),
                    Ok(None) => return Err(Error::Gone),
                    Err(e) => {
                        tries += 1;
                        if tries > RESUME_TRIES {
                            return Err(e.into());
                        }
                        tokio::time::sleep(Duration::from_millis(250 << tries.min(4))).await;
                        if let Ok(c) = connector.connect().await {
                            std::mem::replace(client, c).close().await;
                        }
                        continue;
                    }
                },
            };
            (size, live) = (b.size, b.live);
            let mut b = b;
            loop {
                match b.chunk().await {
                    // The clean end of a live body is the upload's end: the relay cuts it off otherwise.
                    Ok(None) if live => return Ok(()),
                    Ok(None) => break,
                    Ok(Some(mut chunk)) => {
                        if !live {
                            chunk.truncate(size.saturating_sub(received) as usize);
                        }
                        let n = chunk.len();
                        if n == 0 {
                            continue;
                        }
                        if tx.send(chunk).await.is_err() {
                            // The decryptor stopped early: it has an error to report.
                            return Ok(());
                        }
                        received += n as u64;
                        progress(received, size.max(received));
                    }
                    Err(e) if crate::transport::is_upload_failed(&e) => return Err(Error::UploadFailed),
                    Err(e) if crate::transport::is_revoked(&e) => return Err(Error::Revoked),
                    Err(_) => break, // dropped: resume from `received`
                }
            }
        }
        Ok::<(), Error>(())
    };
    let downloaded = download.await;
    timing::mark("downloaded");
    drop(tx);
    let decrypted = decrypt.await;
    timing::mark("verified");
    if let Some(save) = saving {
        match save.await {
            Ok(Ok(())) => {}
            // The download goes on: only a resume after a crash needed the file.
            Ok(Err(e)) => tracing::warn!("could not keep the lease for a resume after a crash: {e}"),
            Err(e) => tracing::warn!("could not keep the lease for a resume after a crash: {e}"),
        }
    }
    let decrypted = decrypted.map_err(join)?;
    if let Err(e) = downloaded {
        if matches!(e, Error::Gone | Error::UploadFailed | Error::Revoked) {
            files.remove(); // the lease is over; nothing left to resume
        }
        return Err(e);
    }
    let (summary, mut sink) = match decrypted {
        Ok(v) => v,
        Err(e) => {
            files.remove();
            return Err(e);
        }
    };

    // Verified: move the files into place, then tell the relay to delete the ciphertext.
    let opened = if let Some(text) = sink.take_text() {
        drop(sink);
        Opened::Text(text)
    } else if stdout {
        let staged = sink.staged();
        if summary.files != 1 || summary.dirs != 0 {
            return Err(Error::Input("the link holds several files; use --out DIR".into()));
        }
        let mut f = tokio::fs::File::open(&staged[0]).await?;
        let bytes = tokio::io::copy(&mut f, &mut tokio::io::stdout()).await?;
        tokio::io::stdout().flush().await?;
        drop(sink);
        Opened::Stdout { bytes }
    } else {
        let saved = tokio::task::spawn_blocking(move || sink.commit()).await.map_err(join)??;
        Opened::Files { saved, summary }
    };
    let acked = match client.ack(link.id, state.lease.clone()).await {
        Ok(a) => Ok(a),
        Err(_) => match connector.connect().await {
            Ok(c) => {
                let acked = c.ack(link.id, state.lease.clone()).await;
                std::mem::replace(client, c).close().await;
                acked
            }
            Err(e) => Err(e),
        },
    };
    timing::mark("acked");
    if let Err(e) = acked {
        // The content is safe; the relay deletes the ciphertext when the lease ends anyway.
        tracing::warn!("could not confirm receipt to the relay: {e}");
    }
    files.remove();
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decryptor reads QUIC's chunks in place: whatever sizes they come in, across the header, the nonce and the
    /// chunk boundaries, it gets the same payload; a cut-off stream is never a finished one.
    #[test]
    fn the_channel_reader_hands_any_chunking_to_the_decryptor_whole() {
        use burnlink_core::container::{MemorySink, SafePath};
        use burnlink_core::link::LinkSecret;
        let keys = LinkKeys::derive(&LinkSecret::from_bytes([9; 32]), None).unwrap();
        let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut s = envelope::Sealer::new(&keys, Vec::new()).unwrap();
        s.add_file(&SafePath::new("a.bin").unwrap(), content.len() as u64, &content[..]).unwrap();
        let sealed = s.finish().unwrap();
        let pieces = |cut: usize| -> ChannelReader {
            let (tx, rx) = mpsc::channel(sealed.len());
            // 1, 2, 3, … byte pieces at first (the header byte by byte), then large odd ones.
            let (mut at, mut n) = (0, 1);
            while at < cut {
                let end = (at + n).min(cut);
                tx.try_send(Bytes::copy_from_slice(&sealed[at..end])).unwrap();
                at = end;
                n = if n < 40 { n + 1 } else { 65_537 + n % 13 };
            }
            ChannelReader { rx, cur: Bytes::new() }
        };
        let mut sink = MemorySink::default();
        let summary = envelope::open_buffered(pieces(sealed.len()), &keys, &mut sink).unwrap();
        assert_eq!(summary.files, 1);
        assert_eq!(sink.files[0].1, content);
        for cut in [sealed.len() - 1, sealed.len() - 70_000, 30] {
            let err = envelope::open_buffered(pieces(cut), &keys, &mut MemorySink::default()).unwrap_err();
            assert!(!matches!(err, OpenError::Sink(_)), "cut at {cut}: {err:?}");
        }
    }

    #[test]
    fn debug_never_shows_a_revealed_text() {
        let shown = format!("{:?}", Opened::Text(Zeroizing::new("the vault code is 0451".into())));
        assert!(!shown.contains("0451"), "{shown}");
    }
}
