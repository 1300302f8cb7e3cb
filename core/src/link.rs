/*!
The one-time link: `https://HOST[:PORT]/o/<id>#<secret>` and the deep-link form `burnlink://o/<id>#<secret>`; and
the request link `https://HOST[:PORT]/r/<id>#<age1…>` (`burnlink://r/<id>#<age1…>`), whose fragment is the
requester's public key: whoever holds it can answer, and nobody learns anything from it.

This module owns parsing and formatting links, the 128-bit [`LinkId`] and the 32-byte [`LinkSecret`]. It does not
derive keys (see [`crate::keys`]) and does not know whether a link exists.

Errors say what is wrong with a link without ever echoing its fragment, because a pasted link that fails to parse
often ends up in a bug report or a log line.
*/

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length in bytes of a link id.
pub const ID_LEN: usize = 16;
/// Length in characters of a link id in base64url without padding.
pub const ID_CHARS: usize = 22;
/// Length in bytes of a link secret.
pub const SECRET_LEN: usize = 32;
/// Length in characters of a link secret in base64url without padding.
pub const SECRET_CHARS: usize = 43;

/// The deep-link scheme the desktop app registers.
pub const DEEP_LINK_SCHEME: &str = "burnlink";

/// Why a string is not a valid Burnlink link. Never contains the link's secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The text is not a URL at all.
    #[error("not a link: {0}")]
    NotAUrl(String),
    /// The scheme is neither `https` nor `burnlink`.
    #[error("unsupported link scheme `{0}` (expected https:// or burnlink://)")]
    Scheme(String),
    /// An https link without a host.
    #[error("the link has no relay host")]
    NoHost,
    /// The link carries a user name or password, which a Burnlink link never does.
    #[error("the link carries credentials before the host, which a Burnlink link never does")]
    Credentials,
    /// The path is not `/o/<id>` (or `/r/<id>` where a request link is expected).
    #[error("the link's path is not /o/<id>")]
    Path,
    /// A request link where a one-time link was expected.
    #[error("this is a request link: answer it with `burnlink send --to LINK` or in the app")]
    RequestLink,
    /// A request link's fragment is not an age public key.
    #[error("the request link's key is not an age public key (age1…); it may have been cut off")]
    RequestKey,
    /// The link has a query string.
    #[error("the link has unexpected text after the id (a `?` query)")]
    Query,
    /// The link has no `#` fragment: the key part was cut off.
    #[error("the link has no key after `#`; it may have been cut off when it was copied")]
    MissingFragment,
    /// The id has the wrong length.
    #[error("the link id has {got} characters, expected {ID_CHARS}")]
    IdLength {
        /// Characters found.
        got: usize,
    },
    /// The id has characters outside base64url, or non-canonical trailing bits.
    #[error("the link id is not valid base64url")]
    IdEncoding,
    /// The secret has the wrong length.
    #[error("the link key has {got} characters, expected {SECRET_CHARS}; it may have been cut off")]
    SecretLength {
        /// Characters found.
        got: usize,
    },
    /// The secret has characters outside base64url, or non-canonical trailing bits.
    #[error("the link key is not valid base64url")]
    SecretEncoding,
}

/// A link id: 16 random bytes chosen by the relay, independent of the secret.
///
/// Not secret (it names a link on the relay), but logs should use [`LinkId::short`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub [u8; ID_LEN]);

impl LinkId {
    /// A fresh random id.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut b = [0u8; ID_LEN];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// The first six characters, enough to tell links apart in a log without naming one.
    pub fn short(&self) -> String {
        let mut s = self.to_string();
        s.truncate(6);
        s
    }
}

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkId({}…)", self.short())
    }
}

impl FromStr for LinkId {
    type Err = LinkError;
    fn from_str(s: &str) -> Result<Self, LinkError> {
        if s.len() != ID_CHARS {
            return Err(LinkError::IdLength { got: s.chars().count() });
        }
        let mut out = [0u8; ID_LEN];
        match URL_SAFE_NO_PAD.decode_slice(s, &mut out) {
            Ok(ID_LEN) => Ok(Self(out)),
            _ => Err(LinkError::IdEncoding),
        }
    }
}

/// The link secret `S`: 32 random bytes, the only thing in the link's fragment. Every key of the link is derived
/// from it, so it is zeroized on drop and its `Debug` form is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LinkSecret([u8; SECRET_LEN]);

impl LinkSecret {
    /// A fresh secret from a cryptographic RNG (the OS CSPRNG in the apps).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut b = [0u8; SECRET_LEN];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// Wraps known bytes (test vectors, decoded fragments).
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for key derivation.
    pub fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// The fragment form: base64url without padding, 43 characters.
    pub fn to_fragment(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0))
    }

    /// Parses the fragment form.
    pub fn from_fragment(s: &str) -> Result<Self, LinkError> {
        if s.len() != SECRET_CHARS {
            return Err(LinkError::SecretLength { got: s.chars().count() });
        }
        let mut out = [0u8; SECRET_LEN];
        let r = URL_SAFE_NO_PAD.decode_slice(s, &mut out);
        let secret = Self(out);
        match r {
            Ok(SECRET_LEN) => Ok(secret),
            _ => Err(LinkError::SecretEncoding),
        }
    }
}

impl fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkSecret(<redacted>)")
    }
}

/// Where a link points: an https relay origin, or none for a `burnlink://` deep link, which the app resolves against
/// its configured relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayOrigin {
    /// Host as it appears in a URL (`example.org`, `127.0.0.1`, `[::1]`).
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
}

impl RelayOrigin {
    /// `https://host[:port]`.
    pub fn base_url(&self) -> String {
        match self.port {
            Some(p) => format!("https://{}:{p}", self.host),
            None => format!("https://{}", self.host),
        }
    }

    /// Parses a relay base URL such as `https://relay.example:8443` (trailing slash allowed, no path).
    pub fn parse(s: &str) -> Result<Self, LinkError> {
        let url = url::Url::parse(s.trim()).map_err(|e| LinkError::NotAUrl(e.to_string()))?;
        if url.scheme() != "https" {
            return Err(LinkError::Scheme(url.scheme().to_owned()));
        }
        let origin = origin_of(&url)?;
        if !matches!(url.path(), "" | "/") {
            return Err(LinkError::Path);
        }
        if url.query().is_some() {
            return Err(LinkError::Query);
        }
        Ok(origin)
    }
}

fn origin_of(url: &url::Url) -> Result<RelayOrigin, LinkError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(LinkError::Credentials);
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or(LinkError::NoHost)?;
    Ok(RelayOrigin { host: host.to_owned(), port: url.port() })
}

/// A parsed one-time link.
#[derive(Clone, Debug)]
pub struct Link {
    /// The relay, or `None` for a deep link.
    pub relay: Option<RelayOrigin>,
    /// Which record on the relay.
    pub id: LinkId,
    /// The key material; never leaves the client except inside the link.
    pub secret: LinkSecret,
}

impl Link {
    /// Parses either link form. Surrounding white space (a pasted newline) is ignored.
    pub fn parse(s: &str) -> Result<Self, LinkError> {
        let (relay, kind, id, fragment) = split(s)?;
        if kind == Kind::Request {
            return Err(LinkError::RequestLink);
        }
        let secret = LinkSecret::from_fragment(fragment)?;
        Ok(Self { relay, id, secret })
    }

    /// The https form. A deep link needs a relay to be rendered, so this takes one as a fallback.
    pub fn to_https(&self, fallback: &RelayOrigin) -> zeroize::Zeroizing<String> {
        let origin = self.relay.as_ref().unwrap_or(fallback);
        zeroize::Zeroizing::new(format!("{}/o/{}#{}", origin.base_url(), self.id, self.secret.to_fragment().as_str()))
    }

    /// The `burnlink://o/<id>#<secret>` form.
    pub fn to_deep_link(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!("{DEEP_LINK_SCHEME}://o/{}#{}", self.id, self.secret.to_fragment().as_str()))
    }
}

/// Which kind of link a path names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `/o/<id>`: a one-time link.
    Open,
    /// `/r/<id>`: a request for a secret.
    Request,
}

/// Splits either form of either kind of link into relay, kind, id and non-empty fragment, without ever quoting the
/// fragment in an error.
fn split(s: &str) -> Result<(Option<RelayOrigin>, Kind, LinkId, &str), LinkError> {
    let s = s.trim();
    // Split off the fragment ourselves so that a URL parse error can never quote the secret.
    let (head, fragment) = match s.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (s, None),
    };
    let url = url::Url::parse(head).map_err(|e| LinkError::NotAUrl(e.to_string()))?;
    if url.query().is_some() {
        return Err(LinkError::Query);
    }
    let kind_of = |k: &str| match k {
        "o" => Ok(Kind::Open),
        "r" => Ok(Kind::Request),
        _ => Err(LinkError::Path),
    };
    let (relay, kind, id_str) = match url.scheme() {
        "https" => {
            let origin = origin_of(&url)?;
            let (k, id) = url.path().strip_prefix('/').and_then(|p| p.split_once('/')).ok_or(LinkError::Path)?;
            (Some(origin), kind_of(k)?, id.to_owned())
        }
        DEEP_LINK_SCHEME => {
            // burnlink://o/<id>: the URL parser sees `o` (or `r`) as the host.
            if url.port().is_some() {
                return Err(LinkError::Path);
            }
            let kind = kind_of(url.host_str().unwrap_or_default())?;
            let id = url.path().strip_prefix('/').ok_or(LinkError::Path)?;
            (None, kind, id.to_owned())
        }
        other => return Err(LinkError::Scheme(other.to_owned())),
    };
    if id_str.contains('/') {
        return Err(LinkError::Path);
    }
    let id = id_str.parse()?;
    let fragment = fragment.filter(|f| !f.is_empty()).ok_or(LinkError::MissingFragment)?;
    Ok((relay, kind, id, fragment))
}

/// A request link: where to answer, and the public key to encrypt the answer to. Nothing in it is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLink {
    /// The relay, or `None` for a deep link.
    pub relay: Option<RelayOrigin>,
    /// The request's record on the relay.
    pub id: LinkId,
    /// The requester's age recipient, in its canonical lower-case `age1…` form.
    pub recipient: String,
}

impl RequestLink {
    /// Parses either form. The key must be a valid age X25519 recipient.
    pub fn parse(s: &str) -> Result<Self, LinkError> {
        let (relay, kind, id, fragment) = split(s)?;
        if kind != Kind::Request {
            return Err(LinkError::Path);
        }
        let key: age::x25519::Recipient = fragment.to_ascii_lowercase().parse().map_err(|_| LinkError::RequestKey)?;
        Ok(Self { relay, id, recipient: key.to_string() })
    }

    /// The age recipient to encrypt an answer to.
    pub fn age_recipient(&self) -> age::x25519::Recipient {
        self.recipient.parse().expect("checked when parsed or made")
    }

    /// The https form, against `fallback` for a deep link.
    pub fn to_https(&self, fallback: &RelayOrigin) -> String {
        let origin = self.relay.as_ref().unwrap_or(fallback);
        format!("{}/r/{}#{}", origin.base_url(), self.id, self.recipient)
    }

    /// The `burnlink://r/<id>#<age1…>` form.
    pub fn to_deep_link(&self) -> String {
        format!("{DEEP_LINK_SCHEME}://r/{}#{}", self.id, self.recipient)
    }
}

/// Either kind of link, as a user pastes it.
#[derive(Clone, Debug)]
pub enum AnyLink {
    /// A one-time link.
    Open(Link),
    /// A request for a secret.
    Request(RequestLink),
}

impl AnyLink {
    /// Parses a one-time link or a request link, in either form.
    pub fn parse(s: &str) -> Result<Self, LinkError> {
        match Link::parse(s) {
            Err(LinkError::RequestLink) => RequestLink::parse(s).map(Self::Request),
            other => other.map(Self::Open),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AAECAwQFBgcICQoLDA0ODw";
    const S: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn parses_https_and_deep_links() {
        let l = Link::parse(&format!("https://relay.example:8443/o/{ID}#{S}\n")).unwrap();
        let relay = l.relay.clone().unwrap();
        assert_eq!(relay.host, "relay.example");
        assert_eq!(relay.port, Some(8443));
        assert_eq!(l.id.0, core::array::from_fn(|i| i as u8));
        assert_eq!(l.secret.expose(), &core::array::from_fn(|i| i as u8));
        assert_eq!(l.to_https(&relay).as_str(), format!("https://relay.example:8443/o/{ID}#{S}"));

        let d = Link::parse(&format!("burnlink://o/{ID}#{S}")).unwrap();
        assert!(d.relay.is_none());
        assert_eq!(d.to_deep_link().as_str(), format!("burnlink://o/{ID}#{S}"));
        assert_eq!(d.to_https(&relay).as_str(), format!("https://relay.example:8443/o/{ID}#{S}"));

        let v6 = Link::parse(&format!("https://[::1]:9/o/{ID}#{S}")).unwrap();
        assert_eq!(v6.relay.unwrap().base_url(), "https://[::1]:9");
    }

    #[test]
    fn rejects_malformed_links_without_echoing_the_secret() {
        let cases: Vec<(String, LinkError)> = vec![
            (format!("http://r/o/{ID}#{S}"), LinkError::Scheme("http".into())),
            (format!("ftp://r/o/{ID}#{S}"), LinkError::Scheme("ftp".into())),
            (format!("https://r/x/{ID}#{S}"), LinkError::Path),
            (format!("https://r/o/{ID}/extra#{S}"), LinkError::Path),
            (format!("https://r/o/{ID}?q=1#{S}"), LinkError::Query),
            (format!("https://u:p@r/o/{ID}#{S}"), LinkError::Credentials),
            (format!("https://r/o/{ID}"), LinkError::MissingFragment),
            (format!("https://r/o/{ID}#"), LinkError::MissingFragment),
            (format!("https://r/o/{ID}A#{S}"), LinkError::IdLength { got: 23 }),
            (format!("https://r/o/AAECAwQFBgcICQoLDA0OD*#{S}"), LinkError::IdEncoding),
            (format!("https://r/o/{ID}#{}", &S[..42]), LinkError::SecretLength { got: 42 }),
            (format!("https://r/o/{ID}#{S}x"), LinkError::SecretLength { got: 44 }),
            (format!("https://r/o/{ID}#{}+", &S[..42]), LinkError::SecretEncoding),
            // Non-canonical trailing bits: the last char of a 43-char secret carries 4 data bits.
            (format!("https://r/o/{ID}#{}B", &S[..42]), LinkError::SecretEncoding),
            (format!("burnlink://x/{ID}#{S}"), LinkError::Path),
            ("not a link".to_owned(), LinkError::NotAUrl("relative URL without a base".into())),
        ];
        for (input, want) in cases {
            let err = Link::parse(&input).unwrap_err();
            assert_eq!(err, want, "{input}");
            let msg = err.to_string();
            assert!(!msg.contains(&S[..20]), "error echoes the secret: {msg}");
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let l = Link::parse(&format!("https://r/o/{ID}#{S}")).unwrap();
        let dbg = format!("{l:?}");
        assert!(!dbg.contains(S) && !dbg.contains(&S[..10]), "{dbg}");
        assert!(!dbg.contains(ID), "full id in Debug: {dbg}");
    }

    #[test]
    fn parses_request_links_and_tells_them_from_one_time_links() {
        let keys = crate::keys::LinkKeys::derive(&LinkSecret::from_bytes([3; 32]), None).unwrap();
        let key = keys.recipient().to_string();
        let key = key.as_str();
        let r = RequestLink::parse(&format!("https://relay.example:8443/r/{ID}#{}", key.to_uppercase())).unwrap();
        assert_eq!((r.id.to_string().as_str(), r.recipient.as_str()), (ID, key));
        assert_eq!(r.to_https(r.relay.as_ref().unwrap()), format!("https://relay.example:8443/r/{ID}#{key}"));
        let d = RequestLink::parse(&r.to_deep_link()).unwrap();
        assert_eq!((d.relay, d.id), (None, r.id));
        assert!(matches!(AnyLink::parse(&format!("burnlink://r/{ID}#{key}")), Ok(AnyLink::Request(_))));
        assert!(matches!(AnyLink::parse(&format!("https://r/o/{ID}#{S}")), Ok(AnyLink::Open(_))));
        assert_eq!(Link::parse(&format!("https://r/r/{ID}#{key}")).unwrap_err(), LinkError::RequestLink);
        assert_eq!(RequestLink::parse(&format!("https://r/o/{ID}#{S}")).unwrap_err(), LinkError::Path);
        assert_eq!(RequestLink::parse(&format!("https://r/r/{ID}#{S}")).unwrap_err(), LinkError::RequestKey);
        assert_eq!(RequestLink::parse(&format!("https://r/r/{ID}#{}", &key[..50])).unwrap_err(), LinkError::RequestKey);
        assert_eq!(RequestLink::parse(&format!("https://r/r/{ID}")).unwrap_err(), LinkError::MissingFragment);
    }

    #[test]
    fn relay_origin_parses_base_urls() {
        assert_eq!(RelayOrigin::parse("https://127.0.0.1:4433/").unwrap().base_url(), "https://127.0.0.1:4433");
        assert_eq!(RelayOrigin::parse("http://x").unwrap_err(), LinkError::Scheme("http".into()));
        assert_eq!(RelayOrigin::parse("https://x/o/").unwrap_err(), LinkError::Path);
    }
}
