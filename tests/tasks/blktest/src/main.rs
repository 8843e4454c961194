//! A block client (images/blk.toml runs one on each of cores 0, 1, 2;
//! client index = core). It checks that the server refuses every kind of
//! malformed request with the right status, then looks at its own
//! [`SECTORS`] sectors: all zero (a fresh disk) means write the pattern,
//! flush and read it back; the pattern (a disk kept from an earlier boot)
//! means that boot's writes reached the disk. Anything else fails.
//!
//! A server restart (images/blk-crash.toml) fails the requests outstanding
//! with `Error::Restarted`; the library has connected to the new instance
//! already, and every step here (a refusal check, a read, a write, a flush,
//! the close) is simply done again: each is idempotent.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use blk_api::client::{Blk, Error};
use blk_api::{pattern, status, Op, DATA_LEN, MAX_TRANSFER, SECTOR};
use ring::{Request, Status};

ulib::entry!(main);

/// Sectors each client owns: two and a half pieces' worth, so a transfer
/// is cut into several requests in flight at once.
const SECTORS: usize = 320;
/// The disk xtask makes: 1 MiB.
const DISK_SECTORS: u64 = 2048;
const BYTES: usize = SECTORS * SECTOR;

static mut BUF: [u8; BYTES] = [0; BYTES];

/// Whether this client has said that the server restarted.
static mut SAID: bool = false;

/// Runs `step` until it is not cut short by a server restart (the library
/// reconnects before it returns `Restarted`); says so the first time.
fn again<T>(
    blk: &mut Blk,
    me: usize,
    mut step: impl FnMut(&mut Blk) -> Result<T, Error>,
) -> Result<T, Error> {
    loop {
        match step(blk) {
            Err(Error::Restarted) => {
                // Safety: single-threaded task; no reference to SAID is held.
                let said = unsafe { core::ptr::replace(core::ptr::addr_of_mut!(SAID), true) };
                if !said {
                    ulib::println!(
                        "blktest client {}: the block server restarted: requests in flight lost, connected again",
                        me
                    );
                }
            }
            r => return r,
        }
    }
}

ulib::bind! {
    /// Granted to one client of an image whose dying client is restarted:
    /// it waits here, before closing, until the restarted client is
    /// connected again, so the server (which ends when every client has
    /// closed or is gone) is still there for it.
    static BACK: Slot = "back";
}

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    // Safety: the only `Blk` of this task.
    let mut blk = match unsafe { Blk::attach() } {
        Ok(b) => b,
        Err(e) => {
            ulib::println!("blktest {}: attach: {:?}", me, e);
            return 1;
        }
    };
    // Safety: the only reference to BUF, made once in this single-threaded
    // task.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(BUF) };
    match run(&mut blk, me, buf) {
        Ok(()) => {}
        Err(what) => {
            ulib::println!("blktest client {}: FAILED: {}", me, what);
            let _ = again(&mut blk, me, Blk::close);
            return 1;
        }
    }
    if let Some(back) = BACK.get() {
        let _ = ulib::cap::wait_all(back, 1);
    }
    match again(&mut blk, me, Blk::close) {
        Ok(()) => 0,
        Err(e) => {
            ulib::println!("blktest client {}: close: {:?}", me, e);
            1
        }
    }
}

/// A task the image gives no device interrupt cannot acknowledge one:
/// `InterruptAck` on a notification (its wake) is `WrongObjectKind`, on an
/// empty slot `InvalidCapability` (docs/syscalls.md).
fn interrupt_refused(me: usize) -> Result<(), &'static str> {
    let empty = ulib::cap::free_slot().ok_or("no free slot")?;
    let wake = (0..64u8)
        .map(ulib::CPtr::root)
        .find(|&c| ulib::cap::cap_info(c).is_ok_and(|(k, _)| k == ulib::ObjectKind::Notification))
        .ok_or("no notification to try InterruptAck on")?;
    match (ulib::interrupt_ack(wake), ulib::interrupt_ack(empty)) {
        (Err(ulib::Error::WrongObjectKind), Err(ulib::Error::InvalidCapability)) => {
            ulib::println!(
                "blktest client {}: InterruptAck without a device interrupt refused",
                me
            );
            Ok(())
        }
        _ => Err("InterruptAck without a device interrupt was not refused"),
    }
}

fn run(blk: &mut Blk, me: usize, buf: &mut [u8]) -> Result<(), &'static str> {
    let info = again(blk, me, Blk::info).map_err(|_| "info failed")?;
    if info.sectors != DISK_SECTORS || info.max_transfer != MAX_TRANSFER || info.read_only {
        ulib::println!("blktest client {}: info {:?}", me, info);
        return Err("unexpected disk");
    }
    refusals(blk, me)?;
    ulib::println!("blktest client {}: every malformed request refused", me);
    interrupt_refused(me)?;
    let first = pattern::client_first_sector(me);
    again(blk, me, |b| b.read(first, buf)).map_err(|_| "first read failed")?;
    if pattern::mismatch(first, buf).is_none() {
        ulib::println!(
            "blktest client {}: read back {} sectors from {} written by an earlier boot: pattern intact",
            me,
            SECTORS,
            first
        );
        return Ok(());
    }
    if buf.iter().any(|&b| b != 0) {
        return Err("my sectors hold neither zeros nor the pattern");
    }
    pattern::fill(first, buf);
    again(blk, me, |b| b.write(first, buf)).map_err(|_| "write failed")?;
    again(blk, me, Blk::flush).map_err(|_| "flush failed")?;
    buf.fill(0);
    again(blk, me, |b| b.read(first, buf)).map_err(|_| "read back failed")?;
    if let Some((s, i, b)) = pattern::mismatch(first, buf) {
        ulib::println!("blktest client {}: sector {} byte {} is {:#x}", me, s, i, b);
        return Err("read back differs");
    }
    ulib::println!(
        "blktest client {}: wrote {} sectors from {}, flushed, read back: pattern intact",
        me,
        SECTORS,
        first
    );
    Ok(())
}

/// Each malformed request and the status the server must answer with.
fn refusals(blk: &mut Blk, me: usize) -> Result<(), &'static str> {
    let r = |opcode: u32, offset: u64, len: u32, args: [u64; 4]| Request {
        opcode,
        len,
        tag: 0xbad,
        offset,
        args,
    };
    let read = Op::Read as u32;
    let cases: [(Request, Status); 9] = [
        (r(99, 0, 0, [0; 4]), Status::UNKNOWN_OPCODE),
        (r(read, DATA_LEN as u64, 512, [0; 4]), Status::OUT_OF_BOUNDS),
        (r(read, u64::MAX - 100, 512, [0; 4]), Status::OUT_OF_BOUNDS),
        (r(read, 0, 512, [DISK_SECTORS, 0, 0, 0]), status::BAD_SECTOR),
        (r(read, 0, 1024, [u64::MAX, 0, 0, 0]), status::BAD_SECTOR),
        (r(read, 0, 100, [0; 4]), status::BAD_LENGTH),
        (
            r(read, 0, (MAX_TRANSFER + 512) as u32, [0; 4]),
            status::BAD_LENGTH,
        ),
        (r(read, 4, 512, [0; 4]), status::MISALIGNED),
        (
            r(Op::Write as u32, 0, 512, [0, 1, 0, 0]),
            status::BAD_ARGUMENT,
        ),
    ];
    for (req, want) in cases {
        match again(blk, me, |b| b.call(&req)) {
            Ok(resp) if resp.status == want && resp.tag == 0xbad => {}
            Ok(resp) => {
                ulib::println!(
                    "blktest: {:?} answered {:#x}, wanted {:#x}",
                    req,
                    resp.status.0,
                    want.0
                );
                return Err("wrong refusal");
            }
            Err(Error::Ring(_)) | Err(_) => return Err("ring broken"),
        }
    }
    Ok(())
}
