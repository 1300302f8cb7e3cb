//! Tauri's build step: reads ../tauri.conf.json (the package root) and embeds the front end from ui/dist.
fn main() {
    tauri_build::build()
}
