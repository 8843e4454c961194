//! Refusals of map_range and unlink.

use super::*;
use crate::range::tests::SimPool;
use crate::range::{AddressRange, USER_TOP};
use abi::{Error, Rights};

// map_range

#[test]
fn link_into_a_shared_range_is_refused() {
    let mut w = world();
    let mut s2 = AddressRange::new_shared(&mut w.pool, 0, GIB1).unwrap();
    let e = s2.map_range(&mut w.pool, 0x4060_0000, &mut w.shared, RWX);
    assert_eq!(e, Err(Error::InvalidArgument));
}

#[test]
fn link_of_a_private_range_is_refused() {
    let mut w = world();
    let mut other = AddressRange::new_private(&mut w.pool, 2, 0, USER_TOP).unwrap();
    let e = w.root.map_range(&mut w.pool, 0x4060_0000, &mut other, RWX);
    assert_eq!(e, Err(Error::InvalidArgument));
}

#[test]
fn link_at_an_offset_not_aligned_to_the_shared_size() {
    let mut w = world();
    let mut s = AddressRange::new_shared(&mut w.pool, 0x8000_0000, MIB2).unwrap();
    let e = w.root.map_range(&mut w.pool, 0x8000_1000, &mut s, RWX);
    assert_eq!(e, Err(Error::SharedRangeNotAligned));
    assert_eq!(s.links(), 0);
}

#[test]
fn link_past_the_end_of_the_parent() {
    let mut pool = SimPool::new();
    let mut r = AddressRange::new_private(&mut pool, 1, 0, MIB2 + 0x1000).unwrap();
    let mut s = AddressRange::new_shared(&mut pool, MIB2, MIB2).unwrap();
    assert_eq!(
        r.map_range(&mut pool, MIB2, &mut s, RWX),
        Err(Error::OutOfRange)
    );
}

#[test]
fn link_away_from_the_shared_ranges_base() {
    let mut w = world();
    let mut s = AddressRange::new_shared(&mut w.pool, 0x8000_0000, MIB2).unwrap();
    let e = w.root.map_range(&mut w.pool, 0x8020_0000, &mut s, RWX);
    assert_eq!(e, Err(Error::InvalidArgument));
}

#[test]
fn link_over_a_mapping() {
    let mut w = world();
    let mut s = AddressRange::new_shared(&mut w.pool, GIB1, MIB2).unwrap();
    let e = w.root.map_range(&mut w.pool, GIB1, &mut s, RWX);
    assert_eq!(e, Err(Error::Overlap));
    // A 1 GiB range over the same gigabyte meets the page tables under it.
    let mut g = AddressRange::new_shared(&mut w.pool, GIB1, GIB1).unwrap();
    let e = w.root.map_range(&mut w.pool, GIB1, &mut g, RWX);
    assert_eq!(e, Err(Error::Overlap));
}

#[test]
fn link_twice() {
    let mut w = world();
    let e = w
        .root
        .map_range(&mut w.pool, 0x4060_0000, &mut w.shared, RWX);
    assert_eq!(e, Err(Error::Overlap));
    assert_eq!(w.shared.links(), 1);
}

#[test]
fn link_out_of_tables() {
    let mut pool = SimPool::with_limit(3);
    let mut r = AddressRange::new_private(&mut pool, 1, 0, USER_TOP).unwrap();
    let mut s = AddressRange::new_shared(&mut pool, 0, MIB2).unwrap();
    // Needs L1 and L2; one table left.
    assert_eq!(
        r.map_range(&mut pool, 0, &mut s, RWX),
        Err(Error::OutOfMemory)
    );
    assert_eq!((r.tables(), s.links(), pool.live()), (1, 0, 2));
}

// unlink

#[test]
fn unlink_where_nothing_is_linked() {
    let mut w = world();
    let e = w.root.unlink(&mut w.pool, 0x4080_0000, &mut w.shared);
    assert_eq!(e, Err(Error::InvalidArgument));
    // A mapping is not a link either.
    let e = w.root.unlink(&mut w.pool, GIB1, &mut w.shared);
    assert_eq!(e, Err(Error::InvalidArgument));
    assert_eq!(w.shared.links(), 1);
}

#[test]
fn unlink_another_shared_range() {
    let mut w = world();
    let mut s = AddressRange::new_shared(&mut w.pool, 0x4060_0000, MIB2).unwrap();
    let e = w.root.unlink(&mut w.pool, 0x4060_0000, &mut s);
    assert_eq!(e, Err(Error::InvalidArgument));
}

#[test]
fn unlink_misaligned() {
    let mut w = world();
    let e = w.root.unlink(&mut w.pool, 0x4060_1000, &mut w.shared);
    assert_eq!(e, Err(Error::SharedRangeNotAligned));
}

#[test]
fn unlink_past_the_user_half() {
    let mut w = world();
    let e = w.root.unlink(&mut w.pool, USER_TOP, &mut w.shared);
    assert_eq!(e, Err(Error::OutOfRange));
}

#[test]
fn unlink_from_a_shared_range() {
    let mut w = world();
    let mut s2 = AddressRange::new_shared(&mut w.pool, 0, GIB1).unwrap();
    let e = s2.unlink(&mut w.pool, 0x4060_0000, &mut w.shared);
    assert_eq!(e, Err(Error::InvalidArgument));
}

#[test]
fn link_rights_without_read_or_with_grant() {
    let mut w = world();
    let mut s = AddressRange::new_shared(&mut w.pool, 0x8000_0000, MIB2).unwrap();
    let grant = RW.union(Rights::GRANT);
    for r in [Rights::WRITE, Rights::EXECUTE, grant, Rights::ALL] {
        let e = w.root.map_range(&mut w.pool, 0x8000_0000, &mut s, r);
        assert_eq!(e, Err(Error::InvalidArgument), "{r:?}");
    }
    // Checked first: before the kind of either range.
    let mut other = AddressRange::new_private(&mut w.pool, 2, 0, USER_TOP).unwrap();
    let e = w
        .root
        .map_range(&mut w.pool, 0x4060_0000, &mut other, Rights::WRITE);
    assert_eq!(e, Err(Error::InvalidArgument));
    assert_eq!(s.links(), 0);
}
