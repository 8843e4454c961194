//! A block client that dies (client index = its core). Its first instance
//! connects, sends four 64 KiB reads without waiting for them and faults
//! on purpose. The supervisor restarts it; the new instance connects again
//! (a new `hello`: the server drops the dead instance's requests and
//! sequence state), writes [`SECTORS`] sectors of the pattern, flushes,
//! reads them back and closes, so the server is not left waiting for a
//! `Close`.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use blk_api::client::{Blk, Error};
use blk_api::{pattern, Op, MAX_TRANSFER, SECTOR};
use ring::Request;

ulib::entry!(main);

ulib::bind! {
    /// Signalled by the restarted instance once connected again (a good
    /// client waits for it before it finishes: see that client's `BACK`).
    static BACK: Slot = "back";
}

const SECTORS: usize = 16;
const BYTES: usize = SECTORS * SECTOR;

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    // Safety: the only `Blk` of this task.
    let mut blk = match unsafe { Blk::attach() } {
        Ok(b) => b,
        Err(e) => {
            ulib::println!("blkfault client {}: attach: {:?}", me, e);
            return 1;
        }
    };
    if start.restarts == 0 {
        for k in 0..4u64 {
            let req = Request {
                opcode: Op::Read as u32,
                len: MAX_TRANSFER as u32,
                tag: 100 + k,
                offset: k * MAX_TRANSFER as u64,
                args: [k * (MAX_TRANSFER / SECTOR) as u64, 0, 0, 0],
            };
            if blk.send_raw(&req).is_err() {
                ulib::println!("blkfault client {}: FAILED to send", me);
                return 1;
            }
        }
        // Dies with four reads outstanding.
        ulib::fault_on_purpose();
        return 1;
    }
    if let Some(back) = BACK.get() {
        let _ = ulib::cap::signal(back, 1);
    }
    match again(&mut blk, me) {
        Ok(()) => {
            ulib::println!(
                "blkfault client {}: restarted; connected again, the server dropped my old state: wrote {} sectors, read back, closed",
                me,
                SECTORS
            );
            0
        }
        Err(e) => {
            ulib::println!("blkfault client {}: FAILED: {:?}", me, e);
            1
        }
    }
}

/// The restarted instance's work: every answer must be for a request of
/// this connection (the library checks the tags), and the data its own.
fn again(blk: &mut Blk, me: usize) -> Result<(), Error> {
    let mut buf = [0u8; BYTES];
    let first = pattern::client_first_sector(me);
    pattern::fill(first, &mut buf);
    loop {
        let r = (|| {
            blk.write(first, &buf)?;
            blk.flush()?;
            let mut back = [0u8; BYTES];
            blk.read(first, &mut back)?;
            if pattern::mismatch(first, &back).is_some() {
                return Err(Error::BadLength);
            }
            blk.close()
        })();
        match r {
            // The server may restart too (images/blk-crash.toml).
            Err(Error::Restarted) => continue,
            r => return r,
        }
    }
}
