//! The microkernel for multicore ARM64 (after Corey, OSDI 2008): every core
//! owns its kernel data and its address space; cores share as little as
//! they can.
//!
//! This binary is built for `aarch64-unknown-none-softfloat` by
//! `cargo xtask`; the portable logic lives in `kerncore` and is tested on
//! the host. Boot flow (docs/boot.md): `arch::aarch64::boot.s` enters at
//! EL2 or EL1, turns the MMU on with boot tables and calls
//! [`boot::kmain_primary`], which reads the DTB, builds the kernel's final
//! tables, brings up the console, log, GIC and timer, then starts every
//! other core into [`boot::kmain_secondary`].
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

mod arch;
#[cfg(feature = "block-in-kernel")]
mod blkdev;
mod board;
mod boot;
mod cap;
mod console;
mod crosscore;
mod deadline;
mod irq;
mod log;
mod mm;
mod panic;
mod percore;
mod sequencer;
mod shared;
mod smp;
mod sync;
mod task;
mod uspace;
