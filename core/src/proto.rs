/*!
The wire protocol between clients and the relay: request and response messages and their compact, versioned codec.

One request per QUIC bidirectional stream. Every message is a frame:

```text
version u8 (= 1) | tag u8 | body length u16 (big-endian) | body
```

Fixed-size fields are raw bytes, integers big-endian, options a 0/1 byte then the value, strings a u16 length then
UTF-8. Ciphertext is not framed: after a `Create` request the client streams the payload until it finishes its side
of the stream; after a `Claimed` or `Resumed` response the relay streams the payload (from the given offset).

A live create (`CREATE_LIVE`, [`CreateRequest::live`]) gets two answers on its stream: `Created` as soon as the link
exists, while the payload still flows, then `Stored` (or an `Error`) once all of it is stored. A claim or resume of a
live link says so (`live`); its payload then follows the upload and ends with the stream, which the relay resets
instead of finishing if the upload stops short.

Decoding distinguishes "need more bytes" ([`DecodeError::Incomplete`]) from "this is not a valid message"
([`DecodeError::Invalid`]), as quinn-proto's `coding` does, so a reader can accumulate bytes until a frame is whole.
A request for a secret (`ASK`) makes an ASKING record; an answer is a create (`CREATE_ANSWER`) that names the request
and carries the answer proof, and the requester lists the answers (`ANSWERS`) with the request's holder proof.

This module owns the byte layout only; what the messages mean is [`crate::state`]'s business.
*/

pub use crate::coding::ClientKind;
pub use crate::coding::DecodeError;
use crate::coding::{Reader, StateKind, Timestamp, Writer};
use crate::keys::{AnswerProof, ClaimKey, Digest32, HolderProof, LeaseToken, ManageToken, PublicMeta, SecretCheck};
use crate::link::LinkId;
use crate::policy::Rules;

/// Application error codes on QUIC streams and connections: part of the wire contract, so both ends name them
/// from here.
pub mod codes {
    /// The upload was larger than the relay accepts.
    pub const TOO_LARGE: u32 = 1;
    /// The request did not arrive in time or was malformed.
    pub const BAD_REQUEST: u32 = 2;
    /// The relay is shutting down.
    pub const SHUTDOWN: u32 = 3;
    /// Too many connections from this address.
    pub const BUSY: u32 = 4;
    /// Relay to recipient: a live download's upload ended before it finished; nothing more will come.
    pub const UPLOAD_FAILED: u32 = 5;
    /// Sender to relay: the upload was abandoned (its source failed).
    pub const UPLOAD_ABORTED: u32 = 5;
    /// Relay to recipient: the sender revoked the link while it downloaded; its content is deleted and nothing more
    /// will come. Told only to the lease holder, who already knows the link existed.
    pub const REVOKED: u32 = 6;
}

/// Protocol version carried in every frame.
pub const VERSION: u8 = 1;
/// ALPN protocol id for QUIC.
pub const ALPN: &[u8] = b"burnlink/1";
/// The largest UDP payload either side sends or accepts, once path MTU discovery has shown that the path carries it.
/// QUIC starts at 1200 bytes and probes upwards (quinn's documentation: any upper bound is safe, only discovery takes
/// longer), so an Internet path still settles near 1452 while loopback or a jumbo-frame LAN moves each byte in a
/// quarter of the packets, and per-packet work (system calls, header protection, acks) is much of what a transfer
/// costs. Measured on loopback (512 MiB, `tests/bench`): 6144 sends 20-25% faster than 1452. Above this, ten of them
/// no longer fit one 64 KiB segmentation-offload batch, the probes fail, and quinn's black-hole detection falls back to
/// 1200 bytes (measured with 8192 and 16384).
pub const MAX_UDP_PAYLOAD: u16 = 6144;
/// UDP socket buffers asked for on both ends (the kernel caps them at `net.core.rmem_max`/`wmem_max`). The default
/// (~208 KiB) overflows whenever a receiver pauses for a moment at these rates: on loopback a 1 GiB upload lost 3,600
/// packets and cut its congestion window 560 times (quinn's path stats); with 4 MiB, none. Each loss is a resend and
/// a slower sender on a real path.
pub const UDP_BUFFER: usize = 4 << 20;
/// Frame header length.
pub const HEADER_LEN: usize = 4;
pub use crate::coding::MAX_STRING;
/// Largest body accepted: messages are small; this bounds what a peer can make us buffer.
pub const MAX_BODY: usize = 4096;

/// Wraps a body into a frame.
fn frame(tag: u8, body: &Writer, out: &mut Vec<u8>) {
    debug_assert!(body.0.len() <= MAX_BODY);
    out.push(VERSION);
    out.push(tag);
    out.extend_from_slice(&(body.0.len() as u16).to_be_bytes());
    out.extend_from_slice(&body.0);
}

/// Splits the first frame off `buf`: `(tag, body, frame length)`.
fn unframe(buf: &[u8]) -> Result<(u8, &[u8], usize), DecodeError> {
    if buf.len() < HEADER_LEN {
        return Err(DecodeError::Incomplete(HEADER_LEN - buf.len()));
    }
    if buf[0] != VERSION {
        return Err(DecodeError::Version(buf[0]));
    }
    let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    if len > MAX_BODY {
        return Err(DecodeError::Invalid("frame too large"));
    }
    let total = HEADER_LEN + len;
    if buf.len() < total {
        return Err(DecodeError::Incomplete(total - buf.len()));
    }
    Ok((buf[1], &buf[HEADER_LEN..total], total))
}

/// What a sender sends to create a link; the ciphertext follows on the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// Time to live in seconds, checked against [`crate::state::MIN_TTL`] and [`crate::state::MAX_TTL`].
    pub ttl_secs: u32,
    /// `SHA-256(C)`.
    pub claim_hash: Digest32,
    /// `SHA-256(H)`: claims without the holder proof are refused without counting.
    pub holder_hash: Digest32,
    /// `SHA-256(manage token)`.
    pub manage_hash: Digest32,
    /// Public metadata handed to recipients on peek.
    pub meta: PublicMeta,
    /// `Some(estimated ciphertext bytes)`: a live upload. The relay answers `Created` as soon as the link exists and
    /// recipients may open it while the upload runs, then `Stored` once the last byte is stored. `None`: one
    /// `Created` once everything is stored.
    pub live: Option<u64>,
    /// The template and allowlist (trailing fields; left out when empty, as older clients send it).
    pub rules: Rules,
    /// More recipients of the same upload: each gets a link of its own, with its own keys, that burns on its own
    /// (at most [`MAX_RECIPIENTS`] links in all; not with `live`).
    pub extra: Vec<Recipient>,
    /// An answer to a request for a secret: its link takes the request's claim and holder hashes and check, so the
    /// ones this request carries are ignored (not with `live`, `rules`, `extra` or a passphrase).
    pub answer: Option<AnswerTo>,
}

/// Which request an answer answers, and the proof that its sender holds the request link.
#[derive(Clone, Debug)]
pub struct AnswerTo {
    /// The request's id.
    pub request: LinkId,
    /// `A`, derived from the request link's key.
    pub proof: AnswerProof,
}

impl PartialEq for AnswerTo {
    fn eq(&self, other: &Self) -> bool {
        self.request == other.request && self.proof.digest() == other.proof.digest()
    }
}

impl Eq for AnswerTo {}

/// A request for a secret: what the relay keeps of it. All of it comes from the request's secret `R`, which only
/// the requester holds, except the manage token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AskRequest {
    /// How long it takes answers, in seconds (the same range as a link's).
    pub ttl_secs: u32,
    /// `SHA-256(C)` of `R`: every answer's link takes it.
    pub claim_hash: Digest32,
    /// `SHA-256(H)` of `R`: every answer's link takes it, and listing the answers needs `H`.
    pub holder_hash: Digest32,
    /// `SHA-256(manage token)`: the requester's status and revoke.
    pub manage_hash: Digest32,
    /// `SHA-256(A)`: answering needs `A`.
    pub answer_hash: Digest32,
    /// The check of `R`, which every answer's link takes.
    pub check: SecretCheck,
    /// How many answers it takes (1 ..= [`MAX_ANSWERS`]).
    pub answers: u8,
}

/// Most answers one request takes.
pub const MAX_ANSWERS: u8 = 20;

/// The answers to a request, as its requester sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerList {
    /// The request's state: `Asking` while it takes answers.
    pub state: StateKind,
    /// When it stops (or stopped) taking answers.
    pub expires_at: Timestamp,
    /// Answers it still takes.
    pub left: u8,
    /// Every answer so far, oldest first.
    pub answers: Vec<AnswerEntry>,
}

/// One answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerEntry {
    /// The answer's link id (opened with the request's secret).
    pub id: LinkId,
    /// Its state (`Expired` once its record is gone).
    pub state: StateKind,
}

/// Most links one upload may give (one per recipient).
pub const MAX_RECIPIENTS: usize = 20;

/// One more recipient's link of an upload: what the relay stores of its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// `SHA-256(C)` of its link.
    pub claim_hash: Digest32,
    /// `SHA-256(H)` of its link.
    pub holder_hash: Digest32,
    /// `SHA-256(manage token)` of its link.
    pub manage_hash: Digest32,
    /// Its public metadata (its own secret check and passphrase salt).
    pub meta: PublicMeta,
}

/// A client's request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Request {
    /// Create a link; the ciphertext follows until the end of the stream.
    Create(CreateRequest),
    /// What is known about a fresh link, without changing it.
    Peek {
        /// Link.
        id: LinkId,
    },
    /// Prove holding the link and the claim key, and take the lease; the ciphertext follows the answer.
    Claim {
        /// Link.
        id: LinkId,
        /// The holder proof `H`.
        holder: HolderProof,
        /// The claim key `C`.
        key: ClaimKey,
        /// What kind of client claims, for the sender's event log (a trailing byte; older clients leave it out).
        via: Option<ClientKind>,
    },
    /// A claim folded into the peek it would follow: exactly [`Request::Claim`], except that a fresh link with a
    /// passphrase is not claimed but answered as a peek (`Info`), so a recipient who did not know it needs one loses
    /// no attempt. A link without a passphrase opens in one round trip.
    ClaimPlain {
        /// Link.
        id: LinkId,
        /// The holder proof `H`.
        holder: HolderProof,
        /// The claim key `C` as derived without a passphrase.
        key: ClaimKey,
        /// As in [`Request::Claim`].
        via: Option<ClientKind>,
    },
    /// Continue a download under a lease from a byte offset.
    Resume {
        /// Link.
        id: LinkId,
        /// The lease from `Claimed`.
        lease: LeaseToken,
        /// First byte wanted.
        offset: u64,
    },
    /// The last chunk verified: delete the ciphertext.
    Ack {
        /// Link.
        id: LinkId,
        /// The lease from `Claimed`.
        lease: LeaseToken,
    },
    /// The sender asks for the exact state.
    Status {
        /// Link.
        id: LinkId,
        /// The sender's manage token.
        manage: ManageToken,
    },
    /// The sender withdraws the link.
    Revoke {
        /// Link.
        id: LinkId,
        /// The sender's manage token.
        manage: ManageToken,
    },
    /// The sender subscribes to state changes; the relay answers with a `Status` now and on every change.
    Watch {
        /// Link.
        id: LinkId,
        /// The sender's manage token.
        manage: ManageToken,
    },
    /// Ask for a secret: make a request that takes answers; the relay answers `Created`.
    Ask(AskRequest),
    /// The requester lists a request's answers.
    Answers {
        /// The request.
        id: LinkId,
        /// The holder proof of the request's secret.
        holder: HolderProof,
    },
}

mod tag {
    pub const CREATE: u8 = 0x01;
    pub const PEEK: u8 = 0x02;
    pub const CLAIM: u8 = 0x03;
    pub const RESUME: u8 = 0x04;
    pub const ACK: u8 = 0x05;
    pub const STATUS: u8 = 0x06;
    pub const REVOKE: u8 = 0x07;
    pub const WATCH: u8 = 0x08;
    pub const CREATE_LIVE: u8 = 0x09;
    pub const CLAIM_PLAIN: u8 = 0x0a;
    pub const CREATE_ANSWER: u8 = 0x0b;
    pub const ASK: u8 = 0x0c;
    pub const ANSWERS: u8 = 0x0d;

    pub const CREATED: u8 = 0x81;
    pub const INFO: u8 = 0x82;
    pub const CLAIMED: u8 = 0x83;
    pub const RESUMED: u8 = 0x84;
    pub const ACKED: u8 = 0x85;
    pub const WRONG_PROOF: u8 = 0x86;
    pub const GONE: u8 = 0x87;
    pub const STATUS_REPORT: u8 = 0x88;
    pub const ERROR: u8 = 0x89;
    pub const RETRY_AFTER: u8 = 0x8a;
    pub const STORED: u8 = 0x8b;
    pub const ANSWER_LIST: u8 = 0x8c;
}

impl Request {
    /// Appends the frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::default();
        let t = match self {
            Request::Create(c) => {
                w.u32(c.ttl_secs).bytes(&c.claim_hash.0).bytes(&c.holder_hash.0).bytes(&c.manage_hash.0).meta(&c.meta);
                if let Some(a) = &c.answer {
                    // An answer carries nothing else: see `CreateRequest::answer`.
                    w.bytes(&a.request.0).bytes(a.proof.expose());
                    frame(tag::CREATE_ANSWER, &w, out);
                    zeroize::Zeroize::zeroize(&mut w.0);
                    return;
                }
                let t = match c.live {
                    Some(estimate) => {
                        w.u64(estimate);
                        tag::CREATE_LIVE
                    }
                    None => tag::CREATE,
                };
                if !c.rules.is_empty() || !c.extra.is_empty() {
                    w.rules(&c.rules);
                }
                if !c.extra.is_empty() {
                    w.u8(c.extra.len().min(MAX_RECIPIENTS) as u8);
                    for x in c.extra.iter().take(MAX_RECIPIENTS) {
                        w.bytes(&x.claim_hash.0).bytes(&x.holder_hash.0).bytes(&x.manage_hash.0).meta(&x.meta);
                    }
                }
                t
            }
            Request::Peek { id } => {
                w.bytes(&id.0);
                tag::PEEK
            }
            Request::Claim { id, holder, key, via } | Request::ClaimPlain { id, holder, key, via } => {
                w.bytes(&id.0).bytes(holder.expose()).bytes(key.expose());
                if via.is_some() {
                    w.u8(ClientKind::to_u8(*via));
                }
                if matches!(self, Request::Claim { .. }) {
                    tag::CLAIM
                } else {
                    tag::CLAIM_PLAIN
                }
            }
            Request::Resume { id, lease, offset } => {
                w.bytes(&id.0).bytes(lease.expose()).u64(*offset);
                tag::RESUME
            }
            Request::Ack { id, lease } => {
                w.bytes(&id.0).bytes(lease.expose());
                tag::ACK
            }
            Request::Status { id, manage } | Request::Revoke { id, manage } | Request::Watch { id, manage } => {
                w.bytes(&id.0).bytes(manage.expose());
                match self {
                    Request::Status { .. } => tag::STATUS,
                    Request::Revoke { .. } => tag::REVOKE,
                    _ => tag::WATCH,
                }
            }
            Request::Ask(a) => {
                w.u32(a.ttl_secs)
                    .bytes(&a.claim_hash.0)
                    .bytes(&a.holder_hash.0)
                    .bytes(&a.manage_hash.0)
                    .bytes(&a.answer_hash.0)
                    .bytes(&a.check.0)
                    .u8(a.answers);
                tag::ASK
            }
            Request::Answers { id, holder } => {
                w.bytes(&id.0).bytes(holder.expose());
                tag::ANSWERS
            }
        };
        frame(t, &w, out);
        zeroize::Zeroize::zeroize(&mut w.0);
    }

    /// Decodes the first frame of `buf`; returns the request and the bytes it used.
    pub fn decode(buf: &[u8]) -> Result<(Self, usize), DecodeError> {
        let (t, body, used) = unframe(buf)?;
        let mut r = Reader::new(body);
        let req = match t {
            tag::CREATE | tag::CREATE_LIVE => Request::Create(CreateRequest {
                ttl_secs: r.u32()?,
                claim_hash: r.digest()?,
                holder_hash: r.digest()?,
                manage_hash: r.digest()?,
                meta: r.meta()?,
                live: if t == tag::CREATE_LIVE { Some(r.u64()?) } else { None },
                rules: if r.is_empty() { Rules::default() } else { r.rules()? },
                extra: if r.is_empty() {
                    Vec::new()
                } else {
                    let n = r.u8()? as usize;
                    if n >= MAX_RECIPIENTS {
                        return Err(DecodeError::Invalid("too many recipients"));
                    }
                    (0..n)
                        .map(|_| {
                            Ok(Recipient {
                                claim_hash: r.digest()?,
                                holder_hash: r.digest()?,
                                manage_hash: r.digest()?,
                                meta: r.meta()?,
                            })
                        })
                        .collect::<Result<_, DecodeError>>()?
                },
                answer: None,
            }),
            tag::CREATE_ANSWER => Request::Create(CreateRequest {
                ttl_secs: r.u32()?,
                claim_hash: r.digest()?,
                holder_hash: r.digest()?,
                manage_hash: r.digest()?,
                meta: r.meta()?,
                live: None,
                rules: Rules::default(),
                extra: Vec::new(),
                answer: Some(AnswerTo { request: r.id()?, proof: AnswerProof::from_bytes(r.array()?) }),
            }),
            tag::ASK => Request::Ask(AskRequest {
                ttl_secs: r.u32()?,
                claim_hash: r.digest()?,
                holder_hash: r.digest()?,
                manage_hash: r.digest()?,
                answer_hash: r.digest()?,
                check: SecretCheck(r.array()?),
                answers: r.u8()?,
            }),
            tag::ANSWERS => Request::Answers { id: r.id()?, holder: HolderProof::from_bytes(r.array()?) },
            tag::PEEK => Request::Peek { id: r.id()? },
            tag::CLAIM => Request::Claim {
                id: r.id()?,
                holder: HolderProof::from_bytes(r.array()?),
                key: ClaimKey::from_bytes(r.array()?),
                via: r.trailing_u8()?.and_then(ClientKind::from_u8),
            },
            tag::CLAIM_PLAIN => Request::ClaimPlain {
                id: r.id()?,
                holder: HolderProof::from_bytes(r.array()?),
                key: ClaimKey::from_bytes(r.array()?),
                via: r.trailing_u8()?.and_then(ClientKind::from_u8),
            },
            tag::RESUME => Request::Resume { id: r.id()?, lease: LeaseToken::from_bytes(r.array()?), offset: r.u64()? },
            tag::ACK => Request::Ack { id: r.id()?, lease: LeaseToken::from_bytes(r.array()?) },
            tag::STATUS => Request::Status { id: r.id()?, manage: ManageToken::from_bytes(r.array()?) },
            tag::REVOKE => Request::Revoke { id: r.id()?, manage: ManageToken::from_bytes(r.array()?) },
            tag::WATCH => Request::Watch { id: r.id()?, manage: ManageToken::from_bytes(r.array()?) },
            _ => return Err(DecodeError::Invalid("unknown request")),
        };
        r.end()?;
        Ok((req, used))
    }
}

/// What a sender may see about its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// Current state.
    pub state: StateKind,
    /// When the link was created.
    pub created_at: Timestamp,
    /// When it expires (or expired) unopened.
    pub expires_at: Timestamp,
    /// When a recipient claimed it.
    pub claimed_at: Option<Timestamp>,
    /// When it reached its end state.
    pub ended_at: Option<Timestamp>,
    /// Wrong claim proofs so far.
    pub failed_attempts: u8,
    /// What kind of client claimed it.
    pub claimed_via: Option<ClientKind>,
    /// How many times its page was fetched (link previews, and recipients who looked before revealing). A count
    /// only: no times, no addresses.
    pub previews: u32,
}

/// One entry of a sender's event log, derived from a [`StatusReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// The link was made.
    Created(Timestamp),
    /// Its page was fetched this many times.
    Previewed(u32),
    /// This many wrong passphrases (claim keys) were tried.
    WrongPassphrase(u8),
    /// A recipient claimed it, with this kind of client if it said.
    Claimed(Timestamp, Option<ClientKind>),
    /// It reached an end state (consumed, expired, revoked, burned, upload failed).
    Ended(StateKind, Timestamp),
}

impl LinkEvent {
    /// Lower-case name for JSON (`created`, `previewed`, `wrong_passphrase`, `claimed`, or the end state's name).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Created(_) => "created",
            Self::Previewed(_) => "previewed",
            Self::WrongPassphrase(_) => "wrong_passphrase",
            Self::Claimed(..) => "claimed",
            Self::Ended(state, _) => state.name(),
        }
    }

    /// When it happened, where the relay keeps the time (not for counts).
    pub fn at(&self) -> Option<Timestamp> {
        match *self {
            Self::Created(at) | Self::Claimed(at, _) | Self::Ended(_, at) => Some(at),
            Self::Previewed(_) | Self::WrongPassphrase(_) => None,
        }
    }

    /// How many times, for the counted events.
    pub fn count(&self) -> Option<u32> {
        match *self {
            Self::Previewed(n) => Some(n),
            Self::WrongPassphrase(n) => Some(n.into()),
            _ => None,
        }
    }

    /// The kind of client, for a claim that said.
    pub fn client(&self) -> Option<ClientKind> {
        match *self {
            Self::Claimed(_, via) => via,
            _ => None,
        }
    }
}

impl StatusReport {
    /// The sender's event log, oldest first; counts (previews, wrong passphrases) stand where they began to add up,
    /// after the creation, as the relay keeps no times for them.
    pub fn events(&self) -> Vec<LinkEvent> {
        let mut log = vec![LinkEvent::Created(self.created_at)];
        if self.previews > 0 {
            log.push(LinkEvent::Previewed(self.previews));
        }
        if self.failed_attempts > 0 {
            log.push(LinkEvent::WrongPassphrase(self.failed_attempts));
        }
        if let Some(at) = self.claimed_at {
            log.push(LinkEvent::Claimed(at, self.claimed_via));
        }
        if let Some(at) = self.ended_at {
            if !self.state.holds_content() {
                log.push(LinkEvent::Ended(self.state, at));
            }
        }
        log
    }

    /// The status as JSON, the one shape both contracts share (`burnlink status --json` and the HTTPS API's
    /// `POST /api/v1/links/<id>/status`); `time` renders a time as each contract wants it. An event's fields that do
    /// not apply are left out.
    pub fn to_json<T: Into<serde_json::Value>>(&self, id: &LinkId, time: impl Fn(Timestamp) -> T) -> serde_json::Value {
        let time = |t: Timestamp| time(t).into();
        let events: Vec<serde_json::Value> = self
            .events()
            .iter()
            .map(|e| {
                let mut fields = serde_json::Map::new();
                fields.insert("event".into(), e.name().into());
                if let Some(at) = e.at() {
                    fields.insert("at".into(), time(at));
                }
                if let Some(n) = e.count() {
                    fields.insert("count".into(), n.into());
                }
                if let Some(c) = e.client() {
                    fields.insert("client".into(), c.name().into());
                }
                fields.into()
            })
            .collect();
        serde_json::json!({
            "id": id.to_string(),
            "state": self.state.name(),
            "created_at": time(self.created_at),
            "expires_at": time(self.expires_at),
            "claimed_at": self.claimed_at.map(time),
            "ended_at": self.ended_at.map(time),
            "failed_attempts": self.failed_attempts,
            "claimed_via": self.claimed_via.map(ClientKind::name),
            "previews": self.previews,
            "events": events,
        })
    }
}

/// What peek tells a recipient about a fresh link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// Ciphertext size in bytes (padded, so only coarse).
    pub size: u64,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Secret check and passphrase parameters.
    pub meta: PublicMeta,
}

/// Error codes a client can branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request was malformed or not allowed.
    BadRequest,
    /// The upload exceeds the relay's size cap.
    TooLarge,
    /// Too many requests from this address.
    RateLimited,
    /// The relay is overloaded; try again later.
    Busy,
    /// The relay failed; nothing changed.
    Internal,
    /// The client speaks a protocol version the relay does not.
    UnsupportedVersion,
    /// The request took too long.
    Timeout,
    /// The relay's storage is full (its cap or its disk's reserve); nothing was stored.
    Full,
    /// Not allowed: a claim from outside the link's network allowlist (nothing counted), or a link whose policy the
    /// relay's operator does not allow.
    NotAllowed,
    /// A code from a newer relay.
    Other(u8),
}

impl ErrorCode {
    fn to_u8(self) -> u8 {
        match self {
            ErrorCode::BadRequest => 1,
            ErrorCode::TooLarge => 2,
            ErrorCode::RateLimited => 3,
            ErrorCode::Busy => 4,
            ErrorCode::Internal => 5,
            ErrorCode::UnsupportedVersion => 6,
            ErrorCode::Timeout => 7,
            ErrorCode::Full => 8,
            ErrorCode::NotAllowed => 9,
            ErrorCode::Other(c) => c,
        }
    }
    fn from_u8(c: u8) -> Self {
        match c {
            1 => ErrorCode::BadRequest,
            2 => ErrorCode::TooLarge,
            3 => ErrorCode::RateLimited,
            4 => ErrorCode::Busy,
            5 => ErrorCode::Internal,
            6 => ErrorCode::UnsupportedVersion,
            7 => ErrorCode::Timeout,
            8 => ErrorCode::Full,
            9 => ErrorCode::NotAllowed,
            c => ErrorCode::Other(c),
        }
    }
}

/// The relay's answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Response {
    /// The link exists now (the upload was stored and flushed).
    Created {
        /// The new link's id.
        id: LinkId,
        /// When it expires unopened.
        expires_at: Timestamp,
        /// The ids of the create's [`CreateRequest::extra`] recipients' links, in order.
        more: Vec<LinkId>,
    },
    /// Peek's answer for a fresh link.
    Info(LinkInfo),
    /// The claim won; `size` bytes of ciphertext follow.
    Claimed {
        /// The lease token; keep it until ack.
        lease: LeaseToken,
        /// When the lease ends.
        lease_expires_at: Timestamp,
        /// Ciphertext size (while `live`, the sender's estimate).
        size: u64,
        /// The sender's upload is still running: the bytes follow as they arrive, and the stream's clean end (not
        /// `size`) marks the last of them.
        live: bool,
    },
    /// The resume was accepted; bytes from `offset` to `size` follow.
    Resumed {
        /// First byte sent.
        offset: u64,
        /// Ciphertext size (while `live`, the sender's estimate).
        size: u64,
        /// As in `Claimed`.
        live: bool,
    },
    /// A live upload is completely stored: `size` bytes. The second answer to a live create.
    Stored {
        /// Ciphertext bytes stored.
        size: u64,
    },
    /// The download is complete and the ciphertext deleted.
    Acked,
    /// The claim key was wrong; nothing burned unless `attempts_left` is 0.
    WrongProof {
        /// Wrong proofs left before the link burns.
        attempts_left: u8,
    },
    /// The one neutral answer for unknown, expired, consumed, revoked and burned links.
    Gone,
    /// The sender's view.
    Status(StatusReport),
    /// A request's answers, for its requester.
    Answers(AnswerList),
    /// Too many requests from this address: nothing was done; send the same request again after `after_ms`.
    RetryAfter {
        /// How long to wait, in milliseconds.
        after_ms: u32,
        /// A short English explanation.
        message: String,
    },
    /// The request failed; nothing changed.
    Error {
        /// What kind of failure.
        code: ErrorCode,
        /// A short English explanation.
        message: String,
    },
}

impl Response {
    /// Appends the frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::default();
        let t = match self {
            Response::Created { id, expires_at, more } => {
                w.bytes(&id.0).time(*expires_at);
                if !more.is_empty() {
                    w.u8(more.len() as u8);
                    for m in more {
                        w.bytes(&m.0);
                    }
                }
                tag::CREATED
            }
            Response::Info(i) => {
                w.u64(i.size).time(i.expires_at).meta(&i.meta);
                tag::INFO
            }
            Response::Claimed { lease, lease_expires_at, size, live } => {
                w.bytes(lease.expose()).time(*lease_expires_at).u64(*size);
                if *live {
                    w.u8(1);
                }
                tag::CLAIMED
            }
            Response::Resumed { offset, size, live } => {
                w.u64(*offset).u64(*size);
                if *live {
                    w.u8(1);
                }
                tag::RESUMED
            }
            Response::Stored { size } => {
                w.u64(*size);
                tag::STORED
            }
            Response::Acked => tag::ACKED,
            Response::WrongProof { attempts_left } => {
                w.u8(*attempts_left);
                tag::WRONG_PROOF
            }
            Response::Gone => tag::GONE,
            Response::Status(s) => {
                w.u8(s.state as u8)
                    .time(s.created_at)
                    .time(s.expires_at)
                    .opt_time(s.claimed_at)
                    .opt_time(s.ended_at)
                    .u8(s.failed_attempts);
                if s.claimed_via.is_some() || s.previews > 0 {
                    w.u8(ClientKind::to_u8(s.claimed_via)).u32(s.previews);
                }
                tag::STATUS_REPORT
            }
            Response::Answers(l) => {
                w.u8(l.state as u8).time(l.expires_at).u8(l.left).u8(l.answers.len().min(MAX_ANSWERS.into()) as u8);
                for a in l.answers.iter().take(MAX_ANSWERS.into()) {
                    w.bytes(&a.id.0).u8(a.state as u8);
                }
                tag::ANSWER_LIST
            }
            Response::Error { code, message } => {
                w.u8(code.to_u8()).string(message);
                tag::ERROR
            }
            Response::RetryAfter { after_ms, message } => {
                w.u32(*after_ms).string(message);
                tag::RETRY_AFTER
            }
        };
        frame(t, &w, out);
        zeroize::Zeroize::zeroize(&mut w.0);
    }

    /// Decodes the first frame of `buf`; returns the response and the bytes it used.
    pub fn decode(buf: &[u8]) -> Result<(Self, usize), DecodeError> {
        let (t, body, used) = unframe(buf)?;
        let mut r = Reader::new(body);
        let resp = match t {
            tag::CREATED => Response::Created {
                id: r.id()?,
                expires_at: r.time()?,
                more: match r.trailing_u8()? {
                    None => Vec::new(),
                    Some(n) if (n as usize) < MAX_RECIPIENTS => (0..n).map(|_| r.id()).collect::<Result<_, _>>()?,
                    Some(_) => return Err(DecodeError::Invalid("too many recipients")),
                },
            },
            tag::INFO => Response::Info(LinkInfo { size: r.u64()?, expires_at: r.time()?, meta: r.meta()? }),
            tag::CLAIMED => Response::Claimed {
                lease: LeaseToken::from_bytes(r.array()?),
                lease_expires_at: r.time()?,
                size: r.u64()?,
                live: r.trailing_flag()?,
            },
            tag::RESUMED => Response::Resumed { offset: r.u64()?, size: r.u64()?, live: r.trailing_flag()? },
            tag::STORED => Response::Stored { size: r.u64()? },
            tag::ACKED => Response::Acked,
            tag::WRONG_PROOF => Response::WrongProof { attempts_left: r.u8()? },
            tag::GONE => Response::Gone,
            tag::STATUS_REPORT => {
                let mut s = StatusReport {
                    state: StateKind::from_u8(r.u8()?).ok_or(DecodeError::Invalid("unknown state"))?,
                    created_at: r.time()?,
                    expires_at: r.time()?,
                    claimed_at: r.opt_time()?,
                    ended_at: r.opt_time()?,
                    failed_attempts: r.u8()?,
                    claimed_via: None,
                    previews: 0,
                };
                if let Some(via) = r.trailing_u8()? {
                    (s.claimed_via, s.previews) = (ClientKind::from_u8(via), r.u32()?);
                }
                Response::Status(s)
            }
            tag::ANSWER_LIST => {
                let state = |b: u8| StateKind::from_u8(b).ok_or(DecodeError::Invalid("unknown state"));
                let (s, expires_at, left, n) = (state(r.u8()?)?, r.time()?, r.u8()?, r.u8()?);
                if n > MAX_ANSWERS {
                    return Err(DecodeError::Invalid("too many answers"));
                }
                let answers = (0..n)
                    .map(|_| Ok(AnswerEntry { id: r.id()?, state: state(r.u8()?)? }))
                    .collect::<Result<_, DecodeError>>()?;
                Response::Answers(AnswerList { state: s, expires_at, left, answers })
            }
            tag::ERROR => Response::Error { code: ErrorCode::from_u8(r.u8()?), message: r.string()? },
            tag::RETRY_AFTER => Response::RetryAfter { after_ms: r.u32()?, message: r.string()? },
            _ => return Err(DecodeError::Invalid("unknown response")),
        };
        r.end()?;
        Ok((resp, used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KdfParams, SecretCheck};

    fn meta(kdf: bool) -> PublicMeta {
        PublicMeta {
            check: SecretCheck([9; 16]),
            kdf: kdf.then_some(KdfParams { salt: [3; 16], m_kib: 65536, t: 3, p: 4 }),
        }
    }

    fn requests() -> Vec<Request> {
        let id = LinkId([1; 16]);
        vec![
            Request::Create(CreateRequest {
                ttl_secs: 600,
                claim_hash: Digest32([2; 32]),
                holder_hash: Digest32([4; 32]),
                manage_hash: Digest32([3; 32]),
                meta: meta(true),
                live: None,
                rules: Default::default(),
                extra: Vec::new(),
                answer: None,
            }),
            Request::Create(CreateRequest {
                ttl_secs: 1,
                claim_hash: Digest32([2; 32]),
                holder_hash: Digest32([4; 32]),
                manage_hash: Digest32([3; 32]),
                meta: meta(false),
                live: Some(1 << 40),
                rules: Rules {
                    policy: Some(crate::policy::Template::UltraSecure),
                    allow: vec!["10.0.0.0/8".parse().unwrap(), "2001:db8::/32".parse().unwrap()],
                },
                extra: Vec::new(),
                answer: None,
            }),
            Request::Create(CreateRequest {
                ttl_secs: 600,
                claim_hash: Digest32([2; 32]),
                holder_hash: Digest32([4; 32]),
                manage_hash: Digest32([3; 32]),
                meta: meta(false),
                live: None,
                rules: Rules::default(),
                extra: vec![
                    Recipient {
                        claim_hash: Digest32([5; 32]),
                        holder_hash: Digest32([6; 32]),
                        manage_hash: Digest32([7; 32]),
                        meta: meta(true),
                    };
                    MAX_RECIPIENTS - 1
                ],
                answer: None,
            }),
            Request::Create(CreateRequest {
                ttl_secs: 600,
                claim_hash: Digest32([2; 32]),
                holder_hash: Digest32([4; 32]),
                manage_hash: Digest32([3; 32]),
                meta: meta(false),
                live: None,
                rules: Rules::default(),
                extra: Vec::new(),
                answer: Some(AnswerTo { request: LinkId([8; 16]), proof: AnswerProof::from_bytes([9; 32]) }),
            }),
            Request::Ask(AskRequest {
                ttl_secs: 3600,
                claim_hash: Digest32([2; 32]),
                holder_hash: Digest32([4; 32]),
                manage_hash: Digest32([3; 32]),
                answer_hash: Digest32([5; 32]),
                check: SecretCheck([6; 16]),
                answers: MAX_ANSWERS,
            }),
            Request::Answers { id, holder: HolderProof::from_bytes([7; 32]) },
            Request::Peek { id },
            Request::Claim {
                id,
                holder: HolderProof::from_bytes([7; 32]),
                key: ClaimKey::from_bytes([4; 32]),
                via: None,
            },
            Request::Claim {
                id,
                holder: HolderProof::from_bytes([7; 32]),
                key: ClaimKey::from_bytes([4; 32]),
                via: Some(ClientKind::Cli),
            },
            Request::ClaimPlain {
                id,
                holder: HolderProof::from_bytes([7; 32]),
                key: ClaimKey::from_bytes([4; 32]),
                via: Some(ClientKind::App),
            },
            Request::Resume { id, lease: LeaseToken::from_bytes([5; 32]), offset: u64::MAX },
            Request::Ack { id, lease: LeaseToken::from_bytes([5; 32]) },
            Request::Status { id, manage: ManageToken::from_bytes([6; 32]) },
            Request::Revoke { id, manage: ManageToken::from_bytes([6; 32]) },
            Request::Watch { id, manage: ManageToken::from_bytes([6; 32]) },
        ]
    }

    fn responses() -> Vec<Response> {
        vec![
            Response::Created { id: LinkId([1; 16]), expires_at: Timestamp(99), more: vec![] },
            Response::Created {
                id: LinkId([1; 16]),
                expires_at: Timestamp(99),
                more: vec![LinkId([2; 16]), LinkId([3; 16])],
            },
            Response::Info(LinkInfo { size: 1536, expires_at: Timestamp(7), meta: meta(true) }),
            Response::Claimed {
                lease: LeaseToken::from_bytes([8; 32]),
                lease_expires_at: Timestamp(5),
                size: 10,
                live: false,
            },
            Response::Claimed {
                lease: LeaseToken::from_bytes([8; 32]),
                lease_expires_at: Timestamp(5),
                size: 10,
                live: true,
            },
            Response::Resumed { offset: 3, size: 10, live: false },
            Response::Resumed { offset: 3, size: 10, live: true },
            Response::Stored { size: 77 },
            Response::Acked,
            Response::WrongProof { attempts_left: 9 },
            Response::Gone,
            Response::Status(StatusReport {
                state: StateKind::Consumed,
                created_at: Timestamp(1),
                expires_at: Timestamp(2),
                claimed_at: Some(Timestamp(3)),
                ended_at: None,
                failed_attempts: 2,
                claimed_via: None,
                previews: 0,
            }),
            Response::Status(StatusReport {
                state: StateKind::Consumed,
                created_at: Timestamp(1),
                expires_at: Timestamp(2),
                claimed_at: Some(Timestamp(3)),
                ended_at: Some(Timestamp(4)),
                failed_attempts: 0,
                claimed_via: Some(ClientKind::Browser),
                previews: 70_000,
            }),
            Response::Answers(AnswerList {
                state: StateKind::Asking,
                expires_at: Timestamp(9),
                left: 0,
                answers: vec![AnswerEntry { id: LinkId([4; 16]), state: StateKind::Claimed }; MAX_ANSWERS.into()],
            }),
            Response::Answers(AnswerList {
                state: StateKind::Revoked,
                expires_at: Timestamp(9),
                left: 1,
                answers: vec![],
            }),
            Response::Error { code: ErrorCode::TooLarge, message: "too large".into() },
            Response::Error { code: ErrorCode::Full, message: "full".into() },
            Response::RetryAfter { after_ms: 1500, message: "slow down".into() },
        ]
    }

    #[test]
    fn requests_round_trip_and_report_incomplete() {
        for req in requests() {
            let mut buf = Vec::new();
            req.encode(&mut buf);
            let (back, used) = Request::decode(&buf).unwrap();
            assert_eq!(used, buf.len());
            let mut again = Vec::new();
            back.encode(&mut again);
            assert_eq!(buf, again, "{req:?}");
            for cut in 0..buf.len() {
                let want = if cut < HEADER_LEN { HEADER_LEN - cut } else { buf.len() - cut };
                assert_eq!(
                    Request::decode(&buf[..cut]).unwrap_err(),
                    DecodeError::Incomplete(want),
                    "{req:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn responses_round_trip() {
        for resp in responses() {
            let mut buf = Vec::new();
            resp.encode(&mut buf);
            buf.extend_from_slice(b"ciphertext follows");
            let (back, used) = Response::decode(&buf).unwrap();
            let mut again = Vec::new();
            back.encode(&mut again);
            assert_eq!(&buf[..used], &again[..], "{resp:?}");
        }
    }

    #[test]
    fn a_claim_from_before_live_links_still_decodes_and_live_ones_say_so() {
        let lease = LeaseToken::from_bytes([8; 32]);
        let mut old = Vec::new();
        Response::Claimed { lease: lease.clone(), lease_expires_at: Timestamp(5), size: 10, live: false }
            .encode(&mut old);
        let mut live = Vec::new();
        Response::Claimed { lease, lease_expires_at: Timestamp(5), size: 10, live: true }.encode(&mut live);
        // A claim that is not live is byte for byte what relays sent before live links existed.
        assert_eq!(old.len() + 1, live.len());
        assert!(matches!(Response::decode(&old).unwrap().0, Response::Claimed { live: false, .. }));
        assert!(matches!(Response::decode(&live).unwrap().0, Response::Claimed { live: true, .. }));
        *live.last_mut().unwrap() = 2;
        assert!(matches!(Response::decode(&live), Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let mut buf = Vec::new();
        Response::Error { code: ErrorCode::Internal, message: "é".repeat(600) }.encode(&mut buf);
        let (Response::Error { message, .. }, _) = Response::decode(&buf).unwrap() else { panic!() };
        assert_eq!(message, "é".repeat(512));
    }

    #[test]
    fn invalid_frames_are_invalid_not_incomplete() {
        assert_eq!(Request::decode(&[2, 1, 0, 0]).unwrap_err(), DecodeError::Version(2));
        assert_eq!(Request::decode(&[1, 0x7f, 0, 0]).unwrap_err(), DecodeError::Invalid("unknown request"));
        assert_eq!(Request::decode(&[1, 0x02, 0xff, 0xff]).unwrap_err(), DecodeError::Invalid("frame too large"));
        // A peek with one byte too many in the body.
        assert_eq!(
            Request::decode(&[1, 0x02, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap_err(),
            DecodeError::Invalid("trailing bytes in body")
        );
        // An option flag that is neither 0 nor 1.
        let mut buf = Vec::new();
        Response::Created { id: LinkId([0; 16]), expires_at: Timestamp(0), more: vec![] }.encode(&mut buf);
        buf[1] = 0x88; // reinterpret as a status report: state 0, then garbage flags
        assert!(matches!(Response::decode(&buf).unwrap_err(), DecodeError::Invalid(_)));
    }

    #[test]
    fn the_event_log_follows_the_report() {
        let mut s = StatusReport {
            state: StateKind::Fresh,
            created_at: Timestamp(1),
            expires_at: Timestamp(9),
            claimed_at: None,
            ended_at: None,
            failed_attempts: 0,
            claimed_via: None,
            previews: 0,
        };
        assert_eq!(s.events(), vec![LinkEvent::Created(Timestamp(1))]);
        (s.previews, s.failed_attempts) = (3, 2);
        (s.state, s.claimed_at, s.claimed_via) = (StateKind::Claimed, Some(Timestamp(4)), Some(ClientKind::Browser));
        (s.state, s.ended_at) = (StateKind::Consumed, Some(Timestamp(5)));
        let log = s.events();
        assert_eq!(
            log,
            vec![
                LinkEvent::Created(Timestamp(1)),
                LinkEvent::Previewed(3),
                LinkEvent::WrongPassphrase(2),
                LinkEvent::Claimed(Timestamp(4), Some(ClientKind::Browser)),
                LinkEvent::Ended(StateKind::Consumed, Timestamp(5)),
            ]
        );
        let names: Vec<_> = log.iter().map(LinkEvent::name).collect();
        assert_eq!(names, ["created", "previewed", "wrong_passphrase", "claimed", "consumed"]);
    }

    #[test]
    fn the_status_json_renders_times_as_asked_and_leaves_out_what_does_not_apply() {
        let s = StatusReport {
            state: StateKind::Claimed,
            created_at: Timestamp(1),
            expires_at: Timestamp(9),
            claimed_at: Some(Timestamp(4)),
            ended_at: None,
            failed_attempts: 2,
            claimed_via: Some(ClientKind::Cli),
            previews: 0,
        };
        let v = s.to_json(&LinkId([0; 16]), |t| format!("t{}", t.0));
        assert_eq!(v["id"], LinkId([0; 16]).to_string());
        assert_eq!((&v["state"], &v["created_at"], &v["claimed_at"]), (&"claimed".into(), &"t1".into(), &"t4".into()));
        assert!(v["ended_at"].is_null(), "{v}");
        assert_eq!(v["claimed_via"], "cli");
        assert_eq!(
            v["events"],
            serde_json::json!([
                { "event": "created", "at": "t1" },
                { "event": "wrong_passphrase", "count": 2 },
                { "event": "claimed", "at": "t4", "client": "cli" },
            ])
        );
        assert_eq!(s.to_json(&LinkId([0; 16]), |t| t.0)["expires_at"], 9);
    }

    #[test]
    fn an_unknown_client_kind_from_a_newer_client_is_not_an_error() {
        let mut buf = Vec::new();
        let claim = Request::Claim {
            id: LinkId([1; 16]),
            holder: HolderProof::from_bytes([7; 32]),
            key: ClaimKey::from_bytes([4; 32]),
            via: Some(ClientKind::Cli),
        };
        claim.encode(&mut buf);
        *buf.last_mut().unwrap() = 200;
        let (back, _) = Request::decode(&buf).unwrap();
        assert!(matches!(back, Request::Claim { via: None, .. }));
    }
}
