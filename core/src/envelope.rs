/*!
The age v1 envelope around a container: sealing on the sender's side, opening on the recipient's.

The header is the `age` crate's: X25519 recipient stanzas with an ephemeral key, HKDF-SHA256, the header MAC. The
payload, ChaCha20-Poly1305 STREAM in 64 KiB chunks with a last-chunk flag, is [`crate::stream`]'s (the same bytes on
ring's faster cipher). This module wires them to the [`container`] and turns age's errors into ones a person can act
on. Both directions stream, so memory stays constant whatever the payload size.
*/

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::rc::Rc;

use crate::container::{self, ContainerError, ContainerWriter, SafePath, Sink, Summary};
use crate::keys::LinkKeys;
use crate::stream::{StreamOpener, StreamSealer};

/// Why a payload could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The link's key does not open this payload.
    #[error("wrong key: this payload was not made for this link")]
    WrongSecret,
    /// The passphrase does not open this payload.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The payload was damaged or cut off: a header, MAC or chunk failed to verify.
    #[error("the payload is damaged or incomplete")]
    Damaged,
    /// Not an age v1 payload to an X25519 recipient.
    #[error("unsupported payload format")]
    Unsupported,
    /// The decrypted container breaks a rule (unsafe names, unknown entry types...).
    #[error("{0}")]
    Malformed(String),
    /// Reading the ciphertext failed (network, disk).
    #[error("reading the payload failed: {0}")]
    Source(#[source] io::Error),
    /// The sink failed to store what was decrypted.
    #[error("{0}")]
    Sink(#[source] io::Error),
}

/// Encrypts a container to one link. Add entries, then [`Sealer::finish`]; dropping it unfinished yields a payload
/// that fails to open, never a valid truncated one.
pub struct Sealer<W: Write> {
    inner: ContainerWriter<StreamSealer<W>>,
}

impl<W: Write> Sealer<W> {
    /// Writes the age header to `out` and starts the container.
    pub fn new(keys: &LinkKeys, out: W) -> io::Result<Self> {
        Self::to_recipient(&keys.recipient(), out)
    }

    /// Seals to an explicit age recipient (request-a-secret links carry the requester's public key).
    pub fn to_recipient(recipient: &age::x25519::Recipient, out: W) -> io::Result<Self> {
        Self::to_recipients(std::slice::from_ref(recipient), out)
    }

    /// Seals once to several recipients (one upload, a link for each): each link's identity opens the same payload,
    /// and a recipient learns how many stanzas the header has, nothing of the other links' keys.
    pub fn to_recipients(recipients: &[age::x25519::Recipient], out: W) -> io::Result<Self> {
        Ok(Self { inner: ContainerWriter::new(StreamSealer::new(recipients, out)?) })
    }

    /// See [`ContainerWriter::add_text`].
    pub fn add_text(&mut self, text: &[u8]) -> io::Result<()> {
        self.inner.add_text(text)
    }

    /// See [`ContainerWriter::add_dir`].
    pub fn add_dir(&mut self, path: &SafePath) -> io::Result<()> {
        self.inner.add_dir(path)
    }

    /// See [`ContainerWriter::add_file`].
    pub fn add_file(&mut self, path: &SafePath, size: u64, data: impl Read) -> io::Result<()> {
        self.inner.add_file(path, size, data)
    }

    /// Pads, writes the final chunk, and returns the output writer.
    pub fn finish(self) -> io::Result<W> {
        self.inner.finish()?.finish()
    }
}

/// Remembers whether the underlying reader failed, so that a network error is not reported as a damaged payload.
struct Tagged<R> {
    inner: R,
    failed: Rc<Cell<bool>>,
}

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed.set(true))
    }
}

impl<R: BufRead> BufRead for Tagged<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let failed = &self.failed;
        self.inner.fill_buf().inspect_err(|_| failed.set(true))
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt)
    }
}

/// Decrypts and decodes a payload into `sink`. Returns `Ok` only once the final chunk was verified; until then
/// the sink must treat what it received as provisional.
pub fn open<R: Read>(input: R, keys: &LinkKeys, sink: &mut dyn Sink) -> Result<Summary, OpenError> {
    open_buffered(BufReader::with_capacity(64 * 1024 + 16, input), keys, sink)
}

/// [`open`] from a reader with its own buffer (one that already holds the bytes in memory saves a copy of each).
pub fn open_buffered<R: BufRead>(input: R, keys: &LinkKeys, sink: &mut dyn Sink) -> Result<Summary, OpenError> {
    let failed = Rc::new(Cell::new(false));
    let source = Tagged { inner: input, failed: failed.clone() };
    let io_err = |e: io::Error| if failed.get() { OpenError::Source(e) } else { OpenError::Damaged };

    let reader = StreamOpener::new(source, &keys.identity()).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys if keys.with_passphrase() => OpenError::WrongPassphrase,
        age::DecryptError::NoMatchingKeys => OpenError::WrongSecret,
        age::DecryptError::Io(e) => io_err(e),
        age::DecryptError::UnknownFormat => OpenError::Unsupported,
        _ => OpenError::Damaged,
    })?;
    container::decode(reader, sink).map_err(|e| match e {
        ContainerError::Read(e) => io_err(e),
        ContainerError::Sink(e) => OpenError::Sink(e),
        ContainerError::Malformed(m) => OpenError::Malformed(m),
    })
}

/// The exact ciphertext length age produces for `plaintext` bytes: header aside, 16 bytes of tag per 64 KiB chunk
/// (an empty plaintext still has one chunk). For progress bars and upload caps.
pub fn payload_overhead(plaintext: u64) -> u64 {
    const CHUNK: u64 = 64 * 1024;
    let chunks = plaintext.div_ceil(CHUNK).max(1);
    chunks * 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::MemorySink;
    use crate::link::LinkSecret;

    #[test]
    fn source_errors_are_not_reported_as_damage() {
        let keys = LinkKeys::derive(&LinkSecret::from_bytes([5; 32]), None).unwrap();
        let mut s = Sealer::new(&keys, Vec::new()).unwrap();
        s.add_text(b"hi").unwrap();
        let ct = s.finish().unwrap();
        struct Flaky<'a>(&'a [u8], usize);
        impl Read for Flaky<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 >= 300 {
                    return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
                }
                let n = buf.len().min(self.0.len() - self.1).min(50);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let err = open(Flaky(&ct, 0), &keys, &mut MemorySink::default()).unwrap_err();
        assert!(matches!(err, OpenError::Source(ref e) if e.kind() == io::ErrorKind::ConnectionReset), "{err:?}");
    }

    #[test]
    fn overhead_counts_chunks() {
        assert_eq!(payload_overhead(0), 16);
        assert_eq!(payload_overhead(65536), 16);
        assert_eq!(payload_overhead(65537), 32);
    }
}
