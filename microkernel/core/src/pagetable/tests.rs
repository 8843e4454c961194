//! Page-table construction against simulated memory, exact descriptors.

use super::*;
extern crate std;
use std::vec::Vec;

/// Simulated physical memory: table `n` lives at `BASE + n * 4 KiB`.
struct SimMemory {
    tables: Vec<[u64; ENTRIES]>,
    limit: usize,
}

const BASE: u64 = 0x4000_0000;

impl SimMemory {
    fn new(limit: usize) -> (Self, u64) {
        let mut m = SimMemory {
            tables: Vec::new(),
            limit,
        };
        let root = m.alloc_table().unwrap();
        (m, root)
    }
}

impl TableMemory for SimMemory {
    fn alloc_table(&mut self) -> Option<u64> {
        if self.tables.len() == self.limit {
            return None;
        }
        self.tables.push([0; ENTRIES]);
        Some(BASE + (self.tables.len() as u64 - 1) * PAGE_SIZE)
    }
    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES] {
        &mut self.tables[((pa - BASE) / PAGE_SIZE) as usize]
    }
}

#[test]
fn attribute_bits_are_exact() {
    // AF | SH=inner | AttrIndx 0 | PXN clear | UXN
    assert_eq!(Attrs::KERNEL_TEXT.bits(), 0x0040_0000_0000_0780);
    assert_eq!(Attrs::KERNEL_RW.bits(), 0x0060_0000_0000_0700);
    assert_eq!(Attrs::KERNEL_RO.bits(), 0x0060_0000_0000_0780);
    // Device: AttrIndx 1, SH=outer, PXN|UXN
    assert_eq!(Attrs::DEVICE.bits(), 0x0060_0000_0000_0604);
    let user = Attrs {
        mem: MemType::Normal,
        writable: true,
        kernel_exec: false,
        user: true,
        user_exec: true,
        global: false,
        owned: false,
    };
    assert_eq!(user.bits(), 0x0020_0000_0000_0f40);
    assert_eq!(user.owned().bits(), 0x0120_0000_0000_0f40);
    assert_eq!(Attrs::from_descriptor(user.owned().bits()), user.owned());
}

#[test]
fn descriptors_are_exact() {
    assert_eq!(table_descriptor(0x4008_1000), 0x4008_1003);
    assert_eq!(
        block_descriptor(0x4000_0000, Attrs::KERNEL_RW),
        0x0060_0000_4000_0701
    );
    assert_eq!(
        page_descriptor(0x0908_0000, Attrs::DEVICE),
        0x0060_0000_0908_0607
    );
    assert_eq!(MAIR_VALUE, 0x44_04_ff);
}

#[test]
fn index_per_level() {
    let va = 0xffff_ffff_8012_3000;
    assert_eq!(index(va, 0), 511);
    assert_eq!(index(va, 1), 510);
    assert_eq!(index(va, 2), 0);
    assert_eq!(index(va, 3), 0x123);
}

#[test]
fn gigabyte_block_when_aligned() {
    let (mut m, root) = SimMemory::new(8);
    let va = 0xffff_0000_4000_0000;
    map(&mut m, root, va, 0x4000_0000, 1 << 30, Attrs::KERNEL_RW).unwrap();
    // L0[0] -> L1 table, L1[1] = 1 GiB block.
    assert_eq!(m.tables.len(), 2);
    assert_eq!(m.tables[0][0], table_descriptor(BASE + PAGE_SIZE));
    assert_eq!(m.tables[1][1], 0x0060_0000_4000_0701);
    assert_eq!(
        translate(&mut m, root, va + 0x1234_5678).map(|t| t.0),
        Some(0x5234_5678)
    );
}

#[test]
fn mixed_sizes_for_unaligned_span() {
    let (mut m, root) = SimMemory::new(16);
    // 4 KiB pages up to the 2 MiB boundary, one 2 MiB block, then pages.
    let va = 0xffff_ffff_801f_e000;
    let pa = 0x001f_e000;
    let size = 0x2000 + 0x20_0000 + 0x3000;
    map(&mut m, root, va, pa, size, Attrs::KERNEL_TEXT).unwrap();
    // root, L1, L2, two L3 tables.
    assert_eq!(m.tables.len(), 5);
    let l2 = &m.tables[2];
    assert_eq!(l2[0], table_descriptor(BASE + 3 * PAGE_SIZE));
    assert_eq!(l2[1], 0x0040_0000_0020_0781); // 2 MiB block at 0x20_0000
    assert_eq!(l2[2], table_descriptor(BASE + 4 * PAGE_SIZE));
    assert_eq!(m.tables[3][510], 0x0040_0000_001f_e783);
    assert_eq!(m.tables[3][511], 0x0040_0000_001f_f783);
    assert_eq!(m.tables[4][0], 0x0040_0000_0040_0783);
    assert_eq!(m.tables[4][2], 0x0040_0000_0040_2783);
    assert_eq!(m.tables[4][3], 0);
    for off in (0..size).step_by(0x1000) {
        assert_eq!(
            translate(&mut m, root, va + off).map(|t| t.0),
            Some(pa + off)
        );
    }
    assert_eq!(translate(&mut m, root, va + size), None);
    assert_eq!(translate(&mut m, root, va - 0x1000), None);
}

#[test]
fn overlap_and_misalignment_are_refused() {
    let (mut m, root) = SimMemory::new(16);
    let va = 0xffff_8000_0900_0000;
    map(&mut m, root, va, 0x0900_0000, 0x1000, Attrs::DEVICE).unwrap();
    assert_eq!(
        map(&mut m, root, va, 0x0900_0000, 0x1000, Attrs::DEVICE),
        Err(MapError::AlreadyMapped)
    );
    assert_eq!(
        map(&mut m, root, va + 1, 0, 0x1000, Attrs::DEVICE),
        Err(MapError::Misaligned)
    );
    assert_eq!(
        map(&mut m, root, va, 0, 0x800, Attrs::DEVICE),
        Err(MapError::Misaligned)
    );
    // A page inside an existing 2 MiB block is an overlap too.
    let blk = 0xffff_0000_4020_0000;
    map(&mut m, root, blk, 0x4020_0000, 0x20_0000, Attrs::KERNEL_RW).unwrap();
    assert_eq!(
        map(&mut m, root, blk + 0x5000, 0, 0x1000, Attrs::KERNEL_RW),
        Err(MapError::AlreadyMapped)
    );
}

#[test]
fn running_out_of_tables_is_an_error() {
    let (mut m, root) = SimMemory::new(2);
    assert_eq!(
        map(
            &mut m,
            root,
            0xffff_0000_0000_0000,
            0,
            0x1000,
            Attrs::KERNEL_RW
        ),
        Err(MapError::OutOfTables)
    );
}

#[test]
fn user_attribute_bits_are_exact() {
    // AF | SH inner | AP EL0 | nG | PXN, plus UXN unless executable and
    // AP read-only unless writable.
    let rw = Attrs::user(MemType::Normal, true, false);
    assert_eq!(rw.bits(), 0x0060_0000_0000_0f40);
    assert_eq!(
        Attrs::user(MemType::Normal, false, false).bits(),
        0x0060_0000_0000_0fc0
    );
    assert_eq!(
        Attrs::user(MemType::Normal, false, true).bits(),
        0x0020_0000_0000_0fc0
    );
    // Device-nGnRE: AttrIndx 1, SH outer.
    assert_eq!(
        Attrs::user(MemType::Device, true, false).bits(),
        0x0060_0000_0000_0e44
    );
    for a in [rw, Attrs::KERNEL_TEXT, Attrs::DEVICE, Attrs::KERNEL_RO] {
        assert_eq!(Attrs::from_descriptor(page_descriptor(0x1000, a)), a);
    }
}

#[test]
fn decode_tells_entries_apart() {
    let rw = Attrs::KERNEL_RW;
    assert_eq!(
        link_descriptor(0x4008_1000, LinkAccess::ALL),
        0x0880_0000_4008_1003
    );
    assert_eq!(decode(0, 1), Entry::Invalid);
    assert_eq!(decode(table_descriptor(0x5000), 0), Entry::Table(0x5000));
    assert_eq!(
        decode(link_descriptor(0x5000, LinkAccess::READ_ONLY), 2),
        Entry::Link(0x5000)
    );
    assert_eq!(
        decode(block_descriptor(0x20_0000, rw), 2),
        Entry::Block(0x20_0000)
    );
    assert_eq!(decode(page_descriptor(0x3000, rw), 3), Entry::Page(0x3000));
    // Bits [1:0] = 0b01 at L3 is reserved: the walker faults on it.
    assert_eq!(decode(block_descriptor(0x3000, rw), 3), Entry::Invalid);
}

#[test]
fn link_descriptors_carry_the_links_access() {
    // PXNTable (bit 59) always; APTable[1] (bit 62) unless writable;
    // UXNTable (bit 60) unless executable; bit 55 marks the link.
    let t = 0x4008_1000;
    let cases = [
        (LinkAccess::ALL, 0x0880_0000_4008_1003),
        (
            LinkAccess {
                writable: true,
                user_exec: false,
            },
            0x1880_0000_4008_1003,
        ),
        (
            LinkAccess {
                writable: false,
                user_exec: true,
            },
            0x4880_0000_4008_1003,
        ),
        (LinkAccess::READ_ONLY, 0x5880_0000_4008_1003),
    ];
    for (access, want) in cases {
        let d = link_descriptor(t, access);
        assert_eq!(d, want, "{access:?}");
        assert_eq!(link_access(d), access);
        assert_eq!(decode(d, 1), Entry::Link(t));
        assert_eq!(decode(d, 2), Entry::Link(t));
        // Only the hierarchical permission bits are limits.
        assert_eq!(table_limits(d), want & 0x7800_0000_0000_0000);
    }
    // A table the tree owns limits nothing.
    assert_eq!(table_limits(table_descriptor(t)), 0);
}

#[test]
fn a_links_limits_apply_to_the_leaves_below_it() {
    let rw = page_descriptor(0x7000, Attrs::user(MemType::Normal, true, false));
    let rx = page_descriptor(0x7000, Attrs::user(MemType::Normal, false, true));
    let ro = table_limits(link_descriptor(0x5000, LinkAccess::READ_ONLY));
    let all = table_limits(link_descriptor(0x5000, LinkAccess::ALL));
    // Read-only link: RW page reads as R (AP[2] set), RX page loses UXN.
    let a = Attrs::from_descriptor(limit_leaf(rw, ro));
    assert_eq!(a, Attrs::user(MemType::Normal, false, false));
    let a = Attrs::from_descriptor(limit_leaf(rx, ro));
    assert_eq!(a, Attrs::user(MemType::Normal, false, false));
    // A full link takes nothing away (user leaves are PXN already).
    assert_eq!(limit_leaf(rw, all), rw);
    assert_eq!(limit_leaf(rx, all), rx);
    // A link never adds a right the leaf lacks.
    let r = page_descriptor(0x7000, Attrs::user(MemType::Normal, false, false));
    assert_eq!(limit_leaf(r, all), r);
    // APTable[0] takes EL0 access away; the output address stays.
    let no_el0 = limit_leaf(rw, 1 << 61);
    assert!(!Attrs::from_descriptor(no_el0).user);
    assert_eq!(no_el0 & 0x0000_ffff_ffff_f000, 0x7000);
}
