//! What the relay benches share: a payload that is never held whole, requests with known proofs, a process's peak
//! RSS, and a reader that only counts.
#![allow(dead_code)]

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

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
