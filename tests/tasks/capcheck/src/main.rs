//! Every bad argument of the capability system calls, from EL0, gets its
//! own error code (and the kernel goes on); then the good paths on one
//! core: map, touch, unmap, copy with fewer rights, revoke, a private and
//! a shared share, notifications, and running out of memory cleanly.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use ulib::cap::*;
use ulib::checks::Checks;
use ulib::{println, slots, CPtr, Error, Event, ObjectKind, Rights, Syscall};

ulib::entry!(main);

mod chunks;
mod copies;

const ROOT: CPtr = CPtr::root(slots::ROOT_RANGE);
const SEG: CPtr = CPtr::root(20);
const SEG_RO: CPtr = CPtr::root(21);
const EMPTY: CPtr = CPtr::root(40);
const VA: u64 = 0x2000_0000;
const PAGE: u64 = 4096;
const RW: Rights = Rights::READ.union(Rights::WRITE);

fn read(va: u64) -> u64 {
    // Safety: callers pass an address they mapped readable just before.
    unsafe { (va as *const u64).read_volatile() }
}

fn write(va: u64, v: u64) {
    // Safety: callers pass an address they mapped writable just before.
    unsafe { (va as *mut u64).write_volatile(v) }
}

/// A one-page segment for probing.
const PROBE: CPtr = CPtr::root(60);

/// Whether `va` is mapped, probed without touching it: mapping a page
/// there is refused with `Overlap` exactly when something is mapped.
fn mapped(va: u64) -> bool {
    match map(ROOT, va, PROBE, 0, PAGE, Rights::READ) {
        Err(Error::Overlap) => true,
        Ok(()) => {
            let _ = unmap(ROOT, va, PAGE);
            false
        }
        Err(_) => true,
    }
}

fn raw_segment_flags(flags: u64) -> Result<(), Error> {
    match raw(Syscall::SegmentCreate, [EMPTY.0, 1, flags, 0, 0, 0]) {
        0 => Ok(()),
        e => Err(Error::from_u64(e).unwrap_or(Error::InvalidArgument)),
    }
}

fn errors(c: &mut Checks) {
    c.ok("segment_create", segment_create(SEG, 4));
    // Unknown call, unknown capability slots.
    // Safety: an unknown call number takes no arguments.
    let r = unsafe { ulib::raw_syscall(99, [0; 6]) }[0];
    c.check(
        "unknown syscall is UnknownSyscall",
        r == Error::UnknownSyscall as u64,
    );
    // The experimental calls (the block baseline's) exist only in the test
    // build, for an image that asks: this image runs the standard build.
    for (what, n) in [
        (
            "BlockFlush (experimental) is unknown here",
            Syscall::BlockFlush as u64,
        ),
        ("22, where BlockRead was, is unknown", 22),
    ] {
        // Safety: neither call reads or writes memory on this kernel.
        let r = unsafe { ulib::raw_syscall(n, [0; 6]) }[0];
        c.check(what, r == Error::UnknownSyscall as u64);
    }
    c.expect("empty slot", cap_info(EMPTY), Error::InvalidCapability);
    c.expect(
        "slot index 64",
        cap_info(CPtr(64)),
        Error::InvalidCapability,
    );
    c.expect(
        "high cptr bits",
        cap_info(CPtr(1 << 20)),
        Error::InvalidCapability,
    );
    c.expect(
        "via a non-share",
        cap_info(CPtr::via(20, 0)),
        Error::WrongObjectKind,
    );
    // Wrong kind, missing rights.
    c.expect(
        "map a range as segment",
        map(ROOT, VA, ROOT, 0, PAGE, RW),
        Error::WrongObjectKind,
    );
    c.expect(
        "map into a segment",
        map(SEG, VA, SEG, 0, PAGE, RW),
        Error::WrongObjectKind,
    );
    c.ok("copy read-only", cap_copy(SEG, SEG_RO, Rights::READ));
    c.expect(
        "map RW with R",
        map(ROOT, VA, SEG_RO, 0, PAGE, RW),
        Error::MissingRights,
    );
    c.check(
        "a copy has only the rights asked",
        cap_info(SEG_RO) == Ok((ObjectKind::Segment, Rights::READ)),
    );
    // Alignment, range, size, overlap.
    c.expect(
        "misaligned va",
        map(ROOT, VA + 8, SEG, 0, PAGE, RW),
        Error::Misaligned,
    );
    c.expect(
        "misaligned length",
        map(ROOT, VA, SEG, 0, 100, RW),
        Error::Misaligned,
    );
    c.expect(
        "misaligned offset",
        map(ROOT, VA, SEG, 12, PAGE, RW),
        Error::Misaligned,
    );
    c.expect(
        "va outside the user half",
        map(ROOT, 1 << 48, SEG, 0, PAGE, RW),
        Error::OutOfRange,
    );
    c.expect(
        "va wraps",
        map(ROOT, !0xfff, SEG, 0, 2 * PAGE, RW),
        Error::OutOfRange,
    );
    c.expect(
        "segment too small",
        map(ROOT, VA, SEG, 0, 8 * PAGE, RW),
        Error::TooSmall,
    );
    c.expect(
        "offset past segment",
        map(ROOT, VA, SEG, 4 * PAGE, PAGE, RW),
        Error::TooSmall,
    );
    c.expect(
        "zero length",
        map(ROOT, VA, SEG, 0, 0, RW),
        Error::InvalidArgument,
    );
    c.expect(
        "grant is not a mapping right",
        map(ROOT, VA, SEG, 0, PAGE, Rights::ALL),
        Error::InvalidArgument,
    );
    let r = raw(Syscall::Map, [ROOT.0, VA, SEG.0, 0, PAGE, 0x30]);
    c.check(
        "raw rights 0x30 is InvalidArgument",
        r == Error::InvalidArgument as u64,
    );
    c.ok("map", map(ROOT, VA, SEG, 0, 4 * PAGE, RW));
    c.expect(
        "overlap",
        map(ROOT, VA + PAGE, SEG, 0, PAGE, RW),
        Error::Overlap,
    );
    c.expect(
        "over the task's code",
        map(ROOT, 0x40_0000, SEG, 0, PAGE, RW),
        Error::Overlap,
    );
    c.ok("unmap", unmap(ROOT, VA, 4 * PAGE));
    c.expect(
        "unmap misaligned",
        unmap(ROOT, VA + 1, PAGE),
        Error::Misaligned,
    );
    c.expect(
        "unmap outside",
        unmap(ROOT, 1 << 48, PAGE),
        Error::OutOfRange,
    );
    // Shared ranges.
    c.expect(
        "shared range not 2M aligned",
        range_create(CPtr::root(22), 0x1_0000_1000, 2 << 20),
        Error::SharedRangeNotAligned,
    );
    c.expect(
        "shared range odd size",
        range_create(CPtr::root(22), 0x1_0000_0000, 3 << 20),
        Error::SharedRangeNotAligned,
    );
    c.expect(
        "shared range outside",
        range_create(CPtr::root(22), 1 << 48, 2 << 20),
        Error::OutOfRange,
    );
    // Slots.
    c.expect("occupied slot", segment_create(SEG, 1), Error::SlotOccupied);
    occupied_costs_nothing(c);
    c.expect(
        "root slot 0 is fixed",
        segment_create(ROOT, 1),
        Error::SlotOccupied,
    );
    c.expect(
        "delete own address space",
        cap_delete(ROOT),
        Error::InvalidArgument,
    );
    c.expect(
        "copy into root slot 1",
        cap_copy(SEG, CPtr::root(1), RW),
        Error::SlotOccupied,
    );
    copies::root_copies(c);
    c.expect("delete empty", cap_delete(EMPTY), Error::InvalidCapability);
    c.expect("revoke empty", cap_revoke(EMPTY), Error::InvalidCapability);
    // Arguments.
    c.expect(
        "segment of 0 pages",
        segment_create(EMPTY, 0),
        Error::InvalidArgument,
    );
    c.expect(
        "segment too large",
        segment_create(EMPTY, 1 << 40),
        Error::InvalidArgument,
    );
    let r = raw(Syscall::ShareCreate, [EMPTY.0, 2, 0, 0, 0, 0]);
    c.check(
        "share flag 2 is InvalidArgument",
        r == Error::InvalidArgument as u64,
    );
    c.ok("notification", notify_create(CPtr::root(23)));
    c.expect(
        "signal no bits",
        signal(CPtr::root(23), 0),
        Error::InvalidArgument,
    );
    c.ok(
        "read-only notification",
        cap_copy(CPtr::root(23), CPtr::root(24), Rights::READ),
    );
    c.expect(
        "signal without write",
        signal(CPtr::root(24), 1),
        Error::MissingRights,
    );
    c.expect("wait on a segment", wait(SEG), Error::WrongObjectKind);
    // Private ranges: this core's; linked, mapped into and unmapped from
    // without a lock another core takes or a broadcast TLBI; their
    // capability cannot leave the core.
    const PRIV: CPtr = CPtr::root(32);
    const PRIV_SEG: CPtr = CPtr::root(33);
    const PRIV_BASE: u64 = 0x1_8000_0000;
    let r = raw(Syscall::RangeCreate, [PRIV.0, PRIV_BASE, 2 << 20, 2, 0, 0]);
    c.check(
        "range flag 2 is InvalidArgument",
        r == Error::InvalidArgument as u64,
    );
    c.expect(
        "private range not 2M aligned",
        range_create_private(PRIV, PRIV_BASE + PAGE, 2 << 20),
        Error::SharedRangeNotAligned,
    );
    c.ok(
        "private range",
        range_create_private(PRIV, PRIV_BASE, 2 << 20),
    );
    c.ok("segment for it", segment_create(PRIV_SEG, 1));
    let events = |e| ulib::read_event(e).unwrap_or(u64::MAX);
    let before = (
        events(ulib::Event::SharedLock),
        events(ulib::Event::BroadcastTlbi),
    );
    c.ok(
        "map into the private range",
        map(PRIV, PRIV_BASE, PRIV_SEG, 0, PAGE, RW),
    );
    c.ok("link the private range", link(PRIV));
    write(PRIV_BASE + 8, 0x5eed);
    c.check("written through the link", read(PRIV_BASE + 8) == 0x5eed);
    c.ok("unmap from the private range", unmap(PRIV, PRIV_BASE, PAGE));
    c.ok("map it again", map(PRIV, PRIV_BASE, PRIV_SEG, 0, PAGE, RW));
    c.check("the page kept its data", read(PRIV_BASE + 8) == 0x5eed);
    let after = (
        events(ulib::Event::SharedLock),
        events(ulib::Event::BroadcastTlbi),
    );
    c.check(
        "no shared lock or broadcast TLBI for a private range",
        after == before,
    );
    c.ok("shared share", share_create(CPtr::root(34), true));
    c.expect(
        "private range into a shared share",
        cap_copy(PRIV, CPtr::via(34, 0), Rights::ALL),
        Error::NotOwner,
    );
    c.expect(
        "private range made in a shared share",
        range_create_private(CPtr::via(34, 1), PRIV_BASE + (2 << 20), 2 << 20),
        Error::NotOwner,
    );
    c.expect(
        "private share made in a shared share",
        share_create(CPtr::via(34, 2), false),
        Error::NotOwner,
    );
    c.ok("delete shared share", cap_delete(CPtr::root(34)));
    c.ok("unlink the private range", unlink(PRIV));
    c.ok("delete the private range", cap_delete(PRIV));
    c.ok("delete its segment", cap_delete(PRIV_SEG));
    // Shares: a private share cannot leave its core.
    c.ok("shared share", share_create(CPtr::root(25), true));
    c.ok("private share", share_create(CPtr::root(26), false));
    c.expect(
        "private share into a shared one",
        cap_copy(CPtr::root(26), CPtr::via(25, 0), Rights::ALL),
        Error::NotOwner,
    );
    c.expect(
        "use through a shared share",
        map(ROOT, VA, CPtr::via(25, 0), 0, PAGE, RW),
        Error::InvalidArgument,
    );
    c.ok(
        "read-only share cap",
        cap_copy(CPtr::root(25), CPtr::root(27), Rights::READ),
    );
    c.expect(
        "insert through read-only share",
        cap_copy(SEG, CPtr::via(27, 0), RW),
        Error::MissingRights,
    );
    c.expect(
        "copy without grant across",
        cap_copy(SEG_RO, CPtr::via(25, 0), RW),
        Error::MissingRights,
    );
    for at in [24u8, 27, 26, 25, 23, 21, 20] {
        c.ok("cleanup delete", cap_delete(CPtr::root(at)));
    }
}

fn good_paths(c: &mut Checks) {
    // Map, touch, copy with fewer rights, revoke undoes the copy's mapping.
    c.ok("segment", segment_create(SEG, 2));
    c.ok("map", map(ROOT, VA, SEG, 0, 2 * PAGE, RW));
    write(VA, 0x1234_5678);
    write(VA + PAGE, 0x9abc);
    c.ok("copy", cap_copy(SEG, SEG_RO, Rights::READ));
    c.ok(
        "map the copy",
        map(ROOT, VA + 0x10_0000, SEG_RO, 0, PAGE, Rights::READ),
    );
    c.check(
        "the copy reads what was written",
        read(VA + 0x10_0000) == 0x1234_5678,
    );
    c.check(
        "kind of a segment",
        cap_info(SEG_RO) == Ok((ObjectKind::Segment, Rights::READ)),
    );
    c.ok("revoke", cap_revoke(SEG));
    c.expect(
        "the copy is gone",
        cap_info(SEG_RO),
        Error::InvalidCapability,
    );
    c.check("its mapping is gone", !mapped(VA + 0x10_0000));
    c.check(
        "the original's mapping stays",
        mapped(VA) && read(VA + PAGE) == 0x9abc,
    );
    c.ok("delete", cap_delete(SEG));
    c.check("deleting the last cap undoes its mapping", !mapped(VA));
    // Notifications on one core.
    c.ok("notification", notify_create(CPtr::root(23)));
    c.check("poll with no bits", poll(CPtr::root(23)) == Ok(0));
    c.check(
        "wait with an unknown flag",
        raw(Syscall::Wait, [CPtr::root(23).0, 2, 0, 0, 0, 0]) == Error::InvalidArgument as u64,
    );
    c.ok("signal", signal(CPtr::root(23), 0b1));
    c.check("poll takes the bits", poll(CPtr::root(23)) == Ok(0b1));
    c.ok("signal", signal(CPtr::root(23), 0b101));
    c.check("wait takes the bits", wait(CPtr::root(23)) == Ok(0b101));
    c.ok("delete notification", cap_delete(CPtr::root(23)));
    // A shared share: copy in, copy out, revoke through it.
    c.ok("segment", segment_create(SEG, 1));
    c.ok("shared share", share_create(CPtr::root(25), true));
    c.ok(
        "copy into shared share",
        cap_copy(SEG, CPtr::via(25, 3), Rights::ALL),
    );
    c.check(
        "lookup in the shared share",
        cap_info(CPtr::via(25, 3)).is_ok_and(|(k, _)| k == ObjectKind::Segment),
    );
    c.ok(
        "copy back out",
        cap_copy(CPtr::via(25, 3), CPtr::root(30), RW),
    );
    c.ok("map the import", map(ROOT, VA, CPtr::root(30), 0, PAGE, RW));
    write(VA, 77);
    c.ok("revoke the original", cap_revoke(SEG));
    c.expect(
        "shared share copy gone",
        cap_info(CPtr::via(25, 3)),
        Error::InvalidCapability,
    );
    c.expect(
        "import gone",
        cap_info(CPtr::root(30)),
        Error::InvalidCapability,
    );
    c.check("import's mapping gone", !mapped(VA));
    c.ok("delete", cap_delete(SEG));
    // Exports are reused once their copies are gone: many more rounds of
    // copy-out-and-delete than the export table has entries.
    c.ok("segment", segment_create(SEG, 1));
    let mut rounds = 0;
    for _ in 0..100 {
        let ok = cap_copy(SEG, CPtr::via(25, 5), Rights::ALL).is_ok()
            && cap_delete(CPtr::via(25, 5)).is_ok();
        rounds += ok as u32;
    }
    c.check("100 rounds of export and delete", rounds == 100);
    c.ok("delete", cap_delete(SEG));
    c.ok("delete share", cap_delete(CPtr::root(25)));
}

/// A create into an occupied slot is refused before anything is made: no
/// frame taken (this core's count of global-pool takes and shared locks
/// does not move, where 16 MiB from the pool would take many batches), and
/// the slot is checked before the range's span.
fn occupied_costs_nothing(c: &mut Checks) {
    let counts = || {
        [Event::GlobalPoolTake, Event::SharedLock].map(|e| ulib::read_event(e).unwrap_or(u64::MAX))
    };
    let before = counts();
    c.expect(
        "occupied slot, 16 MiB asked",
        segment_create(SEG, 4096),
        Error::SlotOccupied,
    );
    c.expect(
        "occupied slot, 16 MiB contiguous asked",
        segment_create_contiguous(SEG, 4096),
        Error::SlotOccupied,
    );
    c.expect(
        "occupied slot, a range asked",
        range_create_private(SEG, 0x1_0000_0000, 2 << 20),
        Error::SlotOccupied,
    );
    c.expect(
        "occupied slot, a share asked",
        share_create(SEG, false),
        Error::SlotOccupied,
    );
    let after = counts();
    c.check(
        "an occupied destination takes no frame (global-pool takes and shared locks unchanged)",
        before == after,
    );
    if before != after {
        println!("capcheck: counts before {:?}, after {:?}", before, after);
    }
    c.expect(
        "the slot is checked before the range's span",
        range_create(SEG, 0x1_0000_1000, 2 << 20),
        Error::SlotOccupied,
    );
}

/// Segments of 16 MiB until memory runs out (the image gives the machine
/// less memory than the loop asks for); then all of it comes back.
fn out_of_memory(c: &mut Checks) {
    let mut made = 0u8;
    let mut last = Ok(());
    while made < 48 {
        last = segment_create(CPtr::root(10 + made), 4096);
        if last.is_err() {
            break;
        }
        made += 1;
    }
    c.expect("memory runs out cleanly", last, Error::OutOfMemory);
    if made > 0 {
        // Memory is short now: an occupied destination must still be
        // SlotOccupied, checked before any frame is asked for.
        let full = CPtr::root(10);
        c.expect(
            "occupied slot with memory short",
            segment_create(full, 4096),
            Error::SlotOccupied,
        );
        c.expect(
            "occupied slot with memory short, contiguous",
            segment_create_contiguous(full, 4096),
            Error::SlotOccupied,
        );
    }
    for i in 0..made {
        c.ok("free", cap_delete(CPtr::root(10 + i)));
    }
    c.ok("allocate again after freeing", segment_create(SEG, 4096));
    c.ok("free", cap_delete(SEG));
    // Contiguous (DMA) segments: consecutive physical pages.
    c.ok("contiguous segment", segment_create_contiguous(SEG, 16));
    let first = segment_info(SEG, 0);
    let last = segment_info(SEG, 15);
    c.check(
        "contiguous pages are consecutive",
        matches!((first, last), (Ok((a, 16)), Ok((b, 16))) if b == a + 15 * PAGE),
    );
    c.expect(
        "page past the segment",
        segment_info(SEG, 16),
        Error::OutOfRange,
    );
    c.expect(
        "unknown segment flag",
        raw_segment_flags(2),
        Error::InvalidArgument,
    );
    c.expect(
        "segment flag in bit 63",
        raw_segment_flags(1 << 63 | 1),
        Error::InvalidArgument,
    );
    for (what, call, a) in [
        (
            "unknown range flag",
            Syscall::RangeCreate,
            [EMPTY.0, 0x1_0000_0000, 2 << 20, 2, 0, 0],
        ),
        (
            "share flag 2",
            Syscall::ShareCreate,
            [EMPTY.0, 2, 0, 0, 0, 0],
        ),
        (
            "slot name bit 40",
            Syscall::NotifyCreate,
            [1 << 40 | EMPTY.0, 0, 0, 0, 0, 0],
        ),
    ] {
        let want = if call == Syscall::NotifyCreate {
            Error::InvalidCapability
        } else {
            Error::InvalidArgument
        };
        c.check(what, raw(call, a) == want as u64);
    }
    c.ok("free", cap_delete(SEG));
    c.check("core count", core_count() == 4);
    println!(
        "capcheck: memory ran out cleanly after {} MiB in 16 MiB segments",
        made as u32 * 16
    );
}

fn main(start: ulib::Start) -> i32 {
    let mut c = Checks::new("capcheck");
    c.ok("probe segment", segment_create(PROBE, 1));
    errors(&mut c);
    good_paths(&mut c);
    chunks::chunked_map(&mut c);
    if start.core == 0 {
        out_of_memory(&mut c);
    }
    if c.failed == 0 {
        println!(
            "capcheck on core {}: every check passed ({} checks)",
            start.core, c.passed
        );
        0
    } else {
        println!(
            "capcheck on core {}: {} of {} checks FAILED",
            start.core,
            c.failed,
            c.passed + c.failed
        );
        1
    }
}
