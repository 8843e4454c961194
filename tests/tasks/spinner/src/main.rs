//! Spins for a while reading the virtual counter and counts the gaps in
//! which something else ran on its core: with another ready task of the
//! same priority, time slicing must preempt it; alone, nothing should.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::asm;

ulib::entry!(main);

/// How long to spin, in counter time.
const SPIN_US: u64 = 30_000;
/// A gap longer than this between two counter reads: the task was not running.
const GAP_US: u64 = 500;

fn now() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter.
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f) };
    (t, f)
}

fn main(start: ulib::Start) -> i32 {
    let (t0, f) = now();
    let us = |ticks: u64| ticks * 1_000_000 / f;
    let mut last = t0;
    let mut gaps = 0u32;
    loop {
        let (t, _) = now();
        if us(t - last) > GAP_US {
            gaps += 1;
        }
        last = t;
        if us(t - t0) > SPIN_US {
            break;
        }
    }
    if gaps > 0 {
        ulib::println!("spinner slot {}: preempted {} times", start.slot, gaps);
    } else {
        ulib::println!("spinner slot {}: never preempted", start.slot);
    }
    0
}
