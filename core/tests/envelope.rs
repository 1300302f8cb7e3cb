//! Envelope round trips, tampering and wrong keys, through the public API only.

use std::io;

use burnlink_core::container::{MemorySink, SafePath};
use burnlink_core::envelope::{open, OpenError, Sealer};
use burnlink_core::keys::{KdfParams, KeyError, LinkKeys, NewLink, PublicMeta};
use burnlink_core::link::LinkSecret;
use burnlink_core::secrecy::SecretString;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// age v1 STREAM chunk sizes.
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const ENC_CHUNK: usize = CHUNK + TAG;

fn keys(seed: u8) -> LinkKeys {
    LinkKeys::derive(&LinkSecret::from_bytes([seed; 32]), None).unwrap()
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn seal_file(k: &LinkKeys, name: &str, data: &[u8]) -> Vec<u8> {
    let mut s = Sealer::new(k, Vec::new()).unwrap();
    s.add_file(&SafePath::new(name).unwrap(), data.len() as u64, data).unwrap();
    s.finish().unwrap()
}

fn open_mem(ct: &[u8], k: &LinkKeys) -> Result<MemorySink, OpenError> {
    let mut sink = MemorySink::default();
    open(ct, k, &mut sink).map(|_| sink)
}

/// Offset of the payload (after header and nonce) in an age file: the header ends with "--- <mac>\n", then 16 bytes
/// of nonce.
fn payload_start(ct: &[u8]) -> usize {
    let pos = ct.windows(4).position(|w| w == b"\n---").unwrap() + 1;
    let nl = pos + ct[pos..].iter().position(|&b| b == b'\n').unwrap();
    nl + 1 + 16
}

#[test]
fn round_trips_at_chunk_boundaries() {
    let k = keys(1);
    for len in [0usize, 1, 65535, 65536, 65537, 3 * CHUNK + 17, 5 * CHUNK] {
        let data = pattern(len, 3);
        let ct = seal_file(&k, "f.bin", &data);
        let sink = open_mem(&ct, &k).unwrap();
        assert_eq!(sink.files.len(), 1, "len {len}");
        assert_eq!(sink.files[0].0.as_str(), "f.bin");
        assert!(sink.files[0].1 == data, "content differs at len {len}");
    }
}

#[test]
fn text_round_trips() {
    let k = keys(2);
    let mut s = Sealer::new(&k, Vec::new()).unwrap();
    s.add_text("pässwörd: hunter2\n".as_bytes()).unwrap();
    let ct = s.finish().unwrap();
    let sink = open_mem(&ct, &k).unwrap();
    assert_eq!(sink.text.as_deref().map(String::as_str), Some("pässwörd: hunter2\n"));
    assert!(sink.files.is_empty());
}

#[test]
fn ciphertext_size_is_coarse() {
    // Texts of 1 and 400 bytes give the same payload size: the relay learns only a bucket. (The age header in
    // front varies on its own: age adds a random "grease" stanza.)
    let k = keys(3);
    let size = |n: usize| {
        let mut s = Sealer::new(&k, Vec::new()).unwrap();
        s.add_text(&vec![b'a'; n]).unwrap();
        let ct = s.finish().unwrap();
        ct.len() - payload_start(&ct)
    };
    assert_eq!(size(1), size(400));
    assert_ne!(size(1), size(600));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn multi_file_containers_round_trip(
        files in prop::collection::vec(("[a-z]{1,8}(/[a-z]{1,8}){0,2}", prop::collection::vec(any::<u8>(), 0..70_000)), 1..6),
        dirs in prop::collection::vec("[A-Z]{1,6}", 0..3),
    ) {
        let k = keys(4);
        let mut s = Sealer::new(&k, Vec::new()).unwrap();
        let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
        for d in &dirs {
            // Upper-case folders cannot clash with the lower-case files.
            if s.add_dir(&SafePath::new(d).unwrap()).is_ok() {}
        }
        for (name, data) in &files {
            let clash = expected.iter().any(|(n, _)| n == name || name.starts_with(&format!("{n}/")) || n.starts_with(&format!("{name}/")));
            if clash { continue; }
            s.add_file(&SafePath::new(name).unwrap(), data.len() as u64, &data[..]).unwrap();
            expected.push((name.clone(), data.clone()));
        }
        let ct = s.finish().unwrap();
        let sink = open_mem(&ct, &k).unwrap();
        let mut want_dirs = dirs.clone();
        want_dirs.dedup();
        prop_assert_eq!(sink.dirs.len(), { let mut d = dirs.clone(); d.sort(); d.dedup(); d.len() });
        let got: Vec<(String, Vec<u8>)> = sink.files.iter().map(|(p, d)| (p.as_str().to_owned(), d.clone())).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn texts_round_trip(text in "\\PC{0,2000}") {
        let k = keys(5);
        let mut s = Sealer::new(&k, Vec::new()).unwrap();
        s.add_text(text.as_bytes()).unwrap();
        let ct = s.finish().unwrap();
        let sink = open_mem(&ct, &k).unwrap();
        prop_assert_eq!(sink.text.as_deref().map(String::as_str), Some(text.as_str()));
    }

    #[test]
    fn any_flipped_bit_fails(byte in any::<prop::sample::Index>(), bit in 0u8..8) {
        let k = keys(6);
        let data = pattern(2 * CHUNK + 100, 1);
        let mut ct = seal_file(&k, "x", &data);
        let i = byte.index(ct.len());
        ct[i] ^= 1 << bit;
        let r = open_mem(&ct, &k);
        prop_assert!(r.is_err(), "flip at {} of {} went unnoticed", i, ct.len());
    }
}

#[test]
fn truncation_at_every_chunk_boundary_fails() {
    let k = keys(7);
    let data = pattern(4 * CHUNK + 5, 2);
    let ct = seal_file(&k, "x", &data);
    let start = payload_start(&ct);
    let mut cuts: Vec<usize> = (0..=((ct.len() - start) / ENC_CHUNK)).map(|i| start + i * ENC_CHUNK).collect();
    cuts.extend([start - 1, 10, ct.len() - 1, ct.len() - TAG]);
    for cut in cuts {
        let err = open_mem(&ct[..cut], &k).unwrap_err();
        assert!(matches!(err, OpenError::Damaged), "cut at {cut}: {err:?}");
    }
}

fn chunks(ct: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let start = payload_start(ct);
    (ct[..start].to_vec(), ct[start..].chunks(ENC_CHUNK).map(<[u8]>::to_vec).collect())
}

#[test]
fn dropped_swapped_and_duplicated_chunks_fail() {
    let k = keys(8);
    let data = pattern(4 * CHUNK + 5, 4);
    let ct = seal_file(&k, "x", &data);
    let (head, cs) = chunks(&ct);
    assert!(cs.len() >= 5);
    let join = |cs: &[Vec<u8>]| [head.clone(), cs.concat()].concat();

    let mut variants: Vec<(&str, Vec<Vec<u8>>)> = Vec::new();
    for i in 0..cs.len() {
        let mut v = cs.clone();
        v.remove(i);
        variants.push(("drop", v));
    }
    for i in 0..cs.len() - 1 {
        let mut v = cs.clone();
        v.swap(i, i + 1);
        variants.push(("swap", v));
        let mut v = cs.clone();
        v.insert(i, cs[i].clone());
        variants.push(("dup", v));
    }
    for (what, v) in variants {
        let mut sink = MemorySink::default();
        let err = open(&join(&v)[..], &k, &mut sink).unwrap_err();
        assert!(matches!(err, OpenError::Damaged), "{what}: {err:?}");
        // Whatever the sink got was provisional; it must never have received bytes that differ from the original
        // at the same position (no plaintext of a failed chunk is released).
        for (_, got) in &sink.files {
            assert!(data.starts_with(got), "{what}: sink received bytes of a forged chunk");
        }
    }
}

#[test]
fn wrong_secret_and_wrong_passphrase_are_distinct() {
    let mut rng = StdRng::seed_from_u64(11);
    let pass = SecretString::from("orange staple battery");
    // Small Argon2 memory keeps the test fast; the caps still hold.
    let link = NewLink::generate(&mut rng, None).unwrap();
    let params = KdfParams { salt: [4; 16], m_kib: KdfParams::MIN_M_KIB, t: 1, p: 1 };
    let keys = LinkKeys::derive(&link.secret, Some((&pass, &params))).unwrap();
    let meta = PublicMeta { check: link.meta.check, kdf: Some(params) };
    let ct = seal_file(&keys, "x", b"payload");

    // Right secret, right passphrase.
    let k = LinkKeys::unlock(&link.secret, &meta, Some(&pass)).unwrap();
    assert_eq!(open_mem(&ct, &k).unwrap().files[0].1, b"payload");

    // Right secret, wrong passphrase: keys derive, decryption says wrong passphrase.
    let k = LinkKeys::unlock(&link.secret, &meta, Some(&SecretString::from("orange staple batterx"))).unwrap();
    assert!(matches!(open_mem(&ct, &k).unwrap_err(), OpenError::WrongPassphrase));
    assert_ne!(k.claim_key().digest(), keys.claim_key().digest(), "the relay would refuse this claim");

    // Wrong secret: caught by the check before any Argon2 work or claim attempt.
    let other = LinkSecret::generate(&mut rng);
    assert_eq!(LinkKeys::unlock(&other, &meta, Some(&pass)).unwrap_err(), KeyError::WrongSecret);

    // Without the check (e.g. a payload handed around outside the relay): a wrong secret is a wrong key.
    let plain = NewLink::generate(&mut rng, None).unwrap();
    let ct = seal_file(&plain.keys, "x", b"payload");
    let wrong = LinkKeys::derive(&other, None).unwrap();
    assert!(matches!(open_mem(&ct, &wrong).unwrap_err(), OpenError::WrongSecret));
}

#[test]
fn not_an_age_file_is_unsupported_or_damaged() {
    let k = keys(9);
    assert!(matches!(open_mem(b"hello world, not age", &k).unwrap_err(), OpenError::Unsupported | OpenError::Damaged));
    let err = open_mem(b"", &k).unwrap_err();
    assert!(matches!(err, OpenError::Damaged | OpenError::Unsupported), "{err:?}");
}

#[test]
fn sink_errors_are_reported_as_such() {
    struct Full;
    impl burnlink_core::container::Sink for Full {
        fn text(&mut self, _: burnlink_core::zeroize::Zeroizing<String>) -> io::Result<()> {
            Ok(())
        }
        fn dir(&mut self, _: &SafePath) -> io::Result<()> {
            Ok(())
        }
        fn begin_file(&mut self, _: &SafePath, _: u64) -> io::Result<()> {
            Ok(())
        }
        fn write(&mut self, _: &[u8]) -> io::Result<()> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
        fn end_file(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let k = keys(10);
    let ct = seal_file(&k, "x", b"data");
    let err = open(&ct[..], &k, &mut Full).unwrap_err();
    assert!(matches!(err, OpenError::Sink(ref e) if e.kind() == io::ErrorKind::StorageFull), "{err:?}");
}
