//! Segments through capabilities: `SegmentCreate`, whose taking and
//! zeroing of frames is preemptible between pieces of
//! [`object::ZERO_PIECE`] pages, and `SegmentInfo`.

use super::object::{self, Obj, Segment};
use super::ops::{check_room, check_slot, install, Named};
use super::CoreCaps;
use abi::{args, Error, Rights};
use kerncore::cap::{Cap, ShareId};

/// A task's `SegmentCreate` in progress, and kept when cut short at a
/// preemption point: its segment, not yet in any object cell or slot
/// (nobody can reach it), and how many of its pages are taken and
/// zeroed. Kept per task (by its root share) until the task issues the
/// call again, issues another `SegmentCreate`, or ends.
struct Making {
    /// The task's root share; `None`: a free entry.
    root: Option<ShareId>,
    call: args::SegmentCreate,
    seg: Segment,
    done: u64,
}

const FREE: Making = Making {
    root: None,
    call: args::SegmentCreate {
        dst: abi::CPtr(0),
        pages: 0,
        contiguous: false,
    },
    seg: Segment::empty(),
    done: 0,
};

/// One core's `SegmentCreate`s in progress: at most one per task, and
/// how many entries are in use (0, the common case, spares a call the
/// search for its task's entry).
pub struct Creating {
    entries: [Making; kerncore::bootimage::MAX_TASKS_PER_CORE],
    live: usize,
}

impl Creating {
    pub const fn new() -> Creating {
        Creating {
            entries: [FREE; kerncore::bootimage::MAX_TASKS_PER_CORE],
            live: 0,
        }
    }

    /// Whether no call of this core's tasks is kept (the common case): a
    /// `SegmentCreate` then checks its destination before anything else.
    #[inline(always)]
    pub(super) fn none_kept(&self) -> bool {
        self.live == 0
    }

    /// The entry of the task `root`'s cut-short call, if it has one.
    fn kept(&self, root: ShareId) -> Option<usize> {
        if self.live == 0 {
            return None;
        }
        self.entries.iter().position(|e| e.root == Some(root))
    }

    /// The entry of the task `root`'s call `a`: its cut-short one if it is
    /// the same call, else a fresh one (a cut-short call with other
    /// arguments gives its frames back first).
    fn entry(&mut self, root: ShareId, a: args::SegmentCreate) -> Option<usize> {
        let i = match self.kept(root) {
            Some(i) if self.entries[i].call == a => return Some(i),
            Some(i) => {
                self.end(i);
                i
            }
            None => self.entries.iter().position(|e| e.root.is_none())?,
        };
        self.entries[i] = Making {
            root: Some(root),
            call: a,
            ..FREE
        };
        self.live += 1;
        Some(i)
    }

    /// Frees entry `i`, in use, giving its frames back.
    fn end(&mut self, i: usize) {
        self.entries[i].seg.free();
        self.entries[i].root = None;
        self.entries[i].done = 0;
        self.live -= 1;
    }

    /// The task whose root share is `root` ended: the frames of its
    /// cut-short call go back to the pool.
    pub(super) fn task_ended(&mut self, root: ShareId) {
        if let Some(i) = self.kept(root) {
            self.end(i);
        }
    }
}

/// `SegmentCreate`: every check first (the destination, an object cell,
/// the frames), then the frames are taken and zeroed a page at a time.
/// Only a race with another core for the global pool or for a slot of a
/// shared share can fail it after that, and then everything goes back.
/// `Ok(true)`: cut short at a preemption point between pieces, the
/// segment kept for the task, whose same call issued again goes on with
/// it (its checks made again first); a different `SegmentCreate` of the
/// task gives the kept frames back first.
#[inline(never)]
pub(super) fn create(
    c: &mut CoreCaps,
    root: Option<ShareId>,
    a: args::SegmentCreate,
) -> Result<bool, Error> {
    let task = root.ok_or(Error::InvalidArgument)?;
    // The destination and an object cell, once a call (again on each
    // re-issue): refused, a call with nothing kept (the common case)
    // touches no entry, and a kept one gives its frames back.
    let place = check_slot(c, root, a.dst, false).and_then(|n| check_room().map(|()| n));
    let n = match place {
        Ok(n) => n,
        Err(e) => {
            if let Some(i) = c.creating.kept(task) {
                c.creating.end(i);
            }
            return Err(e);
        }
    };
    // An entry per task of the core: there is one for the caller.
    let i = c.creating.entry(task, a).ok_or(Error::OutOfMemory)?;
    let r = make(c, n, a, i);
    if r != Ok(true) {
        c.creating.end(i);
    }
    r
}

/// [`create`]'s work on entry `i`, for the place `n` it checked:
/// `Ok(true)` when cut short (the entry keeps what is done), else done
/// with it.
fn make(c: &mut CoreCaps, n: Named, a: args::SegmentCreate, i: usize) -> Result<bool, Error> {
    let e = &mut c.creating.entries[i];
    if e.done == 0 {
        // A fresh call (a kept one has done a piece at least).
        let frames = if a.contiguous {
            a.pages
        } else {
            Segment::frames_for(a.pages)
        };
        if !crate::mm::frames_available(frames) {
            return Err(Error::OutOfMemory);
        }
        if a.contiguous {
            e.seg = Segment::new_contiguous(a.pages)?;
        }
    }
    e.done = e
        .seg
        .grow(a.pages, e.done, crate::arch::aarch64::irq_pending)?;
    if e.done < a.pages {
        return Ok(true);
    }
    let seg = core::mem::replace(&mut e.seg, Segment::empty());
    install(c, n, Obj::Segment(seg), Rights::ALL).map_err(|(e, obj)| {
        if let Obj::Segment(mut s) = obj {
            s.free();
        }
        e
    })?;
    Ok(false)
}

/// `SegmentInfo` of the segment capability `cap` (its entry looked it
/// up, READ): the physical address of page `page`, and the page count.
#[inline(never)]
pub(super) fn info(cap: Cap, page: u64) -> Result<(u64, u64), Error> {
    let Some(Obj::Segment(s)) = object::get(cap.obj.id) else {
        return Err(Error::InvalidCapability);
    };
    if page >= s.pages {
        return Err(Error::OutOfRange);
    }
    Ok((s.frame(page), s.pages))
}
