//! Tests of the capability tables: exact outcomes of every operation and
//! error (`ops`), revoke trees (`revoke`), the invariant checker itself
//! (`check`), and random operation sequences against a reference model
//! (`model`, `prop`).

extern crate std;

mod check;
mod model;
mod ops;
mod prop;
mod revoke;

use std::boxed::Box;
use std::vec;

use super::{Cap, CapSpace, ObjRef, ObjectKind, Owner, Rights, ShareId, Slot, SlotRef};

/// The space every unit test uses: share 0 private to core 0, share 1
/// private to core 1, share 2 shared; 8 slots each.
type Space = CapSpace<'static, 4>;

const SLOTS: usize = 8;

/// Slot memory for a test: leaked, so the space can be `'static`.
fn storage(len: usize) -> &'static mut [Slot] {
    Box::leak(vec![Slot::EMPTY; len].into_boxed_slice())
}

fn space() -> Space {
    let mut s = Space::new();
    for owner in [Owner::Core(0), Owner::Core(1), Owner::Shared] {
        s.create_share(owner, storage(SLOTS)).unwrap();
    }
    s
}

fn at(share: u32, index: u32) -> SlotRef {
    SlotRef::new(ShareId(share), index)
}

fn seg(id: u32, rights: Rights) -> Cap {
    Cap {
        obj: ObjRef {
            kind: ObjectKind::Segment,
            id,
        },
        rights,
        extra: 0,
    }
}

/// Read, write and grant.
fn rwg() -> Rights {
    Rights::READ.union(Rights::WRITE).union(Rights::GRANT)
}
