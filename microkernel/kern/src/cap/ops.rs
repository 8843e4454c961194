//! The capability operations: copy, delete, revoke, making shares, a
//! task's root share. How a system call names a slot is in `naming.rs`,
//! what a removal implies in `remove.rs`.

pub use super::naming::{query, Spaces};
pub(super) use super::naming::{resolve_at, root_cap, Access, Named};

use super::object::{self, Obj, SpaceId};
use super::remove::{
    delete_in, delete_in_cold, destroy_share, finish, in_space, removed, revoke_in, revoke_whole,
};
use super::CoreCaps;
use super::{global, Export, Exports, Marks, Space, CORE_CAPS};
use crate::mm;
use abi::{args, slots, CPtr, Error, ObjectKind, Rights};
use kerncore::cap::{Cap, ObjRef, Owner, ShareId, Slot, SlotRef};

/// `CapDelete` or `CapRevoke` (`op`) of the slot `n` its entry resolved:
/// what it leaves (shares to destroy, spaces to sweep, cores to ask) is
/// finished here (by a revoke cut short too, for what its piece did); its
/// status, whether the caller must wait for other cores' sweeps, and
/// whether it was cut short (the call is to be issued again). Inlined
/// into its one caller (`entry::removal`).
#[inline(always)]
pub(super) fn removal(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    n: Named,
    op: fn(&mut CoreCaps, &mut dyn Spaces, Named, &mut Marks) -> Result<(), Error>,
) -> (Result<(), Error>, bool, bool) {
    let mut marks = Marks::new(c.me);
    let r = op(c, spaces, n, &mut marks);
    let remote = marks.marked && finish(c, spaces, &mut marks);
    (r, remote, marks.cut)
}

/// The root slots a task cannot change (`root`: the caller's root share).
#[inline(always)]
fn fixed(root: Option<ShareId>, n: &Named) -> bool {
    matches!(n.space, SpaceId::Core(_))
        && Some(n.slot.share) == root
        && n.slot.index < slots::FIRST_GRANT as u32
}

/// `CapCopy` from `s` to `d` (resolved by its entry, `resolve_copy`),
/// keeping only `mask`; `root` is the caller's root share. Inlined into
/// its one caller (`entry::cap_copy`, its general way).
#[inline(always)]
pub(super) fn copy(
    c: &mut CoreCaps,
    root: Option<ShareId>,
    s: Named,
    d: Named,
    mask: Rights,
) -> Result<(), Error> {
    if fixed(root, &d) {
        return Err(Error::SlotOccupied);
    }
    match (s.space, d.space) {
        (SpaceId::Core(_), SpaceId::Core(_)) => {
            copy_in(&mut c.space, c.me, s.slot, &d, mask, false)
        }
        (SpaceId::Global, SpaceId::Global) => {
            copy_in(&mut global().space, c.me, s.slot, &d, mask, false)
        }
        (SpaceId::Core(_), SpaceId::Global) => {
            let mut g = global();
            let g = &mut *g;
            export(&mut c.space, &mut c.exports, &mut g.space, s, d, mask)
        }
        (SpaceId::Global, SpaceId::Core(_)) => {
            let mut g = global();
            let g = &mut *g;
            export(&mut g.space, &mut g.exports, &mut c.space, s, d, mask)
        }
    }
}

/// Copies the capability in `s` to `d`, both in `space`: the source's
/// lookup unless the caller `found` it already (the entry of root slots,
/// `entry::cap_copy`: its checks are not made again), then the checks
/// after it (the space's own, in its order, then `ShareCycle` last), then
/// the copy, which cannot fail. One copy for both ways.
#[inline(never)]
pub(super) fn copy_in(
    space: &mut Space,
    me: usize,
    s: SlotRef,
    d: &Named,
    mask: Rights,
    found: bool,
) -> Result<(), Error> {
    if !found {
        space.lookup(me as u32, s)?;
    }
    let plan = space.plan_copy_found(me as u32, s, d.slot)?;
    if closes_cycle(plan.space(), d.space, plan.source(), d.slot.share) {
        return Err(Error::ShareCycle);
    }
    let cap = plan.commit(mask);
    object::retain(cap.obj.id);
    super::family_grew(cap.extra);
    Ok(())
}

/// Whether putting `cap` into share `dst` of `space` (whose id is `sid`)
/// closes a cycle: `cap` names a share of the same space from which `dst`
/// is reachable (itself included) through the share capabilities in it.
/// A share in such a cycle keeps itself alive once every capability from
/// outside is gone, and nothing could ever reach it again to delete it:
/// its objects and frames would leak. A cycle cannot cross spaces: a
/// shared share never holds a capability to a private one (`NotOwner`),
/// and one core's private shares never hold another core's. O(shares ×
/// slots), paid only by copies of share capabilities.
#[inline(always)]
fn closes_cycle(space: &Space, sid: SpaceId, cap: Cap, dst: ShareId) -> bool {
    cap.obj.kind == ObjectKind::Share && reaches(space, sid, cap, dst)
}

/// The walk of [`closes_cycle`], out of line: most copies are not of
/// shares and never get here.
#[inline(never)]
fn reaches(space: &Space, sid: SpaceId, cap: Cap, dst: ShareId) -> bool {
    let me = crate::percore::id() as u32;
    let share_of = |cap: Cap| {
        if cap.obj.kind != ObjectKind::Share {
            return None;
        }
        match object::get(cap.obj.id) {
            Some(Obj::Share { space, id }) if *space == sid => Some(*id),
            _ => None,
        }
    };
    let Some(start) = share_of(cap) else {
        return false;
    };
    let bit = |id: ShareId| 1u64 << (id.0 as u64 % 64);
    let (mut seen, mut todo) = (bit(start), bit(start));
    while todo != 0 {
        let id = ShareId(todo.trailing_zeros());
        todo &= !bit(id);
        if id == dst {
            return true;
        }
        let Ok(n) = space.capacity(id) else { continue };
        for index in 0..n {
            if let Some(next) = space
                .lookup(me, SlotRef::new(id, index))
                .ok()
                .and_then(share_of)
            {
                if seen & bit(next) == 0 {
                    seen |= bit(next);
                    todo |= bit(next);
                }
            }
        }
    }
    false
}

/// Copies `s` into another space as the root of a new import family.
fn export(
    from: &mut Space,
    exports: &mut Exports,
    to: &mut Space,
    s: Named,
    d: Named,
    mask: Rights,
) -> Result<(), Error> {
    let me = crate::percore::id() as u32;
    let cap = from.lookup(me, s.slot)?;
    if to.lookup(me, d.slot).is_ok() {
        return Err(Error::SlotOccupied);
    }
    to.capacity(d.slot.share)?;
    if !cap.rights.contains(Rights::GRANT) {
        return Err(Error::MissingRights);
    }
    if let Some(
        Obj::Share {
            space: SpaceId::Core(_),
            ..
        }
        | Obj::Range { home: Some(_), .. },
    ) = object::get(cap.obj.id)
    {
        // A private share or range is only ever reached from its own core.
        return Err(Error::NotOwner);
    }
    if closes_cycle(to, d.space, cap, d.slot.share) {
        return Err(Error::ShareCycle);
    }
    let index = exports
        .add(Export {
            live: true,
            src: s.slot,
            dst: d.space,
        })
        .ok_or(Error::OutOfMemory)?;
    let new = Cap {
        obj: cap.obj,
        rights: cap.rights.intersect(mask),
        extra: super::GENS.extra(index),
    };
    if let Err(e) = to.insert_original(me, d.slot, new) {
        exports.remove(index);
        return Err(e);
    }
    super::GENS.born(index);
    object::retain(cap.obj.id);
    Ok(())
}

/// `CapRevoke` of `n` (resolved for writing by its entry); `marks.cut`
/// when cut short at a preemption point between descendants.
pub(super) fn revoke(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    n: Named,
    marks: &mut Marks,
) -> Result<(), Error> {
    in_space(c, n.space, |space, exports, maps| {
        revoke_in(space, exports, maps, n.slot, spaces, marks, true)
    })
}

/// `CapDelete` of `n` (resolved for writing by its entry).
pub(super) fn delete(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    n: Named,
    marks: &mut Marks,
) -> Result<(), Error> {
    if fixed(spaces.root_share(), &n) {
        return Err(Error::InvalidArgument);
    }
    in_space(c, n.space, |space, exports, maps| {
        let r = delete_in(space, exports, n.slot, marks)?;
        removed(r, exports, maps, spaces, marks);
        Ok::<(), Error>(())
    })?;
    Ok(())
}

/// A fresh share of 64 slots (one frame) in `space`.
fn new_share(c: &mut CoreCaps, space: SpaceId) -> Result<ShareId, Error> {
    let me = crate::percore::id();
    let pa = mm::frame_alloc_zeroed().ok_or(Error::OutOfMemory)?;
    let ptr = mm::phys_to_virt(pa) as *mut Slot;
    // Safety: a fresh frame of our own, 4 KiB = 64 slots of 64 bytes,
    // aligned to a page, reached only through this slice from now on.
    let slots = unsafe {
        ptr.write_bytes(0, slots::SHARE_SLOTS as usize);
        core::slice::from_raw_parts_mut(ptr, slots::SHARE_SLOTS as usize)
    };
    let made = match space {
        SpaceId::Core(_) => c.space.create_share(Owner::Core(me as u32), slots),
        SpaceId::Global => global().space.create_share(Owner::Shared, slots),
    };
    made.inspect_err(|_| mm::frame_free(pa))
}

/// Where a new object's original capability goes, checked before anything
/// is made (seL4's decode before invoke): the slot resolves for writing
/// (slot errors), is not a fixed root slot and is empty (`SlotOccupied`),
/// and may hold this object (a `core_bound` one, a private range or
/// share, never goes in a shared share: `NotOwner`). Each creating call's
/// entry (`entry.rs`) checks this first; the call then checks that this
/// core has a free object cell ([`check_room`], `OutOfMemory`), after its
/// own arguments where it has any (an argument error before
/// `OutOfMemory`). After both, [`install`] fails only if another core
/// fills the same slot of a shared share first. `root` is the caller's
/// root share. Out of line: one copy for the four calls that make objects.
#[inline(never)]
pub(super) fn check_slot(
    c: &mut CoreCaps,
    root: Option<ShareId>,
    dst: CPtr,
    core_bound: bool,
) -> Result<Named, Error> {
    let me = c.me;
    let n = resolve_at(c, root, dst.0, Access::Write)?;
    if fixed(root, &n) {
        return Err(Error::SlotOccupied);
    }
    match n.space {
        SpaceId::Core(_) => c.space.check_empty(me as u32, n.slot)?,
        SpaceId::Global => check_global_slot(me, n.slot, core_bound)?,
    }
    Ok(n)
}

/// [`check_slot`] for a slot of a shared share (out of line: it takes the
/// global space's lock, and most objects are made in private slots).
#[inline(never)]
fn check_global_slot(me: usize, slot: SlotRef, core_bound: bool) -> Result<(), Error> {
    if core_bound {
        return Err(Error::NotOwner);
    }
    global().space.check_empty(me as u32, slot)
}

/// This core has an object cell free: `OutOfMemory` otherwise.
pub(super) fn check_room() -> Result<(), Error> {
    if object::has_room(Some(crate::percore::id())) {
        Ok(())
    } else {
        Err(Error::OutOfMemory)
    }
}

/// Makes the object `obj` (homed on this core) and puts its original
/// capability with `rights` in `n`, a place [`check_place`] accepted.
/// An error (only a race for a slot of a shared share) hands `obj` back
/// for the caller to destroy.
pub(super) fn install(
    c: &mut CoreCaps,
    n: Named,
    obj: Obj,
    rights: Rights,
) -> Result<(), (Error, Obj)> {
    let me = crate::percore::id();
    let kind = obj.kind();
    let id = object::create(Some(me), obj)?;
    let cap = Cap {
        obj: ObjRef { kind, id },
        rights,
        extra: 0,
    };
    let r = match n.space {
        SpaceId::Core(_) => c.space.insert_original(me as u32, n.slot, cap),
        SpaceId::Global => global().space.insert_original(me as u32, n.slot, cap),
    };
    r.map_err(|e| {
        let obj = object::release(id).expect("only capability");
        (e, obj)
    })
}

/// `ShareCreate` into `n` ([`check_slot`] passed).
#[inline(never)]
pub(super) fn share_create(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    a: args::ShareCreate,
    n: Named,
) -> Result<(), Error> {
    let space = if a.shared {
        SpaceId::Global
    } else {
        SpaceId::Core(crate::percore::id())
    };
    check_room()?;
    let room = match space {
        SpaceId::Core(_) => c.space.has_free_share(),
        SpaceId::Global => global().space.has_free_share(),
    };
    if !room {
        return Err(Error::OutOfMemory);
    }
    let id = new_share(c, space)?;
    let all = Rights::ALL;
    install(c, n, Obj::Share { space, id }, all).map_err(|(e, _)| {
        let mut marks = Marks::new(crate::percore::id());
        destroy_share(c, spaces, space, id, &mut marks);
        e
    })
}

/// A new task's root share: slot 0 names its address space (`root_range`,
/// an `Obj::Root`) with READ, WRITE and EXECUTE (a task may map executable
/// segments into its own space), slot 1 the share itself with READ and
/// WRITE; neither can be granted. Its two object cells are checked
/// before the share is made, so a failure (`OutOfMemory`: no cells, no
/// share id, no frame) leaves nothing behind.
pub fn setup_root(slot: usize) -> Result<ShareId, Error> {
    let me = crate::percore::id();
    if object::free_cells(Some(me), 2) < 2 {
        return Err(Error::OutOfMemory);
    }
    CORE_CAPS.with(|c| {
        let id = new_share(c, SpaceId::Core(me))?;
        let rw = Rights::READ.union(Rights::WRITE);
        let objs = [
            (
                slots::ROOT_RANGE,
                Obj::Root { core: me, slot },
                rw.union(Rights::EXECUTE),
            ),
            (
                slots::ROOT_SHARE,
                Obj::Share {
                    space: SpaceId::Core(me),
                    id,
                },
                rw,
            ),
        ];
        for (at, obj, rights) in objs {
            let kind = obj.kind();
            let oid = object::create(Some(me), obj).map_err(|(e, _)| e)?;
            let cap = Cap {
                obj: ObjRef { kind, id: oid },
                rights,
                extra: 0,
            };
            c.space
                .insert_original(me as u32, SlotRef::new(id, at as u32), cap)?;
        }
        Ok(id)
    })
}

/// A task is gone: every capability in its root share is removed (undoing
/// its mappings, killing its exports), and the share with it. Its address
/// space must still exist.
pub fn retire_root(root: ShareId, spaces: &mut dyn Spaces) {
    let me = crate::percore::id();
    CORE_CAPS.with(|c| {
        c.creating.task_ended(root);
        let mut marks = Marks::new(me);
        let order = (slots::FIRST_GRANT as u32..slots::SHARE_SLOTS as u32)
            .chain([slots::ROOT_RANGE as u32, slots::ROOT_SHARE as u32]);
        for index in order {
            let at = SlotRef::new(root, index);
            if c.space.lookup(me as u32, at).is_err() {
                continue;
            }
            in_space(c, SpaceId::Core(me), |space, exports, mut maps| {
                revoke_whole(space, exports, maps.as_deref_mut(), at, spaces, &mut marks);
                if let Ok(r) = delete_in_cold(space, exports, at, &mut marks) {
                    removed(r, exports, maps, spaces, &mut marks);
                }
            });
        }
        finish(c, spaces, &mut marks);
    });
}
