//! Helpers: an in-process relay on port 0 and a client that trusts its certificate.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use burnlink_client::transport::{Body, Claim};
use burnlink_client::{RelayClient, Trust};
use burnlink_core::keys::{ClaimKey, HolderProof, ManageToken, PublicMeta, SecretCheck};
use burnlink_core::link::LinkId;
use burnlink_core::proto::CreateRequest;
use burnlink_relay::{Config, Options, Relay, Server};
use tokio::io::AsyncReadExt;

pub struct TestRelay {
    pub relay: Arc<Relay>,
    pub ready: burnlink_relay::Ready,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn test_config() -> Config {
    Config {
        max_conns_per_ip: 1000,
        max_streams_per_conn: 1000,
        rate_per_sec: 0.0,
        create_per_sec: 0.0,
        bytes_per_hour: 0,
        sweep_interval: Duration::from_millis(100),
        inline_threshold: 64 * 1024,
        ..Config::default()
    }
}

impl TestRelay {
    pub async fn start(config: Config) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), config).await
    }

    /// Starts on an existing data dir.
    pub async fn start_in(dir: tempfile::TempDir, config: Config) -> Self {
        let mut opts = Options::new(dir.path());
        opts.config = config;
        Self::start_with(dir, opts).await
    }

    /// Starts with `opts` (whose data dir is `dir`).
    pub async fn start_with(dir: tempfile::TempDir, opts: Options) -> Self {
        // A restart in the same process: sled may finish its last IO, and drop the data dir's lock, a moment after
        // the previous handle is gone. Wait for the lock, boundedly; any other error fails at once.
        let mut tries = 0;
        let server = loop {
            match Server::bind(opts.clone()).await {
                Ok(s) => break s,
                Err(e) if e.to_string().contains("could not acquire lock") && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("starting the relay: {e}"),
            }
        };
        let relay = server.relay.clone();
        let ready = server.ready.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Self { relay, ready, dir, stop: Some(tx), task: Some(task) }
    }

    pub async fn client(&self) -> RelayClient {
        let trust = Trust::from_pem_file(&self.ready.ca).unwrap();
        RelayClient::connect_addr(self.ready.quic, "localhost", &trust).await.unwrap()
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// The relay's HTTPS router, to drive in-process with tower `oneshot` (no TLS, no peer address).
    pub fn router(&self) -> axum::Router {
        burnlink_relay::https::router(burnlink_relay::https::HttpState {
            relay: self.relay.clone(),
            quic_port: self.ready.quic.port(),
        })
    }

    /// Files under blobs/ (not tmp/).
    pub fn blob_files(&self) -> usize {
        count_files(&self.dir.path().join("blobs"))
    }

    /// Waits (at most 5 s) until no content file is left: an ack's erase follows its durable answer at once.
    pub async fn wait_no_blob_files(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.blob_files() > 0 {
            assert!(std::time::Instant::now() < deadline, "ciphertext not deleted after the ack");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

/// Every record of a store, through its batched scan.
pub async fn all_records(store: &dyn burnlink_relay::store::Store) -> Vec<(LinkId, burnlink_core::state::Record)> {
    let mut pages = burnlink_relay::store::Pages::new(store, 100);
    let mut out = Vec::new();
    while let Some(batch) = pages.next().await.unwrap() {
        out.extend(batch.into_iter().map(|(id, r)| (id, r.unwrap())));
    }
    out
}

/// Whether a store still holds content for `id`.
pub async fn has_content(store: &dyn burnlink_relay::store::Store, id: &LinkId) -> bool {
    store.open(id, 0).await.unwrap().is_some()
}

/// POSTs a claim with these proofs through `app`; returns the status and the body.
pub async fn post_claim(
    app: &axum::Router,
    id: &str,
    holder: &[u8; 32],
    key: &[u8; 32],
) -> (axum::http::StatusCode, Vec<u8>) {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let body = serde_json::json!({ "holder": b64(holder), "claim_key": b64(key) }).to_string();
    let req = axum::http::Request::post(format!("/api/v1/links/{id}/claim"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, bytes.to_vec())
}

pub fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file()).count()
}

/// Keys of a test link.
pub struct LinkKeys {
    pub holder: HolderProof,
    pub claim: ClaimKey,
    pub manage: ManageToken,
}

pub fn link_keys(seed: u64) -> LinkKeys {
    let mut c = [0u8; 32];
    c[..8].copy_from_slice(&seed.to_le_bytes());
    let mut m = c;
    m[31] = 0xff;
    let mut h = c;
    h[31] = 0x77;
    LinkKeys { holder: HolderProof::from_bytes(h), claim: ClaimKey::from_bytes(c), manage: ManageToken::from_bytes(m) }
}

pub fn create_request(k: &LinkKeys, ttl_secs: u32) -> CreateRequest {
    CreateRequest {
        ttl_secs,
        claim_hash: k.claim.digest(),
        holder_hash: k.holder.digest(),
        manage_hash: k.manage.digest(),
        meta: PublicMeta { check: SecretCheck([7; 16]), kdf: None },
        live: None,
        rules: Default::default(),
        extra: Vec::new(),
        answer: None,
    }
}

/// `len` pseudo-random bytes (xorshift): no period, so content read from a wrong offset never matches by chance.
pub fn random_payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)).collect()
}

pub async fn create(c: &RelayClient, k: &LinkKeys, data: &[u8]) -> LinkId {
    c.create(create_request(k, 3600), data, &|_| {}).await.unwrap().0
}

pub async fn read_body(body: Body) -> Vec<u8> {
    let mut v = Vec::new();
    body.into_reader().read_to_end(&mut v).await.unwrap();
    v
}

/// Claims and reads everything; panics unless the claim won.
pub async fn claim_all(c: &RelayClient, id: LinkId, k: &LinkKeys) -> (burnlink_core::keys::LeaseToken, Vec<u8>) {
    match c.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap() {
        Claim::Won { lease, body, .. } => (lease, read_body(body).await),
        Claim::Gone => panic!("claim: gone"),
        Claim::WrongProof { .. } => panic!("claim: wrong proof"),
    }
}
