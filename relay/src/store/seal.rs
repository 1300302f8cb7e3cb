/*!
Sealing of stored ciphertext under a per-link storage key, so that destroying one 32-byte key erases a link's content
wherever copies of its bytes linger: in sled's log, in a deleted file's old blocks, in a backup of the data dir.

The relay never sees plaintext; what it seals is the sender's age ciphertext. Sealing is for erasure, not secrecy:

```text
sealed = chunk_0 || chunk_1 || ...      chunk_i = AEAD(key, nonce = 0^4 || i as u64 BE, aad = link id,
                                                   plaintext bytes [i * 64 KiB, (i + 1) * 64 KiB))
```

The AEAD is AES-256-GCM where the CPU has AES instructions (ring's, about five times ChaCha20-Poly1305's speed on
this project's machines: it is the relay's largest cost per byte after QUIC itself), else ChaCha20-Poly1305; each
link's [`Algorithm`] is stored beside its key, so content sealed one way always opens that way. Each link has its own
random key, so a counter nonce never repeats under a key. Chunks make a download resumable from any offset: the reader
opens the chunk holding the offset and skips into it. Pure functions, no IO.
*/

use burnlink_core::link::LinkId;
use burnlink_core::zeroize::{Zeroize, Zeroizing};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};

/// Plaintext bytes per sealed chunk.
pub const CHUNK: usize = 64 * 1024;
/// Bytes a seal adds to each chunk (the Poly1305 tag).
pub const TAG: usize = 16;
/// Size of a full sealed chunk.
pub const SEALED_CHUNK: usize = CHUNK + TAG;

/// The AEAD that seals a link's content, stored as one byte beside its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Content sealed before AES-256-GCM was used, and on CPUs without AES instructions.
    ChaCha20Poly1305 = 0,
    /// ring's AES-256-GCM.
    Aes256Gcm = 1,
}

impl Algorithm {
    /// What new content is sealed with: AES-256-GCM where the CPU has AES and carry-less multiply instructions
    /// (without them ring's AES is slower than ChaCha20-Poly1305), else ChaCha20-Poly1305.
    pub fn preferred() -> Self {
        #[cfg(target_arch = "x86_64")]
        let hardware = std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq");
        #[cfg(target_arch = "aarch64")]
        let hardware =
            std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull");
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let hardware = false;
        if hardware {
            Algorithm::Aes256Gcm
        } else {
            Algorithm::ChaCha20Poly1305
        }
    }

    /// The stored byte.
    pub fn byte(self) -> u8 {
        self as u8
    }

    /// The algorithm a stored byte names (`None`: from a newer relay, or damaged).
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Algorithm::ChaCha20Poly1305),
            1 => Some(Algorithm::Aes256Gcm),
            _ => None,
        }
    }
}

/// A keyed AEAD.
enum Cipher {
    ChaCha(ChaCha20Poly1305),
    Aes(Box<LessSafeKey>),
}

impl Cipher {
    /// Seals `text` in place; returns its tag.
    fn seal(&self, index: u64, aad: &[u8; 16], text: &mut [u8]) -> [u8; TAG] {
        let why = "a 64 KiB chunk is within the AEAD's limits";
        match self {
            Cipher::ChaCha(c) => c.encrypt_in_place_detached(&nonce(index), aad, text).expect(why).into(),
            Cipher::Aes(k) => {
                let tag = k.seal_in_place_separate_tag(ring_nonce(index), ring::aead::Aad::from(aad), text).expect(why);
                tag.as_ref().try_into().expect("a 16-byte tag")
            }
        }
    }

    /// Opens `sealed` (ciphertext then tag) in place; returns the plaintext's length, at its start.
    fn open(&self, index: u64, aad: &[u8; 16], sealed: &mut [u8]) -> Result<usize, Unsealed> {
        let n = sealed.len().checked_sub(TAG).ok_or(Unsealed)?;
        match self {
            Cipher::ChaCha(c) => {
                let (text, tag) = sealed.split_at_mut(n);
                let tag = chacha20poly1305::Tag::from_slice(tag);
                c.decrypt_in_place_detached(&nonce(index), aad, text, tag).map_err(|_| Unsealed)?;
            }
            Cipher::Aes(k) => {
                k.open_in_place(ring_nonce(index), ring::aead::Aad::from(aad), sealed).map_err(|_| Unsealed)?;
            }
        }
        Ok(n)
    }
}

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

    fn cipher(&self, algorithm: Algorithm) -> Cipher {
        match algorithm {
            Algorithm::ChaCha20Poly1305 => Cipher::ChaCha(ChaCha20Poly1305::new(Key::from_slice(self.0.as_ref()))),
            Algorithm::Aes256Gcm => {
                let key = UnboundKey::new(&AES_256_GCM, self.0.as_ref()).expect("a 32-byte key");
                Cipher::Aes(Box::new(LessSafeKey::new(key)))
            }
        }
    }
}

impl std::fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageKey(<redacted>)")
    }
}

fn nonce_bytes(index: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&index.to_be_bytes());
    n
}

fn nonce(index: u64) -> Nonce {
    Nonce::from(nonce_bytes(index))
}

fn ring_nonce(index: u64) -> ring::aead::Nonce {
    // Unique: a counter under a key of its own.
    ring::aead::Nonce::assume_unique_for_key(nonce_bytes(index))
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
    cipher: Cipher,
    aad: [u8; 16],
    index: u64,
    buf: Vec<u8>,
}

impl Sealer {
    /// A sealer for `id`'s content under `key`, with `algorithm`.
    pub fn new(key: &StorageKey, id: &LinkId, algorithm: Algorithm) -> Self {
        Self { cipher: key.cipher(algorithm), aad: id.0, index: 0, buf: Vec::with_capacity(SEALED_CHUNK) }
    }

    /// Appends `chunk` sealed to `out`: copied once, encrypted where it lands, then its tag.
    fn seal_into(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(chunk);
        let tag = self.cipher.seal(self.index, &self.aad, &mut out[start..]);
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
    cipher: Cipher,
    aad: [u8; 16],
}

impl Opener {
    /// An opener for `id`'s content, sealed under `key` with `algorithm`.
    pub fn new(key: &StorageKey, id: &LinkId, algorithm: Algorithm) -> Self {
        Self { cipher: key.cipher(algorithm), aad: id.0 }
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
        self.cipher.open(index, &self.aad, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [Algorithm; 2] = [Algorithm::ChaCha20Poly1305, Algorithm::Aes256Gcm];

    fn seal_all(key: &StorageKey, id: &LinkId, algorithm: Algorithm, data: &[u8], step: usize) -> Vec<u8> {
        let mut s = Sealer::new(key, id, algorithm);
        let mut out = Vec::new();
        for c in data.chunks(step.max(1)) {
            s.write(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    /// The AEAD's one-shot sealing of chunk `i`, by each algorithm's reference API.
    fn one_shot(key: &StorageKey, id: &LinkId, algorithm: Algorithm, i: u64, plain: &[u8]) -> Vec<u8> {
        match algorithm {
            Algorithm::ChaCha20Poly1305 => {
                use chacha20poly1305::aead::{Aead, Payload};
                let c = ChaCha20Poly1305::new(key.expose().into());
                c.encrypt(&nonce(i), Payload { msg: plain, aad: &id.0 }).unwrap()
            }
            Algorithm::Aes256Gcm => {
                let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.expose()).unwrap());
                let mut v = plain.to_vec();
                k.seal_in_place_append_tag(ring_nonce(i), ring::aead::Aad::from(&id.0), &mut v).unwrap();
                v
            }
        }
    }

    #[test]
    fn round_trips_at_every_size_and_write_pattern_with_each_algorithm() {
        let key = StorageKey::generate();
        let id = LinkId([3; 16]);
        for algorithm in BOTH {
            for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
                let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
                for step in [1000, CHUNK, 7 * CHUNK] {
                    let sealed = seal_all(&key, &id, algorithm, &data, step);
                    assert_eq!(sealed.len() as u64, sealed_len(len as u64));
                    assert_eq!(plain_len(sealed.len() as u64), Some(len as u64));
                    let o = Opener::new(&key, &id, algorithm);
                    let back = o.open_run(0, 0, sealed.clone()).unwrap();
                    assert!(back == data, "{algorithm:?} len {len} step {step}");
                    if len >= CHUNK + 5 {
                        let from = o.open_run(1, 5, sealed[SEALED_CHUNK..].to_vec()).unwrap();
                        assert!(from == data[CHUNK + 5..], "from chunk 1, skipping 5");
                    }
                    // However the bytes came, each chunk is exactly the AEAD's one-shot sealing of it (for
                    // ChaCha20-Poly1305, the format every link stored before AES-256-GCM already has), and opens in
                    // place too.
                    for (i, (c, p)) in sealed.chunks(SEALED_CHUNK).zip(data.chunks(CHUNK)).enumerate() {
                        let want = one_shot(&key, &id, algorithm, i as u64, p);
                        assert!(c == want.as_slice(), "{algorithm:?} len {len} step {step} chunk {i}");
                        let mut c = c.to_vec();
                        let n = o.open_in(i as u64, &mut c).unwrap();
                        assert!(&c[..n] == p);
                    }
                }
            }
        }
    }

    #[test]
    fn the_sealed_bytes_hide_the_content_and_need_their_key_id_place_and_algorithm() {
        let key = StorageKey::generate();
        let id = LinkId([4; 16]);
        let data = b"KNOWN-MARKER-".repeat(20_000);
        for algorithm in BOTH {
            let sealed = seal_all(&key, &id, algorithm, &data, 4096);
            assert!(!sealed.windows(13).any(|w| w == b"KNOWN-MARKER-"));
            let first = || sealed[..SEALED_CHUNK].to_vec();
            let open = |k: &StorageKey, id: &LinkId, a, i, c| Opener::new(k, id, a).open_run(i, 0, c);
            assert!(open(&StorageKey::generate(), &id, algorithm, 0, first()).is_err(), "another key");
            assert!(open(&key, &LinkId([5; 16]), algorithm, 0, first()).is_err(), "another link");
            assert!(open(&key, &id, algorithm, 1, first()).is_err(), "another position");
            let other = BOTH.into_iter().find(|a| *a != algorithm).unwrap();
            assert!(open(&key, &id, other, 0, first()).is_err(), "another algorithm");
            let mut flipped = first();
            flipped[100] ^= 1;
            assert!(open(&key, &id, algorithm, 0, flipped).is_err(), "a flipped bit");
            open(&key, &id, algorithm, 0, first()).unwrap();
        }
    }

    #[test]
    fn a_zero_slot_is_no_key_keys_hide_in_debug_and_algorithms_keep_their_bytes() {
        assert!(StorageKey::from_bytes([0; 32]).is_none());
        let k = StorageKey::from_bytes([0xab; 32]).unwrap();
        assert!(!format!("{k:?}").contains("ab"));
        assert_eq!(plain_len(TAG as u64), None);
        assert_eq!(plain_len(SEALED_CHUNK as u64 + 3), None);
        for a in BOTH {
            assert_eq!(Algorithm::from_byte(a.byte()), Some(a));
        }
        assert_eq!(Algorithm::ChaCha20Poly1305.byte(), 0, "what every key entry without the byte means");
        assert_eq!(Algorithm::from_byte(2), None);
    }
}
