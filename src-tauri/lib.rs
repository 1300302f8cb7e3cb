/*!
`burnlink-app`: the Burnlink desktop app (Tauri 2). The window's UI (`ui/app.html`, TypeScript) calls the thin
commands in [`commands`], which call `burnlink-client`; [`history`] keeps the sender's links in the OS keychain,
[`settings`] which relay to use, and [`watch`] follows each pending link so the sender sees (and is told) when it was
opened. [`run`] starts the real app; [`run_app`] builds it on any runtime so tests can use `tauri::test`.
*/
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use tauri::{Emitter, Manager, Runtime};

pub mod commands;
pub mod error;
pub mod history;
pub mod settings;
pub mod watch;

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
        }
    }
}

/// The keychain item of the history; `BURNLINK_KEYCHAIN_SERVICE` lets tests and second profiles use their own.
fn keychain() -> error::CmdResult<Keychain> {
    let service = std::env::var("BURNLINK_KEYCHAIN_SERVICE").unwrap_or_else(|_| "burnlink".into());
    Keychain::new(&service, "history")
}

/// A `burnlink://` or Burnlink https link among command-line arguments (deep links arrive this way on Linux).
pub fn link_in_args(args: &[String]) -> Option<String> {
    args.iter().skip(1).find(|a| a.starts_with("burnlink://") || a.contains("/o/")).cloned()
}

/// Registers the commands on `builder` (any runtime).
pub fn run_app<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::get_settings,
        commands::set_settings,
        commands::send,
        commands::peek,
        commands::open,
        commands::history,
        commands::refresh_history,
        commands::revoke,
        commands::forget,
        commands::copy_text,
        commands::generate_passphrase,
        commands::initial_link,
        commands::default_folder,
        commands::test_drop,
    ])
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
