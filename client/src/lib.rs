/*!
`burnlink-client`: what the CLI and the desktop app call to talk to a relay.

[`transport`] owns the QUIC connection and the request/response exchanges of the wire protocol (the only module that
talks to quinn). Higher-level send and open flows build on it.
*/
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod transport;

pub use transport::{Error, RelayClient, Trust};
