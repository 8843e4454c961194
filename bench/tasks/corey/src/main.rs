//! Corey's evaluation (OSDI 2008, section 6), one task per core, all of
//! them in one boot: memclone, mempass and shares (each with a private and
//! a shared variant) and a Metis-style MapReduce word count. The cores
//! taking part are `0..core_count()`; the image lists cores 0..7, and the
//! kernel skips tasks on cores the machine does not have.
//!
//! Core 0 makes a 1 GiB shared address range and leaves its capability in
//! the image's shared share `meet`; every other core copies it into its
//! root share and links it. Every timed section starts when all cores are
//! ready and ends when all are done (`sync::Ctx::timed`); core 0 prints
//! one line per variant, which `cargo xtask bench` reads:
//!
//! ```text
//! RESULT name=memclone mode=private cores=4 ops=16384 ns=123 mib=16 locks=0 tlbi=0 ipis=0 pool=40
//! ```
//!
//! `ns` is virtual time (the counter), from before the start signals to
//! after the last core reported; under `-icount shift=0` that is the
//! instructions all cores executed. The events are those of the cores'
//! work (shared-lock acquisitions, broadcast TLB invalidations, IPIs sent,
//! global-pool takes), summed over the cores.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

mod mem;
mod shares;
mod sync;
mod wordcount;

use sync::{Ctx, DONE, MEET, SETUP};
use ulib::cap::*;
use ulib::{println, CPtr, Rights};

ulib::entry!(main);

pub const PAGE: u64 = 4096;
pub const RW: Rights = Rights::READ.union(Rights::WRITE);
/// The task's own address space.
pub const ROOT: CPtr = CPtr::root(ulib::slots::ROOT_RANGE);
/// The run-time shared range (1 GiB, one L2 table linked into every core).
pub const RANGE: CPtr = CPtr::root(16);
pub const SHARED_BASE: u64 = 0x1_0000_0000;
const SHARED_SIZE: u64 = 1 << 30;
/// The control page at the start of the shared range (`sync` uses it).
const CTL_SEG: CPtr = CPtr::root(17);

/// Core 0 makes the shared range and its control page; the others link it.
fn setup(c: &mut Ctx) {
    if c.core == 0 {
        c.must(
            "range create",
            range_create(RANGE, SHARED_BASE, SHARED_SIZE),
        );
        c.must("control segment", segment_create(CTL_SEG, 1));
        c.must(
            "map control page",
            map(RANGE, SHARED_BASE, CTL_SEG, 0, PAGE, RW),
        );
        c.must("link", link(RANGE));
        c.must(
            "range to meet",
            cap_copy(RANGE, CPtr::via(MEET, 0), Rights::ALL),
        );
        for i in 1..c.n {
            c.signal_go(i, SETUP);
        }
        c.wait_acks(DONE);
    } else {
        c.wait_go(SETUP);
        c.must("copy range", cap_copy(CPtr::via(MEET, 0), RANGE, RW));
        c.must("link", link(RANGE));
        c.ack(DONE);
    }
    c.ctl = SHARED_BASE;
}

fn main(start: ulib::Start) -> i32 {
    let n = core_count().min(8);
    let mut c = Ctx::new(start.core, n);
    if c.core >= n {
        return 0;
    }
    if c.core == 0 {
        println!("corey: {} cores", n);
    }
    setup(&mut c);
    mem::memclone(&mut c, false);
    mem::memclone(&mut c, true);
    mem::mempass(&mut c, false);
    mem::mempass(&mut c, true);
    shares::shares(&mut c, false);
    shares::shares(&mut c, true);
    wordcount::wordcount(&mut c);
    // Nobody unlinks the range while another core may still touch it.
    c.timed(|_| {}, |_| {});
    if c.core == 0 {
        println!("corey: done");
    }
    0
}
