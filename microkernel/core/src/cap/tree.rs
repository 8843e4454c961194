//! The derivation tree: copy, move, delete and revoke, and walking it.
//!
//! Every operation here is a constant number of ring splices except revoke,
//! which is one splice per descendant (module docs of `cap` say why).

use super::slot::{Link, Slot};
use super::{Cap, CapSpace, Error, Removed, Rights, SlotRef};

/// What [`CapSpace::revoke_until`] asks its visitor about.
#[derive(Debug)]
pub enum Revoking {
    /// The next descendant to remove, still in place (a leaf below the
    /// revoked capability): true stops before removing it.
    Next(SlotRef),
    /// A descendant removed: true stops after it.
    Removed(Removed),
}

impl<'a, const MAX_SHARES: usize> CapSpace<'a, MAX_SHARES> {
    /// Puts in the empty slot `dst` a copy of the capability in `src` with
    /// only the rights also in `mask`, as `src`'s last child. Returns the
    /// copy.
    ///
    /// Errors, in this order: those of [`CapSpace::lookup`] for `src`
    /// (`InvalidCapability`, `NotOwner`, `InvalidCapability`, empty:
    /// `InvalidCapability`); for `dst`, no such share: `InvalidCapability`,
    /// `NotOwner`, index out of range: `InvalidCapability`; `dst` full:
    /// `SlotOccupied`; `dst` in another share and `src` lacks GRANT:
    /// `MissingRights`.
    pub fn copy(
        &mut self,
        acting_core: u32,
        src: SlotRef,
        dst: SlotRef,
        mask: Rights,
    ) -> Result<Cap, Error> {
        Ok(self.plan_copy(acting_core, src, dst)?.commit(mask))
    }

    /// [`CapSpace::copy`]'s checks, with the copy left to
    /// [`CopyPlan::commit`]: a caller with checks of its own (the kernel's
    /// cycle check) makes them between the two, on the source capability
    /// the plan hands it, and the slots are looked up once. The plan holds
    /// the space, so nothing changes between the check and the copy.
    ///
    /// Errors: as [`CapSpace::copy`].
    pub fn plan_copy(
        &mut self,
        acting_core: u32,
        src: SlotRef,
        dst: SlotRef,
    ) -> Result<CopyPlan<'_, 'a, MAX_SHARES>, Error> {
        let cap = self.check_transfer(acting_core, src, dst)?;
        Ok(CopyPlan {
            space: self,
            src,
            dst,
            cap,
        })
    }

    /// [`CapSpace::plan_copy`] for a caller that has looked the source up
    /// already (the kernel's `CapCopy` entry, which returns at once when
    /// the source is empty): the source's checks are not made again. The
    /// capability is taken from the source's slot, which the plan's
    /// commit reaches anyway to link the copy; the checks left are
    /// `plan_copy`'s after the source's, in its order.
    ///
    /// Precondition, checked in debug builds only (it is the lookup this
    /// call exists to avoid): [`CapSpace::lookup`] of `src` by
    /// `acting_core` succeeded, and nothing changed the space since. The
    /// share's owner is not tested again; a slot that is not there (no
    /// such share, an index past its capacity) or is empty is still
    /// `InvalidCapability`.
    ///
    /// Errors: as [`CapSpace::copy`], after those of `src`'s lookup.
    pub fn plan_copy_found(
        &mut self,
        acting_core: u32,
        src: SlotRef,
        dst: SlotRef,
    ) -> Result<CopyPlan<'_, 'a, MAX_SHARES>, Error> {
        debug_assert!(
            self.lookup(acting_core, src).is_ok(),
            "a copy's source was not looked up"
        );
        let slot = self
            .entry(src.share)
            .and_then(|e| e.slots.get(src.index as usize));
        let cap = slot.and_then(|s| s.cap).ok_or(Error::InvalidCapability)?;
        self.check_destination(acting_core, src, cap.rights, dst)?;
        Ok(CopyPlan {
            space: self,
            src,
            dst,
            cap,
        })
    }

    /// Moves the capability in `src` to the empty slot `dst`, keeping its
    /// place in the tree: it keeps its parent and siblings, and its children
    /// now hang off `dst`. `src` is left empty.
    ///
    /// Errors: as [`CapSpace::copy`] (a move within one share needs no
    /// right; into another share it needs GRANT; `src == dst` is
    /// `SlotOccupied`).
    pub fn move_cap(&mut self, acting_core: u32, src: SlotRef, dst: SlotRef) -> Result<(), Error> {
        self.check_transfer(acting_core, src, dst)?;
        let s = self.node(src).read();
        let lone = s.prev == Link::node(src);
        let has_children = !s.first_child.is_head();
        let (here, head) = (Link::node(dst), Link::head(dst));
        self.node_mut(dst).write(Slot {
            cap: s.cap,
            prev: if lone { here } else { s.prev },
            next: if lone { here } else { s.next },
            first_child: if has_children { s.first_child } else { head },
            last_child: if has_children { s.last_child } else { head },
        });
        if !lone {
            self.set_next(s.prev, here);
            self.set_prev(s.next, here);
        }
        if has_children {
            self.set_prev(s.first_child, head);
            self.set_next(s.last_child, head);
        }
        self.node_mut(src).write(Slot::EMPTY);
        Ok(())
    }

    /// Removes the capability in `at`. Its children take its place among its
    /// siblings (they become children of its parent, or roots if it was
    /// one), so they and their descendants stay revocable from above.
    ///
    /// Errors: those of [`CapSpace::lookup`] (an empty slot is
    /// `InvalidCapability`).
    #[inline(always)]
    pub fn delete(&mut self, acting_core: u32, at: SlotRef) -> Result<Removed, Error> {
        self.lookup(acting_core, at)?;
        Ok(self.remove(at))
    }

    /// Removes every descendant of the capability in `at`, which stays,
    /// calling `visit` for each as it goes, children before their parent
    /// (post-order, siblings oldest first): when `visit` sees a capability,
    /// nothing derived from it is left to undo, so the kernel can unmap and
    /// finish it at once. Returns how many were removed.
    ///
    /// Descendants in any share are removed, whoever owns it; each report
    /// carries its share's owner. `last` is always false: `at` names the
    /// same object and stays.
    ///
    /// Errors: those of [`CapSpace::lookup`] for `at`. Needs no right.
    pub fn revoke(
        &mut self,
        acting_core: u32,
        at: SlotRef,
        mut visit: impl FnMut(Removed),
    ) -> Result<u32, Error> {
        self.revoke_until(acting_core, at, |step| {
            if let Revoking::Removed(r) = step {
                visit(r);
            }
            false
        })
    }

    /// [`CapSpace::revoke`] in pieces: `visit` is asked about each
    /// descendant twice, as [`Revoking::Next`] while it is still in place
    /// (the caller may do work of its own on it first) and as
    /// [`Revoking::Removed`] once removed; returning true stops the revoke
    /// there, before that descendant's removal or after it. The
    /// descendants not yet removed stay in the tree, exactly where they
    /// were, so the tree itself is the progress kept: a later
    /// `revoke_until` of `at` goes on with them in the same order (its
    /// first `Next` is the descendant a `Next` stopped at), and the
    /// `Removed` reports of the pieces, joined, are one whole revoke's.
    /// Progress is the caller's: a piece stopped at a `Next` removes
    /// nothing. Returns how many this call removed.
    ///
    /// Errors: as [`CapSpace::revoke`].
    pub fn revoke_until(
        &mut self,
        acting_core: u32,
        at: SlotRef,
        mut visit: impl FnMut(Revoking) -> bool,
    ) -> Result<u32, Error> {
        self.lookup(acting_core, at)?;
        let mut removed = 0;
        let mut cur = at;
        loop {
            let first = self.node(cur).first_child;
            if !first.is_head() {
                cur = first.slot();
                continue;
            }
            if cur == at {
                return Ok(removed);
            }
            if visit(Revoking::Next(cur)) {
                return Ok(removed);
            }
            // A childless first child: its prev is its parent's head.
            let s = self.node(cur).read();
            debug_assert!(s.prev.is_head());
            self.set_next(s.prev, s.next);
            self.set_prev(s.next, s.prev);
            self.node_mut(cur).write(Slot::EMPTY);
            removed = removed.saturating_add(1);
            let stop = visit(Revoking::Removed(Removed {
                slot: cur,
                cap: s.cap.expect("a linked slot is full"),
                owner: self.owner_of(cur),
                last: false,
            }));
            if stop {
                return Ok(removed);
            }
            cur = s.prev.slot();
        }
    }

    /// The capability `at` was derived from, if `at` is full and not a root.
    /// O(number of siblings); for tests and diagnostics.
    pub fn parent(&self, at: SlotRef) -> Option<SlotRef> {
        let entry = self.entry(at.share)?;
        entry.slots.get(at.index as usize)?.cap?;
        let mut l = self.node(at).next;
        while !l.is_head() {
            if l == Link::node(at) {
                return None;
            }
            l = self.node(l.slot()).next;
        }
        Some(l.slot())
    }

    /// The capabilities derived directly from `at`, oldest first (none if
    /// `at` is empty or not a slot).
    pub fn children(&self, at: SlotRef) -> Children<'_, 'a, MAX_SHARES> {
        let full = self
            .entry(at.share)
            .and_then(|e| e.slots.get(at.index as usize))
            .is_some_and(|s| s.cap.is_some());
        let next = if full {
            self.node(at).first_child
        } else {
            Link::head(at)
        };
        Children { space: self, next }
    }

    /// Unlinks and empties the full slot `at`, splicing its children into
    /// its place. Inlined, as [`CapSpace::delete`] is: returned from a
    /// call, the 48-byte report was copied with a byte-wise `memcpy` call
    /// at opt-level `s` (83 of a delete's 690 instructions).
    #[inline(always)]
    pub(super) fn remove(&mut self, at: SlotRef) -> Removed {
        let s = self.node(at).read();
        let lone = s.prev == Link::node(at);
        let has_children = !s.first_child.is_head();
        match (lone, has_children) {
            // The object's only capability.
            (true, false) => {}
            // A lone root: its children are the object's roots now.
            (true, true) => {
                self.set_prev(s.first_child, s.last_child);
                self.set_next(s.last_child, s.first_child);
            }
            (false, false) => {
                self.set_next(s.prev, s.next);
                self.set_prev(s.next, s.prev);
            }
            (false, true) => {
                self.set_next(s.prev, s.first_child);
                self.set_prev(s.first_child, s.prev);
                self.set_next(s.last_child, s.next);
                self.set_prev(s.next, s.last_child);
            }
        }
        self.node_mut(at).write(Slot::EMPTY);
        Removed {
            slot: at,
            cap: s.cap.expect("remove takes a full slot"),
            owner: self.owner_of(at),
            last: lone && !has_children,
        }
    }

    /// [`CapSpace::delete`] out of line, for callers off the system-call
    /// path (each inlined copy is more than a kilobyte of text).
    ///
    /// Errors: as [`CapSpace::delete`].
    #[inline(never)]
    pub fn delete_outlined(&mut self, acting_core: u32, at: SlotRef) -> Result<Removed, Error> {
        self.delete(acting_core, at)
    }

    /// Checks that [`CapSpace::copy`] from `src` to `dst` would succeed:
    /// the same errors in the same order, and nothing changes. Returns the
    /// source capability (a caller's further checks, such as the kernel's
    /// cycle check, come before the copy, not after it).
    pub fn check_copy(&self, acting_core: u32, src: SlotRef, dst: SlotRef) -> Result<Cap, Error> {
        self.check_transfer(acting_core, src, dst)
    }

    /// The checks shared by copy and move; returns the source capability.
    fn check_transfer(&self, acting_core: u32, src: SlotRef, dst: SlotRef) -> Result<Cap, Error> {
        let cap = self.lookup(acting_core, src)?;
        self.check_destination(acting_core, src, cap.rights, dst)?;
        Ok(cap)
    }

    /// The checks of copy and move after the source's lookup: `dst` is a
    /// slot `acting_core` may touch, empty, and in `src`'s share unless
    /// the source's `rights` hold GRANT.
    #[inline(always)]
    fn check_destination(
        &self,
        acting_core: u32,
        src: SlotRef,
        rights: Rights,
        dst: SlotRef,
    ) -> Result<(), Error> {
        if self.resolve(acting_core, dst)?.is_some() {
            return Err(Error::SlotOccupied);
        }
        if dst.share != src.share && !rights.contains(Rights::GRANT) {
            return Err(Error::MissingRights);
        }
        Ok(())
    }
}

/// A copy [`CapSpace::plan_copy`] checked, not yet made.
#[derive(Debug)]
pub struct CopyPlan<'s, 'a, const MAX_SHARES: usize> {
    space: &'s mut CapSpace<'a, MAX_SHARES>,
    src: SlotRef,
    dst: SlotRef,
    cap: Cap,
}

impl<'a, const MAX_SHARES: usize> CopyPlan<'_, 'a, MAX_SHARES> {
    /// The capability to be copied.
    pub fn source(&self) -> Cap {
        self.cap
    }

    /// The space, to look at before the copy is made.
    pub fn space(&self) -> &CapSpace<'a, MAX_SHARES> {
        self.space
    }

    /// Makes the copy, which cannot fail: the copy of the source with only
    /// the rights also in `mask`, in the (checked, empty) destination, as
    /// the source's last child. Returns the copy.
    pub fn commit(self, mask: Rights) -> Cap {
        let CopyPlan {
            space,
            src,
            dst,
            cap,
        } = self;
        let cap = Cap {
            rights: cap.rights.intersect(mask),
            ..cap
        };
        let last = space.node(src).last_child;
        space.node_mut(dst).write(Slot {
            cap: Some(cap),
            prev: last,
            next: Link::head(src),
            first_child: Link::head(dst),
            last_child: Link::head(dst),
        });
        space.set_next(last, Link::node(dst));
        space.set_prev(Link::head(src), Link::node(dst));
        cap
    }
}

/// Iterator over a capability's children; see [`CapSpace::children`].
#[derive(Debug)]
pub struct Children<'s, 'a, const MAX_SHARES: usize> {
    space: &'s CapSpace<'a, MAX_SHARES>,
    next: Link,
}

impl<const MAX_SHARES: usize> Iterator for Children<'_, '_, MAX_SHARES> {
    type Item = SlotRef;

    fn next(&mut self) -> Option<SlotRef> {
        if self.next.is_head() {
            return None;
        }
        let at = self.next.slot();
        self.next = self.space.node(at).next;
        Some(at)
    }
}
