//! A client of the in-kernel block driver (images/blk-kernel.toml runs one
//! on each of cores 0-3, against a kernel built with `block-in-kernel`).
//! It checks the system calls' refusals (length, sector range, buffers the
//! task may not read or write), then writes its own [`SECTORS`] sectors
//! with the pattern, flushes, and reads them back.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use blk_api::{pattern, MAX_TRANSFER, SECTOR};
use ulib::{block, Error, Syscall};

ulib::entry!(main);

const SECTORS: usize = 320;
const DISK_SECTORS: u64 = 2048;
const BYTES: usize = SECTORS * SECTOR;

static mut BUF: [u8; BYTES] = [0; BYTES];
/// Read-only memory of this task: a read into it must be refused.
static RODATA: [u8; SECTOR] = [1; SECTOR];

/// Client `core`'s first sector.
fn first_sector(core: usize) -> u64 {
    (core * 512) as u64
}

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    // Safety: the only reference to BUF, made once in this single-threaded
    // task.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(BUF) };
    if let Err(what) = refusals(buf) {
        ulib::println!("blkkern core {}: FAILED: {}", me, what);
        return 1;
    }
    ulib::println!("blkkern core {}: every malformed call refused", me);
    match pattern_round_trip(first_sector(me), buf) {
        Ok(()) => {
            ulib::println!(
                "blkkern core {}: wrote {} sectors from {} through the kernel, flushed, read back: pattern intact",
                me,
                SECTORS,
                first_sector(me)
            );
            0
        }
        Err(what) => {
            ulib::println!("blkkern core {}: FAILED: {}", me, what);
            1
        }
    }
}

fn pieces(
    first: u64,
    buf: &mut [u8],
    mut f: impl FnMut(u64, &mut [u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    for (n, piece) in buf.chunks_mut(MAX_TRANSFER).enumerate() {
        f(first + (n * MAX_TRANSFER / SECTOR) as u64, piece)?;
    }
    Ok(())
}

fn pattern_round_trip(first: u64, buf: &mut [u8]) -> Result<(), &'static str> {
    pattern::fill(first, buf);
    pieces(first, buf, |s, p| block::write(s, p)).map_err(|_| "write failed")?;
    block::flush().map_err(|_| "flush failed")?;
    buf.fill(0);
    pieces(first, buf, block::read).map_err(|_| "read back failed")?;
    match pattern::mismatch(first, buf) {
        None => Ok(()),
        Some((s, i, b)) => {
            ulib::println!("blkkern: sector {} byte {} is {:#x}", s, i, b);
            Err("read back differs")
        }
    }
}

/// Each malformed call and the error it must get.
fn refusals(buf: &mut [u8]) -> Result<(), &'static str> {
    let p = buf.as_mut_ptr() as u64;
    let ro = RODATA.as_ptr() as u64;
    let (r, w) = (Syscall::BlockRead, Syscall::BlockWrite);
    let cases: [(Syscall, u64, u64, u64, Error); 10] = [
        (r, 0, p, 0, Error::InvalidArgument),
        (r, 0, p, 100, Error::InvalidArgument),
        (
            w,
            0,
            p,
            (MAX_TRANSFER + SECTOR) as u64,
            Error::InvalidArgument,
        ),
        (r, DISK_SECTORS, p, 512, Error::OutOfRange),
        (w, DISK_SECTORS - 1, p, 1024, Error::OutOfRange),
        (r, u64::MAX, p, 1024, Error::OutOfRange),
        (w, 0, 0xffff_0000_0000_0000, 512, Error::OutOfRange),
        (w, 0, 0x1000_0000, 512, Error::OutOfRange),
        (r, 0, 0x1000_0000, 512, Error::OutOfRange),
        (r, 0, ro, 512, Error::OutOfRange),
    ];
    for (call, sector, ptr, len, want) in cases {
        // Safety: every read here is refused before anything is written
        // (that is the check); the buffers named are this task's own.
        let got = unsafe { block::raw(call, sector, ptr, len) };
        if got != want as u64 {
            ulib::println!(
                "blkkern: {:?} sector {} ptr {:#x} len {}: got {}, wanted {:?}",
                call,
                sector,
                ptr,
                len,
                got,
                want
            );
            return Err("wrong refusal");
        }
    }
    if RODATA.iter().any(|&b| b != 1) {
        return Err("read-only data changed");
    }
    Ok(())
}
