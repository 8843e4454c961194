//! The invariants of the derivation tree, checked exhaustively. Tests run
//! this after every operation; the kernel may run it in debug builds. It
//! allocates nothing and never panics, whatever the slots hold.

use super::slot::{Link, Slot};
use super::{CapSpace, ShareId, SlotRef};

/// A broken invariant, with a slot where it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// An empty slot still has links.
    StaleLinks(SlotRef),
    /// A full slot links to no share, past a share's end, to an empty slot,
    /// or has a child ring that starts or ends at another slot's head.
    DanglingLink(SlotRef),
    /// A neighbour of the slot does not link back to it.
    AsymmetricLink(SlotRef),
    /// The slot's ring of siblings passes through two heads or never closes.
    BrokenRing(SlotRef),
    /// The capability names another object, or carries another `extra`,
    /// than its parent or the roots beside it.
    ObjectMismatch(SlotRef),
    /// The capability holds a right its parent lacks.
    RightsGrow(SlotRef),
    /// The slot is a root of an object that has roots in another ring, so
    /// "last capability" answers would be wrong (an `insert_original` for
    /// an object that already had capabilities).
    SplitRoots(SlotRef),
    /// Some capabilities are under no root: derivation has a cycle.
    Cycle,
}

impl<const MAX_SHARES: usize> CapSpace<'_, MAX_SHARES> {
    /// Checks every invariant of the shares and the derivation tree:
    /// empty slots have no links; links name full slots and are symmetric;
    /// each ring of siblings has at most one head (its parent) and closes;
    /// a child names its parent's object and `extra` and holds a subset of
    /// its rights; an object's roots form one ring; every capability is
    /// under a root (no cycles). O(slots × siblings) time.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        let total: usize = self.full_slots().count();
        // Links first, so that the walks below only follow valid links.
        for (at, slot) in self.all_slots() {
            self.check_links(at, slot)?;
        }
        for (at, slot) in self.full_slots() {
            let Some(parent) = self.ring_parent(at, total)? else {
                continue;
            };
            let (cap, above) = (slot.cap, self.node(parent).cap);
            let (Some(cap), Some(above)) = (cap, above) else {
                return Err(Violation::DanglingLink(at));
            };
            if cap.obj != above.obj || cap.extra != above.extra {
                return Err(Violation::ObjectMismatch(at));
            }
            if !above.rights.contains(cap.rights) {
                return Err(Violation::RightsGrow(at));
            }
        }
        let mut reached = 0;
        for (root, slot) in self.full_slots() {
            if self.ring_parent(root, total)?.is_some() {
                continue;
            }
            let obj = slot.cap.map(|c| (c.obj, c.extra));
            if self.node(slot.next.slot()).cap.map(|c| (c.obj, c.extra)) != obj {
                return Err(Violation::ObjectMismatch(root));
            }
            for (other, o) in self.full_slots() {
                let same = o.cap.map(|c| c.obj) == slot.cap.map(|c| c.obj);
                if same
                    && other > root
                    && self.ring_parent(other, total)?.is_none()
                    && !self.ring_contains(root, other, total)
                {
                    return Err(Violation::SplitRoots(other));
                }
            }
            reached += self.subtree_size(root, 4 * total + 4)?;
        }
        if reached != total {
            return Err(Violation::Cycle);
        }
        Ok(())
    }

    /// Every slot of every live share.
    fn all_slots(&self) -> impl Iterator<Item = (SlotRef, &Slot)> + '_ {
        self.shares.iter().enumerate().flat_map(|(share, entry)| {
            let slots = entry.as_ref().map_or(&[][..], |e| &e.slots[..]);
            slots.iter().enumerate().map(move |(index, slot)| {
                let at = SlotRef::new(ShareId(share as u32), index as u32);
                (at, slot)
            })
        })
    }

    fn full_slots(&self) -> impl Iterator<Item = (SlotRef, &Slot)> + '_ {
        self.all_slots().filter(|(_, s)| s.cap.is_some())
    }

    /// Whether `l` points at a full slot of a live share.
    fn valid(&self, l: Link) -> bool {
        !l.is_none()
            && self
                .entry(l.slot().share)
                .and_then(|e| e.slots.get(l.slot().index as usize))
                .is_some_and(|s| s.cap.is_some())
    }

    fn check_links(&self, at: SlotRef, slot: &Slot) -> Result<(), Violation> {
        let links = [slot.prev, slot.next, slot.first_child, slot.last_child];
        if slot.cap.is_none() {
            if links.iter().any(|l| !l.is_none()) {
                return Err(Violation::StaleLinks(at));
            }
            return Ok(());
        }
        let own_head = |l: Link| !l.is_head() || l == Link::head(at);
        if !links.iter().all(|&l| self.valid(l))
            || !own_head(slot.first_child)
            || !own_head(slot.last_child)
            || slot.first_child.is_head() != slot.last_child.is_head()
        {
            return Err(Violation::DanglingLink(at));
        }
        if self.prev_of(slot.next) != Link::node(at)
            || self.next_of(slot.prev) != Link::node(at)
            || self.prev_of(slot.first_child) != Link::head(at)
            || self.next_of(slot.last_child) != Link::head(at)
        {
            return Err(Violation::AsymmetricLink(at));
        }
        Ok(())
    }

    /// The head in `at`'s ring of siblings (its parent), walking at most
    /// `bound` links.
    fn ring_parent(&self, at: SlotRef, bound: usize) -> Result<Option<SlotRef>, Violation> {
        let mut head = None;
        let mut l = self.node(at).next;
        for _ in 0..=bound + 1 {
            if l == Link::node(at) {
                return Ok(head);
            }
            if l.is_head() {
                if head.is_some() {
                    return Err(Violation::BrokenRing(at));
                }
                head = Some(l.slot());
            }
            l = self.next_of(l);
        }
        Err(Violation::BrokenRing(at))
    }

    /// Whether `other` is in `at`'s ring of siblings.
    fn ring_contains(&self, at: SlotRef, other: SlotRef, bound: usize) -> bool {
        let mut l = self.node(at).next;
        for _ in 0..=bound {
            if l == Link::node(other) {
                return true;
            }
            if l == Link::node(at) {
                return false;
            }
            l = self.next_of(l);
        }
        false
    }

    /// How many capabilities are in the tree under `root`, itself included,
    /// walking it without a stack (as revoke does) in at most `bound` steps.
    fn subtree_size(&self, root: SlotRef, bound: usize) -> Result<usize, Violation> {
        let mut count = 1;
        let mut cur = root;
        let mut steps = 0;
        'descend: loop {
            let first = self.node(cur).first_child;
            if !first.is_head() {
                cur = first.slot();
                count += 1;
            } else {
                loop {
                    steps += 1;
                    if cur == root {
                        return Ok(count);
                    }
                    if steps > bound {
                        return Err(Violation::Cycle);
                    }
                    let next = self.node(cur).next;
                    cur = next.slot();
                    if !next.is_head() {
                        count += 1;
                        continue 'descend;
                    }
                }
            }
            steps += 1;
            if steps > bound {
                return Err(Violation::Cycle);
            }
        }
    }
}
