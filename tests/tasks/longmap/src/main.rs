//! A long `Map` lets an interrupt in (docs/syscalls.md, *Long
//! operations*): two tasks of the same priority share core 0 by time
//! slices, under `-icount` (the case's flag: the virtual counter counts
//! instructions, and every run is the same). Slot 1 (the counter) counts
//! in a word of the shared range `tick` and stamps each count with the
//! virtual counter, until told to stop; each count also maps and unmaps a
//! page of its own, so that the mapper's cut-short `Map` must be found
//! again among this core's mapping records after other `Map`s. Slot 0 (the mapper) reads the
//! count, maps a 16 MiB segment into its own address range in one `Map`
//! (8 pieces of 2 MiB), reads the count and the time, and unmaps it, up to
//! `TRIES` times.
//!
//! A count that moved across the `Map` shows the slice timer's interrupt
//! was taken and the counter ran, but not yet when: without preemption
//! points the interrupt is taken as the call returns, the counter runs its
//! slice, and the mapper's next instructions read the count a context
//! switch after the counter's last stamp. With them, the call is cut short
//! between pieces, the counter runs, and the re-issued `Map` still maps at
//! least one 2 MiB piece (512 pages, well over `GAP_US` of instructions)
//! before the mapper reads the time: a gap that long after the counter's
//! last stamp is the proof that the counter ran before the `Map`
//! completed. The gap of every try is printed.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use ulib::cap::*;
use ulib::{slots, CPtr, Rights};

ulib::entry!(main);

ulib::bind! {
    /// The range `tick` of images/longmap.toml.
    static TICK: Range = "tick";
}

const ROOT: CPtr = CPtr::root(slots::ROOT_RANGE);
const BIG: CPtr = CPtr::root(40);
/// The counter's own page, and where it maps it.
const SMALL: CPtr = CPtr::root(41);
const SMALL_AT: u64 = 0x3000_0000;
/// 16 MiB: the largest segment, 8 pieces of a `Map`.
const PAGES: u64 = 4096;
const PAGE: u64 = 4096;
/// A 2 MiB boundary in the task's own range.
const AT: u64 = 0x4000_0000;
const RW: Rights = Rights::READ.union(Rights::WRITE);
/// Maps tried before the verdict is "never preempted".
const TRIES: u32 = 16;
/// Counter time (instructions, under `-icount`) between the counter's
/// last stamp and the end of the `Map` that shows map work came between:
/// a context switch is a few thousand, one 2 MiB piece far more.
const GAP_US: u64 = 40;

/// The virtual counter, in microseconds.
fn now_us() -> u64 {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter.
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f) };
    t * 1_000_000 / f
}

fn main(start: ulib::Start) -> i32 {
    let Some(tick) = TICK.get() else {
        ulib::println!("longmap: FAIL the image links no range tick");
        return 1;
    };
    // Safety: the range `tick` is mapped read/write at its base in this
    // task (the image links it); its first page holds the three words.
    let words = unsafe { &*(tick.base as *const [AtomicU64; 3]) };
    let [count, stamp, stop] = words;
    if start.slot != 0 {
        return counter(count, stamp, stop);
    }
    let r = mapper(count, stamp);
    stop.store(1, Relaxed);
    r
}

/// Slot 1: counts, and maps and unmaps a page, until told to stop.
fn counter(count: &AtomicU64, stamp: &AtomicU64, stop: &AtomicU64) -> i32 {
    if let Err(e) = segment_create(SMALL, 1) {
        ulib::println!("longmap: FAIL counter's page: {:?}", e);
        return 1;
    }
    while stop.load(Relaxed) == 0 {
        let r = map(ROOT, SMALL_AT, SMALL, 0, PAGE, RW).and_then(|()| unmap(ROOT, SMALL_AT, PAGE));
        if let Err(e) = r {
            ulib::println!("longmap: FAIL counter's map: {:?}", e);
            return 1;
        }
        stamp.store(now_us(), Relaxed);
        count.store(count.load(Relaxed) + 1, Relaxed);
    }
    0
}

/// Slot 0: maps and unmaps until a `Map` is seen to let the counter run
/// before it completed.
fn mapper(count: &AtomicU64, stamp: &AtomicU64) -> i32 {
    if let Err(e) = segment_create(BIG, PAGES) {
        ulib::println!("longmap: FAIL segment of {} pages: {:?}", PAGES, e);
        return 1;
    }
    for i in 1..=TRIES {
        let before = count.load(Relaxed);
        let r = map(ROOT, AT, BIG, 0, PAGES * PAGE, RW);
        let (after, end) = (count.load(Relaxed), now_us());
        if let Err(e) = r {
            ulib::println!("longmap: FAIL map {}: {:?}", i, e);
            return 1;
        }
        // Safety: mapped read/write just now.
        let ends = unsafe {
            ((AT + PAGES * PAGE - 8) as *mut u64).write_volatile(i as u64);
            ((AT + PAGES * PAGE - 8) as *const u64).read_volatile()
        };
        if let Err(e) = unmap(ROOT, AT, PAGES * PAGE) {
            ulib::println!("longmap: FAIL unmap {}: {:?}", i, e);
            return 1;
        }
        if ends != i as u64 {
            ulib::println!("longmap: FAIL the last page of map {} is not its own", i);
            return 1;
        }
        if after == before {
            ulib::println!("longmap: try {}: the counter did not run", i);
            continue;
        }
        let gap = end.saturating_sub(stamp.load(Relaxed));
        ulib::println!(
            "longmap: try {}: the counter ran, {} us before the Map ended",
            i,
            gap
        );
        if gap > GAP_US {
            ulib::println!("longmap: the task beside it ran during a 16 MiB Map");
            return 0;
        }
    }
    ulib::println!(
        "longmap: FAIL no 16 MiB Map of {} let the task beside it run",
        TRIES
    );
    1
}
