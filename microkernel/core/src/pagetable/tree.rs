//! All-or-nothing operations on one tree of translation tables: a table at
//! some level and the tables it owns below it.
//!
//! A user address space is a tree rooted at an L0 table; a shared address
//! range is a tree rooted at its own L3 (2 MiB) or L2 (1 GiB) table, which
//! address spaces reach through a [`link_descriptor`]. Every operation here
//! checks first and writes second, so a refused request leaves the tables
//! exactly as they were; tables are allocated up front and returned if the
//! pool runs dry. Two invariants hold between operations and are what the
//! walks rely on:
//!
//! - a table other than the tree's own root is never empty (it is freed as
//!   its last entry goes), so a [`Entry::Table`] always means "something is
//!   mapped below";
//! - a linked table is never written, unmapped or freed through the tree that
//!   links it: only its own tree changes it.

use super::*;

mod map;
mod unmap;

pub use unmap::{Removed, UnmapError};

/// A tree of translation tables: `table` is a table at `level` (0 for an
/// address space's root; 2 or 3 for a shared range's table) that translates
/// the `LEVEL_SIZE[level - 1]`-aligned span of virtual addresses containing
/// the addresses given to it (all of the lower half for level 0). Tables it
/// reaches through a link belong to another tree: translation reads through
/// them, nothing else touches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tree {
    pub table: u64,
    pub level: usize,
}

/// The table holds nothing (every entry zero).
fn is_empty(mem: &mut impl TableMemory, table: u64) -> bool {
    mem.table(table).iter().all(|&e| e == 0)
}

impl Tree {
    pub const fn new(table: u64, level: usize) -> Tree {
        Tree { table, level }
    }

    /// `[va, va + size)` lies in the span this tree translates.
    fn covers(self, va: u64, size: u64) -> bool {
        let Some(end) = va.checked_add(size) else {
            return false;
        };
        if self.level == 0 {
            return end <= 1 << 48;
        }
        let span = LEVEL_SIZE[self.level - 1];
        let start = va & !(span - 1);
        end <= start + span
    }

    /// The physical address `va` translates to and the leaf descriptor that
    /// maps it, reading through linked tables; `None` when unmapped. The
    /// descriptor is the access the walker grants: the leaf with the
    /// hierarchical permission bits of every table descriptor above it
    /// applied ([`limit_leaf`]), so a page below a read-only link reads as
    /// read-only.
    pub fn translate(self, mem: &mut impl TableMemory, va: u64) -> Option<(u64, u64)> {
        let mut table = self.table;
        let mut limits = 0;
        for (level, &s) in LEVEL_SIZE.iter().enumerate().skip(self.level) {
            let desc = mem.table(table)[index(va, level)];
            match decode(desc, level) {
                Entry::Invalid => return None,
                Entry::Table(next) | Entry::Link(next) => {
                    limits |= table_limits(desc);
                    table = next;
                }
                Entry::Block(oa) | Entry::Page(oa) => {
                    let pa = (oa & !(s - 1)) | (va & (s - 1));
                    return Some((pa, limit_leaf(desc, limits)));
                }
            }
        }
        None
    }

    /// The raw descriptor at `level` for `va`, when the tree's own tables
    /// reach that level (links are not followed); `None` otherwise.
    pub fn entry(self, mem: &mut impl TableMemory, va: u64, level: usize) -> Option<u64> {
        let mut table = self.table;
        for l in self.level..level {
            match decode(mem.table(table)[index(va, l)], l) {
                Entry::Table(next) => table = next,
                _ => return None,
            }
        }
        Some(mem.table(table)[index(va, level)])
    }

    /// Tables this tree owns, its own table included (links not followed).
    pub fn count_tables(self, mem: &mut impl TableMemory) -> u32 {
        let mut n = 1;
        visit(mem, self.table, self.level, &mut |e| {
            n += u32::from(matches!(e, Entry::Table(_)));
        });
        n
    }

    /// Links in this tree's own tables.
    pub fn count_links(self, mem: &mut impl TableMemory) -> u32 {
        let mut n = 0;
        visit(mem, self.table, self.level, &mut |e| {
            n += u32::from(matches!(e, Entry::Link(_)));
        });
        n
    }

    /// Frees every table this tree owns, its own table included, without
    /// clearing entries one by one: the caller guarantees no walker uses the
    /// tree any more (no TTBR points at it, no tree links it, its ASID is
    /// invalidated before reuse). Linked tables are left alone. Returns the
    /// number of tables freed.
    pub fn free(self, mem: &mut impl TablePool) -> u32 {
        free_table_and_below(mem, self.table, self.level)
    }
}

/// Calls `f` on every valid entry of `table` and of the tables it owns.
fn visit(mem: &mut impl TableMemory, table: u64, level: usize, f: &mut impl FnMut(Entry)) {
    for i in 0..ENTRIES {
        let e = decode(mem.table(table)[i], level);
        if e != Entry::Invalid {
            f(e);
        }
        if let Entry::Table(next) = e {
            visit(mem, next, level + 1, f);
        }
    }
}

/// Frees `table` and every table it owns; returns how many.
fn free_table_and_below(mem: &mut impl TablePool, table: u64, level: usize) -> u32 {
    let mut n = 1;
    for i in 0..ENTRIES {
        let desc = core::mem::take(&mut mem.table(table)[i]);
        if let Entry::Table(next) = decode(desc, level) {
            n += free_table_and_below(mem, next, level + 1);
        }
    }
    mem.free_table(table);
    n
}
