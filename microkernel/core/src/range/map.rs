//! Making mappings: a segment into a range, a shared range into an address
//! space. Neither needs a TLB invalidation (an invalid entry is never held
//! in a TLB); the kernel only makes the new descriptors visible to the table
//! walkers (`DSB ISHST`) before it returns to user code.

use super::{link_access, user_attrs, AddressRange, RangeKind, SegmentInfo};
use crate::pagetable::{MapError, TablePool, PAGE_SIZE};
use abi::{Error, Rights};

/// Largest leaf a segment mapping uses: level 2, a 2 MiB block.
const LARGEST_LEAF: usize = 2;

fn map_error(e: MapError) -> Error {
    match e {
        MapError::Misaligned => Error::Misaligned,
        MapError::AlreadyMapped => Error::Overlap,
        MapError::OutOfTables => Error::OutOfMemory,
    }
}

impl AddressRange {
    /// Maps `[seg_offset, seg_offset + len)` of `seg` at
    /// `[base + offset, base + offset + len)` with `rights`, using 2 MiB
    /// blocks where the virtual address, the physical address and the rest
    /// of the length allow it (never in a 2 MiB shared range, whose table is
    /// an L3 table) and 4 KiB pages elsewhere. All or nothing.
    ///
    /// Errors, checked in this order: `rights` not R, RW or RX, or RX on a
    /// device segment: `InvalidArgument`; `seg` malformed (a kernel bug):
    /// `InvalidArgument`; `len` 0: `InvalidArgument`; `offset`,
    /// `seg_offset` or `len` not a multiple of 4 KiB: `Misaligned`; the span
    /// leaves the range: `OutOfRange`; it leaves the segment: `TooSmall`;
    /// anything already mapped or linked in it: `Overlap`; tables
    /// exhausted: `OutOfMemory`.
    pub fn map_segment(
        &mut self,
        mem: &mut impl TablePool,
        offset: u64,
        seg: &SegmentInfo,
        seg_offset: u64,
        len: u64,
        rights: Rights,
    ) -> Result<(), Error> {
        let attrs = user_attrs(rights, seg.device)?;
        if !seg.is_well_formed() || len == 0 {
            return Err(Error::InvalidArgument);
        }
        if (offset | seg_offset | len) & (PAGE_SIZE - 1) != 0 {
            return Err(Error::Misaligned);
        }
        let va = self.span(offset, len).ok_or(Error::OutOfRange)?;
        if seg_offset.checked_add(len).is_none_or(|end| end > seg.size) {
            return Err(Error::TooSmall);
        }
        let pa = seg.pa + seg_offset;
        let allocated = self
            .tree()
            .map(mem, va, pa, len, attrs, LARGEST_LEAF)
            .map_err(map_error)?;
        self.tables += allocated;
        Ok(())
    }

    /// Maps RAM frames `frames`, 4 KiB each and in order, at
    /// `[base + offset, base + offset + len)` with `rights`: the pages of a
    /// segment whose frames are not contiguous, in one operation. All or
    /// nothing: everything is checked and every table reserved before the
    /// first descriptor is written.
    ///
    /// Errors, checked in this order: `rights` not R, RW or RX:
    /// `InvalidArgument`; `len` 0 or not `frames`' count of pages:
    /// `InvalidArgument`; `offset` or `len` not a multiple of 4 KiB, or a
    /// frame not aligned: `Misaligned`; the span leaves the range:
    /// `OutOfRange`; anything already mapped or linked in it: `Overlap`;
    /// tables exhausted: `OutOfMemory`.
    pub fn map_frames<F>(
        &mut self,
        mem: &mut impl TablePool,
        offset: u64,
        len: u64,
        frames: F,
        rights: Rights,
    ) -> Result<(), Error>
    where
        F: Iterator<Item = u64> + Clone,
    {
        let attrs = user_attrs(rights, false)?;
        if len == 0 || frames.clone().count() as u64 != len / PAGE_SIZE {
            return Err(Error::InvalidArgument);
        }
        if (offset | len) & (PAGE_SIZE - 1) != 0 {
            return Err(Error::Misaligned);
        }
        let va = self.span(offset, len).ok_or(Error::OutOfRange)?;
        let allocated = self
            .tree()
            .map_pages(mem, va, frames, attrs)
            .map_err(map_error)?;
        self.tables += allocated;
        Ok(())
    }

    /// Maps the 4 KiB frame at `pa` at `base + offset` with `rights`, as a
    /// page the range owns: no unmap removes it (`InvalidArgument`), and
    /// it goes only with the range, whose owner frees its frame. For the
    /// pages the kernel gives a task at load (program, stack) and an image
    /// range's pages, which no capability mapped. Errors as
    /// [`AddressRange::map_segment`] for a one-page RAM segment.
    pub fn map_owned_page(
        &mut self,
        mem: &mut impl TablePool,
        offset: u64,
        pa: u64,
        rights: Rights,
    ) -> Result<(), Error> {
        let attrs = user_attrs(rights, false)?.owned();
        let seg = SegmentInfo {
            pa,
            size: PAGE_SIZE,
            device: false,
        };
        if !seg.is_well_formed() {
            return Err(Error::InvalidArgument);
        }
        if offset & (PAGE_SIZE - 1) != 0 {
            return Err(Error::Misaligned);
        }
        let va = self.span(offset, PAGE_SIZE).ok_or(Error::OutOfRange)?;
        let allocated = self
            .tree()
            .map(mem, va, pa, PAGE_SIZE, attrs, LARGEST_LEAF)
            .map_err(map_error)?;
        self.tables += allocated;
        Ok(())
    }

    /// Links `shared` into this address space at `base + offset` with
    /// `rights`: one table descriptor (an L2 entry to a 2 MiB range's L3
    /// table, an L1 entry to a 1 GiB range's L2 table), plus whatever
    /// tables lead to it. A shared range appears at its own base in every
    /// address space that links it, so `base + offset` must equal
    /// `shared.base()`. All or nothing.
    ///
    /// `rights` is what the link lets through: READ, plus WRITE and
    /// EXECUTE if the pages below may be written and executed (EL0) through
    /// it. A right the link lacks is taken away from every page below it
    /// by the descriptor itself (APTable[1], UXNTable), whatever the
    /// shared range maps there now or later; a right a page lacks is never
    /// added.
    ///
    /// Errors, checked in this order: `rights` lacks READ or holds GRANT
    /// or an unknown bit: `InvalidArgument`; `self` not private or
    /// `shared` not shared or local: `InvalidArgument`; `base + offset` not
    /// a multiple of the shared range's size: `SharedRangeNotAligned`; the
    /// span leaves this range: `OutOfRange`; `base + offset` is not
    /// `shared.base()`: `InvalidArgument`; anything already mapped or
    /// linked in the span: `Overlap`; tables exhausted: `OutOfMemory`.
    pub fn map_range(
        &mut self,
        mem: &mut impl TablePool,
        offset: u64,
        shared: &mut AddressRange,
        rights: Rights,
    ) -> Result<(), Error> {
        let access = link_access(rights)?;
        let (RangeKind::Private { .. }, Some(size)) = (self.kind, shared.kind.linkable()) else {
            return Err(Error::InvalidArgument);
        };
        let va = self.base.checked_add(offset).ok_or(Error::OutOfRange)?;
        if va & (size.bytes() - 1) != 0 {
            return Err(Error::SharedRangeNotAligned);
        }
        self.span(offset, size.bytes()).ok_or(Error::OutOfRange)?;
        if va != shared.base {
            return Err(Error::InvalidArgument);
        }
        let allocated = self
            .tree()
            .link(mem, va, size.link_level(), shared.table, access)
            .map_err(map_error)?;
        self.tables += allocated;
        shared.links += 1;
        Ok(())
    }
}
