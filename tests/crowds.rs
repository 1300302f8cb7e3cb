//! A crowd behind one address, as a new user or a CI job fanning out would be, against a relay with its shipped
//! limits: sixteen recipients racing on one link, waves of concurrent sends and opens, a relay that tells clients
//! to wait, and a relay that is full. Every process here comes from 127.0.0.1.

use std::path::Path;
use std::sync::Arc;

use burnlink_e2e::*;

/// Runs `n` copies of a command at once, each with a home of its own (separate users behind one NAT), and returns
/// what each did, in order.
fn together(r: &Arc<Relay>, n: usize, args: impl Fn(usize) -> (Vec<String>, Vec<u8>)) -> Vec<Run> {
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let r = r.clone();
            let (argv, stdin) = args(i);
            std::thread::spawn(move || {
                let home = tempfile::tempdir().unwrap();
                run(r.cli(home.path()).args(&argv), &stdin)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn send_text(r: &Relay, home: &Path, text: &str) -> String {
    let out = run(r.cli(home).args(["send", "-"]), text.as_bytes()).expect_code(0);
    out.stdout_str().trim().to_owned()
}

#[test]
fn sixteen_racing_opens_of_each_of_40_links_one_winner_the_rest_gone() {
    let r = Arc::new(Relay::start_as_shipped(&[]));
    let home = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let secret = format!("crowd secret {i}");
        let link = send_text(&r, home.path(), &secret);
        let runs = together(&r, 16, |_| (vec!["open".into(), link.clone()], Vec::new()));
        let winners: Vec<_> = runs.iter().filter(|o| o.code == 0).collect();
        assert_eq!(winners.len(), 1, "link {i}: {} winners; exits {:?}", winners.len(), codes(&runs));
        assert_eq!(winners[0].stdout_str(), secret);
        for o in runs.iter().filter(|o| o.code != 0) {
            assert_eq!(o.code, 3, "link {i}: a loser did not get 'gone': {}", o.stderr);
        }
    }
}

fn codes(runs: &[Run]) -> Vec<i32> {
    runs.iter().map(|o| o.code).collect()
}

#[test]
fn waves_of_sixteen_concurrent_sends_and_opens_all_succeed() {
    let r = Arc::new(Relay::start_as_shipped(&[]));
    for wave in 0..5 {
        let sends = together(&r, 16, |i| (vec!["send".into(), "-".into()], format!("wave {wave} #{i}").into_bytes()));
        for (i, o) in sends.iter().enumerate() {
            assert_eq!(o.code, 0, "wave {wave}: send {i} failed: {}", o.stderr);
        }
        let links: Vec<String> = sends.iter().map(|o| o.stdout_str().trim().to_owned()).collect();
        let opens = together(&r, 16, |i| (vec!["open".into(), links[i].clone()], Vec::new()));
        for (i, o) in opens.iter().enumerate() {
            assert_eq!(o.code, 0, "wave {wave}: open {i} failed: {}", o.stderr);
            assert_eq!(o.stdout_str(), format!("wave {wave} #{i}"));
        }
    }
}

#[test]
fn a_busy_relay_says_wait_and_the_cli_waits_and_succeeds() {
    // Four creates at once, then one a second: sixteen concurrent sends must wait their turn, and all get through.
    let r = Arc::new(Relay::start_as_shipped(&["--create-burst", "4", "--create-rate", "1"]));
    let sends = together(&r, 16, |i| (vec!["send".into(), "-".into()], format!("patient {i}").into_bytes()));
    for (i, o) in sends.iter().enumerate() {
        assert_eq!(o.code, 0, "send {i} failed: {}", o.stderr);
    }
    let waited = sends.iter().filter(|o| o.stderr.contains("the relay is busy; trying again in")).count();
    // However slowly the sixteen processes start on a busy machine, most of them find the budget spent.
    assert!(waited >= 4, "only {waited} of 16 sends were told to wait");
    let home = tempfile::tempdir().unwrap();
    let out = run(r.cli(home.path()).args(["open", sends[15].stdout_str().trim()]), b"").expect_code(0);
    assert_eq!(out.stdout_str(), "patient 15");
}

#[test]
fn a_full_relay_refuses_uploads_clearly_still_serves_claims_and_frees_space() {
    let r = Relay::start_as_shipped(&["--max-storage", "3000000"]);
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("two-megabytes.bin");
    write_random(&file, 2_000_000, 7);
    let path = file.to_str().unwrap();
    let first = run(r.cli(home.path()).args(["send", "--ttl", "10m", path]), b"").expect_code(0);
    let first = first.stdout_str().trim().to_owned();

    let refused = run(r.cli(home.path()).args(["send", path]), b"");
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stdout.is_empty(), "no link for a refused upload");
    assert!(refused.stderr.contains("the relay is full"), "{}", refused.stderr);
    assert_eq!(count_tmp(&r), 0, "a refused upload left a temp file");

    // Claims are still served, and a finished download frees the space.
    let out = tempfile::tempdir().unwrap();
    run(r.cli(home.path()).args(["open", &first, "--out"]).arg(out.path()), b"").expect_code(0);
    assert_eq!(sha256_file(&out.path().join("two-megabytes.bin")), sha256_file(&file));
    let second = run(r.cli(home.path()).args(["send", "--ttl", "5m", path]), b"").expect_code(0);
    assert!(run(r.cli(home.path()).args(["send", path]), b"").stderr.contains("the relay is full"));

    // So does expiry.
    r.advance_clock(301);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let again = run(r.cli(home.path()).args(["send", path]), b"");
        if again.code == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "expiry never freed the space: {}", again.stderr);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let gone = run(r.cli(home.path()).args(["open", second.stdout_str().trim()]), b"");
    assert_eq!(gone.code, 3);
}

fn count_tmp(r: &Relay) -> usize {
    std::fs::read_dir(r.data.path().join("relay/blobs/tmp")).unwrap().count()
}
