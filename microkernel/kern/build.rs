//! Links the kernel with its own linker script and defmt's (`defmt.x`):
//! without `defmt.x` the build links but its log frames cannot be decoded.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=src/arch/aarch64/boot.s");
    println!("cargo:rerun-if-changed=src/arch/aarch64/vectors.s");
    // The task archive `cargo xtask` packs (kerncore::bootimage), embedded
    // with include_bytes!; without one the kernel has no tasks.
    println!("cargo:rerun-if-env-changed=KERNEL_TASKS");
    let archive = match std::env::var("KERNEL_TASKS") {
        Ok(path) if !path.is_empty() => path,
        _ => {
            let out = std::env::var("OUT_DIR").unwrap();
            let empty = format!("{out}/no-tasks.bin");
            std::fs::write(&empty, b"").unwrap();
            empty
        }
    };
    println!("cargo:rerun-if-changed={archive}");
    println!("cargo:rustc-env=KERNEL_TASKS_FILE={archive}");
    if target.starts_with("aarch64") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
        println!("cargo:rustc-link-arg-bins=--no-pie");
    }
}
