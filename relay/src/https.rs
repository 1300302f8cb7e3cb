/*!
The HTTPS front end (axum over rustls, TLS 1.3 only): the browser pages and their API.

- `GET /` (the web sender) and `GET /o/<id>` (the recipient page) serve the same embedded single-page app for every
  id, so the page itself never reveals whether a link exists. Its assets (under `/assets/`) are built from `ui/` by Vite and
  embedded in the binary, so `burnlink-relay` stays one file.
- `/api/v1/...`: peek (`GET`, never changes anything), and `POST`s for claim (carries the claim key: the only way to
  burn a link), resume, ack, status, revoke and create. JSON in and out, except the ciphertext, which streams as
  `application/octet-stream` in both directions.
- `GET /.well-known/burnlink` tells clients the QUIC port when the two are split.

No `GET` or `HEAD` changes any state; a link-preview bot, a prefetch or a page load that never clicks leaves every link
FRESH. Cross-site `POST`s are refused (`Sec-Fetch-Site`), and JSON and binary bodies need a CORS preflight that we never
answer. Every response carries the security headers of DESIGN §3.

This module owns the HTTP mapping only: every API call becomes a wire [`WireRequest`] for [`Relay::handle`], the
one request path, and its answer becomes JSON, headers and a status code.
*/

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use burnlink_core::keys::{
    AnswerProof, ClaimKey, Digest32, HolderProof, KdfParams, LeaseToken, ManageToken, PublicMeta, SecretCheck,
};
use burnlink_core::link::LinkId;
use burnlink_core::policy::{Cidr, Rules, Template};
use burnlink_core::proto::{
    AnswerTo, ClientKind, CreateRequest, ErrorCode, Recipient, Request as WireRequest, Response as Reply,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tracing::debug;

use crate::request::Incoming;
use crate::service::Relay;
use crate::store::BlobStream;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    /// The relay.
    pub relay: Arc<Relay>,
    /// The QUIC port to advertise.
    pub quic_port: u16,
}

/// Content-Security-Policy of every response: nothing but our own scripts, styles and API.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page assets, built by `npm run build` into `ui/dist` and embedded at compile time.
#[derive(rust_embed::Embed)]
#[folder = "../ui/dist"]
#[allow_missing = true]
struct Assets;

/// The peer address of an HTTP connection (for per-address rate limits).
#[derive(Clone, Copy, Debug)]
struct Peer(SocketAddr);

/// The router.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/.well-known/burnlink", get(well_known))
        .route("/", get(page))
        .route("/o/{id}", get(link_page))
        .route("/m/{id}", get(page))
        .route("/r/{id}", get(page))
        .route("/assets/{*file}", get(asset))
        .route("/favicon.svg", get(favicon))
        .route("/api/v1/links", post(create))
        .route("/api/v1/links/{id}", get(peek))
        .route("/api/v1/links/{id}/claim", post(claim))
        .route("/api/v1/links/{id}/resume", post(resume))
        .route("/api/v1/links/{id}/ack", post(ack))
        .route("/api/v1/links/{id}/status", post(status))
        .route("/api/v1/links/{id}/revoke", post(revoke))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.relay.config.request_deadline, deadline))
        .with_state(state)
        .layer(axum::middleware::map_request(refuse_cross_site))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    resp
}

/// Every call but a create must arrive and be answered within the deadline, so a client that drips its request
/// cannot hold a connection; a create's body has the upload's idle and rate rules, and a download streams after this.
async fn deadline(State(limit): State<Duration>, req: Request, next: axum::middleware::Next) -> Response<Body> {
    if req.method() == Method::POST && req.uri().path() == "/api/v1/links" {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError(StatusCode::REQUEST_TIMEOUT, "timeout", "the request took too long".into()).into_response(),
    }
}

/// A `POST` that a browser marks as coming from another site never reaches a handler.
async fn refuse_cross_site(req: Request) -> Result<Request, ApiError> {
    let cross = req.headers().get("sec-fetch-site").is_some_and(|v| v != "same-origin" && v != "none");
    if req.method() == Method::POST && cross {
        return Err(ApiError(StatusCode::FORBIDDEN, "cross_site", "requests from other sites are refused".into()));
    }
    Ok(req)
}

async fn well_known(State(s): State<HttpState>) -> impl IntoResponse {
    let c = &s.relay.config;
    Json(serde_json::json!({
        "version": 1,
        "quic_port": s.quic_port,
        "alpn": "burnlink/1",
        // What this relay's operator allows, so senders offer only what will be accepted.
        "max_ttl_secs": c.max_ttl.unwrap_or(burnlink_core::state::MAX_TTL).as_secs(),
        "policies": c.policies.as_ref().map_or(Template::ALL.to_vec(), |p| p.clone()).iter().map(|t| t.name()).collect::<Vec<_>>(),
        "policy_required": c.policies.is_some(),
    }))
}

fn embedded(path: &str) -> Option<Response<Body>> {
    let file = Assets::get(path)?;
    let mime = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    Some(([(header::CONTENT_TYPE, mime)], file.data.into_owned()).into_response())
}

/// The single-page app, identical for every id.
async fn page() -> Response<Body> {
    embedded("index.html").unwrap_or_else(|| {
        let msg = "<!doctype html><meta charset=utf-8><title>Burnlink</title><p>This relay was built without its \
                   browser page (run <code>npm run build</code> before <code>cargo build</code>). Open links with \
                   <code>burnlink open LINK</code>.";
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], msg).into_response()
    })
}

/// A link's page: [`page`], counted for the sender's event log when fetched with GET (the count is all that is kept,
/// and it never touches the link's state).
async fn link_page(State(s): State<HttpState>, method: Method, Path(id): Path<String>) -> Response<Body> {
    if method == Method::GET {
        if let Ok(id) = id.parse::<LinkId>() {
            s.relay.previewed(id);
        }
    }
    page().await
}

async fn asset(Path(file): Path<String>) -> Response<Body> {
    embedded(&format!("assets/{file}")).unwrap_or_else(not_found_response)
}

async fn favicon() -> Response<Body> {
    embedded("favicon.svg").unwrap_or_else(not_found_response)
}

fn not_found_response() -> Response<Body> {
    ApiError(StatusCode::NOT_FOUND, "not_found", "no such page".into()).into_response()
}

async fn not_found() -> Response<Body> {
    not_found_response()
}

/// An API error: status, stable code, message.
struct ApiError(StatusCode, &'static str, String);

/// A 429 that says how long to wait: in the `Retry-After` header (whole seconds, as HTTP has it) and in milliseconds.
struct RetryLater {
    after_ms: u32,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response<Body> {
        (self.0, Json(serde_json::json!({ "error": self.1, "message": self.2 }))).into_response()
    }
}

impl IntoResponse for RetryLater {
    fn into_response(self) -> Response<Body> {
        let body =
            serde_json::json!({ "error": "rate_limited", "message": self.message, "retry_after_ms": self.after_ms });
        let secs = self.after_ms.div_ceil(1000).max(1).to_string();
        (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs)], Json(body)).into_response()
    }
}

/// Any refusal of an API call.
enum Refusal {
    Error(ApiError),
    Retry(RetryLater),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Error(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response<Body> {
        match self {
            Refusal::Error(e) => e.into_response(),
            Refusal::Retry(r) => r.into_response(),
        }
    }
}

type ApiResult = Result<Response<Body>, Refusal>;

/// The neutral answer for every link that is not fresh (or not yours): unknown, opened, expired, revoked.
fn gone() -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        "gone",
        "This link is gone: it was already opened, has expired, was revoked, or never existed.".into(),
    )
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "bad_request", msg.into())
}

fn internal() -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the relay failed; nothing changed".into())
}

fn b64_32(s: &str, what: &str) -> Result<[u8; 32], ApiError> {
    let mut out = [0u8; 32];
    match B64.decode_slice(s, &mut out) {
        Ok(32) if s.len() == 43 => Ok(out),
        _ => Err(bad(format!("{what} must be 32 bytes in base64url"))),
    }
}

fn link_id(s: &str) -> Result<LinkId, ApiError> {
    // A malformed id is just another id that does not exist.
    s.parse().map_err(|_| gone())
}

fn ms(t: burnlink_core::state::Timestamp) -> serde_json::Value {
    serde_json::Value::from(t.0)
}

fn meta_json(m: &PublicMeta) -> serde_json::Value {
    serde_json::json!({
        "check": B64.encode(m.check.0),
        "kdf": m.kdf.map(|k| serde_json::json!({ "salt": B64.encode(k.salt), "m_kib": k.m_kib, "t": k.t, "p": k.p })),
    })
}

/// The client's address for per-address limits (requests made in-process, as in tests, have none).
fn from(peer: Option<Extension<Peer>>) -> IpAddr {
    peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |Extension(Peer(a))| a.ip())
}

/// Maps the relay's answers that are not a success of the request at hand.
fn refusal(resp: Reply) -> Refusal {
    match resp {
        Reply::Gone => gone().into(),
        Reply::Error { code, message } => relay_error(code, message).into(),
        Reply::RetryAfter { after_ms, message } => Refusal::Retry(RetryLater { after_ms, message }),
        _ => internal().into(),
    }
}

fn relay_error(code: ErrorCode, message: String) -> ApiError {
    match code {
        ErrorCode::RateLimited => ApiError(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message),
        ErrorCode::TooLarge => ApiError(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message),
        ErrorCode::BadRequest => ApiError(StatusCode::BAD_REQUEST, "bad_request", message),
        ErrorCode::Timeout => ApiError(StatusCode::REQUEST_TIMEOUT, "timeout", message),
        ErrorCode::Busy => ApiError(StatusCode::SERVICE_UNAVAILABLE, "busy", message),
        ErrorCode::Full => ApiError(StatusCode::INSUFFICIENT_STORAGE, "relay_full", message),
        ErrorCode::NotAllowed => ApiError(StatusCode::FORBIDDEN, "not_allowed", message),
        _ => internal(),
    }
}

/// `GET /api/v1/links/<id>`: what a recipient may know before opening. Never changes state.
async fn peek(State(s): State<HttpState>, peer: Option<Extension<Peer>>, Path(id): Path<String>) -> ApiResult {
    let id = link_id(&id)?;
    match s.relay.handle(from(peer), WireRequest::Peek { id }, None).await.response {
        Reply::Info(i) => Ok(Json(serde_json::json!({
            "size": i.size,
            "expires_at": ms(i.expires_at),
            "meta": meta_json(&i.meta),
        }))
        .into_response()),
        other => Err(refusal(other)),
    }
}

#[derive(serde::Deserialize)]
struct ClaimBody {
    holder: String,
    claim_key: String,
}

/// A download's response. `len: None` is a live one: its bytes follow the sender's upload, so its length is not known
/// yet and it goes out chunked with `burnlink-live: 1`; an upload that ends early cuts it off, never ends it cleanly.
fn download(body: Option<BlobStream>, len: Option<u64>, headers: &[(&'static str, String)]) -> ApiResult {
    let mut resp = Response::new(Body::from_stream(body.ok_or_else(internal)?));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    match len {
        Some(len) => h.insert(header::CONTENT_LENGTH, HeaderValue::from(len)),
        None => h.insert("burnlink-live", HeaderValue::from_static("1")),
    };
    for (k, v) in headers {
        h.insert(*k, HeaderValue::from_str(v).expect("ascii header value"));
    }
    Ok(resp)
}

/// `POST /api/v1/links/<id>/claim {"holder","claim_key"}`: the burn. Atomic, durable before the first byte is sent.
async fn claim(
    State(s): State<HttpState>,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    Json(b): Json<ClaimBody>,
) -> ApiResult {
    let id = link_id(&id)?;
    let holder = HolderProof::from_bytes(b64_32(&b.holder, "holder")?);
    let key = ClaimKey::from_bytes(b64_32(&b.claim_key, "claim_key")?);
    let answer =
        s.relay.handle(from(peer), WireRequest::Claim { id, holder, key, via: Some(ClientKind::Browser) }, None).await;
    match answer.response {
        Reply::Claimed { lease, lease_expires_at, size, live } => download(
            answer.body,
            (!live).then_some(size),
            &[
                ("burnlink-lease", lease.to_text().to_string()),
                ("burnlink-lease-expires", lease_expires_at.0.to_string()),
                ("burnlink-size", size.to_string()),
            ],
        ),
        Reply::WrongProof { attempts_left } => Ok((
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "error": "wrong_key",
                "attempts_left": attempts_left,
                "message": "wrong key or passphrase; nothing was burned",
            })),
        )
            .into_response()),
        other => Err(refusal(other)),
    }
}

#[derive(serde::Deserialize)]
struct ResumeBody {
    lease: String,
    offset: u64,
}

/// `POST /api/v1/links/<id>/resume {"lease","offset"}`: the lease holder continues an interrupted download.
async fn resume(
    State(s): State<HttpState>,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    Json(b): Json<ResumeBody>,
) -> ApiResult {
    let id = link_id(&id)?;
    let lease = LeaseToken::from_bytes(b64_32(&b.lease, "lease")?);
    let answer = s.relay.handle(from(peer), WireRequest::Resume { id, lease, offset: b.offset }, None).await;
    match answer.response {
        Reply::Resumed { offset, size, live } => {
            download(answer.body, (!live).then(|| size - offset.min(size)), &[("burnlink-size", size.to_string())])
        }
        other => Err(refusal(other)),
    }
}

#[derive(serde::Deserialize)]
struct LeaseBody {
    lease: String,
}

/// `POST /api/v1/links/<id>/ack {"lease"}`: the last chunk verified; the ciphertext is deleted.
async fn ack(
    State(s): State<HttpState>,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    Json(b): Json<LeaseBody>,
) -> ApiResult {
    let id = link_id(&id)?;
    let lease = LeaseToken::from_bytes(b64_32(&b.lease, "lease")?);
    match s.relay.handle(from(peer), WireRequest::Ack { id, lease }, None).await.response {
        Reply::Acked => Ok(Json(serde_json::json!({ "ok": true })).into_response()),
        other => Err(refusal(other)),
    }
}

#[derive(serde::Deserialize)]
struct ManageBody {
    manage: String,
}

async fn manage(s: &HttpState, peer: Option<Extension<Peer>>, id: &str, token: &str, revoke: bool) -> ApiResult {
    let id = link_id(id)?;
    let manage = ManageToken::from_text(token).ok_or_else(gone)?;
    let req = if revoke { WireRequest::Revoke { id, manage } } else { WireRequest::Status { id, manage } };
    match s.relay.handle(from(peer), req, None).await.response {
        Reply::Status(r) => Ok(Json(r.to_json(&id, ms)).into_response()),
        other => Err(refusal(other)),
    }
}

/// `POST /api/v1/links/<id>/status {"manage"}`: the sender's exact view.
async fn status(
    State(s): State<HttpState>,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    Json(b): Json<ManageBody>,
) -> ApiResult {
    manage(&s, peer, &id, &b.manage, false).await
}

/// `POST /api/v1/links/<id>/revoke {"manage"}`.
async fn revoke(
    State(s): State<HttpState>,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    Json(b): Json<ManageBody>,
) -> ApiResult {
    manage(&s, peer, &id, &b.manage, true).await
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    h.get(name).and_then(|v| v.to_str().ok()).ok_or_else(|| bad(format!("missing header {name}")))
}

/// The create request from `burnlink-*` headers: ttl (seconds), claim-hash, holder-hash, manage-hash (SHA-256,
/// base64url), check (16 bytes, base64url), and optionally kdf (`salt.m_kib.t.p`), policy (a template's name) and
/// allow (CIDR blocks, comma-separated), and recipients (more recipients' links of the same upload, see
/// [`recipient_of`]). An answer to a request for a secret names the request in
/// burnlink-answer-to and carries burnlink-answer-proof (32 bytes, base64url) instead of claim-hash, holder-hash and
/// check, which it takes from the request. Only the syntax is checked here; what the values may be is the request
/// path's business.
fn create_request(h: &HeaderMap) -> Result<CreateRequest, ApiError> {
    let ttl_secs = header_str(h, "burnlink-ttl")?.parse().map_err(|_| bad("burnlink-ttl: seconds"))?;
    let answer = match h.get("burnlink-answer-to") {
        None => None,
        Some(v) => Some(AnswerTo {
            request: link_id(v.to_str().map_err(|_| bad("burnlink-answer-to: a request id"))?)?,
            proof: AnswerProof::from_bytes(b64_32(header_str(h, "burnlink-answer-proof")?, "burnlink-answer-proof")?),
        }),
    };
    // An answer's link takes these from the request.
    let digest = |name: &str| match (h.get(name), &answer) {
        (None, Some(_)) => Ok(Digest32([0; 32])),
        _ => Ok::<_, ApiError>(Digest32(b64_32(header_str(h, name)?, name)?)),
    };
    let claim_hash = digest("burnlink-claim-hash")?;
    let holder_hash = digest("burnlink-holder-hash")?;
    let manage_hash = Digest32(b64_32(header_str(h, "burnlink-manage-hash")?, "burnlink-manage-hash")?);
    let check = match (h.get("burnlink-check"), &answer) {
        (None, Some(_)) => SecretCheck([0; 16]),
        _ => check_of(header_str(h, "burnlink-check")?)?,
    };
    let kdf = match h.get("burnlink-kdf") {
        None => None,
        Some(v) => Some(kdf_of(v.to_str().map_err(|_| bad("burnlink-kdf: salt.m_kib.t.p"))?)?),
    };
    let meta = PublicMeta { check, kdf };
    // More recipients of the same upload: `claim.holder.manage.check[.salt.m_kib.t.p]` each, comma-separated.
    let extra = match h.get("burnlink-recipients").map(|v| v.to_str()) {
        None => Vec::new(),
        Some(v) => v
            .map_err(|_| bad("burnlink-recipients: claim.holder.manage.check[.kdf], comma-separated"))?
            .split(',')
            .map(recipient_of)
            .collect::<Result<_, _>>()?,
    };
    let policy = match h.get("burnlink-policy").map(|v| v.to_str()) {
        None => None,
        Some(v) => {
            Some(v.ok().and_then(|v| v.parse::<Template>().ok()).ok_or_else(|| bad("burnlink-policy: unknown"))?)
        }
    };
    let allow = match h.get("burnlink-allow").map(|v| v.to_str()) {
        None => Vec::new(),
        Some(v) => {
            let v = v.map_err(|_| bad("burnlink-allow: CIDR blocks, comma-separated"))?;
            v.split(',')
                .filter(|c| !c.trim().is_empty())
                .map(|c| c.parse::<Cidr>())
                .collect::<Result<_, _>>()
                .map_err(|e| bad(format!("burnlink-allow: {e}")))?
        }
    };
    // Live uploads are the QUIC clients' (they need a second answer mid-request); over HTTPS a create answers once.
    Ok(CreateRequest {
        ttl_secs,
        claim_hash,
        holder_hash,
        manage_hash,
        meta,
        live: None,
        rules: Rules { policy, allow },
        extra,
        answer,
    })
}

fn check_of(s: &str) -> Result<SecretCheck, ApiError> {
    let mut check = [0u8; 16];
    match B64.decode_slice(s, &mut check) {
        Ok(16) => Ok(SecretCheck(check)),
        _ => Err(bad("burnlink-check must be 16 bytes in base64url")),
    }
}

/// `salt.m_kib.t.p`.
fn kdf_of(v: &str) -> Result<KdfParams, ApiError> {
    let p: Vec<&str> = v.split('.').collect();
    let mut salt = [0u8; 16];
    (p.len() == 4 && matches!(B64.decode_slice(p[0], &mut salt), Ok(16)))
        .then(|| Some(KdfParams { salt, m_kib: p[1].parse().ok()?, t: p[2].parse().ok()?, p: p[3].parse().ok()? }))
        .flatten()
        .ok_or_else(|| bad("burnlink-kdf: salt.m_kib.t.p"))
}

/// One more recipient's link: `claim.holder.manage.check`, then its passphrase parameters `.salt.m_kib.t.p` if any.
fn recipient_of(v: &str) -> Result<Recipient, ApiError> {
    let v = v.trim();
    let p: Vec<&str> = v.splitn(5, '.').collect();
    let what = "burnlink-recipients";
    if p.len() < 4 {
        return Err(bad(format!("{what}: claim.holder.manage.check[.kdf], comma-separated")));
    }
    Ok(Recipient {
        claim_hash: Digest32(b64_32(p[0], what)?),
        holder_hash: Digest32(b64_32(p[1], what)?),
        manage_hash: Digest32(b64_32(p[2], what)?),
        meta: PublicMeta { check: check_of(p[3])?, kdf: p.get(4).map(|k| kdf_of(k)).transpose()? },
    })
}

/// A create's body as it streams in.
struct HttpBody(axum::body::BodyDataStream);

#[async_trait::async_trait]
impl Incoming for HttpBody {
    async fn next(&mut self) -> std::io::Result<Option<bytes::Bytes>> {
        futures_util::StreamExt::next(&mut self.0).await.transpose().map_err(std::io::Error::other)
    }
}

/// `POST /api/v1/links`: the web sender's upload. Visible only once the whole body is stored and flushed.
async fn create(
    State(s): State<HttpState>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let req = create_request(&headers)?;
    let max = s.relay.config.max_upload;
    if headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).is_some_and(|n| n > max) {
        // Known from the headers: refuse before reading any of it.
        return Err(refusal(crate::request::too_large(max)));
    }
    let mut incoming = HttpBody(body.into_data_stream());
    match s.relay.handle(from(peer), WireRequest::Create(req), Some(&mut incoming)).await.response {
        Reply::Created { id, expires_at, more } => {
            let more: Vec<_> = more.iter().map(LinkId::to_string).collect();
            let body = serde_json::json!({ "id": id.to_string(), "expires_at": ms(expires_at), "more": more });
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        other => Err(refusal(other)),
    }
}

/// Serves HTTPS on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: rustls::ServerConfig,
    state: HttpState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let relay = state.relay.clone();
    let app = router(state);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r { Ok(c) => c, Err(e) => { debug!("accept: {e}"); continue } },
            _ = &mut shutdown => break,
        };
        // Only live connections count, as on QUIC; past the limit the connection is closed at once.
        let Some(slot) = relay.admit(peer.ip()) else {
            debug!("refusing connection: per-address limit");
            drop(tcp);
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await else {
                return;
            };
            let app = app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Peer(peer));
                req
            });
            let service = hyper_util::service::TowerToHyperService::new(app);
            // The header timeout needs hyper's timer; without one hyper panics on the first request.
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = conn.await {
                debug!("http connection: {e}");
            }
        });
    }
}
