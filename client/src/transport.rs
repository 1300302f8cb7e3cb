/*!
The QUIC connection to a relay and one method per request of the wire protocol ([`burnlink_core::proto`]).

Trust is either the usual web PKI (bundled Mozilla roots) or a pinned certificate file for a self-hosted relay
(`--ca`). TLS 1.3 only, ALPN `burnlink/1`, no early data.
*/

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use burnlink_core::keys::{ClaimKey, HolderProof, LeaseToken, ManageToken};
use burnlink_core::link::{LinkId, RelayOrigin};
use burnlink_core::proto::{
    AnswerList, AskRequest, ClientKind, CreateRequest, DecodeError, ErrorCode, LinkInfo, Request, Response,
    StatusReport, MAX_UDP_PAYLOAD, UDP_BUFFER,
};
use burnlink_core::state::Timestamp;
use bytes::Bytes;
use quinn::{RecvStream, SendStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

pub use burnlink_core::proto::codes::{REVOKED, UPLOAD_ABORTED, UPLOAD_FAILED};

/// Whether a download's read failed because the relay reset it with `code`.
fn is_reset_with(e: &std::io::Error, code: u32) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<quinn::ReadError>())
        .is_some_and(|r| matches!(r, quinn::ReadError::Reset(c) if c.into_inner() == u64::from(code)))
}

/// Whether a download's read failed because the live upload behind it stopped short.
pub fn is_upload_failed(e: &std::io::Error) -> bool {
    is_reset_with(e, UPLOAD_FAILED)
}

/// Whether a download's read failed because the sender revoked the link meanwhile.
pub fn is_revoked(e: &std::io::Error) -> bool {
    is_reset_with(e, REVOKED)
}

/// An upload's bytes: a reader, or chunks handed over whole (see [`RelayClient::create_streaming`]).
enum Source<R> {
    Reader(R),
    Chunks(mpsc::Receiver<std::io::Result<Bytes>>),
}

impl<R: AsyncRead + Unpin> Source<R> {
    /// The next chunk, `None` at the end.
    async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        match self {
            Source::Reader(r) => {
                let mut buf = bytes::BytesMut::with_capacity(256 * 1024);
                let n = r.read_buf(&mut buf).await?;
                Ok((n > 0).then(|| buf.freeze()))
            }
            Source::Chunks(rx) => match rx.recv().await {
                Some(Ok(b)) if b.is_empty() => Ok(None),
                Some(Ok(b)) => Ok(Some(b)),
                Some(Err(e)) => Err(e),
                None => Err(std::io::Error::other("the payload's producer stopped before its end")),
            },
        }
    }
}

/// Called with a live create's link id and expiry as soon as the relay made the link visible.
pub type OnCreated<'a> = &'a (dyn Fn(LinkId, Timestamp) + Send + Sync);

/// What went wrong talking to a relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection could be made (DNS, refused, timed out).
    #[error("cannot reach the relay at {addr}: {reason}")]
    Unreachable {
        /// What we tried.
        addr: String,
        /// Why it failed.
        reason: String,
    },
    /// The TLS handshake failed: the relay's certificate is not trusted (use --ca for a self-hosted relay).
    #[error("TLS failed with the relay at {addr}: {reason}")]
    Tls {
        /// What we tried.
        addr: String,
        /// Why it failed.
        reason: String,
    },
    /// The relay answered with an error; nothing changed.
    #[error("the relay refused the request: {message}")]
    Relay {
        /// Code to branch on.
        code: ErrorCode,
        /// The relay's explanation.
        message: String,
    },
    /// The relay no longer knows what the request named (the one neutral answer), where that is not an expected
    /// outcome of the request itself: an answer to a request that takes no more answers.
    #[error("the relay answered \"gone\"")]
    Gone,
    /// The relay asked us to slow down for longer than we wait on our own.
    #[error("the relay is busy (too many requests from this address); try again in {} s", .0.as_secs().max(1))]
    RetryAfter(Duration),
    /// The relay's answer made no sense.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection broke mid-request.
    #[error("connection to the relay lost: {0}")]
    ConnectionLost(String),
    /// A local IO error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<quinn::ConnectionError> for TransportError {
    fn from(e: quinn::ConnectionError) -> Self {
        TransportError::ConnectionLost(e.to_string())
    }
}
impl From<quinn::WriteError> for TransportError {
    fn from(e: quinn::WriteError) -> Self {
        TransportError::ConnectionLost(e.to_string())
    }
}
impl From<quinn::ReadError> for TransportError {
    fn from(e: quinn::ReadError) -> Self {
        TransportError::ConnectionLost(e.to_string())
    }
}
impl From<quinn::ClosedStream> for TransportError {
    fn from(e: quinn::ClosedStream) -> Self {
        TransportError::ConnectionLost(e.to_string())
    }
}

/// Which certificates to trust.
#[derive(Clone, Debug)]
pub enum Trust {
    /// The web PKI (Mozilla's roots, bundled).
    WebPki,
    /// Only these certificates (a self-hosted relay's `relay-cert.pem`).
    Pinned(Vec<CertificateDer<'static>>),
}

impl Trust {
    /// Reads a PEM file of trusted certificates.
    pub fn from_pem_file(path: &Path) -> Result<Self, TransportError> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| std::io::Error::other(format!("cannot read CA file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(std::io::Error::other(format!("{} holds no certificate", path.display())).into());
        }
        Ok(Trust::Pinned(certs))
    }

    fn client_config(&self) -> Result<rustls::ClientConfig, TransportError> {
        let mut roots = rustls::RootCertStore::empty();
        match self {
            Trust::WebPki => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Trust::Pinned(certs) => {
                for c in certs {
                    roots
                        .add(c.clone())
                        .map_err(|e| TransportError::Tls { addr: String::new(), reason: e.to_string() })?;
                }
            }
        }
        let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TransportError::Tls { addr: String::new(), reason: e.to_string() })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![burnlink_core::proto::ALPN.to_vec()];
        cfg.enable_early_data = false;
        Ok(cfg)
    }
}

/// Where a large transfer's QUIC work runs. Packet encryption, decryption and acknowledgements for hundreds of MB/s
/// need a core of their own beside the caller's work (sealing, writing files): on a multi-threaded runtime they get
/// one as it is. The CLI runs on one thread instead, because a text's few round trips are faster without hops
/// between threads (about 1.2 ms a command, measured); its large transfers then drive QUIC on a two-thread runtime
/// made the first time one is needed.
fn bulk_runtime() -> Arc<dyn quinn::Runtime> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) {
        return Arc::new(quinn::TokioRuntime);
    }
    static BULK: std::sync::OnceLock<Option<tokio::runtime::Runtime>> = std::sync::OnceLock::new();
    let rt = BULK.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("burnlink-quic")
            .enable_all()
            .build()
            .ok()
    });
    match rt {
        Some(rt) => Arc::new(OnRuntime(rt.handle().clone())),
        None => Arc::new(quinn::TokioRuntime), // no threads to be had: the caller's runtime does it all
    }
}

/// quinn's tokio runtime, bound to a given tokio runtime instead of the caller's.
#[derive(Debug)]
struct OnRuntime(tokio::runtime::Handle);

impl quinn::Runtime for OnRuntime {
    fn new_timer(&self, t: std::time::Instant) -> std::pin::Pin<Box<dyn quinn::AsyncTimer>> {
        let _in = self.0.enter();
        quinn::TokioRuntime.new_timer(t)
    }

    fn spawn(&self, future: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) {
        self.0.spawn(future);
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> std::io::Result<Arc<dyn quinn::AsyncUdpSocket>> {
        // The socket registers with the reactor of the runtime entered here.
        let _in = self.0.enter();
        quinn::TokioRuntime.wrap_udp_socket(socket)
    }
}

/// A connection to one relay.
#[derive(Clone)]
pub struct RelayClient {
    /// Kept so the endpoint (and its driver) lives as long as the connection.
    _endpoint: quinn::Endpoint,
    conn: quinn::Connection,
}

/// What peek found.
#[derive(Clone, Debug)]
pub enum Peek {
    /// A fresh link.
    Fresh(LinkInfo),
    /// The neutral answer.
    Gone,
}

/// What a claim got.
pub enum Claim {
    /// The claim won: the ciphertext follows in `body`.
    Won {
        /// Keep until ack; lets this client resume.
        lease: LeaseToken,
        /// When the lease ends.
        lease_expires_at: Timestamp,
        /// The ciphertext.
        body: Body,
    },
    /// Wrong claim key (wrong passphrase); nothing burned unless `attempts_left` is 0.
    WrongProof {
        /// Wrong proofs left.
        attempts_left: u8,
    },
    /// The neutral answer.
    Gone,
}

/// What a plain claim ([`RelayClient::claim_plain`]) got.
pub enum PlainClaim {
    /// An answer as to any claim.
    Claim(Claim),
    /// The link needs a passphrase: what a peek would have said. Nothing was counted.
    NeedsPassphrase(LinkInfo),
}

/// Ciphertext arriving from the relay, from `offset` to `size`.
pub struct Body {
    /// First byte this body carries.
    pub offset: u64,
    /// Total ciphertext size (while `live`, the sender's estimate).
    pub size: u64,
    /// The sender's upload is still running: the bytes end with the stream, not at `size`.
    pub live: bool,
    /// Bytes that arrived with the answer.
    first: Bytes,
    recv: RecvStream,
}

impl Body {
    fn new(offset: u64, size: u64, live: bool, first: Vec<u8>, recv: RecvStream) -> Self {
        Self { offset, size, live, first: Bytes::from(first), recv }
    }

    /// The bytes, as an async reader. Ends early (error) if the connection drops.
    pub fn into_reader(self) -> impl AsyncRead + Unpin + Send {
        std::io::Cursor::new(self.first).chain(self.recv)
    }

    /// The next piece: whatever has arrived, up to 256 KiB, in one buffer the caller owns (QUIC delivers a packet's
    /// worth at a time; gathering them here makes one hand-over per 256 KiB, not per packet). `None` at the stream's
    /// clean end. An error if the connection drops or the relay cuts the stream (see [`is_upload_failed`]).
    pub async fn chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        if !self.first.is_empty() {
            return Ok(Some(std::mem::take(&mut self.first)));
        }
        let mut buf = bytes::BytesMut::with_capacity(256 * 1024);
        let n = self.recv.read_buf(&mut buf).await?;
        Ok((n > 0).then(|| buf.freeze()))
    }
}

/// A stream of status reports for one link.
pub struct Watch {
    recv: RecvStream,
    buf: Vec<u8>,
}

impl Watch {
    /// The next report; `None` when the relay ended the watch (the link reached an end state or is unknown).
    pub async fn next(&mut self) -> Result<Option<StatusReport>, TransportError> {
        match next_response(&mut self.recv, &mut self.buf).await? {
            Some(Response::Status(s)) => Ok(Some(s)),
            Some(Response::Gone) | None => Ok(None),
            Some(other) => Err(unexpected(other)),
        }
    }
}

/// Most time spent waiting on one request's "retry after" answers before giving up.
const RETRY_BUDGET: Duration = Duration::from_secs(60);

/// Called when a request waits because the relay asked it to (the CLI says so on stderr).
type WaitNotice = Box<dyn Fn(Duration) + Send + Sync>;
static WAIT_NOTICE: std::sync::OnceLock<WaitNotice> = std::sync::OnceLock::new();

/// Sets what happens when a request waits because the relay said "retry after" (once per process; later calls are
/// ignored). Without it the wait is logged at info level.
pub fn on_wait(f: impl Fn(Duration) + Send + Sync + 'static) {
    let _ = WAIT_NOTICE.set(Box::new(f));
}

/// The waiting one request (or one send, resealed each time) does on "retry after" answers, within
/// [`RETRY_BUDGET`] in all.
#[derive(Default)]
pub(crate) struct Patience {
    waited: Duration,
}

impl Patience {
    /// Waits `after` as the relay asked and says so, unless that would pass the budget: then `false`, at once.
    pub(crate) async fn wait(&mut self, after: Duration) -> bool {
        if self.waited + after > RETRY_BUDGET {
            return false;
        }
        self.waited += after;
        match WAIT_NOTICE.get() {
            Some(f) => f(after),
            None => tracing::info!("the relay is busy; trying again in {:.1} s", after.as_secs_f64()),
        }
        tokio::time::sleep(after).await;
        true
    }
}

/// Relay-supplied text, made safe to show: no control characters (a hostile relay must not drive the terminal).
pub fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

fn unexpected(r: Response) -> TransportError {
    match r {
        Response::Error { code, message } => TransportError::Relay { code, message: printable(&message) },
        Response::RetryAfter { after_ms, .. } => TransportError::RetryAfter(Duration::from_millis(after_ms.into())),
        other => TransportError::Protocol(format!("unexpected answer {other:?}")),
    }
}

/// Reads the next response frame; leftover bytes stay in `buf`.
async fn next_response(recv: &mut RecvStream, buf: &mut Vec<u8>) -> Result<Option<Response>, TransportError> {
    let mut chunk = [0u8; 4096];
    loop {
        match Response::decode(buf) {
            Ok((r, used)) => {
                buf.drain(..used);
                return Ok(Some(r));
            }
            Err(DecodeError::Incomplete(_)) => {}
            Err(e) => return Err(TransportError::Protocol(e.to_string())),
        }
        match recv.read(&mut chunk).await? {
            Some(n) => buf.extend_from_slice(&chunk[..n]),
            None if buf.is_empty() => return Ok(None),
            None => return Err(TransportError::Protocol("answer cut off".into())),
        }
    }
}

impl RelayClient {
    /// Connects to the relay named by `origin` (QUIC on the same host and port as its HTTPS).
    pub async fn connect(origin: &RelayOrigin, trust: &Trust) -> Result<Self, TransportError> {
        Self::connect_with(origin, trust, false).await
    }

    /// [`RelayClient::connect`], for a large transfer if `bulk` (see [`crate::Connector::connect_bulk`]).
    pub async fn connect_with(origin: &RelayOrigin, trust: &Trust, bulk: bool) -> Result<Self, TransportError> {
        let port = origin.port.unwrap_or(443);
        let host = origin.host.trim_matches(['[', ']']);
        let target = format!("{host}:{port}");
        let addr = tokio::net::lookup_host(&target)
            .await
            .map_err(|e| TransportError::Unreachable { addr: target.clone(), reason: e.to_string() })?
            .next()
            .ok_or_else(|| TransportError::Unreachable { addr: target.clone(), reason: "no address".into() })?;
        Self::connect_addr_with(addr, host, trust, bulk).await
    }

    /// Connects to `addr`, checking the certificate for `server_name`.
    pub async fn connect_addr(addr: SocketAddr, server_name: &str, trust: &Trust) -> Result<Self, TransportError> {
        Self::connect_addr_with(addr, server_name, trust, false).await
    }

    /// [`RelayClient::connect_addr`], for a large transfer if `bulk`. Large packets are probed for only then: the
    /// probes cost a text's round trips some 2.5 ms on loopback (measured), and either side probes only up to what
    /// the other advertises.
    pub async fn connect_addr_with(
        addr: SocketAddr,
        server_name: &str,
        trust: &Trust,
        bulk: bool,
    ) -> Result<Self, TransportError> {
        let tls = trust.client_config()?;
        let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
            .map_err(|e| TransportError::Tls { addr: addr.to_string(), reason: e.to_string() })?;
        let mut cfg = quinn::ClientConfig::new(Arc::new(crypto));
        let mut t = quinn::TransportConfig::default();
        t.stream_receive_window(quinn::VarInt::from_u32(8 << 20))
            .receive_window(quinn::VarInt::from_u32(16 << 20))
            .send_window(16 << 20)
            .max_idle_timeout(Some(Duration::from_secs(15).try_into().expect("15 s fits")))
            .keep_alive_interval(Some(Duration::from_secs(5)));
        let mut endpoint_config = quinn::EndpointConfig::default();
        if bulk {
            // Larger packets where the path carries them (see MAX_UDP_PAYLOAD).
            let mut mtu = quinn::MtuDiscoveryConfig::default();
            mtu.upper_bound(MAX_UDP_PAYLOAD);
            t.mtu_discovery_config(Some(mtu));
            endpoint_config.max_udp_payload_size(MAX_UDP_PAYLOAD).expect("MAX_UDP_PAYLOAD is within 1200..=65527");
        }
        cfg.transport_config(Arc::new(t));
        let bind: SocketAddr = if addr.is_ipv6() { "[::]:0".parse() } else { "0.0.0.0:0".parse() }.expect("literal");
        let socket = std::net::UdpSocket::bind(bind)?;
        let s = socket2::SockRef::from(&socket);
        // Best effort: the kernel's cap applies, and a smaller buffer only costs speed.
        let _ = s.set_recv_buffer_size(UDP_BUFFER);
        let _ = s.set_send_buffer_size(UDP_BUFFER);
        let runtime: Arc<dyn quinn::Runtime> = if bulk { bulk_runtime() } else { Arc::new(quinn::TokioRuntime) };
        let mut endpoint = quinn::Endpoint::new(endpoint_config, None, socket, runtime)?;
        endpoint.set_default_client_config(cfg);
        let unreachable = |reason: String| TransportError::Unreachable { addr: addr.to_string(), reason };
        let connecting = endpoint.connect(addr, server_name).map_err(|e| unreachable(e.to_string()))?;
        let conn = match tokio::time::timeout(Duration::from_secs(10), connecting).await {
            Err(_) => return Err(unreachable("timed out".into())),
            Ok(Err(quinn::ConnectionError::TransportError(e))) if is_tls(&e) => {
                return Err(TransportError::Tls { addr: addr.to_string(), reason: e.to_string() })
            }
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Ok(Ok(c)) => c,
        };
        crate::timing::mark("connected");
        Ok(Self { _endpoint: endpoint, conn })
    }

    /// Closes the connection politely: the CONNECTION_CLOSE leaves with the connection driver's next transmit, so
    /// wait for that (a few scheduler turns, watched through the connection's datagram counter), not for the draining
    /// period (three probe timeouts, ~80 ms even on loopback), nor for a timer (tokio's tick is 1 ms). The relay then
    /// frees this connection's slot of its per-address limit at once.
    pub async fn close(self) {
        let sent = self.conn.stats().udp_tx.datagrams;
        self.conn.close(0u32.into(), b"bye");
        let deadline = std::time::Instant::now() + Duration::from_millis(5);
        while self.conn.stats().udp_tx.datagrams == sent && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        // The frame is in a packet; the driver hands it to the socket in the same turn.
        tokio::task::yield_now().await;
        crate::timing::mark("closed");
    }

    async fn start(&self, req: &Request) -> Result<(SendStream, RecvStream), TransportError> {
        let (mut send, recv) = self.conn.open_bi().await?;
        let mut buf = Vec::with_capacity(128);
        req.encode(&mut buf);
        send.write_all(&buf).await?;
        burnlink_core::zeroize::Zeroize::zeroize(&mut buf);
        Ok((send, recv))
    }

    /// Sends `req`, finishes the request side, reads one answer (and keeps any bytes after it). A "retry after"
    /// answer is honoured here: wait as told and send the request again, within [`RETRY_BUDGET`].
    async fn exchange(&self, req: &Request) -> Result<(Response, Vec<u8>, RecvStream), TransportError> {
        let mut patience = Patience::default();
        loop {
            let (mut send, mut recv) = self.start(req).await?;
            send.finish()?;
            let mut buf = Vec::new();
            let resp = next_response(&mut recv, &mut buf)
                .await?
                .ok_or_else(|| TransportError::Protocol("no answer".into()))?;
            match resp {
                Response::RetryAfter { after_ms, .. } => {
                    let after = Duration::from_millis(after_ms.into());
                    if !patience.wait(after).await {
                        return Err(TransportError::RetryAfter(after));
                    }
                }
                resp => return Ok((resp, buf, recv)),
            }
        }
    }

    /// Creates a link from `body` (`progress` hears the bytes sent so far); returns once everything is stored.
    pub async fn create(
        &self,
        req: CreateRequest,
        body: impl AsyncRead + Unpin,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(LinkId, Timestamp), TransportError> {
        let (id, expires_at, _) = self.create_from(req, Source::Reader(body), progress, &|_, _| {}).await?;
        Ok((id, expires_at))
    }

    /// [`RelayClient::create`] from chunks that a producer (the sealing thread) hands over, so each is sent without
    /// another copy; an empty chunk marks the end, and a channel closed without it (or an `Err`) is a failed source,
    /// never a finished upload. A live create (`req.live`) hears `on_created` as soon as the relay made the link
    /// visible, while the upload goes on.
    pub async fn create_streaming(
        &self,
        req: CreateRequest,
        chunks: mpsc::Receiver<std::io::Result<Bytes>>,
        progress: &(dyn Fn(u64) + Send + Sync),
        on_created: OnCreated<'_>,
    ) -> Result<(LinkId, Timestamp, Vec<LinkId>), TransportError> {
        self.create_from(req, Source::<tokio::io::Empty>::Chunks(chunks), progress, on_created).await
    }

    async fn create_from<R: AsyncRead + Unpin>(
        &self,
        req: CreateRequest,
        mut body: Source<R>,
        progress: &(dyn Fn(u64) + Send + Sync),
        on_created: OnCreated<'_>,
    ) -> Result<(LinkId, Timestamp, Vec<LinkId>), TransportError> {
        let live = req.live.is_some();
        let (mut send, mut recv) = self.start(&Request::Create(req)).await?;
        let upload = async {
            let mut sent = 0u64;
            loop {
                let chunk = match body.next().await {
                    Ok(Some(c)) => c,
                    Ok(None) => break,
                    Err(e) => {
                        // A failed source must never look like a finished upload: reset, so the relay keeps nothing.
                        let _ = send.reset(UPLOAD_ABORTED.into());
                        return Err(e.into());
                    }
                };
                let n = chunk.len();
                if let Err(e) = send.write_chunk(chunk).await {
                    // The relay stopped reading (too large, or the link ended): its answer says why.
                    if matches!(e, quinn::WriteError::Stopped(_)) {
                        return Ok(());
                    }
                    return Err(e.into());
                }
                sent += n as u64;
                progress(sent);
            }
            send.finish()?;
            Ok::<(), TransportError>(())
        };
        let answers = async {
            let mut rbuf = Vec::new();
            let (id, expires_at, more) = match next_response(&mut recv, &mut rbuf).await? {
                Some(Response::Created { id, expires_at, more }) => (id, expires_at, more),
                Some(Response::Gone) => return Err(TransportError::Gone),
                Some(other) => return Err(unexpected(other)),
                None => return Err(TransportError::Protocol("no answer to create".into())),
            };
            if !live {
                return Ok((id, expires_at, more));
            }
            on_created(id, expires_at);
            match next_response(&mut recv, &mut rbuf).await? {
                Some(Response::Stored { .. }) => Ok((id, expires_at, more)),
                Some(other) => Err(unexpected(other)),
                None => Err(TransportError::ConnectionLost("the relay did not confirm the upload".into())),
            }
        };
        let (uploaded, answered) = tokio::join!(upload, answers);
        match (uploaded, answered) {
            // The relay's answer explains more than the broken pipe it caused.
            (_, Err(e @ (TransportError::Relay { .. } | TransportError::RetryAfter(_) | TransportError::Gone))) => {
                Err(e)
            }
            (Err(e), _) => Err(e),
            (Ok(()), answered) => answered,
        }
    }

    /// What is known about a fresh link; never changes it.
    pub async fn peek(&self, id: LinkId) -> Result<Peek, TransportError> {
        match self.exchange(&Request::Peek { id }).await?.0 {
            Response::Info(i) => Ok(Peek::Fresh(i)),
            Response::Gone => Ok(Peek::Gone),
            other => Err(unexpected(other)),
        }
    }

    /// Proves holding the link and the claim key, and takes the lease; on success the ciphertext follows.
    pub async fn claim(&self, id: LinkId, holder: HolderProof, key: ClaimKey) -> Result<Claim, TransportError> {
        self.claim_as(id, holder, key, None).await
    }

    /// [`RelayClient::claim`], saying what kind of client claims (for the sender's event log).
    pub async fn claim_as(
        &self,
        id: LinkId,
        holder: HolderProof,
        key: ClaimKey,
        via: Option<ClientKind>,
    ) -> Result<Claim, TransportError> {
        match self.claiming(&Request::Claim { id, holder, key, via }).await? {
            PlainClaim::Claim(c) => Ok(c),
            PlainClaim::NeedsPassphrase(_) => Err(TransportError::Protocol("a claim answered as a peek".into())),
        }
    }

    /// A claim with the keys of a link without a passphrase, in the round trip a peek would take: a link that has
    /// one is not claimed but answered [`PlainClaim::NeedsPassphrase`], and loses no attempt.
    pub async fn claim_plain(
        &self,
        id: LinkId,
        holder: HolderProof,
        key: ClaimKey,
    ) -> Result<PlainClaim, TransportError> {
        self.claim_plain_as(id, holder, key, None).await
    }

    /// [`RelayClient::claim_plain`], saying what kind of client claims (for the sender's event log).
    pub async fn claim_plain_as(
        &self,
        id: LinkId,
        holder: HolderProof,
        key: ClaimKey,
        via: Option<ClientKind>,
    ) -> Result<PlainClaim, TransportError> {
        self.claiming(&Request::ClaimPlain { id, holder, key, via }).await
    }

    async fn claiming(&self, req: &Request) -> Result<PlainClaim, TransportError> {
        let (resp, rest, recv) = self.exchange(req).await?;
        Ok(PlainClaim::Claim(match resp {
            Response::Claimed { lease, lease_expires_at, size, live } => {
                Claim::Won { lease, lease_expires_at, body: Body::new(0, size, live, rest, recv) }
            }
            Response::WrongProof { attempts_left } => Claim::WrongProof { attempts_left },
            Response::Gone => Claim::Gone,
            Response::Info(info) => return Ok(PlainClaim::NeedsPassphrase(info)),
            other => return Err(unexpected(other)),
        }))
    }

    /// Continues a download under `lease` from `offset`; `None` if the lease is gone.
    pub async fn resume(&self, id: LinkId, lease: LeaseToken, offset: u64) -> Result<Option<Body>, TransportError> {
        let (resp, rest, recv) = self.exchange(&Request::Resume { id, lease, offset }).await?;
        match resp {
            Response::Resumed { offset, size, live } => Ok(Some(Body::new(offset, size, live, rest, recv))),
            Response::Gone => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// Tells the relay the last chunk verified; it deletes the ciphertext. `false` if the lease had already ended.
    pub async fn ack(&self, id: LinkId, lease: LeaseToken) -> Result<bool, TransportError> {
        match self.exchange(&Request::Ack { id, lease }).await?.0 {
            Response::Acked => Ok(true),
            Response::Gone => Ok(false),
            other => Err(unexpected(other)),
        }
    }

    /// The sender's view; `None` if the token is wrong or the link unknown.
    pub async fn status(&self, id: LinkId, manage: ManageToken) -> Result<Option<StatusReport>, TransportError> {
        match self.exchange(&Request::Status { id, manage }).await?.0 {
            Response::Status(s) => Ok(Some(s)),
            Response::Gone => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// Revokes the link; returns the state afterwards.
    pub async fn revoke(&self, id: LinkId, manage: ManageToken) -> Result<Option<StatusReport>, TransportError> {
        match self.exchange(&Request::Revoke { id, manage }).await?.0 {
            Response::Status(s) => Ok(Some(s)),
            Response::Gone => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// Makes a request for a secret; returns its id and when it stops taking answers.
    pub async fn ask(&self, req: AskRequest) -> Result<(LinkId, Timestamp), TransportError> {
        match self.exchange(&Request::Ask(req)).await?.0 {
            Response::Created { id, expires_at, .. } => Ok((id, expires_at)),
            other => Err(unexpected(other)),
        }
    }

    /// A request's answers; `None` if the holder proof is wrong or the relay does not know the request.
    pub async fn answers(&self, id: LinkId, holder: HolderProof) -> Result<Option<AnswerList>, TransportError> {
        match self.exchange(&Request::Answers { id, holder }).await?.0 {
            Response::Answers(list) => Ok(Some(list)),
            Response::Gone => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// Subscribes to the link's state changes.
    pub async fn watch(&self, id: LinkId, manage: ManageToken) -> Result<Watch, TransportError> {
        let (mut send, recv) = self.start(&Request::Watch { id, manage }).await?;
        send.finish()?;
        Ok(Watch { recv, buf: Vec::new() })
    }
}

fn is_tls(e: &quinn_proto::TransportError) -> bool {
    // CRYPTO_ERROR codes (0x100..=0x1ff) carry a TLS alert.
    let code: u64 = e.code.into();
    (0x100..=0x1ff).contains(&code) || e.reason.contains("certificate")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_text_reaches_the_terminal_without_control_characters() {
        // A hostile relay's error text: set the window title, clear the screen, fake a new prompt (C0 and C1).
        let hostile = "\u{1b}]0;owned\u{7}\u{1b}[2J\r\nfake prompt$ \u{9b}31m done";
        let e = unexpected(Response::Error { code: ErrorCode::BadRequest, message: hostile.into() });
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("owned") && shown.contains("fake prompt$"), "the text itself stays readable: {shown}");
    }
}
