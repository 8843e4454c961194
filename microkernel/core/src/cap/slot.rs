//! One slot of a share: a capability and its place in the derivation tree,
//! in one 64-byte cache line of its own. A lookup touches one line, and a
//! link update made for another slot's sake (a sibling's copy or delete,
//! perhaps on another core) never disturbs the line of a neighbour.

use super::{Cap, ShareId, SlotRef};

/// Set in a link's share field when the link points at a slot's head (the
/// end of its ring of children) rather than at the slot as a sibling.
const HEAD: u32 = 1 << 31;
/// The share field of a link that points nowhere.
const NOWHERE: u32 = u32::MAX;

/// A link in the derivation tree: nowhere, a slot (as a sibling), or a
/// slot's head. [`ShareId`]s stay below 2^31 - 1, which frees the top bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Link {
    share: u32,
    index: u32,
}

impl Link {
    /// Points nowhere (the links of an empty slot).
    pub(super) const NONE: Link = Link {
        share: NOWHERE,
        index: 0,
    };

    /// Points at slot `r` as a member of a ring of siblings.
    pub(super) const fn node(r: SlotRef) -> Link {
        Link {
            share: r.share.0,
            index: r.index,
        }
    }

    /// Points at slot `r`'s head: the place its ring of children starts and
    /// ends.
    pub(super) const fn head(r: SlotRef) -> Link {
        Link {
            share: r.share.0 | HEAD,
            index: r.index,
        }
    }

    pub(super) const fn is_none(self) -> bool {
        self.share == NOWHERE
    }

    pub(super) const fn is_head(self) -> bool {
        !self.is_none() && self.share & HEAD != 0
    }

    /// The slot this link points at, as sibling or head. Meaningless for
    /// [`Link::NONE`].
    pub(super) const fn slot(self) -> SlotRef {
        SlotRef {
            share: ShareId(self.share & !HEAD),
            index: self.index,
        }
    }
}

/// A slot of a share. Shares live in memory their creator provides: fill it
/// with [`Slot::EMPTY`] (`[Slot::EMPTY; N]`, `vec![Slot::EMPTY; n]`) and hand
/// it to [`CapSpace::create_share`](super::CapSpace::create_share).
///
/// The ring links: `prev`/`next` thread the slot through its siblings and
/// its parent's head (or, for a root, through the object's other roots);
/// `first_child`/`last_child` are the head of its own ring of children and
/// point back at its own head when it has none.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
pub struct Slot {
    pub(super) cap: Option<Cap>,
    pub(super) prev: Link,
    pub(super) next: Link,
    pub(super) first_child: Link,
    pub(super) last_child: Link,
}

impl Slot {
    /// A slot holding nothing.
    pub const EMPTY: Slot = Slot {
        cap: None,
        prev: Link::NONE,
        next: Link::NONE,
        first_child: Link::NONE,
        last_child: Link::NONE,
    };

    /// The capability held here, if any. (For the kernel's own inspection
    /// of memory it owns; system calls go through
    /// [`CapSpace::lookup`](super::CapSpace::lookup).)
    pub const fn cap(&self) -> Option<Cap> {
        self.cap
    }

    /// A slot holding `cap` at `at`, alone: a root with no siblings and no
    /// children.
    pub(super) const fn lone_root(at: SlotRef, cap: Cap) -> Slot {
        Slot {
            cap: Some(cap),
            prev: Link::node(at),
            next: Link::node(at),
            first_child: Link::head(at),
            last_child: Link::head(at),
        }
    }
}

impl Slot {
    /// A copy of the slot, read field by field: a whole-slot copy is a call
    /// to `memcpy` (64 bytes) where the compiler optimises for size.
    #[inline(always)]
    pub(super) const fn read(&self) -> Slot {
        Slot {
            cap: self.cap,
            prev: self.prev,
            next: self.next,
            first_child: self.first_child,
            last_child: self.last_child,
        }
    }

    /// Overwrites the slot with `s`, field by field (see [`Slot::read`]).
    #[inline(always)]
    pub(super) fn write(&mut self, s: Slot) {
        self.cap = s.cap;
        self.prev = s.prev;
        self.next = s.next;
        self.first_child = s.first_child;
        self.last_child = s.last_child;
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::EMPTY
    }
}
