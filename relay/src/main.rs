//! `burnlink-relay`: flags, logging, bind, print the ready line, serve until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use burnlink_relay::{Config, Options, Server};
use clap::Parser;

/// Burnlink relay: stores end-to-end encrypted one-time links and burns each on first read.
///
/// Serves QUIC (UDP) for the apps and HTTPS (TCP) for browsers, by default on one port, like 443/udp + 443/tcp on a
/// real deployment. When ready it prints one JSON line on stdout with the addresses and the certificate to trust;
/// logs go to stderr. Every flag can also be set through the environment variable shown.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Data directory: database, stored ciphertext, and the generated certificate (relay-cert.pem). With --database it
    /// only holds the generated certificate, and may be left out when --cert and --key are given.
    #[arg(long, env = "BURNLINK_RELAY_DATA", required_unless_present_any = ["database", "completions", "man"])]
    data: Option<PathBuf>,
    /// Keep links in PostgreSQL instead of the data directory, so several relays can serve them as one:
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DB. The schema is created and migrated at start-up.
    #[arg(long, env = "BURNLINK_RELAY_DATABASE")]
    database: Option<String>,
    /// With --database: keep content above --inline-max in S3-compatible object storage,
    /// s3://BUCKET?endpoint=URL&region=R. Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    /// Without it large content is kept in the database.
    #[arg(long, env = "BURNLINK_RELAY_BLOBS", requires = "database")]
    blobs: Option<burnlink_relay::store::BlobsUrl>,
    /// With --database: the certificate(s), PEM, that the database's TLS certificate must chain to (default: the
    /// public web roots). TLS is used unless the database is on this machine or the URL sets its own sslmode; the
    /// server's certificate and name are always verified when it is.
    #[arg(long, env = "BURNLINK_RELAY_DATABASE_CA", requires = "database")]
    database_ca: Option<PathBuf>,
    /// With --database: connections this relay keeps to it.
    #[arg(long, env = "BURNLINK_RELAY_DATABASE_POOL", default_value_t = 16)]
    database_pool: usize,
    /// Address for QUIC and HTTPS together. Port 0 picks a port that is free for both.
    #[arg(long, env = "BURNLINK_RELAY_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serve HTTPS here instead (splits the ports; clients then learn the QUIC port from /.well-known/burnlink).
    #[arg(long, env = "BURNLINK_RELAY_HTTPS")]
    https: Option<SocketAddr>,
    /// Serve QUIC here instead.
    #[arg(long, env = "BURNLINK_RELAY_QUIC")]
    quic: Option<SocketAddr>,
    /// Base URL that links name, e.g. https://relay.example (default: the HTTPS address).
    #[arg(long, env = "BURNLINK_RELAY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Certificate chain (PEM). Without it a self-signed certificate is made in the data directory.
    #[arg(long, env = "BURNLINK_RELAY_CERT", requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM) for --cert.
    #[arg(long, env = "BURNLINK_RELAY_KEY", requires = "cert")]
    key: Option<PathBuf>,
    /// Largest upload accepted, in bytes.
    #[arg(long, env = "BURNLINK_RELAY_MAX_UPLOAD", default_value_t = 4 << 30)]
    max_upload: u64,
    /// Live connections per client address (an IPv4 address or an IPv6 /64), for QUIC and for HTTPS.
    #[arg(long, env = "BURNLINK_RELAY_MAX_CONNS_PER_IP", default_value_t = 64)]
    max_conns_per_ip: usize,
    /// Concurrent requests per connection.
    #[arg(long, env = "BURNLINK_RELAY_MAX_STREAMS", default_value_t = 32)]
    max_streams: u32,
    /// Peek/claim/resume requests per second per client address (0: unlimited). Past it clients are told to wait.
    #[arg(long, env = "BURNLINK_RELAY_RATE", default_value_t = 50.0)]
    rate: f64,
    /// Burst allowance for --rate.
    #[arg(long, env = "BURNLINK_RELAY_BURST", default_value_t = 200)]
    burst: u32,
    /// Links created per second per client address (0: unlimited).
    #[arg(long, env = "BURNLINK_RELAY_CREATE_RATE", default_value_t = 5.0)]
    create_rate: f64,
    /// Burst allowance for --create-rate.
    #[arg(long, env = "BURNLINK_RELAY_CREATE_BURST", default_value_t = 60)]
    create_burst: u32,
    /// Bytes a client address may upload per hour, and at once (0: unlimited).
    #[arg(long, env = "BURNLINK_RELAY_BYTES_PER_HOUR", default_value_t = 16 << 30)]
    bytes_per_hour: u64,
    /// Most bytes of content stored at once (0: no cap). Past it uploads are refused as "relay full".
    #[arg(long, env = "BURNLINK_RELAY_MAX_STORAGE", default_value_t = 0)]
    max_storage: u64,
    /// Free bytes kept on the data dir's disk: uploads are refused as "relay full" rather than eat into them, so
    /// burns and expiry always have room to write.
    #[arg(long, env = "BURNLINK_RELAY_RESERVE", default_value_t = 256 << 20)]
    reserve: u64,
    /// Download lease in seconds: how long a recipient may resume an interrupted download.
    #[arg(long, env = "BURNLINK_RELAY_LEASE_SECS", default_value_t = 600)]
    lease_secs: u64,
    /// Seconds between sweeps of expired links.
    #[arg(long, env = "BURNLINK_RELAY_SWEEP_SECS", default_value_t = 30)]
    sweep_secs: u64,
    /// Ciphertext up to this many bytes is kept in the database; larger goes to files.
    #[arg(long, env = "BURNLINK_RELAY_INLINE_MAX", default_value_t = 256 * 1024)]
    inline_max: usize,
    /// The longest expiry this relay accepts (e.g. 24h, 7d; at most 30d).
    #[arg(long, env = "BURNLINK_RELAY_MAX_TTL", value_parser = humantime::parse_duration)]
    max_ttl: Option<Duration>,
    /// Only links made under these policy templates (comma-separated: ultra-secure, standard, lightweight); without
    /// it any template, or none, is accepted.
    #[arg(long, env = "BURNLINK_RELAY_POLICIES", value_delimiter = ',')]
    policies: Option<Vec<burnlink_core::policy::Template>>,
    /// Worker threads for the async runtime (default: one per CPU).
    #[arg(long, env = "BURNLINK_RELAY_THREADS")]
    threads: Option<usize>,
    /// Testing only: read a clock offset in seconds from this file, so black-box tests can expire links.
    #[arg(long, hide = true)]
    clock_offset_file: Option<PathBuf>,
    /// Serve Prometheus (OpenMetrics) text at http://ADDR/metrics, on a listener of its own: link counts by what
    /// happened to them, previews, wrong proofs, bytes stored, request and durable-write latencies. Never an id, a
    /// token or an address. Without ADDR: 127.0.0.1 on a free port (the ready line says which).
    #[arg(long, env = "BURNLINK_RELAY_METRICS", value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
    metrics: Option<SocketAddr>,
    /// Print a shell completion script for SHELL and exit.
    #[arg(long, value_name = "SHELL", exclusive = true)]
    completions: Option<clap_complete::Shell>,
    /// Print the manual page (roff) and exit, as the packages install it.
    #[arg(long, hide = true, exclusive = true)]
    man: bool,
    /// Log format.
    #[arg(long, env = "BURNLINK_RELAY_LOG_FORMAT", value_parser = ["text", "json"], default_value = "text")]
    log_format: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(shell) = args.completions {
        clap_complete::generate(
            shell,
            &mut <Args as clap::CommandFactory>::command(),
            "burnlink-relay",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    if args.man {
        clap_mangen::Man::new(<Args as clap::CommandFactory>::command()).render(&mut std::io::stdout())?;
        return Ok(());
    }
    // Blocking threads only do file work (fsync, rename, delete); a small pool keeps memory flat under load.
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    rt.enable_all().max_blocking_threads(16).build()?.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BURNLINK_LOG").unwrap_or_else(|_| "info".into());
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if args.log_format == "json" {
        fmt.json().init();
    } else {
        fmt.init();
    }
    let config = Config {
        max_upload: args.max_upload,
        max_conns_per_ip: args.max_conns_per_ip,
        max_streams_per_conn: args.max_streams,
        rate_per_sec: args.rate,
        rate_burst: args.burst,
        create_per_sec: args.create_rate,
        create_burst: args.create_burst,
        bytes_per_hour: args.bytes_per_hour,
        max_storage: args.max_storage,
        reserve: args.reserve,
        lease: Duration::from_secs(args.lease_secs),
        sweep_interval: Duration::from_secs(args.sweep_secs.max(1)),
        inline_threshold: args.inline_max,
        max_ttl: args.max_ttl,
        policies: args.policies,
        ..Config::default()
    };
    if args.data.is_none() && args.cert.is_none() {
        anyhow::bail!(
            "with --database and no --data, give --cert and --key (there is nowhere to keep a generated one)"
        );
    }
    let database = args.database.map(|url| burnlink_relay::store::PgOptions {
        url,
        blobs: args.blobs,
        inline_threshold: config.inline_threshold,
        deadline: config.durable_deadline,
        pool_size: args.database_pool,
        ca: args.database_ca,
    });
    let opts = Options {
        data: args.data.unwrap_or_default(),
        database,
        listen: args.listen,
        https: args.https,
        quic: args.quic,
        public_url: args.public_url,
        cert: args.cert,
        key: args.key,
        metrics: args.metrics,
        config,
    };
    let server = Server::bind(opts).await?;
    if let Some(path) = args.clock_offset_file {
        tracing::warn!("testing mode: the clock follows {}", path.display());
        let relay = server.relay.clone();
        tokio::spawn(async move {
            loop {
                if let Some(secs) = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u64>().ok()) {
                    relay.clock.set_offset(Duration::from_secs(secs));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    println!("{}", serde_json::to_string(&server.ready)?);
    server.run(shutdown_signal()).await
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
