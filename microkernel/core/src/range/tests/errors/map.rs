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

// map_frames: a segment's scattered frames in one all-or-nothing operation

/// Scattered frames: page `i` at `0x9000_0000 + i * 12 KiB`.
fn scattered(n: u64) -> impl Iterator<Item = u64> + Clone {
    (0..n).map(|i| 0x9000_0000 + i * 0x3000)
}

#[test]
fn map_frames_maps_each_frame_at_its_page() {
    let mut w = world();
    let va = 0x1000_0000;
    w.root
        .map_frames(&mut w.pool, va, 5 * 0x1000, scattered(5), RW)
        .unwrap();
    for (i, pa) in scattered(5).enumerate() {
        let got = w.root.translate(&mut w.pool, va + i as u64 * 0x1000);
        assert_eq!(got.map(|(p, _)| p), Some(pa), "page {i}");
    }
}

#[test]
fn map_frames_over_a_mapping_changes_nothing() {
    let mut w = world();
    let before = w.pool.live();
    // Pages 0x0000..0x3000: the last but one (0x1000) is mapped.
    assert_eq!(
        w.root
            .map_frames(&mut w.pool, 0, 3 * 0x1000, scattered(3), RW),
        Err(Error::Overlap)
    );
    assert_eq!(w.pool.live(), before);
    assert!(w.root.translate(&mut w.pool, 0).is_none());
    assert!(w.root.translate(&mut w.pool, 0x2000).is_none());
    // Across the linked shared range's last page and past it: refused too.
    assert_eq!(
        w.root
            .map_frames(&mut w.pool, 0x407f_f000, 2 * 0x1000, scattered(2), RW),
        Err(Error::Overlap)
    );
    assert!(w.root.translate(&mut w.pool, 0x4080_0000).is_none());
}

#[test]
fn map_frames_refusals_in_order() {
    let mut w = world();
    let f = |n| scattered(n);
    let rwx = RW.union(Rights::EXECUTE);
    let mut map = |off, len, frames, r| w.root.map_frames(&mut w.pool, off, len, frames, r);
    assert_eq!(
        map(0x10_0000, 0x1000, f(1), rwx),
        Err(Error::InvalidArgument)
    );
    assert_eq!(map(0x10_0000, 0, f(0), RW), Err(Error::InvalidArgument));
    assert_eq!(
        map(0x10_0000, 0x2000, f(1), RW),
        Err(Error::InvalidArgument)
    );
    assert_eq!(map(0x10_0008, 0x1000, f(1), RW), Err(Error::Misaligned));
    let odd = (0..1).map(|_| 0x9000_0800);
    assert_eq!(
        w.root.map_frames(&mut w.pool, 0x10_0000, 0x1000, odd, RW),
        Err(Error::Misaligned)
    );
    assert_eq!(
        w.root
            .map_frames(&mut w.pool, USER_TOP - 0x1000, 0x2000, f(2), RW),
        Err(Error::OutOfRange)
    );
}

#[test]
fn map_frames_out_of_tables_changes_nothing() {
    // Root table plus one: the walk to a fresh L3 needs three.
    let mut pool = SimPool::with_limit(2);
    let mut r = AddressRange::new_private(&mut pool, 1, 0, USER_TOP).unwrap();
    assert_eq!(
        r.map_frames(&mut pool, 0, 2 * 0x1000, scattered(2), RW),
        Err(Error::OutOfMemory)
    );
    assert_eq!(pool.live(), 1);
    assert!(r.translate(&mut pool, 0).is_none());
}
