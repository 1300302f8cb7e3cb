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
