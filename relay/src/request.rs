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
use std::time::{Duration, Instant};

use burnlink_core::link::LinkId;
use burnlink_core::proto::{CreateRequest, ErrorCode, Request, Response};
use burnlink_core::state::Claimer;
use bytes::Bytes;

use crate::limits::{Full, Group, Wait};
use crate::service::{Action, Relay};
use crate::store::{BlobStream, StoreError};

/// How long an upload may go without a byte before it is dropped.
const UPLOAD_IDLE: Duration = Duration::from_secs(30);
/// After this long, an upload must keep up at least [`UPLOAD_MIN_RATE`] on average, so that a sender dripping bytes
/// cannot hold a connection and a storage reservation for hours.
const UPLOAD_GRACE: Duration = Duration::from_secs(60);
/// Bytes a second an upload must average after [`UPLOAD_GRACE`].
const UPLOAD_MIN_RATE: f64 = 16.0 * 1024.0;
/// Bytes between checks of the disk's free space during an upload.
const SPACE_CHECK_EVERY: u64 = 8 << 20;
/// A live upload's link is published once this long passes without more bytes (or once it is past the inline
/// threshold): a text that arrives whole in one go is simply stored, and anything still streaming is visible at once.
const PUBLISH_AFTER: Duration = Duration::from_millis(20);

/// A request body as it arrives from a transport.
#[async_trait::async_trait]
pub trait Incoming: Send {
    /// The next piece; `Ok(None)` at a clean end. An error means the sender went away or abandoned the upload.
    async fn next(&mut self) -> io::Result<Option<Bytes>>;
    /// Sends an answer before the request ends: a live create's `Created`. A transport that can answer only once
    /// never sees a live create.
    async fn early(&mut self, _resp: &Response) -> io::Result<()> {
        Ok(())
    }
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

/// A `BadRequest` error answer.
pub fn bad_request(message: impl Into<String>) -> Response {
    error(ErrorCode::BadRequest, message)
}

/// The relay failed; nothing acknowledged changed.
pub fn internal() -> Response {
    error(ErrorCode::Internal, "the relay failed; nothing changed")
}

/// An upload past the relay's size cap of `max` bytes.
pub fn too_large(max: u64) -> Response {
    error(ErrorCode::TooLarge, format!("the upload is larger than this relay accepts ({max} bytes)"))
}

/// "Not now, in a moment": nothing was done, and the client should send the same request again after the wait.
fn retry_after(Wait(w): Wait) -> Response {
    let after_ms = w.as_millis().min(u128::from(u32::MAX)) as u32;
    Response::RetryAfter { after_ms, message: "too many requests from this address; try again in a moment".into() }
}

/// The answer for a relay that cannot take more bytes.
fn full(why: Full) -> Response {
    let message = match why {
        Full::Cap => "the relay is full (its storage limit is reached); try again later",
        Full::Disk => "the relay is full (its disk is nearly out of space); try again later",
    };
    error(ErrorCode::Full, message)
}

/// The answer for a storage failure: nothing acknowledged changed.
fn failed(e: &StoreError) -> Response {
    match e {
        StoreError::Timeout(_) | StoreError::Unreachable(..) => {
            error(ErrorCode::Busy, "the relay's storage is not responding; try again later")
        }
        _ => internal(),
    }
}

/// [`failed`], logged.
fn failed_as(kind: &str, e: &StoreError) -> Response {
    tracing::warn!("{kind} failed: {e}");
    failed(e)
}

/// The answer to a live upload whose link ended (revoked or expired) before the upload did.
fn ended_early() -> Response {
    error(ErrorCode::BadRequest, "the link ended before its upload finished (it was revoked or expired)")
}

fn name(req: &Request) -> &'static str {
    match req {
        Request::Create(_) => "create",
        Request::Peek { .. } => "peek",
        Request::Claim { .. } | Request::ClaimPlain { .. } => "claim",
        Request::Resume { .. } => "resume",
        Request::Ack { .. } => "ack",
        Request::Status { .. } => "status",
        Request::Revoke { .. } => "revoke",
        Request::Watch { .. } => "watch",
        Request::Ask(_) => "ask",
        Request::Answers { .. } => "answers",
        _ => "request",
    }
}

impl Relay {
    /// Serves one request from `from`. `incoming` carries a create's body (and is ignored otherwise).
    pub async fn handle(self: &Arc<Self>, from: IpAddr, req: Request, incoming: Option<&mut dyn Incoming>) -> Answer {
        let (kind, started) = (name(&req), Instant::now());
        let answer = self.handle_timed(from, req, incoming).await;
        self.metrics.answered(kind, started.elapsed());
        answer
    }

    async fn handle_timed(self: &Arc<Self>, from: IpAddr, req: Request, incoming: Option<&mut dyn Incoming>) -> Answer {
        let group = Group::of(from);
        let admitted = match &req {
            Request::Peek { .. } | Request::Claim { .. } | Request::ClaimPlain { .. } | Request::Resume { .. } => {
                self.reads.take(group, 1.0)
            }
            Request::Create(_) => self.creates.take(group, 1.0).and_then(|()| self.bytes.check(group)),
            Request::Ask(_) => self.creates.take(group, 1.0),
            Request::Answers { .. } => self.reads.take(group, 1.0),
            _ => Ok(()),
        };
        if let Err(wait) = admitted {
            return retry_after(wait).into();
        }
        let kind = name(&req);
        let (id, action) = match req {
            Request::Create(c) => {
                let Some(incoming) = incoming else { return bad_request("a create needs a body").into() };
                return self.receive(group, c, incoming).await.into();
            }
            Request::Peek { id } => (id, Action::Peek),
            Request::Claim { id, holder, key, via } => {
                (id, Action::Claim(holder, key, Claimer { via, from: Some(from) }))
            }
            Request::ClaimPlain { id, holder, key, via } => {
                (id, Action::ClaimPlain(holder, key, Claimer { via, from: Some(from) }))
            }
            Request::Resume { id, lease, offset } => (id, Action::Resume(lease, offset)),
            Request::Ack { id, lease } => (id, Action::Ack(lease)),
            Request::Status { id, manage } => (id, Action::Status(manage)),
            Request::Revoke { id, manage } => (id, Action::Revoke(manage)),
            Request::Ask(a) => return self.ask(&a).await.unwrap_or_else(|e| failed_as(kind, &e)).into(),
            Request::Answers { id, holder } => {
                return self.answers(id, holder).await.unwrap_or_else(|e| failed_as(kind, &e)).into()
            }
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
    /// cap, the storage cap and reserve, the idle timeout and the rate floor. Whatever ends it early leaves nothing
    /// stored. A live create's link is visible (and `Created` sent early) while the bytes still arrive; if they stop
    /// short, the link ends as UPLOAD_FAILED, which erases what was stored.
    async fn receive(self: &Arc<Self>, group: Group, req: CreateRequest, incoming: &mut dyn Incoming) -> Response {
        let mut reserved = 0u64;
        let mut published = None;
        let resp = self.receive_reserving(group, req, incoming, &mut reserved, &mut published).await;
        let stored = matches!(resp, Response::Created { .. } | Response::Stored { .. });
        self.space.settle(reserved, stored);
        match &resp {
            Response::Created { more, .. } => self.metrics.created(1 + more.len() as u64),
            // A live link was made when it was published, whatever became of its upload.
            _ if published.is_some() => self.metrics.created(1),
            _ => {}
        }
        if let (Some(id), false) = (published, stored) {
            match self.apply(id, Action::UploadFailed).await {
                Ok(_) => tracing::debug!(link = %id.short(), "live upload ended early"),
                // The record still says "uploading": the next start-up ends it.
                Err(e) => tracing::warn!(link = %id.short(), "ending a cut-off upload failed: {e}"),
            }
        }
        resp
    }

    async fn receive_reserving(
        self: &Arc<Self>,
        group: Group,
        req: CreateRequest,
        incoming: &mut dyn Incoming,
        reserved: &mut u64,
        published: &mut Option<LinkId>,
    ) -> Response {
        if let Err(resp) = self.check_create(&req) {
            return resp;
        }
        if let Some(a) = &req.answer {
            match self.can_answer(a).await {
                Ok(true) => {}
                Ok(false) => return Response::Gone,
                Err(e) => return failed_as("answer", &e),
            }
        }
        let id = LinkId::generate(&mut rand::rngs::OsRng);
        let mut upload = match self.store().upload(&id).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!("create failed: {e}");
                return failed(&e);
            }
        };
        let (max, cap, reserve) = (self.config.max_upload, self.config.max_storage, self.config.reserve);
        let started = Instant::now();
        let mut next_space_check = 0u64;
        let req_live = req.live;
        let mut live = req.live;
        loop {
            let elapsed = started.elapsed();
            if elapsed > UPLOAD_GRACE && (upload.written() as f64) < UPLOAD_MIN_RATE * elapsed.as_secs_f64() {
                return error(ErrorCode::Timeout, "the upload is too slow");
            }
            let publish_due = live.is_some() && published.is_none() && upload.written() > 0;
            let wait = if publish_due { PUBLISH_AFTER } else { UPLOAD_IDLE };
            let chunk = match tokio::time::timeout(wait, incoming.next()).await {
                Ok(Ok(Some(c))) => c,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    tracing::debug!("upload abandoned: {e}");
                    return bad_request("the upload was cut off");
                }
                Err(_) if publish_due => {
                    if let Err(resp) = self.publish(id, &req, &mut live, upload.as_mut(), incoming, published).await {
                        return resp;
                    }
                    continue;
                }
                Err(_) => return error(ErrorCode::Timeout, "the upload stalled"),
            };
            let n = chunk.len() as u64;
            if upload.written() + n > max {
                return too_large(max);
            }
            let available = if upload.written() >= next_space_check {
                next_space_check = upload.written() + SPACE_CHECK_EVERY;
                self.store().available()
            } else {
                None
            };
            if let Err(why) = self.space.reserve(n, cap, reserve, available) {
                return full(why);
            }
            *reserved += n;
            self.bytes.charge(group, n as f64);
            if let Err(e) = upload.write(&chunk).await {
                if published.is_some() && matches!(e, StoreError::Lost) {
                    // Its content was erased: the link ended (revoked or expired) while it uploaded.
                    return ended_early();
                }
                tracing::warn!("storing an upload failed: {e}");
                return failed(&e);
            }
            if live.is_some() && published.is_none() && upload.written() > self.config.inline_threshold as u64 {
                if let Err(resp) = self.publish(id, &req, &mut live, upload.as_mut(), incoming, published).await {
                    return resp;
                }
            }
        }
        if published.is_some() {
            return self.finish_live(id, upload, reserved).await;
        }
        let written = upload.written();
        match self.create(id, req, upload).await {
            Ok(resp) => {
                if matches!(resp, Response::Created { .. }) {
                    tracing::debug!(link = %id.short(), "created");
                }
                if req_live.is_none() || !matches!(resp, Response::Created { .. }) {
                    return resp;
                }
                // A live create that arrived whole before it was published, or on a store that cannot publish: both
                // answers at once.
                if incoming.early(&resp).await.is_err() {
                    tracing::debug!(link = %id.short(), "the sender left before its answer");
                }
                Response::Stored { size: written }
            }
            Err(e) => {
                tracing::warn!("create failed: {e}");
                failed(&e)
            }
        }
    }

    /// Makes a live upload's link visible now and tells the sender. `live` becomes `None` if the store cannot serve
    /// content before the upload ends: the upload then goes on as one that waits.
    async fn publish(
        self: &Arc<Self>,
        id: LinkId,
        req: &CreateRequest,
        live: &mut Option<u64>,
        upload: &mut dyn crate::store::Upload,
        incoming: &mut dyn Incoming,
        published: &mut Option<LinkId>,
    ) -> Result<(), Response> {
        // What the sender announced must fit before its link is shown; a sender that announced too little is still
        // held to the caps byte by byte, and its link then ends as UPLOAD_FAILED.
        let (max, written) = (self.config.max_upload, upload.written());
        let estimate = live.unwrap_or(0);
        if estimate > max {
            return Err(too_large(max));
        }
        let more = estimate.saturating_sub(written);
        let (cap, reserve) = (self.config.max_storage, self.config.reserve);
        self.space.fits(more, cap, reserve, self.store().available()).map_err(full)?;
        let record = burnlink_core::state::Record::new_live(req, estimate, self.clock.now())
            .map_err(|e| bad_request(e.to_string()))?;
        match upload.publish(&record).await {
            Ok(true) => {}
            Ok(false) => {
                *live = None;
                return Ok(());
            }
            Err(e) => {
                tracing::warn!("publishing a live upload failed: {e}");
                return Err(failed(&e));
            }
        }
        *published = Some(id);
        tracing::debug!(link = %id.short(), "published while uploading");
        if let Err(e) = incoming.early(&Response::Created { id, expires_at: record.expires_at, more: Vec::new() }).await
        {
            tracing::debug!("upload abandoned: {e}");
            return Err(bad_request("the upload was cut off"));
        }
        Ok(())
    }

    /// The end of a published upload: content durable, then the record's real size (durable), then the readers
    /// released. Answers `Stored`, or why the link ended before its upload did.
    async fn finish_live(
        self: &Arc<Self>,
        id: LinkId,
        upload: Box<dyn crate::store::Upload>,
        reserved: &mut u64,
    ) -> Response {
        let (size, release) = match upload.finish().await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(link = %id.short(), "finishing a live upload failed: {e}");
                return failed(&e);
            }
        };
        // From here the bytes count as stored; whatever ends the link later takes them off again.
        self.space.settle(std::mem::take(reserved), true);
        let resp = match self.apply(id, Action::Uploaded(size)).await {
            Ok(a) => match a.outcome.reply {
                Response::Stored { size } => Response::Stored { size },
                _ => {
                    // Revoked or expired while uploading: that end erased the content and counted nothing.
                    self.space.remove_stored(size);
                    ended_early()
                }
            },
            Err(e) => {
                tracing::warn!(link = %id.short(), "recording a finished upload failed: {e}");
                self.space.remove_stored(size);
                failed(&e)
            }
        };
        release();
        resp
    }
}
