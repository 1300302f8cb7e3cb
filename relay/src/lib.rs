/*!
`burnlink-relay`: stores ciphertext it cannot read and burns each link atomically on first read.

[`Server::bind`] opens the store, loads or makes the TLS certificate and binds QUIC (UDP) and HTTPS (TCP), by default
on the same port; [`Server::run`] serves both and sweeps expired links until a shutdown future resolves. Tests run it
in-process on port 0; the binary is a page of flag parsing around it.

Modules: [`store`] (the storage contract, its sled backend and its PostgreSQL + S3 backend), [`request`] (the one request path both front
ends call), [`service`] (links: apply, create, sweep, limits),
[`limits`] (budgets, connection slots, storage space), [`quic`] and [`https`] (front ends), [`tls`] (certificates),
[`metrics`] (what operators see, served on a listener of its own with `--metrics`).
*/
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

pub mod https;
pub mod limits;
pub mod metrics;
pub mod quic;
pub mod request;
pub mod service;
pub mod store;
pub mod tls;

pub use service::Relay;

/// Limits and timings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Largest upload accepted, in bytes.
    pub max_upload: u64,
    /// Live connections per client address (an IPv4 address or an IPv6 /64), QUIC and HTTPS each.
    pub max_conns_per_ip: usize,
    /// Concurrent request streams per connection.
    pub max_streams_per_conn: u32,
    /// QUIC per-stream receive window in bytes (the connection gets twice this).
    pub stream_window: u32,
    /// Peek/claim/resume requests per second per address (0 disables the limit).
    pub rate_per_sec: f64,
    /// Burst allowance for the above.
    pub rate_burst: u32,
    /// Creates per second per address (0 disables the limit).
    pub create_per_sec: f64,
    /// Burst allowance for the above.
    pub create_burst: u32,
    /// Bytes an address may upload per hour, which is also its burst (0 disables the limit).
    pub bytes_per_hour: u64,
    /// Most bytes of content stored at once (0: no cap).
    pub max_storage: u64,
    /// Free space kept on the store's disk: uploads are refused rather than eat into it.
    pub reserve: u64,
    /// Download lease.
    pub lease: Duration,
    /// How often expired links are swept.
    pub sweep_interval: Duration,
    /// Handshakes in flight above which unvalidated clients get a Retry.
    pub retry_threshold: usize,
    /// Largest ciphertext kept inline in the database; larger goes to files.
    pub inline_threshold: usize,
    /// How long a request waits for storage to confirm a write before it fails with a clear error.
    pub durable_deadline: Duration,
    /// How long an HTTPS API call may take to arrive and be answered (a create's body and a download's bytes have
    /// their own idle and rate rules instead).
    pub request_deadline: Duration,
    /// The longest expiry this relay accepts (`None`: the protocol's 30 days).
    pub max_ttl: Option<Duration>,
    /// The templates a link must be made under (`None`: any template, or none).
    pub policies: Option<Vec<burnlink_core::policy::Template>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_upload: 4 << 30,
            max_conns_per_ip: 64,
            max_streams_per_conn: 32,
            stream_window: 4 << 20,
            rate_per_sec: 50.0,
            rate_burst: 200,
            create_per_sec: 5.0,
            create_burst: 60,
            bytes_per_hour: 16 << 30,
            max_storage: 0,
            reserve: 256 << 20,
            lease: burnlink_core::state::DEFAULT_LEASE,
            sweep_interval: Duration::from_secs(30),
            retry_threshold: 64,
            inline_threshold: 256 * 1024,
            durable_deadline: Duration::from_secs(10),
            request_deadline: Duration::from_secs(30),
            max_ttl: None,
            policies: None,
        }
    }
}

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct Options {
    /// Data directory (database, blobs, generated certificate).
    pub data: PathBuf,
    /// Address for both QUIC and HTTPS (same port), unless split by `https`/`quic`.
    pub listen: SocketAddr,
    /// HTTPS address, when split.
    pub https: Option<SocketAddr>,
    /// QUIC address, when split.
    pub quic: Option<SocketAddr>,
    /// Public base URL, when behind a name (`https://relay.example`).
    pub public_url: Option<String>,
    /// Certificate chain PEM (else self-signed in `data`).
    pub cert: Option<PathBuf>,
    /// Private key PEM.
    pub key: Option<PathBuf>,
    /// A shared store on PostgreSQL (and S3-compatible object storage) instead of sled in `data`; `data` then only
    /// holds a generated certificate, if no `cert` is given.
    pub database: Option<store::PgOptions>,
    /// Serve the operator's metrics (plain HTTP, `GET /metrics`) on a listener of their own here.
    pub metrics: Option<SocketAddr>,
    /// Limits.
    pub config: Config,
}

impl Options {
    /// Defaults for `data`: `127.0.0.1:0`, self-signed.
    pub fn new(data: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            https: None,
            quic: None,
            public_url: None,
            cert: None,
            key: None,
            database: None,
            metrics: None,
            config: Config::default(),
        }
    }
}

/// What the relay prints when it is ready.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Ready {
    /// QUIC address.
    pub quic: SocketAddr,
    /// HTTPS address.
    pub https: SocketAddr,
    /// Base URL for links.
    pub url: String,
    /// Certificate file clients should trust.
    pub ca: PathBuf,
    /// Where the metrics are served, with `--metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SocketAddr>,
}

/// A bound relay, ready to [`Server::run`].
pub struct Server {
    /// The relay (tests reach its clock and store through this).
    pub relay: Arc<Relay>,
    /// Addresses and trust.
    pub ready: Ready,
    endpoint: quinn::Endpoint,
    tcp: tokio::net::TcpListener,
    https_tls: rustls::ServerConfig,
    metrics: Option<tokio::net::TcpListener>,
}

fn bind_pair(listen: SocketAddr) -> anyhow::Result<(UdpSocket, std::net::TcpListener)> {
    // Port 0 picks a port free for both UDP and TCP: take a UDP port, then try TCP on it.
    for _ in 0..50 {
        let udp = UdpSocket::bind(listen)?;
        let port = udp.local_addr()?.port();
        match std::net::TcpListener::bind(SocketAddr::new(listen.ip(), port)) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if listen.port() == 0 && e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("found no port free for both UDP and TCP on {}", listen.ip())
}

impl Server {
    /// Opens the store and binds the sockets.
    pub async fn bind(opts: Options) -> anyhow::Result<Server> {
        let store: Arc<dyn store::Store> = match &opts.database {
            None => {
                let (store, swept) =
                    store::SledStore::open(&opts.data, opts.config.inline_threshold, opts.config.durable_deadline)?;
                if swept != store::SweepReport::default() {
                    warn!(?swept, "removed what an earlier crash left behind");
                }
                Arc::new(store)
            }
            Some(pg) => {
                if opts.cert.is_none() {
                    // Only a generated certificate lives here: make the folder, private, as the sled store does.
                    store::private_dir(&opts.data)?;
                }
                Arc::new(store::PgStore::open(pg).await?)
            }
        };
        let relay = Relay::new(store, opts.config.clone());
        if opts.database.is_none() {
            // Only this relay writes here, so any upload still marked running was cut off by its last exit.
            let cut = relay.fail_interrupted_uploads().await?;
            if cut > 0 {
                warn!(links = cut, "ended live uploads that the last exit cut off");
            }
        }
        relay.count_stored().await?;

        let (udp, tcp) = match (opts.quic, opts.https) {
            (None, None) => bind_pair(opts.listen)?,
            (q, h) => {
                (UdpSocket::bind(q.unwrap_or(opts.listen))?, std::net::TcpListener::bind(h.unwrap_or(opts.listen))?)
            }
        };
        tcp.set_nonblocking(true)?;
        let quic_addr = udp.local_addr()?;
        let https_addr = tcp.local_addr()?;

        let mut names = Vec::new();
        if let Some(u) = &opts.public_url {
            let origin = burnlink_core::link::RelayOrigin::parse(u)?;
            names.push(origin.host.trim_matches(['[', ']']).to_owned());
        }
        let identity = tls::load_or_generate(&opts.data, opts.cert.as_deref(), opts.key.as_deref(), &names)?;
        let quic_tls = tls::server_config(&identity, &[burnlink_core::proto::ALPN])?;
        let https_tls = tls::server_config(&identity, &[b"http/1.1"])?;
        let s = socket2::SockRef::from(&udp);
        // Best effort: the kernel's cap applies, and a smaller buffer only costs speed (see UDP_BUFFER).
        let _ = s.set_recv_buffer_size(burnlink_core::proto::UDP_BUFFER);
        let _ = s.set_send_buffer_size(burnlink_core::proto::UDP_BUFFER);
        let mut endpoint_config = quinn::EndpointConfig::default();
        endpoint_config.max_udp_payload_size(burnlink_core::proto::MAX_UDP_PAYLOAD)?;
        let endpoint = quinn::Endpoint::new(
            endpoint_config,
            Some(quic::server_config(quic_tls, &relay)?),
            udp,
            Arc::new(quinn::TokioRuntime),
        )?;
        let metrics = match opts.metrics {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
            None => None,
        };
        let url = match &opts.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("https://{https_addr}"),
        };
        Ok(Server {
            relay,
            ready: Ready {
                quic: quic_addr,
                https: https_addr,
                url,
                ca: identity.ca_path,
                metrics: metrics.as_ref().map(|l| l.local_addr()).transpose()?,
            },
            metrics,
            endpoint,
            tcp: tokio::net::TcpListener::from_std(tcp)?,
            https_tls,
        })
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let relay = self.relay.clone();
        let state = https::HttpState { relay: relay.clone(), quic_port: self.ready.quic.port() };
        let quic_task = tokio::spawn(quic::serve(self.endpoint.clone(), relay.clone(), stopped()));
        let https_task = tokio::spawn(https::serve(self.tcp, self.https_tls, state, stopped()));
        let metrics_task = self.metrics.map(|l| tokio::spawn(serve_metrics(l, relay.clone(), stopped())));
        let sweeper = {
            let relay = relay.clone();
            let stop = stopped();
            tokio::spawn(async move {
                tokio::pin!(stop);
                let mut every = tokio::time::interval(relay.config.sweep_interval);
                let mut counts = tokio::time::interval(service::PREVIEW_FLUSH);
                loop {
                    tokio::select! {
                        _ = every.tick() => match relay.sweep().await {
                            Ok(0) => {}
                            Ok(n) => info!(changed = n, "swept expired links"),
                            Err(e) => warn!("sweep failed: {e}"),
                        },
                        _ = counts.tick() => if let Err(e) = relay.flush_previews().await {
                            warn!("storing preview counts failed: {e}");
                        },
                        _ = &mut stop => break,
                    }
                }
                if let Err(e) = relay.flush_previews().await {
                    warn!("storing preview counts failed: {e}");
                }
            })
        };
        shutdown.await;
        let _ = stop_tx.send(true);
        let _ = tokio::join!(quic_task, https_task, sweeper);
        if let Some(t) = metrics_task {
            let _ = t.await;
        }
        self.endpoint.wait_idle().await;
        Ok(())
    }
}

/// `GET /metrics` on the operator's listener, until `stop`. Plain HTTP: it is meant for loopback or a private
/// network, and tells nothing about any link.
async fn serve_metrics(
    listener: tokio::net::TcpListener,
    relay: Arc<Relay>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let relay = relay.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)], relay.render_metrics()) }
        }),
    );
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        warn!("the metrics listener failed: {e}");
    }
}
