//! The block service's serving loop, shared by the block servers (the
//! virtio-blk server `blk`, the SD card server `sd`): each supplies its
//! device through [`Device`] and calls [`serve`], which owns the rest —
//! the clients the image connects (`provides = "blk"`, the `Server`
//! binding declared here), epochs and connections (`blk_api::Ctrl`), the
//! validation of every request (`ring`, then `blk_api::validate`), copies
//! between a client's buffer and the device's bounce buffers, the answers,
//! dead clients (`blk.ends`) and the exit once every client has closed.
//! No system call on the serving path.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
mod client;
#[cfg(target_arch = "aarch64")]
mod serve;
#[cfg(target_arch = "aarch64")]
pub use serve::{serve, Device, DeviceError, Pending, Progress, Transfer};
