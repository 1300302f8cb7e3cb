/*!
`burnlink-client`: what the CLI (`cli/`) and the desktop app call to talk to a relay.

- [`transport`]: the QUIC connection and one method per request of the wire protocol (the only module that talks
  to quinn).
- [`send`] and [`open`]: the whole flows, streaming and in constant memory, with progress callbacks.
- [`manage`]: the sender's flows: status, revoke, and following a link until it ends.
- [`sink`] and [`resume`]: where opened files are staged and how an interrupted download is resumed.
*/
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::sync::Arc;

use burnlink_core::link::RelayOrigin;

pub mod error;
pub mod manage;
pub mod open;
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
    /// Opens a connection.
    pub async fn connect(&self) -> Result<RelayClient, transport::TransportError> {
        RelayClient::connect(&self.origin, &self.trust).await
    }
}
