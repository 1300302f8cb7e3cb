//! The real servers the scale-out tests run against (`burnlink_e2e::servers`): they install, start, keep what they
//! acknowledged across the faults those tests inject, and stop, on any machine `.ci/run` prepares.

use burnlink_e2e::servers::{Postgres, Seaweed, S3_BUCKET, S3_KEY};
use std::process::Command;

#[test]
fn postgres_keeps_committed_rows_across_an_immediate_stop_and_a_fast_one() {
    let pg = Postgres::start();
    pg.psql("create table t (v int)");
    pg.psql("insert into t values (1)");
    pg.stop_immediate(); // no checkpoint: the row comes back from the WAL
    pg.up();
    pg.psql("insert into t values (2)");
    pg.stop_fast();
    pg.up();
    assert_eq!(pg.psql("select string_agg(v::text, ',' order by v) from t"), "1,2");
}

/// A SigV4-signed S3 request with curl; returns (HTTP status, body).
fn s3(s: &Seaweed, key: (&str, &str), args: &[&str], path: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
        .arg(format!("{}:{}", key.0, key.1))
        .args(args)
        .arg(format!("{}/{S3_BUCKET}/{path}", s.endpoint()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.to_owned(), body.to_owned())
}

#[test]
fn seaweedfs_serves_s3_to_the_test_credentials_only_and_keeps_objects_across_a_kill() {
    let s = Seaweed::start();
    let file = s.dir().join("upload.txt");
    std::fs::write(&file, "ciphertext stand-in").unwrap();
    let (code, body) = s3(&s, S3_KEY, &["-T", file.to_str().unwrap()], "obj");
    assert_eq!(code, "200", "{body}");
    assert_eq!(s3(&s, ("someone", "else"), &[], "obj").0, "403", "unsigned or wrongly signed: refused");
    s.kill();
    s.up();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (code, body) = s3(&s, S3_KEY, &[], "obj");
        if code == "200" {
            assert_eq!(body, "ciphertext stand-in");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the object did not come back: {code} {body}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(s3(&s, S3_KEY, &["-X", "DELETE"], "obj").0, "204");
    assert_eq!(s3(&s, S3_KEY, &[], "obj").0, "404");
}
