//! Taking descriptors out of a tree: unmapping spans and unlinking
//! tables, freeing tables that become empty.

use super::{is_empty, Tree};
use crate::pagetable::*;

/// What [`Tree::unmap`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Removed {
    /// Lowest virtual address covered by a removed mapping (0 if none).
    pub start: u64,
    /// End of the highest removed mapping (0 if none).
    pub end: u64,
    /// Leaf descriptors removed per level: `[-, 1 GiB, 2 MiB, 4 KiB]`.
    pub leaves: [u64; 4],
    /// Tables freed because their last entry went.
    pub tables_freed: u32,
}

impl Removed {
    /// Number of leaf descriptors removed.
    pub fn count(&self) -> u64 {
        self.leaves.iter().sum()
    }
}

/// Why an unmap or unlink was refused (nothing was changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmapError {
    /// An address or size is not aligned to what the operation works in.
    Misaligned,
    /// A block reaches past the span: removing it would unmap memory outside
    /// the span, and splitting it needs break-before-make.
    SplitsBlock,
    /// A linked table lies in the span; only unlinking removes it.
    CrossesLink,
    /// The entry is not a link to the given table.
    NotLinked,
    /// A page or block the range owns ([`OWNED_BIT`]) lies in the span.
    Owned,
}

impl Tree {
    /// Clears the [`link_descriptor`] to `table` (with whatever access) at
    /// `level` for `va` and frees the tables on its path that become empty
    /// (never the tree's own table). Returns the number of tables freed.
    pub fn unlink(
        self,
        mem: &mut impl TablePool,
        va: u64,
        level: usize,
        table: u64,
    ) -> Result<u32, UnmapError> {
        if !(1..=2).contains(&level) || level < self.level {
            return Err(UnmapError::NotLinked);
        }
        if va & (LEVEL_SIZE[level] - 1) != 0 {
            return Err(UnmapError::Misaligned);
        }
        let mut path = [0u64; 4];
        let mut t = self.table;
        for (l, slot) in path.iter_mut().enumerate().take(level).skip(self.level) {
            *slot = t;
            match decode(mem.table(t)[index(va, l)], l) {
                Entry::Table(next) => t = next,
                _ => return Err(UnmapError::NotLinked),
            }
        }
        path[level] = t;
        let slot = &mut mem.table(t)[index(va, level)];
        if decode(*slot, level) != Entry::Link(table & OA_MASK) {
            return Err(UnmapError::NotLinked);
        }
        *slot = 0;
        let mut freed = 0;
        let mut l = level;
        while l > self.level && is_empty(mem, path[l]) {
            mem.table(path[l - 1])[index(va, l - 1)] = 0;
            mem.free_table(path[l]);
            freed += 1;
            l -= 1;
        }
        Ok(freed)
    }

    /// Removes every mapping in `[va, va + size)`, freeing tables that
    /// become empty (never the tree's own table). Unmapped holes are fine;
    /// a block reaching past the span ([`UnmapError::SplitsBlock`]), a
    /// link in it ([`UnmapError::CrossesLink`]) or a page the range owns
    /// ([`UnmapError::Owned`]) refuses the whole request.
    ///
    /// # Panics
    /// If the span is outside the tree.
    pub fn unmap(
        self,
        mem: &mut impl TablePool,
        va: u64,
        size: u64,
    ) -> Result<Removed, UnmapError> {
        if (va | size) & (PAGE_SIZE - 1) != 0 {
            return Err(UnmapError::Misaligned);
        }
        assert!(self.covers(va, size), "unmap outside the tree");
        let end = va + size;
        check_span(mem, self.table, self.level, va, end)?;
        let mut removed = Removed::default();
        remove_span(mem, self.table, self.level, va, end, &mut removed);
        Ok(removed)
    }

    /// Checks `[va, va + size)` as [`Tree::unmap`] does, changing nothing.
    pub fn check_unmap(
        self,
        mem: &mut impl TableMemory,
        va: u64,
        size: u64,
    ) -> Result<(), UnmapError> {
        check_span(mem, self.table, self.level, va, va + size)
    }

    /// The first descriptor that maps or links something in
    /// `[va, va + size)`: the start of its slot (before `va` if the slot
    /// begins there) and the slot's size. Changes nothing; reads one
    /// descriptor per empty slot above it on the way.
    pub fn first_mapped(
        self,
        mem: &mut impl TableMemory,
        va: u64,
        size: u64,
    ) -> Option<(u64, u64)> {
        first_mapped(mem, self.table, self.level, va, va + size)
    }
}

/// Refuses a span that cuts a block, holds a link or an owned page.
fn check_span(
    mem: &mut impl TableMemory,
    table: u64,
    level: usize,
    va: u64,
    end: u64,
) -> Result<(), UnmapError> {
    let size = LEVEL_SIZE[level];
    let mut at = va;
    while at < end {
        let slot_start = at & !(size - 1);
        let slot_end = slot_start + size;
        let desc = mem.table(table)[index(at, level)];
        match decode(desc, level) {
            Entry::Invalid => {}
            Entry::Table(next) => check_span(mem, next, level + 1, at, slot_end.min(end))?,
            Entry::Link(_) => return Err(UnmapError::CrossesLink),
            Entry::Block(_) | Entry::Page(_) => {
                if desc & OWNED_BIT != 0 {
                    return Err(UnmapError::Owned);
                }
                if slot_start < va || slot_end > end {
                    return Err(UnmapError::SplitsBlock);
                }
            }
        }
        at = slot_end;
    }
    Ok(())
}

/// [`Tree::first_mapped`] below `table` (at `level`).
fn first_mapped(
    mem: &mut impl TableMemory,
    table: u64,
    level: usize,
    va: u64,
    end: u64,
) -> Option<(u64, u64)> {
    let size = LEVEL_SIZE[level];
    let mut at = va;
    while at < end {
        let slot_start = at & !(size - 1);
        let slot_end = slot_start + size;
        match decode(mem.table(table)[index(at, level)], level) {
            Entry::Invalid => {}
            Entry::Table(next) => {
                let found = first_mapped(mem, next, level + 1, at, slot_end.min(end));
                if found.is_some() {
                    return found;
                }
            }
            Entry::Link(_) | Entry::Block(_) | Entry::Page(_) => return Some((slot_start, size)),
        }
        at = slot_end;
    }
    None
}

/// Clears every leaf in a checked span; frees tables that become empty.
/// Returns whether anything was removed from this table.
fn remove_span(
    mem: &mut impl TablePool,
    table: u64,
    level: usize,
    va: u64,
    end: u64,
    out: &mut Removed,
) -> bool {
    let size = LEVEL_SIZE[level];
    let mut changed = false;
    let mut at = va;
    while at < end {
        let slot_start = at & !(size - 1);
        let slot_end = slot_start + size;
        let i = index(at, level);
        match decode(mem.table(table)[i], level) {
            Entry::Table(next) => {
                if remove_span(mem, next, level + 1, at, slot_end.min(end), out) {
                    changed = true;
                    if is_empty(mem, next) {
                        mem.table(table)[i] = 0;
                        mem.free_table(next);
                        out.tables_freed += 1;
                    }
                }
            }
            Entry::Block(_) | Entry::Page(_) => {
                mem.table(table)[i] = 0;
                if out.count() == 0 {
                    out.start = slot_start;
                }
                out.end = slot_end;
                out.leaves[level] += 1;
                changed = true;
            }
            Entry::Invalid | Entry::Link(_) => {}
        }
        at = slot_end;
    }
    changed
}
