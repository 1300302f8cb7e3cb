//! The sender's flows over a link it made: its status, revoking it, and following it until it ends. Each takes a
//! [`Connector`], as [`crate::open`] does, and closes what it opened on every path (a connection left to time out
//! holds a slot of this address's limit at the relay).

use std::ops::ControlFlow;
use std::time::Duration;

use burnlink_core::keys::ManageToken;
use burnlink_core::link::LinkId;
use burnlink_core::proto::StatusReport;

use crate::{Connector, Error};

/// The sender's exact view of `id`. [`Error::Gone`] if the token is wrong or the relay no longer knows the link.
pub async fn status(connector: &Connector, id: LinkId, manage: &ManageToken) -> Result<StatusReport, Error> {
    let client = connector.connect().await?;
    let r = client.status(id, manage.clone()).await;
    client.close().await;
    r?.ok_or(Error::Gone)
}

/// Revokes `id` (the relay deletes its ciphertext at once) and returns the view afterwards. Revoking a link that
/// already ended changes nothing and returns its state.
pub async fn revoke(connector: &Connector, id: LinkId, manage: &ManageToken) -> Result<StatusReport, Error> {
    let client = connector.connect().await?;
    let r = client.revoke(id, manage.clone()).await;
    client.close().await;
    r?.ok_or(Error::Gone)
}

/// How long [`watch`] waits before reconnecting: doubling from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(60));

/// Follows `id` until it reaches an end state (opened, expired, revoked, burned), handing every view to `seen`: the
/// current one first, then each change as the relay pushes it. A dropped connection or an unreachable relay is
/// retried with backoff, catching up with a status each time, so nothing that happened meanwhile is missed.
/// Returns the final view, `None` if `seen` broke off first, or [`Error::Gone`] if the relay does not know the link.
pub async fn watch(
    connector: &Connector,
    id: LinkId,
    manage: &ManageToken,
    mut seen: impl FnMut(&StatusReport) -> ControlFlow<()>,
) -> Result<Option<StatusReport>, Error> {
    let mut backoff = BACKOFF.0;
    loop {
        if let Ok(client) = connector.connect().await {
            backoff = BACKOFF.0;
            let r = follow(&client, id, manage, &mut seen).await;
            client.close().await;
            match r {
                Ok(Followed::Over(end)) => return Ok(end),
                Err(Error::Gone) => return Err(Error::Gone),
                Ok(Followed::Dropped) | Err(_) => {} // catch up after the backoff
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

/// How one connection's worth of [`watch`] ended.
enum Followed {
    /// The link ended (its final view), or `seen` broke off (`None`).
    Over(Option<StatusReport>),
    /// The connection ended first.
    Dropped,
}

async fn follow(
    client: &crate::RelayClient,
    id: LinkId,
    manage: &ManageToken,
    seen: &mut impl FnMut(&StatusReport) -> ControlFlow<()>,
) -> Result<Followed, Error> {
    let mut tell = |r: StatusReport| {
        if seen(&r).is_break() {
            Some(Followed::Over(None))
        } else {
            (!r.state.holds_content()).then_some(Followed::Over(Some(r)))
        }
    };
    let now = client.status(id, manage.clone()).await?.ok_or(Error::Gone)?;
    if let Some(over) = tell(now) {
        return Ok(over);
    }
    let mut w = client.watch(id, manage.clone()).await?;
    while let Some(r) = w.next().await? {
        if let Some(over) = tell(r) {
            return Ok(over);
        }
    }
    // The relay ended the watch: the link changed as the stream closed. One more status says how it ended.
    let last = client.status(id, manage.clone()).await?.ok_or(Error::Gone)?;
    Ok(tell(last).unwrap_or(Followed::Dropped))
}
