//! Links the loader binary with its own script (aarch64 only: on the host the
//! crate is just the protocol library). No defmt: the loader talks plain text.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let target = std::env::var("TARGET").unwrap_or_default();
    // Cargo does not relink when a linker script changes.
    println!("cargo:rerun-if-changed=link.ld");
    if target.starts_with("aarch64") && target.contains("-none") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
        println!("cargo:rustc-link-arg-bins=--no-pie");
    }
}
