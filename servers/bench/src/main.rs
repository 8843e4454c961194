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

fn events() -> [u64; 4] {
    ulib::Event::ALL.map(|e| ulib::read_event(e).unwrap_or(u64::MAX))
}

fn main(start: ulib::Start) -> i32 {
    let before = events();
    let (t0, f) = counter();
    for _ in 0..CALLS {
        if ulib::null().is_err() {
            return 1;
        }
    }
    let (t1, _) = counter();
    let after = events();
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
    // Corey's claim for a private operation: no cross-core traffic at all.
    let d: [u64; 4] = core::array::from_fn(|i| after[i].wrapping_sub(before[i]));
    ulib::println!(
        "bench null-syscall events over {} calls: {} shared-lock acquisitions, {} broadcast TLB invalidations, {} IPIs, {} global-pool takes",
        CALLS,
        d[0],
        d[1],
        d[2],
        d[3]
    );
    // The counters do count: each console line takes the console lock,
    // which every core shares.
    let before = events();
    for i in 0..10 {
        ulib::println!("bench console line {}", i);
    }
    let after = events();
    ulib::println!(
        "bench debug-print events over 10 calls: {} shared-lock acquisitions",
        after[0].wrapping_sub(before[0])
    );
    0
}
