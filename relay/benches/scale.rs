//! Scale-out benchmark, one run, side by side: `cargo bench -p burnlink-relay --bench scale`.
//!
//! Starts release `burnlink-relay` processes on loopback against a real PostgreSQL (fsync on) and SeaweedFS, and
//! measures
//! 1. durable create+claim pairs per second with 64 concurrent clients (1 KiB payloads, each claim read fully):
//!    sled with one relay, PostgreSQL with one relay, PostgreSQL with three relays (clients spread over them);
//! 2. a 1 GiB send and open through one relay in S3 mode (PostgreSQL + SeaweedFS) beside sled mode, with the relay's
//!    peak RSS (VmHWM) for each.
//!
//! `BURNLINK_BENCH_GIB` (default 1) and `BURNLINK_BENCH_SECS` (default 5) scale it down for a quick look.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use burnlink_client::transport::Claim;
use burnlink_client::{RelayClient, Trust};
use burnlink_e2e::servers::{Postgres, Seaweed, S3_KEY};

mod support;
use support::{drain, pairs, pattern, request, vm_hwm_kib};

/// A relay process, killed when dropped.
struct RelayProc {
    child: Child,
    quic: SocketAddr,
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const OPEN: &[&str] = &[
    "--rate",
    "0",
    "--create-rate",
    "0",
    "--bytes-per-hour",
    "0",
    "--max-conns-per-ip",
    "1000",
    "--max-streams",
    "1000",
    "--sweep-secs",
    "3600",
    "--max-upload",
    "2147483648",
];

/// Starts relays with `extra` flags: the first makes the certificate in `dir`, the others are given it.
fn relays(n: usize, dir: &std::path::Path, extra: &[String]) -> (Vec<RelayProc>, Trust) {
    let mut out = Vec::new();
    for i in 0..n {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_burnlink-relay"));
        if i == 0 {
            cmd.arg("--data").arg(dir);
        } else {
            cmd.arg("--cert").arg(dir.join("relay-cert.pem")).arg("--key").arg(dir.join("relay-key.pem"));
        }
        let mut child = cmd
            .args(OPEN)
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", S3_KEY.1)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = burnlink_e2e::read_ready(&mut child).unwrap();
        out.push(RelayProc { child, quic: ready["quic"].as_str().unwrap().parse().unwrap() });
    }
    (out, Trust::from_pem_file(&dir.join("relay-cert.pem")).unwrap())
}

/// Sends and opens `bytes` through one relay; returns the two times and the relay's peak RSS in MiB.
async fn big(relay: &RelayProc, trust: &Trust, bytes: u64) -> (Duration, Duration, f64) {
    let c = RelayClient::connect_addr(relay.quic, "localhost", trust).await.unwrap();
    let (req, holder, claim) = request(u64::MAX);
    let t = Instant::now();
    let (id, _) = c.create(req, pattern(bytes), &|_| {}).await.unwrap();
    let up = t.elapsed();
    let t = Instant::now();
    let Claim::Won { lease, body, .. } = c.claim(id, holder, claim).await.unwrap() else { panic!("claim") };
    assert_eq!(drain(body.into_reader()).await, bytes);
    let down = t.elapsed();
    c.ack(id, lease).await.unwrap();
    (up, down, vm_hwm_kib(relay.child.id()) as f64 / 1024.0)
}

#[tokio::main]
async fn main() {
    let gib: f64 = std::env::var("BURNLINK_BENCH_GIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let secs: u64 = std::env::var("BURNLINK_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let bytes = (gib * (1u64 << 30) as f64) as u64;
    println!("scale-out benchmark on loopback (release relays; PostgreSQL with fsync on; SeaweedFS as S3)");
    let pg = Postgres::start();
    let s3 = Seaweed::start();
    let database = vec!["--database".to_owned(), pg.url()];
    let blobs = s3.blobs_url();
    let s3_mode = [database.clone(), vec!["--blobs".to_owned(), blobs]].concat();

    let mut rows = Vec::new();
    for (name, n, flags) in [
        ("sled, 1 relay", 1, vec![]),
        ("PostgreSQL, 1 relay", 1, database.clone()),
        ("PostgreSQL, 3 relays", 3, database),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (procs, trust) = relays(n, dir.path(), &flags);
        let addrs: Vec<SocketAddr> = procs.iter().map(|p| p.quic).collect();
        let (n, took) = pairs(&addrs, &trust, secs).await;
        let rate = n as f64 / took.as_secs_f64();
        let rss: f64 = procs.iter().map(|p| vm_hwm_kib(p.child.id()) as f64 / 1024.0).fold(0.0, f64::max);
        println!("  create+claim pairs, 64 clients, {name:<21} {rate:>7.0} pairs/s  (peak relay RSS {rss:.1} MiB)");
        rows.push(rate);
    }

    let mb = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    for (name, flags) in [("sled", vec![]), ("S3 (PostgreSQL + SeaweedFS)", s3_mode)] {
        let dir = tempfile::tempdir().unwrap();
        let (procs, trust) = relays(1, dir.path(), &flags);
        let (up, down, rss) = big(&procs[0], &trust, bytes).await;
        println!(
            "  {gib:.2} GiB through one relay, {name:<27} send {:>6.1} MB/s  open {:>6.1} MB/s  peak RSS {rss:.1} MiB",
            mb(up),
            mb(down)
        );
    }
}
