//! Every operation's effect and every error, exactly, in the documented
//! order of checks.

use super::*;
use crate::cap::{Error, Removed};
use std::vec::Vec;

#[test]
fn a_slot_is_one_cache_line() {
    assert_eq!(core::mem::size_of::<Slot>(), 64);
    assert_eq!(core::mem::align_of::<Slot>(), 64);
}

#[test]
fn shares_get_the_lowest_free_id_until_the_table_is_full() {
    let mut s = CapSpace::<'static, 2>::new();
    assert_eq!(s.create_share(Owner::Core(3), storage(4)), Ok(ShareId(0)));
    assert_eq!(s.create_share(Owner::Shared, storage(2)), Ok(ShareId(1)));
    assert_eq!(
        s.create_share(Owner::Shared, storage(1)),
        Err(Error::OutOfMemory)
    );
    assert_eq!(s.owner(ShareId(0)), Ok(Owner::Core(3)));
    assert_eq!(s.capacity(ShareId(1)), Ok(2));
    assert_eq!(s.owner(ShareId(2)), Err(Error::InvalidCapability));
    assert_eq!(s.capacity(ShareId(9)), Err(Error::InvalidCapability));
    let back = s.destroy_share(3, ShareId(0), |_| panic!()).unwrap();
    assert_eq!(back.len(), 4);
    assert_eq!(s.owner(ShareId(0)), Err(Error::InvalidCapability));
    assert_eq!(s.create_share(Owner::Core(1), back), Ok(ShareId(0)));
    assert_eq!(s.owner(ShareId(0)), Ok(Owner::Core(1)));
    s.check_invariants().unwrap();
}

#[test]
fn lookup_errors_come_in_the_documented_order() {
    let mut s = space();
    s.insert_original(0, at(0, 1), seg(1, Rights::READ))
        .unwrap();
    // No such share, whatever the index.
    assert_eq!(s.lookup(0, at(3, 0)), Err(Error::InvalidCapability));
    assert_eq!(s.lookup(0, at(u32::MAX, 0)), Err(Error::InvalidCapability));
    // Another core's private share: NotOwner, even past its end.
    assert_eq!(s.lookup(1, at(0, 1)), Err(Error::NotOwner));
    assert_eq!(s.lookup(1, at(0, 99)), Err(Error::NotOwner));
    // Past the end, then empty.
    assert_eq!(s.lookup(0, at(0, 8)), Err(Error::InvalidCapability));
    assert_eq!(s.lookup(0, at(0, 0)), Err(Error::InvalidCapability));
    assert_eq!(s.lookup(0, at(0, 1)), Ok(seg(1, Rights::READ)));
}

#[test]
fn a_shared_share_admits_every_core() {
    let mut s = space();
    s.insert_original(5, at(2, 7), seg(1, Rights::ALL)).unwrap();
    for core in [0, 1, 2, 77] {
        assert_eq!(s.lookup(core, at(2, 7)), Ok(seg(1, Rights::ALL)));
    }
}

#[test]
fn lookup_kind_checks_kind_before_rights() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::READ))
        .unwrap();
    let lk = |kind, r| s.lookup_kind(0, at(0, 0), kind, r);
    assert_eq!(
        lk(ObjectKind::Share, Rights::ALL),
        Err(Error::WrongObjectKind)
    );
    assert_eq!(
        lk(ObjectKind::Segment, Rights::WRITE),
        Err(Error::MissingRights)
    );
    assert_eq!(
        lk(ObjectKind::Segment, Rights::READ),
        Ok(seg(1, Rights::READ))
    );
    assert_eq!(
        lk(ObjectKind::Segment, Rights::NONE),
        Ok(seg(1, Rights::READ))
    );
    assert_eq!(
        s.lookup_kind(0, at(0, 1), ObjectKind::Segment, Rights::NONE),
        Err(Error::InvalidCapability)
    );
    assert_eq!(
        s.lookup_kind(1, at(0, 0), ObjectKind::Share, Rights::ALL),
        Err(Error::NotOwner)
    );
}

#[test]
fn insert_original_errors() {
    let mut s = space();
    let c = seg(1, Rights::ALL);
    assert_eq!(
        s.insert_original(0, at(5, 0), c),
        Err(Error::InvalidCapability)
    );
    assert_eq!(s.insert_original(1, at(0, 0), c), Err(Error::NotOwner));
    assert_eq!(
        s.insert_original(0, at(0, 8), c),
        Err(Error::InvalidCapability)
    );
    assert_eq!(s.insert_original(0, at(0, 0), c), Ok(()));
    assert_eq!(
        s.insert_original(0, at(0, 0), seg(2, Rights::ALL)),
        Err(Error::SlotOccupied)
    );
    assert_eq!(s.lookup(0, at(0, 0)), Ok(c));
    assert_eq!(s.parent(at(0, 0)), None);
    s.check_invariants().unwrap();
}

#[test]
fn check_empty_predicts_insert_original_and_changes_nothing() {
    let mut s = space();
    let c = seg(1, Rights::ALL);
    s.insert_original(0, at(0, 0), c).unwrap();
    let cases = [
        (0, at(5, 0)),
        (1, at(0, 0)),
        (0, at(0, 8)),
        (0, at(0, 0)),
        (0, at(0, 1)),
    ];
    for (core, slot) in cases {
        let predicted = s.check_empty(core, slot);
        assert_eq!(s.lookup(0, at(0, 1)), Err(Error::InvalidCapability));
        let mut t = space();
        t.insert_original(0, at(0, 0), c).unwrap();
        assert_eq!(
            t.insert_original(core, slot, seg(2, Rights::ALL)),
            predicted,
            "{slot:?} on core {core}"
        );
    }
    assert_eq!(s.check_empty(0, at(0, 0)), Err(Error::SlotOccupied));
    assert_eq!(s.check_empty(0, at(0, 1)), Ok(()));
    s.check_invariants().unwrap();
}

#[test]
fn check_copy_predicts_copy_and_changes_nothing() {
    let fresh = || {
        let mut s = space();
        s.insert_original(0, at(0, 0), seg(1, rwg())).unwrap();
        s.insert_original(0, at(0, 1), seg(2, Rights::READ))
            .unwrap();
        s.insert_original(2, at(2, 0), seg(3, Rights::READ))
            .unwrap();
        s
    };
    let cases = [
        (0, at(0, 0), at(0, 2)),  // fine
        (0, at(0, 5), at(0, 2)),  // empty source
        (0, at(9, 0), at(0, 2)),  // no such share
        (1, at(0, 0), at(1, 2)),  // another core's private share
        (0, at(0, 0), at(0, 1)),  // full destination
        (0, at(0, 0), at(0, 99)), // past the capacity
        (0, at(0, 1), at(2, 3)),  // another share without GRANT
        (0, at(0, 0), at(2, 3)),  // another share with GRANT
    ];
    for (core, src, dst) in cases {
        let s = fresh();
        let predicted = s.check_copy(core, src, dst);
        assert_eq!(s.lookup(0, at(0, 2)), Err(Error::InvalidCapability));
        let mut t = fresh();
        let got = t.copy(core, src, dst, Rights::ALL);
        assert_eq!(got.map(|_| ()), predicted.map(|_| ()), "{src:?} -> {dst:?}");
        // A plan that is not committed changes nothing either.
        let mut u = fresh();
        let planned = u.plan_copy(core, src, dst).map(|p| p.source());
        assert_eq!(planned, predicted);
        // A plan from a source looked up before: the same checks after
        // it, and committed, the same copy.
        let mut v = fresh();
        if v.lookup(core, src).is_ok() {
            let found = v.plan_copy_found(core, src, dst);
            assert_eq!(
                found.as_ref().map(|p| p.source()),
                predicted.as_ref().copied()
            );
            if let Ok(plan) = found {
                plan.commit(Rights::ALL);
                assert_eq!(
                    v.lookup(core, dst),
                    t.lookup(core, dst),
                    "{src:?} -> {dst:?}"
                );
            }
            v.check_invariants().unwrap();
        }
        assert_eq!(u.lookup(0, at(0, 2)), Err(Error::InvalidCapability));
        u.check_invariants().unwrap();
        s.check_invariants().unwrap();
    }
}

#[test]
fn has_free_share_predicts_create_share() {
    let mut s = CapSpace::<'static, 1>::new();
    assert!(s.has_free_share());
    s.create_share(Owner::Shared, storage(1)).unwrap();
    assert!(!s.has_free_share());
    assert_eq!(
        s.create_share(Owner::Shared, storage(1)),
        Err(Error::OutOfMemory)
    );
}

#[test]
fn copy_keeps_only_masked_rights_and_makes_a_child() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, rwg())).unwrap();
    let got = s.copy(0, at(0, 0), at(0, 1), Rights::READ.union(Rights::EXECUTE));
    assert_eq!(got, Ok(seg(1, Rights::READ)));
    assert_eq!(s.lookup(0, at(0, 1)), Ok(seg(1, Rights::READ)));
    // A copy of a copy cannot win back rights, even with a full mask.
    assert_eq!(
        s.copy(0, at(0, 1), at(0, 2), Rights::ALL),
        Ok(seg(1, Rights::READ))
    );
    assert_eq!(s.parent(at(0, 1)), Some(at(0, 0)));
    assert_eq!(s.parent(at(0, 2)), Some(at(0, 1)));
    s.copy(0, at(0, 0), at(0, 3), Rights::NONE).unwrap();
    let kids: Vec<_> = s.children(at(0, 0)).collect();
    assert_eq!(kids, [at(0, 1), at(0, 3)]);
    s.check_invariants().unwrap();
}

#[test]
fn copy_errors_come_in_the_documented_order() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::READ))
        .unwrap();
    s.insert_original(0, at(0, 1), seg(2, Rights::ALL)).unwrap();
    s.insert_original(1, at(1, 0), seg(3, Rights::ALL)).unwrap();
    let all = Rights::ALL;
    // Source first: missing share, not owner, past the end, empty.
    assert_eq!(
        s.copy(0, at(3, 0), at(0, 9), all),
        Err(Error::InvalidCapability)
    );
    assert_eq!(s.copy(0, at(1, 0), at(0, 2), all), Err(Error::NotOwner));
    assert_eq!(
        s.copy(0, at(0, 8), at(0, 2), all),
        Err(Error::InvalidCapability)
    );
    assert_eq!(
        s.copy(0, at(0, 5), at(1, 9), all),
        Err(Error::InvalidCapability)
    );
    // Then the destination: missing share, not owner, past the end, full.
    assert_eq!(
        s.copy(0, at(0, 0), at(3, 0), all),
        Err(Error::InvalidCapability)
    );
    assert_eq!(s.copy(0, at(0, 1), at(1, 1), all), Err(Error::NotOwner));
    assert_eq!(
        s.copy(0, at(0, 0), at(0, 8), all),
        Err(Error::InvalidCapability)
    );
    assert_eq!(s.copy(0, at(0, 0), at(0, 1), all), Err(Error::SlotOccupied));
    assert_eq!(s.copy(0, at(0, 0), at(0, 0), all), Err(Error::SlotOccupied));
    // Then GRANT, only when leaving the share.
    assert_eq!(
        s.copy(0, at(0, 0), at(2, 0), all),
        Err(Error::MissingRights)
    );
    assert_eq!(s.copy(0, at(0, 0), at(0, 2), all), Ok(seg(1, Rights::READ)));
    assert_eq!(s.copy(0, at(0, 1), at(2, 0), all), Ok(seg(2, Rights::ALL)));
    // A grant-less copy cannot leave its share either.
    s.copy(0, at(0, 1), at(0, 3), Rights::READ).unwrap();
    assert_eq!(
        s.copy(0, at(0, 3), at(2, 1), all),
        Err(Error::MissingRights)
    );
    s.check_invariants().unwrap();
}

#[test]
fn move_keeps_the_place_in_the_tree() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::ALL)).unwrap();
    for i in 1..4 {
        s.copy(0, at(0, 0), at(0, i), Rights::ALL).unwrap();
    }
    s.copy(0, at(0, 2), at(0, 4), Rights::READ).unwrap();
    s.copy(0, at(0, 2), at(0, 5), Rights::READ).unwrap();
    // The middle child, which has children of its own, moves to share 2.
    assert_eq!(s.move_cap(0, at(0, 2), at(2, 6)), Ok(()));
    assert_eq!(s.lookup(0, at(0, 2)), Err(Error::InvalidCapability));
    assert_eq!(s.lookup(0, at(2, 6)), Ok(seg(1, Rights::ALL)));
    let kids: Vec<_> = s.children(at(0, 0)).collect();
    assert_eq!(kids, [at(0, 1), at(2, 6), at(0, 3)]);
    let grandkids: Vec<_> = s.children(at(2, 6)).collect();
    assert_eq!(grandkids, [at(0, 4), at(0, 5)]);
    assert_eq!(s.parent(at(0, 5)), Some(at(2, 6)));
    // The root moves too; a lone root stays a lone root.
    s.move_cap(0, at(0, 0), at(0, 7)).unwrap();
    assert_eq!(s.parent(at(0, 1)), Some(at(0, 7)));
    assert_eq!(s.parent(at(0, 7)), None);
    s.insert_original(1, at(1, 0), seg(2, Rights::NONE))
        .unwrap();
    s.move_cap(1, at(1, 0), at(1, 1)).unwrap();
    assert_eq!(s.parent(at(1, 1)), None);
    assert_eq!(s.children(at(1, 1)).count(), 0);
    s.check_invariants().unwrap();
}

#[test]
fn move_errors_come_in_the_documented_order() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::READ))
        .unwrap();
    s.insert_original(0, at(0, 1), seg(2, Rights::GRANT))
        .unwrap();
    assert_eq!(
        s.move_cap(0, at(0, 2), at(0, 3)),
        Err(Error::InvalidCapability)
    );
    assert_eq!(s.move_cap(1, at(0, 0), at(1, 3)), Err(Error::NotOwner));
    assert_eq!(s.move_cap(0, at(0, 0), at(1, 3)), Err(Error::NotOwner));
    assert_eq!(
        s.move_cap(0, at(0, 0), at(0, 8)),
        Err(Error::InvalidCapability)
    );
    assert_eq!(s.move_cap(0, at(0, 0), at(0, 0)), Err(Error::SlotOccupied));
    assert_eq!(s.move_cap(0, at(0, 0), at(0, 1)), Err(Error::SlotOccupied));
    assert_eq!(s.move_cap(0, at(0, 0), at(2, 0)), Err(Error::MissingRights));
    assert_eq!(s.move_cap(0, at(0, 0), at(0, 5)), Ok(()));
    assert_eq!(s.move_cap(0, at(0, 1), at(2, 0)), Ok(()));
    assert_eq!(s.lookup(1, at(2, 0)), Ok(seg(2, Rights::GRANT)));
    s.check_invariants().unwrap();
}

#[test]
fn delete_hands_children_to_the_parent_in_place() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::ALL)).unwrap();
    for i in 1..4 {
        s.copy(0, at(0, 0), at(0, i), Rights::ALL).unwrap();
    }
    s.copy(0, at(0, 2), at(2, 0), Rights::READ).unwrap();
    s.copy(0, at(0, 2), at(2, 1), Rights::WRITE).unwrap();
    let gone = s.delete(0, at(0, 2)).unwrap();
    let want = Removed {
        slot: at(0, 2),
        cap: seg(1, Rights::ALL),
        owner: Owner::Core(0),
        last: false,
    };
    assert_eq!(gone, want);
    let kids: Vec<_> = s.children(at(0, 0)).collect();
    assert_eq!(kids, [at(0, 1), at(2, 0), at(2, 1), at(0, 3)]);
    assert_eq!(s.parent(at(2, 1)), Some(at(0, 0)));
    s.check_invariants().unwrap();
}

#[test]
fn deleting_a_root_leaves_its_children_as_separate_roots() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::ALL)).unwrap();
    s.copy(0, at(0, 0), at(0, 1), Rights::ALL).unwrap();
    s.copy(0, at(0, 0), at(0, 2), Rights::ALL).unwrap();
    s.copy(0, at(0, 1), at(0, 3), Rights::ALL).unwrap();
    assert!(!s.delete(0, at(0, 0)).unwrap().last);
    assert_eq!(s.parent(at(0, 1)), None);
    assert_eq!(s.parent(at(0, 2)), None);
    assert_eq!(s.parent(at(0, 3)), Some(at(0, 1)));
    s.check_invariants().unwrap();
    // Revoking one former sibling leaves the other alone.
    let mut seen = Vec::new();
    assert_eq!(s.revoke(0, at(0, 2), |r| seen.push(r.slot)), Ok(0));
    assert_eq!(s.revoke(0, at(0, 1), |r| seen.push(r.slot)), Ok(1));
    assert_eq!(seen, [at(0, 3)]);
    assert!(!s.delete(0, at(0, 1)).unwrap().last);
    assert!(s.delete(0, at(0, 2)).unwrap().last);
    s.check_invariants().unwrap();
}

#[test]
fn delete_reports_the_last_capability_to_an_object() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::ALL)).unwrap();
    s.insert_original(0, at(0, 1), seg(2, Rights::ALL)).unwrap();
    s.copy(0, at(0, 0), at(2, 0), Rights::ALL).unwrap();
    assert!(!s.delete(0, at(2, 0)).unwrap().last);
    assert!(s.delete(0, at(0, 0)).unwrap().last);
    s.copy(0, at(0, 1), at(1, 0), Rights::ALL).unwrap_err();
    s.copy(0, at(0, 1), at(2, 3), Rights::ALL).unwrap();
    let r = s.delete(0, at(0, 1)).unwrap();
    assert!(!r.last);
    let r = s.delete(7, at(2, 3)).unwrap();
    assert_eq!((r.owner, r.last), (Owner::Shared, true));
    s.check_invariants().unwrap();
}

#[test]
fn delete_errors() {
    let mut s = space();
    s.insert_original(1, at(1, 0), seg(1, Rights::ALL)).unwrap();
    assert_eq!(s.delete(0, at(4, 0)), Err(Error::InvalidCapability));
    assert_eq!(s.delete(0, at(1, 0)), Err(Error::NotOwner));
    assert_eq!(s.delete(1, at(1, 8)), Err(Error::InvalidCapability));
    assert_eq!(s.delete(1, at(1, 1)), Err(Error::InvalidCapability));
    assert_eq!(s.lookup(1, at(1, 0)), Ok(seg(1, Rights::ALL)));
}

#[test]
fn destroy_share_deletes_in_index_order_and_returns_the_memory() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::ALL)).unwrap();
    s.copy(0, at(0, 0), at(2, 5), Rights::ALL).unwrap();
    s.copy(1, at(2, 5), at(2, 2), Rights::READ).unwrap();
    s.copy(0, at(2, 5), at(0, 1), Rights::READ).unwrap();
    s.insert_original(3, at(2, 7), seg(2, Rights::ALL)).unwrap();
    assert_eq!(
        s.destroy_share(0, ShareId(3), |_| {}).unwrap_err(),
        Error::InvalidCapability
    );
    assert_eq!(
        s.destroy_share(0, ShareId(1), |_| {}).unwrap_err(),
        Error::NotOwner
    );
    let mut seen = Vec::new();
    let back = s.destroy_share(1, ShareId(2), |r| seen.push(r)).unwrap();
    let shared = |index, rights, last| Removed {
        slot: at(2, index),
        cap: seg(if index == 7 { 2 } else { 1 }, rights),
        owner: Owner::Shared,
        last,
    };
    let want = [
        shared(2, Rights::READ, false),
        shared(5, Rights::ALL, false),
        shared(7, Rights::ALL, true),
    ];
    assert_eq!(seen, want);
    assert!(back.iter().all(|slot| slot.cap().is_none()));
    // What hung off the destroyed share now hangs off its parent.
    assert_eq!(s.parent(at(0, 1)), Some(at(0, 0)));
    s.check_invariants().unwrap();
    assert_eq!(s.lookup(0, at(2, 0)), Err(Error::InvalidCapability));
    assert_eq!(s.create_share(Owner::Shared, back), Ok(ShareId(2)));
    s.check_invariants().unwrap();
}

#[test]
fn parent_and_children_of_nothing_are_empty() {
    let s = space();
    assert_eq!(s.parent(at(0, 0)), None);
    assert_eq!(s.parent(at(9, 0)), None);
    assert_eq!(s.parent(at(0, 99)), None);
    assert_eq!(s.children(at(0, 0)).count(), 0);
    assert_eq!(s.children(at(9, 0)).count(), 0);
}
