//! The `burnlink` CLI against a real `burnlink-relay` process, through the contract of DESIGN §4: what is printed,
//! what lands on disk, and the exit codes (0 ok, 2 usage, 3 gone, 4 wrong key or passphrase, 5 unreachable).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use burnlink_e2e::*;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `burnlink send` of `paths` (or stdin text when `paths` is empty); returns the link.
fn send(r: &Relay, home: &Path, args: &[&str], stdin: &[u8]) -> String {
    let out = run(r.cli(home).arg("send").args(args), stdin).expect_code(0);
    let link = out.stdout_str().trim().to_owned();
    assert!(link.starts_with(&format!("{}/o/", r.url)), "link {link:?}");
    link
}

fn send_json(r: &Relay, home: &Path, args: &[&str], stdin: &[u8]) -> serde_json::Value {
    let out = run(r.cli(home).args(["send", "--json"]).args(args), stdin).expect_code(0);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status(r: &Relay, home: &Path, sent: &serde_json::Value) -> serde_json::Value {
    let id = sent["id"].as_str().unwrap();
    let token = sent["manage_token"].as_str().unwrap();
    let out = run(r.cli(home).args(["status", id, "--manage", token]), b"").expect_code(0);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn text_from_stdin_opens_once() {
    let r = Relay::start(&[]);
    let h = home();
    let link = send(&r, h.path(), &["-"], b"the vault code is 0451\n");
    assert!(!link.contains("0451"));
    let out = run(r.cli(h.path()).args(["open", &link]), b"").expect_code(0);
    assert_eq!(out.stdout_str(), "the vault code is 0451", "one trailing newline of stdin is dropped");
    let again = run(r.cli(h.path()).args(["open", &link]), b"").expect_code(3);
    assert!(again.stderr.contains("gone"), "{}", again.stderr);
    assert!(again.stdout.is_empty());
}

#[test]
fn text_over_4_mib_is_refused_at_send_and_4_mib_opens() {
    let r = Relay::start(&[]);
    let h = home();
    let big = vec![b'a'; (4 << 20) + 1];
    let out = run(r.cli(h.path()).args(["send", "-"]), &big).expect_code(2);
    assert!(out.stdout.is_empty(), "no link is printed: {}", out.stdout_str());
    assert!(out.stderr.contains("4 MiB") && out.stderr.contains("send the file"), "{}", out.stderr);
    let mut limit = vec![b'b'; 4 << 20];
    limit.push(b'\n');
    let link = send(&r, h.path(), &["-"], &limit);
    let opened = run(r.cli(h.path()).args(["open", &link]), b"").expect_code(0);
    assert_eq!(opened.stdout.len(), 4 << 20);
}

#[test]
fn link_can_come_from_stdin() {
    let r = Relay::start(&[]);
    let h = home();
    let link = send(&r, h.path(), &[], b"multi\nline\nsecret");
    let out = run(r.cli(h.path()).args(["open", "-"]), link.as_bytes()).expect_code(0);
    assert_eq!(out.stdout_str(), "multi\nline\nsecret");
}

#[test]
fn one_file_many_files_folder_and_empty_file() {
    let r = Relay::start(&[]);
    let h = home();
    let src = h.path().join("src");
    std::fs::create_dir_all(src.join("folder/nested/deeper")).unwrap();
    write_random(&src.join("one.bin"), 300_000, 1);
    write_random(&src.join("two.txt"), 70_000, 2);
    std::fs::write(src.join("empty"), b"").unwrap();
    write_random(&src.join("folder/a"), 65_536, 3);
    write_random(&src.join("folder/nested/b"), 1, 4);
    std::fs::write(src.join("folder/nested/deeper/empty too"), b"").unwrap();
    std::fs::create_dir(src.join("folder/empty dir")).unwrap();

    // One file.
    let link = send(&r, h.path(), &["src/one.bin"], b"");
    let out1 = h.path().join("out1");
    std::fs::create_dir(&out1).unwrap();
    run(r.cli(h.path()).args(["open", &link, "--out", "out1"]), b"").expect_code(0);
    assert_eq!(sha256_file(&out1.join("one.bin")), sha256_file(&src.join("one.bin")));
    assert_eq!(tree(&out1).len(), 1);

    // Many files and a folder (with an empty file and an empty folder in it).
    let link = send(&r, h.path(), &["src/two.txt", "src/empty", "src/folder"], b"");
    let out2 = h.path().join("out2");
    std::fs::create_dir(&out2).unwrap();
    let opened = run(r.cli(h.path()).args(["open", &link, "--out", "out2"]), b"").expect_code(0);
    assert!(opened.stderr.contains("received"), "{}", opened.stderr);
    let mut want: Vec<_> = tree(&src).into_iter().filter(|(p, _)| !p.starts_with("one.bin")).collect();
    want.sort();
    assert_eq!(tree(&out2), want);

    // A 0-byte file alone.
    let link = send(&r, h.path(), &["src/empty"], b"");
    let out3 = h.path().join("out3");
    std::fs::create_dir(&out3).unwrap();
    run(r.cli(h.path()).args(["open", &link, "--out", "out3"]), b"").expect_code(0);
    assert_eq!(std::fs::metadata(out3.join("empty")).unwrap().len(), 0);
}

#[test]
fn received_files_never_overwrite() {
    let r = Relay::start(&[]);
    let h = home();
    std::fs::write(h.path().join("note.txt"), b"new content").unwrap();
    let link = send(&r, h.path(), &["note.txt"], b"");
    let out = h.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("note.txt"), b"precious").unwrap();
    run(r.cli(h.path()).args(["open", &link, "--out", "out"]), b"").expect_code(0);
    assert_eq!(std::fs::read(out.join("note.txt")).unwrap(), b"precious");
    assert_eq!(std::fs::read(out.join("note (1).txt")).unwrap(), b"new content");
    assert_eq!(tree(&out).len(), 2, "no staging folder left behind");
}

#[test]
fn hundred_mib_file_arrives_intact() {
    let r = Relay::start(&[]);
    let h = home();
    let src = h.path().join("big.bin");
    write_random(&src, 100 << 20, 42);
    let link = send(&r, h.path(), &["big.bin"], b"");
    let out = h.path().join("out");
    std::fs::create_dir(&out).unwrap();
    run(r.cli(h.path()).args(["open", &link, "--out", "out"]), b"").expect_code(0);
    assert_eq!(sha256_file(&out.join("big.bin")), sha256_file(&src));
    // The resume state is gone once the relay has the ack.
    let state = h.path().join("state");
    assert!(!state.exists() || std::fs::read_dir(&state).unwrap().next().is_none(), "state dir emptied");
}

#[test]
fn wrong_passphrase_exits_4_and_burns_nothing() {
    let r = Relay::start(&[]);
    let h = home();
    std::fs::write(h.path().join("pass"), "correct horse battery staple\n").unwrap();
    let sent = send_json(&r, h.path(), &["--passphrase-file", "pass", "-"], b"behind a passphrase");
    let link = sent["link"].as_str().unwrap();

    let wrong = run(r.cli(h.path()).args(["open", link, "--passphrase-env", "PW"]).env("PW", "Tr0ub4dor&3"), b"");
    let wrong = wrong.expect_code(4);
    assert!(wrong.stderr.contains("wrong passphrase"), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("9 attempts left"), "{}", wrong.stderr);
    // No passphrase at all (stdin is not a terminal): exit 4 with a hint, no attempt used.
    let none = run(r.cli(h.path()).args(["open", link]), b"").expect_code(4);
    assert!(none.stderr.contains("needs a passphrase"), "{}", none.stderr);
    let st = status(&r, h.path(), &sent);
    assert_eq!(st["state"], "fresh");
    assert_eq!(st["failed_attempts"], 1);
    // Peek says a passphrase is needed and never burns.
    let peek = run(r.cli(h.path()).args(["peek", link]), b"").expect_code(0);
    let peek: serde_json::Value = serde_json::from_slice(&peek.stdout).unwrap();
    assert_eq!(peek["passphrase"], true);
    assert_eq!(peek["key_matches"], true);

    let right = run(r.cli(h.path()).args(["open", link, "--passphrase-file", "pass"]), b"").expect_code(0);
    assert_eq!(right.stdout_str(), "behind a passphrase");
    // The sender's event log: the wrong passphrase, then the claim by the command line, then the end.
    let st = status(&r, h.path(), &sent);
    assert_eq!(st["claimed_via"], "cli");
    let events = st["events"].as_array().unwrap();
    let names: Vec<_> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["created", "wrong_passphrase", "claimed", "consumed"], "{st}");
    assert_eq!(events[1]["count"], 1);
    assert_eq!((&events[2]["client"], &events[2]["at"]), (&serde_json::json!("cli"), &st["claimed_at"]));
    assert_eq!(events[3]["at"], st["ended_at"]);
}

#[test]
fn damaged_key_exits_4_and_burns_nothing() {
    let r = Relay::start(&[]);
    let h = home();
    let link = send(&r, h.path(), &["-"], b"intact");
    // Same length, one character of the secret changed.
    let (head, secret) = link.split_once('#').unwrap();
    let mut s: Vec<char> = secret.chars().collect();
    s[5] = if s[5] == 'A' { 'B' } else { 'A' };
    let bad = format!("{head}#{}", s.iter().collect::<String>());
    let out = run(r.cli(h.path()).args(["open", &bad]), b"").expect_code(4);
    assert!(out.stderr.contains("nothing was burned"), "{}", out.stderr);
    assert!(!out.stderr.contains(&s.iter().collect::<String>()), "the secret is never echoed");
    run(r.cli(h.path()).args(["open", &link]), b"").expect_code(0);
}

#[test]
fn expired_link_is_gone() {
    let r = Relay::start(&[]);
    let h = home();
    let sent = send_json(&r, h.path(), &["--ttl", "5m", "-"], b"short-lived");
    let link = sent["link"].as_str().unwrap();
    run(r.cli(h.path()).args(["peek", link]), b"").expect_code(0);
    r.advance_clock(6 * 60);
    run(r.cli(h.path()).args(["peek", link]), b"").expect_code(3);
    let out = run(r.cli(h.path()).args(["open", link]), b"").expect_code(3);
    assert!(out.stdout.is_empty());
    assert_eq!(status(&r, h.path(), &sent)["state"], "expired");
}

#[test]
fn revoke_then_open_is_gone_and_status_follows() {
    let r = Relay::start(&[]);
    let h = home();
    let a = send_json(&r, h.path(), &["-"], b"to be revoked");
    let b = send_json(&r, h.path(), &["-"], b"to be opened");
    for s in [&a, &b] {
        let st = status(&r, h.path(), s);
        assert_eq!(st["state"], "fresh");
        assert_eq!(st["claimed_at"], serde_json::Value::Null);
        assert_eq!(st["expires_at"], s["expires_at"]);
    }

    let id = a["id"].as_str().unwrap();
    let token = a["manage_token"].as_str().unwrap();
    let rev = run(r.cli(h.path()).args(["revoke", id, "--manage", token]), b"").expect_code(0);
    let rev: serde_json::Value = serde_json::from_slice(&rev.stdout).unwrap();
    assert_eq!(rev["state"], "revoked");
    run(r.cli(h.path()).args(["open", a["link"].as_str().unwrap()]), b"").expect_code(3);
    assert_eq!(status(&r, h.path(), &a)["state"], "revoked");

    run(r.cli(h.path()).args(["open", b["link"].as_str().unwrap()]), b"").expect_code(0);
    let st = status(&r, h.path(), &b);
    assert_eq!(st["state"], "consumed");
    assert!(st["claimed_at"].is_string() && st["ended_at"].is_string(), "{st}");

    // A wrong manage token learns nothing.
    let other = b["manage_token"].as_str().unwrap();
    run(r.cli(h.path()).args(["status", id, "--manage", other]), b"").expect_code(3);
    run(r.cli(h.path()).args(["revoke", b["id"].as_str().unwrap(), "--manage", token]), b"").expect_code(3);
}

#[test]
fn watch_follows_a_link_across_a_relay_crash_until_it_is_opened() {
    use std::io::{BufRead, BufReader, Write};
    let mut r = Relay::start(&[]);
    let h = home();
    let sent = send_json(&r, h.path(), &["-"], b"watched");
    let id = sent["id"].as_str().unwrap();
    // The token goes through stdin, out of the process list.
    let mut watch = r
        .cli(h.path())
        .args(["watch", id, "--manage", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    watch.stdin.take().unwrap().write_all(sent["manage_token"].as_str().unwrap().as_bytes()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            let _ = tx.send(v["state"].as_str().unwrap().to_owned());
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(60)).expect("a state line");
    assert_eq!(next(), "fresh", "the state now, first");
    // The relay crashes and comes back; the watcher reconnects by itself and misses nothing.
    r.restart();
    std::thread::sleep(Duration::from_millis(500));
    run(r.cli(h.path()).args(["open", sent["link"].as_str().unwrap()]), b"").expect_code(0);
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("consumed") {
        seen.push(next());
    }
    assert!(seen.iter().all(|s| ["fresh", "claimed", "consumed"].contains(&s.as_str())), "{seen:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = watch.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not end with the link");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    // A wrong token learns nothing and ends at once.
    let other = send_json(&r, h.path(), &["-"], b"other");
    run(r.cli(h.path()).args(["watch", id, "--manage", other["manage_token"].as_str().unwrap()]), b"").expect_code(3);
}

#[test]
fn relay_down_exits_5() {
    let mut r = Relay::start(&[]);
    let h = home();
    let link = send(&r, h.path(), &["-"], b"stranded");
    r.kill();
    let t = Instant::now();
    let out = run(r.cli(h.path()).args(["open", &link]), b"").expect_code(5);
    assert!(out.stderr.contains("cannot reach"), "{}", out.stderr);
    assert!(t.elapsed() < Duration::from_secs(30));
    run(r.cli(h.path()).args(["send", "-"]), b"x").expect_code(5);
    run(r.cli(h.path()).args(["peek", &link]), b"").expect_code(5);
}

#[test]
fn untrusted_certificate_exits_5() {
    let r = Relay::start(&[]);
    let other = Relay::start(&[]);
    let h = home();
    let link = send(&r, h.path(), &["-"], b"pinned");
    let out = run(r.cli(h.path()).args(["open", &link]).env("BURNLINK_CA", &other.ca), b"").expect_code(5);
    assert!(out.stderr.to_lowercase().contains("certificate") || out.stderr.contains("TLS"), "{}", out.stderr);
    // Nothing was burned by the failed attempt.
    run(r.cli(h.path()).args(["open", &link]), b"").expect_code(0);
}

#[test]
fn malformed_links_exit_2_without_echoing_the_secret() {
    let r = Relay::start(&[]);
    let h = home();
    let good = send(&r, h.path(), &["-"], b"still here");
    let (head, secret) = good.split_once('#').unwrap();
    let cases = [
        "not a link".to_owned(),
        head.to_owned(),                                    // no fragment
        format!("{head}#{}", &secret[..40]),                // short secret
        format!("{head}#{}x", secret),                      // long secret
        format!("{head}#{}*", &secret[..42]),               // bad alphabet
        format!("{}#{secret}", head.replace("/o/", "/x/")), // wrong path
        format!("{}#{secret}", &head[..head.len() - 3]),    // short id
        format!("ftp{}#{secret}", &head[5..]),              // wrong scheme
        format!("{head}?q=1#{secret}"),                     // extra junk
    ];
    for bad in &cases {
        let out = run(r.cli(h.path()).args(["open", bad]), b"").expect_code(2);
        assert!(out.stderr.contains("not a valid Burnlink link"), "{bad}: {}", out.stderr);
        assert!(!out.stderr.contains(&secret[..20]), "{bad}: the secret leaked into {}", out.stderr);
    }
    run(r.cli(h.path()).args(["peek", "nope"]), b"").expect_code(2);
    run(r.cli(h.path()).args(["status", "nope", "--manage", "x"]), b"").expect_code(2);
    run(r.cli(h.path()).args(["send", "--ttl", "1m", "-"]), b"x").expect_code(2);
    run(r.cli(h.path()).args(["send", "--ttl", "31d", "-"]), b"x").expect_code(2);
    run(r.cli(h.path()).args(["open", &good, "--out", "no-such-dir"]), b"").expect_code(2);
    // None of that burned the good link.
    assert_eq!(run(r.cli(h.path()).args(["open", &good]), b"").expect_code(0).stdout_str(), "still here");
}

/// Regression: base64url ids and tokens can begin with `-`, which clap took for a flag (exit 2 instead of an answer).
#[test]
fn ids_and_tokens_starting_with_a_dash_are_values() {
    let r = Relay::start(&[]);
    let h = home();
    let id = format!("-{}", "A".repeat(21));
    let token = format!("-{}A", "B".repeat(41));
    for cmd in ["status", "revoke"] {
        let out = run(r.cli(h.path()).args([cmd, &id, "--manage", &token]), b"").expect_code(3);
        assert!(out.stderr.contains("gone"), "{}", out.stderr);
    }
}

#[test]
fn no_secret_on_the_command_line() {
    // There is no flag that takes a secret or a passphrase as an argument.
    let h = home();
    let r = Relay::start(&[]);
    for bad in [&["send", "--passphrase", "x", "-"][..], &["send", "--secret", "x"], &["send", "--text", "x"]] {
        run(r.cli(h.path()).args(bad), b"").expect_code(2);
    }
    let help = run(r.cli(h.path()).args(["send", "--help"]), b"").expect_code(0).stdout_str();
    assert!(help.contains("--passphrase-file") && help.contains("--passphrase-env"));
}

/// Starts `burnlink open LINK --out out` (plus `extra`) in `h` and freezes it mid-transfer of `name` (its stderr
/// piped).
fn freeze_open(r: &Relay, h: &Path, link: &str, name: &str, size: u64, extra: &[&str]) -> std::process::Child {
    let out = h.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut child = r
        .cli(h)
        .args(["open", link, "--out", "out"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let pid = child.id().to_string();
    let part = loop {
        // The file being written inside the staging folder (`out/.burnlink-<id>-<rand>.partial/<name>`).
        let part = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(".burnlink-"))
            .map(|d| d.join(name));
        if let Some(p) = part {
            if std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) > 8 << 20 {
                // Freeze it first so "mid-transfer" is certain.
                std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap();
                break p;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the receiver finished before it could be interrupted");
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(2));
    };
    let got = std::fs::metadata(&part).unwrap().len();
    assert!(got < size, "stopped mid-transfer ({got} bytes)");
    child
}

/// SIGKILL the receiver mid-download, run `open` again: it resumes under the saved lease and completes, and nobody
/// else can claim the link in between.
/// Freezes `burnlink open` mid-transfer of `name`, kills it, and checks that only the lease was left behind.
fn interrupt_open(r: &Relay, h: &Path, link: &str, name: &str, size: u64, extra: &[&str]) {
    let mut child = freeze_open(r, h, link, name, size, extra);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(std::fs::read_dir(h.join("state")).unwrap().count() == 1, "the lease is kept in the private state dir");
    let out = h.join("out");
    assert_eq!(tree(&out).iter().filter(|(p, _)| !p.starts_with(".burnlink-")).count(), 0, "nothing written yet");
}

/// The sender revokes while the recipient downloads: the download stops, the recipient is told why (exit 3), and
/// nothing is left on its disk or at the relay. (On the cluster the revoke usually goes through another relay than
/// the download.)
#[test]
fn a_revoke_during_a_download_stops_it_and_leaves_nothing() {
    let r = Relay::start(&[]);
    let h = home();
    write_random(&h.path().join("withdrawn.bin"), 192 << 20, 8);
    let sent = send_json(&r, h.path(), &["withdrawn.bin"], b"");
    let link = sent["link"].as_str().unwrap().to_owned();
    let child = freeze_open(&r, h.path(), &link, "withdrawn.bin", 192 << 20, &[]);
    assert_eq!(status(&r, h.path(), &sent)["state"], "claimed");
    let (id, token) = (sent["id"].as_str().unwrap(), sent["manage_token"].as_str().unwrap());
    run(r.cli(h.path()).args(["revoke", id, "--manage", token]), b"").expect_code(0);
    std::process::Command::new("kill").args(["-CONT", &child.id().to_string()]).status().unwrap();
    let out = wait_output(child, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("revoked this link during the download"), "{err}");
    assert!(tree(&h.path().join("out")).is_empty(), "nothing kept: {:?}", tree(&h.path().join("out")));
    assert!(std::fs::read_dir(h.path().join("state")).unwrap().next().is_none(), "no lease kept");
    assert_eq!(status(&r, h.path(), &sent)["state"], "revoked");
    run(r.cli(h.path()).args(["open", &link, "--out", "out"]), b"").expect_code(3);
    if !cluster_mode() {
        let blobs = r.data.path().join("relay/blobs");
        let left: Vec<_> = std::fs::read_dir(&blobs).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("tmp")], "the content is deleted");
    }
}

#[test]
fn killed_receiver_resumes_and_completes() {
    let r = Relay::start(&[]);
    let h = home();
    let src = h.path().join("resume.bin");
    write_random(&src, 192 << 20, 7);
    let sent = send_json(&r, h.path(), &["resume.bin"], b"");
    let link = sent["link"].as_str().unwrap().to_owned();
    let out = h.path().join("out");
    let state = h.path().join("state");
    interrupt_open(&r, h.path(), &link, "resume.bin", 192 << 20, &[]);
    assert_eq!(status(&r, h.path(), &sent)["state"], "claimed");

    // Somebody else with the whole link (another machine: another state dir) gets "gone" while the lease runs.
    let thief = home();
    run(r.cli(thief.path()).args(["open", &link]), b"").expect_code(3);

    run(r.cli(h.path()).args(["open", &link, "--out", "out"]), b"").expect_code(0);
    assert_eq!(sha256_file(&out.join("resume.bin")), sha256_file(&src));
    let files: Vec<_> = tree(&out).into_iter().map(|(p, _)| p).collect();
    assert_eq!(files, vec!["resume.bin".to_owned()], "the killed run's staging folder is cleaned up");
    assert_eq!(status(&r, h.path(), &sent)["state"], "consumed");
    assert!(std::fs::read_dir(&state).unwrap().next().is_none(), "resume state removed after the ack");
}

#[test]
fn a_mistyped_passphrase_on_resume_keeps_the_download() {
    let r = Relay::start(&[]);
    let h = home();
    let src = h.path().join("guarded.bin");
    write_random(&src, 128 << 20, 9);
    std::fs::write(h.path().join("right"), "correct horse battery").unwrap();
    std::fs::write(h.path().join("wrong"), "correct horse batterY").unwrap();
    let sent = send_json(&r, h.path(), &["--passphrase-file", "right", "guarded.bin"], b"");
    let link = sent["link"].as_str().unwrap().to_owned();
    interrupt_open(&r, h.path(), &link, "guarded.bin", 128 << 20, &["--passphrase-file", "right"]);

    let wrong = run(r.cli(h.path()).args(["open", &link, "--out", "out", "--passphrase-file", "wrong"]), b"");
    let wrong = wrong.expect_code(4);
    assert!(wrong.stderr.contains("wrong passphrase") && wrong.stderr.contains("kept"), "{}", wrong.stderr);
    assert_eq!(std::fs::read_dir(h.path().join("state")).unwrap().count(), 1, "the lease survives a typo");

    run(r.cli(h.path()).args(["open", &link, "--out", "out", "--passphrase-file", "right"]), b"").expect_code(0);
    assert_eq!(sha256_file(&h.path().join("out/guarded.bin")), sha256_file(&src));
    assert_eq!(status(&r, h.path(), &sent)["state"], "consumed");
}

/// `--policy ultra-secure`: an hour by default, at most a day, and a passphrase generated and printed (in the JSON)
/// when none is given; the link opens only with it.
#[test]
fn the_ultra_secure_policy_generates_a_passphrase_and_bounds_the_expiry() {
    let r = Relay::start(&[]);
    let h = home();
    let sent = send_json(&r, h.path(), &["--policy", "ultra-secure", "-"], b"launch codes");
    let pass = sent["passphrase"].as_str().unwrap().to_owned();
    assert_eq!((pass.len(), pass.split('-').count()), (29, 5), "{pass}");
    let expires = humantime::parse_rfc3339(sent["expires_at"].as_str().unwrap()).unwrap();
    let left = expires.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(left <= Duration::from_secs(3600) && left > Duration::from_secs(3500), "an hour: {left:?}");
    let link = sent["link"].as_str().unwrap();
    run(r.cli(h.path()).args(["open", link]), b"").expect_code(4);
    let opened = run(r.cli(h.path()).args(["open", link, "--passphrase-env", "PW"]).env("PW", &pass), b"");
    assert_eq!(opened.expect_code(0).stdout_str(), "launch codes");

    // Longer than the template allows: refused before anything is sent, no link printed.
    let long = run(r.cli(h.path()).args(["send", "--policy", "ultra-secure", "--ttl", "7d", "-"]), b"x").expect_code(2);
    assert!(long.stdout.is_empty() && long.stderr.contains("at most 24 hours"), "{}", long.stderr);
    // The sender's own passphrase is used as given, and printed nowhere.
    std::fs::write(h.path().join("pass"), "my own words").unwrap();
    let own = send_json(&r, h.path(), &["--policy", "ultra-secure", "--passphrase-file", "pass", "-"], b"y");
    assert!(own.get("passphrase").is_none());
    let plain = run(r.cli(h.path()).args(["send", "--policy", "standard", "-"]), b"z").expect_code(0);
    assert!(!plain.stderr.contains("Passphrase"), "standard needs none: {}", plain.stderr);
    run(r.cli(h.path()).args(["send", "--policy", "paranoid", "-"]), b"z").expect_code(2);
}

/// `--allow`: a claim from outside the allowlist burns nothing, counts nothing and says why (exit 6); from inside it
/// opens. (The relay sees these clients at 127.0.0.1.)
#[test]
fn an_allowlist_refuses_other_networks_without_burning() {
    let r = Relay::start(&[]);
    let h = home();
    let fenced = send_json(&r, h.path(), &["--allow", "10.0.0.0/8,192.0.2.0/24", "-"], b"office only");
    let link = fenced["link"].as_str().unwrap();
    let refused = run(r.cli(h.path()).args(["open", link]), b"").expect_code(6);
    assert!(refused.stderr.contains("only be opened from the networks"), "{}", refused.stderr);
    let st = status(&r, h.path(), &fenced);
    assert_eq!((&st["state"], &st["failed_attempts"]), (&serde_json::json!("fresh"), &serde_json::json!(0)));
    let home_net = send_json(&r, h.path(), &["--allow", "127.0.0.0/8", "--allow", "::1", "-"], b"loopback only");
    let opened = run(r.cli(h.path()).args(["open", home_net["link"].as_str().unwrap()]), b"").expect_code(0);
    assert_eq!(opened.stdout_str(), "loopback only");
    let bad = run(r.cli(h.path()).args(["send", "--allow", "10.1.2.3/8", "-"]), b"x").expect_code(2);
    assert!(bad.stderr.contains("not an address or a CIDR block"), "{}", bad.stderr);
}

/// An operator's limits: only the listed templates, and a longest expiry; refused creates store nothing.
#[test]
fn a_relay_operator_limits_templates_and_expiry() {
    let r = Relay::start(&["--policies", "ultra-secure,standard", "--max-ttl", "2h"]);
    let h = home();
    let none = run(r.cli(h.path()).args(["send", "-"]), b"x").expect_code(6);
    assert!(
        none.stdout.is_empty() && none.stderr.contains("only links made under the ultra-secure or standard policy")
    );
    let light = run(r.cli(h.path()).args(["send", "--policy", "lightweight", "--ttl", "1h", "-"]), b"x").expect_code(6);
    assert!(light.stdout.is_empty(), "{}", light.stdout_str());
    let long = run(r.cli(h.path()).args(["send", "--policy", "standard", "--ttl", "3h", "-"]), b"x");
    assert_ne!(long.code, 0);
    assert!(long.stderr.contains("at most 2 hours"), "{}", long.stderr);
    let ok = send_json(&r, h.path(), &["--policy", "standard", "--ttl", "2h", "-"], b"within limits");
    let opened = run(r.cli(h.path()).args(["open", ok["link"].as_str().unwrap()]), b"").expect_code(0);
    assert_eq!(opened.stdout_str(), "within limits");
}

/// `--recipients 3`: one upload gives three links, each with its own key, each burning on its own. One recipient's
/// link opens nothing of another's; the content survives a relay kill while links still need it, and goes when the
/// last link ends.
#[test]
fn several_recipients_get_links_that_each_burn_on_their_own() {
    let mut r = Relay::start(&[]);
    let h = home();
    write_random(&h.path().join("shared.bin"), 3 << 20, 21);
    let out = run(r.cli(h.path()).args(["send", "--recipients", "3", "--json", "shared.bin"]), b"").expect_code(0);
    let sent: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sent.len(), 3);
    let field =
        |k: &str| sent.iter().map(|s| s[k].as_str().unwrap().to_owned()).collect::<std::collections::HashSet<_>>();
    for k in ["link", "id", "manage_token"] {
        assert_eq!(field(k).len(), 3, "three distinct {k}s");
    }
    let link = |i: usize| sent[i]["link"].as_str().unwrap().to_owned();
    let secret = |i: usize| link(i).split_once('#').unwrap().1.to_owned();
    let opened = |r: &Relay, i: usize, dir: &str| {
        std::fs::create_dir_all(h.path().join(dir)).unwrap();
        run(r.cli(h.path()).args(["open", &link(i), "--out", dir]), b"")
    };

    // Someone holding the second link cannot use it on the first: its key is not the first link's key.
    let crossed = link(0).replace(&secret(0), &secret(1));
    run(r.cli(h.path()).args(["open", &crossed]), b"").expect_code(4);
    assert_eq!(status(&r, h.path(), &sent[0])["failed_attempts"], 0);

    opened(&r, 1, "o1").expect_code(0);
    assert_eq!(sha256_file(&h.path().join("o1/shared.bin")), sha256_file(&h.path().join("shared.bin")));
    opened(&r, 1, "o1b").expect_code(3);
    for i in [0, 2] {
        assert_eq!(status(&r, h.path(), &sent[i])["state"], "fresh", "link {i} is untouched by another's burn");
    }
    // The first link, under whose id the content is stored, is revoked: the others keep it.
    let (id, token) = (sent[0]["id"].as_str().unwrap(), sent[0]["manage_token"].as_str().unwrap());
    run(r.cli(h.path()).args(["revoke", id, "--manage", token]), b"").expect_code(0);
    assert_eq!(status(&r, h.path(), &sent[2])["state"], "fresh");
    opened(&r, 0, "o0").expect_code(3);
    // The relay dies and comes back: its start-up clean-up keeps content that a live link still shares.
    r.restart();
    opened(&r, 2, "o2").expect_code(0);
    assert_eq!(sha256_file(&h.path().join("o2/shared.bin")), sha256_file(&h.path().join("shared.bin")));
    if !cluster_mode() {
        let blobs = r.data.path().join("relay/blobs");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left: Vec<_> = std::fs::read_dir(&blobs).unwrap().map(|e| e.unwrap().file_name()).collect();
            if left == [std::ffi::OsString::from("tmp")] {
                break;
            }
            assert!(Instant::now() < deadline, "the content outlived its last link: {left:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // A text for two: two lines, each opening it once.
    let two = run(r.cli(h.path()).args(["send", "--recipients", "2", "-"]), b"for both of you").expect_code(0);
    let lines: Vec<_> = two.stdout_str().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(run(r.cli(h.path()).args(["open", l]), b"").expect_code(0).stdout_str(), "for both of you");
    }
    run(r.cli(h.path()).args(["send", "--recipients", "21", "-"]), b"x").expect_code(2);
}

/// `burnlink request --json` in `home`: the request link and its JSON.
fn request(r: &Relay, home: &Path, args: &[&str]) -> (String, serde_json::Value) {
    let out = run(r.cli(home).args(["request", "--json"]).args(args), b"").expect_code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (v["link"].as_str().unwrap().to_owned(), v)
}

#[test]
fn a_request_takes_one_answer_that_only_the_requester_opens_once() {
    let r = Relay::start(&[]);
    let (asker, answerer) = (home(), home());
    let (link, asked) = request(&r, asker.path(), &["--ttl", "1h"]);
    let id = asked["id"].as_str().unwrap();
    // The link carries only a public key; the key that opens the answers stays in a private file on this machine.
    assert!(link.starts_with(&format!("{}/r/{id}#age1", r.url)), "{link}");
    let kept = std::fs::read_dir(asker.path().join("state/requests")).unwrap().next().unwrap().unwrap().path();
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&kept).unwrap().permissions()) & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&kept).unwrap();
    let secret = secret.lines().find_map(|l| l.strip_prefix("secret=")).unwrap();
    assert!(!link.contains(secret));

    // Nobody has answered: told so, with its own status, and nothing changes.
    let early = run(r.cli(asker.path()).args(["open", &link]), b"").expect_code(7);
    assert!(early.stderr.contains("nobody has answered"), "{}", early.stderr);

    // Someone who holds only the id makes up a key: refused, and the request still takes the real answer.
    let (forged, _) = request(&r, answerer.path(), &[]);
    let forged = format!("{}/r/{id}#{}", r.url, forged.split_once('#').unwrap().1);
    run(r.cli(answerer.path()).args(["send", "--to", &forged, "-"]), b"not for you").expect_code(3);

    // The answerer sends files to the request; a second answer is refused.
    write_random(&answerer.path().join("id_ed25519"), 300_000, 7);
    let out = run(r.cli(answerer.path()).args(["send", "--json", "--to", &link, "id_ed25519"]), b"").expect_code(0);
    let answered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answered["answered"], link.as_str());
    let again = run(r.cli(answerer.path()).args(["send", "--to", &link, "-"]), b"second").expect_code(3);
    assert!(again.stderr.contains("no more answers"), "{}", again.stderr);
    // The answerer's own status of its answer: fresh until the requester opens it.
    assert_eq!(status(&r, answerer.path(), &answered)["state"], "fresh");

    // Only the requester's machine opens it.
    let elsewhere = run(r.cli(answerer.path()).args(["open", &link]), b"").expect_code(2);
    assert!(elsewhere.stderr.contains("send --to"), "{}", elsewhere.stderr);
    std::fs::create_dir(asker.path().join("in")).unwrap();
    run(r.cli(asker.path()).args(["open", &link, "--out", "in"]), b"").expect_code(0);
    assert_eq!(sha256_file(&asker.path().join("in/id_ed25519")), sha256_file(&answerer.path().join("id_ed25519")));
    let twice = run(r.cli(asker.path()).args(["open", &link, "--out", "in"]), b"").expect_code(3);
    assert!(twice.stderr.contains("nothing left to open"), "{}", twice.stderr);
    assert_eq!(status(&r, answerer.path(), &answered)["state"], "consumed");
    // The request itself: the requester's status says it still asks, with no answer left to take.
    assert_eq!(status(&r, asker.path(), &asked)["state"], "asking");
}

#[test]
fn a_request_for_several_answers_opens_each_once_and_stops_when_it_expires_or_is_revoked() {
    let r = Relay::start(&[]);
    let (asker, answerer) = (home(), home());
    let (link, _) = request(&r, asker.path(), &["--answers", "3", "--ttl", "10m"]);
    // A requester who waits gets the first answer as it comes.
    let waiting = r
        .cli(asker.path())
        .args(["open", "--wait", &link])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for text in ["first", "second"] {
        run(r.cli(answerer.path()).args(["send", "--to", &link, "-"]), text.as_bytes()).expect_code(0);
    }
    let first = wait_output(waiting, Duration::from_secs(20));
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(String::from_utf8_lossy(&first.stdout), "first");
    assert_eq!(run(r.cli(asker.path()).args(["open", &link]), b"").expect_code(0).stdout_str(), "second");
    // One answer is still to come, until the request expires.
    run(r.cli(asker.path()).args(["open", &link]), b"").expect_code(7);
    r.advance_clock(11 * 60);
    run(r.cli(answerer.path()).args(["send", "--to", &link, "-"]), b"too late").expect_code(3);
    run(r.cli(asker.path()).args(["open", &link]), b"").expect_code(3);

    // A revoked request takes nothing more.
    let (link, asked) = request(&r, asker.path(), &[]);
    let (id, token) = (asked["id"].as_str().unwrap(), asked["manage_token"].as_str().unwrap());
    let revoked = run(r.cli(asker.path()).args(["revoke", id, "--manage", token]), b"").expect_code(0);
    assert!(revoked.stdout_str().contains("\"revoked\""), "{}", revoked.stdout_str());
    run(r.cli(answerer.path()).args(["send", "--to", &link, "-"]), b"after the revoke").expect_code(3);
    run(r.cli(asker.path()).args(["open", &link]), b"").expect_code(3);
    // An answer is for the requester alone: no passphrase, policy or extra recipients.
    let (link, _) = request(&r, asker.path(), &[]);
    for extra in [&["--policy", "standard"][..], &["--recipients", "2"]] {
        run(r.cli(answerer.path()).args(["send", "--to", &link]).args(extra).arg("-"), b"x").expect_code(2);
    }
    // Nor can anyone peek at or claim a request as if it were a link.
    let as_link = link.replace("/r/", "/o/");
    run(r.cli(answerer.path()).args(["open", &as_link]), b"").expect_code(2);
}

#[test]
fn json_logs_are_one_object_a_line_and_never_name_a_link_a_key_a_token_or_an_address() {
    if cluster_mode() {
        return; // one relay process of its own; nothing differs on the shared backend
    }
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("relay.log");
    let mut relay = std::process::Command::new(bin("burnlink-relay"))
        .args(["--log-format", "json", "--sweep-secs", "1", "--data"])
        .arg(dir.path().join("data"))
        // The relay's own debug lines too: the privacy rules hold at every level it logs at.
        .env("BURNLINK_LOG", "info,burnlink_relay=debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let ready = read_ready(&mut relay).unwrap();
    let h = home();
    let cli = |args: &[&str], input: &[u8]| {
        let mut c = std::process::Command::new(bin("burnlink"));
        c.env("BURNLINK_RELAY", ready["url"].as_str().unwrap())
            .env("BURNLINK_CA", ready["ca"].as_str().unwrap())
            .env("BURNLINK_STATE_DIR", h.path().join("state"))
            .current_dir(h.path())
            .args(args);
        run(&mut c, input)
    };
    // Links opened, tried with a wrong passphrase, revoked; a request answered; all of it logged at debug.
    let sent: serde_json::Value =
        serde_json::from_slice(&cli(&["send", "--json", "-"], b"logged?").expect_code(0).stdout).unwrap();
    let link = sent["link"].as_str().unwrap().to_owned();
    cli(&["open", &link], b"").expect_code(0);
    std::fs::write(h.path().join("pass"), "right").unwrap();
    std::fs::write(h.path().join("wrong"), "wrong").unwrap();
    let guarded = cli(&["send", "--passphrase-file", "pass", "-"], b"guarded").expect_code(0).stdout_str();
    cli(&["open", guarded.trim(), "--passphrase-file", "wrong"], b"").expect_code(4);
    let revoked: serde_json::Value =
        serde_json::from_slice(&cli(&["send", "--json", "-"], b"revoked").expect_code(0).stdout).unwrap();
    let (rid, token) = (revoked["id"].as_str().unwrap(), revoked["manage_token"].as_str().unwrap());
    cli(&["revoke", rid, "--manage", token], b"").expect_code(0);
    let asked: serde_json::Value =
        serde_json::from_slice(&cli(&["request", "--json"], b"").expect_code(0).stdout).unwrap();
    let request = asked["link"].as_str().unwrap().to_owned();
    cli(&["send", "--to", &request, "-"], b"answer").expect_code(0);
    cli(&["open", &request], b"").expect_code(0);
    let _ = relay.kill();
    let _ = relay.wait();

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.lines().count() >= 5, "the relay logged its work: {logs}");
    for line in logs.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
    let secrets = [
        link.split_once('#').unwrap().1.to_owned(),
        guarded.trim().split_once('#').unwrap().1.to_owned(),
        token.to_owned(),
        sent["manage_token"].as_str().unwrap().to_owned(),
        asked["manage_token"].as_str().unwrap().to_owned(),
        request.split_once('#').unwrap().1.to_owned(),
    ];
    let ids = [sent["id"].as_str().unwrap(), rid, asked["id"].as_str().unwrap()];
    for s in secrets.iter().map(String::as_str).chain(ids) {
        assert!(!logs.contains(s), "the logs hold {s}");
    }
    for s in ["logged?", "guarded", "\"right\"", "127.0.0.1"] {
        assert!(!logs.contains(s), "the logs hold {s}");
    }
}
