//! Rebuilds the relay when the embedded browser page (`ui/dist`, made by `npm run build`) changes.
fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
}
