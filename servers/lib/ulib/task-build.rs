//! The build script of every task crate (each names it with `build =
//! "../ulib/task-build.rs"` in its Cargo.toml): links the task with the
//! user library's layout, `task.ld` (found through the search path ulib's
//! own build script adds), and 4 KiB segment alignment (the default 64 KiB
//! would pad every task image with zeros).
fn main() {
    if std::env::var("TARGET")
        .unwrap_or_default()
        .starts_with("aarch64")
    {
        println!("cargo:rustc-link-arg-bins=-Ttask.ld");
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    }
}
