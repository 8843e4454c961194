//! Every task links with `task.ld` (user-half layout, entry `_start`).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=task.ld");
    if std::env::var("TARGET")
        .unwrap_or_default()
        .starts_with("aarch64")
    {
        println!("cargo:rustc-link-search={dir}");
    }
}
