//! The console server binary (see the `console` library). The crate is a
//! default workspace member so that `cargo test` runs its library's host
//! tests (what a line prints as); on the host this binary is empty.
#![cfg_attr(target_arch = "aarch64", no_std)]
#![cfg_attr(target_arch = "aarch64", no_main)]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
ulib::entry!(main);

#[cfg(target_arch = "aarch64")]
fn main(start: ulib::Start) -> i32 {
    console::run(start)
}

/// Host builds (the library's unit tests) only.
#[cfg(not(target_arch = "aarch64"))]
fn main() {}
