/*!
The one request path. Both front ends turn what arrives into a [`Request`] (the wire protocol's type) and hand it to
[`Relay::handle`] with the sender's address and, for a create, the body as it streams in ([`Incoming`]); they get
back an [`Answer`]: a [`Response`] and, for a claim or resume, the content to stream out.

Everything in between lives here once, as mini-redis's `Command::apply` serves every connection: admission (rate
limits), checks of a create's headers before any of its body is stored, the upload loop (size cap, idle timeout,
commit), the state machine through [`Relay::apply`], and the mapping of failures to answers. The transports only map
bytes: QUIC frames and streams in `quic`, JSON, headers and status codes in `https`.
*/

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use burnlink_core::link::LinkId;
use burnlink_core::proto::{CreateRequest, ErrorCode, Request, Response};
use bytes::Bytes;

use crate::service::{bad_request, Action, Relay};
use crate::store::{BlobStream, StoreError};

/// How long an upload may go without a byte before it is dropped.
const UPLOAD_IDLE: Duration = Duration::from_secs(30);

/// A request body as it arrives from a transport.
#[async_trait::async_trait]
pub trait Incoming: Send {
    /// The next piece; `Ok(None)` at a clean end. An error means the sender went away or abandoned the upload.
    async fn next(&mut self) -> io::Result<Option<Bytes>>;
}

/// What to send back.
pub struct Answer {
    /// The answer.
    pub response: Response,
    /// Content that follows it (a won claim, a resume).
    pub body: Option<BlobStream>,
}

impl From<Response> for Answer {
    fn from(response: Response) -> Self {
        Self { response, body: None }
    }
}

/// An error answer.
pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
    Response::Error { code, message: message.into() }
}

/// The answer for a storage failure: nothing acknowledged changed.
fn failed(e: &StoreError) -> Response {
    match e {
        StoreError::Timeout(_) => error(ErrorCode::Busy, "the relay's storage is not responding; try again later"),
        _ => error(ErrorCode::Internal, "the relay failed; nothing changed"),
    }
}

fn name(req: &Request) -> &'static str {
    match req {
        Request::Create(_) => "create",
        Request::Peek { .. } => "peek",
        Request::Claim { .. } => "claim",
        Request::Resume { .. } => "resume",
        Request::Ack { .. } => "ack",
        Request::Status { .. } => "status",
        Request::Revoke { .. } => "revoke",
        Request::Watch { .. } => "watch",
        _ => "request",
    }
}

impl Relay {
    /// Serves one request from `from`. `incoming` carries a create's body (and is ignored otherwise).
    pub async fn handle(self: &Arc<Self>, from: IpAddr, req: Request, incoming: Option<&mut dyn Incoming>) -> Answer {
        let limited = matches!(req, Request::Peek { .. } | Request::Claim { .. } | Request::Resume { .. });
        if limited && !self.rate_ok(from) {
            return error(ErrorCode::RateLimited, "too many requests; try again soon").into();
        }
        let kind = name(&req);
        let (id, action) = match req {
            Request::Create(c) => {
                let Some(incoming) = incoming else { return bad_request("a create needs a body").into() };
                return self.receive(c, incoming).await.into();
            }
            Request::Peek { id } => (id, Action::Peek),
            Request::Claim { id, holder, key } => (id, Action::Claim(holder, key)),
            Request::Resume { id, lease, offset } => (id, Action::Resume(lease, offset)),
            Request::Ack { id, lease } => (id, Action::Ack(lease)),
            Request::Status { id, manage } => (id, Action::Status(manage)),
            Request::Revoke { id, manage } => (id, Action::Revoke(manage)),
            _ => return bad_request("this request is not served here").into(),
        };
        match self.apply(id, action).await {
            Ok(applied) => {
                if let Some(next) = &applied.outcome.next {
                    tracing::debug!(link = %id.short(), state = next.state.kind().name(), "{kind}");
                }
                Answer { response: applied.outcome.reply, body: applied.body }
            }
            Err(e) => {
                tracing::warn!(link = %id.short(), "{kind} failed: {e}");
                failed(&e).into()
            }
        }
    }

    /// Receives a create's body into storage and makes the link visible: headers first, then the bytes under the size
    /// cap and the idle timeout. Whatever ends it early leaves nothing stored.
    async fn receive(self: &Arc<Self>, req: CreateRequest, incoming: &mut dyn Incoming) -> Response {
        if let Err(resp) = self.check_create(&req) {
            return resp;
        }
        let id = LinkId::generate(&mut rand::rngs::OsRng);
        let mut upload = match self.store().upload(&id).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!("create failed: {e}");
                return failed(&e);
            }
        };
        let max = self.config.max_upload;
        loop {
            let chunk = match tokio::time::timeout(UPLOAD_IDLE, incoming.next()).await {
                Ok(Ok(Some(c))) => c,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    tracing::debug!("upload abandoned: {e}");
                    return bad_request("the upload was cut off");
                }
                Err(_) => return error(ErrorCode::Timeout, "the upload stalled"),
            };
            if upload.written() + chunk.len() as u64 > max {
                return error(
                    ErrorCode::TooLarge,
                    format!("the upload is larger than this relay accepts ({max} bytes)"),
                );
            }
            if let Err(e) = upload.write(&chunk).await {
                tracing::warn!("storing an upload failed: {e}");
                return failed(&e);
            }
        }
        match self.create(id, req, upload).await {
            Ok(resp) => {
                if matches!(resp, Response::Created { .. }) {
                    tracing::debug!(link = %id.short(), "created");
                }
                resp
            }
            Err(e) => {
                tracing::warn!("create failed: {e}");
                failed(&e)
            }
        }
    }
}
