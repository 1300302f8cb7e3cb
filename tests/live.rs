//! Live links through the `burnlink` CLI and a real relay: the link is printed while the upload runs, a recipient
//! opens it then and the bytes stream behind the writer, and an upload that stops short (the sender killed, the relay
//! killed) ends the link for everyone, with a clear error to the recipient and "upload_failed" to the sender.
//!
//! The sender reaches the relay through a paced loopback proxy (a slow uplink) so that "while the upload runs" is
//! seconds long and certain; recipients go to the relay directly. On the cluster backend (three relays on PostgreSQL and
//! S3 behind a balancer) the recipient's relay is often not the sender's: it reads the upload's segments as the
//! sender's relay stores them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burnlink_e2e::balancer::Balancer;
use burnlink_e2e::*;

/// The sender's slow path to the relay.
struct Uplink {
    _lb: Balancer,
    url: String,
}

impl Uplink {
    fn to(r: &Relay, bytes_per_sec: u64) -> Self {
        let port: u16 = r.url.rsplit(':').next().unwrap().parse().unwrap();
        let backends = Arc::new(Mutex::new(vec![format!("127.0.0.1:{port}").parse().unwrap()]));
        let lb = Balancer::start(0, backends);
        lb.pace(bytes_per_sec);
        let url = format!("https://127.0.0.1:{}", lb.port);
        Self { _lb: lb, url }
    }

    /// The link as a recipient elsewhere opens it: at the relay itself, not through the sender's uplink.
    fn direct(&self, r: &Relay, link: &str) -> String {
        link.replacen(&self.url, &r.url, 1)
    }
}

/// A `burnlink send --json` running in the background through `up`; its first stdout line is the link's JSON.
struct Sender {
    child: Child,
    json: serde_json::Value,
    /// When the JSON arrived.
    printed: Instant,
}

impl Sender {
    fn start(r: &Relay, up: &Uplink, home: &Path, args: &[&str], stdin: &[u8]) -> Self {
        let mut child = r
            .cli(home)
            .env("BURNLINK_RELAY", &up.url)
            .args(["send", "--json"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut input, stdin).unwrap();
        drop(input);
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let printed = Instant::now();
        let json = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Self { child, json, printed }
    }

    fn link(&self) -> &str {
        self.json["link"].as_str().unwrap()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Exit code and stderr.
    fn finish(self) -> (i32, String) {
        let out = wait_output(self.child, Duration::from_secs(120));
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into())
    }
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn finish(child: Child) -> Run {
    let out = wait_output(child, Duration::from_secs(120));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

fn status(r: &Relay, home: &Path, sent: &serde_json::Value) -> String {
    let id = sent["id"].as_str().unwrap();
    let token = sent["manage_token"].as_str().unwrap();
    let out = run(r.cli(home).args(["status", id, "--manage", token]), b"").expect_code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["state"].as_str().unwrap().to_owned()
}

/// Polls the sender's status until it is `want` (at most 30 s).
fn wait_state(r: &Relay, home: &Path, sent: &serde_json::Value, want: &str) {
    let start = Instant::now();
    loop {
        let now = status(r, home, sent);
        if now == want {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "still {now}, waiting for {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_text_opens_while_its_upload_runs() {
    let r = Relay::start(&[]);
    let h = tempfile::tempdir().unwrap();
    // 3 MiB of text at 1.5 MiB/s: two seconds of upload, the link out after the first 256 KiB.
    let text: String = (0..3 << 20).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let up = Uplink::to(&r, 3 << 19);
    let mut sender = Sender::start(&r, &up, h.path(), &["-"], text.as_bytes());
    let link = up.direct(&r, sender.link());
    assert!(sender.running(), "the link is printed while the upload runs");
    let opener = spawn(r.cli(h.path()).args(["open", &link]));
    wait_state(&r, h.path(), &sender.json, "claimed");
    let claimed = Instant::now();
    assert!(sender.running(), "claimed while the upload still runs");
    let json = sender.json.clone();
    let (code, err) = sender.finish();
    assert_eq!(code, 0, "{err}");
    // The paced upload still had most of its 3 MiB to go when the recipient claimed it (a link printed only once
    // stored would leave the sender nothing but closing its connection).
    assert!(claimed.elapsed() > Duration::from_millis(700), "the upload ended {:?} after the claim", claimed.elapsed());
    let out = finish(opener).expect_code(0);
    assert!(out.stdout == text.as_bytes(), "the whole text, verified");
    assert_eq!(status(&r, h.path(), &json), "consumed");
}

#[test]
fn a_file_opens_while_its_upload_runs_and_a_second_opener_gets_gone() {
    let r = Relay::start(&[]);
    let h = tempfile::tempdir().unwrap();
    let src = h.path().join("live.bin");
    write_random(&src, 24 << 20, 11);
    // 24 MiB at 8 MiB/s: three seconds of upload.
    let up = Uplink::to(&r, 8 << 20);
    let mut sender = Sender::start(&r, &up, h.path(), &["live.bin"], b"");
    let link = up.direct(&r, sender.link());
    let out = h.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let link_at = sender.printed;
    assert!(sender.running(), "the link is printed while the upload runs");
    let opener = spawn(r.cli(h.path()).args(["open", &link, "--out", "out"]));
    wait_state(&r, h.path(), &sender.json, "claimed");
    let claimed = Instant::now();
    assert!(sender.running(), "claimed while the upload still runs");
    // Files appear only after the last chunk verified.
    assert!(tree(&out).iter().all(|(p, _)| p.starts_with(".burnlink-")), "{:?}", tree(&out));
    // Anybody else, with the whole link, meanwhile: the neutral "gone".
    let other = tempfile::tempdir().unwrap();
    let second = run(r.cli(other.path()).args(["open", &link]), b"").expect_code(3);
    assert!(second.stderr.contains("gone"), "{}", second.stderr);
    let json = sender.json.clone();
    let (code, err) = sender.finish();
    assert_eq!(code, 0, "{err}");
    assert!(claimed.elapsed() > Duration::from_millis(700), "the upload ended {:?} after the claim", claimed.elapsed());
    let sent_for = link_at.elapsed();
    finish(opener).expect_code(0);
    assert_eq!(sha256_file(&out.join("live.bin")), sha256_file(&src));
    assert_eq!(tree(&out).len(), 1, "only the file: {:?}", tree(&out));
    assert_eq!(status(&r, h.path(), &json), "consumed");
    eprintln!("the upload ran {sent_for:?} after the link was printed");
}

/// Sends a paced file, opens it, and waits until the recipient holds the claim while the upload runs.
fn live_download(r: &Relay, h: &Path, up: &Uplink) -> (Sender, Child) {
    write_random(&h.join("cut.bin"), 32 << 20, 12);
    let mut sender = Sender::start(r, up, h, &["cut.bin"], b"");
    let link = up.direct(r, sender.link());
    std::fs::create_dir_all(h.join("out")).unwrap();
    let opener = spawn(r.cli(h).args(["open", &link, "--out", "out"]));
    wait_state(r, h, &sender.json, "claimed");
    assert!(sender.running(), "claimed while the upload still runs");
    (sender, opener)
}

/// What a recipient of a cut-off upload must see: exit 3, the plain reason, an empty out dir, no resume state.
fn check_cut_off(h: &Path, opener: Child) {
    let out = finish(opener).expect_code(3);
    assert!(out.stderr.contains("the sender's upload did not finish; nothing was saved"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_eq!(tree(&h.join("out")), Vec::<(String, String)>::new(), "nothing left in the out dir");
    assert_eq!(std::fs::read_dir(h.join("state")).map(|d| d.count()).unwrap_or(0), 0, "no lease kept");
}

#[test]
fn a_killed_sender_ends_the_link_for_everyone() {
    let r = Relay::start(&[]);
    let h = tempfile::tempdir().unwrap();
    let up = Uplink::to(&r, 4 << 20);
    let (mut sender, opener) = live_download(&r, h.path(), &up);
    let json = sender.json.clone();
    let link = up.direct(&r, sender.link());
    sender.child.kill().unwrap();
    let _ = sender.finish();
    check_cut_off(h.path(), opener);
    assert_eq!(status(&r, h.path(), &json), "upload_failed");
    let other = tempfile::tempdir().unwrap();
    run(r.cli(other.path()).args(["open", &link]), b"").expect_code(3);
    drop(up);
}

#[test]
fn a_relay_killed_mid_upload_ends_the_link_and_the_sender_says_so() {
    let mut r = Relay::start(&[]);
    let h = tempfile::tempdir().unwrap();
    let up = Uplink::to(&r, 4 << 20);
    let (sender, opener) = live_download(&r, h.path(), &up);
    let json = sender.json.clone();
    r.restart();
    let (code, err) = sender.finish();
    assert_ne!(code, 0);
    assert!(err.contains("upload failed"), "{err}");
    check_cut_off(h.path(), opener);
    // No half-link: after the restart the link is ended, and the sender sees why. (A relay of a cluster cannot tell
    // at start-up whether another relay still runs an upload: a sweep ends it once its heartbeat is stale.)
    wait_state(&r, h.path(), &json, "upload_failed");
}

#[test]
fn a_relay_killed_mid_live_download_keeps_the_lease() {
    let mut r = Relay::start(&[]);
    let h = tempfile::tempdir().unwrap();
    let up = Uplink::to(&r, 8 << 20);
    let (sender, opener) = live_download(&r, h.path(), &up);
    // Freeze the recipient mid-download, let the upload finish, then crash and restart the relay under it.
    let pid = opener.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    let json = sender.json.clone();
    let (code, err) = sender.finish();
    assert_eq!(code, 0, "{err}");
    r.restart();
    assert_eq!(status(&r, h.path(), &json), "claimed", "the lease survives the crash");
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    finish(opener).expect_code(0);
    assert_eq!(sha256_file(&h.path().join("out/cut.bin")), sha256_file(&h.path().join("cut.bin")));
    assert_eq!(status(&r, h.path(), &json), "consumed");
}

#[test]
fn revoking_a_link_mid_upload_stops_the_upload_and_says_why() {
    let r = Relay::start(&[]);
    let h = tempfile::tempdir().unwrap();
    write_random(&h.path().join("revoked.bin"), 24 << 20, 13);
    let up = Uplink::to(&r, 4 << 20);
    let mut sender = Sender::start(&r, &up, h.path(), &["revoked.bin"], b"");
    assert!(sender.running());
    let json = sender.json.clone();
    let (id, token) = (json["id"].as_str().unwrap(), json["manage_token"].as_str().unwrap());
    run(r.cli(h.path()).args(["revoke", id, "--manage", token]), b"").expect_code(0);
    let (code, err) = sender.finish();
    assert_ne!(code, 0);
    assert!(err.contains("revoked or expired") && err.contains("upload failed"), "{err}");
    assert_eq!(status(&r, h.path(), &json), "revoked", "the sender's word stands");
    let link = up.direct(&r, json["link"].as_str().unwrap());
    run(r.cli(h.path()).args(["open", &link]), b"").expect_code(3);
    if !cluster_mode() {
        // (On the cluster, relay/tests/pg_store.rs counts the bucket's objects after a revoke mid-upload.)
        assert_eq!(std::fs::read_dir(r.data.path().join("relay/blobs/tmp")).unwrap().count(), 0, "nothing left");
    }
}

#[test]
fn send_wait_prints_the_link_only_once_everything_is_stored() {
    let r = Relay::start(&[]);
    let h = tempfile::tempdir().unwrap();
    write_random(&h.path().join("stored.bin"), 6 << 20, 14);
    // 6 MiB at 3 MiB/s: about two seconds of upload before a waiting sender may print anything.
    let up = Uplink::to(&r, 3 << 20);
    let started = Instant::now();
    let mut sender = Sender::start(&r, &up, h.path(), &["--wait", "stored.bin"], b"");
    let waited = started.elapsed();
    assert!(waited > Duration::from_millis(1500), "the link came after {waited:?}, before the upload could end");
    let json = sender.json.clone();
    assert!(json["expires_at"].is_string() && json["manage_token"].is_string(), "--json keeps its shape: {json}");
    assert_eq!(status(&r, h.path(), &json), "fresh");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sender.running() {
        assert!(Instant::now() < deadline, "the sender lingers after printing");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, err) = sender.finish();
    assert_eq!(code, 0, "{err}");
    std::fs::create_dir_all(h.path().join("out")).unwrap();
    let link = up.direct(&r, json["link"].as_str().unwrap());
    run(r.cli(h.path()).args(["open", &link, "--out", "out"]), b"").expect_code(0);
    assert_eq!(sha256_file(&h.path().join("out/stored.bin")), sha256_file(&h.path().join("stored.bin")));
}
