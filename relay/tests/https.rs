//! The HTTPS API in-process (tower `oneshot` on the router, no TLS): every route's mapping of the one request path to
//! status codes, headers and JSON, and the rules no browser test can pin down as precisely.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use common::*;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    app: axum::Router,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }
}

impl Api {
    fn new(relay: &TestRelay) -> Self {
        Self { app: relay.router() }
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        let req = Request::post(path).header("content-type", "application/json").body(Body::from(body.to_string()));
        self.send(req.unwrap()).await
    }

    async fn create(&self, k: &LinkKeys, ttl: u32, data: &[u8]) -> Answer {
        let req = Request::post("/api/v1/links")
            .header("content-type", "application/octet-stream")
            .header("burnlink-ttl", ttl.to_string())
            .header("burnlink-claim-hash", B64.encode(k.claim.digest().0))
            .header("burnlink-holder-hash", B64.encode(k.holder.digest().0))
            .header("burnlink-manage-hash", B64.encode(k.manage.digest().0))
            .header("burnlink-check", B64.encode([7u8; 16]))
            .body(Body::from(data.to_vec()))
            .unwrap();
        self.send(req).await
    }
}

fn claim_body(k: &LinkKeys) -> Value {
    json!({ "holder": B64.encode(k.holder.expose()), "claim_key": B64.encode(k.claim.expose()) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_peek_claim_resume_ack_status_through_the_router() {
    let relay = TestRelay::start(test_config()).await;
    let api = Api::new(&relay);
    let k = link_keys(60);
    let data = payload(200_000, 9);
    let made = api.create(&k, 3600, &data).await;
    assert_eq!(made.status, StatusCode::CREATED);
    let id = made.json()["id"].as_str().unwrap().to_owned();

    let peek = api.get(&format!("/api/v1/links/{id}")).await;
    assert_eq!(peek.status, StatusCode::OK);
    assert_eq!(peek.json()["size"], data.len());
    assert_eq!(peek.json()["meta"]["check"], B64.encode([7u8; 16]));
    // HEAD and GET change nothing.
    let head = api.send(Request::head(format!("/api/v1/links/{id}")).body(Body::empty()).unwrap()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(api.get(&format!("/o/{id}")).await.status, StatusCode::OK);

    let claimed = api.post(&format!("/api/v1/links/{id}/claim"), claim_body(&k)).await;
    assert_eq!(claimed.status, StatusCode::OK);
    assert_eq!(claimed.body, data);
    assert_eq!(claimed.headers[header::CONTENT_LENGTH], data.len().to_string().as_str());
    assert_eq!(claimed.headers["burnlink-size"], data.len().to_string().as_str());
    let lease = claimed.headers["burnlink-lease"].to_str().unwrap().to_owned();

    // A second claimer gets the neutral answer; the lease holder resumes from an offset.
    assert_eq!(api.post(&format!("/api/v1/links/{id}/claim"), claim_body(&k)).await.status, StatusCode::NOT_FOUND);
    let resumed = api.post(&format!("/api/v1/links/{id}/resume"), json!({ "lease": lease, "offset": 150_000 })).await;
    assert_eq!(resumed.status, StatusCode::OK);
    assert_eq!(resumed.body, data[150_000..]);
    let wrong_lease = B64.encode([1u8; 32]);
    let stolen = api.post(&format!("/api/v1/links/{id}/resume"), json!({ "lease": wrong_lease, "offset": 0 })).await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);

    let manage = B64.encode(k.manage.expose());
    let st = api.post(&format!("/api/v1/links/{id}/status"), json!({ "manage": manage })).await;
    assert_eq!(st.json()["state"], "claimed");
    assert_eq!(api.post(&format!("/api/v1/links/{id}/ack"), json!({ "lease": lease })).await.status, StatusCode::OK);
    let st = api.post(&format!("/api/v1/links/{id}/status"), json!({ "manage": manage })).await;
    assert_eq!(st.json()["state"], "consumed");
    relay.wait_no_blob_files().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_map_to_clear_status_codes_and_store_nothing() {
    let mut cfg = test_config();
    cfg.max_upload = 100_000;
    let relay = TestRelay::start(cfg).await;
    let api = Api::new(&relay);
    let k = link_keys(61);

    let bad_ttl = api.create(&k, 60, b"x").await;
    assert_eq!((bad_ttl.status, bad_ttl.json()["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let big = api.create(&k, 3600, &payload(100_001, 1)).await;
    assert_eq!((big.status, big.json()["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
    // KDF parameters no client would accept are refused before the body, on this path as on QUIC.
    let req = Request::post("/api/v1/links")
        .header("burnlink-ttl", "3600")
        .header("burnlink-claim-hash", B64.encode([1u8; 32]))
        .header("burnlink-holder-hash", B64.encode([1u8; 32]))
        .header("burnlink-manage-hash", B64.encode([1u8; 32]))
        .header("burnlink-check", B64.encode([1u8; 16]))
        .header("burnlink-kdf", format!("{}.{}.3.4", B64.encode([0u8; 16]), 1 << 30))
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(api.send(req).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(count_files(&relay.dir.path().join("blobs/tmp")), 0);
    assert_eq!(all_records(relay.relay.store().as_ref()).await.len(), 0);

    // A cross-site POST never reaches a handler.
    let cross = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA/claim")
        .header("content-type", "application/json")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(claim_body(&k).to_string()))
        .unwrap();
    assert_eq!(api.send(cross).await.status, StatusCode::FORBIDDEN);
    // Unknown and malformed ids get the same neutral answer.
    let a = api.get("/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA").await;
    let b = api.get("/api/v1/links/not-an-id").await;
    assert_eq!((a.status, &a.body), (StatusCode::NOT_FOUND, &b.body));
    for h in ["content-security-policy", "referrer-policy", "cache-control", "x-content-type-options"] {
        assert!(a.headers.contains_key(h), "{h} missing on an API answer");
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_drips_in_is_cut_off_at_the_deadline() {
    let mut cfg = test_config();
    cfg.request_deadline = std::time::Duration::from_millis(300);
    let relay = TestRelay::start(cfg).await;
    let api = Api::new(&relay);
    // A claim whose body never finishes arriving.
    let never = futures_util::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
    let req = Request::post("/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA/claim")
        .header("content-type", "application/json")
        .body(Body::from_stream(never))
        .unwrap();
    let t = std::time::Instant::now();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), api.send(req)).await.expect("still waiting");
    assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT);
    assert!(t.elapsed() < std::time::Duration::from_secs(2));
    relay.stop().await;
}

/// The sender's event log: page fetches are counted (GET only, never HEAD, never for an id without a link), the
/// wrong passphrase and the claim's kind of client are kept, and none of it changes the link. Counts wait in memory
/// and are added to the store in batches, and a status in between counts each fetch exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_log_counts_page_fetches_and_says_what_claimed() {
    let relay = TestRelay::start(test_config()).await;
    let api = Api::new(&relay);
    let k = link_keys(61);
    let id = api.create(&k, 3600, &payload(1000, 1)).await.json()["id"].as_str().unwrap().to_owned();
    let manage = B64.encode(k.manage.expose());
    let status = || async { api.post(&format!("/api/v1/links/{id}/status"), json!({ "manage": manage })).await.json() };
    let stranger = B64.encode([9u8; 16]);
    for _ in 0..3 {
        assert_eq!(api.get(&format!("/o/{id}")).await.status, StatusCode::OK);
        assert_eq!(api.get(&format!("/o/{stranger}")).await.status, StatusCode::OK);
    }
    let head = api.send(Request::head(format!("/o/{id}")).body(Body::empty()).unwrap()).await;
    assert_eq!(head.status, StatusCode::OK);
    let st = status().await;
    assert_eq!((st["state"].as_str(), st["previews"].as_u64()), (Some("fresh"), Some(3)), "{st}");
    assert_eq!(
        st["events"],
        json!([{ "event": "created", "at": st["created_at"] }, { "event": "previewed", "count": 3 }])
    );

    relay.relay.flush_previews().await.unwrap();
    let link: burnlink_core::link::LinkId = id.parse().unwrap();
    assert_eq!(relay.relay.store().previews(&link).await.unwrap(), 3);
    let unknown: burnlink_core::link::LinkId = stranger.parse().unwrap();
    assert_eq!(relay.relay.store().previews(&unknown).await.unwrap(), 0, "no count kept for an id without a link");
    assert_eq!(status().await["previews"], 3, "flushed counts are not counted twice");

    let wrong = json!({ "holder": B64.encode(k.holder.expose()), "claim_key": B64.encode([1u8; 32]) });
    assert_eq!(api.post(&format!("/api/v1/links/{id}/claim"), wrong).await.status, StatusCode::FORBIDDEN);
    let claimed = api.post(&format!("/api/v1/links/{id}/claim"), claim_body(&k)).await;
    let lease = claimed.headers["burnlink-lease"].to_str().unwrap().to_owned();
    assert_eq!(api.post(&format!("/api/v1/links/{id}/ack"), json!({ "lease": lease })).await.status, StatusCode::OK);
    let st = status().await;
    assert_eq!(st["claimed_via"], "browser");
    let names: Vec<_> = st["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["created", "previewed", "wrong_passphrase", "claimed", "consumed"], "{st}");
    assert_eq!(st["events"][2]["count"], 1);
    assert_eq!((&st["events"][3]["client"], &st["events"][3]["at"]), (&json!("browser"), &st["claimed_at"]));
    assert_eq!(st["events"][4]["at"], st["ended_at"]);

    // The count goes with the tombstone.
    relay.relay.clock.advance(std::time::Duration::from_secs(9 * 24 * 3600));
    relay.relay.sweep().await.unwrap();
    assert!(relay.relay.store().get(&link).await.unwrap().is_none());
    assert_eq!(relay.relay.store().previews(&link).await.unwrap(), 0);
    relay.stop().await;
}

/// A count read while a flush is on its way to the store sees every fetch exactly once: none lost in flight, none
/// counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_counts_stay_exact_while_flushes_run() {
    let relay = TestRelay::start(test_config()).await;
    let api = Api::new(&relay);
    let k = link_keys(62);
    let id = api.create(&k, 3600, &payload(1000, 2)).await.json()["id"].as_str().unwrap().to_owned();
    let manage = B64.encode(k.manage.expose());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flusher = tokio::spawn({
        let (relay, stop) = (relay.relay.clone(), stop.clone());
        async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                relay.flush_previews().await.unwrap();
                tokio::task::yield_now().await;
            }
        }
    });
    for n in 1..=200u64 {
        assert_eq!(api.get(&format!("/o/{id}")).await.status, StatusCode::OK);
        let st = api.post(&format!("/api/v1/links/{id}/status"), json!({ "manage": manage })).await.json();
        assert_eq!(st["previews"].as_u64(), Some(n), "after {n} fetches");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flusher.await.unwrap();
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_sender_makes_several_recipients_links_and_answers_requests_through_headers() {
    let relay = TestRelay::start(test_config()).await;
    let api = Api::new(&relay);
    let (a, b) = (link_keys(70), link_keys(71));
    let data = payload(5000, 3);
    let create = |extra: String| {
        Request::post("/api/v1/links")
            .header("burnlink-ttl", "3600")
            .header("burnlink-claim-hash", B64.encode(a.claim.digest().0))
            .header("burnlink-holder-hash", B64.encode(a.holder.digest().0))
            .header("burnlink-manage-hash", B64.encode(a.manage.digest().0))
            .header("burnlink-check", B64.encode([7u8; 16]))
            .header("burnlink-recipients", extra)
            .body(Body::from(data.clone()))
            .unwrap()
    };
    let hashes = [b.claim.digest().0, b.holder.digest().0, b.manage.digest().0].map(|h| B64.encode(h));
    for bad in [
        "x.y.z".to_owned(),
        format!("{}.{}.{}", hashes[0], hashes[1], hashes[2]),
        format!("{}.{}", hashes.join("."), "AAAA"),
    ] {
        let r = api.send(create(bad.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let made = api.send(create(format!("{}.{}", hashes.join("."), B64.encode([8u8; 16])))).await;
    assert_eq!(made.status, StatusCode::CREATED);
    let more = made.json()["more"].as_array().unwrap().clone();
    assert_eq!(more.len(), 1);
    let second = more[0].as_str().unwrap();
    // The second recipient's link opens with its own keys only.
    assert_eq!(api.post(&format!("/api/v1/links/{second}/claim"), claim_body(&a)).await.status, StatusCode::NOT_FOUND);
    let got = api.post(&format!("/api/v1/links/{second}/claim"), claim_body(&b)).await;
    assert_eq!((got.status, got.body), (StatusCode::OK, data.clone()));

    // An answer names its request and proves the link; a made-up proof is "gone", as an unknown request is.
    let proof = [9u8; 32];
    let c = relay.client().await;
    let ask = burnlink_core::proto::AskRequest {
        ttl_secs: 3600,
        claim_hash: a.claim.digest(),
        holder_hash: a.holder.digest(),
        manage_hash: a.manage.digest(),
        answer_hash: burnlink_core::keys::AnswerProof::from_bytes(proof).digest(),
        check: burnlink_core::keys::SecretCheck([7; 16]),
        answers: 1,
    };
    let (request, _) = c.ask(ask).await.unwrap();
    let answer = |p: [u8; 32]| {
        Request::post("/api/v1/links")
            .header("burnlink-ttl", "3600")
            .header("burnlink-manage-hash", B64.encode(b.manage.digest().0))
            .header("burnlink-answer-to", request.to_string())
            .header("burnlink-answer-proof", B64.encode(p))
            .body(Body::from(data.clone()))
            .unwrap()
    };
    assert_eq!(api.send(answer([1; 32])).await.status, StatusCode::NOT_FOUND);
    let made = api.send(answer(proof)).await;
    assert_eq!(made.status, StatusCode::CREATED);
    assert_eq!(api.send(answer(proof)).await.status, StatusCode::NOT_FOUND, "one answer was asked for");
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let got = api.post(&format!("/api/v1/links/{id}/claim"), claim_body(&a)).await;
    assert_eq!((got.status, got.body), (StatusCode::OK, data), "the answer opens with the request's keys");
    relay.stop().await;
}
