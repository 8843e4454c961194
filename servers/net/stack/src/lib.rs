//! The network service's TCP/IP stack (docs/network.md, *The stack*):
//! smoltcp's interface over a frame device ([`Link`]), the socket pool and
//! who holds what. In configuration 1 the server runs one for all its
//! clients over the card; in configuration 2 each client runs its own over
//! the raw frames the server passes it (`net-local`).
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
mod held;
#[cfg(target_arch = "aarch64")]
mod stack;
#[cfg(target_arch = "aarch64")]
pub use held::Answer;
#[cfg(target_arch = "aarch64")]
pub use stack::*;
