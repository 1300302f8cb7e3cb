//! The requester's side of a request for a secret in the app: making one (its secret goes into the keychain history
//! with the request, nowhere else), noticing answers as they arrive (a desktop notification and the history), and
//! opening each answer once. Answering a request is the `send` command with `to`.

use burnlink_core::link::{Link, LinkSecret};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::commands::{copy_and_clear, open_link, qr_svg, OpenedView};
use crate::error::{CmdError, CmdResult, Text};
use crate::history::{AnswerSeen, Entry, LinkState, RequestEntry};
use crate::words::fill;
use crate::{watch, AppState};

/// What to ask for.
#[derive(Deserialize)]
pub struct AskArgs {
    /// How long it takes answers, 5 min ..= 30 days.
    pub ttl_secs: u64,
    /// How many answers it takes (1 ..= 20).
    pub answers: u8,
    /// The requester's name for it in the history.
    pub label: Option<String>,
}

/// A request just made.
#[derive(Serialize)]
pub struct AskedView {
    link: String,
    id: String,
    expires_at: u64,
    label: String,
    /// The link as a QR code (SVG).
    qr_svg: String,
    /// Whether the link is on the clipboard.
    copied: bool,
    /// Why the request could not be kept in the history: then its answers cannot be opened here.
    history_error: Option<CmdError>,
}

/// Asks for a secret on the configured relay: keeps the request (and its secret) in the keychain history, follows it
/// for answers, and copies its link, which carries only a public key.
#[tauri::command]
pub async fn ask_secret<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    req: AskArgs,
) -> CmdResult<AskedView> {
    let settings = state.settings.lock().expect("settings lock").clone();
    // Without the keychain the answers could never be opened: refuse before anything exists on the relay.
    if let Some(why) = state.history.problem() {
        return Err(why.clone());
    }
    let connector = settings.connector()?;
    let ttl = std::time::Duration::from_secs(req.ttl_secs);
    let asked = burnlink_client::request::ask(&connector, ttl, req.answers).await?;
    let link = asked.link.to_https(&asked.relay);
    let label =
        req.label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).unwrap_or_else(|| state.words().a_secret);
    let id = asked.link.id.to_string();
    let kept = state.history.add(Entry {
        id: id.clone(),
        manage: asked.manage.to_text().to_string(),
        label: label.clone(),
        relay: settings.relay_url.clone(),
        ca: settings.ca_path.clone(),
        created_at: crate::now_ms(),
        expires_at: asked.expires_at.0,
        link: Some(link.clone()),
        state: LinkState::Asking,
        claimed_at: None,
        ended_at: None,
        notified: true,
        log: Default::default(),
        again: Default::default(),
        request: Some(RequestEntry {
            secret: asked.secret.to_fragment().to_string(),
            asked: req.answers,
            answers: Vec::new(),
        }),
    });
    watch::spawn(app.clone(), id.clone());
    Ok(AskedView {
        copied: copy_and_clear(&app, &link, 0).is_ok(),
        qr_svg: qr_svg(&link),
        link,
        id,
        expires_at: asked.expires_at.0,
        label,
        history_error: kept.err(),
    })
}

/// The request `id` of the history: its relay, and the secret that opens its answers.
fn request_of(state: &AppState, id: &str) -> CmdResult<(Entry, burnlink_client::Connector, LinkSecret)> {
    let e = state
        .history
        .get(id)
        .ok_or_else(|| CmdError::new("not_found", Text::NotInHistory, "no such request in the history"))?;
    let damaged = || CmdError::new("not_found", Text::EntryDamaged, "this history entry is damaged");
    let secret = e.request.as_ref().and_then(|r| LinkSecret::from_fragment(&r.secret).ok()).ok_or_else(damaged)?;
    let (connector, ..) = watch::target(&e).ok_or_else(damaged)?;
    Ok((e, connector, secret))
}

/// Looks at the answers of request `id` on its relay and records them; tells the window when they changed, and the
/// requester (a desktop notification) when new ones arrived. Returns the entry.
pub async fn check_answers<R: Runtime>(app: AppHandle<R>, id: String) -> Option<Entry> {
    let state = app.state::<AppState>();
    let (_, connector, secret) = request_of(&state, &id).ok()?;
    let list = burnlink_client::request::answers(&connector, id.parse().ok()?, &secret).await.ok()?;
    let seen: Vec<AnswerSeen> =
        list.answers.iter().map(|a| AnswerSeen { id: a.id.to_string(), state: a.state.into() }).collect();
    let mut new = 0;
    let (entry, changed) = state
        .history
        .update(&id, |e| {
            if let Some(r) = e.request.as_mut() {
                new = seen.len().saturating_sub(r.answers.len());
                r.answers = seen;
            }
        })
        .ok()
        .flatten()?;
    if changed {
        let _ = app.emit("history-changed", &id);
    }
    if new > 0 {
        let words = app.state::<AppState>().words();
        let said = if new == 1 { &words.answered_one } else { &words.answered_other };
        watch::notify(&app, &fill(said, &[("label", &entry.label), ("count", &new.to_string())]));
    }
    Some(entry)
}

/// Opens one answer of request `id`, once: a text comes back, files are saved into `out_dir` once verified.
#[tauri::command]
pub async fn open_answer<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    answer: String,
    out_dir: Option<String>,
) -> CmdResult<OpenedView> {
    let (e, connector, secret) = request_of(&state, &id)?;
    let listed = e.request.as_ref().is_some_and(|r| r.answers.iter().any(|a| a.id == answer));
    let answer_id = answer.parse().ok().filter(|_| listed);
    let answer_id =
        answer_id.ok_or_else(|| CmdError::new("not_found", Text::NoSuchAnswer, "no such answer to this request"))?;
    let link = Link { relay: Some(connector.origin.clone()), id: answer_id, secret };
    let opened = open_link(&app, &state, &connector, &link, None, out_dir).await;
    check_answers(app.clone(), id).await;
    opened
}
