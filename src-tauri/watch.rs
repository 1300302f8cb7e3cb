//! Follows a pending link on its relay (`watch`, with a status poll after every reconnect) and records each change
//! in the history; tells the window (`history-changed`) and the sender (a desktop notification) when it was opened.

use std::time::Duration;

use burnlink_client::Connector;
use burnlink_core::keys::ManageToken;
use burnlink_core::link::LinkId;
use burnlink_core::proto::StatusReport;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::history::Entry;
use crate::settings::Settings;
use crate::AppState;

/// Records `report` for `id`; returns the entry. Tells the window only when something changed, and the sender once,
/// when the link was first seen opened.
pub fn apply<R: Runtime>(app: &AppHandle<R>, id: &str, report: &StatusReport) -> Option<Entry> {
    let state = app.state::<AppState>();
    let mut tell = None;
    let (entry, changed) = state
        .history
        .update(id, |e| {
            e.state = report.state.name().to_owned();
            e.expires_at = report.expires_at.0;
            e.claimed_at = report.claimed_at.map(|t| t.0);
            e.ended_at = report.ended_at.map(|t| t.0);
            if matches!(e.state.as_str(), "claimed" | "consumed") && !e.notified {
                e.notified = true;
                tell = Some(e.label.clone());
            }
        })
        .ok()
        .flatten()?;
    if changed {
        let _ = app.emit("history-changed", &entry.id);
    }
    if let Some(label) = tell {
        notify(app, &format!("Your link “{label}” was opened."));
    }
    Some(entry)
}

fn notify<R: Runtime>(app: &AppHandle<R>, body: &str) {
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

/// Starts following `id` unless a watcher already runs for it.
pub fn spawn<R: Runtime>(app: AppHandle<R>, id: String) {
    if !app.state::<AppState>().watching.lock().expect("watching lock").insert(id.clone()) {
        return;
    }
    tauri::async_runtime::spawn(async move {
        let mut backoff = Duration::from_secs(2);
        while let Some(entry) = app.state::<AppState>().history.get(&id).filter(|e| e.pending()) {
            let Some((connector, link_id, manage)) = target(&entry) else { break };
            if let Ok(client) = connector.connect().await {
                backoff = Duration::from_secs(2);
                // Catch up on what happened while we were away, then follow.
                match client.status(link_id, manage.clone()).await {
                    Ok(Some(r)) => {
                        apply(&app, &id, &r);
                    }
                    Ok(None) => {
                        // The relay no longer knows it (its tombstone was purged): nothing more will happen.
                        let _ = app.state::<AppState>().history.update(&id, |e| e.state = "unknown".into());
                        let _ = app.emit("history-changed", &id);
                        continue;
                    }
                    Err(_) => {}
                }
                if let Ok(mut w) = client.watch(link_id, manage.clone()).await {
                    while let Ok(Some(r)) = w.next().await {
                        if apply(&app, &id, &r).is_none_or(|e| !e.pending()) {
                            break;
                        }
                    }
                }
                if let Ok(Some(r)) = client.status(link_id, manage).await {
                    apply(&app, &id, &r);
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
        app.state::<AppState>().watching.lock().expect("watching lock").remove(&id);
    });
}
