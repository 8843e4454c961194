//! Calls that used to leak kernel memory (images/leaks.toml), each checked
//! for the answer it must get; the kernel's end-of-run report then says
//! whether anything was left (`objects: none left`, `memory: no frames
//! leaked`). A wrong answer prints a line with `: FAIL`.
//!
//! 1. Unmapping the task's own stack or program page (pages the kernel
//!    mapped at load, no capability's) is refused: `InvalidArgument`.
//! 2. Unmapping a page of an image range (the image's pages) is refused.
//! 3. A capability to a share cannot go into that share or a share
//!    reachable from it (`ShareCycle`): a share in itself, one holding a
//!    segment, a cycle of two, a shared share through the image's shared
//!    share and through an export.
//! 4. Deleting a share holding 29 shares (14 private, the rest shared, as
//!    many as the spaces hold) destroys them all in one operation.
//! 5. Per-core limits: object cells and share slots run out with
//!    `OutOfMemory`, and freeing what was made makes the same room again.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use meeting::meet;
use ulib::cap::*;
use ulib::checks::Checks;
use ulib::{println, slots, CPtr, Error, ObjectKind, Rights};

ulib::entry!(main);

const ROOT: CPtr = CPtr::root(slots::ROOT_RANGE);
const ROOT_SHARE: CPtr = CPtr::root(slots::ROOT_SHARE);
ulib::bind! {
    /// The image range `pool` (linked and granted).
    static POOL: Slot = "pool";
    /// Where `pool` is linked.
    static POOL_AT: Range = "pool";
}

/// The capability to the image range `pool`.
fn range() -> CPtr {
    POOL.get().expect("the image grants range pool")
}

/// Where the image range `pool` is linked.
fn range_base() -> u64 {
    POOL_AT.get().expect("the image links range pool").base
}

const PAGE: u64 = 4096;
const STACK_BOTTOM: u64 = 0x7fff_0000;
const TEXT: u64 = 0x40_0000;
const S: u8 = 10;
const T: u8 = 11;
const SEG_VA: u64 = 0x3000_0000;

fn main(_start: ulib::Start) -> i32 {
    let mut c = Checks::new("leaks");
    unmaps(&mut c);
    println!("leaks: unmaps done");
    cycles(&mut c);
    println!("leaks: cycles done");
    many_shares(&mut c);
    println!("leaks: many shares done");
    limits(&mut c);
    println!("leaks: limits done");
    if c.failed == 0 {
        println!("leaks: every check passed");
        0
    } else {
        println!("leaks: {} checks failed: FAIL", c.failed);
        1
    }
}

fn unmaps(c: &mut Checks) {
    let bad = Error::InvalidArgument;
    c.expect("unmap own stack page", unmap(ROOT, STACK_BOTTOM, PAGE), bad);
    c.expect("unmap own program page", unmap(ROOT, TEXT, PAGE), bad);
    c.expect(
        "unmap a span holding the stack",
        unmap(ROOT, STACK_BOTTOM - 0x10_0000, 0x20_0000),
        bad,
    );
    c.expect(
        "unmap an image range page",
        unmap(range(), range_base() + PAGE, PAGE),
        bad,
    );
    c.expect(
        "unmap the whole image range",
        unmap(range(), range_base(), 2 << 20),
        bad,
    );
    // What a capability mapped still unmaps, next to the task's own pages.
    c.ok("segment", segment_create(CPtr::root(S), 1));
    let rw = Rights::READ.union(Rights::WRITE);
    c.ok(
        "map below the stack guard",
        map(ROOT, SEG_VA, CPtr::root(S), 0, PAGE, rw),
    );
    c.ok("unmap the segment's page", unmap(ROOT, SEG_VA, PAGE));
    c.ok("delete the segment", cap_delete(CPtr::root(S)));
    // Still there and writable: the refused unmaps changed nothing.
    // Safety: the image range is linked into this task, read/write.
    unsafe { ((range_base() + PAGE) as *mut u64).write_volatile(7) };
}

fn cycles(c: &mut Checks) {
    let cycle = Error::ShareCycle;
    // A private share in itself.
    c.ok("private share", share_create(CPtr::root(S), false));
    c.expect(
        "share into itself",
        cap_copy(CPtr::root(S), CPtr::via(S, 0), Rights::ALL),
        cycle,
    );
    c.ok("delete it", cap_delete(CPtr::root(S)));
    // The same with 16 MiB in it.
    c.ok("private share", share_create(CPtr::root(S), false));
    c.ok(
        "16 MiB segment in it",
        segment_create(CPtr::via(S, 1), 4096),
    );
    c.expect(
        "share holding a segment into itself",
        cap_copy(CPtr::root(S), CPtr::via(S, 0), Rights::ALL),
        cycle,
    );
    c.ok("delete it", cap_delete(CPtr::root(S)));
    // A cycle of two: S holds T; T may not hold S.
    c.ok("share S", share_create(CPtr::root(S), false));
    c.ok("share T", share_create(CPtr::root(T), false));
    c.ok(
        "T into S",
        cap_copy(CPtr::root(T), CPtr::via(S, 0), Rights::ALL),
    );
    c.expect(
        "S into T",
        cap_copy(CPtr::root(S), CPtr::via(T, 0), Rights::ALL),
        cycle,
    );
    c.expect(
        "S into T through S",
        cap_copy(CPtr::root(S), CPtr::via(S, 1), Rights::ALL),
        cycle,
    );
    c.ok("delete S", cap_delete(CPtr::root(S)));
    c.ok("delete T", cap_delete(CPtr::root(T)));
    // The root share holds a capability to itself in slot 1, and no more.
    c.expect(
        "root share copied into itself",
        cap_copy(ROOT_SHARE, CPtr::root(S), Rights::ALL),
        cycle,
    );
    // A shared share made in the image's shared share, reached from here
    // through an import, copied into itself (global space to global space).
    c.ok(
        "shared share in meet",
        share_create(CPtr::via(meet(), 0), true),
    );
    c.ok(
        "import it",
        cap_copy(CPtr::via(meet(), 0), CPtr::root(S), Rights::ALL),
    );
    c.expect(
        "shared share into itself",
        cap_copy(CPtr::via(meet(), 0), CPtr::via(S, 0), Rights::ALL),
        cycle,
    );
    c.ok("delete it from meet", cap_delete(CPtr::via(meet(), 0)));
    c.expect(
        "its import went with it",
        cap_info(CPtr::root(S)),
        Error::InvalidCapability,
    );
    // A shared share exported into itself from this core's space.
    c.ok("shared share", share_create(CPtr::root(S), true));
    c.expect(
        "exported into itself",
        cap_copy(CPtr::root(S), CPtr::via(S, 0), Rights::ALL),
        cycle,
    );
    c.ok("delete it", cap_delete(CPtr::root(S)));
}

/// Makes shares in `in_share` from slot `first` until the space is full;
/// how many.
fn fill_shares(c: &mut Checks, in_share: u8, first: u8, shared: bool) -> u32 {
    let mut n = 0;
    loop {
        match share_create(CPtr::via(in_share, first + n as u8), shared) {
            Ok(()) => n += 1,
            Err(Error::OutOfMemory) => return n,
            Err(e) => {
                c.check("share_create: unexpected error", false);
                println!("leaks: share_create: {:?}", e);
                return n;
            }
        }
    }
}

fn many_shares(c: &mut Checks) {
    for round in 0..2 {
        c.ok("outer share", share_create(CPtr::root(S), false));
        let private = fill_shares(c, S, 0, false);
        let shared = fill_shares(c, S, 32, true);
        println!(
            "leaks: round {}: {} private and {} shared shares in one, deleted at once",
            round, private, shared
        );
        c.check("room for more than 16 shares", private + shared > 16);
        c.ok("delete the outer share", cap_delete(CPtr::root(S)));
    }
}

/// Makes one-page segments in `in_share` until objects run out; how many.
fn fill_objects(c: &mut Checks, in_share: u8) -> u32 {
    let mut n = 0;
    while n < 64 {
        match segment_create(CPtr::via(in_share, n as u8), 1) {
            Ok(()) => n += 1,
            Err(Error::OutOfMemory) => return n,
            Err(e) => {
                c.check("segment_create: unexpected error", false);
                println!("leaks: segment_create: {:?}", e);
                return n;
            }
        }
    }
    c.check("object cells ran out within 64", false);
    n
}

fn limits(c: &mut Checks) {
    let mut counts = [0u32; 2];
    let mut shares = [(0u32, 0u32); 2];
    for round in 0..2 {
        c.ok("share for objects", share_create(CPtr::root(S), false));
        counts[round] = fill_objects(c, S);
        c.ok("delete it", cap_delete(CPtr::root(S)));
        c.ok("outer share", share_create(CPtr::root(S), false));
        shares[round] = (fill_shares(c, S, 0, false), fill_shares(c, S, 32, true));
        c.ok("delete it", cap_delete(CPtr::root(S)));
    }
    println!(
        "leaks: object cells: {} then {} segments; shares: {:?} then {:?}",
        counts[0], counts[1], shares[0], shares[1]
    );
    c.check(
        "freed object cells made room again",
        counts[0] == counts[1] && counts[0] > 0,
    );
    c.check("freed share slots made room again", shares[0] == shares[1]);
    c.check(
        "the root share is still there",
        cap_info(ROOT_SHARE).is_ok_and(|(k, _)| k == ObjectKind::Share),
    );
}
