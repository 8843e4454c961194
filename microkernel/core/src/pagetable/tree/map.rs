//! Writing descriptors into a tree: segment mappings and links, checked
//! in full and with every table they need allocated before the first write.

use super::Tree;
use crate::pagetable::*;
use core::sync::atomic::{fence, Ordering};

/// One descriptor to write at `level` for `va`.
#[derive(Debug, Clone, Copy)]
struct Placement {
    va: u64,
    level: usize,
    desc: u64,
}

/// The leaves mapping `[va, va + left)` to `pa..`: the largest block at
/// `first_level` or below that both addresses and the rest of the span
/// allow, 4 KiB pages elsewhere.
#[derive(Debug, Clone)]
struct Leaves {
    va: u64,
    pa: u64,
    left: u64,
    attrs: Attrs,
    first_level: usize,
}

impl Iterator for Leaves {
    type Item = Placement;

    fn next(&mut self) -> Option<Placement> {
        if self.left == 0 {
            return None;
        }
        let level = (self.first_level..3)
            .find(|&l| {
                let s = LEVEL_SIZE[l];
                (self.va | self.pa) & (s - 1) == 0 && self.left >= s
            })
            .unwrap_or(3);
        let desc = if level == 3 {
            page_descriptor(self.pa, self.attrs)
        } else {
            block_descriptor(self.pa, self.attrs)
        };
        let at = self.va;
        let s = LEVEL_SIZE[level];
        self.va += s;
        self.pa += s;
        self.left -= s;
        Some(Placement {
            va: at,
            level,
            desc,
        })
    }
}

/// Tables allocated before anything is written, in allocation order,
/// chained through their first entry as `next | 0b10` (bit 0 clear: a stale
/// chain word read by a walker is an invalid descriptor, never a
/// translation); 0 ends the chain.
struct Spare {
    head: Option<u64>,
    tail: u64,
}

impl Spare {
    /// `n` tables, or none at all (and [`MapError::OutOfTables`]).
    fn reserve(mem: &mut impl TablePool, n: u32) -> Result<Spare, MapError> {
        let mut spare = Spare {
            head: None,
            tail: 0,
        };
        for _ in 0..n {
            let Some(t) = mem.alloc_table() else {
                spare.release(mem);
                return Err(MapError::OutOfTables);
            };
            if spare.head.is_some() {
                mem.table(spare.tail)[0] = t | 0b10;
            } else {
                spare.head = Some(t);
            }
            spare.tail = t;
        }
        Ok(spare)
    }

    /// One zeroed table from the chain (the caller reserved enough).
    fn take(&mut self, mem: &mut impl TablePool) -> u64 {
        let t = self.head.expect("reserved tables counted short");
        let link = core::mem::take(&mut mem.table(t)[0]);
        self.head = (link != 0).then_some(link & OA_MASK);
        t
    }

    /// Returns every table still in the chain to the pool.
    fn release(mut self, mem: &mut impl TablePool) {
        while self.head.is_some() {
            let t = self.take(mem);
            mem.free_table(t);
        }
    }
}

impl Tree {
    /// Maps `[va, va + size)` to `[pa, pa + size)` with `attrs`, using blocks
    /// no larger than level `largest` (1: 1 GiB, 2: 2 MiB, 3: pages only)
    /// and never above the tree's own level. All or nothing: a span that
    /// meets anything mapped or linked fails with
    /// [`MapError::AlreadyMapped`], a pool that cannot supply every table
    /// needed with [`MapError::OutOfTables`], and neither changes anything.
    /// Returns the number of tables allocated.
    ///
    /// # Panics
    /// If the span is outside the span this tree translates (a caller bug:
    /// address ranges check it first).
    pub fn map(
        self,
        mem: &mut impl TablePool,
        va: u64,
        pa: u64,
        size: u64,
        attrs: Attrs,
        largest: usize,
    ) -> Result<u32, MapError> {
        if (va | pa | size) & (PAGE_SIZE - 1) != 0 {
            return Err(MapError::Misaligned);
        }
        assert!(self.covers(va, size), "map outside the tree");
        let leaves = Leaves {
            va,
            pa,
            left: size,
            attrs,
            first_level: largest.max(self.level).max(1),
        };
        self.place(mem, leaves)
    }

    /// Maps the 4 KiB frames `frames` (in order) at `va`, `va + 4 KiB`, ...
    /// with `attrs`: the pages of a segment whose frames are not
    /// contiguous. All or nothing, as [`Tree::map`]: every page is checked
    /// and every table reserved before the first write. Returns the number
    /// of tables allocated.
    ///
    /// # Panics
    /// If the span is outside the span this tree translates (a caller bug:
    /// address ranges check it first).
    pub fn map_pages<F>(
        self,
        mem: &mut impl TablePool,
        va: u64,
        frames: F,
        attrs: Attrs,
    ) -> Result<u32, MapError>
    where
        F: Iterator<Item = u64> + Clone,
    {
        let pages = frames.clone().count() as u64;
        if va & (PAGE_SIZE - 1) != 0 || frames.clone().any(|pa| pa & (PAGE_SIZE - 1) != 0) {
            return Err(MapError::Misaligned);
        }
        assert!(self.covers(va, pages * PAGE_SIZE), "map outside the tree");
        let placements = frames.enumerate().map(move |(i, pa)| Placement {
            va: va + i as u64 * PAGE_SIZE,
            level: 3,
            desc: page_descriptor(pa, attrs),
        });
        self.place(mem, placements)
    }

    /// Writes one [`link_descriptor`] to `table` with `access` at `level`
    /// for `va` (level 2 links an L3 table, level 1 an L2 table),
    /// allocating the tables on the way. All or nothing, as [`Tree::map`];
    /// returns the number of tables allocated.
    ///
    /// # Panics
    /// If `level` is not 1 or 2 or below the tree's level, or the span is
    /// outside the tree.
    pub fn link(
        self,
        mem: &mut impl TablePool,
        va: u64,
        level: usize,
        table: u64,
        access: LinkAccess,
    ) -> Result<u32, MapError> {
        assert!((1..=2).contains(&level) && level >= self.level);
        if va & (LEVEL_SIZE[level] - 1) != 0 {
            return Err(MapError::Misaligned);
        }
        assert!(self.covers(va, LEVEL_SIZE[level]), "link outside the tree");
        let desc = link_descriptor(table, access);
        self.place(mem, core::iter::once(Placement { va, level, desc }))
    }

    /// Checks every placement against the tables, counts the tables they
    /// need, reserves those, then writes.
    fn place<I>(self, mem: &mut impl TablePool, placements: I) -> Result<u32, MapError>
    where
        I: Iterator<Item = Placement> + Clone,
    {
        // Region (address aligned to the slot size at that level) whose new
        // next-level table is already counted; placements come in address
        // order, so one per level is enough.
        let mut counted: [Option<u64>; 4] = [None; 4];
        let mut needed = 0u32;
        for p in placements.clone() {
            let mut table = Some(self.table);
            for l in self.level..p.level {
                if let Some(t) = table {
                    match decode(mem.table(t)[index(p.va, l)], l) {
                        Entry::Table(next) => {
                            table = Some(next);
                            continue;
                        }
                        Entry::Invalid => table = None,
                        _ => return Err(MapError::AlreadyMapped),
                    }
                }
                let region = p.va & !(LEVEL_SIZE[l] - 1);
                if counted[l] != Some(region) {
                    counted[l] = Some(region);
                    needed += 1;
                }
            }
            if let Some(t) = table {
                if mem.table(t)[index(p.va, p.level)] & VALID != 0 {
                    return Err(MapError::AlreadyMapped);
                }
            }
        }
        let mut spare = Spare::reserve(mem, needed)?;
        // New tables' zeroes (and a linked table's entries) are ordered
        // before the descriptors that publish them.
        fence(Ordering::Release);
        for p in placements {
            let mut table = self.table;
            for l in self.level..p.level {
                let i = index(p.va, l);
                table = match decode(mem.table(table)[i], l) {
                    Entry::Table(next) => next,
                    _ => {
                        let new = spare.take(mem);
                        mem.table(table)[i] = table_descriptor(new);
                        new
                    }
                };
            }
            mem.table(table)[index(p.va, p.level)] = p.desc;
        }
        debug_assert!(spare.head.is_none(), "reserved tables counted long");
        Ok(needed)
    }
}
