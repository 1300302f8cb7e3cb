//! Writes the known-answer file `tests/vectors/v1.json`:
//! `cargo run -p burnlink-core --example gen-vectors > tests/vectors/v1.json`.
//!
//! Keys are derived from fixed secrets, so they never change. Payload ciphertexts are made with age's random
//! ephemeral keys and file keys, so running this again gives new (equally valid) ciphertexts; commit them only when
//! the format changes on purpose. The Rust test (`core/tests/vectors.rs`) and the browser tests read this file.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use burnlink_core::container::SafePath;
use burnlink_core::envelope::Sealer;
use burnlink_core::keys::{KdfParams, LinkKeys, SecretCheck};
use burnlink_core::link::LinkSecret;
use burnlink_core::secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

fn kdf_json(k: &KdfParams) -> Value {
    json!({"salt": hex::encode(k.salt), "m_kib": k.m_kib, "t": k.t, "p": k.p})
}

fn main() {
    let fast = KdfParams { salt: *b"burnlink-salt-01", m_kib: KdfParams::MIN_M_KIB, t: 1, p: 1 };
    let default = KdfParams { salt: *b"burnlink-salt-02", m_kib: 64 * 1024, t: 3, p: 4 };
    let cases: Vec<(u8, Option<(&str, KdfParams)>)> = vec![
        (0x00, None),
        (0x01, None),
        (0xa5, None),
        (0x02, Some(("correct horse battery staple", fast))),
        (0x03, Some(("café ☕ passphrase", fast))),
        (0x04, Some(("default parameters", default))),
    ];
    let mut keys_out = Vec::new();
    let mut payloads = Vec::new();
    for (i, (seed, pass)) in cases.iter().enumerate() {
        let bytes: [u8; 32] = core::array::from_fn(|j| seed.wrapping_add((j as u8).wrapping_mul(7)));
        let secret = LinkSecret::from_bytes(bytes);
        let phrase = pass.map(|(p, _)| SecretString::from(p.to_owned()));
        let keys = LinkKeys::derive(&secret, phrase.as_ref().zip(pass.as_ref().map(|(_, k)| k))).unwrap();
        let common = json!({
            "secret": secret.to_fragment().as_str(),
            "passphrase": pass.map(|(p, _)| p),
            "kdf": pass.map(|(_, k)| kdf_json(&k)),
        });
        let mut k = common.clone();
        let obj = k.as_object_mut().unwrap();
        obj.insert("identity".into(), keys.identity_string().expose_secret().into());
        obj.insert("recipient".into(), keys.recipient().to_string().into());
        obj.insert("claim_key".into(), hex::encode(keys.claim_key().expose()).into());
        obj.insert("claim_hash".into(), hex::encode(keys.claim_key().digest().0).into());
        obj.insert("holder".into(), hex::encode(keys.holder().expose()).into());
        obj.insert("holder_hash".into(), hex::encode(keys.holder().digest().0).into());
        obj.insert("check".into(), hex::encode(SecretCheck::of(&secret).0).into());
        let proof = burnlink_core::keys::AnswerProof::of(&keys.recipient().to_string());
        obj.insert("answer_proof".into(), hex::encode(proof.expose()).into());
        keys_out.push(k);

        // One text and one multi-file payload per key (the default-parameter key gets only a text: it is slow).
        let text = format!("vector {i}: the launch code is {}", URL_SAFE_NO_PAD.encode([*seed; 6]));
        let mut s = Sealer::new(&keys, Vec::new()).unwrap();
        s.add_text(text.as_bytes()).unwrap();
        let ct = s.finish().unwrap();
        let mut p = common.clone();
        p.as_object_mut().unwrap().extend([
            ("kind".to_owned(), json!("text")),
            ("text".to_owned(), json!(text)),
            ("ciphertext".to_owned(), json!(STANDARD.encode(&ct))),
        ]);
        payloads.push(p);
        if i == cases.len() - 1 {
            continue;
        }
        let files: Vec<(String, Vec<u8>)> = vec![
            ("empty.txt".into(), vec![]),
            ("notes/hello.txt".into(), b"hello, world\n".to_vec()),
            (
                "data.bin".into(),
                (0..if i == 0 { 70_000u32 } else { 3_000 }).map(|x| (x.wrapping_mul(2654435761) >> 24) as u8).collect(),
            ),
        ];
        let mut s = Sealer::new(&keys, Vec::new()).unwrap();
        s.add_dir(&SafePath::new("notes").unwrap()).unwrap();
        for (name, data) in &files {
            s.add_file(&SafePath::new(name).unwrap(), data.len() as u64, &data[..]).unwrap();
        }
        let ct = s.finish().unwrap();
        let mut p = common;
        p.as_object_mut().unwrap().extend([
            ("kind".to_owned(), json!("files")),
            ("dirs".to_owned(), json!(["notes"])),
            (
                "files".to_owned(),
                json!(files
                    .iter()
                    .map(|(n, d)| json!({"name": n, "size": d.len(), "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(d))}))
                    .collect::<Vec<_>>()),
            ),
            ("ciphertext".to_owned(), json!(STANDARD.encode(&ct))),
        ]);
        payloads.push(p);
    }
    let doc = json!({
        "description": "Burnlink v1 known answers. secret: link fragment (base64url, no padding). Keys: HKDF-SHA256 \
            (no salt) of the secret, or with a passphrase of HKDF(secret || Argon2id(NFC(passphrase), salt, m_kib, t, p), \
            'burnlink/v1/pass'), with info labels burnlink/v1/x25519, burnlink/v1/claim, burnlink/v1/check (check: first \
            16 bytes, from the secret alone). holder: HKDF-SHA256(secret, 'burnlink/v1/holder'), from the secret alone \
            even with a passphrase. claim_hash = SHA-256(claim_key), holder_hash = SHA-256(holder). ciphertext: standard \
            base64 of an age v1 \
            file whose plaintext is a tar stream padded with zeros to the Padmé length.",
        "labels": {"x25519": "burnlink/v1/x25519", "claim": "burnlink/v1/claim", "pass": "burnlink/v1/pass", "check": "burnlink/v1/check", "holder": "burnlink/v1/holder"},
        "keys": keys_out,
        "payloads": payloads,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}
