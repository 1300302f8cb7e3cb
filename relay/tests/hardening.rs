//! Smaller holes from the relay review, each closed: a claim that cannot deliver never burns, the sweeper survives a
//! record it cannot read, and the relay's secrets are private from the moment they exist.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use axum::http::StatusCode;
use burnlink_client::transport::{Claim, Peek, TransportError};
use burnlink_core::link::LinkId;
use burnlink_core::proto::{ErrorCode, Response};
use burnlink_core::state::StateKind;
use burnlink_relay::service::Action;
use common::*;

fn hex(id: &LinkId) -> String {
    id.0.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_whose_content_cannot_be_read_burns_nothing() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(21);
    let id = create(&c, &k, &payload(1 << 20, 1)).await;
    // Storage loses the content of a live link.
    std::fs::remove_file(relay.dir.path().join("blobs").join(hex(&id))).unwrap();

    // Over QUIC: an error that says nothing changed, and the link is still fresh.
    match c.claim(id, k.holder.clone(), k.claim.clone()).await {
        Err(TransportError::Relay { code: ErrorCode::Internal, .. }) => {}
        Ok(Claim::Won { .. }) => panic!("won a claim with no content"),
        other => panic!("{:?}", other.err()),
    }
    // Over HTTPS likewise.
    let (status, _) = post_claim(&relay.router(), &id.to_string(), k.holder.expose(), k.claim.expose()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let s = c.status(id, k.manage.clone()).await.unwrap().unwrap();
    assert_eq!(s.state, StateKind::Fresh, "a claim that could not deliver burned the link");
    assert!(matches!(c.peek(id).await.unwrap(), Peek::Fresh(_)));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_skips_a_record_it_cannot_read_and_sweeps_the_rest() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let mut expiring = Vec::new();
    for i in 0..5u64 {
        let k = link_keys(30 + i);
        let (id, _) = c.create(create_request(&k, 300), &payload(2000, 1)[..], &|_| {}).await.unwrap();
        expiring.push((id, k));
    }
    c.close().await;
    let dir = relay.stop().await;
    // A record that does not decode, sorted before every real one (the sweeper visits records in id order).
    {
        // No periodic flusher thread: it could hold the database's lock a moment after this handle is dropped.
        let config = sled::Config::new().path(dir.path().join("db")).flush_every_ms(None);
        let db = (0..100)
            .find_map(|_| config.open().map_err(|_| std::thread::sleep(Duration::from_millis(50))).ok())
            .expect("the stopped relay let go of its database");
        db.open_tree("links").unwrap().insert([&b"r"[..], &[0u8; 16]].concat(), &b"not a record"[..]).unwrap();
        db.flush().unwrap();
    }
    let relay = TestRelay::start_in(dir, test_config()).await;
    let c = relay.client().await;
    relay.relay.clock.advance(Duration::from_secs(301));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut left = 0;
        for (id, k) in &expiring {
            left += usize::from(c.status(*id, k.manage.clone()).await.unwrap().unwrap().state != StateKind::Expired);
        }
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{left} links never expired: the sweep stopped at the bad record"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(relay.blob_files(), 0);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_dir_and_every_secret_in_it_are_private() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("relay-data");
    // Made beforehand with the usual umask, as `mkdir -p` in a script would.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut opts = burnlink_relay::Options::new(&data);
    opts.config = test_config();
    let server = burnlink_relay::Server::bind(opts).await.unwrap();
    let mode = |p: &str| std::fs::metadata(data.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(""), 0o700, "data dir");
    assert_eq!(mode("blobs"), 0o700);
    assert_eq!(mode("blobs/tmp"), 0o700);
    assert_eq!(mode("keys"), 0o600, "storage keys");
    assert_eq!(mode("relay-key.pem"), 0o600, "TLS key");
    assert_eq!(mode("format"), 0o600);
    // An upload in progress is private too.
    let mut up = server.relay.store().upload(&LinkId([9; 16])).await.unwrap();
    up.write(&vec![0u8; 1 << 20]).await.unwrap();
    let tmp: Vec<_> = std::fs::read_dir(data.join("blobs/tmp")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(tmp.len(), 1);
    assert_eq!(std::fs::metadata(&tmp[0]).unwrap().permissions().mode() & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_for_an_expired_link_takes_the_same_path_as_for_an_unknown_id() {
    let relay = TestRelay::start(test_config_without_sweeper()).await;
    let c = relay.client().await;
    let k = link_keys(50);
    let (id, _) = c.create(create_request(&k, 300), &payload(1 << 20, 1)[..], &|_| {}).await.unwrap();
    relay.relay.clock.advance(Duration::from_secs(301));
    // Not swept yet: the answer to a stranger is the neutral "gone", with no write on its way out...
    for action in [Action::Peek, Action::Claim(k.holder.clone(), k.claim.clone(), Default::default())] {
        let a = relay.relay.apply(id, action).await.unwrap();
        assert!(matches!(a.outcome.reply, Response::Gone));
        assert!(a.outcome.next.is_none() && !a.outcome.drop_content, "the answer waited for a write");
    }
    let unknown = relay.relay.apply(LinkId([0x42; 16]), Action::Peek).await.unwrap();
    assert!(matches!(unknown.outcome.reply, Response::Gone) && unknown.outcome.next.is_none());
    // ...and the link still ends, and its content goes, right after.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while relay.blob_files() > 0 {
        assert!(std::time::Instant::now() < deadline, "the expired link's content was never erased");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.status(id, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Expired);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_would_eat_into_the_disk_reserve_is_refused_as_full() {
    let mut cfg = test_config();
    let probe = tempfile::tempdir().unwrap();
    let st = rustix::fs::statvfs(probe.path()).unwrap();
    cfg.reserve = st.f_bavail * st.f_frsize + (1 << 30); // more than the disk has free
    let relay = TestRelay::start(cfg).await;
    let c = relay.client().await;
    let k = link_keys(51);
    match c.create(create_request(&k, 600), &payload(100_000, 1)[..], &|_| {}).await {
        Err(TransportError::Relay { code: ErrorCode::Full, message }) => {
            assert!(message.contains("disk is nearly out of space"), "{message}")
        }
        other => panic!("{:?}", other.map(|(id, _)| id)),
    }
    assert_eq!(count_files(&relay.dir.path().join("blobs/tmp")), 0);
    assert_eq!(all_records(relay.relay.store().as_ref()).await.len(), 0);
    relay.stop().await;
}

fn test_config_without_sweeper() -> burnlink_relay::Config {
    burnlink_relay::Config { sweep_interval: Duration::from_secs(3600), ..test_config() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_past_its_hourly_bytes_is_told_to_wait() {
    let mut cfg = test_config();
    cfg.bytes_per_hour = 1 << 20;
    let relay = TestRelay::start(cfg).await;
    let c = relay.client().await;
    // The first upload may use the whole budget and more (it is charged as it arrives)...
    create(&c, &link_keys(52), &payload(2 << 20, 1)).await;
    // ...then the address waits until the debt is paid, longer than a client waits on its own.
    match c.create(create_request(&link_keys(53), 600), &payload(1000, 1)[..], &|_| {}).await {
        Err(TransportError::RetryAfter(w)) => assert!(w >= Duration::from_secs(30), "{w:?}"),
        other => panic!("{:?}", other.map(|(id, _)| id)),
    }
    assert_eq!(count_files(&relay.dir.path().join("blobs/tmp")), 0);
    relay.stop().await;
}

/// A source that fails after `after` bytes: the client resets the upload.
struct FailingSource {
    left: usize,
}

impl tokio::io::AsyncRead for FailingSource {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.left == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("the disk went away")));
        }
        let n = buf.remaining().min(self.left).min(64 * 1024);
        buf.put_slice(&vec![7u8; n]);
        self.left -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_the_sender_abandons_leaves_nothing_behind() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let err = c.create(create_request(&link_keys(54), 600), FailingSource { left: 3 << 20 }, &|_| {}).await;
    assert!(err.is_err());
    // The relay notices the reset on its own time: wait (boundedly) for the temp file and the storage key to go.
    let tmp = relay.dir.path().join("blobs/tmp");
    let keys = relay.dir.path().join("keys");
    let no_key = || std::fs::read(&keys).unwrap().iter().all(|&b| b == 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count_files(&tmp) > 0 || !no_key() {
        assert!(std::time::Instant::now() < deadline, "an abandoned upload left its temp file or its storage key");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(relay.blob_files(), 0);
    assert_eq!(all_records(relay.relay.store().as_ref()).await.len(), 0);
    relay.stop().await;
}
