/*!
age v1's payload (the STREAM of ChaCha20-Poly1305 chunks), sealed and opened with ring's ChaCha20-Poly1305.

Written by hand for speed: the `age` crate's STREAM (RustCrypto's ChaCha20 and Poly1305, plus a copy per chunk) was
the largest cost of a large send or open (about 40 % of the recipient's CPU on 1 GiB); ring's assembly does the
same work in well under half the time. Everything else stays the `age` crate's: it writes and parses the header,
wraps and unwraps the file key, and checks the header's MAC. This module learns the file key through a recipient or
identity that wraps the real X25519 one ([`Capture`]), and the payload nonce from the bytes age wrote or read.

The format, from the age v1 spec (and the same as the `age` crate's `StreamWriter` and `StreamReader`):

```text
payload key = HKDF-SHA256(salt = 16-byte nonce after the header, ikm = file key, info = "payload")
payload     = chunk_0 || ... || chunk_n       chunk_i = ChaCha20-Poly1305(payload key,
                                                  nonce = i as 11 bytes big-endian || (1 if i = n else 0),
                                                  plaintext bytes [i * 64 KiB, (i + 1) * 64 KiB))
```

Only the last chunk may be shorter than 64 KiB, and it may be empty only when the whole plaintext is. The interop
tests (the `age` crate both ways, the `age` CLI, the browser's age-encryption) and the vectors hold it to that.
*/

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, BufRead, Read, Write};

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use zeroize::Zeroizing;

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const SEALED: usize = CHUNK + TAG;
/// Bytes of the nonce between the header and the payload.
pub const NONCE: usize = 16;

/// The payload key of `file_key` and `nonce`, by age's own HKDF.
fn payload_key(file_key: &[u8; 16], nonce: &[u8; NONCE]) -> LessSafeKey {
    let okm = Zeroizing::new(age_core::primitives::hkdf(nonce, b"payload", file_key));
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, okm.as_ref()).expect("a 32-byte key"))
}

/// The nonce of chunk `index`.
fn chunk_nonce(index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes()); // the counter's top 3 bytes stay 0: 2^64 chunks is plenty
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// A recipient or identity that does what the X25519 one it wraps does, and keeps the file key it saw: the one
/// thing the `age` crate does not hand out, and the STREAM needs.
pub struct Capture<T> {
    inner: T,
    file_key: RefCell<Option<Zeroizing<[u8; 16]>>>,
}

impl<T> Capture<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self { inner, file_key: RefCell::new(None) }
    }

    fn keep(&self, key: &FileKey) {
        *self.file_key.borrow_mut() = Some(Zeroizing::new(*key.expose_secret()));
    }

    fn take(&self) -> Option<Zeroizing<[u8; 16]>> {
        self.file_key.borrow_mut().take()
    }
}

impl<T: age::Recipient + ?Sized> age::Recipient for Capture<&T> {
    fn wrap_file_key(&self, file_key: &FileKey) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        self.keep(file_key);
        self.inner.wrap_file_key(file_key)
    }
}

impl<T: age::Identity + ?Sized> age::Identity for Capture<&T> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        let found = self.inner.unwrap_stanza(stanza);
        if let Some(Ok(key)) = &found {
            self.keep(key);
        }
        found
    }
}

/// Seals a payload: plaintext in, chunks out. Call [`StreamSealer::finish`]; dropped unfinished, what was written
/// has no last chunk and fails to open.
pub struct StreamSealer<W: Write> {
    out: W,
    key: LessSafeKey,
    index: u64,
    /// The chunk being filled, with room for its tag.
    chunk: Vec<u8>,
    /// A chunk failed to go out: the stream has a hole, so everything after fails too.
    broken: bool,
}

fn broken() -> io::Error {
    io::Error::other("an earlier write of this payload failed")
}

impl<W: Write> StreamSealer<W> {
    /// Writes age's header for `recipients` (and its nonce) to `out`, and seals what follows under its file key.
    pub fn new(recipients: &[age::x25519::Recipient], mut out: W) -> io::Result<Self> {
        let captured: Vec<Capture<&age::x25519::Recipient>> = recipients.iter().map(Capture::new).collect();
        let enc = age::Encryptor::with_recipients(captured.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| io::Error::other(e.to_string()))?;
        // age writes the header and the nonce as it starts its own stream, which is dropped unused.
        let mut header = Vec::with_capacity(256);
        drop(enc.wrap_output(&mut header)?);
        let file_key = captured.iter().find_map(Capture::take).ok_or_else(|| io::Error::other("no file key"))?;
        let nonce: [u8; NONCE] = header[header.len() - NONCE..].try_into().expect("age writes a 16-byte nonce");
        out.write_all(&header)?;
        Ok(Self {
            out,
            key: payload_key(&file_key, &nonce),
            index: 0,
            chunk: Vec::with_capacity(SEALED),
            broken: false,
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        if self.broken {
            return Err(broken());
        }
        self.broken = true; // until this chunk is out whole
        let tag = self
            .key
            .seal_in_place_separate_tag(chunk_nonce(self.index, last), Aad::empty(), &mut self.chunk)
            .map_err(|_| io::Error::other("chunk sealing failed"))?;
        self.chunk.extend_from_slice(tag.as_ref());
        self.out.write_all(&self.chunk)?;
        self.chunk.clear();
        self.index += 1;
        self.broken = false;
        Ok(())
    }

    /// Seals the last chunk (full, short or, for an empty plaintext, empty) and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        Ok(self.out)
    }
}

impl<W: Write> Write for StreamSealer<W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        if self.broken {
            return Err(broken());
        }
        let n = buf.len();
        while !buf.is_empty() {
            // A full chunk goes out only when more follows: the last one must carry the last flag.
            if self.chunk.len() == CHUNK {
                self.seal(false)?;
            }
            let take = buf.len().min(CHUNK - self.chunk.len());
            self.chunk.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A `BufRead` that keeps what it is read of, for the nonce age reads after the header.
struct Recorded<R> {
    inner: R,
    seen: Vec<u8>,
}

impl<R: BufRead> Read for Recorded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Recorded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(b) = self.inner.fill_buf() {
            self.seen.extend_from_slice(&b[..amt.min(b.len())]);
        }
        self.inner.consume(amt);
    }
}

/// Why a payload's header did not open: age's own error.
pub type HeaderError = age::DecryptError;

/// Opens a payload: reads age's header from `input` and checks it with `identity` (the `age` crate), then opens
/// the chunks. Reads return plaintext only from chunks that verified; the end of the stream is reported only after
/// the last chunk verified, so a cut-off payload is an error, never a short read.
pub struct StreamOpener<R: BufRead> {
    input: R,
    key: LessSafeKey,
    index: u64,
    /// The current chunk, opened in place: plaintext at `[pos, len)`.
    chunk: Box<[u8; SEALED + 1]>,
    pos: usize,
    len: usize,
    /// Bytes read past the current chunk (at most one, to tell a full last chunk from a full middle one).
    carry: usize,
    done: bool,
}

impl<R: BufRead> StreamOpener<R> {
    /// Reads and checks the header; `Ok` means `identity` unwrapped the file key and the header's MAC held. A
    /// passphrase-only (scrypt) age file is `UnknownFormat`: links are never sealed that way.
    pub fn new(input: R, identity: &age::x25519::Identity) -> Result<Self, HeaderError> {
        let mut recorded = Recorded { inner: input, seen: Vec::new() };
        let decryptor = age::Decryptor::new_buffered(&mut recorded)?;
        if decryptor.is_scrypt() {
            return Err(age::DecryptError::UnknownFormat);
        }
        let captured = Capture::new(identity);
        // age checks the MAC with the file key here; its own stream reader is dropped unused.
        drop(decryptor.decrypt(std::iter::once(&captured as &dyn age::Identity))?);
        let file_key = captured.take().ok_or(age::DecryptError::NoMatchingKeys)?;
        let seen = &recorded.seen;
        let nonce: [u8; NONCE] = seen
            .get(seen.len().saturating_sub(NONCE)..)
            .and_then(|n| n.try_into().ok())
            .ok_or(age::DecryptError::InvalidHeader)?;
        Ok(Self {
            input: recorded.inner,
            key: payload_key(&file_key, &nonce),
            index: 0,
            chunk: Box::new([0; SEALED + 1]),
            pos: 0,
            len: 0,
            carry: 0,
            done: false,
        })
    }

    /// Reads and opens the next chunk.
    fn next_chunk(&mut self) -> io::Result<()> {
        // What was read past the last chunk starts this one.
        if self.carry > 0 {
            self.chunk.copy_within(SEALED..SEALED + self.carry, 0);
        }
        let have = self.carry + crate::fill(&mut self.input, &mut self.chunk[self.carry..])?;
        let last = have <= SEALED;
        let sealed = have.min(SEALED);
        self.carry = have - sealed;
        let damaged = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
        if sealed < TAG {
            return Err(if sealed == 0 && self.index > 0 {
                io::Error::new(io::ErrorKind::UnexpectedEof, "the payload is truncated")
            } else {
                damaged("a chunk shorter than its tag")
            });
        }
        let text = self
            .key
            .open_in_place(chunk_nonce(self.index, last), Aad::empty(), &mut self.chunk[..sealed])
            .map_err(|_| damaged("a chunk failed to verify"))?
            .len();
        if last && text == 0 && self.index > 0 {
            return Err(damaged("an empty last chunk after others"));
        }
        self.index += 1;
        self.pos = 0;
        self.len = text;
        self.done = last;
        Ok(())
    }
}

impl<R: BufRead> Read for StreamOpener<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = buf.len().min(self.len - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: BufRead> Drop for StreamOpener<R> {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.chunk[..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (age::x25519::Identity, age::x25519::Recipient) {
        let id = age::x25519::Identity::generate();
        let r = id.to_public();
        (id, r)
    }

    fn plaintext(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + i / 7) as u8).collect()
    }

    const SIZES: [usize; 9] = [0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17, 5 * CHUNK];

    #[test]
    fn what_this_seals_the_age_crate_opens() {
        let (id, r) = pair();
        for n in SIZES {
            let text = plaintext(n);
            let mut s = StreamSealer::new(std::slice::from_ref(&r), Vec::new()).unwrap();
            // Written in odd pieces, so chunk boundaries fall inside writes.
            for piece in text.chunks(10_007) {
                s.write_all(piece).unwrap();
            }
            let sealed = s.finish().unwrap();
            let dec = age::Decryptor::new(&sealed[..]).unwrap();
            let mut out = Vec::new();
            dec.decrypt(std::iter::once(&id as &dyn age::Identity)).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, text, "{n} bytes");
            // Exactly the chunks age's writer makes: the nonce, then a tag per 64 KiB (one for an empty plaintext).
            let mac_line = sealed.windows(5).position(|w| w == b"\n--- ").unwrap() + 1;
            let header = mac_line + sealed[mac_line..].iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(sealed.len() - header, NONCE + n + TAG * n.div_ceil(CHUNK).max(1), "{n} bytes");
        }
    }

    #[test]
    fn what_the_age_crate_seals_this_opens() {
        let (id, r) = pair();
        for n in SIZES {
            let text = plaintext(n);
            let mut w = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
                .unwrap()
                .wrap_output(Vec::new())
                .unwrap();
            w.write_all(&text).unwrap();
            let sealed = w.finish().unwrap();
            let mut out = Vec::new();
            StreamOpener::new(&sealed[..], &id).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, text, "{n} bytes");
        }
    }

    #[test]
    fn a_cut_reordered_flipped_or_extended_payload_is_an_error_never_a_short_read() {
        let (id, r) = pair();
        let text = plaintext(3 * CHUNK + 100);
        let mut s = StreamSealer::new(std::slice::from_ref(&r), Vec::new()).unwrap();
        s.write_all(&text).unwrap();
        let sealed = s.finish().unwrap();
        let header = sealed.len() - (3 * SEALED + 100 + TAG);
        let open = |bytes: &[u8]| {
            let mut out = Vec::new();
            StreamOpener::new(bytes, &id)
                .and_then(|mut o| o.read_to_end(&mut out).map_err(age::DecryptError::Io))
                .map(|_| out)
        };
        assert_eq!(open(&sealed).unwrap(), text);
        // Cut at every chunk boundary, and inside a chunk.
        for cut in
            [header, header + SEALED, header + 2 * SEALED, header + 3 * SEALED, header + SEALED + 5, sealed.len() - 1]
        {
            assert!(open(&sealed[..cut]).is_err(), "cut at {cut}");
        }
        // A flipped bit in a middle chunk.
        let mut flipped = sealed.clone();
        flipped[header + SEALED + 9] ^= 1;
        assert!(open(&flipped).is_err());
        // Two chunks swapped.
        let mut swapped = sealed.clone();
        let (a, b) = (header..header + SEALED, header + SEALED..header + 2 * SEALED);
        let first = sealed[a.clone()].to_vec();
        swapped[a].copy_from_slice(&sealed[b.clone()]);
        swapped[b].copy_from_slice(&first);
        assert!(open(&swapped).is_err());
        // Bytes after the last chunk.
        let mut longer = sealed.clone();
        longer.extend_from_slice(&[0; 20]);
        assert!(open(&longer).is_err());
        // The wrong identity never gets as far as the payload.
        let (other, _) = pair();
        assert!(matches!(StreamOpener::new(&sealed[..], &other), Err(age::DecryptError::NoMatchingKeys)));
    }

    #[test]
    fn an_empty_last_chunk_after_a_full_one_is_refused_as_age_refuses_it() {
        // A sealer that flushes a full chunk early, then an empty last one: valid crypto, invalid age.
        let (id, r) = pair();
        let mut s = StreamSealer::new(std::slice::from_ref(&r), Vec::new()).unwrap();
        s.write_all(&plaintext(CHUNK)).unwrap();
        s.seal(false).unwrap();
        let sealed = s.finish().unwrap();
        let mut out = Vec::new();
        assert!(StreamOpener::new(&sealed[..], &id).unwrap().read_to_end(&mut out).is_err());
        let dec = age::Decryptor::new(&sealed[..]).unwrap();
        assert!(dec.decrypt(std::iter::once(&id as &dyn age::Identity)).unwrap().read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn after_a_failed_write_every_later_write_and_the_finish_fail_cleanly() {
        /// Takes the header and one chunk, then fails (a revoked upload, a dropped connection).
        struct Breaks(usize);
        impl Write for Breaks {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (_, r) = pair();
        let mut s = StreamSealer::new(std::slice::from_ref(&r), Breaks(1000 + SEALED)).unwrap();
        let data = plaintext(5 * CHUNK);
        let err = s.write_all(&data).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        // The caller writes on (as the CLI's pipeline may once before it hears): an error each time, never a panic.
        for _ in 0..3 {
            assert!(s.write(&data[..CHUNK]).is_err());
        }
        assert!(s.finish().is_err());
    }

    #[test]
    fn several_recipients_each_open_it() {
        let (a, ra) = pair();
        let (b, rb) = pair();
        let mut s = StreamSealer::new(&[ra, rb], Vec::new()).unwrap();
        s.write_all(b"for both").unwrap();
        let sealed = s.finish().unwrap();
        for id in [&a, &b] {
            let mut out = Vec::new();
            StreamOpener::new(&sealed[..], id).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, b"for both");
        }
    }
}
