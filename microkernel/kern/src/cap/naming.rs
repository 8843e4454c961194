//! How a system call names a slot: the calling task's root share, a
//! capability pointer resolved to a slot of this core's space or of the
//! shared one, and `CapInfo`'s own path, which does nothing else.

use super::object::{self, Obj, SpaceId};
use super::{global, CoreCaps};
use crate::arch::aarch64::exception::Frame;
use crate::task::decode;
use crate::uspace::UserSpace;
use abi::{args, slots, CPtr, Error, ObjectKind, Rights};
use kerncore::cap::{Cap, ShareId, SlotRef};

/// The task side the capability code needs: the calling task's root share,
/// and any task's address space on this core (to undo mappings).
pub trait Spaces {
    /// The calling task's root share.
    fn root_share(&self) -> Option<ShareId>;
    /// The address space of this core's task in `slot`.
    fn root(&mut self, slot: usize) -> Option<&mut UserSpace>;
}

/// The calling task's root share, for a system call: the per-core block's
/// copy (`percore::caller_root`, written at every switch; a call names
/// its slots before anything could switch tasks), which `spaces` agrees
/// with (checked in debug builds). Read there, it is one load, not a
/// call through `spaces` and a walk of the scheduler's table.
#[inline(always)]
pub(super) fn caller_root(spaces: &dyn Spaces) -> Option<ShareId> {
    let root = crate::percore::caller_root();
    debug_assert_eq!(
        root,
        spaces.root_share(),
        "the per-core copy of the caller's root share is stale"
    );
    root
}

/// A slot a system call named.
#[derive(Clone, Copy, Debug)]
pub(super) struct Named {
    pub space: SpaceId,
    pub slot: SlotRef,
}

impl Named {
    /// Its slot and whether that is in the shared space: what a call's
    /// entry hands its body in two registers (a `Named`, 24 bytes, goes
    /// through memory, and the entry could not end with a jump to the
    /// body).
    #[inline(always)]
    pub fn parts(self) -> (SlotRef, bool) {
        (self.slot, self.space == SpaceId::Global)
    }

    /// The slot [`Named::parts`] gave, on core `me` (a slot of a core's
    /// space is always this core's: another core's share is `NotOwner`).
    #[inline(always)]
    pub fn of(slot: SlotRef, global: bool, me: usize) -> Named {
        let space = if global {
            SpaceId::Global
        } else {
            SpaceId::Core(me)
        };
        Named { space, slot }
    }
}

/// Which right on the share a slot is reached through the operation needs.
#[derive(Clone, Copy)]
pub(super) enum Access {
    /// Read the slot (look up, copy from).
    Read,
    /// Change the slot (insert, delete, revoke).
    Write,
}

/// Resolves `cptr` for the calling task on this core, whose root share
/// is `root`, with a slot of
/// the root share (the common case) resolved inline: for a pointer below
/// `SHARE_SLOTS` (no share named, a valid index) `resolve_from`'s only
/// check is that there is a root share; any other pointer goes through
/// it, with its errors in its order.
#[inline(always)]
pub(super) fn resolve_at(
    c: &CoreCaps,
    root: Option<ShareId>,
    cptr: u64,
    access: Access,
) -> Result<Named, Error> {
    let p = if cptr < u64::from(slots::SHARE_SLOTS) {
        let root = root.ok_or(Error::InvalidCapability)?;
        Place::new(SlotRef::new(root, cptr as u32), false)
    } else {
        resolve_from(c, root, cptr, access)?
    };
    Ok(Named {
        space: p.space(c.me),
        slot: p.slot(),
    })
}

/// A slot [`resolve_from`] found, in one word so that the result comes
/// back in registers (a [`Named`], 24 bytes, came back through memory):
/// the share id in bits 32-62, the index in bits 0-31, bit 63 set for a
/// shared share (otherwise this core's space: another core's share is
/// `NotOwner`).
#[derive(Clone, Copy)]
struct Place(u64);

impl Place {
    const GLOBAL: u64 = 1 << 63;

    #[inline(always)]
    fn new(slot: SlotRef, global: bool) -> Place {
        let share = u64::from(slot.share.0) << 32;
        Place(share | u64::from(slot.index) | if global { Place::GLOBAL } else { 0 })
    }

    #[inline(always)]
    fn global(self) -> bool {
        self.0 & Place::GLOBAL != 0
    }

    #[inline(always)]
    fn slot(self) -> SlotRef {
        let share = ((self.0 & !Place::GLOBAL) >> 32) as u32;
        SlotRef::new(ShareId(share), self.0 as u32)
    }

    #[inline(always)]
    fn space(self, me: usize) -> SpaceId {
        if self.global() {
            SpaceId::Global
        } else {
            SpaceId::Core(me)
        }
    }
}

const _: () = assert!(super::MAX_SHARES < 1 << 31);

/// Resolves `cptr` for a caller whose root share is `root` (`None`: it
/// has none). Out of line: every capability call's slot goes through it.
#[inline(never)]
fn resolve_from(
    c: &CoreCaps,
    root: Option<ShareId>,
    cptr: u64,
    access: Access,
) -> Result<Place, Error> {
    resolve_via(c, root, cptr, access).map(|(p, _)| p)
}

/// [`resolve_from`]'s work, also giving the rights of the share
/// capability the slot was named through (every right for a slot of the
/// root share, which no capability names).
#[inline(always)]
fn resolve_via(
    c: &CoreCaps,
    root: Option<ShareId>,
    cptr: u64,
    access: Access,
) -> Result<(Place, Rights), Error> {
    let me = c.me;
    let root = root.ok_or(Error::InvalidCapability)?;
    let (via, index) = CPtr(cptr).decode()?;
    if index >= slots::SHARE_SLOTS {
        return Err(Error::InvalidCapability);
    }
    let Some(via) = via else {
        let p = Place::new(SlotRef::new(root, index as u32), false);
        return Ok((p, Rights::ALL));
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
            let global = *space == SpaceId::Global;
            let p = Place::new(SlotRef::new(*id, index as u32), global);
            Ok((p, share.rights))
        }
        _ => Err(Error::InvalidCapability),
    }
}

/// `CapCopy`'s two slots: what [`resolve`] gives for the source (read)
/// and then the destination (written), with the same errors in the same
/// order, but a destination named through the same share capability as
/// the source does not look that capability up again. It is a slot of
/// the caller's root share, in this core's space, and the call runs
/// with interrupts masked, so the second lookup would find what the
/// first found: the kind (a share), the object (its space, owner and
/// id); only the destination's own checks are left (its index, and
/// WRITE on the share capability). The shares benchmark's copy within a
/// shared share is such a pair.
pub(super) fn resolve_copy(
    c: &CoreCaps,
    root: Option<ShareId>,
    src: u64,
    dst: u64,
) -> Result<(Named, Named), Error> {
    let (s, rights) = resolve_via(c, root, src, Access::Read)?;
    let named = |p: Place| Named {
        space: p.space(c.me),
        slot: p.slot(),
    };
    let d = match (CPtr(src).decode(), CPtr(dst).decode()) {
        (Ok((Some(a), _)), Ok((Some(b), index))) if a == b => {
            if index >= slots::SHARE_SLOTS {
                return Err(Error::InvalidCapability);
            }
            if !rights.contains(Rights::WRITE) {
                return Err(Error::MissingRights);
            }
            Place::new(SlotRef::new(s.slot().share, index as u32), s.global())
        }
        _ => resolve_from(c, root, dst, Access::Write)?,
    };
    Ok((named(s), named(d)))
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
    root_cap_of(c, caller_root(spaces), cptr, kind, needed)
}

/// [`root_cap`] for a caller whose root share is `root` (a call's own
/// entry, `entry.rs`, read it from the per-core block already).
#[inline(always)]
pub(super) fn root_cap_of(
    c: &CoreCaps,
    root: Option<ShareId>,
    cptr: u64,
    kind: ObjectKind,
    needed: Rights,
) -> Result<(SlotRef, Cap), Error> {
    let me = c.me as u32;
    let root = root.ok_or(Error::InvalidCapability)?;
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

/// `CapInfo`, which changes nothing: the caller's fast path (no removal
/// bookkeeping, no restart, no mailbox: a call that posts nothing leaves
/// nothing for this core to serve; another core's requests bring their
/// wake SGI). `me` is this core, `root` the calling task's root share.
/// The results, or the error, go straight into the caller's registers.
#[inline(always)]
pub fn query(c: &CoreCaps, me: usize, root: Option<ShareId>, frame: &mut Frame) {
    debug_assert_eq!(c.me, me, "capability state made on another core");
    match info(c, me as u32, root, frame) {
        Ok((kind, rights)) => {
            frame.x[0] = 0;
            frame.x[1] = kind;
            frame.x[2] = rights;
        }
        Err(e) => frame.x[0] = e as u64,
    }
}

#[inline(always)]
fn info(c: &CoreCaps, me: u32, root: Option<ShareId>, frame: &Frame) -> Result<(u64, u64), Error> {
    let cptr = frame.x[0];
    let p = if cptr < u64::from(slots::SHARE_SLOTS) {
        // A slot of the root share, the common case, without the call:
        // `args::CapInfo` accepts such a pointer, and `resolve_from`'s
        // only check left for it is that there is a root share.
        let root = root.ok_or(Error::InvalidCapability)?;
        Place::new(SlotRef::new(root, cptr as u32), false)
    } else {
        let a: args::CapInfo = decode(frame)?;
        resolve_from(c, root, a.at.0, Access::Read)?
    };
    // One lookup for either space (the global one's lock held to the end).
    let g = p.global().then(global);
    let space = g.as_ref().map_or(&c.space, |g| &g.space);
    let cap = space.lookup(me, p.slot())?;
    Ok((cap.obj.kind as u64, cap.rights.bits() as u64))
}
