//! Long calls let an interrupt in (docs/long-operations.md):
//! two tasks of the same priority share core 0 by time slices, under
//! `-icount` (the case's flag: the virtual counter counts instructions,
//! and every run is the same). Slot 1 (the counter) counts in a word of
//! the shared range `tick` and stamps each count with the virtual counter,
//! until told to stop; each count also maps and unmaps a page of its own,
//! so that the mapper's cut-short `Map` must be found again among this
//! core's mapping records after other `Map`s. Slot 0 (the mapper) runs
//! three long calls on 16 MiB (8 pieces of 2 MiB) in turn: `Map`, `Unmap`
//! and `SegmentCreate`, each up to `TRIES` times, reading the count and
//! the time around the call.
//!
//! A count that moved across a call shows the slice timer's interrupt was
//! taken and the counter ran, but not yet when: without preemption points
//! the interrupt is taken as the call returns, the counter runs its
//! slice, and the mapper's next instructions read the count a context
//! switch after the counter's last stamp. With them, the call is cut
//! short between pieces, the counter runs, and the re-issued call still
//! does at least one 2 MiB piece (512 pages, well over `GAP_US` of
//! instructions) before the mapper reads the time: a gap that long after
//! the counter's last stamp is the proof that the counter ran before the
//! call completed. The gap of every try is printed.
//!
//! Then two things another task does between the pieces of a call, which
//! must give error codes and leak nothing (the run's leak check): the
//! counter revokes the segment capability a cut-short `Map` maps from
//! (the re-issued `Map` fails with `InvalidCapability` and leaves nothing
//! mapped), fills the destination slot of a cut-short `SegmentCreate`
//! (the re-issued call fails with `SlotOccupied`), and stops and restarts
//! the mapper in the middle of a 16 MiB `SegmentCreate` (its frames go
//! back: the leak check at the end, as for the slot filled).
//!
//! `CapRevoke` the same way, in `revoke.rs`: a revoke of 768 descendants
//! lets the counter run; its capability deleted between pieces, and the
//! mapper stopped (its second instance) between pieces of one.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use ulib::cap::*;
use ulib::{slots, CPtr, Error, Rights, TaskState};

mod revoke;

ulib::entry!(main);

ulib::bind! {
    /// The range `tick` of images/longmap.toml.
    static TICK: Range = "tick";
    /// The shared share `pass`: where the revoked segment capability is.
    static PASS: Slot = "pass";
    /// The mapper's task capability (the counter's only).
    static MAPPER: Slot = "mapper";
}

const ROOT: CPtr = CPtr::root(slots::ROOT_RANGE);
/// The mapper's 16 MiB segment for `Map` and `Unmap`.
const BIG: CPtr = CPtr::root(40);
/// The counter's own page, and where it maps it.
const SMALL: CPtr = CPtr::root(41);
const SMALL_AT: u64 = 0x3000_0000;
/// The segments `SegmentCreate` makes.
const MADE: CPtr = CPtr::root(42);
/// The copy, in the root share, of the segment in `pass` slot 0.
const COPY: CPtr = CPtr::root(43);
/// A page to probe that nothing is left mapped.
const PROBE: CPtr = CPtr::root(44);
/// 16 MiB: the largest segment, 8 pieces of a long call.
const PAGES: u64 = 4096;
const PAGE: u64 = 4096;
const LEN: u64 = PAGES * PAGE;
/// A 2 MiB boundary in the task's own range.
const AT: u64 = 0x4000_0000;
const RW: Rights = Rights::READ.union(Rights::WRITE);
/// Calls tried before the verdict is "never preempted".
const TRIES: u32 = 16;
/// Counter time (instructions, under `-icount`) between the counter's
/// last stamp and the end of the call that shows work of the call came
/// between: a context switch is a few thousand, one 2 MiB piece far more.
const GAP_US: u64 = 40;

/// The words at the start of `tick`.
struct Words {
    count: AtomicU64,
    stamp: AtomicU64,
    /// 1: the counter returns.
    stop: AtomicU64,
    /// What the counter does to the mapper ([`REVOKE`], [`STOP`]).
    phase: AtomicU64,
    /// 1 while the mapper is inside the call of the phase.
    in_call: AtomicU64,
    /// 1 once the counter has done what the phase asks.
    done: AtomicU64,
}

const REVOKE: u64 = 1;
const STOP: u64 = 2;
const FILL: u64 = 3;
/// The counter deletes the root of the tree a `CapRevoke` revokes.
const DELETE: u64 = 4;
/// The counter stops the mapper inside a `CapRevoke`.
const STOP_REVOKE: u64 = 5;

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
    // task (the image links it); its first page holds the words.
    let w = unsafe { &*(tick.base as *const Words) };
    let Some(pass) = PASS.get() else {
        ulib::println!("longmap: FAIL the image grants no share pass");
        return 1;
    };
    let r = match (start.slot, start.restarts) {
        (0, 0) => mapper(w, pass),
        (0, 1) => restarted(w, pass),
        (0, _) => revoke::after_stop(pass),
        _ => counter(w, pass),
    };
    if start.slot == 0 {
        w.stop.store(1, Relaxed);
    }
    r
}

/// Slot 1: counts, and maps and unmaps a page, until told to stop; does
/// what the mapper's phase asks when it finds the mapper inside its call.
fn counter(w: &Words, pass: CPtr) -> i32 {
    if let Err(e) = segment_create(SMALL, 1) {
        ulib::println!("longmap: FAIL counter's page: {:?}", e);
        return 1;
    }
    while w.stop.load(Relaxed) == 0 {
        let r = map(ROOT, SMALL_AT, SMALL, 0, PAGE, RW).and_then(|()| unmap(ROOT, SMALL_AT, PAGE));
        if let Err(e) = r {
            ulib::println!("longmap: FAIL counter's map: {:?}", e);
            return 1;
        }
        w.stamp.store(now_us(), Relaxed);
        w.count.store(w.count.load(Relaxed) + 1, Relaxed);
        if w.in_call.load(Relaxed) == 1 && w.done.load(Relaxed) == 0 {
            let r = match w.phase.load(Relaxed) {
                REVOKE => cap_revoke(CPtr::via(pass.0 as u8, 0)).map_err(|_| "revoke refused"),
                FILL => notify_create(CPtr::via(pass.0 as u8, 1)).map_err(|_| "fill refused"),
                DELETE => cap_delete(revoke::root(pass)).map_err(|_| "delete refused"),
                STOP => stop_and_restart("SegmentCreate"),
                STOP_REVOKE => stop_and_restart("CapRevoke"),
                _ => Ok(()),
            };
            if let Err(why) = r {
                ulib::println!("longmap: FAIL counter: {}", why);
                return 1;
            }
            w.done.store(1, Relaxed);
        }
    }
    0
}

/// Stops the mapper (in the middle of its call `what`), waits until it
/// reads as stopped, and restarts it.
fn stop_and_restart(what: &str) -> Result<(), &'static str> {
    let task = MAPPER.get().ok_or("no task capability for the mapper")?;
    ulib::task_stop(task).map_err(|_| "stop refused")?;
    for _ in 0..100_000 {
        match ulib::task_report(task).map_err(|_| "report refused")?.state {
            TaskState::Stopped => {
                ulib::println!("longmap: mapper stopped in the middle of a {}", what);
                return ulib::task_restart(task).map_err(|_| "restart refused");
            }
            TaskState::Running => {}
            _ => return Err("the mapper ended otherwise"),
        }
    }
    Err("the mapper did not stop")
}

/// Slot 0: each long call until it is seen to let the counter run before
/// it completed; then the error cases.
fn mapper(w: &Words, pass: CPtr) -> i32 {
    if let Err(e) = segment_create(BIG, PAGES) {
        ulib::println!("longmap: FAIL segment of {} pages: {:?}", PAGES, e);
        return 1;
    }
    let none = |_| Ok(());
    let ok = preempted(
        w,
        "16 MiB Map",
        none,
        |_| map(ROOT, AT, BIG, 0, LEN, RW),
        |i| {
            // Safety: mapped read/write just now.
            let ends = unsafe {
                ((AT + LEN - 8) as *mut u64).write_volatile(i as u64);
                ((AT + LEN - 8) as *const u64).read_volatile()
            };
            unmap(ROOT, AT, LEN)?;
            if ends != i as u64 {
                ulib::println!("longmap: FAIL the last page of map {} is not its own", i);
                return Err(Error::InvalidArgument);
            }
            Ok(())
        },
    ) && preempted(
        w,
        "16 MiB Unmap",
        |_| map(ROOT, AT, BIG, 0, LEN, RW),
        |_| unmap(ROOT, AT, LEN),
        // Nothing left: the first and last pages map again.
        |_| nothing_mapped(),
    ) && preempted(
        w,
        "16 MiB SegmentCreate",
        none,
        |_| segment_create(MADE, PAGES),
        |_| zeroed_then_dirty(),
    ) && revoked_between_pieces(w, pass)
        && filled_between_pieces(w, pass)
        && revoke::tests(w, pass);
    if !ok {
        return 1;
    }
    stopped_between_pieces(w)
}

/// Runs `call` up to `TRIES` times (after `setup`, and `check` after
/// it), until one is seen to let the counter run before it completed.
fn preempted(
    w: &Words,
    what: &str,
    setup: impl Fn(u32) -> Result<(), Error>,
    call: impl Fn(u32) -> Result<(), Error>,
    check: impl Fn(u32) -> Result<(), Error>,
) -> bool {
    for i in 1..=TRIES {
        if let Err(e) = setup(i) {
            ulib::println!("longmap: FAIL {} {}, before: {:?}", what, i, e);
            return false;
        }
        let (before, start) = (w.count.load(Relaxed), now_us());
        let r = call(i);
        let (after, end) = (w.count.load(Relaxed), now_us());
        // Before `check`, which may let the counter run again.
        let stamp = w.stamp.load(Relaxed);
        if let Err(e) = r.and_then(|()| check(i)) {
            ulib::println!("longmap: FAIL {} {}: {:?}", what, i, e);
            return false;
        }
        if after == before {
            ulib::println!(
                "longmap: {} try {}: the counter did not run ({} us)",
                what,
                i,
                end - start
            );
            continue;
        }
        let gap = end.saturating_sub(stamp);
        ulib::println!(
            "longmap: {} try {}: the counter ran, {} us before the call ended",
            what,
            i,
            gap
        );
        if gap > GAP_US {
            ulib::println!("longmap: the task beside it ran during a {}", what);
            return true;
        }
    }
    ulib::println!(
        "longmap: FAIL none of {} tries of a {} let the task beside it run",
        TRIES,
        what
    );
    false
}

/// Nothing is mapped in `[AT, AT + LEN)`: a page maps at its start and at
/// its end (`Overlap` otherwise), and goes again.
fn nothing_mapped() -> Result<(), Error> {
    if segment_info(PROBE, 0).is_err() {
        segment_create(PROBE, 1)?;
    }
    for at in [AT, AT + LEN - PAGE] {
        map(ROOT, at, PROBE, 0, PAGE, RW)?;
        unmap(ROOT, at, PAGE)?;
    }
    Ok(())
}

/// The segment `SegmentCreate` made is whole and zeroed: every page reads
/// 0 through a mapping; each is then written (so the next segment, made
/// of the same frames, must have been zeroed again) and it goes.
fn zeroed_then_dirty() -> Result<(), Error> {
    if segment_info(MADE, PAGES - 1).is_err() {
        return Err(Error::TooSmall);
    }
    map(ROOT, AT, MADE, 0, LEN, RW)?;
    let mut clean = true;
    for p in 0..PAGES {
        let word = (AT + p * PAGE) as *mut u64;
        // Safety: mapped read/write just now.
        unsafe {
            clean &= word.read_volatile() == 0;
            word.write_volatile(0xdead);
        }
    }
    unmap(ROOT, AT, LEN)?;
    cap_delete(MADE)?;
    if !clean {
        ulib::println!("longmap: FAIL a page of the new segment was not zeroed");
        return Err(Error::InvalidArgument);
    }
    Ok(())
}

/// The counter revokes, through `pass`, the capability a cut-short `Map`
/// maps from: the re-issued `Map` fails with `InvalidCapability` and the
/// pieces it did are undone.
fn revoked_between_pieces(w: &Words, pass: CPtr) -> bool {
    let original = CPtr::via(pass.0 as u8, 0);
    let r = segment_create(original, PAGES).and_then(|()| cap_copy(original, COPY, Rights::ALL));
    if let Err(e) = r {
        ulib::println!("longmap: FAIL a segment in the share pass: {:?}", e);
        return false;
    }
    w.done.store(0, Relaxed);
    w.phase.store(REVOKE, Relaxed);
    let mut outcome = Err(Error::OutOfRange);
    for _ in 0..TRIES {
        w.in_call.store(1, Relaxed);
        let r = map(ROOT, AT, COPY, 0, LEN, RW);
        w.in_call.store(0, Relaxed);
        if r.is_ok() && unmap(ROOT, AT, LEN).is_ok() && w.done.load(Relaxed) == 0 {
            continue;
        }
        outcome = r;
        break;
    }
    w.phase.store(0, Relaxed);
    let left = nothing_mapped().and_then(|()| cap_delete(original));
    if outcome != Err(Error::InvalidCapability) || left.is_err() {
        ulib::println!(
            "longmap: FAIL a Map whose segment was revoked between pieces: {:?}, then {:?}",
            outcome,
            left
        );
        return false;
    }
    ulib::println!("longmap: a Map revoked between its pieces failed with InvalidCapability and left nothing mapped");
    true
}

/// The counter fills, in `pass`, the destination slot of a cut-short
/// `SegmentCreate`: the re-issued call fails with `SlotOccupied` (its
/// frames go back: the leak check at the end).
fn filled_between_pieces(w: &Words, pass: CPtr) -> bool {
    let dst = CPtr::via(pass.0 as u8, 1);
    w.done.store(0, Relaxed);
    w.phase.store(FILL, Relaxed);
    let mut outcome = Ok(());
    for _ in 0..TRIES {
        w.in_call.store(1, Relaxed);
        let r = segment_create(dst, PAGES);
        w.in_call.store(0, Relaxed);
        if r.is_ok() && cap_delete(dst).is_ok() && w.done.load(Relaxed) == 0 {
            continue;
        }
        outcome = r;
        break;
    }
    w.phase.store(0, Relaxed);
    let emptied = cap_delete(dst);
    if outcome != Err(Error::SlotOccupied) || emptied.is_err() {
        ulib::println!(
            "longmap: FAIL a SegmentCreate whose slot was filled between pieces: {:?}, then {:?}",
            outcome,
            emptied
        );
        return false;
    }
    ulib::println!("longmap: a SegmentCreate whose slot was filled between its pieces failed with SlotOccupied");
    true
}

/// `SegmentCreate`s of 16 MiB until the counter, finding this task inside
/// one, stops it (and restarts it: [`restarted`]).
fn stopped_between_pieces(w: &Words) -> i32 {
    w.done.store(0, Relaxed);
    w.phase.store(STOP, Relaxed);
    for _ in 0..TRIES {
        w.in_call.store(1, Relaxed);
        let r = segment_create(MADE, PAGES);
        w.in_call.store(0, Relaxed);
        if let Err(e) = r.and_then(|()| cap_delete(MADE)) {
            ulib::println!("longmap: FAIL SegmentCreate before the stop: {:?}", e);
            return 1;
        }
    }
    ulib::println!("longmap: FAIL the counter never stopped the mapper inside a SegmentCreate");
    1
}

/// The mapper's instance after the stop. The frames of the cut-short
/// `SegmentCreate` went back with the old instance: the run's leak check
/// says so at the end. (It makes no segment: a `SegmentCreate` of this
/// task would give back what the old instance left parked, had its end
/// not, and hide the leak.) Then it is stopped inside a `CapRevoke`.
fn restarted(w: &Words, pass: CPtr) -> i32 {
    ulib::println!("longmap: restarted after a stop in the middle of a SegmentCreate");
    revoke::stopped_in_revoke(w, pass)
}
