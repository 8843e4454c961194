//! Refusals of map_segment and of creating ranges.

use super::*;
use crate::range::tests::SimPool;
use crate::range::{AddressRange, SegmentInfo, USER_TOP};
use abi::{Error, Rights};

// map_segment

#[test]
fn map_write_and_execute_is_refused() {
    let r = RW.union(Rights::EXECUTE);
    assert_eq!(
        world().map(0x10_0000, &RAM, 0, 0x1000, r),
        Error::InvalidArgument
    );
}

#[test]
fn map_write_without_read_is_refused() {
    let e = world().map(0x10_0000, &RAM, 0, 0x1000, Rights::WRITE);
    assert_eq!(e, Error::InvalidArgument);
}

#[test]
fn map_with_grant_right_is_refused() {
    let r = Rights::READ.union(Rights::GRANT);
    assert_eq!(
        world().map(0x10_0000, &RAM, 0, 0x1000, r),
        Error::InvalidArgument
    );
}

#[test]
fn map_device_executable_is_refused() {
    let r = Rights::READ.union(Rights::EXECUTE);
    assert_eq!(
        world().map(0x10_0000, &UART, 0, 0x1000, r),
        Error::InvalidArgument
    );
}

#[test]
fn map_malformed_segment_is_refused() {
    let seg = SegmentInfo {
        pa: 0x8000_0800,
        ..RAM
    };
    assert_eq!(
        world().map(0x10_0000, &seg, 0, 0x1000, RW),
        Error::InvalidArgument
    );
}

#[test]
fn map_zero_length_is_refused() {
    assert_eq!(
        world().map(0x10_0000, &RAM, 0, 0, RW),
        Error::InvalidArgument
    );
}

#[test]
fn map_misaligned_offset() {
    assert_eq!(
        world().map(0x10_0800, &RAM, 0, 0x1000, RW),
        Error::Misaligned
    );
}

#[test]
fn map_misaligned_segment_offset() {
    assert_eq!(
        world().map(0x10_0000, &RAM, 0x10, 0x1000, RW),
        Error::Misaligned
    );
}

#[test]
fn map_misaligned_length() {
    assert_eq!(
        world().map(0x10_0000, &RAM, 0, 0x1800, RW),
        Error::Misaligned
    );
}

#[test]
fn map_past_the_user_half() {
    let e = world().map(USER_TOP - 0x1000, &RAM, 0, 0x2000, RW);
    assert_eq!(e, Error::OutOfRange);
    // Offsets that wrap around are out of range too, not overlaps.
    let e = world().map(u64::MAX - 0xfff, &RAM, 0, 0x2000, RW);
    assert_eq!(e, Error::OutOfRange);
}

#[test]
fn map_past_the_end_of_a_smaller_range() {
    let mut pool = SimPool::new();
    let mut r = AddressRange::new_private(&mut pool, 1, 0x10_0000, 0x4000).unwrap();
    assert_eq!(
        r.map_segment(&mut pool, 0x3000, &RAM, 0, 0x2000, RW),
        Err(Error::OutOfRange)
    );
    let mut s = AddressRange::new_shared(&mut pool, 0, MIB2).unwrap();
    assert_eq!(
        s.map_segment(&mut pool, MIB2 - 0x1000, &RAM, 0, 0x2000, RW),
        Err(Error::OutOfRange)
    );
}

#[test]
fn map_past_the_end_of_the_segment() {
    let e = world().map(0x10_0000, &RAM, 0xf_f000, 0x2000, RW);
    assert_eq!(e, Error::TooSmall);
}

#[test]
fn map_over_a_page() {
    assert_eq!(world().map(0, &RAM, 0, 0x2000, RW), Error::Overlap);
}

#[test]
fn map_inside_a_block() {
    assert_eq!(
        world().map(GIB1 + 0x5000, &RAM, 0, 0x1000, RW),
        Error::Overlap
    );
}

#[test]
fn map_inside_a_linked_shared_range() {
    assert_eq!(
        world().map(0x4060_1000, &RAM, 0, 0x1000, RW),
        Error::Overlap
    );
}

#[test]
fn map_out_of_tables() {
    let mut pool = SimPool::with_limit(1);
    let mut r = AddressRange::new_private(&mut pool, 1, 0, USER_TOP).unwrap();
    assert_eq!(
        r.map_segment(&mut pool, 0, &RAM, 0, 0x1000, RW),
        Err(Error::OutOfMemory)
    );
}

// creating ranges

#[test]
fn shared_range_of_another_size() {
    let mut pool = SimPool::new();
    assert_eq!(
        AddressRange::new_shared(&mut pool, 0, 2 * MIB2),
        Err(Error::SharedRangeNotAligned)
    );
}

#[test]
fn shared_range_not_aligned_to_its_size() {
    let mut pool = SimPool::new();
    assert_eq!(
        AddressRange::new_shared(&mut pool, GIB1 + MIB2, GIB1),
        Err(Error::SharedRangeNotAligned)
    );
}

#[test]
fn shared_range_in_the_kernel_half() {
    let mut pool = SimPool::new();
    assert_eq!(
        AddressRange::new_shared(&mut pool, 0xffff_0000_0000_0000, MIB2),
        Err(Error::OutOfRange)
    );
}

#[test]
fn private_range_misaligned() {
    let mut pool = SimPool::new();
    assert_eq!(
        AddressRange::new_private(&mut pool, 1, 0x800, 0x1000),
        Err(Error::Misaligned)
    );
}

#[test]
fn private_range_empty() {
    let mut pool = SimPool::new();
    assert_eq!(
        AddressRange::new_private(&mut pool, 1, 0, 0),
        Err(Error::InvalidArgument)
    );
}

#[test]
fn private_range_in_the_kernel_half() {
    let mut pool = SimPool::new();
    assert_eq!(
        AddressRange::new_private(&mut pool, 1, USER_TOP - 0x1000, 0x2000),
        Err(Error::OutOfRange)
    );
}

#[test]
fn range_out_of_tables() {
    let mut pool = SimPool::with_limit(0);
    assert_eq!(
        AddressRange::new_shared(&mut pool, 0, MIB2),
        Err(Error::OutOfMemory)
    );
}
