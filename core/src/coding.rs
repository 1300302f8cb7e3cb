/*!
The leaf of the codec: byte readers and writers, the decode error, and the plain values every message and record
carries ([`Timestamp`], [`StateKind`]). It imports nothing of [`crate::proto`] or [`crate::state`]; both build on it,
as quinn-proto's `coding` sits under its frames and packets, so neither module depends on the other's internals.
*/

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::keys::{Digest32, KdfParams, PublicMeta, SecretCheck};
use crate::link::LinkId;
use crate::policy::{Cidr, Rules, Template, MAX_ALLOW};

/// Longest string field (error messages), in bytes.
pub const MAX_STRING: usize = 1024;

/// Milliseconds since the Unix epoch. The relay reads its clock; this crate never does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.as_millis().min(u64::MAX as u128) as u64))
    }
}

/// The kind of state, as the sender sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StateKind {
    /// Waiting to be opened.
    Fresh = 0,
    /// Being downloaded under a lease.
    Claimed = 1,
    /// Opened; ciphertext deleted.
    Consumed = 2,
    /// Expired unopened.
    Expired = 3,
    /// Revoked by the sender.
    Revoked = 4,
    /// Burned after too many wrong claim proofs.
    BurnedByAttempts = 5,
    /// The sender's live upload ended before it finished; nothing was kept.
    UploadFailed = 6,
    /// A request for a secret that still takes answers (until it expires or is revoked); it holds no content.
    Asking = 7,
}

/// The coarse kind of client that claimed a link, for the sender's event log: nothing finer (no version, no
/// platform, no address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ClientKind {
    /// The desktop app.
    App = 1,
    /// The browser page.
    Browser = 2,
    /// The `burnlink` command line.
    Cli = 3,
}

impl ClientKind {
    /// From the wire byte; `None` for 0 (not said) and for kinds a newer client may add.
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::App,
            2 => Self::Browser,
            3 => Self::Cli,
            _ => return None,
        })
    }

    /// The wire byte of an optional kind (0: not said).
    pub fn to_u8(kind: Option<Self>) -> u8 {
        kind.map_or(0, |k| k as u8)
    }

    /// Lower-case name for JSON (`app`, `browser`, `cli`).
    pub fn name(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Browser => "browser",
            Self::Cli => "cli",
        }
    }
}

impl StateKind {
    /// From the wire byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Fresh,
            1 => Self::Claimed,
            2 => Self::Consumed,
            3 => Self::Expired,
            4 => Self::Revoked,
            5 => Self::BurnedByAttempts,
            6 => Self::UploadFailed,
            7 => Self::Asking,
            _ => return None,
        })
    }

    /// Whether the relay still holds ciphertext in this state.
    pub fn holds_content(self) -> bool {
        matches!(self, Self::Fresh | Self::Claimed)
    }

    /// Lower-case name for JSON and logs (`fresh`, `claimed`, `consumed`, `expired`, `revoked`, `burned`,
    /// `upload_failed`, `asking`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Claimed => "claimed",
            Self::Consumed => "consumed",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::BurnedByAttempts => "burned",
            Self::UploadFailed => "upload_failed",
            Self::Asking => "asking",
        }
    }
}

/// Why bytes did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// At least this many more bytes are needed.
    #[error("incomplete frame: {0} more bytes needed")]
    Incomplete(usize),
    /// A frame of a version we do not speak.
    #[error("unsupported protocol version {0}")]
    Version(u8),
    /// Not a valid message.
    #[error("invalid message: {0}")]
    Invalid(&'static str),
}

/// Builds a frame body.
#[derive(Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    pub(crate) fn time(&mut self, t: Timestamp) -> &mut Self {
        self.u64(t.0)
    }
    pub(crate) fn opt_time(&mut self, t: Option<Timestamp>) -> &mut Self {
        match t {
            None => self.u8(0),
            Some(t) => self.u8(1).time(t),
        }
    }
    /// Strings longer than [`MAX_STRING`] are cut at a character boundary.
    pub(crate) fn string(&mut self, s: &str) -> &mut Self {
        let mut end = s.len().min(MAX_STRING);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.0.extend_from_slice(&(end as u16).to_be_bytes());
        self.bytes(&s.as_bytes()[..end])
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A link's rules: the template byte (0: none), then the allowlist's length and its blocks (at most
    /// [`MAX_ALLOW`]; callers check before encoding).
    pub(crate) fn rules(&mut self, r: &Rules) -> &mut Self {
        self.u8(r.policy.map_or(0, Template::to_u8)).u8(r.allow.len().min(MAX_ALLOW) as u8);
        for c in r.allow.iter().take(MAX_ALLOW) {
            match c.addr() {
                IpAddr::V4(a) => self.u8(4).bytes(&a.octets()),
                IpAddr::V6(a) => self.u8(6).bytes(&a.octets()),
            };
            self.u8(c.prefix());
        }
        self
    }
    pub(crate) fn meta(&mut self, m: &PublicMeta) -> &mut Self {
        self.bytes(&m.check.0);
        match &m.kdf {
            None => self.u8(0),
            Some(k) => self.u8(1).bytes(&k.salt).u32(k.m_kib).u32(k.t).u32(k.p),
        }
    }
}

/// Reads a frame body; running short inside a body is `Invalid` (the length said otherwise).
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Invalid("body too short"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub(crate) fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid("bad option flag")),
        }
    }
    pub(crate) fn time(&mut self) -> Result<Timestamp, DecodeError> {
        Ok(Timestamp(self.u64()?))
    }
    pub(crate) fn opt_time(&mut self) -> Result<Option<Timestamp>, DecodeError> {
        Ok(if self.flag()? { Some(self.time()?) } else { None })
    }
    pub(crate) fn string(&mut self) -> Result<String, DecodeError> {
        let n = u16::from_be_bytes(self.array()?) as usize;
        if n > MAX_STRING {
            return Err(DecodeError::Invalid("string too long"));
        }
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Invalid("string is not UTF-8"))
    }
    pub(crate) fn meta(&mut self) -> Result<PublicMeta, DecodeError> {
        let check = SecretCheck(self.array()?);
        let kdf = if self.flag()? {
            Some(KdfParams { salt: self.array()?, m_kib: self.u32()?, t: self.u32()?, p: self.u32()? })
        } else {
            None
        };
        Ok(PublicMeta { check, kdf })
    }
    pub(crate) fn digest(&mut self) -> Result<Digest32, DecodeError> {
        Ok(Digest32(self.array()?))
    }
    pub(crate) fn id(&mut self) -> Result<LinkId, DecodeError> {
        Ok(LinkId(self.array()?))
    }
    /// A field added at the end of a message after its first version: `None` when an older peer left it out.
    pub(crate) fn trailing_u8(&mut self) -> Result<Option<u8>, DecodeError> {
        if self.buf.is_empty() {
            Ok(None)
        } else {
            self.u8().map(Some)
        }
    }
    /// Whether the body has been read to its end.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// A field of `n` bytes, as a reader of its own.
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        Ok(Reader::new(self.take(n)?))
    }
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    /// Rules as [`Writer::rules`] wrote them.
    pub(crate) fn rules(&mut self) -> Result<Rules, DecodeError> {
        let policy = match self.u8()? {
            0 => None,
            b => Some(Template::from_u8(b).ok_or(DecodeError::Invalid("unknown policy"))?),
        };
        let n = self.u8()? as usize;
        if n > MAX_ALLOW {
            return Err(DecodeError::Invalid("allowlist too long"));
        }
        let allow = (0..n).map(|_| self.cidr()).collect::<Result<_, _>>()?;
        Ok(Rules { policy, allow })
    }
    fn cidr(&mut self) -> Result<Cidr, DecodeError> {
        let addr = match self.u8()? {
            4 => IpAddr::V4(Ipv4Addr::from(self.array::<4>()?)),
            6 => IpAddr::V6(Ipv6Addr::from(self.array::<16>()?)),
            _ => return Err(DecodeError::Invalid("unknown address family")),
        };
        let prefix = self.u8()?;
        let cidr = Cidr::new(addr, prefix).ok_or(DecodeError::Invalid("prefix too long"))?;
        if cidr.addr() != addr {
            return Err(DecodeError::Invalid("host bits set in a block"));
        }
        Ok(cidr)
    }
    /// A trailing flag added by a later revision of a frame: absent reads as `false`, so older peers' frames decode.
    pub(crate) fn trailing_flag(&mut self) -> Result<bool, DecodeError> {
        if self.buf.is_empty() {
            Ok(false)
        } else {
            self.flag()
        }
    }
    pub(crate) fn end(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Invalid("trailing bytes in body"))
        }
    }
}
