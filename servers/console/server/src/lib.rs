//! The console server: alone on a kernel core the image reserves, it owns
//! the console UART (a device grant) and serves every client whose range
//! the image grants it, one whole line at a time, so lines from different
//! tasks never interleave within a line. The protocol and the client side
//! are in `console-api` (`servers/console/api`); this crate is only the
//! server, and the only one that links the UART driver.
//!
//! The binary `console` is [`run`]. With the test-only feature
//! `test-hooks`, [`run_with_test_hook`] calls into test code once per
//! serving loop (tests/tasks/console-crash faults there on purpose).
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
mod out;
#[cfg(target_arch = "aarch64")]
mod server;
// Used by the server (aarch64) and its host tests only.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
mod short;
// Used by the server (aarch64) and its host tests only.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
mod text;
#[cfg(all(target_arch = "aarch64", feature = "test-hooks"))]
pub use server::run_with_test_hook;
#[cfg(target_arch = "aarch64")]
pub use server::{run, Progress};
