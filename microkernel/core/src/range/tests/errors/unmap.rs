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

// unmap in pieces

/// A span of four pages in two 2 MiB pieces and the block, unmapped a
/// piece at a time: each piece ends where the 2 MiB of its first mapping
/// (or its block) ends, removes what lies before, and says how far the
/// span is clear; the last reaches the end.
#[test]
fn unmap_in_pieces() {
    let mut w = world();
    for at in [0x3000, MIB2 + 0x5000] {
        w.root
            .map_segment(&mut w.pool, at, &RAM, 0x1000, 0x1000, RW)
            .unwrap();
    }
    let tables = w.root.tables();
    let (len, mut done, mut pieces) = (GIB1 + MIB2, 0, 0);
    while done < len {
        let (inv, n) = w
            .root
            .unmap_some(&mut w.pool, done, len - done, pieces == 0)
            .unwrap();
        assert_ne!(inv, crate::range::TlbInvalidation::None);
        pieces += 1;
        done += n;
        let gone = [
            (0x1000, done >= MIB2),
            (0x3000, done >= MIB2),
            (MIB2 + 0x5000, done >= 2 * MIB2),
            (GIB1, done >= len),
        ];
        for (va, gone) in gone {
            assert_eq!(w.root.translate(&mut w.pool, va).is_none(), gone, "{va:#x}");
        }
    }
    assert_eq!(pieces, 3);
    assert_eq!(done, len);
    assert!(w.root.tables() < tables);
}

/// A later piece checks only itself (a link in the rest of the span,
/// which the first piece's whole-span check would have refused, is
/// refused only when a piece reaches it), and a refused piece changes
/// nothing: the pieces before it stay done.
#[test]
fn unmap_piece_refused_later() {
    let mut w = world();
    let (inv, n) = w.root.unmap_some(&mut w.pool, 0, GIB1, true).unwrap();
    assert_ne!(inv, crate::range::TlbInvalidation::None);
    assert_eq!(n, MIB2);
    // The block's piece, then the link's.
    let end = 0x4080_0000;
    let (_, m) = w.root.unmap_some(&mut w.pool, n, end - n, false).unwrap();
    assert_eq!(n + m, GIB1 + MIB2);
    assert!(w.root.translate(&mut w.pool, GIB1).is_none());
    let e = w.root.unmap_some(&mut w.pool, n + m, end - n - m, false);
    assert_eq!(e.unwrap_err(), Error::InvalidArgument);
    assert!(w.root.translate(&mut w.pool, 0x1000).is_none());
    let e = w.root.unmap_some(&mut w.pool, 0, end, true);
    assert_eq!(
        e.unwrap_err(),
        Error::InvalidArgument,
        "the whole span is refused"
    );
}

/// An empty span is one piece, and so is what follows the last mapping.
#[test]
fn unmap_some_of_nothing() {
    let mut w = world();
    let r = w
        .root
        .unmap_some(&mut w.pool, 0x10_0000, GIB1 - 0x10_0000, true);
    assert_eq!(
        r.unwrap(),
        (crate::range::TlbInvalidation::None, GIB1 - 0x10_0000)
    );
}
