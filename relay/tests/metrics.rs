//! `--metrics`: the operator's counters and latencies over their own listener, and never an id, a token or an
//! address in them.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use burnlink_client::transport::Claim;
use burnlink_core::keys::ClaimKey;
use common::*;

/// `GET /metrics` with a plain HTTP/1.0 request: the status line, the content type and the body.
fn scrape(addr: std::net::SocketAddr) -> (String, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    let (head, body) = all.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_owned();
    let ctype = head.lines().find_map(|l| l.strip_prefix("content-type: ")).unwrap_or_default().to_owned();
    (status, ctype, body.to_owned())
}

/// The value of the sample `name` (with its labels, if any) in `body`.
fn value(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in\n{body}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened_to_links_and_name_none_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = burnlink_relay::Options::new(dir.path());
    opts.config = test_config();
    opts.metrics = Some("127.0.0.1:0".parse().unwrap());
    let relay = TestRelay::start_with(dir, opts).await;
    let addr = relay.ready.metrics.expect("the ready line names the metrics address");
    assert!(addr.ip().is_loopback());
    let c = relay.client().await;

    // Opened to the end; a wrong passphrase; revoked; previewed; left to expire; a request that expires too.
    let (opened, wrong, revoked, idle) = (link_keys(1), link_keys(2), link_keys(3), link_keys(4));
    let data = payload(300_000, 1);
    let id1 = create(&c, &opened, &data).await;
    let (lease, _) = claim_all(&c, id1, &opened).await;
    assert!(c.ack(id1, lease).await.unwrap());
    let id2 = create(&c, &wrong, b"x").await;
    let tried = c.claim(id2, wrong.holder.clone(), ClaimKey::from_bytes([0; 32])).await.unwrap();
    assert!(matches!(tried, Claim::WrongProof { attempts_left: 9 }));
    let id3 = create(&c, &revoked, b"y").await;
    c.revoke(id3, revoked.manage.clone()).await.unwrap().unwrap();
    let id4 = create(&c, &idle, b"z").await;
    let app = relay.router();
    let page = tower::ServiceExt::oneshot(
        app,
        axum::http::Request::get(format!("/o/{id4}")).body(axum::body::Body::empty()).unwrap(),
    );
    assert!(page.await.unwrap().status().is_success());
    let ask = burnlink_core::proto::AskRequest {
        ttl_secs: 3600,
        claim_hash: idle.claim.digest(),
        holder_hash: idle.holder.digest(),
        manage_hash: idle.manage.digest(),
        answer_hash: idle.claim.digest(),
        check: burnlink_core::keys::SecretCheck([0; 16]),
        answers: 1,
    };
    let (request, _) = c.ask(ask).await.unwrap();
    relay.relay.clock.set_offset(Duration::from_secs(2 * 3600));
    relay.relay.sweep().await.unwrap();

    let (status, ctype, body) = scrape(addr);
    assert_eq!(status, "HTTP/1.0 200 OK");
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let counts = [
        ("burnlink_links_created_total", 4.0),
        ("burnlink_requests_created_total", 1.0),
        ("burnlink_links_claimed_total", 1.0),
        ("burnlink_links_consumed_total", 1.0),
        ("burnlink_links_revoked_total", 1.0),
        // The untouched link, the one with a wrong passphrase, and the request.
        ("burnlink_links_expired_total", 3.0),
        ("burnlink_links_burned_by_attempts_total", 0.0),
        ("burnlink_wrong_proofs_total", 1.0),
        ("burnlink_page_previews_total", 1.0),
        ("burnlink_stored_bytes", 0.0),
    ];
    for (name, want) in counts {
        assert_eq!(value(&body, name), want, "{name}");
    }
    assert!(value(&body, "burnlink_request_duration_seconds_count{request=\"claim\"}") >= 2.0);
    assert!(value(&body, "burnlink_request_duration_seconds_count{request=\"create\"}") >= 4.0);
    assert!(value(&body, "burnlink_durable_write_seconds_count") >= 5.0);
    // Nothing that names a link, a token or a client.
    for id in [id1, id2, id3, id4, request] {
        assert!(!body.contains(&id.to_string()), "an id in the metrics");
    }
    for k in [&opened, &wrong, &revoked, &idle] {
        let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
        assert!(!body.contains(&b64(k.manage.expose())) && !body.contains(&b64(k.claim.expose())));
    }
    assert!(!body.contains("127.0.0.1"), "an address in the metrics");
    relay.stop().await;
}
