/*!
The HTTPS front end (axum over rustls, TLS 1.3 only). It answers `GET /.well-known/burnlink` so clients can find the
QUIC port when the two are split, and sets the security headers on every response. No `GET` or `HEAD` changes any
state. The browser recipient page and its API are served from here too once they exist.
*/

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::debug;

use crate::service::Relay;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    /// The relay.
    pub relay: Arc<Relay>,
    /// The QUIC port to advertise.
    pub quic_port: u16,
}

/// Content-Security-Policy of every response: nothing but our own scripts, styles and API.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The router.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/.well-known/burnlink", get(well_known))
        .route("/", get(index))
        .route("/o/{id}", get(index))
        .with_state(state)
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut resp: Response<axum::body::Body>) -> Response<axum::body::Body> {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    resp
}

async fn well_known(State(s): State<HttpState>) -> impl IntoResponse {
    axum::Json(serde_json::json!({ "version": 1, "quic_port": s.quic_port, "alpn": "burnlink/1" }))
}

/// Until the browser page lands, a recipient without the app is told how to open the link. Identical for every id:
/// the page never reveals whether a link exists.
async fn index() -> impl IntoResponse {
    (
        StatusCode::OK,
        Html(
            "<!doctype html><meta charset=utf-8><title>Burnlink</title>\
             <h1>Burnlink</h1><p>This is a Burnlink relay. Open one-time links with the Burnlink app or \
             <code>burnlink open LINK</code>.</p>",
        ),
    )
}

/// Serves HTTPS on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: rustls::ServerConfig,
    state: HttpState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let app = router(state);
    tokio::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r { Ok(c) => c, Err(e) => { debug!("accept: {e}"); continue } },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let conn = hyper::server::conn::http1::Builder::new()
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = conn.await {
                debug!("http connection: {e}");
            }
        });
    }
}
