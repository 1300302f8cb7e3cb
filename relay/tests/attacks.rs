//! The relay's promises tried from the attacker's side: someone who holds only a link's id (from an unfurler, a mail
//! scanner, a proxy log or a HAR file) can neither burn the link nor use up its attempts, over QUIC or HTTPS.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use burnlink_client::transport::Claim;
use burnlink_core::keys::{ClaimKey, HolderProof};
use burnlink_core::state::StateKind;
use common::*;
use rand::RngCore;
use tower::ServiceExt;

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

async fn post_claim(app: &axum::Router, id: &str, holder: &[u8; 32], key: &[u8; 32]) -> (StatusCode, Vec<u8>) {
    let body = serde_json::json!({ "holder": B64.encode(holder), "claim_key": B64.encode(key) }).to_string();
    let req = Request::post(format!("/api/v1/links/{id}/claim"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, bytes.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_https_claims_without_the_holder_proof_burn_nothing() {
    let relay = TestRelay::start(test_config()).await;
    let c = relay.client().await;
    let k = link_keys(42);
    let data = payload(3000, 5);
    let id = create(&c, &k, &data).await;
    let app = burnlink_relay::https::router(burnlink_relay::https::HttpState {
        relay: relay.relay.clone(),
        quic_port: relay.ready.quic.port(),
    });
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
