//! The app's side of the sender's links: records a new link in the history and follows every pending one on its
//! relay (through `burnlink_client::manage::watch`, which catches up after each reconnect), recording each change;
//! tells the window (`history-changed`) and the sender (a desktop notification) when a link was opened.

use std::ops::ControlFlow;

use burnlink_client::send::Sent;
use burnlink_client::Connector;
use burnlink_core::keys::ManageToken;
use burnlink_core::link::LinkId;
use burnlink_core::proto::StatusReport;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::error::CmdResult;
use crate::history::{Entry, LinkState, Resend};
use crate::settings::Settings;
use crate::words::fill;
use crate::AppState;

/// Records a link just sent with `settings` in the history and starts following it. The link exists on the relay
/// whatever happens here: a keychain failure is returned for the window to show, never in place of the link.
pub fn record<R: Runtime>(
    app: &AppHandle<R>,
    settings: &Settings,
    sent: &Sent,
    label: String,
    notify: bool,
    again: Resend,
) -> CmdResult<()> {
    app.state::<AppState>().history.add(Entry {
        id: sent.id.to_string(),
        manage: sent.manage.to_text().to_string(),
        label,
        relay: settings.relay_url.clone(),
        ca: settings.ca_path.clone(),
        created_at: crate::now_ms(),
        expires_at: sent.expires_at.0,
        link: Some(sent.link.to_string()),
        state: LinkState::Fresh,
        claimed_at: None,
        ended_at: None,
        // A link whose template does not notify counts as told already.
        notified: !notify,
        log: Default::default(),
        again,
        request: None,
    })?;
    spawn(app.clone(), sent.id.to_string());
    Ok(())
}

/// Records `report` for `id`; returns the entry. Tells the window only when something changed, and the sender once,
/// when the link was first seen opened.
pub fn apply<R: Runtime>(app: &AppHandle<R>, id: &str, report: &StatusReport) -> Option<Entry> {
    let mut opened = false;
    let (entry, changed) = app.state::<AppState>().history.update(id, |e| opened = e.observe(report)).ok().flatten()?;
    if changed {
        let _ = app.emit("history-changed", &entry.id);
    }
    if opened {
        let said = app.state::<AppState>().words().opened;
        notify(app, &fill(&said, &[("label", &entry.label)]));
    }
    Some(entry)
}

/// A desktop notification, where the platform has them.
pub fn notify<R: Runtime>(app: &AppHandle<R>, body: &str) {
    use tauri_plugin_notification::NotificationExt;
    if app.try_state::<tauri_plugin_notification::Notification<R>>().is_some() {
        let _ = app.notification().builder().title("Burnlink").body(body).show();
    }
}

/// The connector and keys of a history entry.
pub fn target(e: &Entry) -> Option<(Connector, LinkId, ManageToken)> {
    // The entry keeps the relay and CA it was sent with; they turn into a connector the way settings do.
    let connector = Settings::for_relay(e.relay.clone(), e.ca.clone()).connector().ok()?;
    Some((connector, e.id.parse().ok()?, ManageToken::from_text(&e.manage)?))
}

/// Starts following `id` unless a watcher already runs for it. It stops when the link ends, when the relay forgets
/// it, or when the entry is forgotten here.
pub fn spawn<R: Runtime>(app: AppHandle<R>, id: String) {
    if !app.state::<AppState>().watching.lock().expect("watching lock").insert(id.clone()) {
        return;
    }
    tauri::async_runtime::spawn(async move {
        if let Some((connector, link_id, manage)) = app.state::<AppState>().history.get(&id).and_then(|e| target(&e)) {
            let seen = |r: &StatusReport| match apply(&app, &id, r) {
                Some(e) if e.pending() => {
                    if e.request.is_some() {
                        // A request's record changes when it takes an answer: look at its answers.
                        tauri::async_runtime::spawn(crate::requests::check_answers(app.clone(), id.clone()));
                    }
                    ControlFlow::Continue(())
                }
                _ => ControlFlow::Break(()),
            };
            if let Err(burnlink_client::Error::Gone) =
                burnlink_client::manage::watch(&connector, link_id, &manage, seen).await
            {
                // The relay no longer knows it (its tombstone was purged): nothing more will happen.
                let _ = app.state::<AppState>().history.update(&id, |e| e.state = LinkState::Unknown);
                let _ = app.emit("history-changed", &id);
            }
        }
        app.state::<AppState>().watching.lock().expect("watching lock").remove(&id);
    });
}
