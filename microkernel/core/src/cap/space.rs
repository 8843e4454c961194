//! The set of shares and the operations that need no tree surgery: making
//! and destroying shares, checking a slot reference, looking a capability
//! up, inserting an object's original capability.

use super::slot::{Link, Slot};
use super::{Cap, Error, ObjectKind, Owner, Removed, Rights, ShareId, SlotRef};

/// A live share: who owns it and its slots (memory its creator provided).
#[derive(Debug)]
pub(super) struct ShareEntry<'a> {
    pub(super) owner: Owner,
    pub(super) slots: &'a mut [Slot],
}

/// Every share the kernel knows, so that derivation links can cross shares.
///
/// `'a` is the life of the slot memory handed to [`CapSpace::create_share`]
/// (`'static` in the kernel); `MAX_SHARES` bounds the live shares (the table
/// of share descriptors is inline: 24 bytes a share).
#[derive(Debug)]
pub struct CapSpace<'a, const MAX_SHARES: usize> {
    pub(super) shares: [Option<ShareEntry<'a>>; MAX_SHARES],
}

impl<const MAX_SHARES: usize> Default for CapSpace<'_, MAX_SHARES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const MAX_SHARES: usize> CapSpace<'a, MAX_SHARES> {
    /// No shares.
    pub const fn new() -> Self {
        // Share ids must leave the top bit of a link's share field free.
        const { assert!(MAX_SHARES < (1 << 31) - 1) };
        CapSpace {
            shares: [const { None }; MAX_SHARES],
        }
    }

    /// Makes a share of `storage.len()` slots owned by `owner`, in
    /// `storage` (which is emptied first), under the lowest free id.
    ///
    /// Errors: more than `u32::MAX` slots: `InvalidArgument`; `MAX_SHARES`
    /// shares already live: `OutOfMemory`.
    pub fn create_share(
        &mut self,
        owner: Owner,
        storage: &'a mut [Slot],
    ) -> Result<ShareId, Error> {
        if u32::try_from(storage.len()).is_err() {
            return Err(Error::InvalidArgument);
        }
        let free = self.shares.iter().position(Option::is_none);
        let at = free.ok_or(Error::OutOfMemory)?;
        storage.fill(Slot::EMPTY);
        self.shares[at] = Some(ShareEntry {
            owner,
            slots: storage,
        });
        Ok(ShareId(at as u32))
    }

    /// Deletes every capability in `share`, in index order and each as
    /// [`CapSpace::delete`] would (children pass to the parent), reporting
    /// each to `visit`; then forgets the share and hands its memory back.
    ///
    /// Errors: no such share: `InvalidCapability`; private to a core other
    /// than `acting_core`: `NotOwner`.
    pub fn destroy_share(
        &mut self,
        acting_core: u32,
        share: ShareId,
        mut visit: impl FnMut(Removed),
    ) -> Result<&'a mut [Slot], Error> {
        let len = self.share_for(acting_core, share)?.slots.len() as u32;
        for index in 0..len {
            let at = SlotRef { share, index };
            if self.node(at).cap.is_some() {
                // Full, in a share `acting_core` may touch: cannot fail.
                if let Ok(r) = self.delete_outlined(acting_core, at) {
                    visit(r);
                }
            }
        }
        let entry = self.shares[share.0 as usize].take();
        Ok(entry.expect("checked above").slots)
    }

    /// Whether [`CapSpace::create_share`] would find a free id (a check
    /// before the caller allocates the share's storage).
    pub fn has_free_share(&self) -> bool {
        self.shares.iter().any(Option::is_none)
    }

    /// Checks that [`CapSpace::insert_original`] into `at` would succeed:
    /// the same errors in the same order, and nothing changes.
    #[inline(always)]
    pub fn check_empty(&self, acting_core: u32, at: SlotRef) -> Result<(), Error> {
        match self.resolve(acting_core, at)? {
            Some(_) => Err(Error::SlotOccupied),
            None => Ok(()),
        }
    }

    /// The owner of `share`. Error: no such share: `InvalidCapability`.
    pub fn owner(&self, share: ShareId) -> Result<Owner, Error> {
        Ok(self.entry(share).ok_or(Error::InvalidCapability)?.owner)
    }

    /// How many slots `share` has. Error: no such share: `InvalidCapability`.
    pub fn capacity(&self, share: ShareId) -> Result<u32, Error> {
        let entry = self.entry(share).ok_or(Error::InvalidCapability)?;
        Ok(entry.slots.len() as u32)
    }

    /// Puts `cap`, the first capability to a new object, in the empty slot
    /// `at`, as a root of the derivation tree.
    ///
    /// Precondition, not checked (it would cost a search of every share):
    /// no capability names `cap.obj` yet. The kernel keeps it by calling this
    /// once, right after making the object; `check_invariants` reports a
    /// breach as `SplitRoots`.
    ///
    /// Errors: as [`CapSpace::lookup`] for a bad `at`, then `SlotOccupied`.
    pub fn insert_original(
        &mut self,
        acting_core: u32,
        at: SlotRef,
        cap: Cap,
    ) -> Result<(), Error> {
        self.check_empty(acting_core, at)?;
        self.node_mut(at).write(Slot::lone_root(at, cap));
        Ok(())
    }

    /// The capability in `at`.
    ///
    /// Errors, in this order: no such share: `InvalidCapability`; share
    /// private to a core other than `acting_core`: `NotOwner`; index at or
    /// past the capacity: `InvalidCapability`; empty slot:
    /// `InvalidCapability`.
    #[inline(always)]
    pub fn lookup(&self, acting_core: u32, at: SlotRef) -> Result<Cap, Error> {
        self.resolve(acting_core, at)?
            .ok_or(Error::InvalidCapability)
    }

    /// The capability in `at`, if it names a `kind` object and holds at
    /// least `needed`.
    ///
    /// Errors: those of [`CapSpace::lookup`], then another kind:
    /// `WrongObjectKind`, then a right of `needed` missing: `MissingRights`.
    #[inline(always)]
    pub fn lookup_kind(
        &self,
        acting_core: u32,
        at: SlotRef,
        kind: ObjectKind,
        needed: Rights,
    ) -> Result<Cap, Error> {
        let cap = self.lookup(acting_core, at)?;
        if cap.obj.kind != kind {
            Err(Error::WrongObjectKind)
        } else if !cap.rights.contains(needed) {
            Err(Error::MissingRights)
        } else {
            Ok(cap)
        }
    }

    /// The live share `id`, if any.
    #[inline(always)]
    pub(super) fn entry(&self, id: ShareId) -> Option<&ShareEntry<'a>> {
        self.shares.get(id.0 as usize)?.as_ref()
    }

    /// The live share `id`, if `acting_core` may touch it.
    #[inline(always)]
    fn share_for(&self, acting_core: u32, id: ShareId) -> Result<&ShareEntry<'a>, Error> {
        let entry = self.entry(id).ok_or(Error::InvalidCapability)?;
        if !entry.owner.admits(acting_core) {
            return Err(Error::NotOwner);
        }
        Ok(entry)
    }

    /// Checks that `at` is a slot `acting_core` may touch, and returns what
    /// it holds. The order of the checks is the documented order of errors.
    #[inline(always)]
    pub(super) fn resolve(&self, acting_core: u32, at: SlotRef) -> Result<Option<Cap>, Error> {
        let entry = self.share_for(acting_core, at.share)?;
        let slot = entry.slots.get(at.index as usize);
        Ok(slot.ok_or(Error::InvalidCapability)?.cap)
    }

    /// The slot `at`, which must exist: links and checked references only.
    #[inline(always)]
    pub(super) fn node(&self, at: SlotRef) -> &Slot {
        let entry = self.shares[at.share.0 as usize].as_ref();
        &entry.expect("a link names a live share").slots[at.index as usize]
    }

    #[inline(always)]
    pub(super) fn node_mut(&mut self, at: SlotRef) -> &mut Slot {
        let entry = self.shares[at.share.0 as usize].as_mut();
        &mut entry.expect("a link names a live share").slots[at.index as usize]
    }

    /// The owner of the share holding `at`, which must exist.
    #[inline(always)]
    pub(super) fn owner_of(&self, at: SlotRef) -> Owner {
        self.shares[at.share.0 as usize]
            .as_ref()
            .expect("a link names a live share")
            .owner
    }

    /// What follows `l` in its ring: a slot's next sibling, or a head's
    /// first child.
    #[inline(always)]
    pub(super) fn next_of(&self, l: Link) -> Link {
        let s = self.node(l.slot());
        if l.is_head() {
            s.first_child
        } else {
            s.next
        }
    }

    /// What precedes `l` in its ring.
    #[inline(always)]
    pub(super) fn prev_of(&self, l: Link) -> Link {
        let s = self.node(l.slot());
        if l.is_head() {
            s.last_child
        } else {
            s.prev
        }
    }

    #[inline(always)]
    pub(super) fn set_next(&mut self, l: Link, to: Link) {
        let head = l.is_head();
        let s = self.node_mut(l.slot());
        if head {
            s.first_child = to;
        } else {
            s.next = to;
        }
    }

    #[inline(always)]
    pub(super) fn set_prev(&mut self, l: Link, to: Link) {
        let head = l.is_head();
        let s = self.node_mut(l.slot());
        if head {
            s.last_child = to;
        } else {
            s.prev = to;
        }
    }
}
