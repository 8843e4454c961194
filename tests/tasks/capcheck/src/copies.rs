//! `CapCopy` between root slots, which the kernel checks in the call's
//! entry (docs/measurements-dispatch.md, *Sixth round*): each error in
//! the documented order (decoding, a fixed destination, the source's
//! lookup, a full destination, a cycle), and a copy that works.

use super::{ROOT, RW, SEG};
use ulib::cap::*;
use ulib::checks::Checks;
use ulib::{CPtr, Error, ObjectKind, Rights, Syscall};

/// Two root slots nothing else uses.
const A: CPtr = CPtr::root(42);
const B: CPtr = CPtr::root(43);

pub fn root_copies(c: &mut Checks) {
    let all = Rights::ALL;
    let r = raw(Syscall::CapCopy, [SEG.0, A.0, 1 << 4, 0, 0, 0]);
    c.check(
        "root copy with an unknown mask bit is InvalidArgument",
        r == Error::InvalidArgument as u64,
    );
    c.expect(
        "root copy from an empty slot",
        cap_copy(A, B, all),
        Error::InvalidCapability,
    );
    c.expect(
        "root copy from an empty slot into a full one (the source first)",
        cap_copy(A, SEG, all),
        Error::InvalidCapability,
    );
    c.expect(
        "root copy from an empty slot into root slot 0 (fixed first)",
        cap_copy(A, ROOT, all),
        Error::SlotOccupied,
    );
    c.expect(
        "root copy into a full slot",
        cap_copy(SEG, SEG, all),
        Error::SlotOccupied,
    );
    c.expect(
        "root share's capability into the root share",
        cap_copy(CPtr::root(1), A, all),
        Error::ShareCycle,
    );
    c.ok("root copy with R", cap_copy(SEG, A, Rights::READ));
    c.check(
        "the root copy holds R only",
        cap_info(A) == Ok((ObjectKind::Segment, Rights::READ)),
    );
    c.ok("root copy of the copy", cap_copy(A, B, RW));
    c.check(
        "a copy never gains a right",
        cap_info(B) == Ok((ObjectKind::Segment, Rights::READ)),
    );
    c.ok("revoke the root copy", cap_revoke(A));
    c.expect(
        "the revoke took its copy",
        cap_info(B),
        Error::InvalidCapability,
    );
    c.ok("delete the root copy", cap_delete(A));
}
