/*!
The key schedule: everything a link's secret (and optional passphrase) turns into.

```text
S            = 32 random bytes (the link fragment)
P            = Argon2id(NFC(passphrase), salt16, m, t, p)         only for passphrase links
K            = S                                                 without a passphrase
K            = HKDF-SHA256(ikm = S || P, info "burnlink/v1/pass") with a passphrase
x25519       = HKDF-SHA256(ikm = K, info "burnlink/v1/x25519")   -> age identity AGE-SECRET-KEY-1...
claim key C  = HKDF-SHA256(ikm = K, info "burnlink/v1/claim")    relay stores SHA-256(C)
holder H     = HKDF-SHA256(ikm = S, info "burnlink/v1/holder")   relay stores SHA-256(H); from S alone, never P
check        = HKDF-SHA256(ikm = S, info "burnlink/v1/check")[..16]   public; tells a damaged link from a wrong passphrase
```

A request for a secret is a link the requester keeps to itself: its secret `R` gives the X25519 identity, `C`, `H` and
the check exactly as above, and only the public key `age1…` goes into the request link. Who answers proves holding
that link with

```text
answer proof A = HKDF-SHA256(ikm = "age1…" (canonical lower case), info "burnlink/v1/answer")   relay stores SHA-256(A)
```

so someone who holds only a request's id can neither answer it nor use up its answers, and the relay, which never
sees the key, cannot swap it for one of its own.

Every claim carries `H` and `C`. A claim without a valid `H` is refused and counts nothing, so someone who holds only
a link's id (an unfurler, a proxy log, a HAR file) can neither burn it nor use up its attempts; a valid `H` with a
wrong `C` is a wrong passphrase, and counts toward the relay's limit.

HKDF is used without salt (RFC 5869 §3.1: fine when the input keying material is uniformly random, as `S` is).
The module owns the labels, the typed keys and tokens, and the Argon2 parameter caps. It holds no state and does no IO;
randomness comes in as an RNG argument so tests are deterministic.
*/

use std::fmt;

use age::secrecy::{ExposeSecret, SecretString};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::link::LinkSecret;

/// HKDF info label for the per-link X25519 secret.
pub const LABEL_X25519: &[u8] = b"burnlink/v1/x25519";
/// HKDF info label for the claim key.
pub const LABEL_CLAIM: &[u8] = b"burnlink/v1/claim";
/// HKDF info label that mixes the Argon2id output into the link secret.
pub const LABEL_PASS: &[u8] = b"burnlink/v1/pass";
/// HKDF info label for the holder proof (from the link secret alone).
pub const LABEL_HOLDER: &[u8] = b"burnlink/v1/holder";
/// HKDF info label for the proof that an answer comes from someone holding the request link.
pub const LABEL_ANSWER: &[u8] = b"burnlink/v1/answer";
/// HKDF info label for the public secret check.
pub const LABEL_CHECK: &[u8] = b"burnlink/v1/check";

/// Bech32 human-readable part of an age secret key (upper-cased in the string form).
const AGE_SECRET_HRP: &str = "age-secret-key-";

/// `HKDF-SHA256(ikm, salt = none, info) -> 32 bytes`.
fn hkdf32(ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, ikm).expand(info, out.as_mut()).expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// A SHA-256 digest of a token. The relay stores these, never the tokens. Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct Digest32(pub [u8; 32]);

impl PartialEq for Digest32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest32({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; 32]);

        impl $name {
            /// A fresh random token.
            pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
                let mut b = [0u8; 32];
                rng.fill_bytes(&mut b);
                Self(b)
            }
            /// Wraps known bytes (decoding, tests).
            pub fn from_bytes(b: [u8; 32]) -> Self {
                Self(b)
            }
            /// The raw bytes, for encoding on the wire.
            pub fn expose(&self) -> &[u8; 32] {
                &self.0
            }
            /// `SHA-256(token)`: what the relay keeps.
            pub fn digest(&self) -> Digest32 {
                Digest32(Sha256::digest(self.0).into())
            }
            /// base64url without padding, for the CLI and the keychain.
            pub fn to_text(&self) -> Zeroizing<String> {
                use base64::Engine;
                Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0))
            }
            /// Parses the [`Self::to_text`] form.
            pub fn from_text(s: &str) -> Option<Self> {
                use base64::Engine;
                let mut b = [0u8; 32];
                match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode_slice(s.trim(), &mut b) {
                    Ok(32) if s.trim().len() == 43 => Some(Self(b)),
                    _ => {
                        b.zeroize();
                        None
                    }
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_token!(
    /// The claim key `C`: the recipient proves it holds the link's fragment (and passphrase) by sending it.
    ClaimKey
);
secret_token!(
    /// The holder proof `H`: shows the relay that a claimer holds the link's fragment, whatever the passphrase. Derived
    /// from `S` alone, so a wrong passphrase still proves holding and is counted; a guess without `S` is not.
    HolderProof
);
secret_token!(
    /// The sender's manage token: status, revoke and watch. Made by the sender; the relay stores its digest.
    ManageToken
);
secret_token!(
    /// The lease token the relay hands the claimer: only its holder may resume or ack the download.
    LeaseToken
);

secret_token!(
    /// The answer proof `A`: shows the relay that an answer comes from someone who holds the request link.
    AnswerProof
);

impl AnswerProof {
    /// `HKDF("age1…", "burnlink/v1/answer")` of a request link's key.
    pub fn of(recipient: &str) -> Self {
        Self(*hkdf32(recipient.to_ascii_lowercase().as_bytes(), LABEL_ANSWER))
    }
}

impl HolderProof {
    /// `HKDF(S, "burnlink/v1/holder")`.
    pub fn of(secret: &LinkSecret) -> Self {
        Self(*hkdf32(secret.expose(), LABEL_HOLDER))
    }
}

/// A public 16-byte check value derived from `S` alone. It lets a client tell a damaged link (wrong `S`) from a
/// wrong passphrase without spending one of the relay's limited claim attempts. It reveals nothing about the
/// passphrase: anyone who can compute it already holds `S`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SecretCheck(pub [u8; 16]);

impl SecretCheck {
    /// `HKDF(S, "burnlink/v1/check")[..16]`.
    pub fn of(secret: &LinkSecret) -> Self {
        let full = hkdf32(secret.expose(), LABEL_CHECK);
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        Self(out)
    }

    /// Constant-time comparison against the check computed from `secret`.
    pub fn matches(&self, secret: &LinkSecret) -> bool {
        self.0.ct_eq(&Self::of(secret).0).into()
    }
}

/// Argon2id parameters and salt of a passphrase link. Public link metadata.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KdfParams {
    /// Random salt.
    pub salt: [u8; 16],
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes.
    pub const DEFAULT_M_KIB: u32 = 64 * 1024;
    /// Default passes.
    pub const DEFAULT_T: u32 = 3;
    /// Default lanes.
    pub const DEFAULT_P: u32 = 4;
    /// Largest memory accepted when opening: a hostile relay or sender must not make a phone or browser allocate GiBs.
    pub const MAX_M_KIB: u32 = 256 * 1024;
    /// Smallest memory accepted, so a tampered record cannot silently weaken the passphrase to nothing.
    pub const MIN_M_KIB: u32 = 8 * 1024;
    /// Most passes accepted.
    pub const MAX_T: u32 = 10;
    /// Most lanes accepted.
    pub const MAX_P: u32 = 16;
    /// Most work accepted, as memory × passes (KiB): four times the default. Each cap alone still allows
    /// 256 MiB × 10 passes, about a minute of pure-JS Argon2 in a browser; this bounds the product.
    pub const MAX_COST_KIB: u64 = 4 * Self::DEFAULT_M_KIB as u64 * Self::DEFAULT_T as u64;

    /// Default parameters with a fresh salt.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        Self { salt, m_kib: Self::DEFAULT_M_KIB, t: Self::DEFAULT_T, p: Self::DEFAULT_P }
    }

    /// Checks the caps.
    pub fn validate(&self) -> Result<(), KeyError> {
        let ok = (Self::MIN_M_KIB..=Self::MAX_M_KIB).contains(&self.m_kib)
            && (1..=Self::MAX_T).contains(&self.t)
            && (1..=Self::MAX_P).contains(&self.p)
            && self.m_kib >= 8 * self.p
            && u64::from(self.m_kib) * u64::from(self.t) <= Self::MAX_COST_KIB;
        if ok {
            Ok(())
        } else {
            Err(KeyError::KdfParams)
        }
    }

    /// `Argon2id(NFC(passphrase), salt, m, t, p) -> 32 bytes`. NFC so that the same passphrase typed on two systems
    /// with different Unicode input methods gives the same key.
    pub fn stretch(&self, passphrase: &SecretString) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        self.validate()?;
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32)).map_err(|_| KeyError::KdfParams)?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let normalized: Zeroizing<String> = Zeroizing::new(passphrase.expose_secret().nfc().collect());
        let mut out = Zeroizing::new([0u8; 32]);
        argon.hash_password_into(normalized.as_bytes(), &self.salt, out.as_mut()).map_err(|_| KeyError::KdfParams)?;
        Ok(out)
    }
}

/// Why keys could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Argon2 parameters outside the accepted range.
    #[error("the link's passphrase parameters are outside the accepted range")]
    KdfParams,
    /// The link's secret does not match the link's check value: the link is damaged or from another link.
    #[error("the link's key does not match this link (was the link copied completely?)")]
    WrongSecret,
    /// The link needs a passphrase and none was given.
    #[error("this link needs a passphrase")]
    PassphraseRequired,
}

/// All keys of one link, derived from its secret (and passphrase).
pub struct LinkKeys {
    x25519: Zeroizing<[u8; 32]>,
    claim: ClaimKey,
    holder: HolderProof,
    with_passphrase: bool,
}

impl LinkKeys {
    /// Derives the keys. `pass` is the passphrase with its public parameters, for passphrase links.
    pub fn derive(secret: &LinkSecret, pass: Option<(&SecretString, &KdfParams)>) -> Result<Self, KeyError> {
        let base: Zeroizing<[u8; 32]> = match pass {
            None => Zeroizing::new(*secret.expose()),
            Some((phrase, params)) => {
                let p = params.stretch(phrase)?;
                let mut ikm = Zeroizing::new([0u8; 64]);
                ikm[..32].copy_from_slice(secret.expose());
                ikm[32..].copy_from_slice(p.as_ref());
                hkdf32(ikm.as_ref(), LABEL_PASS)
            }
        };
        Ok(Self {
            x25519: hkdf32(base.as_ref(), LABEL_X25519),
            claim: ClaimKey(*hkdf32(base.as_ref(), LABEL_CLAIM)),
            holder: HolderProof::of(secret),
            with_passphrase: pass.is_some(),
        })
    }

    /// Derives the keys of a link as a recipient, checking the secret against the link's public metadata first.
    pub fn unlock(secret: &LinkSecret, meta: &PublicMeta, passphrase: Option<&SecretString>) -> Result<Self, KeyError> {
        if !meta.check.matches(secret) {
            return Err(KeyError::WrongSecret);
        }
        match (&meta.kdf, passphrase) {
            (None, _) => Self::derive(secret, None),
            (Some(_), None) => Err(KeyError::PassphraseRequired),
            (Some(params), Some(p)) => Self::derive(secret, Some((p, params))),
        }
    }

    /// The age identity as its standard Bech32 string, `AGE-SECRET-KEY-1...`. This is how `age -d -i` and
    /// `age-encryption` in the browser load it.
    pub fn identity_string(&self) -> SecretString {
        let hrp = bech32::Hrp::parse(AGE_SECRET_HRP).expect("static HRP is valid");
        let mut s = bech32::encode::<bech32::Bech32>(hrp, self.x25519.as_ref()).expect("32 bytes fit in Bech32");
        s.make_ascii_uppercase();
        SecretString::from(s)
    }

    /// The age identity.
    pub fn identity(&self) -> age::x25519::Identity {
        self.identity_string().expose_secret().parse().expect("we encode a valid age identity")
    }

    /// The age recipient the payload is encrypted to.
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity().to_public()
    }

    /// The claim key `C`.
    pub fn claim_key(&self) -> &ClaimKey {
        &self.claim
    }

    /// The holder proof `H` (from the link secret alone).
    pub fn holder(&self) -> &HolderProof {
        &self.holder
    }

    /// Whether a passphrase went into these keys; decides whether a failed decryption means "wrong passphrase".
    pub fn with_passphrase(&self) -> bool {
        self.with_passphrase
    }
}

impl fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkKeys").field("with_passphrase", &self.with_passphrase).finish_non_exhaustive()
    }
}

/// What the relay may know about a link besides its ciphertext: the secret check and the passphrase parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicMeta {
    /// See [`SecretCheck`].
    pub check: SecretCheck,
    /// Argon2id parameters, if the link has a passphrase.
    pub kdf: Option<KdfParams>,
}

/// Everything a sender needs to create one link: the secret for the fragment, its keys, and the public metadata.
#[derive(Debug)]
pub struct NewLink {
    /// The link secret.
    pub secret: LinkSecret,
    /// Keys derived from it.
    pub keys: LinkKeys,
    /// Metadata for the relay.
    pub meta: PublicMeta,
}

impl NewLink {
    /// Makes a fresh link secret and derives everything from it.
    pub fn generate(rng: &mut impl CryptoRngCore, passphrase: Option<&SecretString>) -> Result<Self, KeyError> {
        let secret = LinkSecret::generate(rng);
        let kdf = passphrase.map(|_| KdfParams::generate(rng));
        let keys = LinkKeys::derive(&secret, passphrase.zip(kdf.as_ref()))?;
        let meta = PublicMeta { check: SecretCheck::of(&secret), kdf };
        Ok(Self { secret, keys, meta })
    }
}

/// Everything a requester needs to ask for a secret: the request's secret `R` (kept on the requester's machine), its
/// keys (the answers are opened with them, as links with secret `R`), and what goes into the request link.
#[derive(Debug)]
pub struct NewRequest {
    /// The request's secret `R`.
    pub secret: LinkSecret,
    /// Keys derived from it.
    pub keys: LinkKeys,
    /// Metadata for the relay (its check; never a passphrase).
    pub meta: PublicMeta,
    /// The public key that goes into the request link, `age1…`.
    pub recipient: String,
}

impl NewRequest {
    /// Makes a fresh request secret and derives everything from it.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_secret(LinkSecret::generate(rng))
    }

    /// Derives everything from a known request secret (one kept since the request was made).
    pub fn from_secret(secret: LinkSecret) -> Self {
        let keys = LinkKeys::derive(&secret, None).expect("no passphrase, so nothing to stretch");
        let meta = PublicMeta { check: SecretCheck::of(&secret), kdf: None };
        let recipient = keys.recipient().to_string();
        Self { secret, keys, meta, recipient }
    }

    /// The proof an answer carries, which the relay keeps the digest of.
    pub fn answer_proof(&self) -> AnswerProof {
        AnswerProof::of(&self.recipient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn small_params() -> KdfParams {
        KdfParams { salt: [7; 16], m_kib: KdfParams::MIN_M_KIB, t: 1, p: 1 }
    }

    #[test]
    fn labels_separate_domains() {
        let s = LinkSecret::from_bytes([1; 32]);
        let k = LinkKeys::derive(&s, None).unwrap();
        assert_ne!(*k.x25519, *k.claim.expose());
        assert_ne!(&SecretCheck::of(&s).0[..], &k.claim.expose()[..16]);
        assert_ne!(k.holder.expose(), k.claim.expose());
        assert_ne!(k.holder.expose(), &*k.x25519);
        assert_ne!(&SecretCheck::of(&s).0[..], &k.holder.expose()[..16]);
        assert!(k.identity_string().expose_secret().starts_with("AGE-SECRET-KEY-1"));
        assert!(k.recipient().to_string().starts_with("age1"));
    }

    #[test]
    fn a_request_link_carries_a_key_whose_answers_open_with_the_request_secret() {
        let r = NewRequest::from_secret(LinkSecret::from_bytes([9; 32]));
        assert!(r.recipient.starts_with("age1"));
        assert_eq!(r.recipient, r.keys.recipient().to_string());
        // The proof comes from the public key alone, however it is written, and differs from every other key.
        assert_eq!(r.answer_proof().expose(), AnswerProof::of(&r.recipient.to_uppercase()).expose());
        assert_ne!(r.answer_proof().expose(), r.keys.holder().expose());
        assert_ne!(r.answer_proof().expose(), r.keys.claim_key().expose());
        let other = NewRequest::from_secret(LinkSecret::from_bytes([10; 32]));
        assert_ne!(r.answer_proof().expose(), other.answer_proof().expose());
        assert!(r.meta.check.matches(&r.secret) && r.meta.kdf.is_none());
    }

    #[test]
    fn passphrase_changes_every_key() {
        let s = LinkSecret::from_bytes([2; 32]);
        let params = small_params();
        let a = LinkKeys::derive(&s, None).unwrap();
        let b = LinkKeys::derive(&s, Some((&SecretString::from("correct horse"), &params))).unwrap();
        let c = LinkKeys::derive(&s, Some((&SecretString::from("correct horsf"), &params))).unwrap();
        assert_ne!(a.claim.expose(), b.claim.expose());
        assert_ne!(b.claim.expose(), c.claim.expose());
        assert_ne!(a.recipient().to_string(), b.recipient().to_string());
        assert!(b.with_passphrase() && !a.with_passphrase());
        // The holder proof is the same with or without a (right or wrong) passphrase: it proves holding the link.
        assert_eq!(a.holder().expose(), b.holder().expose());
        assert_eq!(b.holder().expose(), c.holder().expose());
        assert_ne!(a.holder().expose(), a.claim.expose());
    }

    #[test]
    fn passphrase_is_nfc_normalized() {
        let s = LinkSecret::from_bytes([3; 32]);
        let params = small_params();
        let composed = LinkKeys::derive(&s, Some((&SecretString::from("caf\u{e9}"), &params))).unwrap();
        let decomposed = LinkKeys::derive(&s, Some((&SecretString::from("cafe\u{301}"), &params))).unwrap();
        assert_eq!(composed.claim.expose(), decomposed.claim.expose());
    }

    #[test]
    fn unlock_tells_damaged_link_from_missing_passphrase() {
        let mut rng = StdRng::seed_from_u64(1);
        let link = NewLink::generate(&mut rng, None).unwrap();
        let other = LinkSecret::generate(&mut rng);
        assert_eq!(LinkKeys::unlock(&other, &link.meta, None).unwrap_err(), KeyError::WrongSecret);
        let k = LinkKeys::unlock(&link.secret, &link.meta, None).unwrap();
        assert_eq!(k.claim_key().expose(), link.keys.claim_key().expose());

        let meta = PublicMeta { check: link.meta.check, kdf: Some(small_params()) };
        assert_eq!(LinkKeys::unlock(&link.secret, &meta, None).unwrap_err(), KeyError::PassphraseRequired);
    }

    #[test]
    fn kdf_caps_are_enforced() {
        let p = SecretString::from("x");
        for bad in [
            KdfParams { m_kib: KdfParams::MAX_M_KIB + 1, ..small_params() },
            KdfParams { m_kib: KdfParams::MIN_M_KIB - 1, ..small_params() },
            KdfParams { t: 0, ..small_params() },
            KdfParams { t: 11, ..small_params() },
            KdfParams { p: 0, ..small_params() },
            KdfParams { p: 17, ..small_params() },
            // Each within its own cap, but together more than four times the default work.
            KdfParams { m_kib: KdfParams::MAX_M_KIB, t: 4, ..small_params() },
            KdfParams { m_kib: 128 * 1024, t: 7, ..small_params() },
        ] {
            assert_eq!(bad.stretch(&p).unwrap_err(), KeyError::KdfParams, "{bad:?}");
        }
        KdfParams::generate(&mut StdRng::seed_from_u64(0)).validate().unwrap();
        KdfParams { m_kib: KdfParams::MAX_M_KIB, t: 3, ..small_params() }.validate().unwrap();
        KdfParams { m_kib: 64 * 1024, t: 10, ..small_params() }.validate().unwrap();
    }

    #[test]
    fn tokens_round_trip_and_hide_in_debug() {
        let t = ManageToken::generate(&mut StdRng::seed_from_u64(9));
        let txt = t.to_text();
        assert_eq!(ManageToken::from_text(&txt).unwrap().expose(), t.expose());
        assert!(ManageToken::from_text("short").is_none());
        assert!(!format!("{t:?}").contains(&txt[..8]));
        assert_eq!(t.digest(), ManageToken::from_bytes(*t.expose()).digest());
        assert_ne!(t.digest(), ManageToken::from_bytes([0; 32]).digest());
    }
}
