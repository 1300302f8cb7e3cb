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
