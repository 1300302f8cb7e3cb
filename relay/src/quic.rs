/*!
The QUIC front end: the one place that talks to quinn. Accepts connections (per-address limits, Retry under handshake
load), reads one request per bidirectional stream, hands it to [`Relay::handle`] (the one request path), and streams
ciphertext in and out. It maps bytes only: what a request means is decided in `crate::request`.
*/

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use burnlink_core::link::LinkId;
use burnlink_core::proto::{DecodeError, ErrorCode, Request, Response, MAX_BODY};
use bytes::Bytes;
use futures_util::StreamExt;
use quinn::{Connection, RecvStream, SendStream};
use tracing::{debug, warn};

use crate::request::{bad_request, internal, Incoming};
use crate::service::Relay;
use crate::store::BlobStream;

/// Application error codes on QUIC streams and connections (the wire contract's, in `burnlink_core::proto`).
pub use burnlink_core::proto::codes;

/// Builds the quinn server config: TLS from `tls`, transport limits from the relay config.
pub fn server_config(tls: rustls::ServerConfig, relay: &Relay) -> anyhow::Result<quinn::ServerConfig> {
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let c = &relay.config;
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_bidi_streams(c.max_streams_per_conn.into())
        .max_concurrent_uni_streams(0u8.into())
        .stream_receive_window(quinn::VarInt::from_u32(c.stream_window))
        .receive_window(quinn::VarInt::from_u32(c.stream_window.saturating_mul(2)))
        .send_window(u64::from(c.stream_window))
        .max_idle_timeout(Some(Duration::from_secs(15).try_into()?))
        .keep_alive_interval(None)
        .mtu_discovery_config(Some(mtu_discovery()));
    cfg.transport_config(Arc::new(t));
    cfg.migration(false);
    Ok(cfg)
}

/// Path MTU discovery up to [`burnlink_core::proto::MAX_UDP_PAYLOAD`] (the client uses the same bound).
fn mtu_discovery() -> quinn::MtuDiscoveryConfig {
    let mut m = quinn::MtuDiscoveryConfig::default();
    m.upper_bound(burnlink_core::proto::MAX_UDP_PAYLOAD);
    m
}

/// Accepts connections until `shutdown` resolves.
pub async fn serve(endpoint: quinn::Endpoint, relay: Arc<Relay>, shutdown: impl std::future::Future<Output = ()>) {
    let handshaking = Arc::new(AtomicUsize::new(0));
    tokio::pin!(shutdown);
    loop {
        let incoming = tokio::select! {
            i = endpoint.accept() => match i { Some(i) => i, None => break },
            _ = &mut shutdown => break,
        };
        let ip = incoming.remote_address().ip();
        if handshaking.load(Ordering::Relaxed) >= relay.config.retry_threshold && !incoming.remote_address_validated() {
            // Under handshake load, make clients prove their address before we spend a handshake on them.
            let _ = incoming.retry();
            continue;
        }
        let Some(guard) = relay.admit(ip) else {
            debug!("refusing connection: per-address limit");
            incoming.refuse();
            continue;
        };
        let relay = relay.clone();
        let handshaking = handshaking.clone();
        handshaking.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let conn = tokio::time::timeout(Duration::from_secs(10), incoming).await;
            handshaking.fetch_sub(1, Ordering::Relaxed);
            match conn {
                Ok(Ok(conn)) => serve_connection(conn, relay).await,
                Ok(Err(e)) => debug!("handshake failed: {e}"),
                Err(_) => debug!("handshake timed out"),
            }
            drop(guard);
        });
    }
    endpoint.close(codes::SHUTDOWN.into(), b"shutting down");
}

async fn serve_connection(conn: Connection, relay: Arc<Relay>) {
    let remote = conn.remote_address();
    loop {
        let (send, recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(_) => return,
        };
        let relay = relay.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_stream(send, recv, relay, remote).await {
                debug!("stream ended: {e}");
            }
        });
    }
}

/// Reads one request frame; returns it with whatever payload bytes arrived after it.
async fn read_request(recv: &mut RecvStream) -> Result<(Request, Vec<u8>), Response> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            match Request::decode(&buf) {
                Ok((req, used)) => return Ok((req, buf[used..].to_vec())),
                Err(DecodeError::Incomplete(_)) if buf.len() < MAX_BODY + 64 => {}
                Err(DecodeError::Version(v)) => {
                    return Err(Response::Error {
                        code: ErrorCode::UnsupportedVersion,
                        message: format!("protocol version {v} is not supported"),
                    })
                }
                Err(e) => return Err(bad_request(e.to_string())),
            }
            match recv.read(&mut chunk).await {
                Ok(Some(n)) => buf.extend_from_slice(&chunk[..n]),
                _ => return Err(bad_request("request ended early")),
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(10), read).await {
        Ok(r) => r,
        Err(_) => Err(Response::Error { code: ErrorCode::Timeout, message: "request took too long".into() }),
    }
}

async fn reply(send: &mut SendStream, resp: &Response) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(128);
    resp.encode(&mut buf);
    send.write_all(&buf).await?;
    Ok(())
}

/// A create's payload: the bytes that arrived with the request frame, then the rest of the stream; and the way back
/// for a live create's first answer.
struct QuicBody<'a> {
    early: Option<Bytes>,
    recv: &'a mut RecvStream,
    send: &'a mut SendStream,
}

#[async_trait::async_trait]
impl Incoming for QuicBody<'_> {
    async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        if let Some(b) = self.early.take().filter(|b| !b.is_empty()) {
            return Ok(Some(b));
        }
        // Whatever has arrived, up to 256 KiB: QUIC delivers a packet's worth per chunk, and the upload loop's checks
        // (deadlines, reservations) are per piece, so gathering here costs one copy and saves thousands of rounds.
        let mut buf = bytes::BytesMut::with_capacity(256 * 1024);
        match tokio::io::AsyncReadExt::read_buf(self.recv, &mut buf).await {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(buf.freeze())),
            Err(e) => Err(e),
        }
    }

    async fn early(&mut self, resp: &Response) -> std::io::Result<()> {
        reply(self.send, resp).await.map_err(std::io::Error::other)
    }
}

async fn serve_stream(
    mut send: SendStream,
    mut recv: RecvStream,
    relay: Arc<Relay>,
    remote: SocketAddr,
) -> anyhow::Result<()> {
    let (req, early) = match read_request(&mut recv).await {
        Ok(r) => r,
        Err(resp) => {
            let _ = recv.stop(codes::BAD_REQUEST.into());
            reply(&mut send, &resp).await?;
            send.finish()?;
            return Ok(());
        }
    };
    if let Request::Watch { id, manage } = req {
        return watch(send, relay, id, manage).await;
    }
    let is_create = matches!(req, Request::Create(_));
    let mut body = QuicBody { early: Some(Bytes::from(early)), recv: &mut recv, send: &mut send };
    let answer = relay.handle(remote.ip(), req, is_create.then_some(&mut body as &mut dyn Incoming)).await;
    if is_create {
        if let Response::Error { code, .. } = &answer.response {
            // Refused or cut short: stop the sender's stream so it learns at once.
            let stop = if *code == ErrorCode::TooLarge { codes::TOO_LARGE } else { codes::BAD_REQUEST };
            let _ = recv.stop(stop.into());
        }
    }
    reply(&mut send, &answer.response).await?;
    if let Some(body) = answer.body {
        serve_body(&mut send, body).await?;
    }
    send.finish()?;
    let _ = send.stopped().await;
    Ok(())
}

async fn serve_body(send: &mut SendStream, mut body: BlobStream) -> anyhow::Result<()> {
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(b) => send.write_chunk(b).await?,
            Err(e) if crate::store::is_upload_ended(&e) => {
                // The sender's live upload stopped short: say so, so the recipient does not wait to resume.
                send.reset(codes::UPLOAD_FAILED.into())?;
                return Ok(());
            }
            Err(e) if crate::store::is_revoked(&e) => {
                // The sender withdrew the link: the recipient must drop what it has, not resume.
                send.reset(codes::REVOKED.into())?;
                return Ok(());
            }
            Err(e) => {
                // Storage failed mid-way: cut the stream, so the client sees an error and can resume under its lease.
                warn!("reading stored content failed: {e}");
                send.reset(codes::SHUTDOWN.into())?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Sends the sender a status now and on every change, until the link reaches an end state or the peer goes away.
async fn watch(
    mut send: SendStream,
    relay: Arc<Relay>,
    id: LinkId,
    manage: burnlink_core::keys::ManageToken,
) -> anyhow::Result<()> {
    let mut changes = relay.subscribe();
    let mut last = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let status = match relay.status(id, &manage).await {
            Ok(s) => s,
            Err(_) => {
                reply(&mut send, &internal()).await?;
                break;
            }
        };
        let Some(status) = status else {
            reply(&mut send, &Response::Gone).await?;
            break;
        };
        if last != Some(status) {
            reply(&mut send, &Response::Status(status)).await?;
            last = Some(status);
        }
        if !status.state.holds_content() {
            break;
        }
        // Wait for a change of this link, or the next tick (time alone ends leases and expires links).
        loop {
            tokio::select! {
                r = changes.recv() => match r {
                    Ok(changed) if changed != id => continue,
                    _ => break,
                },
                _ = tick.tick() => break,
                _ = send.stopped() => return Ok(()),
            }
        }
    }
    send.finish()?;
    let _ = send.stopped().await;
    Ok(())
}
