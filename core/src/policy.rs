/*!
Policy templates and network allowlists: the presets a sender picks from, and the rules a link carries that the relay
enforces. Pure: parsing, matching and the templates' rules; the relay decides with its own clock and the claimer's
address.

| template | expiry (default, longest) | passphrase | notify on open |
| --- | --- | --- | --- |
| `ultra-secure` | 1 h, 24 h | required (generated) | yes |
| `standard` | 24 h, 7 d | optional | yes |
| `lightweight` | 7 d, 30 d | optional | no |

Any template may carry a **network allowlist**: CIDR blocks from which the link may be claimed. The relay checks the
claimer's address after the holder proof and before the claim key, so a claim from elsewhere counts nothing, burns
nothing and tells only the link's holder why. (A relay behind a proxy sees the proxy's address: the allowlist is only
as good as the address the relay sees.)
*/

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// Most CIDR blocks one allowlist may hold: it travels in every record of the link.
pub const MAX_ALLOW: usize = 16;

/// A block of addresses: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why an allowlist entry did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a CIDR block (like 192.0.2.0/24 or 2001:db8::/32)")]
pub struct CidrError(pub String);

impl Cidr {
    /// The block of `addr` with `prefix` leading bits; `None` if the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = addr.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= bits).then(|| Self { addr: mask(addr, prefix), prefix })
    }

    /// Whether `ip` is inside the block. An IPv4 address seen as IPv6 (`::ffff:a.b.c.d`, a dual-stack socket) is
    /// matched as the IPv4 address it is.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Accepts `ADDR/PREFIX` or a lone address (a block of one). Host bits set below the prefix are refused rather
    /// than silently cleared: `10.1.2.3/8` is more likely a typo than a wish for all of 10/8.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CidrError(s.to_owned());
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => {
                let addr: IpAddr = a.parse().map_err(|_| bad())?;
                let prefix: u8 = p.parse().map_err(|_| bad())?;
                (addr, Some(prefix))
            }
            None => (s.parse::<IpAddr>().map_err(|_| bad())?, None),
        };
        let addr = addr.to_canonical();
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let cidr = Self::new(addr, prefix.unwrap_or(full)).ok_or_else(bad)?;
        if cidr.addr != addr {
            return Err(bad());
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Whether `ip` may claim under `allow` (empty: anyone).
pub fn allowed(allow: &[Cidr], ip: IpAddr) -> bool {
    allow.is_empty() || allow.iter().any(|c| c.contains(ip))
}

/// A named preset of link rules (after the blueprint's "Ultra Secure / Standard / Lightweight").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Template {
    /// Short expiry, a generated passphrase required, notify on open.
    UltraSecure = 1,
    /// A day's expiry, passphrase optional, notify on open.
    Standard = 2,
    /// A week's expiry, passphrase optional, no notification.
    Lightweight = 3,
}

/// A template name that is not one of [`Template::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?}: use ultra-secure, standard or lightweight")]
pub struct TemplateError(pub String);

impl Template {
    /// Every template, strictest first.
    pub const ALL: [Template; 3] = [Template::UltraSecure, Template::Standard, Template::Lightweight];

    /// The wire byte.
    pub fn to_u8(self) -> u8 {
        self as u8
    }

    /// From the wire byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.to_u8() == b)
    }

    /// The name used on the command line, in JSON and in relay flags.
    pub fn name(self) -> &'static str {
        match self {
            Self::UltraSecure => "ultra-secure",
            Self::Standard => "standard",
            Self::Lightweight => "lightweight",
        }
    }

    /// The name shown to people.
    pub fn title(self) -> &'static str {
        match self {
            Self::UltraSecure => "Ultra Secure",
            Self::Standard => "Standard",
            Self::Lightweight => "Lightweight",
        }
    }

    /// Expiry when the sender picks none.
    pub fn default_ttl(self) -> Duration {
        Duration::from_secs(match self {
            Self::UltraSecure => 3600,
            Self::Standard => 24 * 3600,
            Self::Lightweight => 7 * 24 * 3600,
        })
    }

    /// The longest expiry the template allows.
    pub fn max_ttl(self) -> Duration {
        Duration::from_secs(match self {
            Self::UltraSecure => 24 * 3600,
            Self::Standard => 7 * 24 * 3600,
            Self::Lightweight => 30 * 24 * 3600,
        })
    }

    /// Whether a link under it must have a passphrase (senders generate one).
    pub fn passphrase_required(self) -> bool {
        self == Self::UltraSecure
    }

    /// Whether the sender's app tells the sender when the link is opened.
    pub fn notify_on_open(self) -> bool {
        self != Self::Lightweight
    }
}

impl FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        Self::ALL.into_iter().find(|t| t.name() == norm).ok_or_else(|| TemplateError(s.to_owned()))
    }
}

/// The rules a link carries besides its expiry and passphrase: which template it was made under, and where it may be
/// claimed from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// The template, if the sender picked one.
    pub policy: Option<Template>,
    /// Blocks the link may be claimed from (empty: anywhere); at most [`MAX_ALLOW`].
    pub allow: Vec<Cidr>,
}

impl Rules {
    /// Whether nothing is set (the link is as any link made before rules existed).
    pub fn is_empty(&self) -> bool {
        self.policy.is_none() && self.allow.is_empty()
    }
}

/// Characters of a generated passphrase: lower-case letters and digits without the ones people confuse (0/o, 1/l/i).
const PASSPHRASE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A passphrase to send by another channel, as the app's and the page's Generate buttons make and a template that
/// requires one gets: five groups of five characters from 31 (about 123 bits), easy to read out and type
/// (`k7mqa-x2vdn-9pfeh-h3wtc-rr8bz`). It is stretched with Argon2id like any passphrase.
pub fn generate_passphrase(rng: &mut impl rand_core::CryptoRngCore) -> secrecy::SecretString {
    let n = PASSPHRASE_ALPHABET.len();
    // Uniform: bytes at or above the largest multiple of `n` are drawn again.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(29);
    let mut byte = [0u8; 1];
    while out.len() < 29 {
        if out.len() % 6 == 5 {
            out.push('-');
            continue;
        }
        rng.fill_bytes(&mut byte);
        if usize::from(byte[0]) < limit {
            out.push(PASSPHRASE_ALPHABET[usize::from(byte[0]) % n] as char);
        }
    }
    secrecy::SecretString::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_parse_print_and_match() {
        let lan: Cidr = "192.168.0.0/16".parse().unwrap();
        assert_eq!(lan.to_string(), "192.168.0.0/16");
        assert!(lan.contains(ip("192.168.44.2")));
        assert!(lan.contains(ip("::ffff:192.168.1.1")), "an IPv4 client on a dual-stack socket");
        assert!(!lan.contains(ip("192.169.0.1")));
        assert!(!lan.contains(ip("::1")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")) && !all.contains(ip("::2")));
        let all6: Cidr = "::/0".parse().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
    }

    #[test]
    fn typos_are_refused_not_widened() {
        for bad in
            ["10.1.2.3/8", "10.0.0.0/33", "::/129", "10.0.0", "10.0.0.0/", "/8", "example.com", "10.0.0.0/-1", ""]
        {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_list_allows_everyone() {
        assert!(allowed(&[], ip("203.0.113.9")));
        let list = ["10.0.0.0/8".parse().unwrap(), "2001:db8::/32".parse().unwrap()];
        assert!(allowed(&list, ip("10.9.9.9")) && allowed(&list, ip("2001:db8::9")));
        assert!(!allowed(&list, ip("203.0.113.9")));
    }

    #[test]
    fn generated_passphrases_are_readable_and_differ() {
        use secrecy::ExposeSecret;
        let mut rng = rand::rngs::OsRng;
        let a = generate_passphrase(&mut rng);
        let b = generate_passphrase(&mut rng);
        assert_ne!(a.expose_secret(), b.expose_secret());
        let groups: Vec<_> = a.expose_secret().split('-').collect();
        assert_eq!(groups.len(), 5);
        for g in groups {
            assert_eq!(g.len(), 5);
            assert!(g.bytes().all(|c| PASSPHRASE_ALPHABET.contains(&c)), "{g}");
        }
    }

    #[test]
    fn templates_round_trip_by_name_and_byte() {
        for t in Template::ALL {
            assert_eq!(t.name().parse::<Template>().unwrap(), t);
            assert_eq!(t.title().parse::<Template>().unwrap(), t, "the title works too");
            assert_eq!(Template::from_u8(t.to_u8()), Some(t));
            assert!(t.default_ttl() <= t.max_ttl());
        }
        assert!("paranoid".parse::<Template>().is_err());
        assert_eq!(Template::from_u8(0), None);
        assert!(Template::UltraSecure.passphrase_required() && !Template::Standard.passphrase_required());
        assert!(!Template::Lightweight.notify_on_open());
    }
}
