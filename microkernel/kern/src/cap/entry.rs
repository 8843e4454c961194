//! Each capability call's own entry. vectors.s (`el0_svc`) indexes
//! `task::syscall`'s table with the call number and calls the call's
//! function here directly, with the frame as for `syscall_entry` (x0-x18
//! and x30; every exception masked). Each one does only its own work
//! inline: this core's capability state and the caller's root share (one
//! read of TPIDR_EL1), its arguments' decoding, the lookup of its first
//! capability (or the resolution of its first slot; for a root slot a task
//! may change, the body's first check of it: empty for a call that makes
//! an object, full for a removal); the operation's body runs out of line
//! with what was found, jumped to where it can be (the slot handed over
//! in registers, so that no frame of the entry stays below the body's).
//! So no call pays a large shared prologue, a second test of the number,
//! or a jump table, and the checks are the ones the body made before, in
//! the same order (decoding first, then the slot, then the rest).
//!
//! The mailbox: an error found here (decoding, the first lookup) comes
//! before the call changed or posted anything, so it returns at once, as
//! `CapInfo` does: a request another core posts brings its wake SGI,
//! taken as soon as the return to EL0 unmasks interrupts. Once the body
//! ran, this core's mailbox is tested as before (`task::after_cap_call`):
//! the body may have posted to this core itself (a `Signal` to a waiter
//! here, a removal's sweep), which sends no SGI.

use super::naming::{resolve_copy, root_cap_of, Named};
use super::object::SpaceId;
use super::ops::{check_slot, Spaces};
use super::{CoreCaps, Marks, CORE_CAPS};
use crate::arch::aarch64::exception::Frame;
use crate::task::{after_cap_call, check_caller_root, decode, Caller, Then};
use abi::{args, slots, CPtr, Error, ObjectKind, Rights};
use kerncore::cap::{Cap, ShareId, SlotRef};

/// This core's capability state and the calling task's root share (the
/// per-core block's copy, as `CapInfo` reads it).
#[inline(always)]
fn enter() -> (&'static mut CoreCaps, Option<ShareId>) {
    // Safety: a system call comes from a task, and a task runs on a core
    // only after it installed its per-core block.
    let (me, root) = unsafe { crate::percore::installed_id_and_caller_root() };
    check_caller_root(root);
    // Safety: a system call's handler runs with every exception masked
    // (vectors.s), and nothing in a capability call unmasks them; `me` is
    // this core's number, and the reference returned is the only one to
    // its capability state (the capability code never enters `CORE_CAPS`
    // itself: it is handed `c`), dropped before the call returns. The
    // state was made: the calling task's root share was made in it
    // (`ops::setup_root`; a task without one is never started).
    let c = unsafe { CORE_CAPS.get_made(me) };
    (c, root)
}

/// `CapInfo` ([`super::query`]), which changes nothing: no mailbox test
/// (it posts nothing), no restart, no removal.
pub extern "C" fn cap_info(frame: &mut Frame) -> Then {
    let (c, root) = enter();
    super::query(c, c.me, root, frame);
    Then::Return
}

/// An error found before the call changed anything: its status, and back
/// (nothing posted, so no mailbox test: the module doc says why).
#[inline(always)]
fn refused(frame: &mut Frame, e: Error) -> Then {
    frame.x[0] = e as u64;
    Then::Return
}

/// The body's result `r` as the call's status; then this core's mailbox
/// (out of line: one copy for every call, off the error paths).
#[inline(never)]
fn done(frame: &mut Frame, me: usize, r: Result<(), Error>) -> Then {
    frame.x[0] = match r {
        Ok(()) => 0,
        Err(e) => e as u64,
    };
    after_cap_call(me, false)
}

/// A call cut short at a preemption point (`Map`, `Unmap`,
/// `SegmentCreate`; `CapRevoke`'s is in `removal`): the registers stay
/// the call's arguments, and the task issues it again after the pending
/// interrupt; then this core's mailbox, as after any body.
#[inline(never)]
fn again(me: usize) -> Then {
    crate::arch::aarch64::restart_syscall();
    after_cap_call(me, false)
}

/// The arguments `A` and the capability in the caller's root slot that
/// `cptr` of them names, of `kind`, with the rights `need` of them
/// (`naming::root_cap`'s checks, in its order, after decoding).
#[inline(always)]
fn found<A: args::Args>(
    c: &CoreCaps,
    root: Option<ShareId>,
    frame: &Frame,
    cptr: impl FnOnce(&A) -> CPtr,
    kind: ObjectKind,
    need: impl FnOnce(&A) -> Rights,
) -> Result<(A, SlotRef, Cap), Error> {
    let a = decode::<A>(frame)?;
    let (slot, cap) = root_cap_of(c, root, cptr(&a).0, kind, need(&a))?;
    Ok((a, slot, cap))
}

/// A call whose first capability is a root slot of `kind` (`found`),
/// then `body` on it.
#[inline(always)]
fn by_cap<A: args::Args>(
    frame: &mut Frame,
    cptr: impl FnOnce(&A) -> CPtr,
    kind: ObjectKind,
    need: impl FnOnce(&A) -> Rights,
    body: impl FnOnce(&mut CoreCaps, Option<ShareId>, &mut Frame, A, SlotRef, Cap) -> Result<(), Error>,
) -> Then {
    let (c, root) = enter();
    match found(c, root, frame, cptr, kind, need) {
        Ok((a, slot, cap)) => {
            let me = c.me;
            let r = body(c, root, frame, a, slot, cap);
            done(frame, me, r)
        }
        Err(e) => refused(frame, e),
    }
}

/// The caller's root slot `cptr` names, if it names one a task may
/// change (below `SHARE_SLOTS`, not fixed) and the caller has a root
/// share: where a call's entry checks its slot inline. Any other pointer
/// goes the general way (`resolve_at`, `check_slot`), which gives its
/// errors in their order.
#[inline(always)]
fn changeable_root_slot(root: Option<ShareId>, cptr: CPtr) -> Option<SlotRef> {
    let root = root?;
    let free = (u64::from(slots::FIRST_GRANT)..u64::from(slots::SHARE_SLOTS)).contains(&cptr.0);
    free.then(|| SlotRef::new(root, cptr.0 as u32))
}

/// A call that makes an object into the slot `dst` of its arguments
/// (`ops::check_slot`'s checks: resolved for writing, not fixed, empty,
/// allowed for a `core_bound` object; a changeable root slot checked
/// inline, in the same order), then `body` there, which the entry jumps
/// to with the slot in registers (`Named::parts`): an error here returns
/// without a call.
#[inline(always)]
fn into_slot<A: args::Args>(
    frame: &mut Frame,
    dst: impl FnOnce(&A) -> (CPtr, bool),
    body: impl FnOnce(&mut CoreCaps, Option<ShareId>, A, Named) -> Result<(), Error>,
) -> Then {
    let (c, root) = enter();
    let place = decode::<A>(frame).and_then(|a| {
        let (dst, core_bound) = dst(&a);
        match changeable_root_slot(root, dst) {
            Some(slot) => {
                c.space.check_empty(c.me as u32, slot)?;
                Ok(Named {
                    space: SpaceId::Core(c.me),
                    slot,
                })
            }
            None => check_slot(c, root, dst, core_bound),
        }
    });
    match place {
        Ok(n) => {
            let (slot, global) = n.parts();
            made(frame, c, root, slot, global, body)
        }
        Err(e) => refused(frame, e),
    }
}

/// A creating call's body (`into_slot` found its place, `slot` in the
/// shared space if `global`), out of line, one copy per call (`body` is
/// its own closure type, which takes no register): its arguments decoded
/// again (they decoded in the entry: the registers are the same), then
/// `body`, then its status and the mailbox.
#[inline(never)]
fn made<A: args::Args>(
    frame: &mut Frame,
    c: &'static mut CoreCaps,
    root: Option<ShareId>,
    slot: SlotRef,
    global: bool,
    body: impl FnOnce(&mut CoreCaps, Option<ShareId>, A, Named) -> Result<(), Error>,
) -> Then {
    let me = c.me;
    let r = decode::<A>(frame).and_then(|a| body(c, root, a, Named::of(slot, global, me)));
    done(frame, me, r)
}

/// `CapDelete` or `CapRevoke`: its argument decoded, its slot resolved
/// for writing; a changeable root slot's capability looked up inline
/// (the first checks of the removal's body, `fixed` for `CapDelete` then
/// `CapSpace::lookup`, with their errors in their order), so that an
/// error there returns at once; then the removal (`removal`). One copy
/// for both calls (out of line, jumped to from each one's entry).
#[inline(never)]
fn removing(frame: &mut Frame, delete: bool) -> Then {
    let (c, root) = enter();
    let n = decode::<args::CapDelete>(frame).and_then(|a| match root {
        // A root slot (`resolve_at`'s inline case): the body's first
        // checks here. Any other pointer is tested only for this.
        Some(r) if a.at.0 < u64::from(slots::SHARE_SLOTS) => {
            let slot = SlotRef::new(r, a.at.0 as u32);
            if a.at.0 >= u64::from(slots::FIRST_GRANT) {
                c.space.lookup(c.me as u32, slot)?;
            } else if delete {
                // `ops::delete`'s `fixed`: a fixed root slot.
                return Err(Error::InvalidArgument);
            }
            Ok(Named {
                space: SpaceId::Core(c.me),
                slot,
            })
        }
        _ => super::naming::resolve_at(c, root, a.at.0, super::naming::Access::Write),
    });
    match n {
        Ok(n) => {
            let (slot, global) = n.parts();
            let op = if delete {
                super::ops::delete
            } else {
                super::ops::revoke
            };
            removal(frame, c, root, slot, global, op)
        }
        Err(e) => refused(frame, e),
    }
}

/// `CapDelete` or `CapRevoke` (`op`) of the slot its entry resolved
/// (`slot`, in the shared space if `global`); the removal's bookkeeping
/// in `ops::removal`. One body for both (out of line: neither is on a
/// hot path; `args::CapRevoke` has `args::CapDelete`'s one argument and
/// decodes alike).
#[inline(never)]
fn removal(
    frame: &mut Frame,
    c: &'static mut CoreCaps,
    root: Option<ShareId>,
    slot: SlotRef,
    global: bool,
    op: fn(&mut CoreCaps, &mut dyn Spaces, Named, &mut Marks) -> Result<(), Error>,
) -> Then {
    let me = c.me;
    let n = Named::of(slot, global, me);
    let (r, remote, cut) = super::ops::removal(c, &mut Caller::new(me, root), n, op);
    if cut {
        // A revoke cut short between pieces: issued again, with the
        // registers as they are, after the pending interrupt.
        crate::arch::aarch64::restart_syscall();
    } else {
        frame.x[0] = match r {
            Ok(()) => 0,
            Err(e) => e as u64,
        };
    }
    after_cap_call(me, remote)
}

/// `CapCopy`. A source in a root slot and a destination in a changeable
/// root slot (`changeable_root_slot`) are checked here, inline: both
/// resolve (the caller has a root share, both indexes are below
/// `SHARE_SLOTS`), the destination is not fixed, and then comes the
/// source's lookup, the next check in the documented order; an error
/// there returns at once. A source found is handed to the copy's body
/// (`ops::copy_in`, told it was found), which does not look it up again.
/// Any other pair goes the general way: both slots resolved
/// (`resolve_copy`, slot errors in their order), then `ops::copy`.
pub extern "C" fn cap_copy(frame: &mut Frame) -> Then {
    let (c, root) = enter();
    let a = match decode::<args::CapCopy>(frame) {
        Ok(a) => a,
        Err(e) => return refused(frame, e),
    };
    let me = c.me;
    let r = match changeable_root_slot(root, a.dst) {
        Some(d) if a.src.0 < u64::from(slots::SHARE_SLOTS) => {
            let s = SlotRef::new(d.share, a.src.0 as u32);
            if let Err(e) = c.space.lookup(me as u32, s) {
                return refused(frame, e);
            }
            let d = Named {
                space: SpaceId::Core(me),
                slot: d,
            };
            super::ops::copy_in(&mut c.space, me, s, &d, a.mask, true)
        }
        _ => match resolve_copy(c, root, a.src.0, a.dst.0) {
            Ok((s, d)) => super::ops::copy(c, root, s, d, a.mask),
            Err(e) => return refused(frame, e),
        },
    };
    done(frame, me, r)
}

pub extern "C" fn cap_delete(frame: &mut Frame) -> Then {
    removing(frame, true)
}

pub extern "C" fn cap_revoke(frame: &mut Frame) -> Then {
    removing(frame, false)
}

/// `SegmentCreate`: its destination is checked by `segment::create`
/// (again on each re-issue of a call cut short between pieces, which
/// leaves the registers as they were: `segment::create`'s doc). With no
/// call kept on this core (`segment::create`'s common case, where the
/// destination is checked first), a changeable root slot is checked
/// here first, inline, so that an error there returns without a call.
pub extern "C" fn segment_create(frame: &mut Frame) -> Then {
    let (c, root) = enter();
    let checked = decode::<args::SegmentCreate>(frame).and_then(|a| {
        match changeable_root_slot(root, a.dst) {
            Some(slot) if c.creating.none_kept() => c.space.check_empty(c.me as u32, slot),
            _ => Ok(()),
        }
    });
    match checked {
        Ok(()) => segment_create_body(frame, c, root),
        Err(e) => refused(frame, e),
    }
}

/// `SegmentCreate`'s body: its arguments decoded again (the registers
/// are the ones its entry decoded), then `segment::create`.
#[inline(never)]
fn segment_create_body(frame: &mut Frame, c: &'static mut CoreCaps, root: Option<ShareId>) -> Then {
    let me = c.me;
    match decode::<args::SegmentCreate>(frame).and_then(|a| super::segment::create(c, root, a)) {
        Ok(true) => again(me),
        r => done(frame, me, r.map(|_| ())),
    }
}

pub extern "C" fn range_create(frame: &mut Frame) -> Then {
    into_slot::<args::RangeCreate>(
        frame,
        |a| (a.dst, a.private),
        |c, _, a, n| super::memory::range_create(c, a, n),
    )
}

pub extern "C" fn share_create(frame: &mut Frame) -> Then {
    into_slot::<args::ShareCreate>(
        frame,
        |a| (a.dst, !a.shared),
        |c, root, a, n| super::ops::share_create(c, &mut Caller::new(c.me, root), a, n),
    )
}

pub extern "C" fn notify_create(frame: &mut Frame) -> Then {
    into_slot::<args::NotifyCreate>(
        frame,
        |a| (a.dst, false),
        |c, _, _, n| super::notify::create(c, n),
    )
}

pub extern "C" fn segment_info(frame: &mut Frame) -> Then {
    by_cap::<args::SegmentInfo>(
        frame,
        |a| a.segment,
        ObjectKind::Segment,
        |_| Rights::READ,
        |_, _, frame, a, _, cap| {
            let (pa, pages) = super::segment::info(cap, a.page)?;
            frame.x[1] = pa;
            frame.x[2] = pages;
            Ok(())
        },
    )
}

/// `Map`: a call cut short (`memory::map` gave `Ok(true)`) leaves the
/// registers as they were, the call's arguments, and is issued again
/// after the pending interrupt (`memory::map_in_chunks`).
pub extern "C" fn map(frame: &mut Frame) -> Then {
    let (c, root) = enter();
    let range = found::<args::Map>(
        c,
        root,
        frame,
        |a| a.range,
        ObjectKind::AddressRange,
        |a| super::memory::map_rights_on_range(a.rights),
    );
    match range {
        Ok((a, _, cap)) => {
            let me = c.me;
            match super::memory::map(c, &mut Caller::new(me, root), a, cap) {
                Ok(true) => again(me),
                r => done(frame, me, r.map(|_| ())),
            }
        }
        Err(e) => refused(frame, e),
    }
}

/// `Unmap`: cut short between pieces as `Map` is (`memory::unmap`).
pub extern "C" fn unmap(frame: &mut Frame) -> Then {
    let (c, root) = enter();
    let range = found::<args::Unmap>(
        c,
        root,
        frame,
        |a| a.range,
        ObjectKind::AddressRange,
        |_| Rights::WRITE,
    );
    match range {
        Ok((a, _, cap)) => {
            let me = c.me;
            match super::memory::unmap(c, &mut Caller::new(me, root), a, cap) {
                Ok(true) => again(me),
                r => done(frame, me, r.map(|_| ())),
            }
        }
        Err(e) => refused(frame, e),
    }
}

pub extern "C" fn link(frame: &mut Frame) -> Then {
    linking(frame, true)
}

pub extern "C" fn unlink(frame: &mut Frame) -> Then {
    linking(frame, false)
}

/// `Link` (`on`) or `Unlink`: one body for both (their arguments are the
/// same, `args::Link` and `args::Unlink` decode alike).
#[inline(never)]
fn linking(frame: &mut Frame, on: bool) -> Then {
    by_cap::<args::Link>(
        frame,
        |a| a.range,
        ObjectKind::AddressRange,
        |_| Rights::READ,
        |c, root, _, _, slot, cap| {
            super::memory::link(c, &mut Caller::new(c.me, root), (slot, cap), on)
        },
    )
}

pub extern "C" fn signal(frame: &mut Frame) -> Then {
    by_cap::<args::Signal>(
        frame,
        |a| a.at,
        ObjectKind::Notification,
        |_| Rights::WRITE,
        |_, _, _, a, _, cap| super::notify::signal(cap, a.bits),
    )
}

pub extern "C" fn interrupt_ack(frame: &mut Frame) -> Then {
    by_cap::<args::InterruptAck>(
        frame,
        |a| a.device,
        ObjectKind::Segment,
        |_| Rights::WRITE,
        |_, _, _, _, _, cap| super::interrupt::ack(cap),
    )
}
