//! Taking mappings away: unmapping a span, unlinking a shared range,
//! destroying a range. Each returns the TLB invalidation the kernel must
//! execute before it returns to user code and before it reuses any table
//! the operation freed.

use super::{AddressRange, RangeKind, TlbInvalidation};
use crate::pagetable::{TablePool, UnmapError, LEVEL_SIZE, PAGE_SIZE};
use abi::Error;

/// The pages the next piece of an unmap done a piece at a time from the
/// front takes of the `pages` pages at `va` (page-aligned): up to the next
/// 2 MiB boundary of the address, at most 512 pages, so that no piece
/// splits a 2 MiB block (a block's address is aligned, and
/// [`AddressRange::unmap`] refuses a span that splits one); `None` when the
/// rest ends at or before that boundary (the last piece: the rest). The
/// kernel's revoke undoes a long segment mapping record so, with a
/// preemption point after each piece.
pub const fn front_piece(va: u64, pages: u64) -> Option<u64> {
    let per_block = LEVEL_SIZE[2] / PAGE_SIZE;
    let to_boundary = per_block - (va / PAGE_SIZE) % per_block;
    if pages > to_boundary {
        Some(to_boundary)
    } else {
        None
    }
}

impl AddressRange {
    /// Removes every mapping in `[base + offset, base + offset + len)` and
    /// frees the tables that become empty (never the range's own table).
    /// Unmapped holes in the span are fine; a span with nothing mapped
    /// removes nothing and needs no invalidation. A 2 MiB block is never
    /// split: the span must contain every block it touches.
    ///
    /// Errors, checked in this order: `len` 0: `InvalidArgument`; `offset`
    /// or `len` not a multiple of 4 KiB: `Misaligned`; the span leaves the
    /// range: `OutOfRange`; a 2 MiB block reaches past the span, a shared
    /// range is linked in it (use [`AddressRange::unlink`]), or a page the
    /// range owns lies in it ([`AddressRange::map_owned_page`]):
    /// `InvalidArgument`. Nothing is changed on error.
    ///
    /// Invalidation: private range: local, by VA and ASID, over the span of
    /// what was removed; shared range: broadcast, by VA for all ASIDs, if
    /// any address space links it (none otherwise: no TLB can hold it);
    /// local range: the same, but on this core only.
    pub fn unmap(
        &mut self,
        mem: &mut impl TablePool,
        offset: u64,
        len: u64,
    ) -> Result<TlbInvalidation, Error> {
        if len == 0 {
            return Err(Error::InvalidArgument);
        }
        if (offset | len) & (PAGE_SIZE - 1) != 0 {
            return Err(Error::Misaligned);
        }
        let va = self.span(offset, len).ok_or(Error::OutOfRange)?;
        let removed = self.tree().unmap(mem, va, len).map_err(|e| match e {
            UnmapError::Misaligned => Error::Misaligned,
            UnmapError::SplitsBlock
            | UnmapError::CrossesLink
            | UnmapError::NotLinked
            | UnmapError::Owned => Error::InvalidArgument,
        })?;
        self.tables -= removed.tables_freed;
        if removed.count() == 0 {
            return Ok(TlbInvalidation::None);
        }
        // One TLBI per leaf when all removed leaves are the same size;
        // page-sized steps otherwise (a step inside a block hits the block).
        let stride = (1..4)
            .rev()
            .find(|&l| removed.leaves[l] != 0)
            .map_or(PAGE_SIZE, |smallest| LEVEL_SIZE[smallest]);
        Ok(match self.kind {
            RangeKind::Private { asid } => {
                TlbInvalidation::local(asid, removed.start, removed.end, stride)
            }
            RangeKind::Shared { .. } | RangeKind::Local { .. } if self.links == 0 => {
                TlbInvalidation::None
            }
            RangeKind::Shared { .. } => {
                TlbInvalidation::broadcast(removed.start, removed.end, stride)
            }
            RangeKind::Local { .. } => {
                TlbInvalidation::local_all_asids(removed.start, removed.end, stride)
            }
        })
    }

    /// [`AddressRange::unmap`] one piece at a time (a long `Unmap`'s
    /// preemption points): removes the mappings of the first piece of the
    /// span, which ends where the 2 MiB (one L3 table's span, at most 512
    /// pages) holding the first mapping in the span ends, or that
    /// mapping's block if it is larger, and returns the invalidation and
    /// the piece's length in bytes (`len` when that is all of the span).
    /// Only the piece is checked, unless `check_all` asks for the whole
    /// span first: then an error anywhere in it changes nothing, as for
    /// `unmap`; a later piece checks only itself and may fail with the
    /// pieces before it removed. Errors and their order as for `unmap`.
    pub fn unmap_some(
        &mut self,
        mem: &mut impl TablePool,
        offset: u64,
        len: u64,
        check_all: bool,
    ) -> Result<(TlbInvalidation, u64), Error> {
        if len == 0 {
            return Err(Error::InvalidArgument);
        }
        if (offset | len) & (PAGE_SIZE - 1) != 0 {
            return Err(Error::Misaligned);
        }
        let va = self.span(offset, len).ok_or(Error::OutOfRange)?;
        let tree = self.tree();
        if check_all {
            tree.check_unmap(mem, va, len)
                .map_err(|_| Error::InvalidArgument)?;
        }
        let piece = match tree.first_mapped(mem, va, len) {
            Some((at, size)) => {
                let step = size.max(LEVEL_SIZE[2]);
                ((at & !(step - 1)) + step - va).min(len)
            }
            None => len,
        };
        Ok((self.unmap(mem, offset, piece)?, piece))
    }

    /// Removes the link to `shared` at `base + offset` from this address
    /// space (one descriptor cleared) and frees the tables on its path that
    /// become empty. `shared` keeps its table and mappings.
    ///
    /// Errors, checked in this order: `self` not private or `shared` not
    /// shared or local: `InvalidArgument`; `base + offset` not a multiple of
    /// the shared range's size: `SharedRangeNotAligned`; the span leaves
    /// this range: `OutOfRange`; `shared` is not linked there:
    /// `InvalidArgument`.
    ///
    /// Invalidation: local, by ASID, over the shared range's whole span
    /// (every page of it may be cached under this address space's ASID);
    /// in practice the whole ASID, since the span is at least 512 pages.
    pub fn unlink(
        &mut self,
        mem: &mut impl TablePool,
        offset: u64,
        shared: &mut AddressRange,
    ) -> Result<TlbInvalidation, Error> {
        let (RangeKind::Private { asid }, Some(size)) = (self.kind, shared.kind.linkable()) else {
            return Err(Error::InvalidArgument);
        };
        let va = self.base.checked_add(offset).ok_or(Error::OutOfRange)?;
        if va & (size.bytes() - 1) != 0 {
            return Err(Error::SharedRangeNotAligned);
        }
        self.span(offset, size.bytes()).ok_or(Error::OutOfRange)?;
        let freed = self
            .tree()
            .unlink(mem, va, size.link_level(), shared.table)
            .map_err(|_| Error::InvalidArgument)?;
        self.tables -= freed;
        shared.links -= 1;
        Ok(TlbInvalidation::local(
            asid,
            va,
            va + size.bytes(),
            PAGE_SIZE,
        ))
    }

    /// Frees every table the range owns, its own table included, and every
    /// mapping in it. A private range must not be any core's TTBR0 any more
    /// and must link no shared range; a shared or local range must be
    /// linked nowhere.
    /// On error the range is handed back unchanged.
    ///
    /// Errors: a private range still links a shared range, or a shared
    /// range is still linked: `InvalidArgument`.
    ///
    /// Invalidation: private range with anything mapped: the whole ASID,
    /// locally, before the ASID is given to another address space; shared
    /// range: none (every unlink already invalidated it where it was seen).
    pub fn destroy(
        self,
        mem: &mut impl TablePool,
    ) -> Result<TlbInvalidation, (AddressRange, Error)> {
        let tree = self.tree();
        let inv = match self.kind {
            RangeKind::Private { asid } => {
                if tree.count_links(mem) != 0 {
                    return Err((self, Error::InvalidArgument));
                }
                let empty = self.tables == 1 && mem.table(self.table).iter().all(|&e| e == 0);
                if empty {
                    TlbInvalidation::None
                } else {
                    TlbInvalidation::LocalAsid { asid }
                }
            }
            RangeKind::Shared { .. } | RangeKind::Local { .. } => {
                if self.links != 0 {
                    return Err((self, Error::InvalidArgument));
                }
                TlbInvalidation::None
            }
        };
        let freed = tree.free(mem);
        debug_assert_eq!(freed, self.tables, "range's table count is off");
        Ok(inv)
    }
}
