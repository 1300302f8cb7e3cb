//! What the relay benches share: a payload that is never held whole, requests with known proofs, a process's peak
//! RSS, and a reader that only counts.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use burnlink_client::transport::Claim;
use burnlink_client::{RelayClient, Trust};
use burnlink_core::keys::{ClaimKey, HolderProof, ManageToken, PublicMeta, SecretCheck};
use burnlink_core::proto::CreateRequest;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// `left` bytes of a repeating pattern, without holding them.
pub struct Pattern {
    left: u64,
    buf: Arc<Vec<u8>>,
    pos: usize,
}

impl AsyncRead for Pattern {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let n = (out.remaining() as u64).min(self.left).min((self.buf.len() - self.pos) as u64) as usize;
        let pos = self.pos;
        out.put_slice(&self.buf[pos..pos + n]);
        self.pos = (self.pos + n) % self.buf.len();
        self.left -= n as u64;
        Poll::Ready(Ok(()))
    }
}

pub fn pattern(len: u64) -> Pattern {
    Pattern { left: len, buf: Arc::new((0..1 << 20).map(|i: u32| (i * 7) as u8).collect()), pos: 0 }
}

pub fn request(seed: u64) -> (CreateRequest, HolderProof, ClaimKey) {
    let mut c = [0u8; 32];
    c[..8].copy_from_slice(&seed.to_le_bytes());
    let claim = ClaimKey::from_bytes(c);
    c[31] = 0x11;
    let holder = HolderProof::from_bytes(c);
    let req = CreateRequest {
        ttl_secs: 3600,
        claim_hash: claim.digest(),
        holder_hash: holder.digest(),
        manage_hash: ManageToken::from_bytes([1; 32]).digest(),
        meta: PublicMeta { check: SecretCheck([0; 16]), kdf: None },
        live: None,
        rules: Default::default(),
        extra: Vec::new(),
        answer: None,
    };
    (req, holder, claim)
}

pub fn vm_hwm_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub async fn drain(mut r: impl AsyncRead + Unpin) -> u64 {
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf).await.unwrap();
        if k == 0 {
            return n;
        }
        n += k as u64;
    }
}

/// Durable create+claim pairs (1 KiB payloads, each claim read fully) by 64 clients spread over the relays at
/// `quic`, for `secs`: how many, and how long they took.
pub async fn pairs(quic: &[SocketAddr], trust: &Trust, secs: u64) -> (u64, Duration) {
    let pairs = Arc::new(AtomicU64::new(0));
    let payload = Arc::new(vec![0x5au8; 1024]);
    let mut clients = Vec::new();
    for w in 0..64usize {
        clients.push(RelayClient::connect_addr(quic[w % quic.len()], "localhost", trust).await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (w, c) in clients.into_iter().enumerate() {
        let (pairs, payload) = (pairs.clone(), payload.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let (req, holder, claim) = request((w as u64) << 32 | i);
                i += 1;
                let (id, _) = c.create(req, &payload[..], &|_| {}).await.unwrap();
                match c.claim(id, holder, claim).await.unwrap() {
                    Claim::Won { body, .. } => assert_eq!(drain(body.into_reader()).await, 1024),
                    _ => panic!("claim lost"),
                }
                pairs.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (pairs.load(Ordering::Relaxed), t0.elapsed())
}
