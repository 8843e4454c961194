//! Links with the user library's task layout.
fn main() {
    if std::env::var("TARGET")
        .unwrap_or_default()
        .starts_with("aarch64")
    {
        println!("cargo:rustc-link-arg-bins=-Ttask.ld");
    }
}
