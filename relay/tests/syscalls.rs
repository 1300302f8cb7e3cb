//! An acknowledged transition survives power loss, not only `kill -9`: it is on stable storage before the relay
//! answers. The real `burnlink-relay` runs under `strace -f -yy`; curl drives creates (inline and file), a claim, an
//! ack and a revoke over HTTPS, one request at a time, so every write to a TCP socket is an answer. At each answer, no
//! file under the data dir may hold a write that no `fsync`/`fdatasync` of that file has covered since.
//! `sync_file_range` (all that sled's own flush does) does not count: it flushes neither the device cache nor the
//! metadata needed to read the data back.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::link_keys;

const WRITES: &[&str] = &["write", "pwrite64", "writev", "pwritev", "pwritev2", "ftruncate", "fallocate"];
const SENDS: &[&str] = &["sendto", "sendmsg", "sendmmsg"];
const SYNCS: &[&str] = &["fsync", "fdatasync"];

/// What the trace showed.
#[derive(Debug, Default)]
struct Audit {
    /// Answers written to a TCP socket while a data file held unsynced writes, with those files.
    violations: Vec<(usize, BTreeSet<String>)>,
    answers: usize,
    synced: BTreeSet<String>,
    written: BTreeSet<String>,
}

/// `(syscall, fd path)` of a trace line's first argument, e.g. `pwrite64(7</d/db/db>, ...` gives the path.
fn call(rest: &str) -> Option<(&str, &str)> {
    let (name, args) = rest.split_once('(')?;
    let args = args.trim_start_matches(|c: char| c.is_ascii_digit());
    let path = args.strip_prefix('<')?;
    Some((name, &path[..path.find('>')?]))
}

fn audit(trace: &str, data: &str) -> Audit {
    let mut a = Audit::default();
    let mut dirty = BTreeSet::new();
    let mut pending: HashMap<&str, (&str, &str)> = HashMap::new();
    let is_data = |p: &str| p.starts_with(data);
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else { continue };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            // A syscall that another thread's line interrupted finishes here.
            let name = resumed.split(' ').next().unwrap_or("");
            if let Some((n, path)) = pending.remove(pid) {
                if n == name && SYNCS.contains(&n) && resumed.ends_with("= 0") && is_data(path) {
                    dirty.remove(path);
                    a.synced.insert(path.to_owned());
                }
            }
            continue;
        }
        let Some((name, path)) = call(rest) else { continue };
        let unfinished = rest.ends_with("<unfinished ...>");
        if WRITES.contains(&name) && is_data(path) {
            dirty.insert(path.to_owned());
            a.written.insert(path.to_owned());
        } else if (WRITES.contains(&name) || SENDS.contains(&name)) && path.starts_with("TCP") {
            a.answers += 1;
            if !dirty.is_empty() {
                a.violations.push((a.answers, dirty.clone()));
            }
        } else if SYNCS.contains(&name) && is_data(path) {
            if unfinished {
                pending.insert(pid, (name, path));
            } else if rest.ends_with("= 0") {
                dirty.remove(path);
                a.synced.insert(path.to_owned());
            }
        }
    }
    a
}

fn curl(ca: &Path, url: &str, args: &[&str]) -> (String, Vec<u8>) {
    let headers = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "--cacert"])
        .arg(ca)
        .args(["-H", "Expect:", "-D"])
        .arg(headers.path())
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed (scripts/install-deps)");
    assert!(out.status.success(), "curl {url}: {}", String::from_utf8_lossy(&out.stderr));
    (std::fs::read_to_string(headers.path()).unwrap(), out.stdout)
}

fn create(ca: &Path, base: &str, seed: u64, body: &Path) -> (String, common::LinkKeys) {
    let k = link_keys(seed);
    let h = |name: &str, v: &[u8]| format!("{name}: {}", B64.encode(v));
    let (_, out) = curl(
        ca,
        &format!("{base}/api/v1/links"),
        &[
            "-H",
            "content-type: application/octet-stream",
            "-H",
            "burnlink-ttl: 3600",
            "-H",
            &h("burnlink-claim-hash", &k.claim.digest().0),
            "-H",
            &h("burnlink-holder-hash", &k.holder.digest().0),
            "-H",
            &h("burnlink-manage-hash", &k.manage.digest().0),
            "-H",
            &h("burnlink-check", &[7; 16]),
            "--data-binary",
            &format!("@{}", body.display()),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    (v["id"].as_str().unwrap().to_owned(), k)
}

fn post_json(ca: &Path, url: &str, body: serde_json::Value) -> (String, Vec<u8>) {
    curl(ca, url, &["-H", "content-type: application/json", "--data", &body.to_string()])
}

#[test]
fn every_answer_waits_for_a_real_sync_of_what_it_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("trace");
    let mut relay = Command::new("strace")
        .args(["-f", "-yy", "-qq", "-s", "0", "-e"])
        .arg(format!("trace={}", [WRITES, SENDS, SYNCS, &["sync_file_range"]].concat().join(",")))
        .arg("-o")
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_burnlink-relay"))
        .arg("--data")
        .arg(&data)
        .args(["--rate", "0", "--sweep-secs", "3600", "--inline-max", "65536"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace is installed (scripts/install-deps)");
    let ready = burnlink_e2e::read_ready(&mut relay).unwrap();
    let (base, ca) = (ready["url"].as_str().unwrap().to_owned(), Path::new(ready["ca"].as_str().unwrap()).to_owned());

    let small = dir.path().join("small");
    std::fs::write(&small, vec![1u8; 3000]).unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![2u8; 3 << 20]).unwrap();
    let (a, ka) = create(&ca, &base, 1, &small);
    let (b, kb) = create(&ca, &base, 2, &big);
    let (headers, body) = post_json(
        &ca,
        &format!("{base}/api/v1/links/{a}/claim"),
        serde_json::json!({ "holder": B64.encode(ka.holder.expose()), "claim_key": B64.encode(ka.claim.expose()) }),
    );
    assert_eq!(body, vec![1u8; 3000]);
    let lease = headers
        .lines()
        .find_map(|l| l.strip_prefix("burnlink-lease: "))
        .expect("the claim answer carries the lease")
        .trim();
    post_json(&ca, &format!("{base}/api/v1/links/{a}/ack"), serde_json::json!({ "lease": lease }));
    let (_, st) = post_json(
        &ca,
        &format!("{base}/api/v1/links/{b}/revoke"),
        serde_json::json!({ "manage": B64.encode(kb.manage.expose()) }),
    );
    assert!(String::from_utf8_lossy(&st).contains("revoked"));

    // strace blocks fatal signals while it runs a command (`-o FILE PROG`), so stop the traced relay itself: a SIGTERM
    // lets it shut down cleanly, and strace ends with it.
    let children = format!("/proc/{0}/task/{0}/children", relay.id());
    let traced = std::fs::read_to_string(&children).unwrap();
    let traced = traced.split_whitespace().next().expect("strace runs the relay");
    assert!(Command::new("kill").arg(traced).status().unwrap().success());
    relay.wait().unwrap();
    let trace = std::fs::read_to_string(&log).unwrap();
    let a = audit(&trace, data.to_str().unwrap());

    // The trace saw what it needs to judge: answers, and the store's own files written.
    assert!(a.answers >= 5, "too few answers traced: {a:?}");
    let db = data.join("db/db").display().to_string();
    let keys = data.join("keys").display().to_string();
    assert!(a.written.contains(&db) && a.written.contains(&keys), "{a:?}");
    assert!(a.written.iter().any(|p| p.contains("/blobs/")), "the large upload went to a file: {a:?}");
    assert!(a.violations.is_empty(), "answers sent before a sync of what they acknowledge: {:?}", a.violations);
    assert!(a.synced.contains(&db) && a.synced.contains(&keys), "{a:?}");
}

#[test]
fn the_audit_catches_an_answer_before_the_sync() {
    let trace = "\
1 pwrite64(7</d/db/db>, \"\"..., 100, 0) = 100
1 sync_file_range(7</d/db/db>, 0, 100, SYNC_FILE_RANGE_WRITE) = 0
2 sendto(9<TCP:[127.0.0.1:1->127.0.0.1:2]>, \"\"..., 50, MSG_NOSIGNAL, NULL, 0) = 50
1 fdatasync(7</d/db/db> <unfinished ...>
2 write(9<TCP:[127.0.0.1:1->127.0.0.1:2]>, \"\"..., 50) = 50
1 <... fdatasync resumed>) = 0
2 write(9<TCP:[127.0.0.1:1->127.0.0.1:2]>, \"\"..., 50) = 50
";
    let a = audit(trace, "/d");
    assert_eq!(a.answers, 3);
    let want: Vec<(usize, BTreeSet<String>)> =
        vec![(1, ["/d/db/db".to_owned()].into()), (2, ["/d/db/db".to_owned()].into())];
    assert_eq!(a.violations, want, "an answer before the sync, and one during it, are both caught");
}
