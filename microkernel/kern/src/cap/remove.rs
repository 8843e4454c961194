//! What follows when capabilities leave a space: their mappings are undone,
//! their exports killed (and the spaces holding the imports swept), their
//! objects destroyed when no capability names them any more.

use super::mapping::Maps;
use super::object::{self, Obj, SpaceId};
use super::ops::Spaces;
use super::CORE_CAPS;
use super::{global, is_dead_import, CoreCaps, Exports, GlobalCaps, Marks, Space};
use crate::crosscore::{Machine, XCORE};
use crate::mm;
use abi::Error;
use kerncore::cap::{Removed, Revoking, ShareId, SlotRef};
use kerncore::crosscore::Removal;

/// Runs `f` on space `sid`'s table, exports and (for this core's space)
/// mapping records; the global space under its lock.
pub(super) fn in_space<R>(
    c: &mut CoreCaps,
    sid: SpaceId,
    f: impl FnOnce(&mut Space, &mut Exports, Option<&mut Maps>) -> R,
) -> R {
    match sid {
        SpaceId::Core(_) => {
            let CoreCaps {
                space,
                exports,
                maps,
                ..
            } = c;
            f(space, exports, Some(maps))
        }
        SpaceId::Global => {
            let mut g = global();
            let GlobalCaps { space, exports } = &mut *g;
            f(space, exports, None)
        }
    }
}

/// Deletes the capability in `at` of `space`; its exports go to its parent
/// (as its children do), or are killed when it has none. Inlined: its
/// report is built where [`removed`] reads it (returned, the 48-byte
/// `Removed` was copied with a byte-wise `memcpy` call at opt-level `s`).
#[inline(always)]
pub(super) fn delete_in(
    space: &mut Space,
    exports: &mut Exports,
    at: SlotRef,
    marks: &mut Marks,
) -> Result<Removed, Error> {
    let parent = parent_if_exported(space, exports, at);
    let r = space.delete(marks.me as u32, at)?;
    exports_follow(exports, at, parent, marks);
    Ok(r)
}

/// [`delete_in`] with the tree's delete out of line, for the callers off
/// the system-call path (each inlined copy is more than a kilobyte of text).
pub(super) fn delete_in_cold(
    space: &mut Space,
    exports: &mut Exports,
    at: SlotRef,
    marks: &mut Marks,
) -> Result<Removed, Error> {
    let parent = parent_if_exported(space, exports, at);
    let r = space.delete_outlined(marks.me as u32, at)?;
    exports_follow(exports, at, parent, marks);
    Ok(r)
}

/// The parent of `at` if `at` has exports (a walk of the siblings, which
/// only a capability with exports needs: they move to its parent).
#[inline(always)]
fn parent_if_exported(space: &Space, exports: &Exports, at: SlotRef) -> Option<SlotRef> {
    if exports.has_from(at) {
        space.parent(at)
    } else {
        None
    }
}

/// The exports of the deleted `at` move to its `parent`, or are killed.
#[inline(always)]
fn exports_follow(exports: &mut Exports, at: SlotRef, parent: Option<SlotRef>, marks: &mut Marks) {
    match parent {
        Some(p) => exports.reparent(at, p),
        None => exports.kill_from(at, marks),
    }
}

/// Removes every descendant of the capability in `at` of `space` (its
/// imports elsewhere included: their exports are killed), each one's
/// mapping records undone before it goes. `cut`: stop after a record's
/// undo or a descendant's removal if an interrupt is pending (`CapRevoke`'s
/// preemption points, docs/long-operations.md) and say so in
/// `marks.cut`: the descendants not yet removed (and the records not yet
/// undone) stay, which is all the re-issued call needs, and `at`'s
/// exports are killed by the last piece only.
pub(super) fn revoke_in(
    space: &mut Space,
    exports: &mut Exports,
    mut maps: Option<&mut Maps>,
    at: SlotRef,
    spaces: &mut dyn Spaces,
    marks: &mut Marks,
    cut: bool,
) -> Result<(), Error> {
    let me = crate::percore::id() as u32;
    let mut stopped = false;
    space.revoke_until(me, at, |step| {
        stopped = match step {
            // Its mapping records first, with a point between them.
            Revoking::Next(leaf) => maps
                .as_deref_mut()
                .is_some_and(|m| m.undo_slot_until(leaf, spaces, cut)),
            Revoking::Removed(r) => {
                removed(r, exports, maps.as_deref_mut(), spaces, marks);
                cut && crate::arch::aarch64::irq_pending()
            }
        };
        stopped
    })?;
    if stopped {
        marks.cut = true;
    } else {
        exports.kill_from(at, marks);
    }
    Ok(())
}

/// [`revoke_in`] without preemption points, for the removals that cannot
/// be issued again (a sweep, a task's end): its error is dropped (an
/// empty slot has nothing to revoke).
pub(super) fn revoke_whole(
    space: &mut Space,
    exports: &mut Exports,
    maps: Option<&mut Maps>,
    at: SlotRef,
    spaces: &mut dyn Spaces,
    marks: &mut Marks,
) {
    let _ = revoke_in(space, exports, maps, at, spaces, marks, false);
}

/// A capability left its space (`maps`: this core's records, for a
/// capability of this core's space): undo its mappings, kill its exports,
/// count it off its object and destroy the object if it was the last.
pub(super) fn removed(
    r: Removed,
    exports: &mut Exports,
    maps: Option<&mut Maps>,
    spaces: &mut dyn Spaces,
    marks: &mut Marks,
) {
    if let Some(maps) = maps {
        maps.undo_slot(r.slot, spaces);
    }
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
        Obj::Range { lock, .. } => super::memory::free_range(lock.into_inner()),
        Obj::Share { space, id } => marks.share_freed(space, id),
        Obj::Notification(n) => super::notify::destroyed(&n),
        Obj::Root { .. } | Obj::ImageRange(_) | Obj::Task(_) => {}
    }
}

/// Finishes an operation: destroys the shares it freed, sweeps killed
/// imports out of this core's space and the global one, and asks other
/// cores to sweep theirs. Whether the caller must wait for other cores'
/// sweeps: it asked some (often found only here, by the global space's
/// sweep, when the capability was passed on through a shared share), or
/// it swept the global space, where another core may have removed the
/// imports first and not yet asked the cores they reach. The bookkeeping
/// of that decision is `kerncore::crosscore::Removal`, which the loom
/// models drive in this function's order.
pub(super) fn finish(c: &mut CoreCaps, spaces: &mut dyn Spaces, marks: &mut Marks) -> bool {
    let me = crate::percore::id();
    let mut removal = Removal::new(me);
    while marks.busy() {
        if let Some((space, id)) = marks.next_share() {
            destroy_share(c, spaces, space, id, marks);
            continue;
        }
        if marks.sweep_local {
            marks.sweep_local = false;
            in_space(c, SpaceId::Core(me), |s, e, m| {
                sweep(s, e, m, spaces, marks)
            });
        }
        if marks.sweep_global {
            marks.sweep_global = false;
            removal.sweeping_global(&XCORE);
            in_space(c, SpaceId::Global, |s, e, m| sweep(s, e, m, spaces, marks));
            // Another core's sweep of the global space may have removed
            // the imports this one came for, and killed exports into this
            // core's space on the way (asking this core to sweep, later):
            // sweep now, so the operation's effects are complete when it
            // returns.
            marks.sweep_local = true;
        }
    }
    for core in (0..platform::MAX_CPUS).filter(|&n| marks.remote & (1 << n) != 0) {
        removal.ask(&XCORE, core, &Machine);
    }
    marks.remote = 0;
    removal.finish(&XCORE, &Machine)
}

/// Destroys share `id` of space `sid`, removing what it still holds.
pub(super) fn destroy_share(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    sid: SpaceId,
    id: ShareId,
    marks: &mut Marks,
) {
    let me = crate::percore::id() as u32;
    let storage = in_space(c, sid, |space, exports, mut maps| {
        space.destroy_share(me, id, |r| {
            removed(r, exports, maps.as_deref_mut(), spaces, marks)
        })
    });
    match storage {
        Ok(slots) => mm::frame_free(mm::virt_to_phys(slots.as_ptr() as u64)),
        Err(e) => crate::kprintln!("capabilities: share not destroyed: {:?}", e),
    }
}

/// Removes from `space` every capability of a killed import family.
fn sweep(
    space: &mut Space,
    exports: &mut Exports,
    mut maps: Option<&mut Maps>,
    spaces: &mut dyn Spaces,
    marks: &mut Marks,
) {
    let me = crate::percore::id() as u32;
    for share in 0..super::MAX_SHARES as u32 {
        let id = ShareId(share);
        let Ok(n) = space.capacity(id) else { continue };
        for index in 0..n {
            let at = SlotRef::new(id, index);
            if !space.lookup(me, at).is_ok_and(|c| is_dead_import(c.extra)) {
                continue;
            }
            revoke_whole(space, exports, maps.as_deref_mut(), at, spaces, marks);
            if let Ok(r) = space.delete_outlined(me, at) {
                removed(r, exports, maps.as_deref_mut(), spaces, marks);
            }
        }
    }
}

/// This core was asked to sweep its space (by another core's revoke).
pub fn sweep_here(spaces: &mut dyn Spaces) {
    let me = crate::percore::id();
    let ticket = XCORE.sweep_begin(me);
    CORE_CAPS.with(|c| {
        let mut marks = Marks::new(me);
        in_space(c, SpaceId::Core(me), |s, e, m| {
            sweep(s, e, m, spaces, &mut marks)
        });
        finish(c, spaces, &mut marks);
    });
    XCORE.sweep_end(me, ticket, &Machine);
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
