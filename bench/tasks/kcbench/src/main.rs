//! The kernel-core benchmark's client (one per client core).
//!
//! What it measures comes from its grants (images/kcb-SERVICE-MODE-N.toml):
//! root slot 2 holds the notification `mode`, whose rights say the service
//! (R: the console, W: the block device), and slot 3 holds the client's
//! ring range when the kernel-core server is used; without it the client
//! calls the in-kernel baseline (`DebugPrint` behind the console lock,
//! `BlockRead` behind the block driver's lock). The image's N (client
//! cores) is in its name; `cargo xtask bench` adds it to the results.
//!
//! Each client does `ROUND_TRIPS` requests one at a time (send, wait for
//! the answer) and, for the console, `STREAM` lines pipelined up to the
//! ring's credit (the baseline has no pipelining: one system call a line),
//! timing each part with the virtual counter, and prints
//! `RESULT name=kernelcore mode=MODE client=I ops=OPS ns=NS`.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use ulib::cap::cap_info;
use ulib::{println, CPtr, ObjectKind, Rights};

ulib::entry!(main);

const ROUND_TRIPS: u64 = 200;
const STREAM: u64 = 400;

fn now() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f)
    };
    (t, f)
}

fn ns(t0: u64) -> u64 {
    let (t1, f) = now();
    ((t1 - t0) as u128 * 1_000_000_000 / f as u128) as u64
}

/// The result line of a run that started at `t0` (timed now).
fn result(mode: &str, me: usize, ops: u64, t0: u64) -> ulib::Line {
    let mut l = ulib::Line::new();
    let _ = core::fmt::write(
        &mut l,
        format_args!(
            "RESULT name=kernelcore mode={} client={} ops={} ns={}",
            mode,
            me,
            ops,
            ns(t0)
        ),
    );
    l
}

/// Prints a result through the kernel (the baselines' console).
fn report(mode: &str, me: usize, ops: u64, t0: u64) {
    println!("{}", result(mode, me, ops, t0).as_str());
}

fn console_ring(me: usize) -> Result<(), console_api::Error> {
    let mut con = console_api::client::Console::connect(me)?;
    let t0 = now().0;
    for i in 0..ROUND_TRIPS {
        let mut l = ulib::Line::new();
        let _ = core::fmt::write(&mut l, format_args!("kcb {} rt {}", me, i));
        con.write_line_sync(l.as_str())?;
    }
    // Through the console server, like the lines it measures: a kernel
    // print would share the UART with the server's writes on another core
    // and could be torn by them.
    let rtt = result("console-ring-rtt", me, ROUND_TRIPS, t0);
    con.write_line_sync(rtt.as_str())?;
    let t0 = now().0;
    for i in 0..STREAM {
        let mut l = ulib::Line::new();
        let _ = core::fmt::write(&mut l, format_args!("kcb {} st {}", me, i));
        con.write_line(l.as_str())?;
    }
    con.flush()?;
    let stream = result("console-ring-stream", me, STREAM, t0);
    con.write_line_sync(stream.as_str())?;
    con.done()
}

fn console_syscall(me: usize) {
    let t0 = now().0;
    for i in 0..ROUND_TRIPS {
        println!("kcb {} rt {}", me, i);
    }
    report("console-syscall-rtt", me, ROUND_TRIPS, t0);
    let t0 = now().0;
    for i in 0..STREAM {
        println!("kcb {} st {}", me, i);
    }
    report("console-syscall-stream", me, STREAM, t0);
}

fn block_ring(me: usize) -> Result<(), blk_api::client::Error> {
    // Safety: the image links this client's range at its address for the
    // task's life, shared with the block server only, and nothing else in
    // this task touches it.
    let mut blk = unsafe { blk_api::client::Blk::attach(me) }?;
    let mut buf = [0u8; 512];
    let t0 = now().0;
    for i in 0..ROUND_TRIPS {
        blk.read(me as u64 * 256 + i % 256, &mut buf)?;
    }
    report("block-ring-rtt", me, ROUND_TRIPS, t0);
    blk.close()
}

fn block_syscall(me: usize) -> Result<(), ulib::Error> {
    let mut buf = [0u8; 512];
    let t0 = now().0;
    for i in 0..ROUND_TRIPS {
        ulib::block::read(me as u64 * 256 + i % 256, &mut buf)?;
    }
    report("block-syscall-rtt", me, ROUND_TRIPS, t0);
    Ok(())
}

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    // The clients are cores 0 .. N-1; the server (if any) is the last core.
    let ring = matches!(cap_info(CPtr::root(3)), Ok((ObjectKind::AddressRange, _)));
    let console = match cap_info(CPtr::root(2)) {
        Ok((ObjectKind::Notification, r)) => r.contains(Rights::READ),
        _ => {
            println!("kcbench {}: FAIL no mode grant in root slot 2", me);
            return 1;
        }
    };
    let ok = match (console, ring) {
        (true, true) => console_ring(me).is_ok(),
        (true, false) => {
            console_syscall(me);
            true
        }
        (false, true) => block_ring(me).is_ok(),
        (false, false) => block_syscall(me).is_ok(),
    };
    if ok {
        0
    } else {
        println!("kcbench {}: FAIL", me);
        1
    }
}
