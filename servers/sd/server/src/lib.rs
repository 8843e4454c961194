//! The block service on the SD card: alone on a kernel core, it owns the
//! SDHCI controller that holds the card (the grant `device:sdhci`: EMMC2
//! on a real Raspberry Pi 4, the Arasan SDHCI under QEMU `raspi4b`;
//! docs/block.md), initialises the card as the SD specification says
//! ([`card`]), finds its data partition in the MBR ([`disk`]) and serves
//! the clients the image connects (`provides = "blk"`) with the same loop,
//! protocol and validation as the virtio-blk server (`blk_serve`). Every
//! transfer is programmed I/O through the controller's buffer data port,
//! polled to completion with a timeout: the controller does no DMA. With
//! the test-only feature `test-hooks`, [`run_with_test_hook`] calls into
//! test code once per serving loop (tests/tasks/sd-crash faults there).
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
pub mod card;
pub mod csd;
#[cfg(target_arch = "aarch64")]
pub mod disk;
#[cfg(target_arch = "aarch64")]
pub mod mailbox;
pub mod mbr;
pub mod property;
#[cfg(target_arch = "aarch64")]
pub mod sdhci;
#[cfg(target_arch = "aarch64")]
mod server;
#[cfg(target_arch = "aarch64")]
pub use blk_serve::Progress;
#[cfg(target_arch = "aarch64")]
pub use server::run;
#[cfg(all(target_arch = "aarch64", feature = "test-hooks"))]
pub use server::run_with_test_hook;
