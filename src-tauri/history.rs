//! The sender's history, kept in the OS keychain (Secret Service on Linux, via `keyring`): per link its id, manage
//! token, label, times and last known state; the link itself only until it is opened, expires or is revoked. Never
//! the content. One keychain item holds the whole list as JSON, so the list is written atomically.

use std::sync::Mutex;

use burnlink_core::coding::StateKind;
use burnlink_core::proto::StatusReport;
use serde::{Deserialize, Serialize};

use crate::error::{CmdError, CmdResult, Text};

/// Where the history's JSON is kept.
pub trait Vault: Send + Sync {
    /// The stored text, if any.
    fn load(&self) -> CmdResult<Option<String>>;
    /// Replaces the stored text.
    fn save(&self, text: &str) -> CmdResult<()>;
}

/// The OS keychain.
pub struct Keychain {
    entry: keyring::Entry,
}

impl Keychain {
    /// The item `service`/`user`.
    pub fn new(service: &str, user: &str) -> CmdResult<Self> {
        Ok(Self { entry: keyring::Entry::new(service, user)? })
    }
}

impl Vault for Keychain {
    fn load(&self) -> CmdResult<Option<String>> {
        match self.entry.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
    fn save(&self, text: &str) -> CmdResult<()> {
        Ok(self.entry.set_password(text)?)
    }
}

/// In memory (unit tests).
#[derive(Default)]
pub struct MemoryVault(pub Mutex<Option<String>>);

impl Vault for MemoryVault {
    fn load(&self) -> CmdResult<Option<String>> {
        Ok(self.0.lock().expect("vault lock").clone())
    }
    fn save(&self, text: &str) -> CmdResult<()> {
        *self.0.lock().expect("vault lock") = Some(text.to_owned());
        Ok(())
    }
}

/// A link's last known state, as the relay reported it. Stored as its lowercase name (`"fresh"`...), as before it
/// was an enum; a name this version does not know reads as `Unknown` instead of making the whole history unreadable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Waiting to be opened.
    Fresh,
    /// Being downloaded.
    Claimed,
    /// Opened.
    Consumed,
    /// Expired unopened.
    Expired,
    /// Revoked by the sender.
    Revoked,
    /// Burned after too many wrong passphrases.
    Burned,
    /// The live upload stopped before it finished.
    #[serde(rename = "upload_failed")]
    UploadFailed,
    /// A request for a secret that still takes answers.
    Asking,
    /// The relay no longer knows it.
    #[serde(other)]
    Unknown,
}

impl LinkState {
    /// Whether the state can still change.
    pub fn pending(self) -> bool {
        matches!(self, Self::Fresh | Self::Claimed | Self::Asking)
    }
}

impl From<StateKind> for LinkState {
    fn from(k: StateKind) -> Self {
        match k {
            StateKind::Fresh => Self::Fresh,
            StateKind::Claimed => Self::Claimed,
            StateKind::Consumed => Self::Consumed,
            StateKind::Expired => Self::Expired,
            StateKind::Revoked => Self::Revoked,
            StateKind::BurnedByAttempts => Self::Burned,
            StateKind::UploadFailed => Self::UploadFailed,
            StateKind::Asking => Self::Asking,
        }
    }
}

/// One link the user sent.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Link id.
    pub id: String,
    /// The manage token (base64url): status, revoke, watch.
    pub manage: String,
    /// What the sender called it.
    pub label: String,
    /// The relay it lives on.
    pub relay: String,
    /// The CA trusted for that relay, if any.
    pub ca: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: u64,
    /// When it expires unopened.
    pub expires_at: u64,
    /// The link, until it is opened, expires or is revoked.
    pub link: Option<String>,
    /// Last known state.
    pub state: LinkState,
    /// When the recipient opened it.
    pub claimed_at: Option<u64>,
    /// When it reached its end state.
    pub ended_at: Option<u64>,
    /// Whether the sender was already told it was opened.
    #[serde(default)]
    pub notified: bool,
    /// The event log's counts and the claimer's kind of client, as last reported.
    #[serde(default)]
    pub log: EventCounts,
    /// What "send again" needs: the files' paths (never their content; none for a text, which is asked for again),
    /// the expiry, the template and the allowlist.
    #[serde(default)]
    pub again: Resend,
    /// For a request for a secret this person made: its secret, which opens every answer (kept here, in the
    /// keychain, and nowhere else), and the answers seen so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestEntry>,
}

/// What the app keeps of a request for a secret.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestEntry {
    /// The request's secret `R` (base64url): opens every answer.
    pub secret: String,
    /// How many answers it takes.
    pub asked: u8,
    /// The answers seen on the relay, oldest first.
    pub answers: Vec<AnswerSeen>,
}

/// One answer to a request, as last seen.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnswerSeen {
    /// The answer's link id.
    pub id: String,
    /// Its state (`fresh` until the requester opens it).
    pub state: LinkState,
}

/// How a link was sent, so it can be sent again (a link burned by mistake, or expired).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Resend {
    /// Files and folders sent (empty: a text).
    pub paths: Vec<std::path::PathBuf>,
    /// Its expiry, in seconds.
    pub ttl_secs: u64,
    /// Its template's name.
    pub policy: Option<String>,
    /// Its network allowlist.
    pub allow: Vec<String>,
}

/// What the relay counts for the sender's event log, besides the times above.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventCounts {
    /// Fetches of the link's page (previews).
    pub previews: u32,
    /// Wrong passphrases tried.
    pub wrong_passphrases: u8,
    /// The kind of client that claimed it (`app`, `browser`, `cli`).
    pub claimed_via: Option<String>,
}

impl std::fmt::Debug for Entry {
    /// Never the link or the manage token: a log line or a panic must not hand out either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("relay", &self.relay)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("claimed_at", &self.claimed_at)
            .field("ended_at", &self.ended_at)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Whether the state can still change.
    pub fn pending(&self) -> bool {
        self.state.pending()
    }

    /// Records what the relay reported; returns whether this is the first sight of the link opened (so the sender
    /// is told once).
    pub fn observe(&mut self, r: &StatusReport) -> bool {
        self.state = r.state.into();
        self.expires_at = r.expires_at.0;
        self.claimed_at = r.claimed_at.map(|t| t.0);
        self.ended_at = r.ended_at.map(|t| t.0);
        self.log = EventCounts {
            previews: r.previews,
            wrong_passphrases: r.failed_attempts,
            claimed_via: r.claimed_via.map(|k| k.name().to_owned()),
        };
        let first = matches!(self.state, LinkState::Claimed | LinkState::Consumed) && !self.notified;
        self.notified |= first;
        first
    }
}

/// The history: a cache of the vault's list.
pub struct History {
    /// `Err` when the keychain could not be read: then nothing is written either, so an unreadable history is never
    /// overwritten by a new, shorter one.
    vault: Result<Box<dyn Vault>, CmdError>,
    entries: Mutex<Vec<Entry>>,
}

impl History {
    /// Loads the list from `vault`.
    pub fn open(vault: Box<dyn Vault>) -> CmdResult<Self> {
        let entries = match vault.load()? {
            Some(t) => serde_json::from_str(&t).map_err(|e| {
                CmdError::new(
                    "keychain",
                    Text::HistoryUnreadable,
                    format!("the history in the keychain is unreadable: {e}"),
                )
            })?,
            None => Vec::new(),
        };
        Ok(Self { vault: Ok(vault), entries: Mutex::new(entries) })
    }

    /// A history that could not be opened: reads are empty and every write fails with `why`.
    pub fn unavailable(why: CmdError) -> Self {
        Self { vault: Err(why), entries: Mutex::new(Vec::new()) }
    }

    /// Why the history is unavailable, if it is.
    pub fn problem(&self) -> Option<&CmdError> {
        self.vault.as_ref().err()
    }

    /// All entries, newest first.
    pub fn list(&self) -> Vec<Entry> {
        let mut v = self.entries.lock().expect("history lock").clone();
        v.sort_by_key(|e| std::cmp::Reverse(e.created_at));
        v
    }

    /// One entry.
    pub fn get(&self, id: &str) -> Option<Entry> {
        self.entries.lock().expect("history lock").iter().find(|e| e.id == id).cloned()
    }

    fn persist(&self, entries: &[Entry]) -> CmdResult<()> {
        match &self.vault {
            Ok(v) => v.save(&serde_json::to_string(entries).expect("entries serialize")),
            Err(why) => Err(why.clone()),
        }
    }

    /// Adds a new link.
    pub fn add(&self, e: Entry) -> CmdResult<()> {
        if let Some(why) = self.problem() {
            return Err(why.clone());
        }
        let mut list = self.entries.lock().expect("history lock");
        list.retain(|x| x.id != e.id);
        list.push(e);
        self.persist(&list)
    }

    /// Applies `f` to the entry `id` and stores the result if it changed; the link text is dropped once the link
    /// cannot be opened. Returns the entry and whether it changed.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Entry)) -> CmdResult<Option<(Entry, bool)>> {
        let mut list = self.entries.lock().expect("history lock");
        let Some(e) = list.iter_mut().find(|e| e.id == id) else { return Ok(None) };
        let before = e.clone();
        f(e);
        // A request's link carries only a public key, and is kept while it takes answers.
        if !matches!(e.state, LinkState::Fresh | LinkState::Asking) {
            e.link = None;
        }
        let after = e.clone();
        let changed = after != before;
        if changed {
            self.persist(&list)?;
        }
        Ok(Some((after, changed)))
    }

    /// Forgets a link (the relay still burns it on first read; only the local record goes).
    pub fn forget(&self, id: &str) -> CmdResult<bool> {
        let mut list = self.entries.lock().expect("history lock");
        let n = list.len();
        list.retain(|e| e.id != id);
        if list.len() == n {
            return Ok(false);
        }
        self.persist(&list)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Shared(Arc<MemoryVault>);
    impl Vault for Shared {
        fn load(&self) -> CmdResult<Option<String>> {
            self.0.load()
        }
        fn save(&self, t: &str) -> CmdResult<()> {
            self.0.save(t)
        }
    }

    fn entry(id: &str, created: u64) -> Entry {
        Entry {
            id: id.into(),
            manage: "m".into(),
            label: "Secret text".into(),
            relay: "https://r".into(),
            ca: None,
            created_at: created,
            expires_at: created + 1000,
            link: Some(format!("https://r/o/{id}#k")),
            state: LinkState::Fresh,
            claimed_at: None,
            ended_at: None,
            notified: false,
            log: Default::default(),
            again: Default::default(),
            request: None,
        }
    }

    #[test]
    fn a_history_written_before_event_logs_and_send_again_still_loads() {
        let old = r#"[{"id":"a","manage":"m","label":"L","relay":"https://r","ca":null,"created_at":1000,
            "expires_at":3601000,"link":null,"state":"consumed","claimed_at":2000,"ended_at":2000,"notified":true}]"#;
        let vault = MemoryVault(Mutex::new(Some(old.into())));
        let h = History::open(Box::new(vault)).unwrap();
        let e = h.get("a").unwrap();
        assert_eq!((e.log.clone(), e.again.clone()), (EventCounts::default(), Resend::default()));
        assert_eq!(e.state, LinkState::Consumed);
    }

    #[test]
    fn debug_shows_neither_the_link_nor_the_manage_token() {
        let mut e = entry("a", 1);
        e.manage = "MANAGE-TOKEN-TEXT".into();
        e.link = Some("https://r/o/a#FRAGMENT-SECRET".into());
        let shown = format!("{e:?} {e:#?}");
        assert!(!shown.contains("MANAGE-TOKEN-TEXT") && !shown.contains("FRAGMENT-SECRET"), "{shown}");
        assert!(shown.contains("\"a\""), "the id is still shown");
    }

    #[test]
    fn persists_updates_and_drops_links_that_cannot_open() {
        let vault = Arc::new(MemoryVault::default());
        let h = History::open(Box::new(Shared(vault.clone()))).unwrap();
        h.add(entry("a", 1)).unwrap();
        h.add(entry("b", 2)).unwrap();
        assert_eq!(h.list().iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        let (e, changed) = h.update("a", |e| e.state = LinkState::Consumed).unwrap().unwrap();
        assert!(changed);
        assert_eq!(e.link, None, "an opened link is not kept");
        assert!(!h.update("a", |e| e.state = LinkState::Consumed).unwrap().unwrap().1, "no change, no write");
        assert!(!vault.load().unwrap().unwrap().contains("https://r/o/a#k"));
        // A fresh process sees the same.
        let again = History::open(Box::new(Shared(vault.clone()))).unwrap();
        assert_eq!(again.get("a").unwrap().state, LinkState::Consumed);
        assert_eq!(again.get("b").unwrap().link.as_deref(), Some("https://r/o/b#k"));
        assert!(again.forget("b").unwrap());
        assert!(!again.forget("b").unwrap());
        assert_eq!(History::open(Box::new(Shared(vault))).unwrap().list().len(), 1);
    }

    #[test]
    fn states_keep_their_stored_names_and_unknown_ones_do_not_break_the_list() {
        let v = MemoryVault::default();
        let mut stored = serde_json::to_value([entry("a", 1), entry("b", 2)]).unwrap();
        assert_eq!(stored[0]["state"], "fresh", "the keychain format is unchanged");
        stored[0]["state"] = "burned".into();
        stored[1]["state"] = "some-future-state".into();
        v.save(&stored.to_string()).unwrap();
        let h = History::open(Box::new(v)).unwrap();
        assert_eq!(h.get("a").unwrap().state, LinkState::Burned);
        assert_eq!(h.get("b").unwrap().state, LinkState::Unknown);
    }

    #[test]
    fn unreadable_history_is_an_error_not_an_empty_list() {
        let v = MemoryVault::default();
        v.save("not json").unwrap();
        let why = History::open(Box::new(v)).err().unwrap();
        assert_eq!(why.code, "keychain");
        // The app then runs with an unavailable history that refuses writes instead of replacing what is there.
        let h = History::unavailable(why);
        assert_eq!(h.problem().unwrap().code, "keychain");
        assert_eq!(h.add(entry("a", 1)).unwrap_err().code, "keychain");
        assert!(h.list().is_empty());
    }
}
