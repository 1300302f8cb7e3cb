//! The relay's promises, through a real QUIC connection to an in-process relay.

mod common;

use std::time::Duration;

use burnlink_client::transport::TransportError as Error;
use burnlink_client::transport::{Claim, Peek};
use burnlink_core::keys::ClaimKey;
use burnlink_core::link::LinkId;
use burnlink_core::proto::ErrorCode;
use burnlink_core::state::StateKind;
use common::*;
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_claimers_on_each_of_1000_links_one_winner_each() {
    let relay = TestRelay::start(test_config()).await;
    let creator = relay.client().await;
    let mut links = Vec::new();
    for i in 0..1000u64 {
        let k = link_keys(i);
        let data = payload(100 + (i as usize % 7) * 1000, i as u8);
        let id = create(&creator, &k, &data).await;
        links.push((id, k, data));
    }
    let claimers: Vec<_> = futures_join_all((0..16).map(|_| relay.client())).await;
    let links = std::sync::Arc::new(links);
    let mut winners = vec![0u32; 1000];
    // In batches of 50 links: 800 concurrent claims at a time.
    for batch in 0..20 {
        let mut tasks = Vec::new();
        for (ci, c) in claimers.iter().enumerate() {
            for li in batch * 50..(batch + 1) * 50 {
                let c = c.clone();
                let links = links.clone();
                tasks.push(tokio::spawn(async move {
                    let (id, k, data) = &links[li];
                    match c.claim(*id, k.holder.clone(), k.claim.clone()).await.unwrap() {
                        Claim::Won { body, .. } => {
                            let got = read_body(body).await;
                            assert!(&got == data, "winner of link {li} (claimer {ci}) got incomplete bytes");
                            (li, true)
                        }
                        Claim::Gone => (li, false),
                        Claim::WrongProof { .. } => panic!("right key refused"),
                    }
                }));
            }
        }
        for t in tasks {
            let (li, won) = t.await.unwrap();
            winners[li] += u32::from(won);
        }
    }
    let bad: Vec<_> = winners.iter().enumerate().filter(|(_, &w)| w != 1).collect();
    assert!(bad.is_empty(), "links without exactly one winner: {bad:?}");
    relay.stop().await;
}

async fn futures_join_all<F: std::future::Future>(it: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    for f in it {
        out.push(f.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_download_resumes_with_the_lease_and_nobody_else_gets_in() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(1);
    let data = payload(4 << 20, 3); // file-backed blob
    let id = create(&c, &k, &data).await;
    assert_eq!(relay.blob_files(), 1);

    // Claim on a connection that dies at 50 %.
    let dying = relay.client().await;
    let Claim::Won { lease, body, .. } = dying.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap() else {
        panic!()
    };
    let mut half = vec![0u8; data.len() / 2];
    body.into_reader().read_exact(&mut half).await.unwrap();
    dying.close().await;

    // Another claimer, even with the right key, is gone during the lease.
    assert!(matches!(c.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap(), Claim::Gone));
    assert!(matches!(c.peek(id).await.unwrap(), Peek::Gone));
    // A wrong lease cannot resume.
    let wrong = burnlink_core::keys::LeaseToken::from_bytes([9; 32]);
    assert!(c.resume(id, wrong, 0).await.unwrap().is_none());

    // The lease holder resumes from where it was cut.
    let body = c.resume(id, lease.clone(), half.len() as u64).await.unwrap().unwrap();
    assert_eq!(body.offset, half.len() as u64);
    let rest = read_body(body).await;
    half.extend_from_slice(&rest);
    assert!(half == data);
    assert!(c.ack(id, lease.clone()).await.unwrap());
    // CONSUMED is durable when the ack is answered; the erase follows at once, off the answer's path.
    relay.wait_no_blob_files().await;
    assert!(!c.ack(id, lease).await.unwrap());
    let s = c.status(id, k.manage.clone()).await.unwrap().unwrap();
    assert_eq!(s.state, StateKind::Consumed);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_runs_out_ends_consumed_and_deletes_the_ciphertext() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(2);
    let id = create(&c, &k, &payload(1 << 20, 1)).await;
    let Claim::Won { lease, .. } = c.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap() else { panic!() };
    relay.relay.clock.advance(relay.relay.config.lease + Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(400)).await; // sweeper runs every 100 ms
    assert_eq!(relay.blob_files(), 0);
    assert!(c.resume(id, lease, 0).await.unwrap().is_none());
    assert_eq!(c.status(id, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Consumed);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_download_keeps_its_lease_while_bytes_flow() {
    use burnlink_core::proto::{Request, Response};
    use burnlink_core::state::State;
    use futures_util::StreamExt;

    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(3);
    let data = payload(1 << 20, 3);
    let id = create(&c, &k, &data).await;
    let r = &relay.relay;
    let until = || async {
        match r.store().get(&id).await.unwrap().unwrap().state {
            State::Claimed { until, .. } => until,
            other => panic!("{other:?}"),
        }
    };
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let answer =
        r.handle(ip, Request::Claim { id, holder: k.holder.clone(), key: k.claim.clone(), via: None }, None).await;
    assert!(matches!(answer.response, Response::Claimed { .. }));
    let mut body = answer.body.unwrap();
    let first_lease = until().await;
    let mut got = body.next().await.unwrap().unwrap().to_vec();
    // Six minutes on, the recipient is still reading: the lease is extended to ten minutes from now.
    r.clock.advance(Duration::from_secs(6 * 60));
    let extended_to = r.clock.now().plus(r.config.lease);
    got.extend_from_slice(&body.next().await.unwrap().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while until().await == first_lease {
        assert!(std::time::Instant::now() < deadline, "the lease was never extended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let extended = until().await;
    assert!(extended >= extended_to && extended.0 < extended_to.0 + 10_000, "{extended:?} vs {extended_to:?}");
    // Twelve minutes after the claim, past the first lease, the sweeper leaves it alone and the download completes.
    r.clock.advance(Duration::from_secs(6 * 60));
    tokio::time::sleep(Duration::from_millis(400)).await; // the sweeper runs every 100 ms
    assert_eq!(c.status(id, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Claimed);
    while let Some(chunk) = body.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got.len(), data.len());
    // A download that stalls gets no extension: ten minutes after its last bytes, the lease ends.
    r.clock.advance(r.config.lease);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(c.status(id, k.manage.clone()).await.unwrap().unwrap().state, StateKind::Consumed);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_and_revoke_make_content_unreachable_and_delete_it() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let (ke, kr, ks) = (link_keys(3), link_keys(4), link_keys(5));
    let expiring = c.create(create_request(&ke, 300), &payload(1 << 20, 1)[..], &|_| {}).await.unwrap().0;
    let revoked = create(&c, &kr, &payload(1 << 20, 2)).await;
    let small = create(&c, &ks, b"tiny inline secret").await;
    assert_eq!(relay.blob_files(), 2);

    let s = c.revoke(revoked, kr.manage.clone()).await.unwrap().unwrap();
    assert_eq!(s.state, StateKind::Revoked);
    assert!(c.revoke(revoked, ke.manage.clone()).await.unwrap().is_none(), "another sender's token is refused");
    assert_eq!(c.revoke(small, ks.manage.clone()).await.unwrap().unwrap().state, StateKind::Revoked);
    assert_eq!(relay.blob_files(), 1);
    assert!(!has_content(relay.relay.store().as_ref(), &small).await, "inline blob deleted");

    relay.relay.clock.advance(Duration::from_secs(301));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(relay.blob_files(), 0, "expired ciphertext deleted by the sweeper");
    for (id, k) in [(expiring, &ke), (revoked, &kr), (small, &ks)] {
        assert!(matches!(c.peek(id).await.unwrap(), Peek::Gone));
        assert!(matches!(c.claim(id, k.holder.clone(), k.claim.clone()).await.unwrap(), Claim::Gone));
    }
    assert_eq!(c.status(expiring, ke.manage.clone()).await.unwrap().unwrap().state, StateKind::Expired);

    // Tombstones outlive expiry by seven days, then go.
    relay.relay.clock.advance(Duration::from_secs(7 * 24 * 3600));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(c.status(expiring, ke.manage.clone()).await.unwrap().is_none());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nine_wrong_proofs_keep_the_link_the_tenth_burns_it() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let (k1, k2) = (link_keys(6), link_keys(7));
    let data = payload(5000, 1);
    let keep = create(&c, &k1, &data).await;
    let burn = create(&c, &k2, &data).await;
    let wrong = ClaimKey::from_bytes([0xee; 32]);
    for i in 1..=9u8 {
        for (id, k) in [(keep, &k1), (burn, &k2)] {
            match c.claim(id, k.holder.clone(), wrong.clone()).await.unwrap() {
                Claim::WrongProof { attempts_left } => assert_eq!(attempts_left, 10 - i),
                _ => panic!("wrong key accepted"),
            }
        }
    }
    let (_, got) = claim_all(&c, keep, &k1).await;
    assert_eq!(got, data, "nine wrong proofs did not burn the link");
    assert!(matches!(c.claim(burn, k2.holder.clone(), wrong).await.unwrap(), Claim::WrongProof { attempts_left: 0 }));
    assert!(matches!(c.claim(burn, k2.holder.clone(), k2.claim.clone()).await.unwrap(), Claim::Gone));
    let s = c.status(burn, k2.manage.clone()).await.unwrap().unwrap();
    assert_eq!((s.state, s.failed_attempts), (StateKind::BurnedByAttempts, 10));
    assert!(!has_content(relay.relay.store().as_ref(), &burn).await);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_upload_is_refused_and_leaves_nothing() {
    let mut cfg = test_config();
    cfg.max_upload = 3 << 20;
    let relay = TestRelay::start(cfg).await;
    let c = relay.client().await;
    let k = link_keys(8);
    let err = c.create(create_request(&k, 600), &payload(8 << 20, 1)[..], &|_| {}).await.unwrap_err();
    match err {
        Error::Relay { code: ErrorCode::TooLarge, message } => assert!(message.contains("larger"), "{message}"),
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count_files(&relay.dir.path().join("blobs/tmp")), 0);
    assert_eq!(relay.blob_files(), 0);
    assert_eq!(all_records(relay.relay.store().as_ref()).await.len(), 0);
    // The connection still works, and exactly the limit is accepted.
    create(&c, &k, &payload(3 << 20, 1)).await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ttl_is_refused() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(9);
    let err = c.create(create_request(&k, 60), &b"x"[..], &|_| {}).await.unwrap_err();
    assert!(matches!(err, Error::Relay { code: ErrorCode::BadRequest, .. }), "{err:?}");
    assert_eq!(all_records(relay.relay.store().as_ref()).await.len(), 0);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_is_one_answer_for_unknown_consumed_expired_and_revoked() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let (a, b, d) = (link_keys(10), link_keys(11), link_keys(12));
    let consumed = create(&c, &a, b"a").await;
    let (lease, _) = claim_all(&c, consumed, &a).await;
    c.ack(consumed, lease).await.unwrap();
    let revoked = create(&c, &b, b"b").await;
    c.revoke(revoked, b.manage.clone()).await.unwrap();
    let expired = c.create(create_request(&d, 300), &b"d"[..], &|_| {}).await.unwrap().0;
    relay.relay.clock.advance(Duration::from_secs(301));
    let unknown = LinkId([0x55; 16]);
    for id in [unknown, consumed, revoked, expired] {
        assert!(matches!(c.peek(id).await.unwrap(), Peek::Gone));
        assert!(matches!(c.claim(id, a.holder.clone(), a.claim.clone()).await.unwrap(), Claim::Gone));
        assert!(c.status(id, d.manage.clone()).await.unwrap().is_none() || id == expired);
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reports_claim_and_consumption() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(13);
    let id = create(&c, &k, b"watched").await;
    let mut w = c.watch(id, k.manage.clone()).await.unwrap();
    assert_eq!(w.next().await.unwrap().unwrap().state, StateKind::Fresh);
    let receiver = relay.client().await;
    let (lease, _) = claim_all(&receiver, id, &k).await;
    let s = tokio::time::timeout(Duration::from_secs(5), w.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(s.state, StateKind::Claimed);
    assert!(s.claimed_at.is_some());
    receiver.ack(id, lease).await.unwrap();
    let s = tokio::time::timeout(Duration::from_secs(5), w.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(s.state, StateKind::Consumed);
    assert!(w.next().await.unwrap().is_none(), "watch ends at an end state");
    // A watch with a wrong token learns nothing.
    let mut w = c.watch(id, link_keys(99).manage).await.unwrap();
    assert!(w.next().await.unwrap().is_none());
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_budget_an_address_is_told_to_wait_and_the_client_does() {
    let mut cfg = test_config();
    cfg.rate_per_sec = 1.0;
    cfg.rate_burst = 5;
    let relay = TestRelay::start(cfg).await;
    let c = relay.client().await;
    let id = LinkId([1; 16]);
    let t = std::time::Instant::now();
    for _ in 0..5 {
        assert!(matches!(c.peek(id).await.unwrap(), Peek::Gone));
    }
    let burst = t.elapsed();
    assert!(burst < Duration::from_millis(500), "the burst is served at once: {burst:?}");
    // The sixth is answered "retry after" (about a second less the refill): the client waits and gets its answer.
    let t = std::time::Instant::now();
    assert!(matches!(c.peek(id).await.unwrap(), Peek::Gone));
    assert!(t.elapsed() >= Duration::from_millis(400), "no wait: {:?}", t.elapsed());

    // Over HTTPS the same budget is a 429 with Retry-After, which the page honours.
    let app = relay.router();
    let mut last = None;
    for _ in 0..10 {
        let req = axum::http::Request::get(format!("/api/v1/links/{id}")).body(axum::body::Body::empty()).unwrap();
        let resp = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
        if resp.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
            last = Some(resp);
            break;
        }
    }
    let resp = last.expect("a 429 after the burst");
    assert!(resp.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_limited() {
    let mut cfg = test_config();
    cfg.max_conns_per_ip = 2;
    let relay = TestRelay::start(cfg).await;
    let a = relay.client().await;
    let b = relay.client().await;
    let trust = burnlink_client::Trust::from_pem_file(&relay.ready.ca).unwrap();
    let third = burnlink_client::RelayClient::connect_addr(relay.ready.quic, "localhost", &trust).await;
    assert!(third.is_err(), "third connection admitted");
    a.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let again = burnlink_client::RelayClient::connect_addr(relay.ready.quic, "localhost", &trust).await;
    assert!(again.is_ok(), "slot not given back");
    drop(b);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_a_tls_error() {
    let relay = TestRelay::start(test_config()).await;
    let err =
        burnlink_client::RelayClient::connect_addr(relay.ready.quic, "localhost", &burnlink_client::Trust::WebPki)
            .await
            .err()
            .unwrap();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    relay.stop().await;
}

#[tokio::test]
async fn a_plain_claim_opens_at_once_and_only_peeks_at_a_passphrase_link() {
    use burnlink_client::transport::PlainClaim;
    use burnlink_core::keys::{KdfParams, PublicMeta, SecretCheck};
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let plain = link_keys(71);
    let data = payload(5000, 3);
    let id = create(&c, &plain, &data).await;
    let PlainClaim::Claim(Claim::Won { body, .. }) =
        c.claim_plain(id, plain.holder.clone(), plain.claim.clone()).await.unwrap()
    else {
        panic!("a link without a passphrase is claimed in one round trip")
    };
    assert!(read_body(body).await == data);

    // A passphrase link: the plain claim (whose claim key lacks the passphrase) gets the peek's answer and costs
    // no attempt, however often it comes.
    let guarded = link_keys(72);
    let mut req = create_request(&guarded, 600);
    req.meta =
        PublicMeta { check: SecretCheck([7; 16]), kdf: Some(KdfParams { salt: [2; 16], m_kib: 65536, t: 3, p: 4 }) };
    let (id, _) = c.create(req, &data[..], &|_| {}).await.unwrap();
    for _ in 0..12 {
        let wrong = ClaimKey::from_bytes([0xee; 32]);
        match c.claim_plain(id, guarded.holder.clone(), wrong).await.unwrap() {
            PlainClaim::NeedsPassphrase(info) => assert!(info.meta.kdf.is_some()),
            PlainClaim::Claim(_) => panic!("a passphrase link was claimed without its passphrase"),
        }
    }
    let s = c.status(id, guarded.manage.clone()).await.unwrap().unwrap();
    assert_eq!((s.state, s.failed_attempts), (StateKind::Fresh, 0));
    let (_, got) = claim_all(&c, id, &guarded).await;
    assert!(got == data, "the right claim still opens it");
}
