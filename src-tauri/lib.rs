/*!
`burnlink-app`: the Burnlink desktop app (Tauri 2). The window's UI (`ui/app.html`, TypeScript) calls the thin
commands in [`commands`], which call `burnlink-client`; [`history`] keeps the sender's links in the OS keychain,
[`settings`] which relay to use, and [`watch`] follows each pending link so the sender sees (and is told) when it was
opened; [`requests`] is the requester's side of a request for a secret. [`run`] starts the real app; [`run_app`] builds it on any runtime so tests can use `tauri::test`.
*/
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use tauri::{Emitter, Manager, Runtime};

pub mod commands;
pub mod error;
pub mod grants;
pub mod history;
pub mod requests;
pub mod settings;
pub mod watch;
pub mod words;

use history::{History, Keychain, Vault};
use settings::Settings;

/// Everything the commands share.
pub struct AppState {
    /// The sender's links (keychain).
    pub history: History,
    /// Folder of `settings.json`.
    pub config_dir: PathBuf,
    /// Current settings.
    pub settings: Mutex<Settings>,
    /// Private folder for download resume state.
    pub state_dir: PathBuf,
    /// Links with a watcher running.
    pub watching: Mutex<HashSet<String>>,
    /// The paths the person picked or dropped, the only ones the window may name.
    pub grants: grants::Grants,
    /// What Rust says itself, in the window's language.
    pub words: Mutex<words::Words>,
}

impl AppState {
    /// State over `vault` (or the reason there is none: the app still sends and opens, and says the history is
    /// unavailable), with settings from `config_dir`.
    pub fn new(vault: error::CmdResult<Box<dyn Vault>>, config_dir: PathBuf, state_dir: PathBuf) -> Self {
        let history = vault.and_then(History::open).unwrap_or_else(|e| {
            tracing::warn!("history unavailable: {e}");
            History::unavailable(e)
        });
        Self {
            history,
            settings: Mutex::new(Settings::load(&config_dir)),
            config_dir,
            state_dir,
            watching: Mutex::new(HashSet::new()),
            grants: grants::Grants::default(),
            words: Mutex::new(words::Words::default()),
        }
    }

    /// What Rust says itself, as the window last handed it over.
    pub fn words(&self) -> words::Words {
        self.words.lock().expect("words lock").clone()
    }
}

/// Milliseconds since the epoch, the history's clock.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The keychain item of the history; `BURNLINK_KEYCHAIN_SERVICE` lets tests and second profiles use their own.
fn keychain() -> error::CmdResult<Keychain> {
    let service = std::env::var("BURNLINK_KEYCHAIN_SERVICE").unwrap_or_else(|_| "burnlink".into());
    Keychain::new(&service, "history")
}

/// A `burnlink://` or Burnlink https link among command-line arguments (deep links arrive this way on Linux).
pub fn link_in_args(args: &[String]) -> Option<String> {
    args.iter().skip(1).find(|a| a.starts_with("burnlink://") || a.contains("/o/") || a.contains("/r/")).cloned()
}

/// The command list, plus `extra` ones.
macro_rules! handler {
    ($($extra:path),*) => {
        tauri::generate_handler![
            commands::get_settings,
            commands::set_settings,
            commands::send,
            commands::peek,
            commands::open,
            commands::history,
            commands::refresh_history,
            commands::revoke,
            commands::forget,
            commands::send_again,
            commands::copy_text,
            commands::generate_passphrase,
            commands::initial_link,
            commands::default_folder,
            commands::pick_files,
            commands::pick_folder,
            commands::set_words,
            requests::ask_secret,
            requests::open_answer,
            $($extra),*
        ]
    };
}

fn handlers<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    #[cfg(debug_assertions)]
    return handler![commands::test_drop];
    #[cfg(not(debug_assertions))]
    return handler![];
}

/// Registers the commands on `builder` (any runtime), and grants what is dropped on the window. The drop test hook
/// exists in debug builds only: a release build has no command that fakes a drop.
pub fn run_app<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(handlers()).on_window_event(|window, event| {
        if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
            if let Some(state) = window.try_state::<AppState>() {
                state.grants.allow_send(paths.iter().cloned());
            }
        }
    })
}

/// Starts the app.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("BURNLINK_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // A second start (e.g. a clicked burnlink:// link) hands its link to the running window.
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.set_focus();
            }
            if let Some(link) = link_in_args(&argv) {
                let _ = app.emit("open-link", link);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let config_dir = app.path().app_config_dir()?;
            let state_dir = app.path().app_local_data_dir()?.join("downloads-in-progress");
            let vault = keychain().map(|k| Box::new(k) as Box<dyn Vault>);
            let state = AppState::new(vault, config_dir, state_dir);
            let pending: Vec<String> = state.history.list().into_iter().filter(|e| e.pending()).map(|e| e.id).collect();
            app.manage(state);
            for id in pending {
                watch::spawn(app.handle().clone(), id);
            }
            #[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                let _ = app.deep_link().register_all();
            }
            Ok(())
        });
    run_app(builder).run(tauri::generate_context!()).expect("the Burnlink window could not start");
}

#[cfg(test)]
mod tests {
    /// The window may call the app's own commands and listen to events, and nothing else: no file dialog (paths come
    /// from Rust's dialog, so they can be granted), no clipboard reading, no notifications of its own.
    #[test]
    fn the_window_gets_no_plugin_permissions() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tauri.conf.json"))).unwrap();
        let caps = conf["app"]["security"]["capabilities"].as_array().unwrap();
        assert_eq!(caps.len(), 1);
        let perms: Vec<&str> = caps[0]["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(perms, ["core:default", "core:event:default", "core:webview:default"]);
        assert_eq!(conf["app"]["withGlobalTauri"], false);
    }
}
