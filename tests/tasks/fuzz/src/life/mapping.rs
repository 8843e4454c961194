//! The model's steps on memory: map a segment's pages and touch them,
//! unmap them, link and unlink a range (each with its corrupted calls),
//! map segments inside ranges (touched through the range's link when it
//! is linked), and undoing what a slot mapped or linked before it goes.

use super::{e, seg_va, InRange, Kind, Model, G, PAGE, R, W};
use crate::layout::{MODEL_END, MODEL_FIRST};
use crate::rng::Rng;
use crate::stub::Sys;
use ulib::{Error, Syscall};

impl Model {
    /// Undoes what the model mapped or linked through `s` (before it goes).
    pub(super) fn undo(&mut self, s: u8, sys: &mut Sys) {
        let Some(c) = self.slots[s as usize] else {
            return;
        };
        if c.mapped {
            if let Kind::Segment { pages } = c.kind {
                let a = [0, seg_va(s), pages * PAGE, 0, 0, 0];
                sys.expect(Syscall::Unmap as u64, a, 0);
            }
        }
        if c.linked {
            sys.expect(Syscall::Unlink as u64, [s as u64, 0, 0, 0, 0, 0], 0);
        }
        if let Some(c) = self.slots[s as usize].as_mut() {
            c.mapped = false;
            c.linked = false;
        }
    }

    pub(super) fn map(&mut self, r: &mut Rng, sys: &mut Sys) {
        let n = Syscall::Map as u64;
        let Some(s) = self.pick_full(r, Some(1)) else {
            return;
        };
        let c = self.slots[s as usize].expect("full");
        let Kind::Segment { pages } = c.kind else {
            return;
        };
        if c.parent.is_some() || c.rights & (R | W) != R | W {
            // A copy: mapped only through the original (whose mapping
            // the model follows); with no R or W the call is refused.
            if c.rights & R == 0 {
                let a = [0, seg_va(s), s as u64, 0, PAGE, R as u64];
                sys.expect(n, a, e(Error::MissingRights));
            }
            return;
        }
        let rw = (R | W) as u64;
        let mut a = [0, seg_va(s), s as u64, 0, pages * PAGE, rw];
        if c.mapped {
            sys.expect(n, a, e(Error::Overlap));
            self.touch(s, pages, sys);
            return;
        }
        if r.chance(1, 3) {
            let want = match r.below(7) {
                0 => {
                    a[1] += r.pick(&[1, 8, 2048]);
                    Error::Misaligned
                }
                1 => {
                    a[4] = 0;
                    Error::InvalidArgument
                }
                2 => {
                    a[4] = (pages + 1 + r.below(4)) * PAGE;
                    Error::TooSmall
                }
                3 => {
                    a[3] = pages * PAGE;
                    Error::TooSmall
                }
                4 => {
                    a[5] = r.pick(&[G as u64, 0x10, 0x13, 1 << 40]);
                    Error::InvalidArgument
                }
                5 => {
                    a[0] = s as u64;
                    Error::WrongObjectKind
                }
                _ => {
                    a[1] = r.pick(&[1 << 48, (1 << 48) + (1 << 30)]);
                    Error::OutOfRange
                }
            };
            sys.expect(n, a, e(want));
            return;
        }
        let got = sys.expect_any(n, a, &[0, e(Error::OutOfMemory)]);
        if got[0] == 0 {
            if let Some(c) = self.slots[s as usize].as_mut() {
                c.mapped = true;
            }
            self.touch(s, pages, sys);
        }
    }

    /// Writes a word to each mapped page and reads it back.
    fn touch(&mut self, s: u8, pages: u64, sys: &mut Sys) {
        for p in 0..pages {
            let at = (seg_va(s) + p * PAGE + 8 * (p % 512)) as *mut u64;
            let v = 0xf022_0000_0000_0000 | (s as u64) << 32 | p;
            // Safety: the model mapped this page read/write at this
            // address (a Map that returned 0), and nothing unmaps the
            // model's span but the model.
            let back = unsafe {
                core::ptr::write_volatile(at, v);
                core::ptr::read_volatile(at)
            };
            sys.touched += 1;
            if back != v {
                let a = [0, at as u64, 0, 0, 0, 0];
                sys.fail(
                    0,
                    a,
                    format_args!("mapped page reads {:#x}, wrote {:#x}", back, v),
                );
            }
        }
    }

    pub(super) fn unmap(&mut self, r: &mut Rng, sys: &mut Sys) {
        let n = Syscall::Unmap as u64;
        let Some(s) = self.pick_full(r, Some(1)) else {
            return;
        };
        let c = self.slots[s as usize].expect("full");
        let Kind::Segment { pages } = c.kind else {
            return;
        };
        if !c.mapped {
            return;
        }
        if r.chance(1, 3) {
            let a = [0, seg_va(s) + r.pick(&[1, 8, 0x800]), PAGE, 0, 0, 0];
            sys.expect(n, a, e(Error::Misaligned));
            return;
        }
        self.undo(s, sys);
        let _ = pages;
    }

    pub(super) fn link(&mut self, r: &mut Rng, sys: &mut Sys) {
        let Some(s) = self.pick_full(r, Some(2)) else {
            return;
        };
        let c = self.slots[s as usize].expect("full");
        let a = [s as u64, 0, 0, 0, 0, 0];
        if c.rights & R == 0 {
            sys.expect(Syscall::Link as u64, a, e(Error::MissingRights));
            return;
        }
        if c.parent.is_some() {
            return;
        }
        // Another range linked at the same base (an older range of this
        // slot, whose copy outlived it): the model leaves it be.
        let twin = (MODEL_FIRST..MODEL_END).any(|t| {
            t != s
                && self.slots[t as usize].is_some_and(|x| {
                    matches!(x.kind, Kind::Range { .. }) && x.base == c.base && x.linked
                })
        });
        if twin {
            return;
        }
        if c.linked {
            if r.chance(1, 2) {
                sys.expect(Syscall::Link as u64, a, e(Error::Overlap));
            } else {
                self.undo(s, sys);
            }
        } else if r.chance(1, 4) {
            sys.expect(Syscall::Unlink as u64, a, e(Error::InvalidArgument));
        } else {
            let got = sys.expect_any(Syscall::Link as u64, a, &[0, e(Error::OutOfMemory)]);
            if got[0] == 0 {
                if let Some(c) = self.slots[s as usize].as_mut() {
                    c.linked = true;
                }
                self.touch_ranges(sys);
            }
        }
    }

    /// Maps a segment into a window of a model range (through the range's
    /// original capability, with W), and touches it if the range is linked.
    pub(super) fn map_in_range(&mut self, r: &mut Rng, sys: &mut Sys) {
        let (Some(rs), Some(ss)) = (self.pick_full(r, Some(2)), self.pick_full(r, Some(1))) else {
            return;
        };
        let (rc, sc) = (
            self.slots[rs as usize].expect("full"),
            self.slots[ss as usize].expect("full"),
        );
        let Kind::Segment { pages } = sc.kind else {
            return;
        };
        if rc.parent.is_some() || rc.rights & W == 0 || sc.rights & (R | W) != R | W {
            return;
        }
        let window = r.below(8);
        let va = rc.base + window * 0x8000;
        let a = [rs as u64, va, ss as u64, 0, pages * PAGE, (R | W) as u64];
        let n = Syscall::Map as u64;
        let taken = self
            .in_range
            .iter()
            .flatten()
            .any(|m| m.range == rc.obj && m.window == window);
        if taken {
            sys.expect(n, a, e(Error::Overlap));
            self.touch_ranges(sys);
            return;
        }
        let Some(free) = self.in_range.iter().position(Option::is_none) else {
            return;
        };
        if r.chance(1, 4) {
            // The span must stay inside the range.
            let mut a = a;
            a[1] = rc.base + (2 << 20) - PAGE;
            a[4] = 2 * PAGE;
            if pages >= 2 {
                sys.expect(n, a, e(Error::OutOfRange));
            }
            return;
        }
        let got = sys.expect_any(n, a, &[0, e(Error::OutOfMemory)]);
        if got[0] == 0 {
            self.in_range[free] = Some(InRange {
                range: rc.obj,
                base: rc.base,
                window,
                seg: ss,
                pages,
            });
            self.touch_ranges(sys);
        }
    }

    /// Unmaps a segment the model mapped in a range.
    pub(super) fn unmap_in_range(&mut self, r: &mut Rng, sys: &mut Sys) {
        let i = r.below(self.in_range.len() as u64) as usize;
        let Some(m) = self.in_range[i] else {
            return;
        };
        // Any model slot naming the range with W will do.
        let Some(rs) = (MODEL_FIRST..MODEL_END).find(|&t| {
            self.slots[t as usize].is_some_and(|c| c.obj == m.range && c.rights & W != 0)
        }) else {
            return;
        };
        let va = m.base + m.window * 0x8000;
        let a = [rs as u64, va, m.pages * PAGE, 0, 0, 0];
        sys.expect(Syscall::Unmap as u64, a, 0);
        self.in_range[i] = None;
    }

    /// Writes and reads back each page mapped in a range that the model
    /// has linked (through the link, at the range's base).
    fn touch_ranges(&mut self, sys: &mut Sys) {
        for m in self.in_range.iter().flatten() {
            let linked = self
                .slots
                .iter()
                .flatten()
                .any(|c| c.obj == m.range && c.linked && c.rights & W != 0);
            if !linked {
                continue;
            }
            for p in 0..m.pages {
                let at = (m.base + m.window * 0x8000 + p * PAGE + 8 * m.window) as *mut u64;
                let v = 0x4a4e_0000_0000_0000 | m.range << 16 | p;
                // Safety: the model mapped this page read/write in the
                // range (a Map that returned 0) and linked the range with
                // every right (a Link that returned 0); only the model
                // changes either.
                let back = unsafe {
                    core::ptr::write_volatile(at, v);
                    core::ptr::read_volatile(at)
                };
                sys.touched += 1;
                if back != v {
                    let a = [0, at as u64, 0, 0, 0, 0];
                    sys.fail(
                        0,
                        a,
                        format_args!("page in a range reads {:#x}, wrote {:#x}", back, v),
                    );
                }
            }
        }
    }
}
