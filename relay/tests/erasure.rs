//! Burned means unrecoverable, even to someone who holds the link and a copy of the relay's disk. Known bytes are
//! uploaded and burned by every route (ack, lease end, expiry, revoke, too many attempts), inline and as files; then
//! no raw file under the data dir (sled's log included) holds the bytes or any storage key, and a copy of the data
//! dir taken before the burns, restored without its key file, gives nothing back.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use burnlink_client::transport::Claim;
use burnlink_core::keys::ClaimKey;
use common::*;

const MARKER: &[u8] = b"ERASURE-MARKER-";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            files_under(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

/// Every raw file under `dir` that contains `needle`.
fn holders(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    files.into_iter().filter(|f| std::fs::read(f).unwrap().windows(needle.len()).any(|w| w == needle)).collect()
}

/// The storage keys in the key file: its non-zero 32-byte slots.
fn storage_keys(dir: &Path) -> Vec<[u8; 32]> {
    std::fs::read(dir.join("keys"))
        .unwrap()
        .chunks(32)
        .filter(|c| c.iter().any(|&b| b != 0))
        .map(|c| c.try_into().unwrap())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn content(route: &str, len: usize) -> Vec<u8> {
    let unit = [MARKER, route.as_bytes(), b";"].concat();
    unit.iter().copied().cycle().take(len).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burned_content_and_its_keys_are_gone_from_the_disk_by_every_route() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let routes = ["ack", "lease", "expiry", "revoke", "attempts"];
    let mut links = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        for (j, len) in [(0u64, 3000usize), (1, 1 << 20)] {
            let k = link_keys(100 + 2 * i as u64 + j);
            let ttl = if *route == "expiry" { 300 } else { 3600 };
            let (id, _) = c.create(create_request(&k, ttl), &content(route, len)[..], &|_| {}).await.unwrap();
            links.push((*route, id, k));
        }
    }
    assert_eq!(relay.blob_files(), 5, "the five large payloads are files");
    let data = relay.dir.path().to_path_buf();
    let keys = storage_keys(&data);
    assert_eq!(keys.len(), 10, "one storage key per live link");
    // The scan sees raw bytes: each key is found in the key file...
    for k in &keys {
        assert_eq!(holders(&data, k), vec![data.join("keys")]);
    }
    // ...and content is sealed at rest even while the links live.
    assert!(holders(&data, MARKER).is_empty(), "plaintext of a live link on disk: {:?}", holders(&data, MARKER));
    let before = tempfile::tempdir().unwrap();
    copy_dir(&data, before.path());

    // Burn every link by its route.
    let wrong = ClaimKey::from_bytes([0xee; 32]);
    for (route, id, k) in &links {
        match *route {
            "ack" => {
                let (lease, got) = claim_all(&c, *id, k).await;
                assert!(got.starts_with(MARKER));
                assert!(c.ack(*id, lease).await.unwrap());
            }
            "lease" => {
                let Claim::Won { .. } = c.claim(*id, k.holder.clone(), k.claim.clone()).await.unwrap() else {
                    panic!()
                };
            }
            "revoke" => {
                c.revoke(*id, k.manage.clone()).await.unwrap().unwrap();
            }
            "attempts" => {
                for _ in 0..10 {
                    let r = c.claim(*id, k.holder.clone(), wrong.clone()).await.unwrap();
                    assert!(matches!(r, Claim::WrongProof { .. }));
                }
            }
            _ => {}
        }
    }
    // Lease ends and expiry: time alone, through the sweeper.
    relay.relay.clock.advance(relay.relay.config.lease + Duration::from_secs(1));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !storage_keys(&data).is_empty() || relay.blob_files() > 0 {
        assert!(std::time::Instant::now() < deadline, "the sweeper did not erase expired content");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (route, id, k) in &links {
        let s = c.status(*id, k.manage.clone()).await.unwrap().unwrap();
        assert!(!s.state.holds_content(), "{route}: {s:?}");
    }
    c.close().await;
    let data_dir = relay.stop().await;

    let data = data_dir.path();
    assert!(holders(data, MARKER).is_empty(), "burned content on disk: {:?}", holders(data, MARKER));
    for k in &keys {
        assert!(holders(data, k).is_empty(), "a destroyed storage key is still on disk: {:?}", holders(data, k));
    }

    // A copy from before the burns, without its key file: no content in any file, and a relay started on it serves
    // nothing, to anyone, even with the right link.
    std::fs::remove_file(before.path().join("keys")).unwrap();
    assert!(holders(before.path(), MARKER).is_empty());
    let restored = TestRelay::start_in(before, test_config()).await;
    let c = restored.client().await;
    for (route, id, k) in &links {
        let r = c.claim(*id, k.holder.clone(), k.claim.clone()).await.unwrap();
        assert!(matches!(r, Claim::Gone), "{route}: the restored copy served a link");
    }
    assert_eq!(all_records(restored.relay.store().as_ref()).await.len(), 0);
    assert_eq!(restored.blob_files(), 0);
    restored.stop().await;
}
