/*!
`burnlink-core`: the pure heart of Burnlink.

It owns the link format ([`link`]), the key schedule ([`keys`]), the plaintext container ([`container`]) and its age
envelope ([`envelope`]), the wire codec between clients and the relay ([`proto`], over the leaf byte codec
[`coding`]), the relay's per-link state machine ([`state`]) and the policy templates and allowlists links carry
([`policy`]). It performs no network or file IO and reads no
clock: time and randomness are passed in, so the relay, the clients and the tests drive the same logic
deterministically (the way quinn-proto is free of IO).
*/
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod coding;
pub mod container;
pub mod envelope;
pub mod keys;
pub mod link;
pub mod policy;
pub mod proto;
pub mod state;
pub mod stream;

pub use age;
pub use secrecy;
pub use zeroize;

/// Reads until `buf` is full or `r` ends; the bytes read.
pub(crate) fn fill(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
