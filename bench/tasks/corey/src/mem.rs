//! memclone and mempass: page-sized writes to fresh memory, in private
//! address ranges and in the one shared range.
//!
//! - memclone: each core makes its own 16 MiB segment, maps it (one `Map`
//!   of the whole segment, which builds every page-table entry), writes one
//!   byte in each page, unmaps it and deletes the segment. `private` maps
//!   it into the task's own address space (per-core page tables, local TLB
//!   invalidation, no lock another core takes); `shared` into the shared
//!   range at a per-core offset (one table and its lock, broadcast TLB
//!   invalidation). One op = one page made present and written.
//! - mempass: one 16 MiB segment, made before the timed section, is handed
//!   from core to core (a token on the next core's notification); each
//!   writes every page. `shared`: core 0 maps it once into the shared
//!   range and every core finds it mapped; `private`: every core maps it
//!   into its own address space (and unmaps it after the timed section, as
//!   the Linux peer's processes do when they exit). One op = one page
//!   written.

use crate::sync::{Ctx, Events, MEET, TOKEN};
use crate::{PAGE, RANGE, ROOT, RW, SHARED_BASE};
use ulib::cap::*;
use ulib::{println, CPtr, Rights};

const MIB: u64 = 16;
const BYTES: u64 = MIB << 20;
const PAGES: u64 = BYTES / PAGE;
const SEG: CPtr = CPtr::root(20);
const BUF: CPtr = CPtr::root(21);
const MEMCLONE_PRIVATE: u64 = 0x1000_0000;
const MEMCLONE_SHARED: u64 = SHARED_BASE + (128 << 20);
const MEMPASS_PRIVATE: u64 = 0x2000_0000;
const MEMPASS_SHARED: u64 = SHARED_BASE + (64 << 20);
/// mempass's segment in the shared share `meet`.
const MEET_BUF: u8 = 1;

fn touch(va: u64, value: u8) {
    for p in 0..PAGES {
        // Safety: callers map `BYTES` writable at `va` first.
        unsafe { ((va + p * PAGE) as *mut u8).write_volatile(value) };
    }
}

fn variant(shared: bool) -> &'static str {
    if shared {
        "shared"
    } else {
        "private"
    }
}

pub fn memclone(c: &mut Ctx, shared: bool) {
    let (range, va) = if shared {
        (RANGE, MEMCLONE_SHARED + c.core as u64 * BYTES)
    } else {
        (ROOT, MEMCLONE_PRIVATE)
    };
    let value = c.core as u8 + 1;
    let (ns, ev) = c.timed(
        |c| {
            c.must("memclone segment", segment_create(SEG, PAGES));
            c.must("memclone map", map(range, va, SEG, 0, BYTES, RW));
            touch(va, value);
            c.must("memclone unmap", unmap(range, va, BYTES));
            c.must("memclone delete", cap_delete(SEG));
        },
        |_| {},
    );
    if c.core == 0 {
        println!(
            "RESULT name=memclone mode={} cores={} ops={} ns={} mib={} {}",
            variant(shared),
            c.n,
            c.n as u64 * PAGES,
            ns,
            MIB,
            Events(ev)
        );
    }
}

pub fn mempass(c: &mut Ctx, shared: bool) {
    // Untimed: the buffer exists and every core holds a capability to it.
    if c.core == 0 {
        c.must("mempass segment", segment_create(BUF, PAGES));
        c.must(
            "mempass to meet",
            cap_copy(BUF, CPtr::via(MEET, MEET_BUF), Rights::ALL),
        );
    }
    c.step();
    if c.core != 0 {
        c.must("mempass copy", cap_copy(CPtr::via(MEET, MEET_BUF), BUF, RW));
    }
    let va = if shared {
        MEMPASS_SHARED
    } else {
        MEMPASS_PRIVATE
    };
    let (core, n) = (c.core, c.n);
    let (ns, ev) = c.timed(
        |c| {
            if core > 0 {
                c.wait_go(TOKEN);
            }
            if !shared {
                c.must("mempass map", map(ROOT, va, BUF, 0, BYTES, RW));
            } else if core == 0 {
                c.must("mempass map", map(RANGE, va, BUF, 0, BYTES, RW));
            }
            touch(va, core as u8 + 1);
            if core + 1 < n {
                c.signal_go(core + 1, TOKEN);
            }
        },
        |_| {},
    );
    // A worker's copy came from the one in `meet`: deleting that kills
    // the copies made from it, so the workers delete theirs first.
    if core != 0 {
        if !shared {
            c.must("mempass unmap", unmap(ROOT, va, BYTES));
        }
        c.must("mempass delete", cap_delete(BUF));
    }
    c.step();
    if core == 0 {
        for p in 0..PAGES {
            // Safety: mapped above (by this core, or in the shared range).
            let v = unsafe { ((va + p * PAGE) as *const u8).read_volatile() };
            if v != n as u8 {
                println!("corey: FAIL mempass: page {} holds {}, not {}", p, v, n);
                c.fail("mempass check", ulib::Error::InvalidArgument);
            }
        }
        let range = if shared { RANGE } else { ROOT };
        c.must("mempass unmap", unmap(range, va, BYTES));
        c.must("mempass meet", cap_delete(CPtr::via(MEET, MEET_BUF)));
        c.must("mempass delete", cap_delete(BUF));
        println!(
            "RESULT name=mempass mode={} cores={} ops={} ns={} mib={} {}",
            variant(shared),
            n,
            n as u64 * PAGES,
            ns,
            MIB,
            Events(ev)
        );
    }
}
