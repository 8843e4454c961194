//! `CapRevoke`'s preemption points (docs/long-operations.md):
//! a revoke of [`DESCENDANTS`] copies lets the counter run before it
//! completes; the capability revoked deleted by the counter between
//! pieces fails the re-issued call with `InvalidCapability`, the copies
//! not yet removed staying; the mapper stopped between pieces and
//! restarted leaves the rest of the copies in place, still derived from
//! the capability (a later revoke removes them), and nothing leaks. And a
//! revoke whose one descendant mapped 16 MiB is cut short inside the undo
//! of its mapping record, and one whose descendant mapped 8 x 16 MiB.
//!
//! The tree lives in the global space, so that the counter can reach its
//! root through the shared share `pass`: the root, a one-page segment, in
//! `pass` slot [`ROOT_AT`]; [`SHARES`] shared shares in `pass` slots from
//! [`SHARES_AT`], each imported into a root slot from [`VIA`] to name its
//! 64 slots, each slot a copy of the root.

use super::{preempted, Words, BIG, DELETE, LEN, PAGE, PROBE, ROOT, RW, STOP_REVOKE, TRIES};
use core::sync::atomic::Ordering::Relaxed;
use ulib::cap::*;
use ulib::{CPtr, Error, Rights};

/// Shared shares of copies: 12 x 64 = 768 descendants. A space holds 16
/// shares of 64 slots, so 1 024 capabilities at most: 4 096 descendants of
/// one capability cannot exist.
const SHARES: u8 = 12;
const SLOTS: u8 = 64;
pub const DESCENDANTS: u32 = SHARES as u32 * SLOTS as u32;
/// Where in `pass` the root and the shares are.
const ROOT_AT: u8 = 2;
const SHARES_AT: u8 = 3;
/// The first root slot holding (an import of) one of the shares.
const VIA: u8 = 48;
/// A copy of the 16 MiB segment, mapped once or 8 times from
/// [`HEAVY_AT`], 16 MiB apart: one descendant with that many records.
const HEAVY: CPtr = CPtr::root(45);
const HEAVY_AT: u64 = 0x2_0000_0000;

/// The root of the tree, through `pass`.
pub fn root(pass: CPtr) -> CPtr {
    CPtr::via(pass.0 as u8, ROOT_AT)
}

/// Copy `j` of share `i`.
fn copy_at(i: u8, j: u8) -> CPtr {
    CPtr::via(VIA + i, j)
}

/// Makes the root and the shares (the first instance), or imports the
/// shares again (`made`: a restarted instance, whose root slots went).
pub fn prepare(pass: CPtr, made: bool) -> Result<(), Error> {
    if !made {
        segment_create(root(pass), 1)?;
    }
    for i in 0..SHARES {
        let shared = CPtr::via(pass.0 as u8, SHARES_AT + i);
        if !made {
            share_create(shared, true)?;
        }
        cap_copy(shared, CPtr::root(VIA + i), Rights::ALL)?;
    }
    Ok(())
}

/// Fills every slot of the shares with a copy of the root.
fn fill(pass: CPtr) -> Result<(), Error> {
    for i in 0..SHARES {
        for j in 0..SLOTS {
            cap_copy(root(pass), copy_at(i, j), Rights::READ)?;
        }
    }
    Ok(())
}

/// How many copies are left in the shares.
pub fn left() -> u32 {
    let mut n = 0;
    for i in 0..SHARES {
        for j in 0..SLOTS {
            n += u32::from(cap_info(copy_at(i, j)).is_ok());
        }
    }
    n
}

/// The revoke that lets the counter run before it completes, then the
/// root deleted between its pieces.
pub fn tests(w: &Words, pass: CPtr) -> bool {
    if let Err(e) = prepare(pass, false) {
        ulib::println!("longmap: FAIL the tree to revoke: {:?}", e);
        return false;
    }
    let ok = preempted(
        w,
        "CapRevoke of 768 descendants",
        |_| fill(pass),
        |_| cap_revoke(root(pass)),
        |_| match left() {
            0 => Ok(()),
            n => {
                ulib::println!("longmap: FAIL {} copies left after the revoke", n);
                Err(Error::InvalidArgument)
            }
        },
    );
    ok && deleted_between_pieces(w, pass)
        && heavy(w, 1, "CapRevoke of a copy mapped 16 MiB")
        && heavy(w, 8, "CapRevoke of a copy mapped 8 x 16 MiB")
}

/// A revoke whose one descendant mapped 16 MiB `maps` times: cut short
/// inside the undo of a mapping record (every 2 MiB) or between two
/// records' (between descendants alone, it would be one piece).
fn heavy(w: &Words, maps: u64, what: &str) -> bool {
    let at = |i| HEAVY_AT + i * LEN;
    preempted(
        w,
        what,
        |_| {
            cap_copy(BIG, HEAVY, Rights::ALL)?;
            (0..maps).try_for_each(|i| map(ROOT, at(i), HEAVY, 0, LEN, RW))
        },
        |_| cap_revoke(BIG),
        |_| {
            if cap_info(HEAVY).is_ok() {
                ulib::println!("longmap: FAIL the mapped copy survived its revoke");
                return Err(Error::InvalidArgument);
            }
            // Nothing left mapped: a page maps at each span's ends.
            let ends = (0..maps).flat_map(|i| [at(i), at(i) + LEN - PAGE]);
            ends.into_iter().try_for_each(|a| {
                map(ROOT, a, PROBE, 0, PAGE, RW).and_then(|()| unmap(ROOT, a, PAGE))
            })
        },
    )
}

/// The counter deletes the root of a cut-short revoke: the re-issued call
/// fails with `InvalidCapability`; the copies not yet removed stay (roots
/// of their object now), and are deleted one by one; a fresh root is made
/// for the stop (`stopped_in_revoke`).
fn deleted_between_pieces(w: &Words, pass: CPtr) -> bool {
    w.done.store(0, Relaxed);
    w.phase.store(DELETE, Relaxed);
    let mut outcome = Ok(());
    for _ in 0..TRIES {
        if let Err(e) = fill(pass) {
            outcome = Err(e);
            break;
        }
        w.in_call.store(1, Relaxed);
        let r = cap_revoke(root(pass));
        w.in_call.store(0, Relaxed);
        if r.is_ok() && w.done.load(Relaxed) == 0 {
            continue;
        }
        outcome = r;
        break;
    }
    w.phase.store(0, Relaxed);
    let n = left();
    let mut emptied = Ok(());
    for i in 0..SHARES {
        for j in 0..SLOTS {
            if cap_info(copy_at(i, j)).is_ok() {
                emptied = emptied.and(cap_delete(copy_at(i, j)));
            }
        }
    }
    let fresh = segment_create(root(pass), 1);
    if outcome != Err(Error::InvalidCapability) || n == 0 || n >= DESCENDANTS {
        ulib::println!(
            "longmap: FAIL a CapRevoke whose capability was deleted between pieces: {:?}, {} of {} left",
            outcome,
            n,
            DESCENDANTS
        );
        return false;
    }
    if emptied.is_err() || fresh.is_err() || left() != 0 {
        ulib::println!("longmap: FAIL the copies left: {:?}, {:?}", emptied, fresh);
        return false;
    }
    ulib::println!(
        "longmap: a CapRevoke whose capability was deleted between its pieces failed with InvalidCapability, {} of {} copies left",
        n,
        DESCENDANTS
    );
    true
}

/// The restarted mapper (its first restart): revokes until the counter,
/// finding it inside a `CapRevoke`, stops and restarts it again.
pub fn stopped_in_revoke(w: &Words, pass: CPtr) -> i32 {
    if let Err(e) = prepare(pass, true) {
        ulib::println!("longmap: FAIL the tree after the restart: {:?}", e);
        return 1;
    }
    w.done.store(0, Relaxed);
    w.phase.store(STOP_REVOKE, Relaxed);
    for _ in 0..TRIES {
        let r = fill(pass);
        w.in_call.store(1, Relaxed);
        let r = r.and_then(|()| cap_revoke(root(pass)));
        w.in_call.store(0, Relaxed);
        if let Err(e) = r {
            ulib::println!("longmap: FAIL CapRevoke before the stop: {:?}", e);
            return 1;
        }
    }
    ulib::println!("longmap: FAIL the counter never stopped the mapper inside a CapRevoke");
    1
}

/// The mapper after its stop inside a revoke: the copies not yet removed
/// are still there and still the root's descendants (its revoke removes
/// them all); then the shares and the root go (the leak check follows).
pub fn after_stop(pass: CPtr) -> i32 {
    let r = prepare(pass, true).map(|()| left());
    let n = match r {
        Ok(n) if n > 0 && n < DESCENDANTS => n,
        r => {
            ulib::println!(
                "longmap: FAIL after the stop inside a CapRevoke: {:?} copies left",
                r
            );
            return 1;
        }
    };
    let revoked = cap_revoke(root(pass)).map(|()| left());
    let mut gone = cap_delete(root(pass));
    for i in 0..SHARES {
        gone = gone
            .and(cap_delete(CPtr::root(VIA + i)))
            .and(cap_delete(CPtr::via(pass.0 as u8, SHARES_AT + i)));
    }
    if revoked != Ok(0) || gone.is_err() {
        ulib::println!(
            "longmap: FAIL after the stop inside a CapRevoke: {:?} left after a revoke, {:?}",
            revoked,
            gone
        );
        return 1;
    }
    ulib::println!(
        "longmap: restarted after a stop in the middle of a CapRevoke, {} of {} copies left, then revoked",
        n,
        DESCENDANTS
    );
    0
}
