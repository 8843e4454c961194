//! Refusals of unmap and destroy.

use super::*;
use crate::range::USER_TOP;
use abi::Error;

// unmap

#[test]
fn unmap_zero_length() {
    assert_eq!(world().unmap(0x1000, 0), Error::InvalidArgument);
}

#[test]
fn unmap_misaligned() {
    assert_eq!(world().unmap(0x1800, 0x1000), Error::Misaligned);
}

#[test]
fn unmap_past_the_user_half() {
    assert_eq!(world().unmap(USER_TOP - 0x1000, 0x2000), Error::OutOfRange);
}

#[test]
fn unmap_part_of_a_block() {
    assert_eq!(world().unmap(GIB1 + 0x1000, 0x1000), Error::InvalidArgument);
    assert_eq!(world().unmap(0, GIB1 + 0x1000), Error::InvalidArgument);
}

#[test]
fn unmap_across_a_link() {
    assert_eq!(world().unmap(0x4060_0000, 0x1000), Error::InvalidArgument);
    assert_eq!(world().unmap(0, USER_TOP), Error::InvalidArgument);
}

#[test]
fn unmap_an_owned_page() {
    let mut w = world();
    w.root
        .map_owned_page(&mut w.pool, 0x7fff_0000, 0x9000_0000, RW)
        .unwrap();
    assert_eq!(w.unmap(0x7fff_0000, 0x1000), Error::InvalidArgument);
    // A span holding it and a capability's page: refused whole.
    assert_eq!(w.unmap(0, 0x8000_0000), Error::InvalidArgument);
    assert!(w.root.translate(&mut w.pool, 0x7fff_0000).is_some());
    // The capability's page alone still goes.
    w.root.unmap(&mut w.pool, 0x1000, 0x1000).unwrap();
    assert!(w.root.translate(&mut w.pool, 0x1000).is_none());
}

#[test]
fn unmap_an_owned_page_of_a_shared_range() {
    let mut w = world();
    w.shared
        .map_owned_page(&mut w.pool, 0x2000, 0x9000_0000, RW)
        .unwrap();
    let e = w.shared.unmap(&mut w.pool, 0, MIB2).unwrap_err();
    assert_eq!(e, Error::InvalidArgument);
    assert!(w.shared.translate(&mut w.pool, 0x4060_2000).is_some());
}

// destroy

#[test]
fn destroy_a_root_that_links_a_shared_range() {
    let w = world();
    let World { mut pool, root, .. } = w;
    let (root, e) = root.destroy(&mut pool).unwrap_err();
    assert_eq!(e, Error::InvalidArgument);
    assert_eq!(root.count_tables(&mut pool), root.tables());
}

#[test]
fn destroy_a_linked_shared_range() {
    let World {
        mut pool, shared, ..
    } = world();
    let (shared, e) = shared.destroy(&mut pool).unwrap_err();
    assert_eq!(e, Error::InvalidArgument);
    assert_eq!(shared.links(), 1);
}
