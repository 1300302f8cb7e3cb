/*!
Harness for the black-box tests: starts the real `burnlink-relay` binary on a fresh data dir (port 0, its own
certificate) and runs the real `burnlink` binary against it with a private state dir, as a user would.

With `BURNLINK_TEST_BACKEND=cluster`, every [`Relay`] is instead three relay processes on one fresh PostgreSQL
database and a SeaweedFS bucket, sharing one certificate, behind a round-robin load balancer ([`balancer`]) whose
address the links name: the same tests then check that the relays behave as one.

The binaries are looked up beside the test executable (`target/<profile>/`); `cargo build --workspace --bins` must
have built them, which `scripts/test` does before `cargo test`.
*/
#![forbid(unsafe_code)]
#![allow(missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub mod balancer;
pub mod servers;

use std::sync::{Arc, Mutex, Weak};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

/// `target/<profile>/NAME`, checked to exist.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let p = dir.join(name);
    assert!(p.is_file(), "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)", p.display());
    p
}

/// Reads the one JSON line a started relay prints on stdout when it serves (its stdout must be piped).
pub fn read_ready(child: &mut Child) -> Result<serde_json::Value, String> {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the relay's stdout is piped"))
        .read_line(&mut line)
        .map_err(|e| format!("reading the ready line: {e}"))?;
    serde_json::from_str(&line).map_err(|e| format!("ready line {line:?}: {e}"))
}

/// Whether this test run drives a three-relay cluster (`BURNLINK_TEST_BACKEND=cluster`) instead of one sled relay.
pub fn cluster_mode() -> bool {
    match std::env::var("BURNLINK_TEST_BACKEND").as_deref() {
        Ok("cluster") => true,
        Ok("sled") | Err(_) => false,
        Ok(other) => panic!("BURNLINK_TEST_BACKEND={other:?}: use sled or cluster"),
    }
}

/// The SeaweedFS server the clusters of this test process share (object names are random, so they never clash); it
/// stops when the last cluster using it is gone.
fn shared_seaweed() -> Arc<servers::Seaweed> {
    static SHARED: Mutex<Weak<servers::Seaweed>> = Mutex::new(Weak::new());
    let mut w = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = w.upgrade() {
        return s;
    }
    let s = Arc::new(servers::Seaweed::start());
    *w = Arc::downgrade(&s);
    s
}

/// Relays in a test cluster.
pub const CLUSTER_SIZE: usize = 3;

/// The servers behind a cluster-mode [`Relay`].
pub struct Cluster {
    pub pg: servers::Postgres,
    pub s3: Arc<servers::Seaweed>,
    pub lb: balancer::Balancer,
    /// Each relay's own address, for restarts and for tests that pick a relay.
    pub relays: Vec<String>,
}

impl Cluster {
    /// `--database` and `--blobs` flags, for a relay of this cluster.
    pub fn flags(&self) -> Vec<String> {
        vec!["--database".into(), self.pg.url(), "--blobs".into(), self.s3.blobs_url()]
    }
}

/// A running `burnlink-relay` (or, in cluster mode, three of them behind a balancer); killed on drop.
pub struct Relay {
    children: Vec<Child>,
    pub url: String,
    pub ca: PathBuf,
    pub https: String,
    pub data: tempfile::TempDir,
    clock: PathBuf,
    flags: Vec<String>,
    pub cluster: Option<Cluster>,
}

impl Relay {
    /// Starts a relay with the limits opened up for tests, plus `extra` flags.
    pub fn start(extra: &[&str]) -> Self {
        let mut flags = vec!["--rate", "0", "--max-conns-per-ip", "1000"];
        flags.extend_from_slice(extra);
        Self::start_as_shipped(&flags)
    }

    /// Starts a relay with its shipped limits, plus `extra` flags: what a crowd behind one address meets.
    pub fn start_as_shipped(extra: &[&str]) -> Self {
        if cluster_mode() {
            return Self::start_cluster(extra);
        }
        let data = tempfile::tempdir().unwrap();
        let clock = data.path().join("clock-offset");
        std::fs::write(&clock, "0").unwrap();
        let flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, ready) = Self::spawn(data.path(), &clock, &flags);
        Self {
            children: vec![child],
            url: ready["url"].as_str().unwrap().to_owned(),
            ca: ready["ca"].as_str().unwrap().into(),
            https: ready["https"].as_str().unwrap().to_owned(),
            data,
            clock,
            flags,
            cluster: None,
        }
    }

    /// Three relays on a fresh PostgreSQL and the shared S3 server, behind a balancer whose address the links name.
    /// The first makes the certificate; the others are given it, so one CA file serves all three.
    pub fn start_cluster(extra: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let clock = data.path().join("clock-offset");
        std::fs::write(&clock, "0").unwrap();
        let cluster = Cluster {
            pg: servers::Postgres::start(),
            s3: shared_seaweed(),
            lb: balancer::Balancer::start(0, Arc::default()),
            relays: vec!["127.0.0.1:0".to_owned(); CLUSTER_SIZE],
        };
        let mut flags: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        flags.extend(["--public-url".to_owned(), format!("https://127.0.0.1:{}", cluster.lb.port)]);
        flags.extend(cluster.flags());
        let mut r = Self {
            children: Vec::new(),
            url: String::new(),
            ca: PathBuf::new(),
            https: format!("127.0.0.1:{}", cluster.lb.port),
            data,
            clock,
            flags,
            cluster: Some(cluster),
        };
        let ready = r.spawn_cluster();
        r.url = ready["url"].as_str().unwrap().to_owned();
        r.ca = ready["ca"].as_str().unwrap().into();
        r
    }

    /// Starts every relay of the cluster on its address (port 0 the first time); returns the first one's ready line.
    fn spawn_cluster(&mut self) -> serde_json::Value {
        let cluster = self.cluster.as_mut().expect("cluster mode");
        let cert_dir = self.data.path().join("relay");
        let mut first = None;
        for i in 0..CLUSTER_SIZE {
            let mut flags = self.flags.clone();
            flags.extend(["--listen".to_owned(), cluster.relays[i].clone()]);
            if i > 0 {
                flags.extend(["--cert".to_owned(), cert_dir.join("relay-cert.pem").display().to_string()]);
                flags.extend(["--key".to_owned(), cert_dir.join("relay-key.pem").display().to_string()]);
            }
            let data = (i == 0).then(|| self.data.path());
            let (child, ready) = Self::spawn_with(data, &self.clock, &flags);
            cluster.relays[i] = ready["https"].as_str().unwrap().to_owned();
            self.children.push(child);
            first.get_or_insert(ready);
        }
        *cluster.lb.backends().lock().unwrap() = cluster.relays.iter().map(|a| a.parse().unwrap()).collect();
        first.unwrap()
    }

    /// The link with its relay replaced by relay `i` of the cluster: a request that a balancer sent there.
    pub fn via(&self, link: &str, i: usize) -> String {
        let cluster = self.cluster.as_ref().expect("cluster mode");
        link.replacen(&self.url, &format!("https://{}", cluster.relays[i]), 1)
    }

    /// Kills relay `i` of the cluster (SIGKILL) and takes it out of the balancer.
    pub fn kill_one(&mut self, i: usize) {
        let cluster = self.cluster.as_ref().expect("cluster mode");
        let addr: std::net::SocketAddr = cluster.relays[i].parse().unwrap();
        cluster.lb.backends().lock().unwrap().retain(|a| *a != addr);
        let _ = self.children[i].kill();
        let _ = self.children[i].wait();
    }

    /// Kills the relay (SIGKILL) and starts it again on the same data dir, address and certificate: what a
    /// recipient or a watching sender sees across a crash. In cluster mode: all three relays.
    pub fn restart(&mut self) {
        self.kill();
        if let Some(cluster) = &mut self.cluster {
            // `kill` stopped the balancer too: listen on the same address again.
            cluster.lb = balancer::Balancer::start(cluster.lb.port, Arc::default());
            let ready = self.spawn_cluster();
            assert_eq!(ready["url"].as_str().unwrap(), self.url);
            return;
        }
        let addr = self.url.trim_start_matches("https://").to_owned();
        let mut flags = self.flags.clone();
        flags.extend(["--listen".to_owned(), addr]);
        let (child, ready) = Self::spawn(self.data.path(), &self.clock, &flags);
        assert_eq!(ready["url"].as_str().unwrap(), self.url);
        self.children = vec![child];
    }

    fn spawn(data: &Path, clock: &Path, extra: &[String]) -> (Child, serde_json::Value) {
        Self::spawn_with(Some(data), clock, extra)
    }

    fn spawn_with(data: Option<&Path>, clock: &Path, extra: &[String]) -> (Child, serde_json::Value) {
        // Its warnings, kept beside the clock file (one log per process start), to explain a failed start.
        let log_path = (0..).map(|n| clock.with_file_name(format!("relay.{n}.log"))).find(|p| !p.exists()).unwrap();
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(bin("burnlink-relay"));
        if let Some(data) = data {
            cmd.arg("--data").arg(data.join("relay"));
        }
        let mut child = cmd
            .env("AWS_ACCESS_KEY_ID", servers::S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", servers::S3_KEY.1)
            .arg("--clock-offset-file")
            .arg(clock)
            .args(["--sweep-secs", "1"])
            .args(extra)
            // Object deletions are logged (by name, at debug) so that cluster tests can count them across relays.
            .env("BURNLINK_LOG", "warn,burnlink_relay::store::pg=debug")
            .stdout(Stdio::piped())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .unwrap();
        let v = read_ready(&mut child).unwrap_or_else(|e| {
            let said = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("{e}; the relay said: {said}")
        });
        (child, v)
    }

    /// Everything the relay processes have logged so far (warnings; object deletions in cluster mode).
    pub fn logs(&self) -> String {
        let mut logs: Vec<_> = std::fs::read_dir(self.data.path())
            .unwrap()
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        logs.iter().map(|p| std::fs::read_to_string(p).unwrap_or_default()).collect()
    }

    /// Moves the relay's clock `secs` into the future (it rereads the file every 100 ms).
    pub fn advance_clock(&self, secs: u64) {
        std::fs::write(&self.clock, secs.to_string()).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }

    /// Stops the relay at once (SIGKILL); in cluster mode every relay, and the balancer stops listening.
    pub fn kill(&mut self) {
        for mut c in self.children.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(cluster) = &mut self.cluster {
            cluster.lb.stop();
        }
    }

    /// A `burnlink` command that trusts this relay and keeps its state in `home`.
    pub fn cli(&self, home: &Path) -> Command {
        let mut c = Command::new(bin("burnlink"));
        c.env("BURNLINK_RELAY", &self.url)
            .env("BURNLINK_CA", &self.ca)
            .env("BURNLINK_STATE_DIR", home.join("state"))
            .env("HOME", home)
            .env_remove("BURNLINK_LOG")
            .current_dir(home);
        c
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a finished command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    /// Panics with the command's stderr unless it exited `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit status (stderr: {})", self.stderr);
        self
    }
}

/// Runs `cmd` with `stdin` as its input, at most 120 s.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Run {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = wait_output(child, Duration::from_secs(120));
    writer.join().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// Waits at most `limit`, reading stdout and stderr meanwhile: a child that writes more than a pipe holds must not
/// block on a reader that waits for it to exit.
pub fn wait_output(mut child: Child, limit: Duration) -> Output {
    fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    }
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("command still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

/// SHA-256 of a file, read in pieces.
pub fn sha256_file(p: &Path) -> String {
    let mut f = std::fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}

/// Writes `len` pseudo-random bytes (xorshift, so no two blocks are alike and nothing compresses).
pub fn write_random(p: &Path, len: u64, seed: u64) {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(p).unwrap());
    let mut x = seed | 1;
    let mut left = len;
    let mut block = vec![0u8; 1 << 16];
    while left > 0 {
        for c in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        w.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    w.flush().unwrap();
}

/// Every file under `root`, as (relative path, sha256), sorted; folders as (path/, "").
pub fn tree(root: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                out.push((format!("{rel}/"), String::new()));
                walk(root, &e.path(), out);
            } else {
                out.push((rel, sha256_file(&e.path())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
