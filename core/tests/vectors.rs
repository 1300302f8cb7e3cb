//! Known answers from `tests/vectors/v1.json` (shared with the browser tests): derived keys must match exactly and
//! every payload must open to its recorded plaintext.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use burnlink_core::container::MemorySink;
use burnlink_core::envelope::open;
use burnlink_core::keys::{HolderProof, KdfParams, LinkKeys, PublicMeta, SecretCheck};
use burnlink_core::link::LinkSecret;
use burnlink_core::secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn load() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn kdf(v: &Value) -> Option<KdfParams> {
    let k = v.get("kdf").filter(|k| !k.is_null())?;
    Some(KdfParams {
        salt: hex::decode(k["salt"].as_str().unwrap()).unwrap().try_into().unwrap(),
        m_kib: k["m_kib"].as_u64().unwrap() as u32,
        t: k["t"].as_u64().unwrap() as u32,
        p: k["p"].as_u64().unwrap() as u32,
    })
}

fn keys_of(v: &Value) -> (LinkSecret, LinkKeys) {
    let secret = LinkSecret::from_fragment(v["secret"].as_str().unwrap()).unwrap();
    let phrase = v["passphrase"].as_str().map(|p| SecretString::from(p.to_owned()));
    let meta = PublicMeta { check: SecretCheck::of(&secret), kdf: kdf(v) };
    let keys = LinkKeys::unlock(&secret, &meta, phrase.as_ref()).unwrap();
    (secret, keys)
}

#[test]
fn derived_keys_match() {
    let doc = load();
    let cases = doc["keys"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for v in cases {
        let (secret, keys) = keys_of(v);
        assert_eq!(keys.identity_string().expose_secret(), v["identity"].as_str().unwrap());
        assert_eq!(keys.recipient().to_string(), v["recipient"].as_str().unwrap());
        assert_eq!(hex::encode(keys.claim_key().expose()), v["claim_key"].as_str().unwrap());
        assert_eq!(hex::encode(keys.claim_key().digest().0), v["claim_hash"].as_str().unwrap());
        assert_eq!(hex::encode(SecretCheck::of(&secret).0), v["check"].as_str().unwrap());
        assert_eq!(hex::encode(keys.holder().expose()), v["holder"].as_str().unwrap());
        assert_eq!(hex::encode(HolderProof::of(&secret).digest().0), v["holder_hash"].as_str().unwrap());
        let proof = burnlink_core::keys::AnswerProof::of(&keys.recipient().to_string());
        assert_eq!(hex::encode(proof.expose()), v["answer_proof"].as_str().unwrap());
    }
}

#[test]
fn payloads_open_to_their_plaintext() {
    let doc = load();
    let mut kinds = (0, 0);
    for v in doc["payloads"].as_array().unwrap() {
        let (_, keys) = keys_of(v);
        let ct = STANDARD.decode(v["ciphertext"].as_str().unwrap()).unwrap();
        let mut sink = MemorySink::default();
        open(&ct[..], &keys, &mut sink).unwrap();
        match v["kind"].as_str().unwrap() {
            "text" => {
                assert_eq!(sink.text.as_deref().map(String::as_str), v["text"].as_str());
                kinds.0 += 1;
            }
            "files" => {
                let want = v["files"].as_array().unwrap();
                assert_eq!(sink.files.len(), want.len());
                for ((name, data), w) in sink.files.iter().zip(want) {
                    assert_eq!(name.as_str(), w["name"].as_str().unwrap());
                    assert_eq!(data.len() as u64, w["size"].as_u64().unwrap());
                    assert_eq!(hex::encode(Sha256::digest(data)), w["sha256"].as_str().unwrap());
                }
                let dirs: Vec<&str> = sink.dirs.iter().map(|d| d.as_str()).collect();
                let want_dirs: Vec<&str> = v["dirs"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
                assert_eq!(dirs, want_dirs);
                kinds.1 += 1;
            }
            other => panic!("unknown kind {other}"),
        }
    }
    assert!(kinds.0 >= 6 && kinds.1 >= 5, "{kinds:?}");
}

fn containers() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/containers.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The same cases as the page's decoder (`ui/test/vectors.test.ts`): what one accepts the other shows alike, and
/// what one refuses the other refuses.
#[test]
fn containers_accepted_and_refused_alike() {
    let doc = containers();
    for v in doc["accept"].as_array().unwrap() {
        let why = v["why"].as_str().unwrap();
        let tar = STANDARD.decode(v["tar"].as_str().unwrap()).unwrap();
        let mut sink = MemorySink::default();
        burnlink_core::container::decode(&tar[..], &mut sink).unwrap_or_else(|e| panic!("{why}: {e}"));
        assert_eq!(sink.text.as_deref().map(String::as_str), v["text"].as_str(), "{why}");
        let want = v["files"].as_array().unwrap();
        assert_eq!(sink.files.len(), want.len(), "{why}");
        for ((name, data), w) in sink.files.iter().zip(want) {
            assert_eq!(name.as_str(), w["name"].as_str().unwrap(), "{why}");
            assert_eq!(hex::encode(Sha256::digest(data)), w["sha256"].as_str().unwrap(), "{why}");
        }
        let dirs: Vec<&str> = sink.dirs.iter().map(|d| d.as_str()).collect();
        let want_dirs: Vec<&str> = v["dirs"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
        assert_eq!(dirs, want_dirs, "{why}");
    }
    let refused = doc["refuse"].as_array().unwrap();
    assert!(refused.len() >= 40);
    for v in refused {
        let why = v["why"].as_str().unwrap();
        let tar = STANDARD.decode(v["tar"].as_str().unwrap()).unwrap();
        let mut sink = MemorySink::default();
        let got = burnlink_core::container::decode(&tar[..], &mut sink);
        assert!(got.is_err(), "{why}: accepted with {} files, text {:?}", sink.files.len(), sink.text.is_some());
    }
}
