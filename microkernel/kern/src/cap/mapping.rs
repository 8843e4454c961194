//! Mapping records: what each capability of a core's space mapped or
//! linked, so that removing the capability undoes exactly that.
//!
//! A record names the capability's slot, the address range it changed (by
//! object id and generation: a destroyed range makes the record stale) and
//! the span. Undoing a segment mapping unmaps only the pages that still map
//! that segment's frames, so a page unmapped since and reused by another
//! mapping is left alone.

use super::object::{self, Obj, Segment};
use super::ops::Spaces;
use crate::uspace::{invalidate, FrameTables};
use abi::Error;
use kerncore::cap::SlotRef;
use kerncore::range::{front_piece, AddressRange};

/// Records one core can hold.
const RECORDS: usize = 128;

#[derive(Clone, Copy)]
pub(super) enum What {
    /// Pages `first..first + pages` of segment object `seg`.
    Segment { seg: u32, first: u64, pages: u64 },
    /// A link of shared range object `range` into the root `target`.
    Link { range: u32 },
}

#[derive(Clone, Copy)]
pub(super) struct Record {
    /// In use (a free record is all zeros, so the table is .bss).
    pub live: bool,
    pub slot: SlotRef,
    pub target: u32,
    pub gen: u32,
    pub va: u64,
    pub what: What,
    /// A `Map` cut short at a preemption point: the pages it mapped so
    /// far (from the start of the span), where the re-issued call goes on;
    /// 0 for a finished one.
    pub resume: u64,
}

const FREE: Record = Record {
    live: false,
    slot: SlotRef::new(kerncore::cap::ShareId(0), 0),
    target: 0,
    gen: 0,
    va: 0,
    resume: 0,
    what: What::Segment {
        seg: 0,
        first: 0,
        pages: 0,
    },
};

/// One core's records.
pub struct Maps {
    table: [Record; RECORDS],
    /// The slots that have records, kept exact: removing a capability
    /// that mapped nothing costs no scan.
    slots: SlotSet,
    /// Records marked cut short, at most (a hint: a `Map` scans for one
    /// to resume only when this is not 0; a record freed otherwise leaves
    /// it high until a scan that finds no match counts them again).
    cut_short: u32,
}

/// A set of the slots of one capability space: a bit per slot of each of
/// its shares (16 × 64 bits).
#[derive(Clone, Copy)]
pub(super) struct SlotSet([u64; super::MAX_SHARES]);

impl SlotSet {
    pub const fn new() -> SlotSet {
        SlotSet([0; super::MAX_SHARES])
    }

    #[inline(always)]
    fn at(slot: SlotRef) -> Option<(usize, u64)> {
        let word = slot.share.0 as usize;
        (word < super::MAX_SHARES && slot.index < 64).then(|| (word, 1u64 << slot.index))
    }

    pub fn insert(&mut self, slot: SlotRef) {
        if let Some((w, bit)) = SlotSet::at(slot) {
            self.0[w] |= bit;
        }
    }

    #[inline(always)]
    pub fn contains(&self, slot: SlotRef) -> bool {
        SlotSet::at(slot).is_some_and(|(w, bit)| self.0[w] & bit != 0)
    }
}

impl Maps {
    pub const fn new() -> Maps {
        Maps {
            table: [FREE; RECORDS],
            slots: SlotSet::new(),
            cut_short: 0,
        }
    }

    /// The record of a `Map` cut short that `r` (the same call issued
    /// again: same segment slot, range and generation, address and pages)
    /// goes on with, and the pages it had mapped; unmarked.
    #[inline(always)]
    pub(super) fn resume(&mut self, r: &Record) -> Option<(usize, u64)> {
        if self.cut_short == 0 {
            return None;
        }
        self.find_cut_short(r)
    }

    #[inline(never)]
    fn find_cut_short(&mut self, r: &Record) -> Option<(usize, u64)> {
        let same = |e: &Record| {
            e.live
                && e.resume != 0
                && (e.slot, e.target, e.gen, e.va) == (r.slot, r.target, r.gen, r.va)
                && matches!((e.what, r.what), (What::Segment { seg, first, pages }, What::Segment { seg: s, first: f, pages: p })
                    if (seg, first, pages) == (s, f, p))
        };
        let Some(i) = self.table.iter().position(same) else {
            // Not this call's: count the marked records again (a record
            // freed since by an unmap or a revoke is no longer one).
            let marked = self.table.iter().filter(|e| e.live && e.resume != 0);
            self.cut_short = marked.count() as u32;
            return None;
        };
        let done = core::mem::take(&mut self.table[i].resume);
        self.cut_short = self.cut_short.saturating_sub(1);
        Some((i, done))
    }

    /// Marks record `index` as a `Map` cut short after `pages` pages.
    pub(super) fn cut_short(&mut self, index: usize, pages: u64) {
        self.table[index].resume = pages;
        self.cut_short += 1;
    }

    /// Records `r`; its index.
    pub(super) fn add(&mut self, r: Record) -> Result<usize, Error> {
        let free = self.table.iter().position(|e| !e.live);
        let i = free.ok_or(Error::OutOfMemory)?;
        self.table[i] = Record { live: true, ..r };
        self.slots.insert(r.slot);
        Ok(i)
    }

    pub(super) fn remove(&mut self, index: usize) {
        self.table[index] = FREE;
    }

    fn live(&mut self) -> impl Iterator<Item = &mut Record> {
        self.table.iter_mut().filter(|e| e.live)
    }

    /// Forgets the segment records of `target` lying wholly inside
    /// `[va, va + len)` (the span was unmapped).
    pub(super) fn forget_span(&mut self, target: u32, va: u64, len: u64) {
        for e in self.live() {
            if let Record {
                target: t,
                va: v,
                what: What::Segment { pages, .. },
                ..
            } = *e
            {
                if t == target && v >= va && v + pages * crate::mm::PAGE <= va + len {
                    *e = FREE;
                }
            }
        }
    }

    /// Forgets the link record of `range` in `target`.
    pub(super) fn forget_link(&mut self, target: u32, range: u32) {
        for e in self.live() {
            if matches!(e, Record { target: t, what: What::Link { range: r }, .. } if *t == target && *r == range)
            {
                *e = FREE;
            }
        }
    }

    /// Undoes and forgets everything `slot` mapped.
    #[inline(always)]
    pub(super) fn undo_slot(&mut self, slot: SlotRef, spaces: &mut dyn Spaces) {
        self.undo_slot_until(slot, spaces, false);
    }

    /// [`Maps::undo_slot`] one record at a time; `cut`: stop after a
    /// record's undo, or a 2 MiB piece of one ([`undo_front`]), if an
    /// interrupt is pending (`CapRevoke`'s points). Whether it stopped
    /// with records of `slot` left.
    #[inline(always)]
    pub(super) fn undo_slot_until(
        &mut self,
        slot: SlotRef,
        spaces: &mut dyn Spaces,
        cut: bool,
    ) -> bool {
        self.slots.contains(slot) && self.undo_slot_slow(slot, spaces, cut)
    }

    /// [`Maps::undo_slot_until`] for a slot that mapped something (out of
    /// line: every removal asks, and most capabilities mapped nothing).
    #[inline(never)]
    fn undo_slot_slow(&mut self, slot: SlotRef, spaces: &mut dyn Spaces, cut: bool) -> bool {
        let mut left = SlotSet::new();
        let mut stopped = false;
        for e in self.live() {
            if e.slot == slot && !stopped {
                stopped = cut && undo_front(e, spaces);
                if !stopped {
                    let r = *e;
                    *e = FREE;
                    undo(&r, spaces);
                    stopped = cut && crate::arch::aarch64::irq_pending();
                    continue;
                }
            }
            left.insert(e.slot);
        }
        self.slots = left;
        stopped && left.contains(slot)
    }
}

/// Runs `f` on the address range object `id` (a task's root, a run-time
/// shared range under its lock, or an image range under theirs).
pub(super) fn with_range<R>(
    id: u32,
    spaces: &mut dyn Spaces,
    f: impl FnOnce(&mut AddressRange) -> R,
) -> Option<R> {
    match object::get(id)? {
        Obj::Root { core, slot } if *core == crate::percore::id() => {
            spaces.root(*slot).map(|s| f(s.range_mut()))
        }
        Obj::Range { home, lock } => lock_range(*home, lock).map(|mut r| f(&mut r)),
        Obj::ImageRange(index) => crate::shared::with(*index, f),
        _ => None,
    }
}

/// Takes a run-time range's lock: a shared range's is shared between
/// cores (counted); a private range's only ever by its home core (`None`
/// on any other, which has no business there).
pub(super) fn lock_range(
    home: Option<usize>,
    lock: &crate::sync::Mutex<AddressRange>,
) -> Option<crate::sync::MutexGuard<'_, AddressRange>> {
    match home {
        None => crate::percore::count(|e| &e.shared_locks),
        Some(core) if core != crate::percore::id() => return None,
        Some(_) => {}
    }
    Some(lock.lock())
}

fn undo(r: &Record, spaces: &mut dyn Spaces) {
    if object::generation(r.target) != r.gen {
        return;
    }
    match r.what {
        What::Segment { seg, first, pages } => {
            let Some(Obj::Segment(s)) = object::get(seg) else {
                return;
            };
            with_range(r.target, spaces, |range| {
                unmap_still_ours(range, s, r.va, first, pages)
            });
        }
        What::Link { range } => {
            let Some(Obj::Range { home, lock }) = object::get(range) else {
                return;
            };
            with_range(r.target, spaces, |root| {
                let Some(mut shared) = lock_range(*home, lock) else {
                    return;
                };
                let base = shared.base();
                if let Ok(inv) = root.unlink(&mut FrameTables, base - root.base(), &mut shared) {
                    invalidate(inv);
                }
            });
        }
    }
}

/// Under a revoke's points: undoes a finished segment record's front, a
/// piece at a time while more than a piece is left (`front_piece`: up to
/// the next 2 MiB boundary of the address, at most 512 pages, as `Unmap`'s
/// and `Map`'s pieces; a piece ending elsewhere would split a device
/// segment's 2 MiB block, whose unmap is refused, and leave it mapped),
/// the record keeping the rest (an ordinary record of the span still
/// mapped). Whether it stopped with an interrupt pending.
#[inline(never)]
fn undo_front(e: &mut Record, spaces: &mut dyn Spaces) -> bool {
    while let What::Segment { seg, first, pages } = e.what {
        let Some(n) = front_piece(e.va, pages).filter(|_| e.resume == 0) else {
            break;
        };
        let what = What::Segment {
            seg,
            first,
            pages: n,
        };
        undo(&Record { what, ..*e }, spaces);
        e.va += n * crate::mm::PAGE;
        e.what = What::Segment {
            seg,
            first: first + n,
            pages: pages - n,
        };
        if crate::arch::aarch64::irq_pending() {
            return true;
        }
    }
    false
}

/// Unmaps each page of `[va, va + pages)` that still maps page
/// `first + i` of `seg`: each run of such pages with one unmap and one
/// TLB invalidation (bounded: `MAX_TLBI_OPS`, then the whole ASID), not a
/// call and an invalidation per page.
pub(super) fn unmap_still_ours(
    range: &mut AddressRange,
    seg: &Segment,
    va: u64,
    first: u64,
    pages: u64,
) {
    let page = crate::mm::PAGE;
    let mut i = 0;
    while i < pages {
        let start = i;
        while i < pages && still_ours(range, seg, va + i * page, first + i) {
            i += 1;
        }
        if i == start {
            i += 1;
            continue;
        }
        let at = va + start * page - range.base();
        if let Ok(inv) = range.unmap(&mut FrameTables, at, (i - start) * page) {
            invalidate(inv);
        }
    }
}

/// Whether `at` still maps page `index` of `seg`.
fn still_ours(range: &mut AddressRange, seg: &Segment, at: u64, index: u64) -> bool {
    range
        .translate(&mut FrameTables, at)
        .is_some_and(|(pa, _)| pa == seg.frame(index))
}
