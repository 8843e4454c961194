//! The block system calls of the in-kernel baseline (`block-in-kernel`):
//! the task's buffer is checked and copied through its own page tables
//! (as `DebugPrint` does) into or out of its core's bounce buffer; the
//! device request itself runs under the driver's lock (`crate::blkdev`).

use super::syscall::decode;
use super::SCHED;
use crate::arch::aarch64::exception::Frame;
use crate::blkdev;
use crate::uspace::UserSpace;
use abi::{args, Error, Syscall};

/// `BlockRead`, `BlockWrite`, `BlockFlush` (`abi::args`); status in `x0`.
pub fn call(call: Syscall, frame: &mut Frame) {
    let r = match call {
        Syscall::BlockRead => {
            decode::<args::BlockRead>(frame).and_then(|a| read(a.sector, a.buf, a.len))
        }
        Syscall::BlockWrite => {
            decode::<args::BlockWrite>(frame).and_then(|a| write(a.sector, a.buf, a.len))
        }
        Syscall::BlockFlush => blkdev::flush(),
        _ => Err(Error::UnknownSyscall),
    };
    frame.x[0] = match r {
        Ok(()) => 0,
        Err(e) => e as u64,
    };
}

/// Runs `f` on the calling task's address space.
fn with_space(f: impl FnOnce(&UserSpace) -> Result<(), Error>) -> Result<(), Error> {
    SCHED.with(|s| {
        let t = s
            .current
            .and_then(|i| s.tasks[i].as_ref())
            .ok_or(Error::InvalidArgument)?;
        f(t.space.as_ref().ok_or(Error::InvalidArgument)?)
    })
}

fn write(sector: u64, ptr: u64, len: u64) -> Result<(), Error> {
    let len = blkdev::check(sector, len)?;
    let buf = blkdev::bounce(len)?;
    with_space(|space| space.read(ptr, buf))?;
    blkdev::write(sector, buf)
}

fn read(sector: u64, ptr: u64, len: u64) -> Result<(), Error> {
    let len = blkdev::check(sector, len)?;
    with_space(|space| space.writable(ptr, len as u64))?;
    let buf = blkdev::bounce(len)?;
    blkdev::read(sector, buf)?;
    with_space(|space| space.write(ptr, buf))
}
