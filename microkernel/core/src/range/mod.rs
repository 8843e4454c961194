//! Address ranges: mapping objects over spans of user virtual addresses
//! (the low half, TTBR0) that map segments and, for an address space, link
//! shared ranges. docs/address-ranges.md is the reference for every
//! operation, its errors and the TLB invalidation it asks for.
//!
//! - A *private* range is a core's address space: an L0 table and the tables
//!   below it, tagged with the core's ASID. Only its core changes it, so a
//!   change needs only that core's TLB invalidated (non-broadcast, by ASID).
//! - A *shared* range is exactly 2 MiB (it owns one L3 table) or exactly
//!   1 GiB (it owns one L2 table), aligned to its size. Address spaces link
//!   its table with one table descriptor each, at the range's own base, so
//!   one write to its table is seen by every address space that links it
//!   (Corey's shared page directory), and one broadcast `TLBI VAAE1IS` per
//!   page reaches every core's TLB without knowing who links it.
//!
//! The page tables are the only record of what is mapped: overlap checks and
//! unmapping walk them, so nothing here allocates. Table memory comes from
//! the caller's [`TablePool`]; each range counts the tables it owns so the
//! kernel can check that every table allocated is owned or freed.
//!
//! Each operation takes `&mut` to every range it changes: the kernel holds
//! a shared range's lock (and no other lock) around operations on it.

use crate::pagetable::{Attrs, LinkAccess, MemType, TableMemory, Tree, LEVEL_SIZE, PAGE_SIZE};
use abi::{Error, Rights};

mod map;
mod tlb;
mod unmap;

pub use crate::pagetable::TablePool;
pub use tlb::{TlbInvalidation, TlbOp, TlbOps, MAX_TLBI_OPS};
pub use unmap::front_piece;

/// First address above the user half (48-bit TTBR0 region).
pub const USER_TOP: u64 = 1 << 48;
/// Physical addresses this kernel maps are below this (48-bit output).
const PA_TOP: u64 = 1 << 48;

/// A segment, as the capability layer describes it to an address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// First physical address (page-aligned).
    pub pa: u64,
    /// Bytes (page-aligned, non-zero).
    pub size: u64,
    /// MMIO registers: mapped Device-nGnRE, never executable.
    pub device: bool,
}

impl SegmentInfo {
    /// Page-aligned, non-empty and inside the 48-bit physical space.
    const fn is_well_formed(&self) -> bool {
        (self.pa | self.size) & (PAGE_SIZE - 1) == 0
            && self.size != 0
            && self.pa < PA_TOP
            && self.size <= PA_TOP - self.pa
    }
}

/// The two sizes a shared range can have: exactly the span of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SharedSize {
    /// 2 MiB: owns one L3 table (pages only), linked by an L2 entry.
    Mib2,
    /// 1 GiB: owns one L2 table (2 MiB blocks or L3 tables below it),
    /// linked by an L1 entry.
    Gib1,
}

impl SharedSize {
    /// The size for `bytes`, if it is one of the two.
    pub const fn from_bytes(bytes: u64) -> Option<SharedSize> {
        match bytes {
            0x20_0000 => Some(SharedSize::Mib2),
            0x4000_0000 => Some(SharedSize::Gib1),
            _ => None,
        }
    }

    pub const fn bytes(self) -> u64 {
        LEVEL_SIZE[self.link_level()]
    }

    /// Level of the table the range owns (3 or 2).
    pub const fn table_level(self) -> usize {
        self.link_level() + 1
    }

    /// Level of the descriptor that links it into an address space (2 or 1).
    pub const fn link_level(self) -> usize {
        match self {
            SharedSize::Mib2 => 2,
            SharedSize::Gib1 => 1,
        }
    }
}

/// Private (one core's address space) or shared (linked into several).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// A core's address space: an L0 table, tagged with `asid`.
    Private { asid: u16 },
    /// A table linked into address spaces at the range's base, on any
    /// core: changes invalidate every core's TLB.
    Shared { size: SharedSize },
    /// A table linked into address spaces of one core only (the kernel
    /// keeps it there): changes invalidate that core's TLB only, for every
    /// ASID.
    Local { size: SharedSize },
}

impl RangeKind {
    /// A linkable range's size (shared or local); `None` for an address
    /// space.
    pub fn linkable(self) -> Option<SharedSize> {
        match self {
            RangeKind::Private { .. } => None,
            RangeKind::Shared { size } | RangeKind::Local { size } => Some(size),
        }
    }
}

/// An address range: `[base, base + size)` of user virtual addresses and the
/// translation tables that map it.
#[derive(Debug, PartialEq, Eq)]
pub struct AddressRange {
    base: u64,
    size: u64,
    kind: RangeKind,
    /// The range's own table: L0 (private) or L3 / L2 (shared).
    table: u64,
    /// Tables this range owns, `table` included.
    tables: u32,
    /// Shared: address spaces that link this range.
    links: u32,
}

impl AddressRange {
    /// A private range (an address space) over `[base, base + size)` with
    /// `asid`, and its empty L0 table.
    ///
    /// Errors: `base` or `size` not page-aligned: `Misaligned`; `size` 0:
    /// `InvalidArgument`; the span leaves the user half: `OutOfRange`; no
    /// table: `OutOfMemory`.
    pub fn new_private(
        mem: &mut impl TableMemory,
        asid: u16,
        base: u64,
        size: u64,
    ) -> Result<AddressRange, Error> {
        if (base | size) & (PAGE_SIZE - 1) != 0 {
            return Err(Error::Misaligned);
        }
        if size == 0 {
            return Err(Error::InvalidArgument);
        }
        if !fits_user_half(base, size) {
            return Err(Error::OutOfRange);
        }
        AddressRange::new(mem, base, size, RangeKind::Private { asid })
    }

    /// A shared range over `[base, base + size)`, and its empty table.
    ///
    /// Errors: `size` not exactly 2 MiB or 1 GiB, or `base` not a multiple
    /// of it: `SharedRangeNotAligned`; the span leaves the user half:
    /// `OutOfRange`; no table: `OutOfMemory`.
    pub fn new_shared(
        mem: &mut impl TableMemory,
        base: u64,
        size: u64,
    ) -> Result<AddressRange, Error> {
        let shared = AddressRange::linkable_size(base, size)?;
        AddressRange::new(mem, base, size, RangeKind::Shared { size: shared })
    }

    /// A local range (linkable into address spaces of one core) over
    /// `[base, base + size)`, and its empty table. Errors: as
    /// [`AddressRange::new_shared`].
    pub fn new_local(
        mem: &mut impl TableMemory,
        base: u64,
        size: u64,
    ) -> Result<AddressRange, Error> {
        let local = AddressRange::linkable_size(base, size)?;
        AddressRange::new(mem, base, size, RangeKind::Local { size: local })
    }

    /// Checks `[base, base + size)` for [`AddressRange::new_shared`] or
    /// [`AddressRange::new_local`] without making anything: after it, they
    /// fail only when no table frame is left (`OutOfMemory`).
    pub fn check_linkable(base: u64, size: u64) -> Result<(), Error> {
        AddressRange::linkable_size(base, size).map(|_| ())
    }

    fn linkable_size(base: u64, size: u64) -> Result<SharedSize, Error> {
        let linkable = SharedSize::from_bytes(size).ok_or(Error::SharedRangeNotAligned)?;
        if base & (size - 1) != 0 {
            return Err(Error::SharedRangeNotAligned);
        }
        if !fits_user_half(base, size) {
            return Err(Error::OutOfRange);
        }
        Ok(linkable)
    }

    fn new(
        mem: &mut impl TableMemory,
        base: u64,
        size: u64,
        kind: RangeKind,
    ) -> Result<AddressRange, Error> {
        let table = mem.alloc_table().ok_or(Error::OutOfMemory)?;
        Ok(AddressRange {
            base,
            size,
            kind,
            table,
            tables: 1,
            links: 0,
        })
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn kind(&self) -> RangeKind {
        self.kind
    }

    /// Physical address of the range's own table (L0, or the shared L3/L2).
    pub fn table(&self) -> u64 {
        self.table
    }

    /// A private range's ASID.
    pub fn asid(&self) -> Option<u16> {
        match self.kind {
            RangeKind::Private { asid } => Some(asid),
            RangeKind::Shared { .. } | RangeKind::Local { .. } => None,
        }
    }

    /// A private range's TTBR0_EL1 value: ASID in bits [63:48], L0 table.
    pub fn ttbr0(&self) -> Option<u64> {
        self.asid().map(|a| (a as u64) << 48 | self.table)
    }

    /// Tables this range owns now, its own table included.
    pub fn tables(&self) -> u32 {
        self.tables
    }

    /// Shared or local: how many address spaces link it (0 for private
    /// ranges).
    pub fn links(&self) -> u32 {
        self.links
    }

    /// Tables this range owns, counted by walking them (for leak checks:
    /// equals [`AddressRange::tables`]).
    pub fn count_tables(&self, mem: &mut impl TableMemory) -> u32 {
        self.tree().count_tables(mem)
    }

    /// The physical address `va` maps to and the rights of the mapping,
    /// reading through linked shared ranges (a link's restrictions
    /// included: a page mapped read/write below a read-only link is
    /// `READ`); `None` if unmapped or outside the range.
    pub fn translate(&self, mem: &mut impl TableMemory, va: u64) -> Option<(u64, Rights)> {
        if va < self.base || va - self.base >= self.size {
            return None;
        }
        let (pa, desc) = self.tree().translate(mem, va)?;
        Some((pa, rights_of(Attrs::from_descriptor(desc))))
    }

    fn tree(&self) -> Tree {
        let level = self.kind.linkable().map_or(0, SharedSize::table_level);
        Tree::new(self.table, level)
    }

    /// `base + offset` when `[offset, offset + len)` lies in the range.
    fn span(&self, offset: u64, len: u64) -> Option<u64> {
        let end = offset.checked_add(len)?;
        (end <= self.size).then_some(self.base + offset)
    }
}

/// `[base, base + size)` is in the user half.
fn fits_user_half(base: u64, size: u64) -> bool {
    base.checked_add(size).is_some_and(|end| end <= USER_TOP)
}

/// The attributes of a user mapping with `rights` (the only combinations
/// accepted are R, RW and RX; RX only for memory).
fn user_attrs(rights: Rights, device: bool) -> Result<Attrs, Error> {
    let rwx = Rights::READ.union(Rights::WRITE).union(Rights::EXECUTE);
    let write = rights.contains(Rights::WRITE);
    let exec = rights.contains(Rights::EXECUTE);
    if !rwx.contains(rights) || !rights.contains(Rights::READ) || (write && exec) {
        return Err(Error::InvalidArgument);
    }
    if device && exec {
        return Err(Error::InvalidArgument);
    }
    let mem = if device {
        MemType::Device
    } else {
        MemType::Normal
    };
    Ok(Attrs::user(mem, write, exec))
}

/// The access a link with `rights` lets through: READ, and any of WRITE
/// and EXECUTE (no GRANT, no unknown bit).
fn link_access(rights: Rights) -> Result<LinkAccess, Error> {
    let rwx = Rights::READ.union(Rights::WRITE).union(Rights::EXECUTE);
    if !rwx.contains(rights) || !rights.contains(Rights::READ) {
        return Err(Error::InvalidArgument);
    }
    Ok(LinkAccess {
        writable: rights.contains(Rights::WRITE),
        user_exec: rights.contains(Rights::EXECUTE),
    })
}

/// The rights a user mapping's attributes grant.
fn rights_of(attrs: Attrs) -> Rights {
    let mut r = Rights::READ;
    if attrs.writable {
        r = r.union(Rights::WRITE);
    }
    if attrs.user_exec {
        r = r.union(Rights::EXECUTE);
    }
    r
}

#[cfg(test)]
mod tests;
