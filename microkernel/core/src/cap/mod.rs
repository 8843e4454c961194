//! Capability tables (shares) and the derivation tree that revoke walks.
//!
//! docs/capabilities.md is the manual; this is the summary an implementer
//! needs.
//!
//! - A [`Cap`] names a kernel object ([`ObjRef`]: kind and id; the objects
//!   themselves live elsewhere) with [`Rights`] and a spare `extra` word.
//! - A share is a table of [`Slot`]s in memory its creator hands in; a
//!   [`CapSpace`] keeps up to `MAX_SHARES` of them, named by [`ShareId`], and
//!   a slot anywhere is a [`SlotRef`]. Every share has an [`Owner`]: one core
//!   (a private share: only that core may touch its slots, so the kernel
//!   takes no lock for it) or every core (a shared share, which the kernel
//!   locks). An operation names its `acting_core`; touching another core's
//!   private share is [`Error::NotOwner`] — except the descendants revoke
//!   removes, which it reports with their owner instead.
//! - Derivation: [`CapSpace::insert_original`] makes an object's first
//!   capability (a root); [`CapSpace::copy`] makes a child of its source with
//!   equal or fewer rights; [`CapSpace::revoke`] removes every descendant of a
//!   capability; [`CapSpace::delete`] removes one capability and hands its
//!   children to its parent, as seL4 does.
//!
//! # Tree representation
//!
//! Each slot holds four links, all plain [`SlotRef`]-sized data (no
//! pointers). The children of a capability form a ring that passes through
//! the parent's *head* (`first_child`/`last_child`); siblings link through
//! `prev`/`next`. A link says whether it points at a slot as a sibling or at
//! its head, so the first and last child know their parent in O(1). An
//! object's roots (its original, or the children an original left behind
//! when deleted) form a ring with no head. Every capability of an object is
//! therefore in one family: one root ring and the trees under it.
//!
//! This layout, rather than parent pointers in every child, makes copy,
//! move and delete O(1): they touch the slot, its neighbours and its first
//! and last child, never every child (a widely shared capability can have
//! thousands, each in a cache line another core owns). Revoke is O(number of
//! descendants), iterative, with no stack: it always descends to a first
//! child, whose `prev` is its parent's head. "Is this the last capability to
//! the object?" is O(1) too: only when the slot is the single root of its
//! object and has no children (seL4 answers it from MDB neighbours the same
//! way), so there is no reference-count table.
//!
//! The host model runs operations one at a time; docs/capabilities.md
//! describes how the kernel splits the work between cores and locks.

mod check;
mod slot;
mod space;
mod tree;

#[cfg(test)]
mod tests;

pub use abi::{Error, ObjectKind, Rights};
pub use check::Violation;
pub use slot::Slot;
pub use space::CapSpace;
pub use tree::{Children, CopyPlan, Revoking};

/// A kernel object, as a capability names it. The kernel keeps the objects;
/// here the id is opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjRef {
    /// What kind of object.
    pub kind: ObjectKind,
    /// Which one, among objects of that kind.
    pub id: u32,
}

/// A capability: an object, the rights held to it, and one spare word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cap {
    /// The object the capability names.
    pub obj: ObjRef,
    /// What the holder may do with it. Copies hold the same or fewer.
    pub rights: Rights,
    /// One word set when the capability's family starts and inherited by
    /// every copy: 0 for an original, and for an import into another space
    /// the kernel's export entry (index + 1 in the low 32 bits, its
    /// generation in the high 32; docs/capabilities.md).
    pub extra: u64,
}

/// Names a share in a [`CapSpace`]. Ids are reused after a share is
/// destroyed, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShareId(pub u32);

/// A slot: a share and an index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotRef {
    /// The share holding the slot.
    pub share: ShareId,
    /// Index of the slot, below the share's capacity.
    pub index: u32,
}

impl SlotRef {
    /// Slot `index` of `share`.
    pub const fn new(share: ShareId, index: u32) -> SlotRef {
        SlotRef { share, index }
    }
}

/// Who may touch a share's slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// Private to core `n`: only core `n` touches it, and without a lock.
    Core(u32),
    /// Visible to every core given a capability to it; the kernel locks it.
    Shared,
}

impl Owner {
    /// Whether `core` may touch a share with this owner.
    pub const fn admits(self, core: u32) -> bool {
        match self {
            Owner::Core(n) => n == core,
            Owner::Shared => true,
        }
    }
}

/// A capability an operation removed, reported so the kernel can undo what
/// it mapped and destroy the object when it was the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Removed {
    /// Where it was.
    pub slot: SlotRef,
    /// What it was.
    pub cap: Cap,
    /// The owner of its share: for `Core(n)` other than the acting core, the
    /// kernel finishes the removal on core `n` (docs/capabilities.md).
    pub owner: Owner,
    /// No capability names `cap.obj` any more: the kernel destroys it.
    pub last: bool,
}
