/*!
The relay's per-link state machine, as pure functions of `(record, now, event)`.

```text
FRESH ──claim(C ok)──▶ CLAIMED(lease) ──ack / lease ends──▶ CONSUMED
  │ ├─ expiry ──▶ EXPIRED
  │ ├─ revoke ──▶ REVOKED          (also from CLAIMED: the sender's word is final)
  │ ├─ 10th wrong C (with a valid H) ──▶ BURNED_BY_ATTEMPTS
  │ └─ live upload ends early ──▶ UPLOAD_FAILED   (also from CLAIMED)

ASKING ──answer (A ok, answers left)──▶ ASKING (one answer fewer; the answer is a FRESH link of its own)
  ├─ expiry ──▶ EXPIRED
  └─ revoke ──▶ REVOKED
```

A request for a secret ([`Record::new_request`]) is an ASKING record: it holds no content, cannot be peeked or
claimed (every such try is "gone"), and takes answers from whoever proves holding the request link. Each answer is an
ordinary link whose claim and holder hashes are the request's, so the requester opens it with the request's secret,
once, like any link. The requester (holding `H`) lists the answers; the record keeps their ids in every state, so the
list still answers after the request expired.

A live link ([`Record::new_live`]) exists while its upload still runs: it can be peeked and claimed as usual, its
`size` is the sender's estimate, and it cannot be acked until [`Event::Uploaded`] records the real size. An upload
that ends early ([`Event::UploadFailed`]) ends the link: the sender sees `upload_failed`, everyone else "gone".

A claim must carry the holder proof `H` (see [`crate::keys`]). Without a valid `H` it is answered [`Response::Gone`]
and changes nothing: no attempt counted, nothing written. Only someone who holds the link's fragment can spend one of
its attempts, so an id alone can neither burn a link nor use it up.

[`step`] returns an [`Outcome`]: the record to write (the relay writes it with a compare-and-set against the record
it read, and flushes before answering), the reply, whether to stream ciphertext and from where, and whether the
ciphertext must be deleted. Every non-sender answer about a link that is not FRESH is the single [`Response::Gone`].
The relay owns storage, IO and the clock; this module owns the rules and the record's storage encoding.
*/

use std::net::IpAddr;
use std::time::Duration;

pub use crate::coding::{ClientKind, StateKind, Timestamp};
use crate::coding::{DecodeError, Reader, Writer};
use crate::keys::{AnswerProof, ClaimKey, Digest32, HolderProof, LeaseToken, ManageToken, PublicMeta};
use crate::link::LinkId;
use crate::policy::{allowed, Rules, Template, MAX_ALLOW};
use crate::proto::{
    AnswerEntry, AnswerList, AskRequest, CreateRequest, LinkInfo, Recipient, Response, StatusReport, MAX_ANSWERS,
    MAX_RECIPIENTS,
};

/// Storage encoding version of [`Record`]: 3 adds the uploading flag, and only an uploading record is written as 3; 4
/// ends in tagged fields (uploading, the kind of client that claimed it, the link's rules), and only a record that has
/// one of the newer fields is written as 4. A record that needs none keeps the exact bytes of version 2 (or 3), so the
/// compare-and-set of every store (which compares encoded records) still matches records written before these fields
/// existed, and a relay of the previous version can still read every link that uses nothing new.
const RECORD_VERSION: u8 = 4;

/// Tags of a version 4 record's fields.
mod field {
    pub const UPLOADING: u8 = 1;
    pub const CLAIMED_VIA: u8 = 2;
    pub const RULES: u8 = 3;
    pub const GROUP: u8 = 4;
    pub const ASKING: u8 = 5;
}

/// Wrong claim proofs after which a link burns.
pub const MAX_FAILED_PROOFS: u8 = 10;
/// How long a tombstone outlives the link's expiry, so the sender's status still answers.
pub const TOMBSTONE_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default download lease: how long a claimed link waits for its download to resume, counted from the claim and again
/// from each resume and each extension while bytes flow.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10 * 60);
/// However long bytes keep flowing, a lease ends this long after the claim: 4 GiB in 24 h is 50 kB/s, and a claimed
/// link must not hold storage forever.
pub const MAX_LEASE_SPAN: Duration = Duration::from_secs(24 * 3600);
/// Shortest time to live a sender may pick.
pub const MIN_TTL: Duration = Duration::from_secs(5 * 60);
/// Longest time to live a sender may pick.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default time to live.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

/// A link's state, with the lease while claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting to be opened.
    Fresh,
    /// Being downloaded; only the lease holder may resume or ack.
    Claimed {
        /// `SHA-256(lease token)`.
        lease: Digest32,
        /// When the lease ends (and the link becomes CONSUMED).
        until: Timestamp,
    },
    /// Opened.
    Consumed,
    /// Expired unopened.
    Expired,
    /// Revoked by the sender.
    Revoked,
    /// Burned after too many wrong proofs.
    BurnedByAttempts,
    /// The sender's live upload ended early.
    UploadFailed,
    /// A request for a secret that still takes answers.
    Asking,
}

impl State {
    /// The kind.
    pub fn kind(&self) -> StateKind {
        match self {
            State::Fresh => StateKind::Fresh,
            State::Claimed { .. } => StateKind::Claimed,
            State::Consumed => StateKind::Consumed,
            State::Expired => StateKind::Expired,
            State::Revoked => StateKind::Revoked,
            State::BurnedByAttempts => StateKind::BurnedByAttempts,
            State::UploadFailed => StateKind::UploadFailed,
            State::Asking => StateKind::Asking,
        }
    }
}

/// One link's record: what the relay stores besides the ciphertext. Holds no key, no content, no IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Current state.
    pub state: State,
    /// Creation time.
    pub created_at: Timestamp,
    /// Expiry of an unopened link.
    pub expires_at: Timestamp,
    /// When it was claimed.
    pub claimed_at: Option<Timestamp>,
    /// When it reached an end state.
    pub ended_at: Option<Timestamp>,
    /// Wrong claim proofs so far.
    pub failed_attempts: u8,
    /// `SHA-256(C)`.
    pub claim_hash: Digest32,
    /// `SHA-256(H)`.
    pub holder_hash: Digest32,
    /// `SHA-256(manage token)`.
    pub manage_hash: Digest32,
    /// Public metadata for peek.
    pub meta: PublicMeta,
    /// Ciphertext size (while `uploading`, the sender's estimate).
    pub size: u64,
    /// The sender's live upload is still running: the content grows behind any download.
    pub uploading: bool,
    /// What kind of client claimed it (the sender's event log).
    pub claimed_via: Option<ClientKind>,
    /// The template it was made under and where it may be claimed from.
    pub rules: Rules,
    /// The links made by the same upload for several recipients, if it is one of them.
    pub group: Option<Group>,
    /// What a request for a secret keeps: the answer proof's digest, how many answers it still takes, and the
    /// answers' ids (in every state, so the requester can still find them after the request ended).
    pub asking: Option<Asking>,
}

/// A request for a secret's own fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asking {
    /// `SHA-256(A)`: only someone who holds the request link can answer.
    pub answer_hash: Digest32,
    /// Answers it still takes.
    pub left: u8,
    /// The answers so far, oldest first.
    pub answers: Vec<LinkId>,
}

/// The links one upload made for several recipients. They share its content, stored under the first link's id; it
/// is erased when the last of them ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Whose content they share.
    pub content: LinkId,
    /// Every link of the group, this one included.
    pub members: Vec<LinkId>,
}

/// Why a create request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// TTL outside 5 min ..= 30 days.
    #[error("expiry must be between 5 minutes and 30 days")]
    Ttl,
    /// Passphrase parameters outside the caps every client accepts: the link could never be opened.
    #[error("the passphrase parameters are outside the accepted range")]
    Kdf,
    /// An expiry longer than the link's template allows.
    #[error("the {} policy allows an expiry of at most {}", .0.name(), span(.0.max_ttl()))]
    PolicyTtl(Template),
    /// A template that requires a passphrase, on a link without one.
    #[error("the {} policy requires a passphrase", .0.name())]
    PolicyPassphrase(Template),
    /// More allowlist blocks than a link may carry.
    #[error("a network allowlist may hold at most {MAX_ALLOW} blocks")]
    Allowlist,
    /// More recipients than one upload may give links to.
    #[error("one upload gives at most {MAX_RECIPIENTS} links")]
    Recipients,
    /// Several recipients with a live upload: each of their links must find the whole content.
    #[error("links for several recipients are made once the whole upload is stored")]
    LiveGroup,
    /// A request for a secret that takes no answers, or more than [`MAX_ANSWERS`].
    #[error("a request takes between 1 and {MAX_ANSWERS} answers")]
    Answers,
    /// An answer with what only a link of the sender's own can have: a passphrase, rules, more recipients or a live
    /// upload.
    #[error("an answer to a request is encrypted to the requester alone: no passphrase, policy, allowlist, extra recipients or live upload")]
    AnswerExtras,
}

/// A time to live in seconds, within [`MIN_TTL`] ..= [`MAX_TTL`].
fn ttl_of(secs: u32) -> Result<Duration, CreateError> {
    let ttl = Duration::from_secs(secs.into());
    if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
        return Err(CreateError::Ttl);
    }
    Ok(ttl)
}

/// A duration as people say it ("24 hours", "7 days").
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 && s >= 2 * 86_400 => format!("{} days", s / 86_400),
        s if s % 3600 == 0 => format!("{} hour{}", s / 3600, if s == 3600 { "" } else { "s" }),
        s => format!("{} minutes", s / 60),
    }
}

impl Record {
    /// Checks everything about a create request that does not depend on its body, so a relay can refuse it before
    /// storing a byte.
    pub fn check_request(req: &CreateRequest) -> Result<(), CreateError> {
        let ttl = ttl_of(req.ttl_secs)?;
        if req.meta.kdf.is_some_and(|k| k.validate().is_err()) {
            return Err(CreateError::Kdf);
        }
        if req.rules.allow.len() > MAX_ALLOW {
            return Err(CreateError::Allowlist);
        }
        if req.extra.len() >= MAX_RECIPIENTS {
            return Err(CreateError::Recipients);
        }
        if !req.extra.is_empty() && req.live.is_some() {
            return Err(CreateError::LiveGroup);
        }
        if req.answer.is_some()
            && (req.meta.kdf.is_some() || !req.rules.is_empty() || !req.extra.is_empty() || req.live.is_some())
        {
            return Err(CreateError::AnswerExtras);
        }
        if let Some(t) = req.rules.policy {
            if ttl > t.max_ttl() {
                return Err(CreateError::PolicyTtl(t));
            }
            if t.passphrase_required() && req.meta.kdf.is_none() {
                return Err(CreateError::PolicyPassphrase(t));
            }
        }
        Ok(())
    }

    /// A new FRESH record for a completely stored upload of `size` bytes.
    pub fn new(req: &CreateRequest, size: u64, now: Timestamp) -> Result<Self, CreateError> {
        Self::check_request(req)?;
        let expires_at = now.plus(ttl_of(req.ttl_secs)?);
        let hashes = (req.claim_hash, req.holder_hash, req.manage_hash);
        Ok(Self { size, rules: req.rules.clone(), ..Self::made(State::Fresh, now, expires_at, hashes, req.meta) })
    }

    /// A record just made, in `state`, with nothing happened to it yet and none of the optional fields.
    fn made(
        state: State,
        now: Timestamp,
        expires_at: Timestamp,
        (claim_hash, holder_hash, manage_hash): (Digest32, Digest32, Digest32),
        meta: PublicMeta,
    ) -> Self {
        Self {
            state,
            created_at: now,
            expires_at,
            claimed_at: None,
            ended_at: None,
            failed_attempts: 0,
            claim_hash,
            holder_hash,
            manage_hash,
            meta,
            size: 0,
            uploading: false,
            claimed_via: None,
            rules: Rules::default(),
            group: None,
            asking: None,
        }
    }

    /// A new ASKING record: a request for a secret that takes `req.answers` answers until it expires.
    pub fn new_request(req: &AskRequest, now: Timestamp) -> Result<Self, CreateError> {
        let expires_at = now.plus(ttl_of(req.ttl_secs)?);
        if !(1..=MAX_ANSWERS).contains(&req.answers) {
            return Err(CreateError::Answers);
        }
        let hashes = (req.claim_hash, req.holder_hash, req.manage_hash);
        let meta = PublicMeta { check: req.check, kdf: None };
        let asking = Some(Asking { answer_hash: req.answer_hash, left: req.answers, answers: Vec::new() });
        Ok(Self { asking, ..Self::made(State::Asking, now, expires_at, hashes, meta) })
    }

    /// Makes `self`, a new answer's record, openable by the requester alone: the request's claim and holder hashes
    /// and check, and an expiry no later than the request's record is kept, so the requester can still find it.
    pub fn answering(mut self, request: &Record) -> Self {
        self.claim_hash = request.claim_hash;
        self.holder_hash = request.holder_hash;
        self.meta = request.meta;
        self.expires_at = Timestamp(self.expires_at.0.min(request.purge_at().0));
        self
    }

    /// A new FRESH record for a live upload that has started: `estimate` is the sender's guess of the ciphertext size.
    pub fn new_live(req: &CreateRequest, estimate: u64, now: Timestamp) -> Result<Self, CreateError> {
        Ok(Self { uploading: true, ..Self::new(req, estimate, now)? })
    }

    /// The record of another recipient's link of the same upload: the same times, size and rules, its own keys.
    pub fn for_recipient(&self, r: &Recipient) -> Self {
        Self {
            claim_hash: r.claim_hash,
            holder_hash: r.holder_hash,
            manage_hash: r.manage_hash,
            meta: r.meta,
            ..self.clone()
        }
    }

    /// The id its content is stored under: its own, or its group's.
    pub fn content_id(&self, own: LinkId) -> LinkId {
        self.group.as_ref().map_or(own, |g| g.content)
    }

    /// When the record itself may be deleted: tombstones live until expiry + 7 days.
    pub fn purge_at(&self) -> Timestamp {
        self.expires_at.plus(TOMBSTONE_GRACE)
    }

    /// The next instant at which time alone changes this record (expiry, lease end, purge).
    pub fn next_deadline(&self) -> Timestamp {
        match self.state {
            State::Fresh | State::Asking => self.expires_at,
            State::Claimed { until, .. } => until,
            _ => self.purge_at(),
        }
    }

    /// The sender's view.
    pub fn report(&self) -> StatusReport {
        StatusReport {
            state: self.state.kind(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            claimed_at: self.claimed_at,
            ended_at: self.ended_at,
            failed_attempts: self.failed_attempts,
            claimed_via: self.claimed_via,
            // Counted beside the record (a page fetch never writes the record): the relay fills it in.
            previews: 0,
        }
    }

    /// Moves a live lease's end to `now + ttl`, never earlier than it was and never past [`MAX_LEASE_SPAN`] after the
    /// claim. Returns whether it moved.
    fn extend_lease(&mut self, now: Timestamp, ttl: Duration) -> bool {
        let State::Claimed { lease, until } = self.state else { return false };
        let limit = self.claimed_at.unwrap_or(now).plus(MAX_LEASE_SPAN);
        let new = Timestamp(now.plus(ttl).0.min(limit.0));
        if new <= until {
            return false;
        }
        self.state = State::Claimed { lease, until: new };
        true
    }

    fn end(&mut self, state: State, now: Timestamp) {
        self.state = state;
        self.uploading = false;
        self.ended_at = Some(now);
    }

    /// Applies what time alone does: expiry of a fresh link, end of a lease.
    fn settle(&mut self, now: Timestamp) -> bool {
        match self.state {
            State::Fresh | State::Asking if now >= self.expires_at => {
                let at = self.expires_at;
                self.end(State::Expired, at);
                true
            }
            State::Claimed { until, .. } if now >= until => {
                self.end(State::Consumed, until);
                true
            }
            _ => false,
        }
    }

    /// Storage encoding (versioned; version 2 added the holder hash, 3 the uploading flag, 4 tagged fields).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        let plain =
            self.claimed_via.is_none() && self.rules.is_empty() && self.group.is_none() && self.asking.is_none();
        let version = match (plain, self.uploading) {
            (false, _) => 4,
            (true, true) => 3,
            (true, false) => 2,
        };
        w.u8(version).u8(self.state.kind() as u8);
        if let State::Claimed { lease, until } = self.state {
            w.bytes(&lease.0).time(until);
        }
        w.time(self.created_at)
            .time(self.expires_at)
            .opt_time(self.claimed_at)
            .opt_time(self.ended_at)
            .u8(self.failed_attempts)
            .bytes(&self.claim_hash.0)
            .bytes(&self.holder_hash.0)
            .bytes(&self.manage_hash.0)
            .meta(&self.meta)
            .u64(self.size);
        match version {
            3 => {
                w.u8(1);
            }
            4 => {
                // Fields, each `tag u8 | length u16 | value`, in tag order; absent ones are left out.
                let mut field = |tag: u8, value: &[u8]| {
                    w.u8(tag).u16(value.len() as u16).bytes(value);
                };
                if self.uploading {
                    field(field::UPLOADING, &[]);
                }
                if let Some(via) = self.claimed_via {
                    field(field::CLAIMED_VIA, &[via as u8]);
                }
                if !self.rules.is_empty() {
                    let mut r = Writer::default();
                    r.rules(&self.rules);
                    field(field::RULES, &r.0);
                }
                if let Some(g) = &self.group {
                    let mut v = g.content.0.to_vec();
                    v.extend(g.members.iter().flat_map(|m| m.0));
                    field(field::GROUP, &v);
                }
                if let Some(a) = &self.asking {
                    let mut v = a.answer_hash.0.to_vec();
                    v.push(a.left);
                    v.extend(a.answers.iter().flat_map(|m| m.0));
                    field(field::ASKING, &v);
                }
            }
            _ => {}
        }
        w.0
    }

    /// Decodes [`Record::encode`].
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let version = r.u8()?;
        if !(2..=RECORD_VERSION).contains(&version) {
            // Version 1 records have no holder hash; honouring them would reopen the attack the holder proof closes.
            return Err(DecodeError::Invalid("unknown record version"));
        }
        let state = match StateKind::from_u8(r.u8()?).ok_or(DecodeError::Invalid("unknown state"))? {
            StateKind::Fresh => State::Fresh,
            StateKind::Claimed => State::Claimed { lease: r.digest()?, until: r.time()? },
            StateKind::Consumed => State::Consumed,
            StateKind::Expired => State::Expired,
            StateKind::Revoked => State::Revoked,
            StateKind::BurnedByAttempts => State::BurnedByAttempts,
            StateKind::UploadFailed => State::UploadFailed,
            StateKind::Asking => State::Asking,
        };
        let mut rec = Self {
            state,
            created_at: r.time()?,
            expires_at: r.time()?,
            claimed_at: r.opt_time()?,
            ended_at: r.opt_time()?,
            failed_attempts: r.u8()?,
            claim_hash: r.digest()?,
            holder_hash: r.digest()?,
            manage_hash: r.digest()?,
            meta: r.meta()?,
            size: r.u64()?,
            uploading: version == 3,
            claimed_via: None,
            rules: Rules::default(),
            group: None,
            asking: None,
        };
        match version {
            3 if r.u8()? != 1 => return Err(DecodeError::Invalid("bad flag")),
            4 => {
                let mut last = 0;
                while !r.is_empty() {
                    let tag = r.u8()?;
                    if tag <= last {
                        return Err(DecodeError::Invalid("record fields out of order"));
                    }
                    last = tag;
                    let len = r.u16()? as usize;
                    let mut v = r.sub(len)?;
                    match tag {
                        field::UPLOADING => rec.uploading = true,
                        field::CLAIMED_VIA => {
                            rec.claimed_via =
                                Some(ClientKind::from_u8(v.u8()?).ok_or(DecodeError::Invalid("unknown client kind"))?)
                        }
                        field::RULES => rec.rules = v.rules()?,
                        field::GROUP => {
                            let content = v.id()?;
                            let mut members = Vec::new();
                            while !v.is_empty() && members.len() < MAX_RECIPIENTS {
                                members.push(v.id()?);
                            }
                            rec.group = Some(Group { content, members });
                        }
                        field::ASKING => {
                            let answer_hash = v.digest()?;
                            let left = v.u8()?;
                            let mut answers = Vec::new();
                            while !v.is_empty() && answers.len() < usize::from(MAX_ANSWERS) {
                                answers.push(v.id()?);
                            }
                            rec.asking = Some(Asking { answer_hash, left, answers });
                        }
                        // A rule this relay does not know must not be dropped by a rewrite of the record.
                        _ => return Err(DecodeError::Invalid("unknown record field")),
                    }
                    v.end()?;
                }
            }
            _ => {}
        }
        r.end()?;
        Ok(rec)
    }
}

/// Who claims a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Claimer {
    /// The kind of client, if it said.
    pub via: Option<ClientKind>,
    /// The address the relay sees it at (`None`: unknown, which no allowlist admits).
    pub from: Option<IpAddr>,
}

/// What a holder claiming from outside a link's allowlist is told.
pub const NOT_ALLOWED: &str = "this link can only be opened from the networks its sender allowed";

/// Something that happens to a link.
#[derive(Debug)]
pub enum Event<'a> {
    /// A recipient asks what is known.
    Peek,
    /// A recipient proves `holder` and `key`; on success it gets `lease` for `lease_ttl`.
    Claim {
        /// The holder proof sent.
        holder: &'a HolderProof,
        /// The claim key sent.
        key: &'a ClaimKey,
        /// A fresh lease token the relay made for this claim.
        lease: &'a LeaseToken,
        /// Lease length.
        lease_ttl: Duration,
        /// Who claims: the kind of client (kept for the sender's event log) and its address (checked against the
        /// link's allowlist).
        by: Claimer,
    },
    /// [`Event::Claim`] unless the link has a passphrase: then the holder gets what a peek would, and nothing changes.
    ClaimPlain {
        /// The holder proof sent.
        holder: &'a HolderProof,
        /// The claim key sent (derived without a passphrase).
        key: &'a ClaimKey,
        /// A fresh lease token the relay made for this claim.
        lease: &'a LeaseToken,
        /// Lease length.
        lease_ttl: Duration,
        /// As in [`Event::Claim`].
        by: Claimer,
    },
    /// The lease holder continues from `offset`; the lease runs `lease_ttl` from now (within [`MAX_LEASE_SPAN`]).
    Resume {
        /// Lease token sent.
        lease: &'a LeaseToken,
        /// Offset wanted.
        offset: u64,
        /// Lease length.
        lease_ttl: Duration,
    },
    /// Bytes are still flowing to the lease holder (`served` so far): the lease runs `lease_ttl` from now (within
    /// [`MAX_LEASE_SPAN`]), so a slow download is not cut off by a lease sized for a fast one.
    Extend {
        /// The lease being served.
        lease: &'a LeaseToken,
        /// Bytes served so far on this download.
        served: u64,
        /// Lease length.
        lease_ttl: Duration,
    },
    /// The sender's live upload finished: `size` bytes of ciphertext are stored.
    Uploaded {
        /// The real ciphertext size.
        size: u64,
    },
    /// The sender's live upload ended before it finished.
    UploadFailed,
    /// The lease holder verified the last chunk.
    Ack {
        /// Lease token sent.
        lease: &'a LeaseToken,
    },
    /// The sender asks for the state.
    Status {
        /// Manage token sent.
        manage: &'a ManageToken,
    },
    /// The sender revokes.
    Revoke {
        /// Manage token sent.
        manage: &'a ManageToken,
    },
    /// The sweeper's visit: apply expiry, lease ends, purge.
    Tick,
    /// Someone who proves holding a request link answers it with the new link `answer`.
    Answer {
        /// The answer proof sent.
        proof: &'a AnswerProof,
        /// The answer's id.
        answer: LinkId,
    },
    /// The requester (who proves holding the request's secret) asks for the answers.
    Answers {
        /// The holder proof sent.
        holder: &'a HolderProof,
    },
}

/// What the relay must do after an event.
#[derive(Debug)]
pub struct Outcome {
    /// The record to store (compare-and-set against the one read), or `None` if unchanged.
    pub next: Option<Record>,
    /// Delete the whole record (a tombstone past its grace period).
    pub purge: bool,
    /// Delete the ciphertext: the new state holds none.
    pub drop_content: bool,
    /// The answer to send.
    pub reply: Response,
    /// After the answer, stream ciphertext from this offset.
    pub serve_from: Option<u64>,
}

impl Outcome {
    fn reply(reply: Response) -> Self {
        Self { next: None, purge: false, drop_content: false, reply, serve_from: None }
    }
}

/// Runs one event against a link's record (`None`: no such link).
pub fn step(current: Option<&Record>, now: Timestamp, event: Event<'_>) -> Outcome {
    let Some(current) = current else {
        return Outcome::reply(Response::Gone);
    };
    let (event, plain_only) = match event {
        Event::ClaimPlain { holder, key, lease, lease_ttl, by } => {
            (Event::Claim { holder, key, lease, lease_ttl, by }, true)
        }
        other => (other, false),
    };
    let mut rec = current.clone();
    let mut changed = rec.settle(now);
    let mut serve_from = None;
    let mut purge = false;
    let sender_ok = |m: &ManageToken| m.digest() == rec.manage_hash;

    let reply = match (event, rec.state) {
        (Event::Peek, State::Fresh) => {
            Response::Info(LinkInfo { size: rec.size, expires_at: rec.expires_at, meta: rec.meta })
        }
        (Event::Claim { holder, .. }, State::Fresh) if holder.digest() != rec.holder_hash => {
            // Not the link's holder: the neutral answer, and nothing counted or written.
            Response::Gone
        }
        (Event::Claim { by, .. }, State::Fresh)
            if !rec.rules.allow.is_empty() && !by.from.is_some_and(|ip| allowed(&rec.rules.allow, ip)) =>
        {
            // The holder, from a network the sender did not allow: told why, and nothing counted or written.
            Response::Error { code: crate::proto::ErrorCode::NotAllowed, message: NOT_ALLOWED.into() }
        }
        (Event::Claim { .. }, State::Fresh) if plain_only && rec.meta.kdf.is_some() => {
            // The holder did not know the link needs a passphrase: tell it, as a peek would, and count nothing.
            Response::Info(LinkInfo { size: rec.size, expires_at: rec.expires_at, meta: rec.meta })
        }
        (Event::Claim { key, lease, lease_ttl, by, .. }, State::Fresh) => {
            if key.digest() == rec.claim_hash {
                let until = now.plus(lease_ttl);
                rec.state = State::Claimed { lease: lease.digest(), until };
                rec.claimed_at = Some(now);
                rec.claimed_via = by.via;
                serve_from = Some(0);
                changed = true;
                Response::Claimed { lease: lease.clone(), lease_expires_at: until, size: rec.size, live: rec.uploading }
            } else {
                rec.failed_attempts = rec.failed_attempts.saturating_add(1);
                if rec.failed_attempts >= MAX_FAILED_PROOFS {
                    rec.end(State::BurnedByAttempts, now);
                }
                changed = true;
                Response::WrongProof { attempts_left: MAX_FAILED_PROOFS.saturating_sub(rec.failed_attempts) }
            }
        }
        (Event::Resume { lease, offset, lease_ttl }, State::Claimed { lease: held, .. }) if lease.digest() == held => {
            if offset > rec.size && !rec.uploading {
                Response::Error { code: crate::proto::ErrorCode::BadRequest, message: "offset past the end".into() }
            } else {
                changed |= rec.extend_lease(now, lease_ttl);
                serve_from = Some(offset);
                Response::Resumed { offset, size: rec.size, live: rec.uploading }
            }
        }
        (Event::Extend { lease, served, lease_ttl }, State::Claimed { lease: held, .. }) if lease.digest() == held => {
            changed |= rec.extend_lease(now, lease_ttl);
            Response::Resumed { offset: served.min(rec.size), size: rec.size, live: rec.uploading }
        }
        (Event::Ack { .. }, State::Claimed { .. }) if rec.uploading => {
            // Nothing can have verified the last chunk of an upload that has not ended.
            Response::Error { code: crate::proto::ErrorCode::BadRequest, message: "the upload has not finished".into() }
        }
        (Event::Ack { lease }, State::Claimed { lease: held, .. }) if lease.digest() == held => {
            rec.end(State::Consumed, now);
            changed = true;
            Response::Acked
        }
        (Event::Uploaded { size }, state) if state.kind().holds_content() => {
            if rec.uploading {
                rec.uploading = false;
                rec.size = size;
                changed = true;
            }
            Response::Stored { size: rec.size }
        }
        (Event::UploadFailed, state) if state.kind().holds_content() && rec.uploading => {
            rec.uploading = false;
            rec.end(State::UploadFailed, now);
            changed = true;
            Response::Gone
        }
        (Event::Status { manage }, _) if sender_ok(manage) => Response::Status(rec.report()),
        (Event::Answer { proof, answer }, State::Asking)
            if rec.asking.as_ref().is_some_and(|a| a.left > 0 && proof.digest() == a.answer_hash) =>
        {
            if let Some(a) = rec.asking.as_mut() {
                a.left -= 1;
                a.answers.push(answer);
            }
            changed = true;
            // What the answer's record takes from the request (see `Record::answering`).
            Response::Info(LinkInfo { size: 0, expires_at: rec.expires_at, meta: rec.meta })
        }
        (Event::Answers { holder }, state) if rec.asking.is_some() && holder.digest() == rec.holder_hash => {
            let a = rec.asking.as_ref().expect("checked in the guard");
            Response::Answers(AnswerList {
                state: state.kind(),
                expires_at: rec.expires_at,
                left: a.left,
                // The relay fills in each answer's state from its own record.
                answers: a.answers.iter().map(|&id| AnswerEntry { id, state: StateKind::Fresh }).collect(),
            })
        }
        (Event::Revoke { manage }, state) if sender_ok(manage) => {
            if state.kind().holds_content() || state == State::Asking {
                rec.end(State::Revoked, now);
                changed = true;
            }
            Response::Status(rec.report())
        }
        (Event::Tick, state) => {
            purge = !state.kind().holds_content() && now >= rec.purge_at();
            Response::Gone
        }
        _ => Response::Gone,
    };
    let drop_content = current.state.kind().holds_content() && !rec.state.kind().holds_content();
    Outcome { next: changed.then_some(rec), purge, drop_content, reply, serve_from }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KdfParams, SecretCheck};

    const T0: Timestamp = Timestamp(1_000_000);

    fn holder() -> HolderProof {
        HolderProof::from_bytes([5; 32])
    }

    /// A claim with `key` by `holder`, taking `lease` for the default lease, from an unnamed client.
    fn claim_with<'a>(holder: &'a HolderProof, key: &'a ClaimKey, lease: &'a LeaseToken) -> Event<'a> {
        Event::Claim { holder, key, lease, lease_ttl: DEFAULT_LEASE, by: Claimer::default() }
    }

    fn fresh() -> (Record, ClaimKey, ManageToken) {
        let c = ClaimKey::from_bytes([1; 32]);
        let m = ManageToken::from_bytes([2; 32]);
        let req = CreateRequest {
            ttl_secs: 3600,
            claim_hash: c.digest(),
            holder_hash: holder().digest(),
            manage_hash: m.digest(),
            meta: PublicMeta {
                check: SecretCheck([0; 16]),
                kdf: Some(KdfParams { salt: [1; 16], m_kib: 65536, t: 3, p: 4 }),
            },
            live: None,
            rules: Default::default(),
            extra: Vec::new(),
            answer: None,
        };
        (Record::new(&req, 1000, T0).unwrap(), c, m)
    }

    fn live() -> (Record, ClaimKey, ManageToken) {
        let (r, c, m) = fresh();
        (Record { uploading: true, ..r }, c, m)
    }

    #[test]
    fn a_live_link_is_claimed_while_uploading_and_acked_only_after_it_is_stored() {
        let (r, c, m) = live();
        let lease = LeaseToken::from_bytes([3; 32]);
        let o = step(Some(&r), T0, claim_with(&holder(), &c, &lease));
        assert!(matches!(o.reply, Response::Claimed { size: 1000, live: true, .. }));
        let r = o.next.unwrap();
        // Resuming past the estimate is fine while the upload runs: the content may be longer than guessed.
        let o = step(Some(&r), T0, Event::Resume { lease: &lease, offset: 5000, lease_ttl: DEFAULT_LEASE });
        assert!(matches!(o.reply, Response::Resumed { offset: 5000, live: true, .. }));
        // An ack before the upload ended is refused and changes nothing.
        let o = step(Some(&r), T0, Event::Ack { lease: &lease });
        assert!(matches!(o.reply, Response::Error { .. }) && o.next.is_none() && !o.drop_content);
        // The upload ends: the real size replaces the estimate, and the lease holder may ack.
        let o = step(Some(&r), T0, Event::Uploaded { size: 1234 });
        assert!(matches!(o.reply, Response::Stored { size: 1234 }));
        let r = o.next.unwrap();
        assert!(!r.uploading && r.size == 1234 && r.state.kind() == StateKind::Claimed);
        assert_eq!(Record::decode(&r.encode()).unwrap(), r);
        let o = step(Some(&r), T0, Event::Resume { lease: &lease, offset: 1235, lease_ttl: DEFAULT_LEASE });
        assert!(matches!(o.reply, Response::Error { .. }));
        let o = step(Some(&r), T0, Event::Ack { lease: &lease });
        assert!(matches!(o.reply, Response::Acked) && o.drop_content);
        let _ = m;
    }

    #[test]
    fn an_upload_that_ends_early_ends_the_link_and_only_the_sender_sees_why() {
        let (r, c, m) = live();
        let lease = LeaseToken::from_bytes([3; 32]);
        let claimed = step(Some(&r), T0, claim_with(&holder(), &c, &lease)).next.unwrap();
        for rec in [&r, &claimed] {
            let o = step(Some(rec), T0, Event::UploadFailed);
            assert!(o.drop_content, "the content goes");
            let failed = o.next.unwrap();
            assert_eq!(failed.state.kind(), StateKind::UploadFailed);
            assert!(!failed.uploading);
            let o = step(Some(&failed), T0, Event::Status { manage: &m });
            assert!(matches!(o.reply, Response::Status(s) if s.state == StateKind::UploadFailed));
            assert!(matches!(step(Some(&failed), T0, Event::Peek).reply, Response::Gone));
            let o = step(Some(&failed), T0, Event::Resume { lease: &lease, offset: 0, lease_ttl: DEFAULT_LEASE });
            assert!(matches!(o.reply, Response::Gone));
            // A late "stored" changes nothing.
            let o = step(Some(&failed), T0, Event::Uploaded { size: 10 });
            assert!(matches!(o.reply, Response::Gone) && o.next.is_none());
        }
        // A finished upload cannot fail afterwards, and a link that is not live never does.
        let (done, ..) = fresh();
        let o = step(Some(&done), T0, Event::UploadFailed);
        assert!(o.next.is_none() && !o.drop_content);
        // A link revoked mid-upload stays revoked; the upload's end then hears "gone".
        let revoked = step(Some(&r), T0, Event::Revoke { manage: &m }).next.unwrap();
        assert_eq!(revoked.state.kind(), StateKind::Revoked);
        assert!(matches!(step(Some(&revoked), T0, Event::Uploaded { size: 10 }).reply, Response::Gone));
    }

    #[test]
    fn only_uploading_records_change_encoding_so_older_ones_still_compare_equal() {
        let (r, ..) = fresh();
        // A record that is not uploading is byte for byte a version 2 record: compare-and-set against records stored
        // before live links existed still matches.
        let v2 = r.encode();
        assert_eq!(v2[0], 2);
        assert_eq!(Record::decode(&v2).unwrap(), r);
        let (l, ..) = live();
        let v3 = l.encode();
        assert_eq!((v3[0], v3.len()), (3, v2.len() + 1));
        assert_eq!(Record::decode(&v3).unwrap(), l);
        let mut bad = v3.clone();
        *bad.last_mut().unwrap() = 0;
        assert!(Record::decode(&bad).is_err(), "a version 3 record is always uploading");
        let mut bad = v3;
        bad[0] = 5;
        assert!(Record::decode(&bad).is_err(), "a version from the future");
        // Newer fields make a version 4 record: tagged fields after the size, in tag order.
        for (rec, uploading) in [(r.clone(), false), (l.clone(), true)] {
            let claimed = Record { claimed_via: Some(ClientKind::Browser), ..rec.clone() };
            let v4 = claimed.encode();
            let mut fields = if uploading { vec![1, 0, 0] } else { vec![] };
            fields.extend([2, 0, 1, 2]);
            assert_eq!((v4[0], &v4[v2.len()..]), (4, &fields[..]));
            assert_eq!(Record::decode(&v4).unwrap(), claimed);
            let ruled = Record {
                rules: Rules {
                    policy: Some(Template::UltraSecure),
                    allow: vec!["192.0.2.0/24".parse().unwrap(), "2001:db8::/32".parse().unwrap()],
                },
                ..claimed.clone()
            };
            assert_eq!(Record::decode(&ruled.encode()).unwrap(), ruled);
            let only_rules = Record { rules: ruled.rules.clone(), ..rec };
            assert_eq!(only_rules.encode()[0], 4, "rules alone make a version 4 record");
            assert_eq!(Record::decode(&only_rules.encode()).unwrap(), only_rules);
            let mut bad = v4.clone();
            *bad.last_mut().unwrap() = 0;
            assert!(Record::decode(&bad).is_err(), "a claimed-via field names a kind");
            bad.pop();
            assert!(Record::decode(&bad).is_err(), "a field shorter than its length");
            let mut unknown = v4.clone();
            unknown.extend([9, 0, 0]);
            assert!(Record::decode(&unknown).is_err(), "a field this relay does not know is never dropped");
            let mut twice = v4.clone();
            twice.extend([2, 0, 1, 2]);
            assert!(Record::decode(&twice).is_err(), "fields in order, each once");
        }
        // A recipient's link of a shared upload names the group's content and members.
        let members = vec![LinkId([1; 16]), LinkId([2; 16]), LinkId([3; 16])];
        let grouped = Record { group: Some(Group { content: LinkId([1; 16]), members }), ..r.clone() };
        assert_eq!(grouped.encode()[0], 4);
        assert_eq!(Record::decode(&grouped.encode()).unwrap(), grouped);
        assert_eq!(grouped.content_id(LinkId([3; 16])), LinkId([1; 16]));
        assert_eq!(r.content_id(LinkId([3; 16])), LinkId([3; 16]));
        let mut ragged = grouped.encode();
        let at = ragged.len() - 1;
        ragged.remove(at);
        assert!(Record::decode(&ragged).is_err(), "a member id cut short");
    }

    #[test]
    fn a_claim_from_outside_the_allowlist_counts_nothing_and_says_why_only_to_the_holder() {
        let (mut r, c, _) = fresh();
        r.rules.allow = vec!["10.0.0.0/8".parse().unwrap()];
        let lease = LeaseToken::from_bytes([3; 32]);
        let wrong = ClaimKey::from_bytes([9; 32]);
        let at = |ip: Option<&str>| Claimer { via: Some(ClientKind::Cli), from: ip.map(|s| s.parse().unwrap()) };
        for (key, from) in [(&c, Some("192.0.2.1")), (&wrong, Some("192.0.2.1")), (&c, None)] {
            let o = step(
                Some(&r),
                T0,
                Event::Claim { holder: &holder(), key, lease: &lease, lease_ttl: DEFAULT_LEASE, by: at(from) },
            );
            assert!(o.next.is_none() && o.serve_from.is_none(), "nothing written, nothing served, nothing counted");
            assert!(matches!(o.reply, Response::Error { code: crate::proto::ErrorCode::NotAllowed, .. }));
        }
        // Someone without the holder proof learns nothing, not even that an allowlist exists.
        let stranger = HolderProof::from_bytes([6; 32]);
        let o = step(
            Some(&r),
            T0,
            Event::Claim {
                holder: &stranger,
                key: &c,
                lease: &lease,
                lease_ttl: DEFAULT_LEASE,
                by: at(Some("192.0.2.1")),
            },
        );
        assert!(matches!(o.reply, Response::Gone));
        let o = step(
            Some(&r),
            T0,
            Event::Claim {
                holder: &holder(),
                key: &c,
                lease: &lease,
                lease_ttl: DEFAULT_LEASE,
                by: at(Some("10.1.2.3")),
            },
        );
        assert!(matches!(o.reply, Response::Claimed { .. }));
        assert_eq!(o.next.unwrap().claimed_via, Some(ClientKind::Cli));
    }

    #[test]
    fn a_template_bounds_the_expiry_and_may_require_a_passphrase() {
        let (r, ..) = fresh();
        let req = |ttl_secs: u32, policy, kdf: bool| CreateRequest {
            ttl_secs,
            claim_hash: r.claim_hash,
            holder_hash: r.holder_hash,
            manage_hash: r.manage_hash,
            meta: PublicMeta { check: r.meta.check, kdf: if kdf { r.meta.kdf } else { None } },
            live: None,
            rules: Rules { policy, allow: Vec::new() },
            extra: Vec::new(),
            answer: None,
        };
        let ultra = Some(Template::UltraSecure);
        assert_eq!(Record::check_request(&req(3600, ultra, true)), Ok(()));
        assert_eq!(
            Record::check_request(&req(2 * 86_400, ultra, true)),
            Err(CreateError::PolicyTtl(Template::UltraSecure))
        );
        assert_eq!(
            Record::check_request(&req(3600, ultra, false)),
            Err(CreateError::PolicyPassphrase(Template::UltraSecure))
        );
        assert_eq!(Record::check_request(&req(30 * 86_400, None, false)), Ok(()), "no template: the relay's bounds");
        assert_eq!(Record::check_request(&req(30 * 86_400, Some(Template::Lightweight), false)), Ok(()));
        assert_eq!(
            CreateError::PolicyTtl(Template::UltraSecure).to_string(),
            "the ultra-secure policy allows an expiry of at most 24 hours"
        );
        assert_eq!(CreateError::PolicyTtl(Template::Standard).to_string().rsplit(' ').nth(1), Some("7"));
        let mut group = req(3600, None, false);
        let one = Recipient {
            claim_hash: r.claim_hash,
            holder_hash: r.holder_hash,
            manage_hash: r.manage_hash,
            meta: r.meta,
        };
        group.extra = vec![one.clone(); MAX_RECIPIENTS - 1];
        assert_eq!(Record::check_request(&group), Ok(()));
        group.extra.push(one);
        assert_eq!(Record::check_request(&group), Err(CreateError::Recipients));
        group.extra.truncate(2);
        group.live = Some(1000);
        assert_eq!(Record::check_request(&group), Err(CreateError::LiveGroup));
        let mut long = req(3600, None, false);
        long.rules.allow = vec!["10.0.0.0/8".parse().unwrap(); MAX_ALLOW + 1];
        assert_eq!(Record::check_request(&long), Err(CreateError::Allowlist));
    }

    #[test]
    fn a_plain_claim_opens_a_link_without_a_passphrase_and_only_peeks_at_one_with() {
        let lease = LeaseToken::from_bytes([3; 32]);
        let (with_pass, _, m) = fresh();
        let unpassed = ClaimKey::from_bytes([9; 32]);
        let ev = |holder, key| Event::ClaimPlain {
            holder,
            key,
            lease: &lease,
            lease_ttl: DEFAULT_LEASE,
            by: Claimer::default(),
        };
        let me = holder();
        let o = step(Some(&with_pass), T0, ev(&me, &unpassed));
        assert!(matches!(o.reply, Response::Info(i) if i.meta == with_pass.meta), "{:?}", o.reply);
        assert!(o.next.is_none() && o.serve_from.is_none(), "no attempt counted, nothing served");
        let stranger = HolderProof::from_bytes([6; 32]);
        assert!(matches!(step(Some(&with_pass), T0, ev(&stranger, &unpassed)).reply, Response::Gone));
        let plain =
            Record { meta: PublicMeta { kdf: None, ..with_pass.meta }, claim_hash: unpassed.digest(), ..with_pass };
        let o = step(Some(&plain), T0, ev(&me, &unpassed));
        assert!(matches!(o.reply, Response::Claimed { .. }) && o.serve_from == Some(0));
        let claimed = o.next.unwrap();
        // Anyone after that, plain or not, finds it gone.
        assert!(matches!(step(Some(&claimed), T0, ev(&me, &unpassed)).reply, Response::Gone));
        let _ = m;
    }

    #[test]
    fn ttl_bounds() {
        let (r, ..) = fresh();
        let mut req = CreateRequest {
            ttl_secs: 299,
            claim_hash: r.claim_hash,
            holder_hash: r.holder_hash,
            manage_hash: r.manage_hash,
            meta: r.meta,
            live: None,
            rules: Default::default(),
            extra: Vec::new(),
            answer: None,
        };
        assert_eq!(Record::new(&req, 0, T0).unwrap_err(), CreateError::Ttl);
        req.ttl_secs = 300;
        Record::new(&req, 0, T0).unwrap();
        req.ttl_secs = 30 * 24 * 3600 + 1;
        assert_eq!(Record::new(&req, 0, T0).unwrap_err(), CreateError::Ttl);
    }

    #[test]
    fn happy_path_claim_resume_ack() {
        let (r, c, m) = fresh();
        let lease = LeaseToken::from_bytes([3; 32]);
        let o = step(Some(&r), T0, claim_with(&holder(), &c, &lease));
        assert!(matches!(o.reply, Response::Claimed { size: 1000, .. }));
        assert_eq!(o.serve_from, Some(0));
        assert!(!o.drop_content);
        let r = o.next.unwrap();
        assert_eq!(r.state.kind(), StateKind::Claimed);

        // A second claimer, even with the right key, is gone.
        let other = LeaseToken::from_bytes([4; 32]);
        let o = step(Some(&r), T0, claim_with(&holder(), &c, &other));
        assert!(matches!(o.reply, Response::Gone) && o.next.is_none());
        // Only the lease holder resumes.
        let o = step(Some(&r), T0, Event::Resume { lease: &other, offset: 0, lease_ttl: DEFAULT_LEASE });
        assert!(matches!(o.reply, Response::Gone));
        let o = step(Some(&r), T0, Event::Resume { lease: &lease, offset: 500, lease_ttl: DEFAULT_LEASE });
        assert!(matches!(o.reply, Response::Resumed { offset: 500, size: 1000, live: false }));
        assert_eq!(o.serve_from, Some(500));
        let o = step(Some(&r), T0, Event::Resume { lease: &lease, offset: 1001, lease_ttl: DEFAULT_LEASE });
        assert!(matches!(o.reply, Response::Error { .. }) && o.serve_from.is_none());

        let o = step(Some(&r), T0, Event::Ack { lease: &lease });
        assert!(matches!(o.reply, Response::Acked));
        assert!(o.drop_content);
        let r = o.next.unwrap();
        assert_eq!(r.state, State::Consumed);
        match step(Some(&r), T0, Event::Status { manage: &m }).reply {
            Response::Status(s) => {
                assert_eq!(s.state, StateKind::Consumed);
                assert_eq!(s.claimed_at, Some(T0));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nine_wrong_proofs_keep_the_link_the_tenth_burns_it() {
        let (mut r, c, m) = fresh();
        let wrong = ClaimKey::from_bytes([9; 32]);
        let lease = LeaseToken::from_bytes([3; 32]);
        for i in 1..=9u8 {
            let o = step(Some(&r), T0, claim_with(&holder(), &wrong, &lease));
            assert!(matches!(o.reply, Response::WrongProof { attempts_left } if attempts_left == 10 - i));
            assert!(!o.drop_content && o.serve_from.is_none());
            r = o.next.unwrap();
            assert_eq!(r.state, State::Fresh);
        }
        let saved = r.clone();
        let o = step(Some(&saved), T0, claim_with(&holder(), &c, &lease));
        assert!(matches!(o.reply, Response::Claimed { .. }), "right key after 9 wrong ones still works");

        let o = step(Some(&r), T0, claim_with(&holder(), &wrong, &lease));
        assert!(matches!(o.reply, Response::WrongProof { attempts_left: 0 }));
        assert!(o.drop_content);
        let r = o.next.unwrap();
        assert_eq!(r.state, State::BurnedByAttempts);
        let o = step(Some(&r), T0, claim_with(&holder(), &c, &lease));
        assert!(matches!(o.reply, Response::Gone));
        let Response::Status(s) = step(Some(&r), T0, Event::Status { manage: &m }).reply else { panic!() };
        assert_eq!((s.state, s.failed_attempts), (StateKind::BurnedByAttempts, 10));
    }

    #[test]
    fn a_lease_runs_on_while_bytes_flow_within_its_span() {
        let (r, c, _) = fresh();
        let lease = LeaseToken::from_bytes([3; 32]);
        let other = LeaseToken::from_bytes([4; 32]);
        let me = holder();
        let claim = claim_with(&me, &c, &lease);
        let mut r = step(Some(&r), T0, claim).next.unwrap();
        let until = |r: &Record| match r.state {
            State::Claimed { until, .. } => until,
            other => panic!("{other:?}"),
        };
        assert_eq!(until(&r), T0.plus(DEFAULT_LEASE));
        // Nine minutes in, bytes are still flowing: the lease runs ten minutes from now.
        let t = T0.plus(Duration::from_secs(9 * 60));
        let o = step(Some(&r), t, Event::Extend { lease: &lease, served: 10, lease_ttl: DEFAULT_LEASE });
        assert!(o.serve_from.is_none());
        r = o.next.unwrap();
        assert_eq!(until(&r), t.plus(DEFAULT_LEASE));
        // A stranger's lease extends nothing; neither does a shorter ttl.
        let o = step(Some(&r), t, Event::Extend { lease: &other, served: 10, lease_ttl: DEFAULT_LEASE });
        assert!(o.next.is_none() && matches!(o.reply, Response::Gone));
        let o = step(Some(&r), t, Event::Extend { lease: &lease, served: 10, lease_ttl: Duration::from_secs(1) });
        assert!(o.next.is_none(), "never shortened");
        // A resume extends too.
        let t = t.plus(Duration::from_secs(9 * 60));
        let o = step(Some(&r), t, Event::Resume { lease: &lease, offset: 20, lease_ttl: DEFAULT_LEASE });
        assert_eq!(o.serve_from, Some(20));
        r = o.next.unwrap();
        assert_eq!(until(&r), t.plus(DEFAULT_LEASE));
        // Never past the span after the claim: near its end, the lease stops there, and then it ends.
        let near = T0.plus(MAX_LEASE_SPAN - Duration::from_secs(60));
        r.state = State::Claimed { lease: lease.digest(), until: near };
        let now = T0.plus(MAX_LEASE_SPAN - Duration::from_secs(61));
        r = step(Some(&r), now, Event::Extend { lease: &lease, served: 30, lease_ttl: DEFAULT_LEASE }).next.unwrap();
        assert_eq!(until(&r), T0.plus(MAX_LEASE_SPAN));
        let end = T0.plus(MAX_LEASE_SPAN);
        let o = step(Some(&r), end, Event::Extend { lease: &lease, served: 40, lease_ttl: DEFAULT_LEASE });
        assert!(matches!(o.reply, Response::Gone) && o.drop_content, "the span is over: consumed");
    }

    #[test]
    fn claims_without_the_holder_proof_count_nothing() {
        let (r, c, m) = fresh();
        let lease = LeaseToken::from_bytes([3; 32]);
        let stranger = HolderProof::from_bytes([6; 32]);
        let wrong = ClaimKey::from_bytes([9; 32]);
        for key in [&wrong, &c] {
            for _ in 0..1000 {
                let o = step(
                    Some(&r),
                    T0,
                    Event::Claim {
                        holder: &stranger,
                        key,
                        lease: &lease,
                        lease_ttl: DEFAULT_LEASE,
                        by: Claimer::default(),
                    },
                );
                assert!(matches!(o.reply, Response::Gone), "a stranger learns nothing");
                assert!(o.next.is_none() && !o.drop_content && o.serve_from.is_none(), "and changes nothing");
            }
        }
        let Response::Status(s) = step(Some(&r), T0, Event::Status { manage: &m }).reply else { panic!() };
        assert_eq!((s.state, s.failed_attempts), (StateKind::Fresh, 0));
        let o = step(Some(&r), T0, claim_with(&holder(), &c, &lease));
        assert!(matches!(o.reply, Response::Claimed { .. }), "the holder still opens it");
    }

    #[test]
    fn expiry_lease_end_and_purge() {
        let (r, c, m) = fresh();
        let later = r.expires_at;
        let o = step(Some(&r), later, Event::Peek);
        assert!(matches!(o.reply, Response::Gone));
        assert!(o.drop_content);
        let expired = o.next.unwrap();
        assert_eq!(expired.state, State::Expired);
        assert_eq!(expired.ended_at, Some(r.expires_at));
        assert!(!step(Some(&expired), later, Event::Tick).purge);
        assert!(step(Some(&expired), expired.purge_at(), Event::Tick).purge);

        let lease = LeaseToken::from_bytes([3; 32]);
        let claimed = step(Some(&r), T0, claim_with(&holder(), &c, &lease)).next.unwrap();
        let end = T0.plus(DEFAULT_LEASE);
        let o = step(Some(&claimed), end, Event::Resume { lease: &lease, offset: 0, lease_ttl: DEFAULT_LEASE });
        assert!(matches!(o.reply, Response::Gone));
        assert!(o.drop_content);
        assert_eq!(o.next.unwrap().state, State::Consumed);
        let o = step(Some(&claimed), end, Event::Status { manage: &m });
        assert!(matches!(o.reply, Response::Status(StatusReport { state: StateKind::Consumed, .. })));
    }

    #[test]
    fn revoke_needs_the_manage_token_and_everything_else_is_gone() {
        let (r, c, m) = fresh();
        let wrong = ManageToken::from_bytes([7; 32]);
        let o = step(Some(&r), T0, Event::Revoke { manage: &wrong });
        assert!(matches!(o.reply, Response::Gone) && o.next.is_none());
        let o = step(Some(&r), T0, Event::Revoke { manage: &m });
        assert!(o.drop_content);
        let r = o.next.unwrap();
        assert_eq!(r.state, State::Revoked);
        let lease = LeaseToken::from_bytes([3; 32]);
        for ev in [Event::Peek, claim_with(&holder(), &c, &lease), Event::Status { manage: &wrong }] {
            assert!(matches!(step(Some(&r), T0, ev).reply, Response::Gone));
        }
        assert!(matches!(step(None, T0, Event::Peek).reply, Response::Gone));
    }

    #[test]
    fn record_encoding_round_trips() {
        let (r, c, _) = fresh();
        assert_eq!(Record::decode(&r.encode()).unwrap(), r);
        let lease = LeaseToken::from_bytes([3; 32]);
        let claimed = step(Some(&r), T0, claim_with(&holder(), &c, &lease)).next.unwrap();
        assert_eq!(Record::decode(&claimed.encode()).unwrap(), claimed);
        let mut bad = claimed.encode();
        bad.push(0);
        assert!(Record::decode(&bad).is_err());
    }

    /// An ASKING record that takes `answers` answers for an hour: its claim key, manage token and answer proof.
    fn asking(answers: u8) -> (Record, ClaimKey, ManageToken, AnswerProof) {
        let c = ClaimKey::from_bytes([1; 32]);
        let m = ManageToken::from_bytes([2; 32]);
        let a = AnswerProof::from_bytes([3; 32]);
        let req = AskRequest {
            ttl_secs: 3600,
            claim_hash: c.digest(),
            holder_hash: holder().digest(),
            manage_hash: m.digest(),
            answer_hash: a.digest(),
            check: SecretCheck([4; 16]),
            answers,
        };
        (Record::new_request(&req, T0).unwrap(), c, m, a)
    }

    #[test]
    fn a_request_takes_as_many_answers_as_asked_and_only_from_holders_of_its_link() {
        let (r, c, _, a) = asking(2);
        assert_eq!((r.state, r.state.kind().holds_content()), (State::Asking, false));
        let answer = |rec: &Record, proof: &AnswerProof, id: u8| {
            step(Some(rec), T0, Event::Answer { proof, answer: LinkId([id; 16]) })
        };

        // Someone who holds only the id: refused, nothing written.
        let o = answer(&r, &AnswerProof::from_bytes([9; 32]), 1);
        assert!(o.next.is_none() && matches!(o.reply, Response::Gone));
        // Nobody can peek at or claim a request, not even its requester: only its answers open.
        let lease = LeaseToken::from_bytes([6; 32]);
        for e in [Event::Peek, claim_with(&holder(), &c, &lease)] {
            let o = step(Some(&r), T0, e);
            assert!(o.next.is_none() && matches!(o.reply, Response::Gone) && o.serve_from.is_none());
        }

        let o = answer(&r, &a, 1);
        let Response::Info(info) = o.reply else { panic!("{:?}", o.reply) };
        assert_eq!(info.meta, r.meta, "the answer takes the request's check");
        let r1 = o.next.unwrap();
        let r2 = answer(&r1, &a, 2).next.unwrap();
        assert_eq!(
            r2.asking.as_ref().map(|x| (x.left, x.answers.clone())),
            Some((0, vec![LinkId([1; 16]), LinkId([2; 16])]))
        );
        assert_eq!(Record::decode(&r2.encode()).unwrap(), r2);
        // A third answer: refused, the request unchanged.
        let o = answer(&r2, &a, 3);
        assert!(o.next.is_none() && matches!(o.reply, Response::Gone));

        // Only the holder of the request's secret lists the answers.
        assert!(matches!(
            step(Some(&r2), T0, Event::Answers { holder: &HolderProof::from_bytes([8; 32]) }).reply,
            Response::Gone
        ));
        let Response::Answers(list) = step(Some(&r2), T0, Event::Answers { holder: &holder() }).reply else { panic!() };
        assert_eq!((list.state, list.left, list.answers.len()), (StateKind::Asking, 0, 2));
    }

    #[test]
    fn a_request_stops_taking_answers_when_it_expires_or_is_revoked_and_still_lists_them() {
        let (r, _, m, a) = asking(3);
        let r1 = step(Some(&r), T0, Event::Answer { proof: &a, answer: LinkId([1; 16]) }).next.unwrap();
        let later = r.expires_at;
        let o = step(Some(&r1), later, Event::Answer { proof: &a, answer: LinkId([2; 16]) });
        let expired = o.next.expect("time's effect is written");
        assert_eq!(expired.state, State::Expired);
        assert!(matches!(o.reply, Response::Gone));
        assert_eq!(expired.asking.as_ref().unwrap().answers, vec![LinkId([1; 16])]);
        let Response::Answers(list) = step(Some(&expired), later, Event::Answers { holder: &holder() }).reply else {
            panic!()
        };
        assert_eq!((list.state, list.answers.len()), (StateKind::Expired, 1));
        // The sweeper ends it at its expiry, and purges it with the other tombstones.
        assert_eq!(r1.next_deadline(), r1.expires_at);
        assert!(step(Some(&expired), expired.purge_at(), Event::Tick).purge);

        let o = step(Some(&r1), T0, Event::Revoke { manage: &m });
        let revoked = o.next.unwrap();
        assert_eq!(revoked.state, State::Revoked);
        assert!(!o.drop_content, "a request holds no content");
        assert!(step(Some(&revoked), T0, Event::Answer { proof: &a, answer: LinkId([2; 16]) }).next.is_none());
    }

    #[test]
    fn an_answer_opens_with_the_request_secret_and_is_found_while_the_request_is() {
        let (request, c, _, _) = asking(1);
        let (mine, _, _) = fresh();
        let mine = Record { meta: PublicMeta { check: SecretCheck([7; 16]), kdf: None }, ..mine };
        let answer = mine.clone().answering(&request);
        assert_eq!(
            (answer.claim_hash, answer.holder_hash, answer.meta),
            (request.claim_hash, request.holder_hash, request.meta)
        );
        assert_eq!(answer.manage_hash, mine.manage_hash, "the answerer keeps its own status and revoke");
        let lease = LeaseToken::from_bytes([6; 32]);
        assert!(matches!(step(Some(&answer), T0, claim_with(&holder(), &c, &lease)).reply, Response::Claimed { .. }));
        let long = Record { expires_at: request.purge_at().plus(Duration::from_secs(60)), ..mine };
        assert_eq!(long.answering(&request).expires_at, request.purge_at());
        let none = AskRequest {
            answers: 0,
            ..AskRequest {
                ttl_secs: 3600,
                claim_hash: c.digest(),
                holder_hash: c.digest(),
                manage_hash: c.digest(),
                answer_hash: c.digest(),
                check: SecretCheck([0; 16]),
                answers: 1,
            }
        };
        assert_eq!(Record::new_request(&none, T0), Err(CreateError::Answers));
        assert_eq!(
            Record::new_request(&AskRequest { answers: MAX_ANSWERS + 1, ..none.clone() }, T0),
            Err(CreateError::Answers)
        );
        assert_eq!(Record::new_request(&AskRequest { ttl_secs: 60, answers: 1, ..none }, T0), Err(CreateError::Ttl));
    }
}
