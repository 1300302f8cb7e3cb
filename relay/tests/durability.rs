//! Crash safety: the real `burnlink-relay` binary is killed with SIGKILL at chosen points and restarted on the same
//! data directory. Acknowledged burns never come back, finalized links are never lost, half uploads never become
//! visible, and no orphan ciphertext remains.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use burnlink_client::transport::{Claim, Peek};
use burnlink_client::{RelayClient, Trust};
use burnlink_core::state::StateKind;
use common::*;
use tokio::io::AsyncReadExt;

struct RelayProc {
    child: Child,
    quic: std::net::SocketAddr,
    ca: std::path::PathBuf,
}

impl RelayProc {
    fn start(data: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_burnlink-relay"))
            .arg("--data")
            .arg(data)
            .args(["--rate", "0", "--max-conns-per-ip", "1000", "--sweep-secs", "3600"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let v = burnlink_e2e::read_ready(&mut child).unwrap();
        assert_eq!(v["quic"], v["https"], "one port for both by default");
        assert_eq!(v["url"].as_str().unwrap(), format!("https://{}", v["https"].as_str().unwrap()));
        Self { child, quic: v["quic"].as_str().unwrap().parse().unwrap(), ca: v["ca"].as_str().unwrap().into() }
    }

    async fn client(&self) -> RelayClient {
        RelayClient::connect_addr(self.quic, "localhost", &Trust::from_pem_file(&self.ca).unwrap()).await.unwrap()
    }

    fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

/// Counts records and content-holding records by opening the store directly (the relay must be stopped).
async fn inspect(data: &Path) -> (usize, usize, usize, usize) {
    let (store, _) =
        burnlink_relay::store::SledStore::open(data, 64 * 1024, std::time::Duration::from_secs(10)).unwrap();
    let records = all_records(&store).await;
    let live = records.iter().filter(|(_, r)| r.state.kind().holds_content()).count();
    let mut live_with_blob = 0;
    for (id, _) in &records {
        live_with_blob += usize::from(has_content(&store, id).await);
    }
    (records.len(), live, live_with_blob, count_files(&data.join("blobs/tmp")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_after_claim_acknowledged_keeps_the_burn_and_the_other_links() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProc::start(dir.path());
    let c = relay.client().await;
    let (ka, kb) = (link_keys(1), link_keys(2));
    let a = create(&c, &ka, &payload(1 << 20, 1)).await;
    let b_data = payload(3000, 2);
    let b = create(&c, &kb, &b_data).await;
    let Claim::Won { .. } = c.claim(a, ka.holder.clone(), ka.claim.clone()).await.unwrap() else { panic!() };
    relay.kill9();

    let relay = RelayProc::start(dir.path());
    let c = relay.client().await;
    assert!(matches!(c.peek(a).await.unwrap(), Peek::Gone), "a claimed link came back after a crash");
    assert!(matches!(c.claim(a, ka.holder.clone(), ka.claim.clone()).await.unwrap(), Claim::Gone));
    assert_eq!(c.status(a, ka.manage.clone()).await.unwrap().unwrap().state, StateKind::Claimed);
    let (_, got) = claim_all(&c, b, &kb).await;
    assert_eq!(got, b_data, "a finalized link was lost");
    relay.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_mid_download_lets_the_lease_holder_resume_and_the_ack_sticks() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProc::start(dir.path());
    let c = relay.client().await;
    let k = link_keys(3);
    let data = payload(8 << 20, 3);
    let id = create(&c, &k, &data).await;
    let Claim::Won { lease, body, .. } = c.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap() else {
        panic!()
    };
    let mut got = vec![0u8; 4 << 20];
    body.into_reader().read_exact(&mut got).await.unwrap();
    relay.kill9();

    let relay = RelayProc::start(dir.path());
    let c = relay.client().await;
    let body = c.resume(id, lease.clone(), got.len() as u64).await.unwrap().expect("lease survives the crash");
    got.extend(read_body(body).await);
    assert!(got == data);
    assert!(c.ack(id, lease).await.unwrap());
    relay.kill9();

    let relay = RelayProc::start(dir.path());
    let c = relay.client().await;
    assert_eq!(c.status(id, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Consumed);
    assert!(matches!(c.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap(), Claim::Gone));
    relay.kill9();
    assert_eq!(count_files(&dir.path().join("blobs")), 0, "consumed ciphertext still on disk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_mid_upload_leaves_no_visible_link_and_no_orphan() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProc::start(dir.path());
    let c = relay.client().await;
    let done = link_keys(4);
    let done_id = create(&c, &done, &payload(2 << 20, 4)).await;
    let sent = Arc::new(AtomicU64::new(0));
    let upload = {
        let c = c.clone();
        let sent = sent.clone();
        tokio::spawn(async move {
            let k = link_keys(5);
            let big = payload(64 << 20, 5);
            c.create(create_request(&k, 600), &big[..], &move |n| sent.store(n, Ordering::Relaxed)).await
        })
    };
    while sent.load(Ordering::Relaxed) < 16 << 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    relay.kill9();
    assert!(upload.await.unwrap().is_err(), "upload cannot have succeeded");
    assert!(count_files(&dir.path().join("blobs/tmp")) > 0 || count_files(&dir.path().join("blobs")) >= 1);

    // Restart: the sweep removes the partial upload; the finished link is intact.
    let relay = RelayProc::start(dir.path());
    let c = relay.client().await;
    assert!(matches!(c.peek(done_id).await.unwrap(), Peek::Fresh(_)));
    relay.kill9();
    let (records, live, live_with_blob, tmp) = inspect(dir.path()).await;
    assert_eq!((records, live, live_with_blob, tmp), (1, 1, 1, 0));
    assert_eq!(count_files(&dir.path().join("blobs")), 1, "orphan blob file remains");
}
