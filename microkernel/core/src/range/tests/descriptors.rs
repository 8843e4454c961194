//! The descriptors each operation writes, bit for bit, the tables it
//! allocates and frees, and the invalidation it asks for.

use super::*;
use crate::pagetable::{index, table_descriptor, Tree};
use crate::range::{AddressRange, SegmentInfo, TlbInvalidation, TlbOp, USER_TOP};
use abi::{Error, Rights};
use std::vec::Vec;

const R: Rights = Rights::READ;
const RW: Rights = Rights::READ.union(Rights::WRITE);
const RX: Rights = Rights::READ.union(Rights::EXECUTE);
const RWX: Rights = RW.union(Rights::EXECUTE);

const RAM: SegmentInfo = SegmentInfo {
    pa: 0x8000_0000,
    size: 0x100_0000,
    device: false,
};
const UART: SegmentInfo = SegmentInfo {
    pa: 0x0900_0000,
    size: 0x1000,
    device: true,
};

const MIB2: u64 = 0x20_0000;
const GIB1: u64 = 0x4000_0000;

fn root(pool: &mut SimPool, asid: u16) -> AddressRange {
    AddressRange::new_private(pool, asid, 0, USER_TOP).unwrap()
}

/// The descriptor at `level` for `va` under `top` (a table at `top_level`),
/// following table descriptors (links included) in the simulated memory.
fn desc(pool: &mut SimPool, top: u64, top_level: usize, va: u64, level: usize) -> u64 {
    let mut t = top;
    for l in top_level..level {
        t = pool.table(t)[index(va, l)] & 0x0000_ffff_ffff_f000;
    }
    pool.table(t)[index(va, level)]
}

#[test]
fn rw_page_and_the_tables_leading_to_it() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 5);
    a.map_segment(&mut pool, 0x4000_1000, &RAM, 0x3000, 0x1000, RW)
        .unwrap();
    // Root, then L1, L2, L3 in allocation order.
    assert_eq!(a.table(), table_pa(0));
    assert_eq!(a.ttbr0(), Some(0x0005_0000_0000_0000 | table_pa(0)));
    assert_eq!(pool.table(table_pa(0))[0], table_descriptor(table_pa(1)));
    assert_eq!(pool.table(table_pa(1))[1], table_descriptor(table_pa(2)));
    assert_eq!(pool.table(table_pa(2))[0], table_descriptor(table_pa(3)));
    // AF | SH inner | AP EL0 RW | nG | PXN | UXN | page.
    assert_eq!(pool.table(table_pa(3))[1], 0x0060_0000_8000_3f43);
    assert_eq!(a.tables(), 4);
    assert_eq!(pool.live(), 4);
    assert_eq!(a.translate(&mut pool, 0x4000_1abc), Some((0x8000_3abc, RW)));
    assert_eq!(a.translate(&mut pool, 0x4000_2000), None);
}

#[test]
fn read_only_and_executable_pages() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 1);
    a.map_segment(&mut pool, 0x1_0000, &RAM, 0, 0x1000, RX)
        .unwrap();
    a.map_segment(&mut pool, 0x1_1000, &RAM, 0x1000, 0x1000, R)
        .unwrap();
    // RX: AP EL0 RO, UXN clear, PXN set.
    assert_eq!(
        desc(&mut pool, a.table(), 0, 0x1_0000, 3),
        0x0020_0000_8000_0fc3
    );
    // R: AP EL0 RO, never executable.
    assert_eq!(
        desc(&mut pool, a.table(), 0, 0x1_1000, 3),
        0x0060_0000_8000_1fc3
    );
    assert_eq!(a.translate(&mut pool, 0x1_0000), Some((0x8000_0000, RX)));
    assert_eq!(a.translate(&mut pool, 0x1_1000), Some((0x8000_1000, R)));
}

#[test]
fn device_page() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 1);
    a.map_segment(&mut pool, 0x900_0000, &UART, 0, 0x1000, RW)
        .unwrap();
    // AttrIndx 1 (Device-nGnRE) | SH outer | AF | AP EL0 RW | nG | PXN | UXN.
    assert_eq!(
        desc(&mut pool, a.table(), 0, 0x900_0000, 3),
        0x0060_0000_0900_0e47
    );
}

#[test]
fn two_mib_block_in_a_private_range() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 1);
    // 2 MiB block at 0x4020_0000, then one page.
    a.map_segment(&mut pool, 0x4020_0000, &RAM, MIB2, MIB2 + 0x1000, RW)
        .unwrap();
    assert_eq!(
        desc(&mut pool, a.table(), 0, 0x4020_0000, 2),
        0x0060_0000_8020_0f41
    );
    assert_eq!(
        desc(&mut pool, a.table(), 0, 0x4040_0000, 3),
        0x0060_0000_8040_0f43
    );
    assert_eq!(a.tables(), 4); // root, L1, L2, one L3
    assert_eq!(a.translate(&mut pool, 0x403f_f008), Some((0x803f_f008, RW)));

    // Unmapping only the block: one TLBI at the block, tables stay.
    let inv = a.unmap(&mut pool, 0x4020_0000, MIB2).unwrap();
    assert_eq!(
        inv,
        TlbInvalidation::Local {
            asid: 1,
            va: 0x4020_0000,
            len: MIB2,
            stride: MIB2
        }
    );
    assert_eq!(
        inv.ops().collect::<Vec<_>>(),
        [TlbOp::Vae1(0x0001_0000_0004_0200)]
    );
    assert_eq!(a.tables(), 4);
    // The last page goes: L3, L2 and L1 become empty and are freed.
    let inv = a.unmap(&mut pool, 0x4040_0000, 0x1000).unwrap();
    assert_eq!(
        inv.ops().collect::<Vec<_>>(),
        [TlbOp::Vae1(0x0001_0000_0004_0400)]
    );
    assert_eq!((a.tables(), pool.live()), (1, 1));
    assert!(pool.table(a.table()).iter().all(|&e| e == 0));
}

#[test]
fn shared_2mib_range_linked_into_two_roots() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 1);
    let mut b = root(&mut pool, 2);
    let mut s = AddressRange::new_shared(&mut pool, 0x4020_0000, MIB2).unwrap();
    a.map_range(&mut pool, 0x4020_0000, &mut s, RWX).unwrap();
    b.map_range(&mut pool, 0x4020_0000, &mut s, RWX).unwrap();
    assert_eq!(s.links(), 2);
    // Both roots' L2 entries: a table descriptor to the shared L3 table,
    // with software bit 55 marking it as a link.
    let link = 0x0880_0000_0000_0003 | s.table();
    assert_eq!(desc(&mut pool, a.table(), 0, 0x4020_0000, 2), link);
    assert_eq!(desc(&mut pool, b.table(), 0, 0x4020_0000, 2), link);
    let tree = Tree::new(a.table(), 0);
    assert_eq!(tree.entry(&mut pool, 0x4020_0000, 2), Some(link));
    assert_eq!(tree.entry(&mut pool, 0x4020_0000, 3), None); // not followed
    assert_eq!((a.tables(), b.tables(), s.tables()), (3, 3, 1));

    // One write to the shared table is seen through both roots.
    s.map_segment(&mut pool, 0x5000, &RAM, 0x7000, 0x1000, RW)
        .unwrap();
    assert_eq!(pool.table(s.table())[5], 0x0060_0000_8000_7f43);
    for r in [&a, &b] {
        assert_eq!(r.translate(&mut pool, 0x4020_5010), Some((0x8000_7010, RW)));
    }

    // Unmapping it asks for a broadcast invalidation by VA, all ASIDs.
    let inv = s.unmap(&mut pool, 0x5000, 0x1000).unwrap();
    assert_eq!(
        inv,
        TlbInvalidation::Broadcast {
            va: 0x4020_5000,
            len: 0x1000,
            stride: 0x1000
        }
    );
    assert!(inv.is_broadcast());
    assert_eq!(
        inv.ops().collect::<Vec<_>>(),
        [TlbOp::Vaae1is(0x0000_0000_0004_0205)]
    );
    for r in [&a, &b] {
        assert_eq!(r.translate(&mut pool, 0x4020_5010), None);
    }
    assert_eq!(s.tables(), 1); // a shared range's own table stays

    // Unlinking clears one descriptor, frees a's L2 and L1, and asks for a
    // local invalidation of a's ASID (512 pages: the whole ASID).
    let inv = a.unlink(&mut pool, 0x4020_0000, &mut s).unwrap();
    assert_eq!(inv, TlbInvalidation::LocalAsid { asid: 1 });
    assert_eq!(
        inv.ops().collect::<Vec<_>>(),
        [TlbOp::Aside1(0x0001_0000_0000_0000)]
    );
    assert_eq!((a.tables(), s.links()), (1, 1));
    assert_eq!(desc(&mut pool, b.table(), 0, 0x4020_0000, 2), link);
}

#[test]
fn shared_1gib_range_uses_blocks_and_links_at_l1() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 3);
    let mut s = AddressRange::new_shared(&mut pool, 2 * GIB1, GIB1).unwrap();
    a.map_range(&mut pool, 2 * GIB1, &mut s, RWX).unwrap();
    assert_eq!(
        desc(&mut pool, a.table(), 0, 2 * GIB1, 1),
        0x0880_0000_0000_0003 | s.table()
    );
    assert_eq!(a.tables(), 2); // root, L1
    s.map_segment(&mut pool, MIB2, &RAM, 0, MIB2 + 0x1000, RW)
        .unwrap();
    // Block in the shared L2 table itself; the page needs an L3 table.
    assert_eq!(pool.table(s.table())[1], 0x0060_0000_8000_0f41);
    assert_eq!(s.tables(), 2);
    assert_eq!(
        a.translate(&mut pool, 2 * GIB1 + MIB2 + 0x1_2345),
        Some((0x8001_2345, RW))
    );
    // The page: one broadcast TLBI; its L3 table is freed.
    let inv = s.unmap(&mut pool, 2 * MIB2, 0x1000).unwrap();
    assert_eq!(
        inv.ops().collect::<Vec<_>>(),
        [TlbOp::Vaae1is(0x8040_0000 >> 12)]
    );
    assert_eq!(s.tables(), 1);
    // The block: one broadcast TLBI too (a 2 MiB stride).
    let inv = s.unmap(&mut pool, 0, GIB1).unwrap();
    assert_eq!(
        inv,
        TlbInvalidation::Broadcast {
            va: 2 * GIB1 + MIB2,
            len: MIB2,
            stride: MIB2
        }
    );
    // Page and block at once: 513 page-sized steps, past the bound.
    s.map_segment(&mut pool, MIB2, &RAM, 0, MIB2 + 0x1000, RW)
        .unwrap();
    let inv = s.unmap(&mut pool, 0, GIB1).unwrap();
    assert_eq!(inv, TlbInvalidation::BroadcastAll);
    assert_eq!(inv.ops().collect::<Vec<_>>(), [TlbOp::Vmalle1is]);
    assert_eq!(s.tables(), 1);
    let inv = a.unlink(&mut pool, 2 * GIB1, &mut s).unwrap();
    assert_eq!(inv, TlbInvalidation::LocalAsid { asid: 3 });
    assert_eq!(a.tables(), 1);
    s.destroy(&mut pool).unwrap();
    a.destroy(&mut pool).unwrap();
    assert_eq!(pool.live(), 0);
}

#[test]
fn local_range_is_linked_like_a_shared_one_but_invalidated_locally() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 4);
    let mut b = root(&mut pool, 5);
    let mut l = AddressRange::new_local(&mut pool, 0x4020_0000, MIB2).unwrap();
    assert_eq!(l.asid(), None);
    a.map_range(&mut pool, 0x4020_0000, &mut l, RWX).unwrap();
    b.map_range(&mut pool, 0x4020_0000, &mut l, RWX).unwrap();
    // The same link descriptor as a shared range's.
    let link = 0x0880_0000_0000_0003 | l.table();
    assert_eq!(desc(&mut pool, a.table(), 0, 0x4020_0000, 2), link);
    assert_eq!(desc(&mut pool, b.table(), 0, 0x4020_0000, 2), link);
    l.map_segment(&mut pool, 0x5000, &RAM, 0x7000, 0x2000, RW)
        .unwrap();
    for r in [&a, &b] {
        assert_eq!(r.translate(&mut pool, 0x4020_6010), Some((0x8000_8010, RW)));
    }
    // Unmapping: this core only, by VA for every ASID (both address
    // spaces may cache it): TLBI VAAE1, not the broadcast VAAE1IS.
    let inv = l.unmap(&mut pool, 0x5000, 0x2000).unwrap();
    assert_eq!(
        inv,
        TlbInvalidation::LocalAllAsids {
            va: 0x4020_5000,
            len: 0x2000,
            stride: 0x1000
        }
    );
    assert!(!inv.is_broadcast());
    assert_eq!(
        inv.ops().collect::<Vec<_>>(),
        [TlbOp::Vaae1(0x4_0205), TlbOp::Vaae1(0x4_0206)]
    );
    // Past the bound: this core's whole TLB.
    l.map_segment(&mut pool, 0, &RAM, 0, MIB2, RW).unwrap();
    let inv = l.unmap(&mut pool, 0, MIB2).unwrap();
    assert_eq!(inv, TlbInvalidation::LocalAll);
    assert_eq!(inv.ops().collect::<Vec<_>>(), [TlbOp::Vmalle1]);
    // Unlinking and destroying as for a shared range.
    let inv = a.unlink(&mut pool, 0x4020_0000, &mut l).unwrap();
    assert_eq!(inv, TlbInvalidation::LocalAsid { asid: 4 });
    let l = match l.destroy(&mut pool) {
        Err((l, e)) => {
            assert_eq!(e, Error::InvalidArgument); // b still links it
            l
        }
        Ok(_) => panic!("a linked local range must not be destroyed"),
    };
    let mut l = l;
    b.unlink(&mut pool, 0x4020_0000, &mut l).unwrap();
    assert_eq!(l.destroy(&mut pool), Ok(TlbInvalidation::None));
    a.destroy(&mut pool).unwrap();
    b.destroy(&mut pool).unwrap();
    assert_eq!(pool.live(), 0);
    // Its placement rules are a shared range's.
    assert_eq!(
        AddressRange::new_local(&mut pool, 0x4010_0000, MIB2),
        Err(Error::SharedRangeNotAligned)
    );
    assert_eq!(
        AddressRange::new_local(&mut pool, 0, 0x1000),
        Err(Error::SharedRangeNotAligned)
    );
}

#[test]
fn unlinked_shared_range_needs_no_invalidation() {
    let mut pool = SimPool::new();
    let mut s = AddressRange::new_shared(&mut pool, 0, MIB2).unwrap();
    s.map_segment(&mut pool, 0, &RAM, 0, 0x2000, RW).unwrap();
    assert_eq!(s.unmap(&mut pool, 0, MIB2), Ok(TlbInvalidation::None));
}

#[test]
fn local_invalidation_is_per_page_then_whole_asid() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 7);
    // Not 2 MiB aligned on the physical side: pages only.
    a.map_segment(&mut pool, 0x20_0000, &RAM, 0x1000, 4 * MIB2, RW)
        .unwrap();
    let inv = a.unmap(&mut pool, 0x20_0000, 0x3000).unwrap();
    assert_eq!(
        inv.ops().collect::<Vec<_>>(),
        [0x200, 0x201, 0x202].map(|p| TlbOp::Vae1(0x0007_0000_0000_0000 | p))
    );
    // 511 pages: still per page; the rest (>= 512): the whole ASID.
    let inv = a.unmap(&mut pool, 0x20_3000, 511 * 0x1000).unwrap();
    assert_eq!(inv.ops().count(), 511);
    assert!(!inv.is_broadcast());
    let inv = a.unmap(&mut pool, 0, USER_TOP).unwrap();
    assert_eq!(inv, TlbInvalidation::LocalAsid { asid: 7 });
    assert_eq!((a.tables(), pool.live()), (1, 1));
    // Nothing mapped: nothing to invalidate.
    assert_eq!(a.unmap(&mut pool, 0, USER_TOP), Ok(TlbInvalidation::None));
}

#[test]
fn out_of_tables_changes_nothing() {
    // Root + 2 tables: a page at 0x4000_1000 needs L1, L2 and L3.
    let mut pool = SimPool::with_limit(3);
    let mut a = root(&mut pool, 1);
    assert_eq!(
        a.map_segment(&mut pool, 0x4000_1000, &RAM, 0, 0x1000, RW),
        Err(Error::OutOfMemory)
    );
    assert_eq!((a.tables(), pool.live()), (1, 1));
    assert_eq!(pool.allocated - 1, 2); // two taken, both given back
    assert!(pool.table(a.table()).iter().all(|&e| e == 0));
    // A 2 MiB block needs only L1 and L2: that fits.
    a.map_segment(&mut pool, 0x4000_0000, &RAM, 0, MIB2, RW)
        .unwrap();
    assert_eq!((a.tables(), pool.live()), (3, 3));
}

#[test]
fn destroy_frees_every_table() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 4);
    a.map_segment(&mut pool, 0x1000, &RAM, 0, 0x1000, RW)
        .unwrap();
    a.map_segment(&mut pool, 0x80_0000_0000, &RAM, 0, MIB2, RW)
        .unwrap();
    assert_eq!(a.tables(), 6);
    assert_eq!(a.count_tables(&mut pool), 6);
    assert_eq!(
        a.destroy(&mut pool),
        Ok(TlbInvalidation::LocalAsid { asid: 4 })
    );
    assert_eq!(pool.live(), 0);
    let b = root(&mut pool, 4);
    assert_eq!(b.destroy(&mut pool), Ok(TlbInvalidation::None));
}

#[test]
fn a_link_without_write_or_execute_takes_them_away_below_it() {
    let mut pool = SimPool::new();
    let mut w = root(&mut pool, 1);
    let mut r = root(&mut pool, 2);
    let mut x = root(&mut pool, 3);
    let mut s = AddressRange::new_shared(&mut pool, 0x4020_0000, MIB2).unwrap();
    s.map_segment(&mut pool, 0x5000, &RAM, 0x7000, 0x1000, RW)
        .unwrap();
    s.map_segment(&mut pool, 0x6000, &RAM, 0x8000, 0x1000, RX)
        .unwrap();
    w.map_range(&mut pool, 0x4020_0000, &mut s, RW).unwrap();
    r.map_range(&mut pool, 0x4020_0000, &mut s, R).unwrap();
    x.map_range(&mut pool, 0x4020_0000, &mut s, RWX).unwrap();
    // One table, three links: PXNTable (bit 59) always, UXNTable (bit 60)
    // without EXECUTE, APTable[1] (bit 62) without WRITE.
    let t = s.table();
    assert_eq!(
        desc(&mut pool, w.table(), 0, 0x4020_0000, 2),
        0x1880_0000_0000_0003 | t
    );
    assert_eq!(
        desc(&mut pool, r.table(), 0, 0x4020_0000, 2),
        0x5880_0000_0000_0003 | t
    );
    assert_eq!(
        desc(&mut pool, x.table(), 0, 0x4020_0000, 2),
        0x0880_0000_0000_0003 | t
    );
    // The shared leaves are untouched; what each root grants differs.
    assert_eq!(pool.table(t)[5], 0x0060_0000_8000_7f43);
    let at = |range: &AddressRange, pool: &mut SimPool, va| range.translate(pool, va);
    assert_eq!(at(&w, &mut pool, 0x4020_5008), Some((0x8000_7008, RW)));
    assert_eq!(at(&r, &mut pool, 0x4020_5008), Some((0x8000_7008, R)));
    assert_eq!(at(&x, &mut pool, 0x4020_5008), Some((0x8000_7008, RW)));
    assert_eq!(at(&w, &mut pool, 0x4020_6000), Some((0x8000_8000, R)));
    assert_eq!(at(&r, &mut pool, 0x4020_6000), Some((0x8000_8000, R)));
    assert_eq!(at(&x, &mut pool, 0x4020_6000), Some((0x8000_8000, RX)));
    // A page mapped after the link is limited by it too.
    s.map_segment(&mut pool, 0x9000, &RAM, 0x9000, 0x1000, RW)
        .unwrap();
    assert_eq!(at(&r, &mut pool, 0x4020_9000), Some((0x8000_9000, R)));
    // A read-only link unlinks like any other, and can be made again with
    // more rights.
    r.unlink(&mut pool, 0x4020_0000, &mut s).unwrap();
    assert_eq!(at(&r, &mut pool, 0x4020_5008), None);
    r.map_range(&mut pool, 0x4020_0000, &mut s, RW).unwrap();
    assert_eq!(at(&r, &mut pool, 0x4020_5008), Some((0x8000_7008, RW)));
    for a in [&mut w, &mut r, &mut x] {
        a.unlink(&mut pool, 0x4020_0000, &mut s).unwrap();
    }
    assert_eq!(s.links(), 0);
}

#[test]
fn a_read_only_1gib_link_covers_blocks_and_pages() {
    let mut pool = SimPool::new();
    let mut a = root(&mut pool, 1);
    let mut s = AddressRange::new_shared(&mut pool, 2 * GIB1, GIB1).unwrap();
    s.map_segment(&mut pool, MIB2, &RAM, 0, MIB2 + 0x1000, RW)
        .unwrap();
    a.map_range(&mut pool, 2 * GIB1, &mut s, R).unwrap();
    assert_eq!(
        desc(&mut pool, a.table(), 0, 2 * GIB1, 1),
        0x5880_0000_0000_0003 | s.table()
    );
    // The block in the shared L2 table and the page in its L3 table.
    let va = 2 * GIB1 + MIB2;
    assert_eq!(a.translate(&mut pool, va + 8), Some((0x8000_0008, R)));
    assert_eq!(
        a.translate(&mut pool, va + MIB2),
        Some((0x8000_0000 + MIB2, R))
    );
    a.unlink(&mut pool, 2 * GIB1, &mut s).unwrap();
}
