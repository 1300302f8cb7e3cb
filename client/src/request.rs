//! Requests for a secret, from the requester's side: making one, keeping its secret on this machine, listing its
//! answers and opening them, each once.
//!
//! A request is a link the requester keeps to itself (see [`burnlink_core::keys`]): its secret `R` opens every answer,
//! and only the public key goes into the request link. The CLI keeps `R` and the manage token in a 0600 file under
//! its state folder ([`KeptRequests`]); the app keeps them in the OS keychain.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use burnlink_core::keys::{ManageToken, NewRequest};
use burnlink_core::link::{Link, LinkId, LinkSecret, RelayOrigin, RequestLink};
use burnlink_core::proto::{AnswerList, AskRequest, MAX_ANSWERS};
use burnlink_core::state::{StateKind, Timestamp, MAX_TTL, MIN_TTL};
use burnlink_core::zeroize::Zeroizing;

use crate::open::{OpenOptions, Opened};
use crate::{Connector, Error, Progress};

/// A request this machine made. Its `Debug` shows neither the secret nor the manage token.
pub struct Asked {
    /// The request link to hand out (`https://…/r/<id>#age1…`); nothing in it is secret.
    pub link: RequestLink,
    /// The relay it lives on.
    pub relay: RelayOrigin,
    /// When it stops taking answers.
    pub expires_at: Timestamp,
    /// The request's secret `R`: opens every answer. Keep it private.
    pub secret: LinkSecret,
    /// Status and revoke of the request.
    pub manage: ManageToken,
}

impl std::fmt::Debug for Asked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asked").field("id", &self.link.id).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// Asks for a secret on the connector's relay: a request that takes `answers` answers (1 ..= [`MAX_ANSWERS`]) for
/// `ttl`.
pub async fn ask(connector: &Connector, ttl: Duration, answers: u8) -> Result<Asked, Error> {
    if !(MIN_TTL..=MAX_TTL).contains(&ttl) {
        return Err(Error::Input("expiry must be between 5 minutes and 30 days".into()));
    }
    if !(1..=MAX_ANSWERS).contains(&answers) {
        return Err(Error::Input(format!("a request takes 1 to {MAX_ANSWERS} answers")));
    }
    let new = NewRequest::generate(&mut rand::rngs::OsRng);
    let manage = ManageToken::generate(&mut rand::rngs::OsRng);
    let req = AskRequest {
        ttl_secs: ttl.as_secs() as u32,
        claim_hash: new.keys.claim_key().digest(),
        holder_hash: new.keys.holder().digest(),
        manage_hash: manage.digest(),
        answer_hash: new.answer_proof().digest(),
        check: new.meta.check,
        answers,
    };
    let client = connector.connect().await?;
    let made = client.ask(req).await;
    client.close().await;
    let (id, expires_at) = made?;
    let link = RequestLink { relay: Some(connector.origin.clone()), id, recipient: new.recipient.clone() };
    Ok(Asked { link, relay: connector.origin.clone(), expires_at, secret: new.secret, manage })
}

/// The answers to request `id`, for the holder of its secret. [`Error::Gone`] if the relay does not know it.
pub async fn answers(connector: &Connector, id: LinkId, secret: &LinkSecret) -> Result<AnswerList, Error> {
    let holder = NewRequest::from_secret(secret.clone()).keys.holder().clone();
    let client = connector.connect().await?;
    let list = client.answers(id, holder).await;
    client.close().await;
    list?.ok_or(Error::Gone)
}

/// How often [`open_answer`] looks for an answer while it waits.
const POLL: Duration = Duration::from_secs(1);

/// Opens the oldest answer of request `id` not opened yet, once, as [`crate::open::open`] opens a link (with the
/// request's secret). An answer whose download was interrupted here resumes. [`Error::NotAnswered`] if none has
/// come yet (with `wait`, waits for one instead, as long as the request takes answers); [`Error::AnswersGone`] once
/// every answer has been opened, or the request ended without one.
pub async fn open_answer(
    connector: &Connector,
    id: LinkId,
    secret: &LinkSecret,
    opts: OpenOptions,
    wait: bool,
    progress: Progress,
) -> Result<Opened, Error> {
    loop {
        let list = answers(connector, id, secret).await.map_err(|e| match e {
            Error::Gone => Error::AnswersGone,
            e => e,
        })?;
        for entry in list.answers.iter().filter(|a| matches!(a.state, StateKind::Fresh | StateKind::Claimed)) {
            let link = Link { relay: Some(connector.origin.clone()), id: entry.id, secret: secret.clone() };
            let o = OpenOptions { out: opts.out.clone(), passphrase: None, state_dir: opts.state_dir.clone(), ..opts };
            match crate::open::open(connector, &link, o, progress.clone()).await {
                // Claimed meanwhile by another open of this requester (or its lease ran out): try the next.
                Err(Error::Gone) => continue,
                other => return other,
            }
        }
        let more_to_come = list.state == StateKind::Asking && list.left > 0;
        if !more_to_come {
            return Err(Error::AnswersGone);
        }
        if !wait {
            return Err(Error::NotAnswered);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The requests this machine made, as the CLI keeps them: one file each, `<state dir>/requests/<id>.request`, mode
/// 0600 in a 0700 folder, written durably.
pub struct KeptRequests {
    dir: PathBuf,
}

/// What is kept of one request.
pub struct Kept {
    /// The relay it lives on.
    pub relay: RelayOrigin,
    /// The request's secret.
    pub secret: LinkSecret,
    /// Its manage token.
    pub manage: ManageToken,
    /// When it stops taking answers.
    pub expires_at: Timestamp,
}

impl KeptRequests {
    /// The requests kept under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self { dir: state_dir.join("requests") }
    }

    fn path(&self, id: &LinkId) -> PathBuf {
        let name: String = id.0.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.request"))
    }

    /// Keeps `asked`, durably, before its link is shown to anyone.
    pub fn save(&self, asked: &Asked) -> io::Result<()> {
        let body = Zeroizing::new(format!(
            "version=1\nrelay={}\nsecret={}\nmanage={}\nexpires={}\n",
            asked.relay.base_url(),
            asked.secret.to_fragment().as_str(),
            asked.manage.to_text().as_str(),
            asked.expires_at.0
        ));
        crate::resume::write_private(&self.path(&asked.link.id), body.as_bytes())?;
        // The rename itself, on stable storage: the link is shown only after this returns.
        fs::File::open(&self.dir)?.sync_all()
    }

    /// The kept request `id`, if this machine made it.
    pub fn load(&self, id: &LinkId) -> io::Result<Option<Kept>> {
        let path = self.path(id);
        let text = match fs::read_to_string(&path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad = || io::Error::other(format!("unreadable request file {}", path.display()));
        let field =
            |k: &str| text.lines().find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('='))).ok_or_else(bad);
        Ok(Some(Kept {
            relay: RelayOrigin::parse(field("relay")?).map_err(|_| bad())?,
            secret: LinkSecret::from_fragment(field("secret")?).map_err(|_| bad())?,
            manage: ManageToken::from_text(field("manage")?).ok_or_else(bad)?,
            expires_at: Timestamp(field("expires")?.parse().map_err(|_| bad())?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_request_reads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let kept = KeptRequests::new(dir.path());
        let new = NewRequest::generate(&mut rand::rngs::OsRng);
        let relay = RelayOrigin::parse("https://127.0.0.1:4433").unwrap();
        let id = LinkId([7; 16]);
        let asked = Asked {
            link: RequestLink { relay: Some(relay.clone()), id, recipient: new.recipient.clone() },
            relay,
            expires_at: Timestamp(1234),
            secret: new.secret.clone(),
            manage: ManageToken::from_bytes([3; 32]),
        };
        assert!(kept.load(&id).unwrap().is_none());
        kept.save(&asked).unwrap();
        let back = kept.load(&id).unwrap().unwrap();
        assert_eq!(back.secret.expose(), new.secret.expose());
        assert_eq!((back.manage.expose(), back.expires_at, back.relay.port), (&[3; 32], Timestamp(1234), Some(4433)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&kept.path(&id)), 0o600);
            assert_eq!(mode(&dir.path().join("requests")), 0o700);
        }
        let shown = format!("{asked:?}");
        assert!(!shown.contains(asked.secret.to_fragment().as_str()), "{shown}");
    }
}
