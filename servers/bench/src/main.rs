//! Measures the null system call round trip with the virtual counter, which
//! EL0 may read. Under `-icount shift=0` one guest instruction is one
//! nanosecond of virtual time, so `ns / call` is instructions per call
//! (the loop's own few instructions included, and subtracted with an empty
//! loop of the same shape).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::asm;

ulib::entry!(main);

const CALLS: u64 = 20_000;

fn counter() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter (CNTKCTL_EL1).
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f) };
    (t, f)
}

fn ns(ticks: u64, freq: u64) -> u64 {
    (ticks as u128 * 1_000_000_000 / freq as u128) as u64
}

fn main(start: ulib::Start) -> i32 {
    let (t0, f) = counter();
    for _ in 0..CALLS {
        if ulib::null().is_err() {
            return 1;
        }
    }
    let (t1, _) = counter();
    for i in 0..CALLS {
        core::hint::black_box(i);
    }
    let (t2, _) = counter();
    let calls = ns(t1 - t0, f);
    let empty = ns(t2 - t1, f);
    ulib::println!(
        "bench null-syscall core {}: {} calls, {} ns total, loop {} ns; {} ns/call",
        start.core,
        CALLS,
        calls,
        empty,
        (calls.saturating_sub(empty)) / CALLS
    );
    0
}
