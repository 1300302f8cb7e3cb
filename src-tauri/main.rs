//! The desktop app's entry point; everything is in the library so tests can build the app with a mock runtime.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    burnlink_app::run()
}
