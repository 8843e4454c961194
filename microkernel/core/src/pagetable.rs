//! VMSAv8-64 translation tables: 4 KiB granule, 48-bit virtual addresses,
//! four levels (L0..L3). Descriptor encoding and a mapper that builds tables
//! in memory the caller provides through [`TableMemory`].
//!
//! The kernel uses this for its own high-half tables (TTBR1), identical on
//! every core; host tests run it over simulated memory and check descriptors
//! bit for bit. User address ranges (`crate::range`) use the all-or-nothing
//! tree operations of [`Tree`], which also unmap, link other trees' tables
//! and free tables that become empty.

/// Size of a translation granule and of a table.
pub const PAGE_SIZE: u64 = 4096;
/// Entries in one table.
pub const ENTRIES: usize = 512;
/// Bytes mapped by one entry at each level, L0..L3.
pub const LEVEL_SIZE: [u64; 4] = [1 << 39, 1 << 30, 1 << 21, 1 << 12];

const VALID: u64 = 1 << 0;
/// Table descriptor (L0-L2) or page descriptor (L3).
const TABLE_OR_PAGE: u64 = 1 << 1;
const ATTR_INDX_SHIFT: u64 = 2;
const AP_EL0: u64 = 1 << 6;
const AP_RO: u64 = 1 << 7;
const SH_INNER: u64 = 0b11 << 8;
const SH_OUTER: u64 = 0b10 << 8;
const AF: u64 = 1 << 10;
const NG: u64 = 1 << 11;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
/// Output address bits [47:12].
const OA_MASK: u64 = 0x0000_ffff_ffff_f000;
/// Bit 55 of a table descriptor: ignored by the table walker (software use),
/// set by [`link_descriptor`]. It marks a table that belongs to another
/// tree (a shared address range's table) so that walks that free or unmap
/// never descend into it.
pub const LINK_BIT: u64 = 1 << 55;
/// Table descriptor bit 59, PXNTable: nothing below is executable at EL1.
const PXN_TABLE: u64 = 1 << 59;
/// Table descriptor bit 60, UXNTable: nothing below is executable at EL0.
const UXN_TABLE: u64 = 1 << 60;
/// Table descriptor bit 61, APTable[0]: nothing below is accessible at EL0.
const AP_TABLE_NO_EL0: u64 = 1 << 61;
/// Table descriptor bit 62, APTable[1]: nothing below is writable, at any
/// EL.
const AP_TABLE_RO: u64 = 1 << 62;
/// The hierarchical permission bits of a table descriptor (APTable,
/// UXNTable, PXNTable; NSTable is not used).
const TABLE_LIMITS: u64 = PXN_TABLE | UXN_TABLE | AP_TABLE_NO_EL0 | AP_TABLE_RO;

/// Bit 56 of a page or block descriptor: ignored by the table walker
/// (software use). It marks a page the range itself owns (a task's program
/// and stack pages, an image range's pages), mapped by no capability:
/// [`Tree::unmap`] refuses to remove it, and its frame is freed only with
/// the range.
pub const OWNED_BIT: u64 = 1 << 56;

/// MAIR_EL1 value matching [`MemType`]'s attribute indices:
/// 0 = Normal write-back read/write-allocate, 1 = Device-nGnRE,
/// 2 = Normal non-cacheable.
pub const MAIR_VALUE: u64 = 0xff | (0x04 << 8) | (0x44 << 16);

/// Memory type of a mapping (selects a MAIR_EL1 attribute index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemType {
    /// Cacheable RAM, inner shareable.
    Normal = 0,
    /// MMIO: Device-nGnRE, never cached, never speculatively read.
    Device = 1,
    /// RAM that bypasses the caches (e.g. shared with a non-coherent agent).
    NonCacheable = 2,
}

/// Access rights of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attrs {
    pub mem: MemType,
    pub writable: bool,
    /// Executable at EL1 (kernel code).
    pub kernel_exec: bool,
    /// Accessible from EL0.
    pub user: bool,
    /// Executable at EL0.
    pub user_exec: bool,
    /// Global (not tagged with an ASID): kernel mappings are global.
    pub global: bool,
    /// Owned by the range ([`OWNED_BIT`]): no unmap removes it.
    pub owned: bool,
}

impl Attrs {
    /// Kernel text: read-only, kernel-executable.
    pub const KERNEL_TEXT: Attrs = Attrs::kernel(MemType::Normal, false, true);
    /// Kernel read-only data.
    pub const KERNEL_RO: Attrs = Attrs::kernel(MemType::Normal, false, false);
    /// Kernel data, stacks, the linear map of RAM.
    pub const KERNEL_RW: Attrs = Attrs::kernel(MemType::Normal, true, false);
    /// Kernel code during boot, before sections are told apart.
    pub const KERNEL_RWX: Attrs = Attrs::kernel(MemType::Normal, true, true);
    /// Device registers.
    pub const DEVICE: Attrs = Attrs::kernel(MemType::Device, true, false);

    /// A user (EL0) mapping: EL0-accessible, tagged with the ASID (nG),
    /// never executable at EL1 (PXN), executable at EL0 only if asked.
    pub const fn user(mem: MemType, writable: bool, executable: bool) -> Attrs {
        Attrs {
            mem,
            writable,
            kernel_exec: false,
            user: true,
            user_exec: executable,
            global: false,
            owned: false,
        }
    }

    /// The same attributes, marked owned by the range ([`OWNED_BIT`]).
    pub const fn owned(self) -> Attrs {
        Attrs {
            owned: true,
            ..self
        }
    }

    const fn kernel(mem: MemType, writable: bool, kernel_exec: bool) -> Attrs {
        Attrs {
            mem,
            writable,
            kernel_exec,
            user: false,
            user_exec: false,
            global: true,
            owned: false,
        }
    }

    /// The attributes a block or page descriptor `desc` carries (the
    /// inverse of [`Attrs::bits`]; an AttrIndx this code never writes reads
    /// as [`MemType::NonCacheable`]).
    pub const fn from_descriptor(desc: u64) -> Attrs {
        Attrs {
            mem: match (desc >> ATTR_INDX_SHIFT) & 0b111 {
                0 => MemType::Normal,
                1 => MemType::Device,
                _ => MemType::NonCacheable,
            },
            writable: desc & AP_RO == 0,
            kernel_exec: desc & PXN == 0,
            user: desc & AP_EL0 != 0,
            user_exec: desc & UXN == 0,
            global: desc & NG == 0,
            owned: desc & OWNED_BIT != 0,
        }
    }

    /// The attribute bits of a block or page descriptor.
    #[inline(always)]
    pub const fn bits(&self) -> u64 {
        let mut b = AF | ((self.mem as u64) << ATTR_INDX_SHIFT);
        b |= match self.mem {
            MemType::Device => SH_OUTER,
            _ => SH_INNER,
        };
        if !self.writable {
            b |= AP_RO;
        }
        if self.user {
            b |= AP_EL0;
        }
        if !self.kernel_exec {
            b |= PXN;
        }
        if !self.user_exec {
            b |= UXN;
        }
        if !self.global {
            b |= NG;
        }
        if self.owned {
            b |= OWNED_BIT;
        }
        b
    }
}

/// A table descriptor pointing at the next-level table at `table_pa`.
#[inline(always)]
pub const fn table_descriptor(table_pa: u64) -> u64 {
    (table_pa & OA_MASK) | TABLE_OR_PAGE | VALID
}

/// What a link lets through to the mappings below it. A link never adds
/// a right a leaf lacks: it can only take write and EL0-execute access
/// away, for everything below it at once (the table descriptor's
/// hierarchical permission bits), without changing or copying the linked
/// table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkAccess {
    /// Writes allowed where the leaf allows them (else APTable[1] = 1:
    /// nothing below is writable).
    pub writable: bool,
    /// EL0 execution allowed where the leaf allows it (else UXNTable = 1).
    pub user_exec: bool,
}

impl LinkAccess {
    /// Whatever the leaves below allow.
    pub const ALL: LinkAccess = LinkAccess {
        writable: true,
        user_exec: true,
    };
    /// Read (and nothing else) wherever the leaves below allow it.
    pub const READ_ONLY: LinkAccess = LinkAccess {
        writable: false,
        user_exec: false,
    };
}

/// A table descriptor that links a table owned by another tree (a shared
/// address range's L3 or L2 table) with `access`: [`table_descriptor`]
/// plus [`LINK_BIT`], PXNTable always (the kernel never executes user
/// memory), APTable[1] unless writable, UXNTable unless executable.
pub const fn link_descriptor(table_pa: u64, access: LinkAccess) -> u64 {
    let mut d = table_descriptor(table_pa) | LINK_BIT | PXN_TABLE;
    if !access.writable {
        d |= AP_TABLE_RO;
    }
    if !access.user_exec {
        d |= UXN_TABLE;
    }
    d
}

/// The access a link descriptor `desc` lets through (the inverse of
/// [`link_descriptor`]'s `access`).
pub const fn link_access(desc: u64) -> LinkAccess {
    LinkAccess {
        writable: desc & AP_TABLE_RO == 0,
        user_exec: desc & UXN_TABLE == 0,
    }
}

/// Leaf descriptor `leaf` as the walker's permission check sees it below
/// table descriptors whose hierarchical permission bits, OR-ed together,
/// are `limits` (only those bits of it are read): APTable[1] makes it
/// read-only, APTable[0] inaccessible at EL0, UXNTable / PXNTable not
/// executable at EL0 / EL1. The output address and memory type are
/// unchanged.
pub const fn limit_leaf(leaf: u64, limits: u64) -> u64 {
    let mut d = leaf;
    if limits & AP_TABLE_RO != 0 {
        d |= AP_RO;
    }
    if limits & AP_TABLE_NO_EL0 != 0 {
        d &= !AP_EL0;
    }
    if limits & UXN_TABLE != 0 {
        d |= UXN;
    }
    if limits & PXN_TABLE != 0 {
        d |= PXN;
    }
    d
}

/// The hierarchical permission bits of table descriptor `desc`, for
/// [`limit_leaf`].
pub const fn table_limits(desc: u64) -> u64 {
    desc & TABLE_LIMITS
}

/// A block descriptor (level 1: 1 GiB, level 2: 2 MiB) for `pa`.
#[inline(always)]
pub const fn block_descriptor(pa: u64, attrs: Attrs) -> u64 {
    (pa & OA_MASK) | attrs.bits() | VALID
}

/// A level-3 page descriptor for `pa`.
#[inline(always)]
pub const fn page_descriptor(pa: u64, attrs: Attrs) -> u64 {
    (pa & OA_MASK) | attrs.bits() | TABLE_OR_PAGE | VALID
}

/// Index of `va` in a table at `level`.
#[inline(always)]
pub const fn index(va: u64, level: usize) -> usize {
    ((va >> (39 - 9 * level as u64)) & 0x1ff) as usize
}

/// What one descriptor holds, decoded for a table at `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Bit 0 clear: nothing mapped (the walker ignores every other bit).
    Invalid,
    /// A next-level table this tree owns (L0..L2).
    Table(u64),
    /// A next-level table owned by another tree ([`link_descriptor`]).
    Link(u64),
    /// A 1 GiB (L1) or 2 MiB (L2) block at this output address.
    Block(u64),
    /// A 4 KiB page (L3) at this output address.
    Page(u64),
}

/// Decodes descriptor `desc` found in a table at `level` (0..=3).
pub const fn decode(desc: u64, level: usize) -> Entry {
    let oa = desc & OA_MASK;
    if desc & VALID == 0 {
        Entry::Invalid
    } else if level == 3 {
        // Bit 1 clear at L3 is reserved (treated as invalid by the walker);
        // this code never writes it.
        if desc & TABLE_OR_PAGE != 0 {
            Entry::Page(oa)
        } else {
            Entry::Invalid
        }
    } else if desc & TABLE_OR_PAGE == 0 {
        Entry::Block(oa)
    } else if desc & LINK_BIT != 0 {
        Entry::Link(oa)
    } else {
        Entry::Table(oa)
    }
}

/// Memory holding translation tables. The kernel backs this with frames it
/// reaches through its linear map; tests back it with a vector.
pub trait TableMemory {
    /// A new zeroed 4 KiB table; its physical address. The zeroes must be
    /// visible to the table walker before the table is linked (the kernel
    /// zeroes through cacheable memory, which the walker snoops, and this
    /// code fences before it publishes a new table descriptor).
    fn alloc_table(&mut self) -> Option<u64>;
    /// The table at physical address `pa` (one this memory handed out).
    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES];
}

/// Table memory that also takes tables back: what the [`Tree`] operations
/// need, since they free tables that become empty and undo allocations
/// when a request cannot be met in full.
pub trait TablePool: TableMemory {
    /// Takes back table `pa`, which is all zeroes and no longer reachable
    /// from any root. A walker may still hold it in a walk cache until the
    /// TLB invalidation the operation asks for has been executed, so the
    /// pool must not hand it out again (or write to it) before then: the
    /// kernel executes the invalidation before its next `alloc_table`.
    fn free_table(&mut self, pa: u64);
}

/// Why a mapping could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// `va`, `pa` or `size` is not a multiple of 4 KiB.
    Misaligned,
    /// A page of the span is already mapped (or covered by a block).
    AlreadyMapped,
    /// The table memory has no free table.
    OutOfTables,
}

/// Maps `[va, va + size)` to `[pa, pa + size)` with `attrs` under the L0
/// table at `root`, using 1 GiB and 2 MiB blocks wherever both addresses are
/// aligned and the rest of the span is large enough, 4 KiB pages elsewhere.
/// Nothing already mapped is changed: an overlap fails with
/// [`MapError::AlreadyMapped`] (entries made before the overlap stay).
pub fn map(
    mem: &mut impl TableMemory,
    root: u64,
    va: u64,
    pa: u64,
    size: u64,
    attrs: Attrs,
) -> Result<(), MapError> {
    if (va | pa | size) & (PAGE_SIZE - 1) != 0 {
        return Err(MapError::Misaligned);
    }
    let (mut va, mut pa, mut left) = (va, pa, size);
    while left > 0 {
        let level = (1..=3)
            .find(|&l| {
                let s = LEVEL_SIZE[l];
                (va | pa) & (s - 1) == 0 && left >= s
            })
            .unwrap_or(3);
        map_one(mem, root, va, pa, level, attrs)?;
        let s = LEVEL_SIZE[level];
        va = va.wrapping_add(s);
        pa += s;
        left -= s;
    }
    Ok(())
}

/// Writes one block (level 1 or 2) or page (level 3) entry.
fn map_one(
    mem: &mut impl TableMemory,
    root: u64,
    va: u64,
    pa: u64,
    level: usize,
    attrs: Attrs,
) -> Result<(), MapError> {
    let mut table = root;
    for l in 0..level {
        let i = index(va, l);
        let entry = mem.table(table)[i];
        table = if entry & VALID == 0 {
            let new = mem.alloc_table().ok_or(MapError::OutOfTables)?;
            mem.table(table)[i] = table_descriptor(new);
            new
        } else if entry & TABLE_OR_PAGE != 0 {
            entry & OA_MASK
        } else {
            return Err(MapError::AlreadyMapped);
        };
    }
    let slot = &mut mem.table(table)[index(va, level)];
    if *slot & VALID != 0 {
        return Err(MapError::AlreadyMapped);
    }
    *slot = if level == 3 {
        page_descriptor(pa, attrs)
    } else {
        block_descriptor(pa, attrs)
    };
    Ok(())
}

/// Walks the tables under `root` for `va`: the physical address it maps to
/// and the descriptor that maps it, or `None` when unmapped.
pub fn translate(mem: &mut impl TableMemory, root: u64, va: u64) -> Option<(u64, u64)> {
    let mut table = root;
    for (level, &s) in LEVEL_SIZE.iter().enumerate() {
        let entry = mem.table(table)[index(va, level)];
        if entry & VALID == 0 {
            return None;
        }
        let is_leaf = level == 3 || entry & TABLE_OR_PAGE == 0;
        if is_leaf {
            return Some(((entry & OA_MASK & !(s - 1)) | (va & (s - 1)), entry));
        }
        table = entry & OA_MASK;
    }
    None
}

mod tree;
pub use tree::{Removed, Tree, UnmapError};

#[cfg(test)]
mod tests;
