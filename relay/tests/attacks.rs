//! The relay's promises tried from the attacker's side: someone who holds only a link's id (from an unfurler, a mail
//! scanner, a proxy log or a HAR file) can neither burn the link nor use up its attempts, over QUIC or HTTPS; and
//! thousands of slow connections from one address cannot shut out another.

mod common;

use axum::http::StatusCode;
use burnlink_client::transport::Claim;
use burnlink_core::keys::{ClaimKey, HolderProof};
use burnlink_core::state::StateKind;
use common::*;
use rand::RngCore;
use rustls::pki_types::pem::PemObject;

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_quic_claims_without_the_holder_proof_burn_nothing() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(41);
    let data = payload(3000, 4);
    let id = create(&c, &k, &data).await;

    // 500 random guesses, and 500 with the right claim key but no holder proof: none may count.
    for i in 0..1000 {
        let key = if i % 2 == 0 { ClaimKey::from_bytes(random32()) } else { k.claim.clone() };
        match c.claim(id, HolderProof::from_bytes(random32()), key).await.unwrap() {
            Claim::Gone => {}
            Claim::Won { .. } => panic!("claim {i} won without the holder proof"),
            Claim::WrongProof { .. } => panic!("claim {i} without the holder proof was counted"),
        }
    }
    let s = c.status(id, k.manage.clone()).await.unwrap().unwrap();
    assert_eq!((s.state, s.failed_attempts), (StateKind::Fresh, 0));
    let (_, got) = claim_all(&c, id, &k).await;
    assert_eq!(got, data, "the link still opens for its holder");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_https_claims_without_the_holder_proof_burn_nothing() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(42);
    let data = payload(3000, 5);
    let id = create(&c, &k, &data).await;
    let app = relay.router();
    let gone = {
        let (s, b) = post_claim(&app, "AAAAAAAAAAAAAAAAAAAAAA", &random32(), &random32()).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        b
    };
    for i in 0..1000 {
        let key = if i % 2 == 0 { random32() } else { *k.claim.expose() };
        let (status, body) = post_claim(&app, &id.to_string(), &random32(), &key).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "claim {i}");
        assert_eq!(body, gone, "a stranger gets the same answer as for an unknown id");
    }
    let s = c.status(id, k.manage.clone()).await.unwrap().unwrap();
    assert_eq!((s.state, s.failed_attempts), (StateKind::Fresh, 0));

    // The holder with a wrong claim key (a wrong passphrase) is counted; with the right one it opens.
    let (status, body) = post_claim(&app, &id.to_string(), k.holder.expose(), &random32()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["attempts_left"], 9);
    let (status, body) = post_claim(&app, &id.to_string(), k.holder.expose(), k.claim.expose()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, data);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_slow_connections_from_one_address_do_not_shut_out_another() {
    let mut cfg = test_config();
    cfg.max_conns_per_ip = burnlink_relay::Config::default().max_conns_per_ip;
    let relay = TestRelay::start(cfg).await;
    let attacker: std::net::IpAddr = "127.0.0.2".parse().unwrap();

    // 5,000 TCP connections that never say a word (slowloris), and QUIC connections that sit idle, all from
    // 127.0.0.2.
    let mut slow = Vec::new();
    for _ in 0..5000 {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(std::net::SocketAddr::new(attacker, 0)).unwrap();
        slow.push(s.connect(relay.ready.https).await.unwrap());
    }
    let mut quic = Vec::new();
    let mut refused = 0;
    for _ in 0..100 {
        let mut ep = quinn::Endpoint::client(std::net::SocketAddr::new(attacker, 0)).unwrap();
        ep.set_default_client_config(quic_client_config(&relay));
        match ep.connect(relay.ready.quic, "localhost").unwrap().await {
            Ok(c) => quic.push((ep, c)),
            Err(_) => refused += 1,
        }
    }
    assert!(refused >= 100 - 64, "only {refused} of 100 QUIC connections from one address were refused");

    // Meanwhile 127.0.0.1 creates and opens a link over QUIC, and peeks one over HTTPS, promptly.
    let t = std::time::Instant::now();
    let c = relay.client().await;
    let k = link_keys(77);
    let id = create(&c, &k, b"still served").await;
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "10", "--cacert"])
        .arg(&relay.ready.ca)
        .arg(format!("https://127.0.0.1:{}/api/v1/links/{id}", relay.ready.https.port()))
        .output()
        .expect("curl is installed (scripts/install-deps)");
    assert!(out.status.success(), "HTTPS from another address failed: {}", String::from_utf8_lossy(&out.stderr));
    let (_, got) = claim_all(&c, id, &k).await;
    assert_eq!(got, b"still served");
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "the honest address waited {:?}", t.elapsed());

    // The slow connections past the address's limit were closed at once, not left to hold the relay's resources.
    let mut closed = 0;
    for s in &mut slow {
        let mut b = [0u8; 1];
        let r = tokio::time::timeout(std::time::Duration::from_millis(1), tokio::io::AsyncReadExt::read(s, &mut b));
        if matches!(r.await, Ok(Ok(0)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert!(closed >= 5000 - 64, "only {closed} of 5,000 slow connections were closed");
    drop(quic);
    relay.stop().await;
}

fn quic_client_config(relay: &TestRelay) -> quinn::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(&relay.ready.ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let mut tls =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    tls.alpn_protocols = vec![burnlink_core::proto::ALPN.to_vec()];
    quinn::ClientConfig::new(std::sync::Arc::new(quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap()))
}

/// A source that fails: an upload cut off by its sender.
struct Broken;

impl tokio::io::AsyncRead for Broken {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Err(std::io::Error::other("the sender's disk failed")))
    }
}

/// An answer to `request` with `proof`.
fn answer_request(
    k: &LinkKeys,
    request: burnlink_core::link::LinkId,
    proof: [u8; 32],
) -> burnlink_core::proto::CreateRequest {
    let proof = burnlink_core::keys::AnswerProof::from_bytes(proof);
    burnlink_core::proto::CreateRequest {
        answer: Some(burnlink_core::proto::AnswerTo { request, proof }),
        ..create_request(k, 3600)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_takes_exactly_the_answers_it_asked_for_from_a_crowd_and_none_from_an_id_alone() {
    use burnlink_client::transport::TransportError;
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let asker = link_keys(77);
    let proof = random32();
    let ask = burnlink_core::proto::AskRequest {
        ttl_secs: 3600,
        claim_hash: asker.claim.digest(),
        holder_hash: asker.holder.digest(),
        manage_hash: asker.manage.digest(),
        answer_hash: burnlink_core::keys::AnswerProof::from_bytes(proof).digest(),
        check: burnlink_core::keys::SecretCheck([7; 16]),
        answers: 3,
    };
    let (request, _) = c.ask(ask).await.unwrap();

    // Someone who holds only the id: 200 answers with made-up proofs, each refused as "gone" before its body is
    // stored, and none of them uses up an answer. Nor can anyone peek at, claim or list the request.
    for i in 0..200 {
        let sent = c.create(answer_request(&link_keys(i), request, random32()), &payload(2000, 1)[..], &|_| {}).await;
        assert!(matches!(sent, Err(TransportError::Gone)), "answer {i}: {sent:?}");
    }
    assert!(matches!(c.peek(request).await.unwrap(), burnlink_client::transport::Peek::Gone));
    assert!(matches!(c.claim(request, asker.holder.clone(), asker.claim.clone()).await.unwrap(), Claim::Gone));
    assert!(c.answers(request, HolderProof::from_bytes(random32())).await.unwrap().is_none());
    let list = c.answers(request, asker.holder.clone()).await.unwrap().unwrap();
    assert_eq!((list.state, list.left, list.answers.len()), (StateKind::Asking, 3, 0));
    assert_eq!(relay.blob_files(), 0, "a refused answer leaves nothing behind");

    // An answer whose upload breaks off (its sender's connection or file failed) takes no place.
    let head = payload(300_000, 2);
    let cut = tokio::io::AsyncReadExt::chain(&head[..], Broken);
    let sent = c.create(answer_request(&link_keys(900), request, proof), cut, &|_| {}).await;
    assert!(sent.is_err());
    let list = c.answers(request, asker.holder.clone()).await.unwrap().unwrap();
    assert_eq!((list.left, list.answers.len()), (3, 0), "a cut-off answer uses up nothing");

    // Sixteen holders of the request link answer at once: exactly three get in.
    let mut crowd = Vec::new();
    for i in 0..16u8 {
        let c = relay.client().await;
        crowd.push(tokio::spawn(async move {
            let data = payload(70_000, i);
            let r = c.create(answer_request(&link_keys(1000 + u64::from(i)), request, proof), &data[..], &|_| {}).await;
            (r.map(|(id, _)| id), data)
        }));
    }
    let mut taken = Vec::new();
    for task in crowd {
        match task.await.unwrap() {
            (Ok(id), data) => taken.push((id, data)),
            (Err(TransportError::Gone), _) => {}
            (Err(e), _) => panic!("{e}"),
        }
    }
    assert_eq!(taken.len(), 3, "a request for three answers took {}", taken.len());
    // The thirteen that lost left nothing: the request and its three answers are all the relay holds.
    assert_eq!(all_records(relay.relay.store().as_ref()).await.len(), 4);

    // They survive a restart (a request holds no content of its own, and the start-up clean-up must keep it), and
    // each opens once, with the request's keys, to exactly what its sender sent.
    drop(c);
    let relay = TestRelay::start_in(relay.stop().await, test_config()).await;
    let c = relay.client().await;
    let list = c.answers(request, asker.holder.clone()).await.unwrap().unwrap();
    let mut listed: Vec<_> = list.answers.iter().map(|a| a.id).collect();
    let mut ids: Vec<_> = taken.iter().map(|(id, _)| *id).collect();
    listed.sort();
    ids.sort();
    assert_eq!((list.left, listed), (0, ids));
    for (id, data) in &taken {
        let (_, got) = claim_all(&c, *id, &asker).await;
        assert_eq!(&got, data);
    }
    let list = c.answers(request, asker.holder.clone()).await.unwrap().unwrap();
    assert!(list.answers.iter().all(|a| a.state == StateKind::Claimed || a.state == StateKind::Consumed), "{list:?}");
    relay.stop().await;
}
