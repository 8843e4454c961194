//! The network server: alone on a kernel core, it owns virtio-net (the
//! grant `device:virtio-net`, bound by name), runs the smoltcp TCP/IP stack
//! beside the driver, and serves the clients the image connects to it
//! (`provides = "net"`) with a socket-level protocol (`net_api`): UDP bind,
//! send, receive; TCP listen, accept, send, receive, close. It loops: run
//! the stack (frames in and out), take each client's new requests from its
//! ring (validated: `ring` checks the opcode and buffer window,
//! `net_api::validate` the rest, the socket table the handle), answer what
//! it can and hold the rest (a receive until data arrives); no system call
//! on this path. It exits once every client has sent `Done`.
//!
//! Clients connect with the block service's scheme (`net_api::Ctrl`); a
//! client's new `hello`, or its end (the kernel's exit signal on
//! `net.ends`), resets every socket it held. With the test-only feature
//! `test-hooks`, [`run_with_test_hook`] calls into test code once per
//! serving loop (tests/tasks/net-crash faults there on purpose).
//! docs/network.md has the whole design.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
mod client;
#[cfg(target_arch = "aarch64")]
mod frames;
#[cfg(target_arch = "aarch64")]
mod hal;
#[cfg(target_arch = "aarch64")]
mod loopback;
#[cfg(target_arch = "aarch64")]
mod nic;
#[cfg(target_arch = "aarch64")]
mod server;
#[cfg(all(target_arch = "aarch64", feature = "test-hooks"))]
pub use server::run_with_test_hook;
#[cfg(target_arch = "aarch64")]
pub use server::{run, Progress};
