//! Valid object life cycles with corrupted calls in between: a model of
//! the root slots `MODEL_FIRST..MODEL_END` (what each holds, its rights,
//! the copy it derives from, what is mapped and linked through it, a
//! notification's pending bits, which slots of a share are full), and
//! steps that create, inspect, copy, delete, revoke, map, touch, unmap,
//! link, signal and poll, each checked against the model. One step in
//! four is a corrupted call: exactly one argument broken, the error it
//! must give decided by that argument.

mod mapping;

use crate::layout::{MODEL_END, MODEL_FIRST, MODEL_VA};
use crate::rng::Rng;
use crate::stub::Sys;
use ulib::{CPtr, Error, Syscall};

const PAGE: u64 = 4096;
const ALL: u8 = 0b1111;
const R: u8 = 0b0001;
const W: u8 = 0b0010;
const G: u8 = 0b1000;
/// Slots of a model share the nested steps use.
const INNER: u64 = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Segment { pages: u64 },
    Notification,
    Share { shared: bool },
    Range { private: bool },
}

impl Kind {
    fn code(self) -> u64 {
        match self {
            Kind::Segment { .. } => 1,
            Kind::Range { .. } => 2,
            Kind::Share { .. } => 3,
            Kind::Notification => 5,
        }
    }
}

#[derive(Clone, Copy)]
struct Cap {
    /// Which object (every copy names its original's).
    obj: u64,
    kind: Kind,
    rights: u8,
    /// The model slot this was copied from, if it is still there.
    parent: Option<u8>,
    /// Pages mapped through it (originals only) at [`seg_va`].
    mapped: bool,
    /// Linked (originals only).
    linked: bool,
    /// A range's base (every copy's too).
    base: u64,
}

/// Bits signalled on an object and not taken; full slots of a share.
#[derive(Clone, Copy, Default)]
struct ObjState {
    obj: u64,
    pending: u64,
    inner: u64,
}

/// A segment mapped inside a model range (through the segment's slot
/// `seg`, which the kernel's mapping record names: removing that
/// capability undoes the mapping).
#[derive(Clone, Copy)]
struct InRange {
    /// The range object, and the window (32 KiB) of it.
    range: u64,
    base: u64,
    window: u64,
    seg: u8,
    pages: u64,
}

pub struct Model {
    slots: [Option<Cap>; 64],
    objs: [ObjState; 64],
    next_obj: u64,
    in_range: [Option<InRange>; IN_RANGE],
}

/// Segment mappings inside ranges the model follows at once.
const IN_RANGE: usize = 16;

fn e(x: Error) -> u64 {
    x as u64
}

/// Where the segment whose original is in `slot` is mapped.
fn seg_va(slot: u8) -> u64 {
    MODEL_VA + slot as u64 * 0x8_0000
}

/// The base of the shared range made in `slot`.
fn range_va(slot: u8) -> u64 {
    MODEL_VA + (64 << 20) + slot as u64 * (2 << 20)
}

impl Model {
    pub const fn new() -> Model {
        Model {
            slots: [None; 64],
            objs: [ObjState {
                obj: 0,
                pending: 0,
                inner: 0,
            }; 64],
            next_obj: 1,
            in_range: [None; IN_RANGE],
        }
    }

    fn state(&mut self, obj: u64) -> &mut ObjState {
        let i = self
            .objs
            .iter()
            .position(|o| o.obj == obj)
            .or_else(|| self.objs.iter().position(|o| o.obj == 0))
            .expect("at most 28 objects live");
        if self.objs[i].obj != obj {
            self.objs[i] = ObjState {
                obj,
                pending: 0,
                inner: 0,
            };
        }
        &mut self.objs[i]
    }

    /// Forgets the object's state once no model slot names it.
    fn forget_if_gone(&mut self, obj: u64) {
        if !self.slots.iter().flatten().any(|c| c.obj == obj) {
            for m in self.in_range.iter_mut() {
                if m.is_some_and(|m| m.range == obj) {
                    *m = None;
                }
            }
            if let Some(o) = self.objs.iter_mut().find(|o| o.obj == obj) {
                *o = ObjState::default();
            }
        }
    }

    fn pick_slot(r: &mut Rng) -> u8 {
        MODEL_FIRST + r.below((MODEL_END - MODEL_FIRST) as u64) as u8
    }

    /// A full slot holding `want` (by kind code), if the draw finds one.
    fn pick_full(&self, r: &mut Rng, want: Option<u64>) -> Option<u8> {
        let start = Model::pick_slot(r);
        let n = MODEL_END - MODEL_FIRST;
        (0..n)
            .map(|k| MODEL_FIRST + (start - MODEL_FIRST + k) % n)
            .find(|&s| {
                self.slots[s as usize].is_some_and(|c| want.is_none_or(|k| c.kind.code() == k))
            })
    }

    fn pick_empty(&self, r: &mut Rng) -> Option<u8> {
        let start = Model::pick_slot(r);
        let n = MODEL_END - MODEL_FIRST;
        (0..n)
            .map(|k| MODEL_FIRST + (start - MODEL_FIRST + k) % n)
            .find(|&s| self.slots[s as usize].is_none())
    }

    /// One step of the life cycle.
    pub fn step(&mut self, r: &mut Rng, sys: &mut Sys) {
        match r.below(16) {
            13 | 14 => self.map_in_range(r, sys),
            15 => self.unmap_in_range(r, sys),
            0 | 1 => self.create(r, sys),
            2 => self.info(r, sys),
            3 => self.copy(r, sys),
            4 => self.delete(r, sys),
            5 => self.revoke(r, sys),
            6 | 7 => self.map(r, sys),
            8 => self.unmap(r, sys),
            9 => self.notify(r, sys),
            10 => self.nested(r, sys),
            11 => self.link(r, sys),
            _ => self.info(r, sys),
        }
    }

    fn create(&mut self, r: &mut Rng, sys: &mut Sys) {
        let s = Model::pick_slot(r);
        let full = self.slots[s as usize].is_some();
        let dst = s as u64;
        let (n, mut a, kind) = match r.below(4) {
            0 => {
                let pages = 1 + r.below(8);
                let a = [dst, pages, 0, 0, 0, 0];
                (Syscall::SegmentCreate, a, Kind::Segment { pages })
            }
            1 => (
                Syscall::NotifyCreate,
                [dst, 0, 0, 0, 0, 0],
                Kind::Notification,
            ),
            2 => {
                let shared = r.chance(1, 2);
                let a = [dst, shared as u64, 0, 0, 0, 0];
                (Syscall::ShareCreate, a, Kind::Share { shared })
            }
            _ => {
                let private = r.chance(1, 2);
                let a = [dst, range_va(s), 2 << 20, private as u64, 0, 0];
                (Syscall::RangeCreate, a, Kind::Range { private })
            }
        };
        if full {
            // Creates check the destination before they take anything
            // (issue 11: validate before act), so an occupied slot is
            // SlotOccupied even when the core is out of object cells.
            sys.expect(n as u64, a, e(Error::SlotOccupied));
            return;
        }
        if r.chance(1, 4) {
            // One argument broken; the slot is empty.
            let want = match (n, r.below(3)) {
                (Syscall::SegmentCreate, 0) => {
                    a[1] = r.pick(&[0, 4097, u64::MAX]);
                    Error::InvalidArgument
                }
                (Syscall::SegmentCreate, _) => {
                    a[2] = 2 << r.below(62);
                    Error::InvalidArgument
                }
                (Syscall::ShareCreate, _) => {
                    a[1] = 2 + r.below(1000);
                    Error::InvalidArgument
                }
                (Syscall::RangeCreate, 0) => {
                    a[2] = r.pick(&[PAGE, 4 << 20, (2 << 20) + PAGE]);
                    Error::SharedRangeNotAligned
                }
                (Syscall::RangeCreate, 1) => {
                    a[1] += r.pick(&[PAGE, 1 << 20, 8]);
                    Error::SharedRangeNotAligned
                }
                (Syscall::RangeCreate, _) => {
                    a[3] |= 2 << r.below(62);
                    Error::InvalidArgument
                }
                _ => {
                    a[0] |= 1 << (16 + r.below(48));
                    Error::InvalidCapability
                }
            };
            sys.expect(n as u64, a, e(want));
            return;
        }
        let got = sys.expect_any(n as u64, a, &[0, e(Error::OutOfMemory)]);
        if got[0] == 0 {
            let obj = self.next_obj;
            self.next_obj += 1;
            let rights = if kind == Kind::Notification {
                R | W | G
            } else {
                ALL
            };
            self.slots[s as usize] = Some(Cap {
                obj,
                kind,
                rights,
                parent: None,
                mapped: false,
                linked: false,
                base: a[1],
            });
        }
    }

    fn info(&mut self, r: &mut Rng, sys: &mut Sys) {
        let s = Model::pick_slot(r);
        let a = [s as u64, 0, 0, 0, 0, 0];
        let n = Syscall::CapInfo as u64;
        match self.slots[s as usize] {
            None => {
                sys.expect(n, a, e(Error::InvalidCapability));
            }
            Some(c) => {
                let got = sys.expect(n, a, 0);
                let want = (c.kind.code(), c.rights as u64);
                if got[0] == 0 && (got[1], got[2]) != want {
                    sys.fail(
                        n,
                        a,
                        format_args!("kind {} rights {:#x}, want {:?}", got[1], got[2], want),
                    );
                }
            }
        }
    }

    fn copy(&mut self, r: &mut Rng, sys: &mut Sys) {
        let n = Syscall::CapCopy as u64;
        let (Some(src), Some(dst)) = (self.pick_full(r, None), self.pick_empty(r)) else {
            return;
        };
        let mask = r.below(16);
        if r.chance(1, 5) {
            let (a, want) = match r.below(3) {
                0 => (
                    [src as u64, dst as u64, mask | 16 << r.below(40), 0, 0, 0],
                    Error::InvalidArgument,
                ),
                1 => (
                    [dst as u64, src as u64, mask, 0, 0, 0],
                    Error::InvalidCapability,
                ),
                _ => ([src as u64, src as u64, mask, 0, 0, 0], Error::SlotOccupied),
            };
            sys.expect(n, a, e(want));
            return;
        }
        let a = [src as u64, dst as u64, mask, 0, 0, 0];
        let got = sys.expect(n, a, 0);
        if got[0] == 0 {
            let c = self.slots[src as usize].expect("full");
            self.slots[dst as usize] = Some(Cap {
                rights: c.rights & mask as u8,
                parent: Some(src),
                mapped: false,
                linked: false,
                ..c
            });
        }
    }

    fn delete(&mut self, r: &mut Rng, sys: &mut Sys) {
        let s = Model::pick_slot(r);
        let a = [s as u64, 0, 0, 0, 0, 0];
        let n = Syscall::CapDelete as u64;
        let Some(c) = self.slots[s as usize] else {
            sys.expect(n, a, e(Error::InvalidCapability));
            return;
        };
        self.undo(s, sys);
        sys.expect(n, a, 0);
        self.slots[s as usize] = None;
        self.unmapped_with(s);
        for x in self.slots.iter_mut().flatten() {
            if x.parent == Some(s) {
                x.parent = c.parent;
            }
        }
        self.forget_if_gone(c.obj);
    }

    /// The kernel undid what the capability in `slot` mapped.
    fn unmapped_with(&mut self, slot: u8) {
        for m in self.in_range.iter_mut() {
            if m.is_some_and(|m| m.seg == slot) {
                *m = None;
            }
        }
    }

    fn descends(&self, slot: u8, from: u8) -> bool {
        let mut at = self.slots[slot as usize].and_then(|c| c.parent);
        for _ in 0..64 {
            match at {
                Some(p) if p == from => return true,
                Some(p) => at = self.slots[p as usize].and_then(|c| c.parent),
                None => return false,
            }
        }
        false
    }

    fn revoke(&mut self, r: &mut Rng, sys: &mut Sys) {
        let s = Model::pick_slot(r);
        let a = [s as u64, 0, 0, 0, 0, 0];
        let n = Syscall::CapRevoke as u64;
        let Some(c) = self.slots[s as usize] else {
            sys.expect(n, a, e(Error::InvalidCapability));
            return;
        };
        sys.expect(n, a, 0);
        let gone: u64 = (MODEL_FIRST..MODEL_END)
            .filter(|&d| self.descends(d, s))
            .fold(0, |m, d| m | 1 << d);
        for d in 0..64 {
            if gone & 1 << d != 0 {
                self.slots[d] = None;
                self.unmapped_with(d as u8);
            }
        }
        self.forget_if_gone(c.obj);
    }

    fn notify(&mut self, r: &mut Rng, sys: &mut Sys) {
        let Some(s) = self
            .pick_full(r, Some(5))
            .or_else(|| self.pick_full(r, None))
        else {
            return;
        };
        let c = self.slots[s as usize].expect("full");
        let signal = r.chance(1, 2);
        let n = if signal {
            Syscall::Signal
        } else {
            Syscall::Wait
        } as u64;
        let bits = 1u64 << r.below(64) | r.below(2) << r.below(64);
        let a = if signal {
            [s as u64, bits, 0, 0, 0, 0]
        } else {
            [s as u64, 1, 0, 0, 0, 0]
        };
        if c.kind != Kind::Notification {
            sys.expect(n, a, e(Error::WrongObjectKind));
            return;
        }
        let need = if signal { W } else { R };
        if c.rights & need == 0 {
            sys.expect(n, a, e(Error::MissingRights));
            return;
        }
        if r.chance(1, 4) {
            let mut a = a;
            a[1] = if signal { 0 } else { 2 << r.below(62) };
            sys.expect(n, a, e(Error::InvalidArgument));
            return;
        }
        let got = sys.expect(n, a, 0);
        if got[0] != 0 {
            return;
        }
        let st = self.state(c.obj);
        if signal {
            st.pending |= bits;
        } else {
            let want = core::mem::take(&mut st.pending);
            if got[1] != want {
                sys.fail(
                    n,
                    a,
                    format_args!("took bits {:#x}, want {:#x}", got[1], want),
                );
            }
        }
    }

    /// Calls into a model share: create, inspect and delete in its slots,
    /// a private share into a shared one, the share into itself.
    fn nested(&mut self, r: &mut Rng, sys: &mut Sys) {
        let Some(s) = self.pick_full(r, Some(3)) else {
            return;
        };
        let c = self.slots[s as usize].expect("full");
        let Kind::Share { shared } = c.kind else {
            return;
        };
        let i = r.below(INNER);
        let at = CPtr::via(s, i as u8).0;
        let inner = self.state(c.obj).inner;
        let full = inner & 1 << i != 0;
        let (read, write) = (c.rights & R != 0, c.rights & W != 0);
        let missing = e(Error::MissingRights);
        match r.below(5) {
            0 => {
                let n = Syscall::NotifyCreate as u64;
                let a = [at, 0, 0, 0, 0, 0];
                if !write {
                    sys.expect(n, a, missing);
                } else if full {
                    // As in `create`: the slot is checked first.
                    sys.expect(n, a, e(Error::SlotOccupied));
                } else if sys.expect_any(n, a, &[0, e(Error::OutOfMemory)])[0] == 0 {
                    self.state(c.obj).inner |= 1 << i;
                }
            }
            1 => {
                let n = Syscall::CapInfo as u64;
                let a = [at, 0, 0, 0, 0, 0];
                let want = match (read, full) {
                    (false, _) => missing,
                    (true, false) => e(Error::InvalidCapability),
                    (true, true) => 0,
                };
                let got = sys.expect(n, a, want);
                if want == 0 && got[0] == 0 && (got[1], got[2]) != (5, (R | W | G) as u64) {
                    sys.fail(n, a, format_args!("kind {} rights {:#x}", got[1], got[2]));
                }
            }
            2 => {
                let n = Syscall::CapDelete as u64;
                let a = [at, 0, 0, 0, 0, 0];
                let want = match (write, full) {
                    (false, _) => missing,
                    (true, false) => e(Error::InvalidCapability),
                    (true, true) => 0,
                };
                if sys.expect(n, a, want)[0] == 0 && want == 0 {
                    self.state(c.obj).inner &= !(1 << i);
                }
            }
            3 => {
                // A private share's capability cannot go into a shared one.
                let n = Syscall::ShareCreate as u64;
                let a = [at, 0, 0, 0, 0, 0];
                if write && !full && shared {
                    sys.expect(n, a, e(Error::NotOwner));
                } else if !write {
                    sys.expect(n, a, missing);
                }
            }
            _ => {
                // The share into itself: a cycle no deletion could free.
                let n = Syscall::CapCopy as u64;
                let a = [s as u64, at, ALL as u64, 0, 0, 0];
                if full {
                    return;
                }
                let want = if !write || c.rights & G == 0 {
                    missing
                } else {
                    e(Error::ShareCycle)
                };
                sys.expect(n, a, want);
            }
        }
    }
}
