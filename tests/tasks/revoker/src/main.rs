//! Revoke and unmap across cores. The owner (core 0) makes a segment and a
//! shared address range and puts capabilities to both in the image's
//! shared share `meet`; readers on cores 1-3 copy them into their root
//! shares, map the segment, link the range, and check what the owner
//! wrote. Core 1 passes its copy of the segment on through `meet` to core
//! 2, so core 2's copy is two cores away from the owner's. Then the owner
//! unmaps a page of the shared range and revokes the segment: once the
//! revoke returns, every reader finds its copy of the capability and its
//! mapping gone (core 2's removed by core 1's sweep, which the revoke
//! waits for too), and every core, the owner's included, faults on the
//! unmapped page.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use meeting::{ack, go, meet};
use ulib::cap::*;
use ulib::{println, slots, CPtr, Error, Rights};

ulib::entry!(main);

const ROOT: CPtr = CPtr::root(slots::ROOT_RANGE);
const SEG: CPtr = CPtr::root(10);
const RANGE: CPtr = CPtr::root(11);
const SEG2: CPtr = CPtr::root(12);
/// The slot of `meet` where core 1 passes its copy of the segment on.
const RELAYED: u8 = 2;
const PROBE: CPtr = CPtr::root(60);
const VA: u64 = 0x3000_0000;
const SHARED_BASE: u64 = 0x1_4000_0000;
const PAGE: u64 = 4096;
const READERS: u64 = 0b1110;
const P: u64 = 0x5345_474d_454e_5421;
const Q: u64 = 0x5241_4e47_4521_2121;
const RW: Rights = Rights::READ.union(Rights::WRITE);

fn read(va: u64) -> u64 {
    // Safety: callers read addresses they mapped (or, at the end, the page
    // whose fault is the point of the test).
    unsafe { (va as *const u64).read_volatile() }
}

fn write(va: u64, v: u64) {
    // Safety: callers write pages they mapped writable.
    unsafe { (va as *mut u64).write_volatile(v) }
}

/// Whether `va` is mapped, without touching it (mapping a page there is
/// refused with `Overlap` exactly when something is).
fn mapped(va: u64) -> bool {
    match map(ROOT, va, PROBE, 0, PAGE, Rights::READ) {
        Ok(()) => {
            let _ = unmap(ROOT, va, PAGE);
            false
        }
        Err(_) => true,
    }
}

fn must<T>(what: &str, r: Result<T, Error>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => {
            println!("revoker: FAIL {}: {:?}", what, e);
            ulib::exit(1)
        }
    }
}

/// Waits until every bit of `want` arrived on `n`.
fn wait_all(n: CPtr, want: u64) {
    must("wait", ulib::cap::wait_all(n, want));
}

fn owner() -> i32 {
    must("segment", segment_create(SEG, 1));
    must("map segment", map(ROOT, VA, SEG, 0, PAGE, RW));
    write(VA, P);
    must("shared range", range_create(RANGE, SHARED_BASE, 2 << 20));
    must("segment 2", segment_create(SEG2, 1));
    must(
        "map into shared range",
        map(RANGE, SHARED_BASE, SEG2, 0, PAGE, RW),
    );
    must("link", link(RANGE));
    write(SHARED_BASE, Q);
    must(
        "segment to meet",
        cap_copy(SEG, CPtr::via(meet(), 0), Rights::ALL),
    );
    must(
        "range to meet",
        cap_copy(RANGE, CPtr::via(meet(), 1), Rights::ALL),
    );
    // Core 1 first: core 2 copies the segment from core 1's relay.
    must("go", signal(go(1), 1));
    wait_all(ack(), 1 << 1);
    for r in 1..3 {
        must("go", signal(go(r + 1), 1));
    }
    wait_all(ack(), READERS & !(1 << 1));
    must("unmap shared page", unmap(RANGE, SHARED_BASE, PAGE));
    must("revoke", cap_revoke(SEG));
    let gone = |slot| cap_info(CPtr::via(meet(), slot)) == Err(Error::InvalidCapability);
    println!(
        "owner: unmapped the shared page and revoked the segment; copies in meet gone: {}",
        gone(0) && gone(RELAYED)
    );
    for r in 0..3 {
        must("go", signal(go(r + 1), 2));
    }
    wait_all(ack(), READERS);
    println!("owner: every reader lost the segment; touching the unmapped shared page");
    read(SHARED_BASE);
    println!("revoker: FAIL the owner still reads the unmapped shared page");
    1
}

fn reader(core: usize) -> i32 {
    let go = go(core);
    must("probe", segment_create(PROBE, 1));
    wait_all(go, 1);
    // Core 2 takes the copy core 1 passed on, the others the owner's.
    let from = if core == 2 { RELAYED } else { 0 };
    must(
        "copy segment",
        cap_copy(
            CPtr::via(meet(), from),
            SEG,
            Rights::READ.union(Rights::GRANT),
        ),
    );
    if core == 1 {
        must(
            "relay segment",
            cap_copy(
                SEG,
                CPtr::via(meet(), RELAYED),
                Rights::READ.union(Rights::GRANT),
            ),
        );
        println!("reader on core 1: passed my copy of the segment on to core 2");
    }
    must("map segment", map(ROOT, VA, SEG, 0, PAGE, Rights::READ));
    must("copy range", cap_copy(CPtr::via(meet(), 1), RANGE, RW));
    must("link", link(RANGE));
    let (p, q) = (read(VA), read(SHARED_BASE));
    if p != P || q != Q {
        println!(
            "revoker: FAIL reader on core {} read {:#x} {:#x}",
            core, p, q
        );
        return 1;
    }
    println!(
        "reader on core {}: saw the owner's segment and shared range",
        core
    );
    must("ack", signal(ack(), 1 << core));
    wait_all(go, 2);
    let cap_gone = cap_info(SEG) == Err(Error::InvalidCapability);
    let map_gone = !mapped(VA);
    if !(cap_gone && map_gone) {
        println!(
            "revoker: FAIL reader on core {}: capability gone {}, mapping gone {}",
            core, cap_gone, map_gone
        );
        return 1;
    }
    println!(
        "reader on core {}: revoke removed my copy and its mapping",
        core
    );
    must("ack", signal(ack(), 1 << core));
    read(SHARED_BASE);
    println!(
        "revoker: FAIL reader on core {} still reads the unmapped shared page",
        core
    );
    1
}

fn main(start: ulib::Start) -> i32 {
    if start.core == 0 {
        owner()
    } else {
        reader(start.core)
    }
}
