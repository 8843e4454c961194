//! Revoke over trees: several levels, across shares and owners, exact
//! post-order reports; and trees too deep or wide for any recursion.

use super::*;
use crate::cap::{Error, Removed};
use std::vec::Vec;

/// Root at (0,0) owned by core 0:
///
/// ```text
/// (0,0) ALL
/// ├── (1,0) rwg         core 1's private share
/// │   ├── (1,1) R
/// │   └── (2,0) RG      shared
/// │       └── (0,3) R
/// ├── (2,1) RW
/// └── (0,1) RG
///     └── (0,2) G
/// ```
fn tree() -> Space {
    let mut s = space();
    let r = Rights::READ;
    let g = Rights::GRANT;
    s.insert_original(0, at(0, 0), seg(1, Rights::ALL)).unwrap();
    s.copy(0, at(0, 0), at(1, 0), rwg()).unwrap_err(); // core 0 may not write core 1's share
    s.copy(0, at(0, 0), at(2, 7), rwg()).unwrap();
    s.move_cap(1, at(2, 7), at(1, 0)).unwrap(); // core 1 takes it into its own share
    s.copy(1, at(1, 0), at(1, 1), r).unwrap();
    s.copy(1, at(1, 0), at(2, 0), r.union(g)).unwrap();
    s.copy(0, at(2, 0), at(0, 3), r).unwrap();
    s.copy(0, at(0, 0), at(2, 1), r.union(Rights::WRITE))
        .unwrap();
    s.copy(0, at(0, 0), at(0, 1), r.union(g)).unwrap();
    s.copy(0, at(0, 1), at(0, 2), g).unwrap();
    s.check_invariants().unwrap();
    s
}

fn removed(share: u32, index: u32, rights: Rights, owner: Owner) -> Removed {
    Removed {
        slot: at(share, index),
        cap: seg(1, rights),
        owner,
        last: false,
    }
}

#[test]
fn revoke_reports_every_descendant_children_first() {
    let mut s = tree();
    let mut seen = Vec::new();
    assert_eq!(s.revoke(0, at(0, 0), |r| seen.push(r)), Ok(7));
    let (r, g, c0, c1, sh) = (
        Rights::READ,
        Rights::GRANT,
        Owner::Core(0),
        Owner::Core(1),
        Owner::Shared,
    );
    let want = [
        removed(1, 1, r, c1),
        removed(0, 3, r, c0),
        removed(2, 0, r.union(g), sh),
        removed(1, 0, rwg(), c1),
        removed(2, 1, r.union(Rights::WRITE), sh),
        removed(0, 2, g, c0),
        removed(0, 1, r.union(g), c0),
    ];
    assert_eq!(seen, want);
    // The revoked capability stays, alone.
    assert_eq!(s.lookup(0, at(0, 0)), Ok(seg(1, Rights::ALL)));
    assert_eq!(s.children(at(0, 0)).count(), 0);
    for (share, index) in [(1, 0), (1, 1), (2, 0), (2, 1), (0, 1), (0, 2), (0, 3)] {
        let core = if share == 1 { 1 } else { 0 };
        assert_eq!(
            s.lookup(core, at(share, index)),
            Err(Error::InvalidCapability)
        );
    }
    s.check_invariants().unwrap();
    assert!(s.delete(0, at(0, 0)).unwrap().last);
}

#[test]
fn revoke_of_an_inner_capability_leaves_the_rest() {
    let mut s = tree();
    let mut seen = Vec::new();
    // Core 1 revokes what it handed on from its own share.
    assert_eq!(s.revoke(1, at(1, 0), |r| seen.push(r.slot)), Ok(3));
    assert_eq!(seen, [at(1, 1), at(0, 3), at(2, 0)]);
    let kids: Vec<_> = s.children(at(0, 0)).collect();
    assert_eq!(kids, [at(1, 0), at(2, 1), at(0, 1)]);
    assert_eq!(s.children(at(0, 1)).collect::<Vec<_>>(), [at(0, 2)]);
    s.check_invariants().unwrap();
}

#[test]
fn revoke_of_a_leaf_removes_nothing() {
    let mut s = tree();
    assert_eq!(
        s.revoke(0, at(0, 2), |_| panic!("nothing to remove")),
        Ok(0)
    );
    assert_eq!(s.lookup(0, at(0, 2)), Ok(seg(1, Rights::GRANT)));
    s.check_invariants().unwrap();
}

#[test]
fn revoke_errors() {
    let mut s = tree();
    let none = |_| panic!("must not remove");
    assert_eq!(s.revoke(0, at(3, 0), none), Err(Error::InvalidCapability));
    assert_eq!(s.revoke(0, at(1, 0), none), Err(Error::NotOwner));
    assert_eq!(s.revoke(0, at(0, 8), none), Err(Error::InvalidCapability));
    assert_eq!(s.revoke(0, at(0, 7), none), Err(Error::InvalidCapability));
    s.check_invariants().unwrap();
}

#[test]
fn revoke_reaches_through_deleted_and_moved_capabilities() {
    let mut s = tree();
    // Delete an inner capability and move another: their descendants stay
    // under the root.
    s.delete(1, at(1, 0)).unwrap();
    s.move_cap(0, at(0, 1), at(2, 4)).unwrap();
    let mut seen = Vec::new();
    assert_eq!(s.revoke(2, at(2, 4), |r| seen.push(r.slot)), Ok(1));
    assert_eq!(seen, [at(0, 2)]);
    seen.clear();
    assert_eq!(s.revoke(0, at(0, 0), |r| seen.push(r.slot)), Ok(5));
    assert_eq!(seen, [at(1, 1), at(0, 3), at(2, 0), at(2, 1), at(2, 4)]);
    s.check_invariants().unwrap();
}

#[test]
fn revoke_after_revoke_and_regrow() {
    let mut s = tree();
    s.revoke(0, at(0, 0), |_| {}).unwrap();
    s.copy(0, at(0, 0), at(0, 1), Rights::ALL).unwrap();
    s.copy(0, at(0, 1), at(0, 2), Rights::ALL).unwrap();
    let mut seen = Vec::new();
    assert_eq!(s.revoke(0, at(0, 0), |r| seen.push(r.slot)), Ok(2));
    assert_eq!(seen, [at(0, 2), at(0, 1)]);
    s.check_invariants().unwrap();
}

/// A chain 20 000 deep: any recursion would need a stack no kernel has.
#[test]
fn revoke_of_a_deep_chain_is_iterative() {
    const N: u32 = 20_000;
    let mut s = CapSpace::<'static, 1>::new();
    let sh = s.create_share(Owner::Core(0), storage(N as usize)).unwrap();
    s.insert_original(0, SlotRef::new(sh, 0), seg(1, Rights::ALL))
        .unwrap();
    for i in 1..N {
        let (src, dst) = (SlotRef::new(sh, i - 1), SlotRef::new(sh, i));
        s.copy(0, src, dst, Rights::ALL).unwrap();
    }
    let mut next = N - 1;
    let got = s.revoke(0, SlotRef::new(sh, 0), |r| {
        assert_eq!(r.slot.index, next);
        next -= 1;
    });
    assert_eq!(got, Ok(N - 1));
    assert_eq!(next, 0);
    s.check_invariants().unwrap();
}

/// 20 000 children, each in turn moved and deleted: O(1) each, so fast.
#[test]
fn wide_trees_move_delete_and_revoke_in_order() {
    const N: u32 = 20_000;
    let mut s = CapSpace::<'static, 2>::new();
    let a = s
        .create_share(Owner::Core(0), storage(N as usize + 1))
        .unwrap();
    let b = s.create_share(Owner::Shared, storage(N as usize)).unwrap();
    let root = SlotRef::new(a, 0);
    s.insert_original(0, root, seg(1, Rights::ALL)).unwrap();
    for i in 1..=N {
        s.copy(0, root, SlotRef::new(a, i), Rights::ALL).unwrap();
    }
    for i in (2..=N).step_by(2) {
        s.move_cap(0, SlotRef::new(a, i), SlotRef::new(b, i - 1))
            .unwrap();
    }
    for i in (3..=N).step_by(4) {
        s.delete(0, SlotRef::new(a, i)).unwrap();
    }
    assert_eq!(s.parent(SlotRef::new(b, N - 1)), Some(root));
    let mut seen = Vec::new();
    s.revoke(0, root, |r| seen.push(r.slot)).unwrap();
    let want: Vec<_> = (1..=N)
        .filter(|i| i % 4 != 3)
        .map(|i| {
            if i % 2 == 0 {
                SlotRef::new(b, i - 1)
            } else {
                SlotRef::new(a, i)
            }
        })
        .collect();
    assert_eq!(seen, want);
    s.check_invariants().unwrap();
}
