//! shares: each core adds a capability to a share (a copy) and removes it
//! (a delete), `ROUNDS` times, as Corey's shares benchmark adds and removes
//! a capability. `private`: the copy goes from the root share into a share
//! private to the core (made with `ShareCreate`; no lock); `shared`: from
//! slot `8 + core` of the image's one global shared share `global` into
//! slot `core` of it (every operation takes the global space's lock). Both
//! copy within one capability space, so neither pays for an export between
//! spaces. One op = one add + remove, two calls, the same work as the
//! Linux peer's `dup()` + `close()`: `dup` looks its source descriptor up
//! and fills a new one, as `CapCopy` looks its source capability up and
//! fills a slot; `close` empties it, as `CapDelete` does. (A lookup alone,
//! `CapInfo`, is the micro-benchmark `cap-lookup-private`.)

use crate::sync::{global, Ctx, Events};
use ulib::cap::*;
use ulib::{println, CPtr, Rights};

const ROUNDS: u64 = 20_000;
const SEG: CPtr = CPtr::root(22);
const PRIVATE: u8 = 23;

pub fn shares(c: &mut Ctx, shared: bool) {
    c.must("shares segment", segment_create(SEG, 1));
    let source = CPtr::via(global(), 8 + c.core as u8);
    let (from, slot) = if shared {
        c.must("into global", cap_copy(SEG, source, Rights::ALL));
        (source, CPtr::via(global(), c.core as u8))
    } else {
        c.must("private share", share_create(CPtr::root(PRIVATE), false));
        (SEG, CPtr::via(PRIVATE, 0))
    };
    let (ns, ev) = c.timed(
        |c| {
            for _ in 0..ROUNDS {
                c.must("add", cap_copy(from, slot, Rights::ALL));
                c.must("remove", cap_delete(slot));
            }
        },
        |_| {},
    );
    if shared {
        c.must("out of global", cap_delete(source));
    } else {
        c.must("delete private share", cap_delete(CPtr::root(PRIVATE)));
    }
    c.must("delete segment", cap_delete(SEG));
    if c.core == 0 {
        println!(
            "RESULT name=shares mode={} cores={} ops={} ns={} rounds={} {}",
            if shared { "shared" } else { "private" },
            c.n,
            c.n as u64 * ROUNDS,
            ns,
            ROUNDS,
            Events(ev)
        );
    }
}
