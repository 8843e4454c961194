//! The in-kernel block driver's system calls (the baseline of
//! docs/block.md; a kernel built without `block-in-kernel` answers
//! `UnknownSyscall`). Each moves a multiple of 512 bytes, at most 64 KiB.

use crate::sys::raw_syscall;
use abi::{Error, Syscall};

fn status(x0: u64) -> Result<(), Error> {
    match x0 {
        0 => Ok(()),
        e => Err(Error::from_u64(e).unwrap_or(Error::InvalidArgument)),
    }
}

/// Reads `buf.len() / 512` sectors from `sector` into `buf`.
pub fn read(sector: u64, buf: &mut [u8]) -> Result<(), Error> {
    let a = [sector, buf.as_mut_ptr() as u64, buf.len() as u64, 0, 0, 0];
    // Safety: `buf` is valid for writes of its length; the kernel checks
    // every page of it in this task's tables before writing.
    status(unsafe { raw_syscall(Syscall::BlockRead as u64, a) }[0])
}

/// Writes `buf` to sectors from `sector`.
pub fn write(sector: u64, buf: &[u8]) -> Result<(), Error> {
    let a = [sector, buf.as_ptr() as u64, buf.len() as u64, 0, 0, 0];
    // Safety: `buf` is valid for reads of its length; the kernel only reads.
    status(unsafe { raw_syscall(Syscall::BlockWrite as u64, a) }[0])
}

/// Makes every completed write durable.
pub fn flush() -> Result<(), Error> {
    // Safety: no pointer arguments.
    status(unsafe { raw_syscall(Syscall::BlockFlush as u64, [0; 6]) }[0])
}

/// A raw block call with unchecked arguments (for tests of the kernel's
/// checks): the status code.
///
/// # Safety
///
/// For `BlockRead`, `x1..x1 + x2` must be memory of this task that may be
/// overwritten (the kernel refuses what is not mapped writable, but cannot
/// know what the program keeps there).
pub unsafe fn raw(call: Syscall, sector: u64, ptr: u64, len: u64) -> u64 {
    // Safety: the caller's promise for reads; writes and flush only read.
    let r = unsafe { raw_syscall(call as u64, [sector, ptr, len, 0, 0, 0]) };
    r[0]
}
