//! Relay benchmark, one run: `cargo bench -p burnlink-relay`.
//!
//! Starts the release `burnlink-relay` as a child process on loopback and measures
//! 1. one-hop upload and download of a 1 GiB blob on a fresh relay, beside a bare quinn stream of the same size and
//!    transport windows, and the relay's peak RSS (VmHWM) while it moved the blob,
//! 2. durable create+claim pairs per second with 64 concurrent clients (1 KiB payloads, each claim read fully),
//!    and the peak RSS after that load,
//! 3. how long the neutral "gone" takes for an unknown, an expired (not yet swept) and a consumed id, interleaved,
//!    as percentiles: the three must not tell each other apart.
//!
//! `BURNLINK_BENCH_GIB` (default 1) and `BURNLINK_BENCH_SECS` (default 5) scale it down for a quick look.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burnlink_client::transport::Claim;
use burnlink_client::{RelayClient, Trust};

mod support;
use support::{drain, pairs, pattern, request, vm_hwm_kib};

/// A bare quinn server that reads one stream to the end and answers with its length.
async fn bare_quinn(bytes: u64) -> Duration {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    tls.alpn_protocols = vec![b"bare".to_vec()];
    let mut transport = quinn::TransportConfig::default();
    transport
        .stream_receive_window(quinn::VarInt::from_u32(8 << 20))
        .receive_window(quinn::VarInt::from_u32(16 << 20))
        .send_window(16 << 20);
    let transport = Arc::new(transport);
    let mut scfg =
        quinn::ServerConfig::with_crypto(Arc::new(quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap()));
    scfg.transport_config(transport.clone());
    let server = quinn::Endpoint::server(scfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        let conn = server.accept().await.unwrap().await.unwrap();
        let (mut send, recv) = conn.accept_bi().await.unwrap();
        let n = drain(recv).await;
        send.write_all(&n.to_be_bytes()).await.unwrap();
        send.finish().unwrap();
        let _ = conn.closed().await;
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let mut ctls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    ctls.alpn_protocols = vec![b"bare".to_vec()];
    let mut ccfg = quinn::ClientConfig::new(Arc::new(quinn::crypto::rustls::QuicClientConfig::try_from(ctls).unwrap()));
    ccfg.transport_config(transport);
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(ccfg);
    let conn = client.connect(addr, "localhost").unwrap().await.unwrap();
    let t = Instant::now();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    tokio::io::copy(&mut pattern(bytes), &mut send).await.unwrap();
    send.finish().unwrap();
    let mut len = [0u8; 8];
    recv.read_exact(&mut len).await.unwrap();
    assert_eq!(u64::from_be_bytes(len), bytes);
    t.elapsed()
}

/// The storage seal alone, each algorithm, on 256 MiB in memory: what a stored byte costs the relay once going in and
/// once coming out.
fn seal_throughput() {
    use burnlink_relay::store::seal::{Algorithm, Opener, Sealer, StorageKey};
    let data = vec![0x5au8; 256 << 20];
    let (key, id) = (StorageKey::generate(), burnlink_core::link::LinkId([9; 16]));
    for algorithm in [Algorithm::ChaCha20Poly1305, Algorithm::Aes256Gcm] {
        let mut sealed = Vec::with_capacity(data.len() + data.len() / 4096);
        let t = Instant::now();
        let mut s = Sealer::new(&key, &id, algorithm);
        for c in data.chunks(1 << 20) {
            s.write(c, &mut sealed);
        }
        s.finish(&mut sealed);
        let seal = t.elapsed();
        let t = Instant::now();
        let back = Opener::new(&key, &id, algorithm).open_run(0, 0, sealed).unwrap();
        let open = t.elapsed();
        assert_eq!(back.len(), data.len());
        println!(
            "  storage seal {:<18} seal {:>7.0} MB/s, open {:>7.0} MB/s{}",
            format!("{algorithm:?}"),
            mbps_of(data.len(), seal),
            mbps_of(data.len(), open),
            if algorithm == Algorithm::preferred() { "  (this machine's choice)" } else { "" }
        );
    }
}

fn mbps_of(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let gib: f64 = std::env::var("BURNLINK_BENCH_GIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let secs: u64 = std::env::var("BURNLINK_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let big = (gib * (1u64 << 30) as f64) as u64;
    let dir = tempfile::tempdir().unwrap();
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "0").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_burnlink-relay"))
        .arg("--data")
        .arg(dir.path().join("relay"))
        .args(["--rate", "0", "--max-conns-per-ip", "1000", "--max-streams", "1000", "--threads", "2"])
        .args(["--create-rate", "0", "--bytes-per-hour", "0", "--sweep-secs", "3600", "--clock-offset-file"])
        .arg(&clock)
        .arg("--max-upload")
        .arg((big + (1 << 20)).to_string())
        .stdout(Stdio::piped())
        .stderr(match std::env::var_os("BURNLINK_BENCH_RELAY_LOG") {
            Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
            None => Stdio::null(),
        })
        .spawn()
        .unwrap();
    let pid = child.id();
    let ready = burnlink_e2e::read_ready(&mut child).unwrap();
    let quic = ready["quic"].as_str().unwrap().parse().unwrap();
    let trust = Trust::from_pem_file(std::path::Path::new(ready["ca"].as_str().unwrap())).unwrap();
    println!("relay benchmark on loopback (relay pid {pid}, release build)");
    seal_throughput();

    // 1. One hop, on a fresh relay: upload then download the big blob.
    let c = RelayClient::connect_addr(quic, "localhost", &trust).await.unwrap();
    let (req, holder, claim) = request(u64::MAX);
    let t = Instant::now();
    let (id, _) = c.create(req, pattern(big), &|_| {}).await.unwrap();
    let up = t.elapsed();
    let t = Instant::now();
    let Claim::Won { lease, body, .. } = c.claim(id, holder, claim).await.unwrap() else { panic!() };
    assert_eq!(drain(body.into_reader()).await, big);
    let down = t.elapsed();
    c.ack(id, lease).await.unwrap();
    let hwm_big = vm_hwm_kib(pid);

    // 2. Durable create+claim pairs with 64 concurrent clients.
    let (n, took) = pairs(&[quic], &trust, secs).await;
    println!(
        "  create+claim pairs, 64 clients     {:>9.0} pairs/s  ({n} pairs in {:.1} s, each durable)",
        n as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );

    let bare = bare_quinn(big).await;
    let mbps = |d: Duration| big as f64 / d.as_secs_f64() / 1e6;
    println!("  upload {:.2} GiB through the relay     {:>9.1} MB/s  (durable on disk before Created)", gib, mbps(up));
    println!("  download {:.2} GiB from the relay      {:>9.1} MB/s", gib, mbps(down));
    println!(
        "  bare quinn stream, same size        {:>9.1} MB/s  (upload = {:.0} % of bare)",
        mbps(bare),
        100.0 * bare.as_secs_f64() / up.as_secs_f64()
    );
    println!("  relay peak RSS moving the big blob  {:>9.1} MiB  (VmHWM of a fresh relay)", hwm_big as f64 / 1024.0);
    println!(
        "  relay peak RSS after the pairs load {:>9.1} MiB  (tens of thousands of records in sled)",
        vm_hwm_kib(pid) as f64 / 1024.0
    );

    // 3. "Gone" for an unknown, an expired and a consumed id, interleaved so that drift hits all three alike.
    let n = 1000usize;
    let payload = vec![0x5au8; 1024];
    let c = RelayClient::connect_addr(quic, "localhost", &trust).await.unwrap();
    let mut expired = Vec::new();
    let mut consumed = Vec::new();
    for i in 0..n as u64 {
        let (mut req, _, _) = request(1 << 40 | i);
        req.ttl_secs = 300;
        expired.push(c.create(req, &payload[..], &|_| {}).await.unwrap().0);
        let (req, holder, claim) = request(1 << 41 | i);
        let (id, _) = c.create(req, &payload[..], &|_| {}).await.unwrap();
        let Claim::Won { lease, body, .. } = c.claim(id, holder, claim).await.unwrap() else { panic!() };
        drain(body.into_reader()).await;
        c.ack(id, lease).await.unwrap();
        consumed.push(id);
    }
    std::fs::write(&clock, "301").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut times: [Vec<Duration>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for i in 0..n {
        let unknown = burnlink_core::link::LinkId::generate(&mut rand::rngs::OsRng);
        for (k, id) in [unknown, expired[i], consumed[i]].into_iter().enumerate() {
            let t = Instant::now();
            let gone = c.peek(id).await.unwrap();
            times[k].push(t.elapsed());
            assert!(matches!(gone, burnlink_client::transport::Peek::Gone));
        }
    }
    for (name, mut v) in ["unknown", "expired", "consumed"].into_iter().zip(times) {
        v.sort();
        let p = |q: f64| v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        println!(
            "  gone for a{} {name:<8} id        p50 {:>6.0} µs  p90 {:>6.0} µs  p99 {:>6.0} µs  ({n} each)",
            if name == "unknown" { "n" } else { "" },
            p(0.5),
            p(0.9),
            p(0.99)
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
