//! The block server: alone on a kernel core, it owns virtio-blk (the grant
//! `device:virtio-blk`, bound by name) and serves the clients the image
//! connects to it (`provides = "blk"`; its `Server` binding gives each
//! client's range and index, and the `blk.ends` notification). This crate
//! is the device (`device`: virtio-blk, up to 4 requests in it at once,
//! through `drivers::virtio_blk`: its read, write and flush requests over
//! `virtio-drivers`' queue and transport, none waiting for the device,
//! the driver the kernel's in-kernel baseline uses too; `hal`: its DMA
//! window); the loop is the block service's shared one (`blk_serve`):
//! take the device's completions, then one request from each client's
//! ring, validated (`ring` checks the opcode and buffer window,
//! `blk_api::validate` the rest); no system call on this path. Data goes through bounce buffers in the server's DMA
//! window. It exits once every client has sent `Close`.
//!
//! Clients connect with the console's scheme (`blk_api::Ctrl`): every
//! instance bumps each client's `epoch` when it starts; a client's new
//! `hello` makes the server drop that client's earlier connection (its
//! requests in the device are finished but not answered, a pending flush
//! is not answered) and welcome it on fresh rings. A client that floods
//! its ring is disconnected (its `welcome` withdrawn) until it connects
//! again. The binary `blk` is [`run`]. With the test-only feature
//! `test-hooks`, [`run_with_test_hook`] calls into test code once per
//! serving loop (tests/tasks/blk-crash faults there on purpose).
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
mod device;
#[cfg(target_arch = "aarch64")]
mod hal;
#[cfg(target_arch = "aarch64")]
mod server;
#[cfg(target_arch = "aarch64")]
pub use blk_serve::Progress;
#[cfg(target_arch = "aarch64")]
pub use server::run;
#[cfg(all(target_arch = "aarch64", feature = "test-hooks"))]
pub use server::run_with_test_hook;
