//! Wycheproof vectors for the primitives under our envelope and key schedule: ChaCha20-Poly1305 and X25519 (what
//! `age` uses) and HKDF-SHA256 (what `age` and our key schedule use), run against the exact crate versions in
//! Cargo.lock. `exactly_one_version_of_each_primitive` fails if a second version sneaks in, so these tests always
//! cover the code we ship.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use wycheproof::TestResult;

#[test]
fn chacha20_poly1305() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::ChaCha20Poly1305).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in set.test_groups {
        for t in group.tests {
            if group.nonce_size != 96 {
                // The crate takes only 96-bit nonces; other sizes cannot even be expressed.
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                invalid += 1;
                continue;
            }
            let aead = ChaCha20Poly1305::new_from_slice(&t.key).unwrap();
            let nonce = Nonce::from_slice(&t.nonce);
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            let opened = aead.decrypt(nonce, Payload { msg: &ct_tag, aad: &t.aad });
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(opened.unwrap(), &t.pt[..], "tc {} decrypt", t.tc_id);
                    let sealed = aead.encrypt(nonce, Payload { msg: &t.pt, aad: &t.aad }).unwrap();
                    assert_eq!(sealed, ct_tag, "tc {} encrypt", t.tc_id);
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(opened.is_err(), "tc {} ({}) accepted", t.tc_id, t.comment);
                    invalid += 1;
                }
            }
        }
    }
    assert!(valid > 100 && invalid > 50, "suspiciously few vectors: {valid} valid, {invalid} invalid");
}

#[test]
fn x25519() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).unwrap();
    let mut n = 0;
    let mut zero_shared = 0;
    for group in set.test_groups {
        for t in group.tests {
            let (Ok(sk), Ok(pk)) = (<[u8; 32]>::try_from(&t.private_key[..]), <[u8; 32]>::try_from(&t.public_key[..]))
            else {
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                continue;
            };
            let secret = x25519_dalek::StaticSecret::from(sk);
            let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(pk));
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(shared.as_bytes(), &t.shared_secret[..], "tc {} ({})", t.tc_id, t.comment);
                    // age refuses non-contributory exchanges (all-zero shared secret); dalek reports them.
                    assert_eq!(!shared.was_contributory(), t.shared_secret.iter().all(|&b| b == 0), "tc {}", t.tc_id);
                    zero_shared += usize::from(!shared.was_contributory());
                }
                TestResult::Invalid => panic!("tc {}: dalek cannot reject 32-byte inputs", t.tc_id),
            }
            n += 1;
        }
    }
    assert!(n > 400 && zero_shared > 0, "{n} vectors, {zero_shared} zero shared secrets");
}

#[test]
fn hkdf_sha256() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut n = 0;
    for group in set.test_groups {
        for t in group.tests {
            let salt = if t.salt.is_empty() { None } else { Some(&t.salt[..]) };
            let mut okm = vec![0u8; t.size];
            let r = Hkdf::<Sha256>::new(salt, &t.ikm).expand(&t.info, &mut okm);
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    r.unwrap();
                    assert_eq!(okm, &t.okm[..], "tc {}", t.tc_id);
                }
                TestResult::Invalid => assert!(r.is_err(), "tc {} ({})", t.tc_id, t.comment),
            }
            n += 1;
        }
    }
    assert!(n > 50, "{n} vectors");
}

#[test]
fn exactly_one_version_of_each_primitive() {
    // (Plain `chacha20` is left out: proptest brings a second one for its test RNG, which we do not ship.)
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).unwrap();
    for name in ["chacha20poly1305", "poly1305", "x25519-dalek", "curve25519-dalek", "hkdf"] {
        let versions: Vec<&str> = lock
            .split("[[package]]")
            .filter(|p| p.contains(&format!("\nname = \"{name}\"\n")))
            .filter_map(|p| p.lines().find(|l| l.starts_with("version = ")))
            .collect();
        assert_eq!(versions.len(), 1, "{name}: {versions:?}: the Wycheproof tests must run on the shipped version");
    }
}
