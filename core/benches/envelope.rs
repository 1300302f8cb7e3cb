//! Envelope throughput beside raw ChaCha20-Poly1305 on the same buffer, in one run.
//!
//! `cargo bench -p burnlink-core` (set `BURNLINK_BENCH_MIB` for another size; default 256).
//! Raw is RustCrypto's ChaCha20-Poly1305 over the buffer in 64 KiB chunks with a fresh nonce each, the work the `age`
//! crate's STREAM does (its "alone" lines). The envelope's STREAM is ring's (`core::stream`), so the envelope, tar
//! container, padding and copies included, can beat both.

use std::hint::black_box;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use burnlink_core::container::{SafePath, Sink};
use burnlink_core::envelope::{open, Sealer};
use burnlink_core::keys::LinkKeys;
use burnlink_core::link::LinkSecret;
use burnlink_core::zeroize::Zeroizing;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const CHUNK: usize = 64 * 1024;
const RUNS: usize = 3;

/// Discards plaintext but touches it, as a real sink would.
struct Discard(u64);
impl Sink for Discard {
    fn text(&mut self, t: Zeroizing<String>) -> io::Result<()> {
        self.0 += t.len() as u64;
        Ok(())
    }
    fn dir(&mut self, _: &SafePath) -> io::Result<()> {
        Ok(())
    }
    fn begin_file(&mut self, _: &SafePath, _: u64) -> io::Result<()> {
        Ok(())
    }
    fn write(&mut self, d: &[u8]) -> io::Result<()> {
        self.0 += black_box(d)[d.len() - 1] as u64 + 1;
        Ok(())
    }
    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn best(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn main() {
    let mib: usize = std::env::var("BURNLINK_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let len = mib * 1024 * 1024;
    let mut data = vec![0u8; len];
    let mut x = 0x9e3779b97f4a7c15u64;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let keys = LinkKeys::derive(&LinkSecret::from_bytes([42; 32]), None).unwrap();
    let path = SafePath::new("bench.bin").unwrap();

    let aead = ChaCha20Poly1305::new(Key::from_slice(&[7; 32]));
    let mut work = data.clone();
    let mut tags = Vec::with_capacity(len / CHUNK + 1);
    let raw_enc = best(|| {
        tags.clear();
        for (i, chunk) in work.chunks_mut(CHUNK).enumerate() {
            let mut n = [0u8; 12];
            n[..8].copy_from_slice(&(i as u64).to_be_bytes());
            tags.push(aead.encrypt_in_place_detached(Nonce::from_slice(&n), b"", chunk).unwrap());
        }
    });
    // Decrypt needs the ciphertext each run: encrypt once per decrypt outside the timer is too slow for 3 runs, so
    // decrypt then re-encrypt untimed.
    let mut raw_dec = Duration::MAX;
    for _ in 0..RUNS {
        let t = Instant::now();
        for (i, chunk) in work.chunks_mut(CHUNK).enumerate() {
            let mut n = [0u8; 12];
            n[..8].copy_from_slice(&(i as u64).to_be_bytes());
            aead.decrypt_in_place_detached(Nonce::from_slice(&n), b"", chunk, &tags[i]).unwrap();
        }
        raw_dec = raw_dec.min(t.elapsed());
        assert!(work == data);
        for (i, chunk) in work.chunks_mut(CHUNK).enumerate() {
            let mut n = [0u8; 12];
            n[..8].copy_from_slice(&(i as u64).to_be_bytes());
            tags[i] = aead.encrypt_in_place_detached(Nonce::from_slice(&n), b"", chunk).unwrap();
        }
    }
    drop(work);

    let mut ciphertext = Vec::with_capacity(len + len / 8);
    let env_enc = best(|| {
        ciphertext.clear();
        let mut s = Sealer::new(&keys, &mut ciphertext).unwrap();
        s.add_file(&path, len as u64, &data[..]).unwrap();
        s.finish().unwrap().flush().unwrap();
    });
    let recipient = keys.recipient();
    let mut age_ct = Vec::with_capacity(len + len / 8);
    let age_enc = best(|| {
        age_ct.clear();
        let enc = burnlink_core::age::Encryptor::with_recipients(std::iter::once(
            &recipient as &dyn burnlink_core::age::Recipient,
        ))
        .unwrap();
        let mut w = enc.wrap_output(&mut age_ct).unwrap();
        for c in data.chunks(CHUNK) {
            w.write_all(c).unwrap();
        }
        w.finish().unwrap();
    });
    let identity = keys.identity();
    let mut out = vec![0u8; CHUNK];
    let age_dec = best(|| {
        use std::io::Read;
        let d = burnlink_core::age::Decryptor::new_buffered(&age_ct[..]).unwrap();
        let mut r = d.decrypt(std::iter::once(&identity as &dyn burnlink_core::age::Identity)).unwrap();
        let mut n = 0;
        loop {
            let k = r.read(&mut out).unwrap();
            if k == 0 {
                break;
            }
            n += black_box(&out[..k]).len();
        }
        assert_eq!(n, len);
    });
    let env_dec = best(|| {
        let mut sink = Discard(0);
        let summary = open(&ciphertext[..], &keys, &mut sink).unwrap();
        assert_eq!(summary.bytes, len as u64);
    });

    println!("envelope benchmark: {mib} MiB plaintext, best of {RUNS} runs, 1 thread");
    println!("  raw ChaCha20-Poly1305 encrypt (RustCrypto) {:8.1} MB/s", mbps(len, raw_enc));
    println!("  envelope seal (tar+age+padme, ring STREAM) {:8.1} MB/s", mbps(len, env_enc));
    println!("  age crate alone encrypt                    {:8.1} MB/s", mbps(len, age_enc));
    println!("  raw ChaCha20-Poly1305 decrypt (RustCrypto) {:8.1} MB/s", mbps(len, raw_dec));
    println!("  envelope open (age+tar, ring STREAM)       {:8.1} MB/s", mbps(len, env_dec));
    println!("  age crate alone decrypt                    {:8.1} MB/s", mbps(len, age_dec));
    println!(
        "  ratio encrypt envelope/raw                 {:8.1} %",
        100.0 * raw_enc.as_secs_f64() / env_enc.as_secs_f64()
    );
    println!(
        "  ratio decrypt envelope/raw                 {:8.1} %",
        100.0 * raw_dec.as_secs_f64() / env_dec.as_secs_f64()
    );
    println!(
        "  ciphertext bytes                           {} (+{:.2} %)",
        ciphertext.len(),
        100.0 * (ciphertext.len() - len) as f64 / len as f64
    );
}
