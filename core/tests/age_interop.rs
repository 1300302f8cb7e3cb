//! Interop with the reference tools: a payload made by `burnlink-core` opens with Debian's `age` given the identity
//! derived from the link secret, and `age -d | tar x` recovers the files; a payload made by `age` and GNU tar opens
//! with `burnlink-core`. `.ci/run` installs `age`; without it these tests fail rather than pass silently.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use burnlink_core::container::{MemorySink, SafePath};
use burnlink_core::envelope::{open, Sealer};
use burnlink_core::keys::LinkKeys;
use burnlink_core::link::LinkSecret;
use burnlink_core::secrecy::ExposeSecret;

fn age_bin() -> &'static str {
    let ok = Command::new("age").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(ok, "the `age` tool is missing: install Debian's `age` package (.ci/run does)");
    "age"
}

fn write_identity(dir: &Path, keys: &LinkKeys) -> std::path::PathBuf {
    let p = dir.join("identity.txt");
    std::fs::write(&p, format!("{}\n", keys.identity_string().expose_secret())).unwrap();
    p
}

/// `age -d -i ID CT | tar -x -C OUT`.
fn age_decrypt_untar(identity: &Path, ct: &Path, out: &Path) {
    let mut age =
        Command::new(age_bin()).arg("-d").arg("-i").arg(identity).arg(ct).stdout(Stdio::piped()).spawn().unwrap();
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(out)
        .stdin(age.stdout.take().unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(age.wait().unwrap().success(), "age -d failed");
    assert!(tar.status.success(), "tar failed: {}", String::from_utf8_lossy(&tar.stderr));
    assert!(tar.stderr.is_empty(), "tar warned: {}", String::from_utf8_lossy(&tar.stderr));
}

#[test]
fn files_made_by_core_open_with_age_and_tar() {
    let dir = tempfile::tempdir().unwrap();
    let keys = LinkKeys::derive(&LinkSecret::from_bytes([0x42; 32]), None).unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let long_name = format!("deep/{}/file.txt", "n".repeat(150));
    let mut s = Sealer::new(&keys, Vec::new()).unwrap();
    s.add_dir(&SafePath::new("deep").unwrap()).unwrap();
    s.add_file(&SafePath::new("big.bin").unwrap(), big.len() as u64, &big[..]).unwrap();
    s.add_file(&SafePath::new(&long_name).unwrap(), 3, &b"abc"[..]).unwrap();
    s.add_file(&SafePath::new("empty").unwrap(), 0, &b""[..]).unwrap();
    let ct = s.finish().unwrap();
    let ct_path = dir.path().join("payload.age");
    std::fs::write(&ct_path, &ct).unwrap();
    let id = write_identity(dir.path(), &keys);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    age_decrypt_untar(&id, &ct_path, &out);
    assert_eq!(std::fs::read(out.join("big.bin")).unwrap(), big);
    assert_eq!(std::fs::read(out.join(&long_name)).unwrap(), b"abc");
    assert_eq!(std::fs::read(out.join("empty")).unwrap(), b"");
}

#[test]
fn text_made_by_core_opens_with_age_and_tar() {
    let dir = tempfile::tempdir().unwrap();
    let keys = LinkKeys::derive(&LinkSecret::from_bytes([0x43; 32]), None).unwrap();
    let mut s = Sealer::new(&keys, Vec::new()).unwrap();
    s.add_text("the vault code is 0451".as_bytes()).unwrap();
    let ct_path = dir.path().join("payload.age");
    std::fs::write(&ct_path, s.finish().unwrap()).unwrap();
    let id = write_identity(dir.path(), &keys);
    age_decrypt_untar(&id, &ct_path, dir.path());
    assert_eq!(std::fs::read_to_string(dir.path().join("secret.txt")).unwrap(), "the vault code is 0451");
}

#[test]
fn wrong_identity_fails_with_age_too() {
    let dir = tempfile::tempdir().unwrap();
    let keys = LinkKeys::derive(&LinkSecret::from_bytes([0x44; 32]), None).unwrap();
    let mut s = Sealer::new(&keys, Vec::new()).unwrap();
    s.add_text(b"x").unwrap();
    let ct_path = dir.path().join("payload.age");
    std::fs::write(&ct_path, s.finish().unwrap()).unwrap();
    let other = LinkKeys::derive(&LinkSecret::from_bytes([0x45; 32]), None).unwrap();
    let id = write_identity(dir.path(), &other);
    let st = Command::new(age_bin())
        .arg("-d")
        .arg("-i")
        .arg(&id)
        .arg(&ct_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!st.success());
}

#[test]
fn payload_made_by_age_and_gnu_tar_opens_with_core() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    std::fs::write(src.join("sub/b.bin"), vec![9u8; 70_000]).unwrap();
    let keys = LinkKeys::derive(&LinkSecret::from_bytes([0x46; 32]), None).unwrap();
    let tar = Command::new("tar").arg("-c").arg("-C").arg(&src).arg("a.txt").arg("sub").output().unwrap();
    assert!(tar.status.success());
    let mut age = Command::new(age_bin())
        .arg("-e")
        .arg("-r")
        .arg(keys.recipient().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    age.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let ct = age.wait_with_output().unwrap();
    assert!(ct.status.success());
    let mut sink = MemorySink::default();
    open(&ct.stdout[..], &keys, &mut sink).unwrap();
    let mut files: Vec<(&str, usize)> = sink.files.iter().map(|(p, d)| (p.as_str(), d.len())).collect();
    files.sort();
    assert_eq!(files, vec![("a.txt", 5), ("sub/b.bin", 70_000)]);
    assert_eq!(sink.dirs.iter().map(|d| d.as_str()).collect::<Vec<_>>(), vec!["sub"]);
}
