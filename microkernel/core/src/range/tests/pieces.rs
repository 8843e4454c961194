//! A long mapping unmapped a piece at a time from its front
//! ([`front_piece`]), as the kernel's revoke undoes a mapping record: no
//! piece may split a 2 MiB block, or the unmap of that piece is refused
//! and the block stays mapped after the revoke.

use super::*;
use crate::range::{front_piece, AddressRange, SegmentInfo, USER_TOP};
use abi::Rights;

const MIB2: u64 = 0x20_0000;

/// A device segment of 4 MiB, 2 MiB-aligned: a mapping of it where the
/// address is congruent gets a 2 MiB block.
const DEVICE: SegmentInfo = SegmentInfo {
    pa: 0x1000_0000,
    size: 2 * MIB2,
    device: true,
};

/// Unmaps `pages` pages at `va` in `a` in [`front_piece`]'s pieces, each
/// refusal counted.
fn unmap_in_pieces(a: &mut AddressRange, pool: &mut SimPool, mut va: u64, mut pages: u64) -> u32 {
    let mut refused = 0;
    while let Some(n) = front_piece(va, pages) {
        assert!((1..=512).contains(&n), "a piece of {n} pages");
        refused += a.unmap(pool, va, n * PAGE_SIZE).is_err() as u32;
        va += n * PAGE_SIZE;
        pages -= n;
    }
    refused += a.unmap(pool, va, pages * PAGE_SIZE).is_err() as u32;
    refused
}

#[test]
fn pieces_never_split_a_block() {
    // From the segment's second page at an address one page past a 2 MiB
    // boundary: 511 pages, then one 2 MiB block.
    let (va, off, len) = (0x4020_1000, PAGE_SIZE, 2 * MIB2 - PAGE_SIZE);
    let mut pool = SimPool::new();
    let mut a = AddressRange::new_private(&mut pool, 3, 0, USER_TOP).unwrap();
    a.map_segment(&mut pool, va, &DEVICE, off, len, Rights::READ)
        .unwrap();
    let block = 0x4040_0000;
    assert_eq!(
        a.translate(&mut pool, block + MIB2 - 8).map(|(pa, _)| pa),
        Some(DEVICE.pa + 2 * MIB2 - 8)
    );
    assert_eq!(unmap_in_pieces(&mut a, &mut pool, va, len / PAGE_SIZE), 0);
    for at in (va..va + len).step_by(PAGE_SIZE as usize) {
        assert_eq!(a.translate(&mut pool, at), None, "{at:#x} still mapped");
    }
}

#[test]
fn pieces_of_an_aligned_span_are_2_mib() {
    assert_eq!(front_piece(0x4000_0000, 4096), Some(512));
    assert_eq!(front_piece(0x4000_0000, 513), Some(512));
    assert_eq!(front_piece(0x4000_0000, 512), None);
    assert_eq!(front_piece(0x4020_1000, 1023), Some(511));
    assert_eq!(front_piece(0x4020_1000, 511), None);
    assert_eq!(front_piece(0x403f_f000, 2), Some(1));
}
