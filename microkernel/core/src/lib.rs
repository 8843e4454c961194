//! The portable core of the kernel: everything that is pure logic over memory
//! the caller hands in, so that it compiles and unit-tests on the host.
//!
//! The aarch64 kernel (`microkernel/kern`) supplies the real memory; the host
//! tests supply simulated memory and assert exact results.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod bootimage;
pub mod cap;
pub mod crosscore;
pub mod elf;
/// Exception syndrome decoding (it lives in `abi`: fault reports carry it).
pub use abi::esr;
pub mod frames;
pub mod lock;
pub mod pagetable;
pub mod pool;
pub mod range;
