/*!
Sealing of stored ciphertext under a per-link storage key, so that destroying one 32-byte key erases a link's content
wherever copies of its bytes linger: in sled's log, in a deleted file's old blocks, in a backup of the data dir.

The relay never sees plaintext; what it seals is the sender's age ciphertext. Sealing is for erasure, not secrecy:

```text
sealed = chunk_0 || chunk_1 || ...      chunk_i = ChaCha20-Poly1305(key, nonce = 0^4 || i as u64 BE, aad = link id,
                                                                    plaintext bytes [i * 64 KiB, (i + 1) * 64 KiB))
```

Each link has its own random key, so a counter nonce never repeats under a key. Chunks make a download resumable from
any offset: the reader opens the chunk holding the offset and skips into it. Pure functions, no IO.
*/

use burnlink_core::link::LinkId;
use burnlink_core::zeroize::{Zeroize, Zeroizing};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// Plaintext bytes per sealed chunk.
pub const CHUNK: usize = 64 * 1024;
/// Bytes a seal adds to each chunk (the Poly1305 tag).
pub const TAG: usize = 16;
/// Size of a full sealed chunk.
pub const SEALED_CHUNK: usize = CHUNK + TAG;

/// A link's storage key. Never printed; zeroed when dropped.
pub struct StorageKey(Zeroizing<[u8; 32]>);

impl StorageKey {
    /// A fresh random key from the OS.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, k.as_mut());
        Self(k)
    }

    /// Wraps stored bytes; `None` for the all-zero slot of a destroyed (or never written) key.
    pub fn from_bytes(mut b: [u8; 32]) -> Option<Self> {
        let key = (b != [0u8; 32]).then(|| Self(Zeroizing::new(b)));
        b.zeroize();
        key
    }

    /// The raw bytes, to store in a key slot.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()))
    }
}

impl std::fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageKey(<redacted>)")
    }
}

fn nonce(index: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::from(n)
}

/// Sealed size of `plain` bytes.
pub fn sealed_len(plain: u64) -> u64 {
    let full = plain / CHUNK as u64;
    let rest = plain % CHUNK as u64;
    full * SEALED_CHUNK as u64 + if rest > 0 { rest + TAG as u64 } else { 0 }
}

/// Plaintext size of a well-formed sealed blob of `sealed` bytes (`None`: no such size).
pub fn plain_len(sealed: u64) -> Option<u64> {
    let full = sealed / SEALED_CHUNK as u64;
    let rest = sealed % SEALED_CHUNK as u64;
    match rest {
        0 => Some(full * CHUNK as u64),
        r if r > TAG as u64 => Some(full * CHUNK as u64 + r - TAG as u64),
        _ => None,
    }
}

/// Seals a stream of bytes chunk by chunk.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    aad: [u8; 16],
    index: u64,
    buf: Vec<u8>,
}

impl Sealer {
    /// A sealer for `id`'s content under `key`.
    pub fn new(key: &StorageKey, id: &LinkId) -> Self {
        Self { cipher: key.cipher(), aad: id.0, index: 0, buf: Vec::with_capacity(SEALED_CHUNK) }
    }

    /// Appends `chunk` sealed to `out`: copied once, encrypted where it lands, then its tag.
    fn seal_into(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(chunk);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce(self.index), &self.aad, &mut out[start..])
            .expect("a 64 KiB chunk is within ChaCha20-Poly1305's limits");
        out.extend_from_slice(&tag);
        self.index += 1;
    }

    fn seal_buf(&mut self, out: &mut Vec<u8>) {
        let buf = std::mem::take(&mut self.buf);
        self.seal_into(&buf, out);
        self.buf = buf;
        self.buf.clear();
    }

    /// Takes `data`; appends every chunk it completes, sealed, to `out`. Whole chunks in `data` are sealed straight
    /// into `out`; only a chunk's pieces that straddle calls wait in the sealer's buffer.
    pub fn write(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        if !self.buf.is_empty() {
            let n = (CHUNK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == CHUNK {
                self.seal_buf(out);
            }
        }
        while data.len() >= CHUNK {
            self.seal_into(&data[..CHUNK], out);
            data = &data[CHUNK..];
        }
        self.buf.extend_from_slice(data);
    }

    /// Seals what is left (a last, shorter chunk) into `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if !self.buf.is_empty() {
            self.seal_buf(out);
        }
    }
}

/// Why a sealed chunk did not open.
#[derive(Debug, thiserror::Error)]
#[error("a stored chunk failed to authenticate (wrong storage key, or damaged storage)")]
pub struct Unsealed;

/// Opens sealed chunks of one link.
pub struct Opener {
    cipher: ChaCha20Poly1305,
    aad: [u8; 16],
}

impl Opener {
    /// An opener for `id`'s content under `key`.
    pub fn new(key: &StorageKey, id: &LinkId) -> Self {
        Self { cipher: key.cipher(), aad: id.0 }
    }

    /// Opens the sealed chunks in `sealed`, the first of which is chunk `index`, where they lie, and returns their
    /// content from `skip` bytes into the first. Each chunk's plaintext moves down to follow the previous one's, so a
    /// batch read from storage is opened without another copy. Every reader of stored content opens through here.
    pub fn open_run(&self, index: u64, mut skip: usize, mut sealed: Vec<u8>) -> Result<Vec<u8>, Unsealed> {
        let mut plain = 0;
        for (i, start) in (0..sealed.len()).step_by(SEALED_CHUNK).enumerate() {
            let end = (start + SEALED_CHUNK).min(sealed.len());
            let len = self.open_in(index + i as u64, &mut sealed[start..end])?;
            let s = skip.min(len);
            sealed.copy_within(start + s..start + len, plain);
            plain += len - s;
            skip = 0;
        }
        sealed.truncate(plain);
        Ok(sealed)
    }

    /// Opens sealed chunk `index` where it lies (ciphertext then tag); returns the plaintext's length, at the
    /// slice's start.
    fn open_in(&self, index: u64, sealed: &mut [u8]) -> Result<usize, Unsealed> {
        let n = sealed.len().checked_sub(TAG).ok_or(Unsealed)?;
        let (text, tag) = sealed.split_at_mut(n);
        let tag = chacha20poly1305::Tag::from_slice(tag);
        self.cipher.decrypt_in_place_detached(&nonce(index), &self.aad, text, tag).map_err(|_| Unsealed)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal_all(key: &StorageKey, id: &LinkId, data: &[u8], step: usize) -> Vec<u8> {
        let mut s = Sealer::new(key, id);
        let mut out = Vec::new();
        for c in data.chunks(step.max(1)) {
            s.write(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn round_trips_at_every_size_and_write_pattern() {
        let key = StorageKey::generate();
        let id = LinkId([3; 16]);
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            for step in [1000, CHUNK, 7 * CHUNK] {
                let sealed = seal_all(&key, &id, &data, step);
                assert_eq!(sealed.len() as u64, sealed_len(len as u64));
                assert_eq!(plain_len(sealed.len() as u64), Some(len as u64));
                let o = Opener::new(&key, &id);
                let back = o.open_run(0, 0, sealed.clone()).unwrap();
                assert!(back == data, "len {len} step {step}");
                if len >= CHUNK + 5 {
                    let from = o.open_run(1, 5, sealed[SEALED_CHUNK..].to_vec()).unwrap();
                    assert!(from == data[CHUNK + 5..], "from chunk 1, skipping 5");
                }
                // However the bytes came, each chunk is exactly the AEAD's one-shot sealing of it (the format every
                // stored link already has), and opens in place too.
                use chacha20poly1305::aead::{Aead, KeyInit, Payload};
                let one_shot = ChaCha20Poly1305::new(key.expose().into());
                for (i, (c, p)) in sealed.chunks(SEALED_CHUNK).zip(data.chunks(CHUNK)).enumerate() {
                    let want = one_shot.encrypt(&nonce(i as u64), Payload { msg: p, aad: &id.0 }).unwrap();
                    assert!(c == want.as_slice(), "len {len} step {step} chunk {i}");
                    let mut c = c.to_vec();
                    let n = o.open_in(i as u64, &mut c).unwrap();
                    assert!(&c[..n] == p);
                }
            }
        }
    }

    #[test]
    fn the_sealed_bytes_hide_the_content_and_need_their_key_id_and_place() {
        let key = StorageKey::generate();
        let id = LinkId([4; 16]);
        let data = b"KNOWN-MARKER-".repeat(20_000);
        let sealed = seal_all(&key, &id, &data, 4096);
        assert!(!sealed.windows(13).any(|w| w == b"KNOWN-MARKER-"));
        let first = || sealed[..SEALED_CHUNK].to_vec();
        assert!(Opener::new(&StorageKey::generate(), &id).open_run(0, 0, first()).is_err(), "another key");
        assert!(Opener::new(&key, &LinkId([5; 16])).open_run(0, 0, first()).is_err(), "another link");
        assert!(Opener::new(&key, &id).open_run(1, 0, first()).is_err(), "another position");
        let mut flipped = first();
        flipped[100] ^= 1;
        assert!(Opener::new(&key, &id).open_run(0, 0, flipped).is_err(), "a flipped bit");
        Opener::new(&key, &id).open_run(0, 0, first()).unwrap();
    }

    #[test]
    fn a_zero_slot_is_no_key_and_keys_hide_in_debug() {
        assert!(StorageKey::from_bytes([0; 32]).is_none());
        let k = StorageKey::from_bytes([0xab; 32]).unwrap();
        assert!(!format!("{k:?}").contains("ab"));
        assert_eq!(plain_len(TAG as u64), None);
        assert_eq!(plain_len(SEALED_CHUNK as u64 + 3), None);
    }
}
