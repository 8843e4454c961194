//! Segments through capabilities: `SegmentCreate`, whose taking and
//! zeroing of frames is preemptible between pieces of
//! [`object::ZERO_PIECE`] pages, and `SegmentInfo`.

use super::object::{self, Obj, Segment};
use super::ops::{check_place, install, root_cap, Spaces};
use super::CoreCaps;
use abi::{args, Error, ObjectKind, Rights};
use kerncore::cap::ShareId;

/// A `SegmentCreate` cut short at a preemption point: its segment, not
/// yet in any object cell or slot (nobody can reach it), and how many of
/// its pages are taken and zeroed. Kept per task (by its root share),
/// until the task issues the call again, issues another `SegmentCreate`,
/// or ends.
struct Parked {
    root: ShareId,
    call: args::SegmentCreate,
    seg: Segment,
    done: u64,
}

/// One core's cut-short `SegmentCreate`s: at most one per task.
pub struct Creating([Option<Parked>; kerncore::bootimage::MAX_TASKS_PER_CORE]);

impl Creating {
    pub const fn new() -> Creating {
        Creating([const { None }; kerncore::bootimage::MAX_TASKS_PER_CORE])
    }

    /// The task's cut-short call, taken out.
    fn take(&mut self, root: ShareId) -> Option<Parked> {
        let e = self
            .0
            .iter_mut()
            .find(|e| e.as_ref().is_some_and(|p| p.root == root))?;
        e.take()
    }

    fn has_room(&self) -> bool {
        self.0.iter().any(Option::is_none)
    }

    fn park(&mut self, p: Parked) {
        if let Some(e) = self.0.iter_mut().find(|e| e.is_none()) {
            *e = Some(p);
        }
    }

    /// The task whose root share is `root` ended: the frames of its
    /// cut-short call go back to the pool.
    pub(super) fn task_ended(&mut self, root: ShareId) {
        if let Some(mut p) = self.take(root) {
            p.seg.free();
        }
    }
}

/// `SegmentCreate`: every check first (the destination, an object cell,
/// the frames), then the frames are taken and zeroed a page at a time.
/// Only a race with another core for the global pool or for a slot of a
/// shared share can fail it after that, and then everything goes back.
/// `Ok(true)`: cut short at a preemption point between pieces, the
/// segment parked for the task, whose same call issued again goes on
/// with it (its checks made again first); a different `SegmentCreate`
/// of the task gives the parked frames back first.
#[inline(never)]
pub(super) fn create(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    a: args::SegmentCreate,
) -> Result<bool, Error> {
    let root = spaces.root_share();
    // Nothing taken yet (`free` of it does nothing), or the parked one.
    let (mut seg, mut done) = (Segment::empty(), 0);
    if let Some(mut p) = root.and_then(|r| c.creating.take(r)) {
        if p.call == a {
            (seg, done) = (p.seg, p.done);
        } else {
            p.seg.free();
        }
    }
    let n = match check_place(c, spaces, a.dst, false) {
        Ok(n) => n,
        Err(e) => {
            seg.free();
            return Err(e);
        }
    };
    if done == 0 {
        // A fresh call (a parked one has done a piece at least).
        let frames = if a.contiguous {
            a.pages
        } else {
            Segment::frames_for(a.pages)
        };
        if !crate::mm::frames_available(frames) {
            return Err(Error::OutOfMemory);
        }
        if a.contiguous {
            seg = Segment::new_contiguous(a.pages)?;
        }
    }
    // Only a call that can be parked is cut short (always, in practice:
    // a place per task, and the task's own was just taken out).
    let park = root.filter(|_| c.creating.has_room());
    match seg.grow(a.pages, done, || {
        park.is_some() && crate::arch::aarch64::irq_pending()
    }) {
        Err(e) => {
            seg.free();
            Err(e)
        }
        Ok(done) if done < a.pages => {
            if let Some(root) = park {
                c.creating.park(Parked {
                    root,
                    call: a,
                    seg,
                    done,
                });
            }
            Ok(true)
        }
        Ok(_) => {
            let r = install(c, n, Obj::Segment(seg), Rights::ALL);
            r.map_err(|(e, obj)| {
                if let Obj::Segment(mut s) = obj {
                    s.free();
                }
                e
            })?;
            Ok(false)
        }
    }
}

/// `SegmentInfo`: the physical address of one page, and the page count.
#[inline(never)]
pub(super) fn info(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    args::SegmentInfo { segment, page }: args::SegmentInfo,
) -> Result<(u64, u64), Error> {
    let (_, cap) = root_cap(c, spaces, segment.0, ObjectKind::Segment, Rights::READ)?;
    let Some(Obj::Segment(s)) = object::get(cap.obj.id) else {
        return Err(Error::InvalidCapability);
    };
    if page >= s.pages {
        return Err(Error::OutOfRange);
    }
    Ok((s.frame(page), s.pages))
}
