//! Naming slots from system calls, and the capability operations: copy,
//! delete, revoke, and the removal of a capability with all it implies.

use super::mapping::Maps;
use super::object::{self, Obj, SpaceId};
use super::{global, Export, Exports, GlobalCaps, Marks, Space, CORE_CAPS, SWEEP_DONE};
use super::{is_dead_import, CoreCaps, SWEEP_POSTED};
use crate::arch::aarch64::exception::Frame;
use crate::mm;
use crate::uspace::UserSpace;
use abi::{slots, CPtr, Error, ObjectKind, Rights, Syscall};
use core::sync::atomic::Ordering::SeqCst;
use kerncore::cap::{Cap, ObjRef, Owner, Removed, ShareId, Slot, SlotRef};

/// The task side the capability code needs: the calling task's root share,
/// and any task's address space on this core (to undo mappings).
pub trait Spaces {
    /// The calling task's root share.
    fn root_share(&self) -> Option<ShareId>;
    /// The address space of this core's task in `slot`.
    fn root(&mut self, slot: usize) -> Option<&mut UserSpace>;
}

/// A slot a system call named.
#[derive(Clone, Copy, Debug)]
pub(super) struct Named {
    pub space: SpaceId,
    pub slot: SlotRef,
}

/// Which right on the share a slot is reached through the operation needs.
#[derive(Clone, Copy)]
pub(super) enum Access {
    /// Read the slot (look up, copy from).
    Read,
    /// Change the slot (insert, delete, revoke).
    Write,
}

/// Resolves `cptr` for the calling task on this core.
pub(super) fn resolve(
    c: &mut CoreCaps,
    spaces: &dyn Spaces,
    cptr: u64,
    access: Access,
) -> Result<Named, Error> {
    let me = crate::percore::id();
    let root = spaces.root_share().ok_or(Error::InvalidCapability)?;
    let (via, index) = CPtr(cptr).decode()?;
    if index >= slots::SHARE_SLOTS {
        return Err(Error::InvalidCapability);
    }
    let Some(via) = via else {
        return Ok(Named {
            space: SpaceId::Core(me),
            slot: SlotRef::new(root, index as u32),
        });
    };
    let need = match access {
        Access::Read => Rights::READ,
        Access::Write => Rights::WRITE,
    };
    let share = c.space.lookup_kind(
        me as u32,
        SlotRef::new(root, via as u32),
        ObjectKind::Share,
        need,
    )?;
    match object::get(share.obj.id) {
        Some(Obj::Share { space, id }) => {
            if matches!(space, SpaceId::Core(n) if *n != me) {
                return Err(Error::NotOwner);
            }
            Ok(Named {
                space: *space,
                slot: SlotRef::new(*id, index as u32),
            })
        }
        _ => Err(Error::InvalidCapability),
    }
}

/// The capability in a slot of the caller's root share, with its kind and
/// rights checked: what every operation that uses an object needs.
pub(super) fn root_cap(
    c: &CoreCaps,
    spaces: &dyn Spaces,
    cptr: u64,
    kind: ObjectKind,
    needed: Rights,
) -> Result<(SlotRef, Cap), Error> {
    let me = crate::percore::id() as u32;
    let root = spaces.root_share().ok_or(Error::InvalidCapability)?;
    let (via, index) = CPtr(cptr).decode()?;
    if via.is_some() {
        // Objects are used through the root share only: a shared share is
        // a meeting point, copied from, not worked in.
        return Err(Error::InvalidArgument);
    }
    if index >= slots::SHARE_SLOTS {
        return Err(Error::InvalidCapability);
    }
    let at = SlotRef::new(root, index as u32);
    Ok((at, c.space.lookup_kind(me, at, kind, needed)?))
}

/// The capability-table system calls. `None`: not one of them; otherwise
/// whether other cores were asked to sweep (the caller waits for them).
pub fn syscall(call: Syscall, frame: &mut Frame, spaces: &mut dyn Spaces) -> Option<bool> {
    let a = &frame.x;
    let mut out = (0, 0);
    let me = crate::percore::id();
    let (r, remote) = CORE_CAPS.with(|c| {
        let mut marks = Marks::new(me);
        let r = match call {
            Syscall::CapInfo => info(c, spaces, a[0]).map(|v| out = v),
            Syscall::CapCopy => copy(c, spaces, a[0], a[1], a[2], &mut marks),
            Syscall::CapDelete => delete(c, spaces, a[0], &mut marks),
            Syscall::CapRevoke => revoke(c, spaces, a[0], &mut marks),
            Syscall::SegmentCreate => super::memory::segment_create(c, spaces, a[0], a[1], a[2]),
            Syscall::SegmentInfo => {
                super::memory::segment_info(c, spaces, a[0], a[1]).map(|v| out = v)
            }
            Syscall::RangeCreate => super::memory::range_create(c, spaces, a[0], a[1], a[2]),
            Syscall::Map => super::memory::map(c, spaces, a),
            Syscall::Unmap => super::memory::unmap(c, spaces, a[0], a[1], a[2]),
            Syscall::Link => super::memory::link(c, spaces, a[0], true),
            Syscall::Unlink => super::memory::link(c, spaces, a[0], false),
            Syscall::ShareCreate => share_create(c, spaces, a[0], a[1]),
            Syscall::NotifyCreate => super::notify::create(c, spaces, a[0]),
            Syscall::Signal => super::notify::signal(c, spaces, a[0], a[1]),
            _ => return None,
        };
        let remote = marks.remote != 0;
        if marks.busy() || remote {
            finish(c, spaces, &mut marks);
        }
        Some((r, remote))
    })?;
    frame.x[0] = match r {
        Ok(()) => 0,
        Err(e) => e as u64,
    };
    if matches!(call, Syscall::CapInfo | Syscall::SegmentInfo) && r.is_ok() {
        frame.x[1] = out.0;
        frame.x[2] = out.1;
    }
    Some(remote)
}

fn info(c: &mut CoreCaps, spaces: &dyn Spaces, cptr: u64) -> Result<(u64, u64), Error> {
    let me = crate::percore::id() as u32;
    let n = resolve(c, spaces, cptr, Access::Read)?;
    let cap = match n.space {
        SpaceId::Global => global().space.lookup(me, n.slot)?,
        SpaceId::Core(_) => c.space.lookup(me, n.slot)?,
    };
    Ok((cap.obj.kind as u64, cap.rights.bits() as u64))
}

/// The root slots a task cannot change.
fn fixed(spaces: &dyn Spaces, n: &Named) -> bool {
    matches!(n.space, SpaceId::Core(_))
        && Some(n.slot.share) == spaces.root_share()
        && n.slot.index < slots::FIRST_GRANT as u32
}

fn copy(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    src: u64,
    dst: u64,
    mask: u64,
    marks: &mut Marks,
) -> Result<(), Error> {
    let me = crate::percore::id() as u32;
    let mask = Rights::from_bits(mask)?;
    let s = resolve(c, spaces, src, Access::Read)?;
    let d = resolve(c, spaces, dst, Access::Write)?;
    if fixed(spaces, &d) {
        return Err(Error::SlotOccupied);
    }
    let _ = marks;
    match (s.space, d.space) {
        (SpaceId::Core(_), SpaceId::Core(_)) => {
            let cap = c.space.copy(me, s.slot, d.slot, mask)?;
            object::retain(cap.obj.id);
            super::family_grew(cap.extra);
            Ok(())
        }
        (SpaceId::Global, SpaceId::Global) => {
            let cap = global().space.copy(me, s.slot, d.slot, mask)?;
            object::retain(cap.obj.id);
            super::family_grew(cap.extra);
            Ok(())
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
    if let Some(Obj::Share {
        space: SpaceId::Core(_),
        ..
    }) = object::get(cap.obj.id)
    {
        // A private share is only ever reached from its own core.
        return Err(Error::NotOwner);
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
        extra: super::export_extra(index),
    };
    if let Err(e) = to.insert_original(me, d.slot, new) {
        exports.remove(index);
        return Err(e);
    }
    super::EXPORT_LIVE[index].store(1, SeqCst);
    object::retain(cap.obj.id);
    Ok(())
}

fn delete(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    at: u64,
    marks: &mut Marks,
) -> Result<(), Error> {
    let n = resolve(c, spaces, at, Access::Write)?;
    if fixed(spaces, &n) {
        return Err(Error::InvalidArgument);
    }
    match n.space {
        SpaceId::Core(_) => {
            let CoreCaps {
                space,
                exports,
                maps,
            } = c;
            let r = delete_in(space, exports, n.slot, marks)?;
            removed(n.space, r, exports, Some(maps), spaces, marks);
        }
        SpaceId::Global => {
            let mut g = global();
            let GlobalCaps { space, exports } = &mut *g;
            let r = delete_in(space, exports, n.slot, marks)?;
            removed(n.space, r, exports, None, spaces, marks);
        }
    }
    Ok(())
}

/// Deletes the capability in `at` of `space`; its exports go to its parent
/// (as its children do), or are killed when it has none.
fn delete_in(
    space: &mut Space,
    exports: &mut Exports,
    at: SlotRef,
    marks: &mut Marks,
) -> Result<Removed, Error> {
    let parent = space.parent(at);
    let r = space.delete(crate::percore::id() as u32, at)?;
    match parent {
        Some(p) => exports.reparent(at, p),
        None => exports.kill_from(at, marks),
    }
    Ok(r)
}

fn revoke(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    at: u64,
    marks: &mut Marks,
) -> Result<(), Error> {
    let n = resolve(c, spaces, at, Access::Write)?;
    match n.space {
        SpaceId::Core(_) => revoke_in_core(c, spaces, n.slot, marks),
        SpaceId::Global => {
            let mut g = global();
            revoke_in_global(&mut g, spaces, n.slot, marks)
        }
    }
}

fn revoke_in_core(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    at: SlotRef,
    marks: &mut Marks,
) -> Result<(), Error> {
    let me = crate::percore::id();
    let CoreCaps {
        space,
        exports,
        maps,
    } = c;
    space.revoke(me as u32, at, |r| {
        removed(SpaceId::Core(me), r, exports, Some(maps), spaces, marks)
    })?;
    exports.kill_from(at, marks);
    Ok(())
}

fn revoke_in_global(
    g: &mut GlobalCaps,
    spaces: &mut dyn Spaces,
    at: SlotRef,
    marks: &mut Marks,
) -> Result<(), Error> {
    let me = crate::percore::id() as u32;
    let GlobalCaps { space, exports } = g;
    space.revoke(me, at, |r| {
        removed(SpaceId::Global, r, exports, None, spaces, marks)
    })?;
    exports.kill_from(at, marks);
    Ok(())
}

/// A capability left space `space`: undo its mappings, kill its exports,
/// count it off its object and destroy the object if it was the last.
fn removed(
    space: SpaceId,
    r: Removed,
    exports: &mut Exports,
    maps: Option<&mut Maps>,
    spaces: &mut dyn Spaces,
    marks: &mut Marks,
) {
    if let Some(maps) = maps {
        maps.undo_slot(r.slot, spaces);
    }
    let _ = space;
    super::family_shrank(r.cap.extra);
    exports.kill_from(r.slot, marks);
    if let Some(obj) = object::release(r.cap.obj.id) {
        destroy(obj, marks);
    }
}

/// Destroys an object nobody names any more.
fn destroy(obj: Obj, marks: &mut Marks) {
    match obj {
        Obj::Segment(mut s) => s.free(),
        Obj::Range(lock) => super::memory::free_range(lock.into_inner()),
        Obj::Share { space, id } => {
            if marks.shares.push((space, id)).is_err() {
                crate::kprintln!("capabilities: too many shares to destroy at once; one leaked");
            }
        }
        Obj::Notification(n) => super::notify::destroyed(&n),
        Obj::Root { .. } | Obj::ImageRange(_) => {}
    }
}

/// Finishes an operation: destroys the shares it freed, sweeps killed
/// imports out of this core's space and the global one, and asks other
/// cores to sweep theirs.
pub(super) fn finish(c: &mut CoreCaps, spaces: &mut dyn Spaces, marks: &mut Marks) {
    while marks.busy() {
        if let Some((space, id)) = marks.shares.pop() {
            destroy_share(c, spaces, space, id, marks);
            continue;
        }
        if marks.sweep_local {
            marks.sweep_local = false;
            sweep_core(c, spaces, marks);
        }
        if marks.sweep_global {
            marks.sweep_global = false;
            let mut g = global();
            sweep_global(&mut g, spaces, marks);
            drop(g);
            // Another core's sweep of the global space may have removed
            // the imports this one came for, and killed exports into this
            // core's space on the way (asking this core to sweep, later):
            // sweep now, so the operation's effects are complete when it
            // returns.
            marks.sweep_local = true;
        }
    }
    let me = crate::percore::id();
    for core in (0..platform::MAX_CPUS).filter(|&n| marks.remote & (1 << n) != 0) {
        if core != me {
            SWEEP_POSTED[core].fetch_add(1, SeqCst);
            crate::task::post_sweep(core);
        }
    }
    marks.remote = 0;
}

fn destroy_share(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    space: SpaceId,
    id: ShareId,
    marks: &mut Marks,
) {
    let me = crate::percore::id();
    let storage = match space {
        SpaceId::Core(_) => {
            let CoreCaps {
                space,
                exports,
                maps,
            } = c;
            let mut maps = Some(maps);
            space.destroy_share(me as u32, id, |r| {
                removed(
                    SpaceId::Core(me),
                    r,
                    exports,
                    maps.as_deref_mut(),
                    spaces,
                    marks,
                )
            })
        }
        SpaceId::Global => {
            let mut g = global();
            let GlobalCaps { space, exports } = &mut *g;
            space.destroy_share(me as u32, id, |r| {
                removed(SpaceId::Global, r, exports, None, spaces, marks)
            })
        }
    };
    match storage {
        Ok(slots) => mm::frame_free(mm::virt_to_phys(slots.as_ptr() as u64)),
        Err(e) => crate::kprintln!("capabilities: share not destroyed: {:?}", e),
    }
}

/// Removes from `space` every capability of a killed import family.
fn sweep(space: &mut Space, mut remove: impl FnMut(&mut Space, SlotRef)) {
    let me = crate::percore::id() as u32;
    for share in 0..super::MAX_SHARES as u32 {
        let id = ShareId(share);
        let Ok(n) = space.capacity(id) else { continue };
        for index in 0..n {
            let at = SlotRef::new(id, index);
            if space.lookup(me, at).is_ok_and(|c| is_dead_import(c.extra)) {
                remove(space, at);
            }
        }
    }
}

fn sweep_core(c: &mut CoreCaps, spaces: &mut dyn Spaces, marks: &mut Marks) {
    let me = crate::percore::id();
    let CoreCaps {
        space,
        exports,
        maps,
    } = c;
    sweep(space, |space, at| {
        let _ = space.revoke(me as u32, at, |r| {
            removed(SpaceId::Core(me), r, exports, Some(maps), spaces, marks)
        });
        exports.kill_from(at, marks);
        if let Ok(r) = space.delete(me as u32, at) {
            removed(SpaceId::Core(me), r, exports, Some(maps), spaces, marks);
        }
    });
}

fn sweep_global(g: &mut GlobalCaps, spaces: &mut dyn Spaces, marks: &mut Marks) {
    let me = crate::percore::id() as u32;
    let GlobalCaps { space, exports } = g;
    sweep(space, |space, at| {
        let _ = space.revoke(me, at, |r| {
            removed(SpaceId::Global, r, exports, None, spaces, marks)
        });
        exports.kill_from(at, marks);
        if let Ok(r) = space.delete(me, at) {
            removed(SpaceId::Global, r, exports, None, spaces, marks);
        }
    });
}

/// This core was asked to sweep its space (by another core's revoke).
pub fn sweep_here(spaces: &mut dyn Spaces) {
    let me = crate::percore::id();
    let posted = SWEEP_POSTED[me].load(SeqCst);
    CORE_CAPS.with(|c| {
        let mut marks = Marks::new(me);
        sweep_core(c, spaces, &mut marks);
        finish(c, spaces, &mut marks);
    });
    SWEEP_DONE[me].store(posted, SeqCst);
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

/// Makes the object `obj` (homed on this core) and puts its original
/// capability with `rights` in `dst` of this core's space.
pub(super) fn install(
    c: &mut CoreCaps,
    spaces: &dyn Spaces,
    dst: u64,
    obj: Obj,
    rights: Rights,
) -> Result<(), (Error, Obj)> {
    let me = crate::percore::id();
    let n = match resolve(c, spaces, dst, Access::Write) {
        Ok(n) if fixed(spaces, &n) => return Err((Error::SlotOccupied, obj)),
        Ok(n) => n,
        Err(e) => return Err((e, obj)),
    };
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

fn share_create(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    dst: u64,
    shared: u64,
) -> Result<(), Error> {
    let space = match shared {
        0 => SpaceId::Core(crate::percore::id()),
        1 => SpaceId::Global,
        _ => return Err(Error::InvalidArgument),
    };
    // Check the destination before making anything.
    let n = resolve(c, spaces, dst, Access::Write)?;
    if fixed(spaces, &n) {
        return Err(Error::SlotOccupied);
    }
    let id = new_share(c, space)?;
    let all = Rights::ALL;
    install(c, spaces, dst, Obj::Share { space, id }, all).map_err(|(e, _)| {
        let mut marks = Marks::new(crate::percore::id());
        destroy_share(c, spaces, space, id, &mut marks);
        e
    })
}

/// A new task's root share: slot 0 names its address space (`root_range`,
/// an `Obj::Root`), slot 1 the share itself; neither can be granted.
pub fn setup_root(slot: usize) -> Result<ShareId, Error> {
    let me = crate::percore::id();
    CORE_CAPS.with(|c| {
        let id = new_share(c, SpaceId::Core(me))?;
        let rw = Rights::READ.union(Rights::WRITE);
        let objs = [
            (slots::ROOT_RANGE, Obj::Root { core: me, slot }),
            (
                slots::ROOT_SHARE,
                Obj::Share {
                    space: SpaceId::Core(me),
                    id,
                },
            ),
        ];
        for (at, obj) in objs {
            let kind = obj.kind();
            let oid = object::create(Some(me), obj).map_err(|(e, _)| e)?;
            let cap = Cap {
                obj: ObjRef { kind, id: oid },
                rights: rw,
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
        let mut marks = Marks::new(me);
        let order = (slots::FIRST_GRANT as u32..slots::SHARE_SLOTS as u32)
            .chain([slots::ROOT_RANGE as u32, slots::ROOT_SHARE as u32]);
        for index in order {
            let at = SlotRef::new(root, index);
            if c.space.lookup(me as u32, at).is_err() {
                continue;
            }
            let _ = revoke_in_core(c, spaces, at, &mut marks);
            let CoreCaps {
                space,
                exports,
                maps,
            } = c;
            if let Ok(r) = delete_in(space, exports, at, &mut marks) {
                removed(
                    SpaceId::Core(me),
                    r,
                    exports,
                    Some(maps),
                    spaces,
                    &mut marks,
                );
            }
        }
        finish(c, spaces, &mut marks);
    });
}

/// Destroys objects whose last reference went outside any operation (the
/// image's own, at the end of a run), and what that implies.
pub(super) fn finish_boot(objs: impl IntoIterator<Item = Obj>, spaces: &mut dyn Spaces) {
    let me = crate::percore::id();
    CORE_CAPS.with(|c| {
        let mut marks = Marks::new(me);
        for o in objs {
            destroy(o, &mut marks);
        }
        finish(c, spaces, &mut marks);
    });
}

/// Whether another core still owes this one a sweep it asked for.
pub fn sweeps_pending(core: usize) -> bool {
    SWEEP_DONE[core].load(SeqCst) < SWEEP_POSTED[core].load(SeqCst)
}
