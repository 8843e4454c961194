//! The invariant checker catches each kind of corruption (so that a clean
//! result in the other tests means something).

use super::*;
use crate::cap::slot::Link;
use crate::cap::Violation;

/// (0,0) with children (0,1), (0,2); (0,1) with child (0,3).
fn small() -> Space {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, rwg())).unwrap();
    s.copy(0, at(0, 0), at(0, 1), rwg()).unwrap();
    s.copy(0, at(0, 0), at(0, 2), Rights::READ).unwrap();
    s.copy(0, at(0, 1), at(0, 3), Rights::READ).unwrap();
    s.check_invariants().unwrap();
    s
}

#[test]
fn stale_links_in_an_empty_slot() {
    let mut s = small();
    s.node_mut(at(1, 4)).next = Link::node(at(0, 0));
    assert_eq!(s.check_invariants(), Err(Violation::StaleLinks(at(1, 4))));
}

#[test]
fn a_link_to_an_empty_slot_or_a_missing_share() {
    let mut s = small();
    s.node_mut(at(0, 2)).first_child = Link::node(at(0, 6));
    assert_eq!(s.check_invariants(), Err(Violation::DanglingLink(at(0, 2))));
    let mut s = small();
    s.node_mut(at(0, 3)).last_child = Link::node(at(3, 0));
    assert_eq!(s.check_invariants(), Err(Violation::DanglingLink(at(0, 3))));
    let mut s = small();
    s.node_mut(at(0, 3)).last_child = Link::head(at(0, 2));
    assert_eq!(s.check_invariants(), Err(Violation::DanglingLink(at(0, 3))));
}

#[test]
fn a_one_sided_link() {
    let mut s = small();
    s.node_mut(at(0, 2)).prev = Link::node(at(0, 3));
    assert_eq!(
        s.check_invariants(),
        Err(Violation::AsymmetricLink(at(0, 1)))
    );
}

#[test]
fn a_child_that_gained_rights_or_changed_object() {
    let mut s = small();
    s.node_mut(at(0, 3)).cap = Some(seg(1, Rights::EXECUTE));
    assert_eq!(s.check_invariants(), Err(Violation::RightsGrow(at(0, 3))));
    s.node_mut(at(0, 3)).cap = Some(seg(2, Rights::READ));
    assert_eq!(
        s.check_invariants(),
        Err(Violation::ObjectMismatch(at(0, 3)))
    );
}

#[test]
fn two_root_rings_for_one_object() {
    let mut s = small();
    // The precondition of insert_original broken: object 1 has capabilities.
    s.insert_original(1, at(1, 0), seg(1, Rights::ALL)).unwrap();
    assert_eq!(s.check_invariants(), Err(Violation::SplitRoots(at(1, 0))));
}

#[test]
fn a_ring_through_two_heads() {
    let mut s = small();
    // One symmetric ring through both heads:
    // head(0,0) -> (0,1) -> (0,3) -> head(0,1) -> (0,2) -> head(0,0).
    s.node_mut(at(0, 1)).next = Link::node(at(0, 3));
    s.node_mut(at(0, 3)).prev = Link::node(at(0, 1));
    s.node_mut(at(0, 1)).first_child = Link::node(at(0, 2));
    s.node_mut(at(0, 2)).prev = Link::head(at(0, 1));
    assert_eq!(s.check_invariants(), Err(Violation::BrokenRing(at(0, 1))));
}

#[test]
fn a_derivation_cycle() {
    let mut s = space();
    s.insert_original(0, at(0, 0), seg(1, Rights::ALL)).unwrap();
    s.copy(0, at(0, 0), at(0, 1), Rights::ALL).unwrap();
    s.copy(0, at(0, 1), at(0, 2), Rights::ALL).unwrap();
    // Make (0,2) the parent of (0,1), which is the parent of (0,2); (0,0)
    // becomes a childless root.
    s.node_mut(at(0, 0)).first_child = Link::head(at(0, 0));
    s.node_mut(at(0, 0)).last_child = Link::head(at(0, 0));
    s.node_mut(at(0, 1)).prev = Link::head(at(0, 2));
    s.node_mut(at(0, 1)).next = Link::head(at(0, 2));
    s.node_mut(at(0, 2)).first_child = Link::node(at(0, 1));
    s.node_mut(at(0, 2)).last_child = Link::node(at(0, 1));
    assert_eq!(s.check_invariants(), Err(Violation::Cycle));
}
