/*!
`burnlink-client`: what the CLI (`cli/`) and the desktop app call to talk to a relay.

- [`transport`]: the QUIC connection and one method per request of the wire protocol (the only module that talks
  to quinn).
- [`send`] and [`open`]: the whole flows, streaming and in constant memory, with progress callbacks.
- [`manage`]: the sender's flows: status, revoke, and following a link until it ends.
- [`request`]: the requester's side of a request for a secret.
- [`sink`] and [`resume`]: where opened files are staged and how an interrupted download is resumed.
*/
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::Arc;

use burnlink_core::link::RelayOrigin;

pub mod error;
pub mod manage;
pub mod open;
pub mod request;
pub mod resume;
pub mod send;
pub mod sink;
pub mod timing;
pub mod transport;

pub use error::Error;
pub use transport::{RelayClient, Trust};

/// Progress callback: `(done, total)` bytes.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// A progress callback that does nothing.
pub fn no_progress() -> Progress {
    Arc::new(|_, _| {})
}

/// How to reach one relay; connects anew on demand (resuming after a dropped connection).
#[derive(Clone, Debug)]
pub struct Connector {
    /// The relay.
    pub origin: RelayOrigin,
    /// Whom to trust.
    pub trust: Trust,
}

impl Connector {
    /// Opens a connection for requests and small payloads.
    pub async fn connect(&self) -> Result<RelayClient, transport::TransportError> {
        RelayClient::connect_with(&self.origin, &self.trust, false).await
    }

    /// Opens a connection for a large transfer: it probes the path for packets up to
    /// [`burnlink_core::proto::MAX_UDP_PAYLOAD`], which costs a few milliseconds up front and saves a fifth of a
    /// large transfer's time where the path allows them.
    pub async fn connect_bulk(&self) -> Result<RelayClient, transport::TransportError> {
        RelayClient::connect_with(&self.origin, &self.trust, true).await
    }
}
