//! Micro-benchmarks, timed with the virtual counter, which EL0 may read.
//! Under `-icount shift=0` one guest instruction is one nanosecond of
//! virtual time, so `ns / op` is instructions per operation (the loop's own
//! instructions are measured with an empty loop of the same shape and
//! subtracted).
//!
//! When the image lets tasks read the PMU's cycle counter (`[kernel]
//! cycle_counter = true` and this task's `values = { cycle_counter = 1 }`),
//! each line also gives cycles per operation: the figure that means
//! something on silicon (`cargo xtask hil`), where the virtual counter is
//! only wall time at 54 MHz.
//!
//! Each benchmark also reads this core's event counters around its loop:
//! Corey's claim is that operations on private objects (the root share, the
//! task's own address range) cause no cross-core traffic at all: no lock
//! another core takes, no broadcast TLB invalidation, no IPI, no frames
//! from the global pool.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::asm;
use ulib::cap::*;
use ulib::{println, slots, CPtr, Error, Rights};

ulib::entry!(main);

ulib::bind! {
    /// 1 when the image lets this task read the cycle counter.
    static CYCLE_COUNTER: Value = "cycle_counter";
}

const CALLS: u64 = 20_000;
const MAPS: u64 = 2_000;
const ROOT: CPtr = CPtr::root(slots::ROOT_RANGE);
const SEG: CPtr = CPtr::root(10);
const SHARE: u8 = 11;
/// A private share (this core's space, no lock).
const PRIVATE: u8 = 14;
const RANGE: CPtr = CPtr::root(12);
const VA: u64 = 0x2000_0000;
const SHARED_BASE: u64 = 0x1_4000_0000;
/// A private range (this core's, linked into this task's address space).
const LOCAL: CPtr = CPtr::root(15);
const LOCAL_BASE: u64 = 0x1_6000_0000;
const PAGE: u64 = 4096;
/// The largest segment (16 MiB) and a copy of its capability, for the
/// longest calls.
const BIG: CPtr = CPtr::root(16);
const BIG_COPY: CPtr = CPtr::root(17);
const BIG_BYTES: u64 = 16 << 20;
const BIG_VA: u64 = 0x3000_0000;
/// Runs of each long operation.
const LONG: u64 = 2;
const RW: Rights = Rights::READ.union(Rights::WRITE);
/// A root slot nothing ever fills (the dispatch benchmarks name it).
const EMPTY: CPtr = CPtr::root(60);
/// Another, the destination of `dispatch-cap-copy`.
const EMPTY_DST: CPtr = CPtr::root(61);

fn counter() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter (CNTKCTL_EL1).
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f) };
    (t, f)
}

/// The cycle counter, when the image lets this task read it.
fn cycles() -> Option<u64> {
    if CYCLE_COUNTER.get() != Some(1) {
        return None;
    }
    let c: u64;
    // Safety: the image set `[kernel] cycle_counter`, so the kernel lets EL0
    // read PMCCNTR_EL0 (PMUSERENR_EL0.CR); xtask refuses the value without it.
    unsafe { asm!("isb", "mrs {0}, pmccntr_el0", out(reg) c) };
    Some(c)
}

fn ns(ticks: u64, freq: u64) -> u64 {
    (ticks as u128 * 1_000_000_000 / freq as u128) as u64
}

fn events() -> [u64; 4] {
    // The four events of cross-core traffic (not `Interrupt`).
    [
        ulib::Event::SharedLock,
        ulib::Event::BroadcastTlbi,
        ulib::Event::Ipi,
        ulib::Event::GlobalPoolTake,
    ]
    .map(|e| ulib::read_event(e).unwrap_or(u64::MAX))
}

/// Runs `op` `n` times (after one warm-up run) and prints its cost and the
/// events it caused.
fn measure(name: &str, core: usize, n: u64, mut op: impl FnMut() -> bool) -> bool {
    if !op() {
        println!("bench {}: FAIL the operation failed", name);
        return false;
    }
    let before = events();
    let c0 = cycles();
    let (t0, f) = counter();
    for _ in 0..n {
        if !op() {
            println!("bench {}: FAIL the operation failed", name);
            return false;
        }
    }
    let (t1, _) = counter();
    let c1 = cycles();
    let after = events();
    let c1b = cycles();
    for i in 0..n {
        core::hint::black_box(i);
    }
    let (t2, _) = counter();
    let c2 = cycles();
    let total = ns(t1 - t0, f);
    let empty = ns(t2 - t1, f);
    println!(
        "bench {} core {}: {} ops, {} ns total, loop {} ns; {} ns/op",
        name,
        core,
        n,
        total,
        empty,
        total.saturating_sub(empty) / n
    );
    if let (Some(c0), Some(c1), Some(c1b), Some(c2)) = (c0, c1, c1b, c2) {
        // Each window holds the same counter reads around its loop.
        let (work, empty) = (c1.wrapping_sub(c0), c2.wrapping_sub(c1b));
        println!(
            "bench {} core {}: {} cycles total, loop {} cycles; {} cycles/op",
            name,
            core,
            work,
            empty,
            work.saturating_sub(empty) / n
        );
    }
    let d: [u64; 4] = core::array::from_fn(|i| after[i].wrapping_sub(before[i]));
    println!(
        "bench {} events over {} ops: {} shared-lock acquisitions, {} broadcast TLB invalidations, {} IPIs, {} global-pool takes",
        name, n, d[0], d[1], d[2], d[3]
    );
    true
}

fn touch(va: u64) {
    // Safety: the page at `va` was mapped writable just before.
    unsafe { (va as *mut u64).write_volatile(1) };
}

fn main(start: ulib::Start) -> i32 {
    let core = start.core;
    let mut ok = measure("null-syscall", core, CALLS, || ulib::null().is_ok());
    // The counters do count: each console line takes the console lock,
    // which every core shares.
    let before = events();
    for i in 0..10 {
        println!("bench console line {}", i);
    }
    let after = events();
    println!(
        "bench debug-print events over 10 calls: {} shared-lock acquisitions",
        after[0].wrapping_sub(before[0])
    );
    let setup = segment_create(SEG, 1)
        .and_then(|_| share_create(CPtr::root(SHARE), true))
        .and_then(|_| cap_copy(SEG, CPtr::via(SHARE, 0), Rights::ALL))
        .and_then(|_| share_create(CPtr::root(PRIVATE), false))
        .and_then(|_| range_create(RANGE, SHARED_BASE, 2 << 20))
        .and_then(|_| link(RANGE))
        .and_then(|_| range_create_private(LOCAL, LOCAL_BASE, 2 << 20))
        .and_then(|_| link(LOCAL))
        // A neighbour that stays mapped: the private range's tables exist,
        // as in any address space in use, so both cases measure mapping
        // and unmapping a page, not building and freeing tables.
        .and_then(|_| segment_create(CPtr::root(13), 1))
        .and_then(|_| map(ROOT, VA + PAGE, CPtr::root(13), 0, PAGE, RW));
    if let Err(e) = setup {
        println!("bench: FAIL setup: {:?}", e);
        return 1;
    }
    ok &= measure("cap-lookup-private", core, CALLS, || cap_info(SEG).is_ok());
    ok &= measure("cap-lookup-shared", core, CALLS, || {
        cap_info(CPtr::via(SHARE, 0)).is_ok()
    });
    // Add and remove: a copy into a share, then its delete (the shares
    // benchmark's pair without the lookup).
    ok &= measure("cap-add-remove-private", core, CALLS, || {
        cap_copy(SEG, CPtr::via(PRIVATE, 0), Rights::ALL).is_ok()
            && cap_delete(CPtr::via(PRIVATE, 0)).is_ok()
    });
    ok &= measure("cap-add-remove-shared", core, CALLS, || {
        cap_copy(CPtr::via(SHARE, 0), CPtr::via(SHARE, 1), Rights::ALL).is_ok()
            && cap_delete(CPtr::via(SHARE, 1)).is_ok()
    });
    ok &= measure("map-touch-unmap-private", core, MAPS, || {
        let r = map(ROOT, VA, SEG, 0, PAGE, RW);
        touch(VA);
        r.is_ok() && unmap(ROOT, VA, PAGE).is_ok()
    });
    ok &= measure("map-touch-unmap-shared", core, MAPS, || {
        let r = map(RANGE, SHARED_BASE, SEG, 0, PAGE, RW);
        touch(SHARED_BASE);
        r.is_ok() && unmap(RANGE, SHARED_BASE, PAGE).is_ok()
    });
    ok &= measure("map-touch-unmap-private-range", core, MAPS, || {
        let r = map(LOCAL, LOCAL_BASE, SEG, 0, PAGE, RW);
        touch(LOCAL_BASE);
        r.is_ok() && unmap(LOCAL, LOCAL_BASE, PAGE).is_ok()
    });
    ok &= dispatch(core);
    ok &= long_operations(core);
    if ok {
        0
    } else {
        1
    }
}

/// Every capability call on its cheapest complete path: entry, decoding
/// (arguments that decode), dispatch, the lookup of its first capability,
/// and an error return. The object a call uses is an empty root slot
/// (`InvalidCapability`); a call that makes an object is given an
/// occupied destination (`SlotOccupied`); `CapCopy` copies from an empty
/// root slot into another (its source's lookup fails after both slots
/// resolved), and, as `dispatch-cap-copy-via`, into a slot named through
/// a share capability (resolved first). Each op checks that exact error,
/// so a call that stopped earlier (a decoding error) or went further
/// fails the benchmark. Minus `null-syscall`, each figure is what that
/// call's dispatch costs beyond the null call
/// (docs/measurements-dispatch.md).
fn dispatch(core: usize) -> bool {
    use ulib::Error::{InvalidCapability as Empty, SlotOccupied as Full};
    if cap_info(EMPTY) != Err(Empty) || cap_info(EMPTY_DST) != Err(Empty) {
        println!("bench: FAIL root slot 60 or 61 is not empty");
        return false;
    }
    let n = CALLS;
    let is = |r: Result<(), Error>, e: Error| r == Err(e);
    let mut ok = measure("dispatch-cap-info", core, n, || {
        cap_info(EMPTY) == Err(Empty)
    });
    ok &= measure("dispatch-cap-copy", core, n, || {
        is(cap_copy(EMPTY, EMPTY_DST, Rights::ALL), Empty)
    });
    ok &= measure("dispatch-cap-copy-via", core, n, || {
        is(cap_copy(EMPTY, CPtr::via(PRIVATE, 0), Rights::ALL), Empty)
    });
    ok &= measure("dispatch-cap-delete", core, n, || {
        is(cap_delete(EMPTY), Empty)
    });
    ok &= measure("dispatch-cap-revoke", core, n, || {
        is(cap_revoke(EMPTY), Empty)
    });
    ok &= measure("dispatch-segment-create", core, n, || {
        is(segment_create(SEG, 1), Full)
    });
    ok &= measure("dispatch-segment-info", core, n, || {
        segment_info(EMPTY, 0) == Err(Empty)
    });
    ok &= measure("dispatch-range-create", core, n, || {
        is(range_create(SEG, SHARED_BASE, 2 << 20), Full)
    });
    ok &= measure("dispatch-map", core, n, || {
        is(map(EMPTY, VA, SEG, 0, PAGE, RW), Empty)
    });
    ok &= measure("dispatch-unmap", core, n, || {
        is(unmap(EMPTY, VA, PAGE), Empty)
    });
    ok &= measure("dispatch-link", core, n, || is(link(EMPTY), Empty));
    ok &= measure("dispatch-unlink", core, n, || is(unlink(EMPTY), Empty));
    ok &= measure("dispatch-share-create", core, n, || {
        is(share_create(SEG, false), Full)
    });
    ok &= measure("dispatch-notify-create", core, n, || {
        is(notify_create(SEG), Full)
    });
    ok &= measure("dispatch-signal", core, n, || is(signal(EMPTY, 1), Empty));
    ok &= measure("dispatch-interrupt-ack", core, n, || {
        is(ulib::interrupt_ack(EMPTY), Empty)
    });
    ok
}

/// The longest system calls, which run with interrupts masked from entry
/// to return (docs/long-operations.md): making and deleting the
/// largest segment (16 MiB zeroed, 4104 frames taken and given back),
/// mapping and unmapping all of it, and a revoke that undoes such a
/// mapping made through a derived capability.
fn long_operations(core: usize) -> bool {
    let mut ok = measure("segment-create-delete-16mib", core, LONG, || {
        segment_create(BIG, BIG_BYTES / PAGE).is_ok() && cap_delete(BIG).is_ok()
    });
    if let Err(e) = segment_create(BIG, BIG_BYTES / PAGE) {
        println!("bench: FAIL the 16 MiB segment: {:?}", e);
        return false;
    }
    ok &= measure("map-unmap-16mib", core, LONG, || {
        map(ROOT, BIG_VA, BIG, 0, BIG_BYTES, RW).is_ok() && unmap(ROOT, BIG_VA, BIG_BYTES).is_ok()
    });
    ok &= measure("copy-map-revoke-16mib", core, LONG, || {
        cap_copy(BIG, BIG_COPY, RW).is_ok()
            && map(ROOT, BIG_VA, BIG_COPY, 0, BIG_BYTES, RW).is_ok()
            && cap_revoke(BIG).is_ok()
    });
    ok && cap_delete(BIG).is_ok()
}
