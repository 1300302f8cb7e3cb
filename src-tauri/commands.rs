//! The Tauri commands: each a few lines that call `burnlink-client` (or the history and settings) and map errors to
//! `{code, message}`. Long work reports `progress` events (`{op, done, total}`) to the window.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use burnlink_client::open::{OpenOptions, Opened, Output};
use burnlink_client::send::{OnLink, Payload, SendOptions, Sent};
use burnlink_client::{manage, Connector};
use burnlink_core::link::{Link, RequestLink};
use burnlink_core::policy::{Cidr, Rules, Template};
use burnlink_core::proto::ClientKind;
use burnlink_core::secrecy::{ExposeSecret, SecretString};
use burnlink_core::zeroize::Zeroizing;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::error::{CmdError, CmdResult, Text};
use crate::history::{AnswerSeen, Entry, EventCounts, LinkState, Resend};
use crate::settings::Settings;
use crate::words::{fill, Words};
use crate::{now_ms, watch, AppState};

/// The `progress` event.
#[derive(Clone, Serialize)]
struct ProgressEvent {
    op: &'static str,
    done: u64,
    total: u64,
}

/// A progress callback that emits at most ~20 events a second, and always the last one.
pub(crate) fn progress<R: Runtime>(app: &AppHandle<R>, op: &'static str) -> burnlink_client::Progress {
    let app = app.clone();
    let last = std::sync::Mutex::new(Instant::now() - Duration::from_secs(1));
    Arc::new(move |done, total| {
        let mut l = last.lock().expect("progress lock");
        if done >= total || l.elapsed() >= Duration::from_millis(50) {
            *l = Instant::now();
            let _ = app.emit("progress", ProgressEvent { op, done, total });
        }
    })
}

fn secret(s: Option<String>) -> Option<SecretString> {
    s.filter(|p| !p.is_empty()).map(SecretString::from)
}

/// The current settings.
#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings.lock().expect("settings lock").clone()
}

/// Checks and stores new settings.
#[tauri::command]
pub fn set_settings(state: State<'_, AppState>, settings: Settings) -> CmdResult<Settings> {
    settings.save(&state.config_dir)?;
    *state.settings.lock().expect("settings lock") = settings.clone();
    Ok(settings)
}

/// What to send.
#[derive(Deserialize)]
pub struct SendRequest {
    /// A text secret (or none when sending files).
    pub text: Option<String>,
    /// Files and folders.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Time to live, 5 min ..= 30 days.
    pub ttl_secs: u64,
    /// Optional passphrase.
    pub passphrase: Option<String>,
    /// The sender's name for it in the history.
    pub label: Option<String>,
    /// A policy template's name (`ultra-secure`, `standard`, `lightweight`).
    #[serde(default)]
    pub policy: Option<String>,
    /// Networks the link may be opened from (CIDR blocks; empty: anywhere).
    #[serde(default)]
    pub allow: Vec<String>,
    /// The history id of a link this one replaces ("send again"): revoked once the new link exists, if still live.
    #[serde(default)]
    pub replaces: Option<String>,
    /// How many recipients: one upload, a one-time link for each (default 1).
    #[serde(default)]
    pub recipients: Option<usize>,
    /// A request link to answer instead of making a link to share: the secret is encrypted to the requester alone.
    #[serde(default)]
    pub to: Option<String>,
}

/// A created link.
#[derive(Serialize, Clone)]
pub struct SentView {
    link: String,
    id: String,
    expires_at: u64,
    label: String,
    /// The link as a QR code (SVG).
    qr_svg: String,
    /// Whether the link is on the clipboard.
    copied: bool,
    /// Seconds until the app clears it from the clipboard (0: never).
    clear_after_secs: u64,
    /// Why the link could not be recorded in the history (the link itself is fine).
    history_error: Option<CmdError>,
    /// The passphrase generated for a template that requires one, to pass on by another channel.
    passphrase: Option<String>,
    /// The other recipients' links of the same upload, in order (the first is `link`).
    more: Vec<MoreView>,
    /// An answer to a request: nothing to share (`link` is the request it answered), nothing copied.
    answered: bool,
}

/// Another recipient's link of an upload.
#[derive(Serialize, Clone)]
pub struct MoreView {
    link: String,
    id: String,
    qr_svg: String,
}

pub(crate) fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

fn default_label(req: &SendRequest, words: &Words) -> String {
    match (req.label.as_deref().map(str::trim).filter(|l| !l.is_empty()), req.paths.as_slice()) {
        (Some(l), _) => l.to_owned(),
        (None, []) => words.secret_text.clone(),
        (None, [one]) => {
            one.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| words.file.clone())
        }
        (None, many) => fill(&words.items, &[("count", &many.len().to_string())]),
    }
}

/// The window's language for what Rust says itself (notifications, names of unnamed links).
#[tauri::command]
pub fn set_words(state: State<'_, AppState>, words: Words) {
    *state.words.lock().expect("words lock") = words;
}

/// Encrypts and uploads a live link: as soon as the relay has made it visible, records it in the keychain history,
/// copies it, starts watching it and tells the window (`link-ready`, with the [`SentView`]), so the sender can share
/// it while the upload runs; returns the same view once everything is stored.
#[tauri::command]
pub async fn send<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, req: SendRequest) -> CmdResult<SentView> {
    let settings = state.settings.lock().expect("settings lock").clone();
    let mut connector = settings.connector()?;
    state.grants.check_send(&req.paths)?;
    let answer = match req.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => {
            let to = RequestLink::parse(t).map_err(|e| {
                CmdError::input(Text::NotARequestLink, format!("not a request link: {e}")).with("detail", e.to_string())
            })?;
            // An answer goes to the relay that holds the request.
            if let Some(o) = to.relay.as_ref().filter(|o| **o != connector.origin) {
                connector = Connector { origin: o.clone(), trust: burnlink_client::Trust::WebPki };
            }
            Some(to)
        }
        None => None,
    };
    let label = default_label(&req, &state.words());
    let again = Resend {
        paths: req.paths.clone(),
        ttl_secs: req.ttl_secs,
        policy: req.policy.clone().filter(|p| !p.is_empty()),
        allow: req.allow.clone(),
    };
    let payload = match (req.text, req.paths.is_empty()) {
        (Some(t), true) => Payload::Text(Zeroizing::new(t)),
        (None, false) => Payload::Paths(req.paths),
        (Some(_), false) => return Err(CmdError::input(Text::TextOrFiles, "send either a text or files, not both")),
        (None, true) => return Err(CmdError::input(Text::NothingToSend, "type a secret or add files first")),
    };
    let policy = match req.policy.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(p.parse::<Template>().map_err(|e| CmdError::input(Text::Input, e.to_string()).detailed())?),
        None => None,
    };
    let allow = req.allow.iter().filter(|c| !c.trim().is_empty()).map(|c| c.parse::<Cidr>()).collect::<Result<_, _>>();
    let rules = Rules { policy, allow: allow.map_err(|e| CmdError::input(Text::Input, e.to_string()).detailed())? };
    let mut passphrase = secret(req.passphrase);
    // A template that requires a passphrase gets a generated one unless the sender typed their own.
    let generated = match policy {
        Some(t) if t.passphrase_required() && passphrase.is_none() => {
            let p = burnlink_core::policy::generate_passphrase(&mut rand::rngs::OsRng);
            passphrase = Some(p.clone());
            Some(p)
        }
        _ => None,
    };
    let recipients = req.recipients.unwrap_or(1);
    let shown = Arc::new(std::sync::Mutex::new(None::<SentView>));
    let label = if answer.is_some() { format!("Answer: {label}") } else { label };
    let look = Look {
        label: label.clone(),
        notify: policy.is_none_or(Template::notify_on_open),
        generated,
        again,
        answer: answer.is_some(),
    };
    let on_link: OnLink = {
        let (app, settings, shown, look) = (app.clone(), settings.clone(), shown.clone(), look.clone());
        Arc::new(move |sent: &Sent| {
            let view = sent_view(&app, &settings, sent, &look);
            let _ = app.emit("link-ready", &view);
            *shown.lock().expect("not poisoned") = Some(view);
        })
    };
    let opts = SendOptions {
        ttl: Duration::from_secs(req.ttl_secs),
        passphrase,
        rules,
        recipients,
        // An answer is made once it is stored: the requester finds it then.
        live: answer.is_none().then_some(on_link),
        answer,
    };
    let client =
        if matches!(payload, Payload::Text(_)) { connector.connect().await? } else { connector.connect_bulk().await? };
    let sent = burnlink_client::send::send(&client, &connector.origin, payload, opts, progress(&app, "send")).await;
    client.close().await;
    let sent = sent?;
    if let Some(old) = req.replaces.as_deref() {
        // Sent again: the old link must not open any more. Failing to revoke it does not undo the new link.
        if state.history.get(old).is_some_and(|e| e.pending()) {
            if let Err(e) = revoke(app.clone(), state.clone(), old.to_owned()).await {
                tracing::warn!("revoking the link this one replaces failed: {}", e.message);
            }
        }
    }
    let view = shown.lock().expect("not poisoned").take();
    // Every live create announces its link before it returns; this is only a guard.
    Ok(view.unwrap_or_else(|| sent_view(&app, &settings, &sent, &look)))
}

/// How a sent link is shown and kept: its label, whether its opening is notified, a generated passphrase.
#[derive(Clone)]
struct Look {
    label: String,
    notify: bool,
    generated: Option<SecretString>,
    again: Resend,
    /// An answer to a request: kept in the history without a link, and nothing copied.
    answer: bool,
}

/// Records, copies and shows a link that now exists.
fn sent_view<R: Runtime>(app: &AppHandle<R>, settings: &Settings, sent: &Sent, look: &Look) -> SentView {
    let label = look.label.clone();
    let n = sent.more.len() + 1;
    // Several recipients: an entry each in the history, so each link's state shows.
    let words = app.state::<AppState>().words();
    let nth = |i: usize| {
        if n == 1 {
            label.clone()
        } else {
            fill(&words.recipient, &[("label", &label), ("i", &i.to_string()), ("n", &n.to_string())])
        }
    };
    let mut recorded = watch::record(app, settings, sent, nth(1), look.notify, look.again.clone());
    if look.answer {
        // Its "link" is the request it answered, which is not the answerer's to pass on.
        let id = sent.id.to_string();
        recorded = recorded.and(app.state::<AppState>().history.update(&id, |e| e.link = None).map(|_| ()));
        return SentView {
            link: sent.link.to_string(),
            id,
            expires_at: sent.expires_at.0,
            label,
            qr_svg: String::new(),
            copied: false,
            clear_after_secs: 0,
            history_error: recorded.err(),
            passphrase: None,
            more: Vec::new(),
            answered: true,
        };
    }
    for (i, m) in sent.more.iter().enumerate() {
        let one = Sent {
            link: m.link.clone(),
            id: m.id,
            expires_at: sent.expires_at,
            manage: m.manage.clone(),
            bytes: sent.bytes,
            skipped: Vec::new(),
            more: Vec::new(),
        };
        recorded = recorded.and(watch::record(app, settings, &one, nth(i + 2), look.notify, look.again.clone()));
    }
    let link = sent.link.to_string();
    let clear_after_secs = settings.link_clear_secs;
    let more: Vec<MoreView> = sent
        .more
        .iter()
        .map(|m| MoreView { link: m.link.to_string(), id: m.id.to_string(), qr_svg: qr_svg(&m.link) })
        .collect();
    // All the links on the clipboard, one per line, when there are several.
    let all = Zeroizing::new(
        std::iter::once(link.clone()).chain(more.iter().map(|m| m.link.clone())).collect::<Vec<_>>().join("\n"),
    );
    SentView {
        copied: copy_and_clear(app, &all, clear_after_secs).is_ok(),
        more,
        clear_after_secs,
        qr_svg: qr_svg(&link),
        link,
        id: sent.id.to_string(),
        expires_at: sent.expires_at.0,
        label,
        history_error: recorded.err(),
        passphrase: look.generated.as_ref().map(|p| p.expose_secret().to_owned()),
        answered: false,
    }
}

fn write_clipboard<R: Runtime>(app: &AppHandle<R>, text: &str) -> CmdResult<()> {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    if app.try_state::<tauri_plugin_clipboard_manager::Clipboard<R>>().is_none() {
        return Err(CmdError::new("io", Text::NoClipboard, "no clipboard"));
    }
    app.clipboard()
        .write_text(text)
        .map_err(|e| CmdError::new("io", Text::Io, format!("clipboard: {e}")).with("detail", e.to_string()))
}

/// Copies `text`; with `clear_after_secs`, clears the clipboard then if it still holds `text`.
#[tauri::command]
pub async fn copy_text<R: Runtime>(app: AppHandle<R>, text: String, clear_after_secs: Option<u64>) -> CmdResult<()> {
    copy_and_clear(&app, &text, clear_after_secs.unwrap_or(0))
}

/// Copies `text` and, unless `secs` is 0, clears the clipboard after `secs` if it still holds `text` (so a later copy
/// of something else is never wiped), telling the window with `clipboard-cleared`.
pub(crate) fn copy_and_clear<R: Runtime>(app: &AppHandle<R>, text: &str, secs: u64) -> CmdResult<()> {
    write_clipboard(app, text)?;
    if secs > 0 {
        let text = Zeroizing::new(text.to_owned());
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            use tauri_plugin_clipboard_manager::ClipboardExt;
            if app.clipboard().read_text().is_ok_and(|now| now == *text) {
                let _ = app.clipboard().write_text("");
                let _ = app.emit("clipboard-cleared", ());
            }
        });
    }
    Ok(())
}

/// A link and how to reach its relay: https links name their relay; `burnlink://` links use the configured one.
fn resolve(state: &AppState, text: &str) -> CmdResult<(Link, Connector)> {
    let link = Link::parse(text.trim()).map_err(|e| {
        CmdError::input(Text::NotALink, format!("not a valid Burnlink link: {e}")).with("detail", e.to_string())
    })?;
    let settings = state.settings.lock().expect("settings lock").clone();
    let configured = settings.connector()?;
    let connector = match &link.relay {
        Some(o) if *o != configured.origin => Connector { origin: o.clone(), trust: burnlink_client::Trust::WebPki },
        _ => configured,
    };
    Ok((link, connector))
}

/// What peek says about a link.
#[derive(Serialize)]
pub struct PeekView {
    size: u64,
    expires_at: u64,
    passphrase: bool,
    key_matches: bool,
}

/// What is known about a link without opening it. Never burns.
#[tauri::command]
pub async fn peek(state: State<'_, AppState>, link: String) -> CmdResult<PeekView> {
    let (link, connector) = resolve(&state, &link)?;
    let info = burnlink_client::open::peek(&connector, &link).await?;
    Ok(PeekView {
        size: info.size,
        expires_at: info.expires_at.0,
        passphrase: info.meta.kdf.is_some(),
        key_matches: info.meta.check.matches(&link.secret),
    })
}

/// What a link held.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OpenedView {
    /// A text secret.
    Text {
        /// The text.
        text: String,
    },
    /// Files saved into the chosen folder.
    Files {
        /// Where the top-level entries landed.
        saved: Vec<String>,
        /// How many files.
        files: u64,
        /// Their total size.
        bytes: u64,
    },
}

/// Opens a link (the burn): text comes back, files are saved into `out_dir` once the last chunk verified.
#[tauri::command]
pub async fn open<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    link: String,
    passphrase: Option<String>,
    out_dir: Option<String>,
) -> CmdResult<OpenedView> {
    let (link, connector) = resolve(&state, &link)?;
    open_link(&app, &state, &connector, &link, secret(passphrase), out_dir).await
}

/// Opens `link` on `connector`'s relay into `out_dir` (default: the downloads folder), which must be granted.
pub(crate) async fn open_link<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    connector: &Connector,
    link: &Link,
    passphrase: Option<SecretString>,
    out_dir: Option<String>,
) -> CmdResult<OpenedView> {
    let default = default_dir(app);
    let out = out_dir.map(PathBuf::from).unwrap_or_else(|| default.clone());
    state.grants.check_save(&out, &default)?;
    if !out.is_dir() {
        return Err(CmdError::input(Text::NotAFolder, format!("{} is not a folder", out.display()))
            .with("path", out.display().to_string()));
    }
    let opts =
        OpenOptions { out: Output::Dir(out), passphrase, state_dir: state.state_dir.clone(), client: ClientKind::App };
    match burnlink_client::open::open(connector, link, opts, progress(app, "open")).await? {
        Opened::Text(t) => Ok(OpenedView::Text { text: t.to_string() }),
        Opened::Files { saved, summary } => Ok(OpenedView::Files {
            saved: saved.iter().map(|p| p.display().to_string()).collect(),
            files: summary.files,
            bytes: summary.bytes,
        }),
        Opened::Stdout { .. } => Err(CmdError::input(Text::Input, "unexpected output mode").detailed()),
    }
}

pub(crate) fn default_dir<R: Runtime>(app: &AppHandle<R>) -> PathBuf {
    app.path().download_dir().ok().filter(|d| d.is_dir()).or_else(|| app.path().home_dir().ok()).unwrap_or_default()
}

/// Where received files go unless the person picks another folder.
#[tauri::command]
pub fn default_folder<R: Runtime>(app: AppHandle<R>) -> String {
    default_dir(&app).display().to_string()
}

/// One history row for the window (never the manage token).
#[derive(Serialize)]
pub struct EntryView {
    id: String,
    label: String,
    created_at: u64,
    expires_at: u64,
    /// The link while it can still be opened.
    link: Option<String>,
    state: LinkState,
    claimed_at: Option<u64>,
    ended_at: Option<u64>,
    /// The event log's counts.
    log: EventCounts,
    /// For a request for a secret: how many answers it takes and those seen (never its secret).
    request: Option<RequestView>,
}

/// A request's answers, for the window.
#[derive(Serialize)]
pub struct RequestView {
    asked: u8,
    answers: Vec<AnswerSeen>,
}

impl From<Entry> for EntryView {
    fn from(e: Entry) -> Self {
        let expired = matches!(e.state, LinkState::Fresh | LinkState::Asking) && e.expires_at <= now_ms();
        Self {
            link: if expired { None } else { e.link },
            state: if expired { LinkState::Expired } else { e.state },
            id: e.id,
            label: e.label,
            created_at: e.created_at,
            expires_at: e.expires_at,
            claimed_at: e.claimed_at,
            ended_at: e.ended_at,
            log: e.log,
            request: e.request.map(|r| RequestView { asked: r.asked, answers: r.answers }),
        }
    }
}

/// The history as last recorded; an error when the keychain could not be read.
#[tauri::command]
pub fn history(state: State<'_, AppState>) -> CmdResult<Vec<EntryView>> {
    if let Some(why) = state.history.problem() {
        return Err(why.clone());
    }
    Ok(state.history.list().into_iter().map(EntryView::from).collect())
}

/// Asks the relays for the state of every pending link, then returns the history.
#[tauri::command]
pub async fn refresh_history<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> CmdResult<Vec<EntryView>> {
    for e in state.history.list().into_iter().filter(Entry::pending) {
        let Some((connector, id, manage)) = watch::target(&e) else { continue };
        let asked = tokio::time::timeout(Duration::from_secs(5), manage::status(&connector, id, &manage)).await;
        if let Ok(Ok(r)) = asked {
            watch::apply(&app, &e.id, &r);
        }
        watch::spawn(app.clone(), e.id.clone());
    }
    // A request's answers may wait to be opened after the request itself stopped taking more.
    let waiting =
        |e: &Entry| e.request.as_ref().is_some_and(|r| e.pending() || r.answers.iter().any(|a| a.state.pending()));
    for e in state.history.list().into_iter().filter(waiting) {
        let _ = tokio::time::timeout(Duration::from_secs(5), crate::requests::check_answers(app.clone(), e.id)).await;
    }
    history(state)
}

/// Revokes a link so it can no longer be opened.
#[tauri::command]
pub async fn revoke<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, id: String) -> CmdResult<EntryView> {
    let e = state
        .history
        .get(&id)
        .ok_or_else(|| CmdError::new("not_found", Text::NotInHistory, "no such link in the history"))?;
    let (connector, link_id, manage) = watch::target(&e)
        .ok_or_else(|| CmdError::new("not_found", Text::EntryDamaged, "this history entry is damaged"))?;
    let r = manage::revoke(&connector, link_id, &manage).await?;
    Ok(watch::apply(&app, &id, &r).map_or_else(|| e.into(), EntryView::from))
}

/// What the Send view needs to send a link of the history again.
#[derive(Serialize)]
pub struct Draft {
    /// The files and folders (granted to `send` by this call: they come from the history, not the window).
    paths: Vec<String>,
    ttl_secs: u64,
    policy: Option<String>,
    allow: Vec<String>,
    label: String,
    /// The history id it replaces.
    replaces: String,
}

/// "Send again" for a link of the history (burned by mistake, expired, or still live): its files, expiry, template
/// and allowlist for the Send view, which sends a new link and revokes this one if it is still live. A text is not
/// kept anywhere: the person types it again.
#[tauri::command]
pub fn send_again(state: State<'_, AppState>, id: String) -> CmdResult<Draft> {
    let e = state
        .history
        .get(&id)
        .ok_or_else(|| CmdError::new("not_found", Text::NotInHistory, "no such link in the history"))?;
    let missing: Vec<_> = e.again.paths.iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
    if !missing.is_empty() {
        return Err(CmdError::input(
            Text::FilesGone,
            format!("these files are no longer there: {}", missing.join(", ")),
        )
        .with("paths", missing.join(", ")));
    }
    state.grants.allow_send(e.again.paths.iter().cloned());
    let ttl_secs =
        if e.again.ttl_secs > 0 { e.again.ttl_secs } else { e.expires_at.saturating_sub(e.created_at) / 1000 };
    Ok(Draft {
        paths: e.again.paths.iter().map(|p| p.display().to_string()).collect(),
        ttl_secs,
        policy: e.again.policy,
        allow: e.again.allow,
        label: e.label,
        replaces: e.id,
    })
}

/// Removes a link from the history (the link itself keeps working until opened or expired).
#[tauri::command]
pub fn forget(state: State<'_, AppState>, id: String) -> CmdResult<bool> {
    state.history.forget(&id)
}

/// A passphrase to send through another channel (see [`burnlink_core::policy::generate_passphrase`]).
#[tauri::command]
pub fn generate_passphrase() -> String {
    burnlink_core::policy::generate_passphrase(&mut rand::rngs::OsRng).expose_secret().to_owned()
}

/// A link the app was started with (a `burnlink://` deep link), if any.
#[tauri::command]
pub fn initial_link() -> Option<String> {
    crate::link_in_args(&std::env::args().collect::<Vec<_>>())
}

/// Files or folders to send, from the system's dialog; they are granted to `send`.
#[tauri::command]
pub async fn pick_files<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    directory: bool,
) -> CmdResult<Vec<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dialog = app.dialog().file();
    if directory {
        dialog.pick_folders(move |p| {
            let _ = tx.send(p);
        });
    } else {
        dialog.pick_files(move |p| {
            let _ = tx.send(p);
        });
    }
    let picked: Vec<PathBuf> =
        rx.await.ok().flatten().unwrap_or_default().into_iter().filter_map(|p| p.into_path().ok()).collect();
    state.grants.allow_send(picked.iter().cloned());
    Ok(picked.iter().map(|p| p.display().to_string()).collect())
}

/// A folder to save received files into, from the system's dialog; it is granted to `open`.
#[tauri::command]
pub async fn pick_folder<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> CmdResult<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog().file().pick_folder(move |p| {
        let _ = tx.send(p);
    });
    let Some(dir) = rx.await.ok().flatten().and_then(|p| p.into_path().ok()) else { return Ok(None) };
    state.grants.allow_save(dir.clone());
    Ok(Some(dir.display().to_string()))
}

/// Testing only, in debug builds only, and only with `BURNLINK_TEST_HOOKS=1`: delivers a file drop to the window as
/// the OS would (which grants the paths, as a real drop does).
#[cfg(debug_assertions)]
#[tauri::command]
pub fn test_drop<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, paths: Vec<String>) -> CmdResult<()> {
    if std::env::var_os("BURNLINK_TEST_HOOKS").is_none() {
        return Err(CmdError::new("not_found", Text::Input, "no such command").detailed());
    }
    state.grants.allow_send(paths.iter().map(PathBuf::from));
    let payload = serde_json::json!({ "paths": paths, "position": { "x": 100, "y": 100 } });
    app.emit("tauri://drag-drop", payload).map_err(|e| CmdError::new("io", Text::Io, e.to_string()).detailed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::MemoryVault;
    use tauri::test::{mock_builder, mock_context, noop_assets, INVOKE_KEY};

    type Window = tauri::WebviewWindow<tauri::test::MockRuntime>;

    /// The app on the mock runtime with an in-memory keychain, and its window.
    fn app(dir: &std::path::Path) -> (tauri::App<tauri::test::MockRuntime>, Window) {
        let vault: Box<dyn crate::history::Vault> = Box::<MemoryVault>::default();
        let state = AppState::new(Ok(vault), dir.join("config"), dir.join("state"));
        let app = crate::run_app(mock_builder()).build(mock_context(noop_assets())).unwrap();
        app.manage(state);
        let w = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        (app, w)
    }

    /// Invokes `cmd` as the window's JavaScript would.
    fn call(w: &Window, cmd: &str, body: serde_json::Value) -> Result<serde_json::Value, serde_json::Value> {
        let res = tauri::test::get_ipc_response(
            w,
            tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        );
        res.map(|b| b.deserialize::<serde_json::Value>().unwrap())
    }

    #[test]
    fn settings_are_checked_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, app) = app(dir.path());
        let bad =
            call(&app, "set_settings", serde_json::json!({ "settings": { "relay_url": "nope", "ca_path": null } }));
        assert_eq!(bad.unwrap_err()["code"], "input");
        let good = serde_json::json!({ "relay_url": "https://relay.example", "ca_path": null, "link_clear_secs": 30 });
        call(&app, "set_settings", serde_json::json!({ "settings": good })).unwrap();
        assert_eq!(call(&app, "get_settings", serde_json::json!({})).unwrap(), good);
        assert_eq!(Settings::load(&dir.path().join("config")).relay_url, "https://relay.example");
    }

    #[test]
    fn malformed_links_are_input_errors_with_no_secret_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, app) = app(dir.path());
        let secret = "AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk";
        for bad in ["hello", &format!("https://x/o/short#{secret}"), "https://x/o/AAAAAAAAAAAAAAAAAAAAAA"] {
            for cmd in ["peek", "open"] {
                let e = call(&app, cmd, serde_json::json!({ "link": bad })).unwrap_err();
                assert_eq!(e["code"], "input", "{cmd} {bad}");
                assert!(!e["message"].as_str().unwrap().contains(secret));
            }
        }
    }

    #[test]
    fn history_forget_revoke_and_send_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, app) = app(dir.path());
        assert_eq!(call(&app, "history", serde_json::json!({})).unwrap(), serde_json::json!([]));
        let e = call(&app, "revoke", serde_json::json!({ "id": "nope" })).unwrap_err();
        assert_eq!(e["code"], "not_found");
        assert_eq!(call(&app, "forget", serde_json::json!({ "id": "nope" })).unwrap(), false);
        let req = serde_json::json!({ "req": { "text": null, "paths": [], "ttl_secs": 3600, "passphrase": null, "label": null } });
        assert_eq!(call(&app, "send", req).unwrap_err()["code"], "input");
        // The test hook is off unless asked for (and absent from release builds).
        let drop = call(&app, "test_drop", serde_json::json!({ "paths": ["/x"] })).unwrap_err();
        assert!(drop == "command test_drop not found" || drop["code"] == "not_found", "{drop}");
    }

    #[test]
    fn the_window_names_only_paths_the_person_chose() {
        let dir = tempfile::tempdir().unwrap();
        let (app, w) = app(dir.path());
        let secret_file = dir.path().join("id_ed25519");
        std::fs::write(&secret_file, "private key").unwrap();
        let req = |p: &std::path::Path| serde_json::json!({ "req": { "text": null, "paths": [p], "ttl_secs": 3600, "passphrase": null, "label": null } });
        let e = call(&w, "send", req(&secret_file)).unwrap_err();
        assert_eq!(e["code"], "not_allowed", "{e}");
        let link = "https://127.0.0.1:9/o/AAAAAAAAAAAAAAAAAAAAAA#AAcOFRwjKjE4P0ZNVFtiaXB3foWMk5qhqK-2vcTL0tk";
        let e = call(&w, "open", serde_json::json!({ "link": link, "outDir": dir.path() })).unwrap_err();
        assert_eq!(e["code"], "not_allowed", "{e}");
        // Once granted (as a pick or a drop does), the same calls get past the check (and fail later, at the relay).
        let state = app.state::<AppState>();
        state.grants.allow_send([secret_file.clone()]);
        state.grants.allow_save(dir.path().to_path_buf());
        assert_ne!(call(&w, "send", req(&secret_file)).unwrap_err()["code"], "not_allowed");
        assert_ne!(
            call(&w, "open", serde_json::json!({ "link": link, "outDir": dir.path() })).unwrap_err()["code"],
            "not_allowed"
        );
    }

    #[test]
    fn generated_passphrases_are_long_and_differ() {
        let a = generate_passphrase();
        assert_eq!(a.len(), 29);
        assert_ne!(a, generate_passphrase());
    }
}
