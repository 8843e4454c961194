//! A console client (client index = its core) that dies without closing:
//! it prints a few lines, leaves two reads held by the server (input goes
//! to client 0 only, so they are never answered), waits until the good
//! clients are quiet (a notification in root slot 2: the kernel's fault
//! line then cannot land inside one of their lines), and faults. Nothing
//! restarts it: the server learns of its end from the kernel's exit signal
//! (`on_exit` in its image), drops its connection and still ends.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use core::fmt::Write;
use ulib::CPtr;

ulib::entry!(main);

const QUIET: CPtr = CPtr::root(2);
/// The good clients' cores (their bits in the `quiet` notification).
const GOOD: u64 = 0b11;
/// Lines printed before dying.
const LINES: usize = 5;

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    let mut con = match Console::connect(me) {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("conquit {}: FAIL connect: {:?}", me, e);
            return 1;
        }
    };
    for i in 0..LINES {
        let mut l = ulib::Line::new();
        let _ = write!(
            l,
            "conquit {me}: line {i} of {LINES}, then it dies holding two reads"
        );
        if let Err(e) = con.write_line_sync(l.as_str()) {
            ulib::println!("conquit {}: FAIL line {}: {:?}", me, i, e);
            return 1;
        }
    }
    for _ in 0..2 {
        if let Err(e) = con.read_async(16) {
            ulib::println!("conquit {}: FAIL read: {:?}", me, e);
            return 1;
        }
    }
    if let Err(e) = ulib::cap::wait_all(QUIET, GOOD) {
        ulib::println!("conquit {}: FAIL wait: {:?}", me, e);
        return 1;
    }
    ulib::fault_on_purpose();
    ulib::println!("conquit {}: FAIL still running after the fault", me);
    1
}
