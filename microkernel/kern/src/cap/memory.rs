//! Address ranges through capabilities: create, map, unmap, link
//! (segments are made in `segment.rs`).

use super::mapping::{lock_range, unmap_still_ours, with_range, Record, What};
use super::object::{self, Obj, Segment};
use super::ops::{check_room, install, root_cap, Named, Spaces};
use super::CoreCaps;
use crate::mm;
use crate::uspace::{invalidate, FrameTables};
use abi::{args, slots, Error, ObjectKind, Rights};
use kerncore::cap::{Cap, SlotRef};
use kerncore::range::{AddressRange, SegmentInfo};

const PAGE: u64 = mm::PAGE;

/// `RangeCreate` into `n` (its entry checked it): the destination, the span and an object cell are
/// checked first, in that order (an argument error before `OutOfMemory`); then the range's table frame is taken (its only failure
/// left: no frame).
#[inline(never)]
pub(super) fn range_create(c: &mut CoreCaps, a: args::RangeCreate, n: Named) -> Result<(), Error> {
    AddressRange::check_linkable(a.base, a.size)?;
    check_room()?;
    let (range, home) = if a.private {
        let me = crate::percore::id();
        (
            AddressRange::new_local(&mut FrameTables, a.base, a.size)?,
            Some(me),
        )
    } else {
        (
            AddressRange::new_shared(&mut FrameTables, a.base, a.size)?,
            None,
        )
    };
    // Every right, as for a segment: the creator hands out less by copying.
    let obj = Obj::Range {
        home,
        lock: crate::sync::Mutex::new(range),
    };
    install(c, n, obj, Rights::ALL).map_err(|(e, obj)| {
        if let Obj::Range { lock, .. } = obj {
            free_range(lock.into_inner());
        }
        e
    })
}

/// Frees a run-time shared range's tables (not its pages: they belong to
/// segments). Every link to it is gone by then.
pub(super) fn free_range(range: AddressRange) {
    match range.destroy(&mut FrameTables) {
        Ok(inv) => invalidate(inv),
        Err((_, e)) => crate::kprintln!("address range not freed: {:?}", e),
    }
}

/// `Map` (`abi::args::Map`: the rights are known bits without GRANT). The
/// range's capability needs WRITE (changing what it maps), and EXECUTE too
/// for an executable mapping; the segment's needs every right asked.
/// `Ok(true)`: cut short at a preemption point (an interrupt is pending),
/// its record marked so that the same call issued again goes on from
/// there ([`map_in_chunks`]). `range_cap`: the range's capability, which
/// the call's entry looked up (with [`map_rights_on_range`]).
#[inline(never)]
pub(super) fn map(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    a: args::Map,
    range_cap: Cap,
) -> Result<bool, Error> {
    let args::Map {
        range: _,
        va,
        segment: seg_cptr,
        offset: seg_off,
        len,
        rights,
    } = a;
    let (seg_slot, seg_cap) = root_cap(c, spaces, seg_cptr.0, ObjectKind::Segment, rights)?;
    let Some(Obj::Segment(seg)) = object::get(seg_cap.obj.id) else {
        return Err(Error::InvalidCapability);
    };
    if len == 0 {
        return Err(Error::InvalidArgument);
    }
    if (va | seg_off | len) % PAGE != 0 {
        return Err(Error::Misaligned);
    }
    let seg_bytes = seg.pages * PAGE;
    if seg_off.checked_add(len).is_none_or(|end| end > seg_bytes) {
        return Err(Error::TooSmall);
    }
    let target = range_cap.obj.id;
    let gen = object::generation(target);
    let record = Record {
        live: true,
        slot: seg_slot,
        target,
        gen,
        va,
        what: What::Segment {
            seg: seg_cap.obj.id,
            first: seg_off / PAGE,
            pages: len / PAGE,
        },
        resume: 0,
    };
    // The same call cut short before goes on; otherwise reserve the
    // record first, so a full table changes nothing.
    let (index, done) = match c.maps.resume(&record) {
        Some((index, pages)) => (index, pages * PAGE),
        None => (c.maps.add(record)?, 0),
    };
    let r = if seg.device.is_some() || va / CHUNK == (va + len - 1) / CHUNK {
        // One chunk (the common case: a page or a few).
        with_range(target, spaces, |range| {
            map_pages(range, seg, va, seg_off, len, rights)
        })
        .unwrap_or(Err(Error::InvalidCapability))
        .map(|()| None)
    } else {
        map_in_chunks(
            target,
            spaces,
            seg,
            Span {
                va,
                seg_off,
                len,
                done,
            },
            rights,
        )
    };
    match r {
        Ok(None) => Ok(false),
        Ok(Some(done)) => {
            c.maps.cut_short(index, done / PAGE);
            Ok(true)
        }
        Err(e) => {
            c.maps.remove(index);
            Err(e)
        }
    }
}

/// A `Map`'s span: `len` bytes at `va`, from byte `seg_off` of the
/// segment, of which the first `done` are mapped already (by the same
/// call, before it was cut short).
#[derive(Clone, Copy)]
struct Span {
    va: u64,
    seg_off: u64,
    len: u64,
    done: u64,
}

/// The most a `Map` maps under one hold of the range's lock: one L3
/// table's span (512 pages). A shared range's lock is shared with every
/// core that maps or unmaps in it; a 16 MiB map holds it 8 times, not once
/// for 4096 pages.
const CHUNK: u64 = 2 << 20;

/// Maps `[va, va + len)` of a RAM segment in chunks that end on [`CHUNK`]
/// boundaries of the address, taking and releasing the range's lock for
/// each (`map` maps a span within one chunk, or a device segment's blocks,
/// in one go). What another core sees
/// meanwhile: the pages of the chunks done, mapped (it may use or unmap
/// them as after a whole map), and none of the rest. The caller's own
/// capability keeps the range alive for the whole call (nothing else runs
/// on this core in between, and a revoke reaches this core's space only
/// after the call), so the range is never gone between chunks of one
/// call; a link or unlink elsewhere does not touch what it maps. A chunk that fails (most
/// likely: another core mapped part of the span between chunks) makes the
/// call fail and unmaps the pages of the chunks done that still map this
/// segment's frames, so the call changes nothing it did not give back.
///
/// Between chunks is a preemption point: if an interrupt is pending there,
/// this returns how far it got (`Ok(Some(done))`) and the call is cut
/// short, to be issued again by the task once the interrupt has been
/// taken on its way back to EL0 (docs/long-operations.md).
/// Each call maps at least one chunk, so a call re-issued goes on. Between
/// two calls anything may happen (other tasks run, this core's mailbox is
/// served): the re-issued call checks its capabilities again, and its
/// record, still live and marked, is what a revoke or unmap in between
/// undoes or forgets as any mapping's.
#[inline(never)]
fn map_in_chunks(
    target: u32,
    spaces: &mut dyn Spaces,
    seg: &Segment,
    Span {
        va,
        seg_off,
        len,
        mut done,
    }: Span,
    rights: Rights,
) -> Result<Option<u64>, Error> {
    let first = done;
    while done < len {
        if done > first && crate::arch::aarch64::irq_pending() {
            return Ok(Some(done));
        }
        let at = va + done;
        let n = (len - done).min(CHUNK - at % CHUNK);
        let r = with_range(target, spaces, |range| {
            map_pages(range, seg, at, seg_off + done, n, rights)
        })
        .unwrap_or(Err(Error::InvalidCapability));
        if let Err(e) = r {
            if done > 0 {
                with_range(target, spaces, |range| {
                    unmap_still_ours(range, seg, va, seg_off / PAGE, done / PAGE)
                });
            }
            return Err(e);
        }
        done += n;
    }
    Ok(None)
}

/// Maps the segment's pages (one chunk of a `Map`): a device segment's
/// contiguous registers with blocks where they fit, a RAM segment's
/// scattered frames page by page; either way in one operation that checks
/// everything (span, overlap, tables) before it writes a descriptor, so an
/// error changes nothing.
fn map_pages(
    range: &mut AddressRange,
    seg: &Segment,
    va: u64,
    seg_off: u64,
    len: u64,
    rights: Rights,
) -> Result<(), Error> {
    let base = range.base();
    let offset = va.checked_sub(base).ok_or(Error::OutOfRange)?;
    if offset.checked_add(len).is_none_or(|end| end > range.size()) {
        return Err(Error::OutOfRange);
    }
    if rights.contains(Rights::EXECUTE) && seg.device.is_none() {
        // The pages may hold code a task wrote as data (through another
        // mapping): clean it and drop stale instructions before it can be
        // fetched here.
        let first = seg_off / PAGE;
        for i in 0..len / PAGE {
            let va = mm::phys_to_virt(seg.frame(first + i)) as usize;
            crate::arch::aarch64::sync_icache(va, PAGE as usize);
        }
    }
    if seg.device.is_some() {
        let info = SegmentInfo {
            pa: seg.frame(0),
            size: seg.pages * PAGE,
            device: true,
        };
        return range.map_segment(&mut FrameTables, offset, &info, seg_off, len, rights);
    }
    let first = seg_off / PAGE;
    let frames = (first..first + len / PAGE).map(|i| seg.frame(i));
    range.map_frames(&mut FrameTables, offset, len, frames, rights)
}

/// `Unmap` through the range capability `cap` (its entry looked it up,
/// WRITE). A span of [`PIECE_PAGES`] or less goes in one hold of the
/// range's lock; a longer one a piece at a time ([`unmap_in_pieces`];
/// `Ok(true)`: cut short between two).
#[inline(never)]
pub(super) fn unmap(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    args::Unmap { va, len, .. }: args::Unmap,
    cap: Cap,
) -> Result<bool, Error> {
    let target = cap.obj.id;
    if len > PIECE_PAGES * PAGE {
        return unmap_in_pieces(c, spaces, target, va, len);
    }
    let r = with_range(target, spaces, |range| {
        let offset = va.checked_sub(range.base()).ok_or(Error::OutOfRange)?;
        if offset.checked_add(len).is_none_or(|end| end > range.size()) {
            return Err(Error::OutOfRange);
        }
        invalidate(range.unmap(&mut FrameTables, offset, len)?);
        Ok(())
    })
    .unwrap_or(Err(Error::InvalidCapability));
    if r.is_ok() {
        c.maps.forget_span(target, va, len);
    }
    r.map(|()| false)
}

/// A long `Unmap` of `[va, va + len)` in range object `target`: a piece
/// under each hold of the range's lock, up to the end of the 2 MiB (one
/// L3 table, at most [`PIECE_PAGES`] pages) that holds the first mapping
/// left (`AddressRange::unmap_some`), with a preemption point between
/// pieces. Cut short, the task issues the same
/// call again, which needs no record of how far this one got: the pieces
/// done hold nothing any more and the walk steps over their freed tables
/// (docs/long-operations.md). The first piece of each call
/// checks the whole span, so an `Unmap` refused on its own arguments
/// changes nothing; what another task or core does between pieces is
/// checked by the piece that reaches it, and a refusal there leaves the
/// pieces before it unmapped.
#[inline(never)]
fn unmap_in_pieces(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    target: u32,
    va: u64,
    len: u64,
) -> Result<bool, Error> {
    let mut done = 0;
    let r = loop {
        let piece = with_range(target, spaces, |range| unmap_piece(range, va, len, done));
        match piece.unwrap_or(Err(Error::InvalidCapability)) {
            Ok(n) if done + n == len => break Ok(false),
            Ok(n) => done += n,
            Err(e) => break Err(e),
        }
        if crate::arch::aarch64::irq_pending() {
            break Ok(true);
        }
    };
    // The records of mappings wholly in the span (in the part done, for a
    // call cut short or refused in a later piece) are undone already.
    let gone = if r == Ok(false) { len } else { done };
    if gone != 0 {
        c.maps.forget_span(target, va, gone);
    }
    r
}

/// One piece of [`unmap_in_pieces`], `done` bytes into the span: the
/// bytes it cleared. Out of line: `with_range` has three ways to a range.
#[inline(never)]
fn unmap_piece(range: &mut AddressRange, va: u64, len: u64, done: u64) -> Result<u64, Error> {
    let offset = (va + done).checked_sub(range.base());
    let offset = offset.ok_or(Error::OutOfRange)?;
    let left = len - done;
    if offset
        .checked_add(left)
        .is_none_or(|end| end > range.size())
    {
        return Err(Error::OutOfRange);
    }
    let first = done == 0;
    let (inv, n) = range.unmap_some(&mut FrameTables, offset, left, first)?;
    invalidate(inv);
    Ok(n)
}

/// The most pages an `Unmap` removes under one hold of the range's
/// lock, between two preemption points: one L3 table's worth, as a
/// `Map`'s piece ([`CHUNK`]).
const PIECE_PAGES: u64 = CHUNK / PAGE;

/// `Link` (`on`) / `Unlink`: the caller's address space and the shared
/// range whose capability `cap` (in `slot`) the call's entry looked up
/// (READ). A link gives the access the
/// capability's rights confer and no more: without WRITE nothing below it
/// is writable through it, without EXECUTE nothing executable, whatever
/// the range maps (the link descriptor's APTable / UXNTable bits).
#[inline(never)]
pub(super) fn link(
    c: &mut CoreCaps,
    spaces: &mut dyn Spaces,
    (slot, cap): (SlotRef, Cap),
    on: bool,
) -> Result<(), Error> {
    let rw = Rights::WRITE;
    let (_, root) = root_cap(
        c,
        spaces,
        slots::ROOT_RANGE as u64,
        ObjectKind::AddressRange,
        rw,
    )?;
    let (home, lock) = match object::get(cap.obj.id) {
        Some(Obj::Range { home, lock }) => (*home, lock),
        // Image ranges are linked by the image; a task's root is not a
        // shared range.
        _ => return Err(Error::InvalidArgument),
    };
    let target = root.obj.id;
    let record = if on {
        Some(c.maps.add(Record {
            live: true,
            slot,
            target,
            gen: object::generation(target),
            va: 0,
            what: What::Link { range: cap.obj.id },
            resume: 0,
        })?)
    } else {
        None
    };
    let r = with_range(target, spaces, |space| {
        let mut shared = lock_range(home, lock).ok_or(Error::NotOwner)?;
        let offset = shared.base() - space.base();
        if on {
            space.map_range(
                &mut FrameTables,
                offset,
                &mut shared,
                link_rights(cap.rights),
            )
        } else {
            space
                .unlink(&mut FrameTables, offset, &mut shared)
                .map(invalidate)
        }
    })
    .unwrap_or(Err(Error::InvalidCapability));
    match (record, &r) {
        (Some(i), Err(_)) => c.maps.remove(i),
        (None, Ok(())) => c.maps.forget_link(target, cap.obj.id),
        _ => {}
    }
    r
}

/// The rights `Map` needs on the range's capability: WRITE (changing what
/// it maps), and EXECUTE too for an executable mapping.
#[inline(always)]
pub(super) fn map_rights_on_range(rights: Rights) -> Rights {
    Rights::WRITE.union(rights.intersect(Rights::EXECUTE))
}

/// What a link made through a capability with `rights` lets through: READ
/// (the capability has it: `Link` needs it), and WRITE and EXECUTE only if
/// the capability holds them.
fn link_rights(rights: Rights) -> Rights {
    let rwx = Rights::READ.union(Rights::WRITE).union(Rights::EXECUTE);
    rights.intersect(rwx).union(Rights::READ)
}
