//! Cross-core copies and revokes through the image's shared share `meet`:
//! every core puts copies of its own objects in `meet`'s slots, takes
//! copies of whatever another core put there, uses them, deletes them
//! and revokes its originals (which reaches the copies other cores took).
//! Other cores race every step, so a result is checked against the set
//! of answers such a race can give.

use crate::layout::{JUNK_END, JUNK_FIRST, MEET, MEET_SLOTS};
use crate::rng::Rng;
use crate::stub::Sys;
use ulib::{CPtr, Error, Syscall};

fn e(x: Error) -> u64 {
    x as u64
}

/// What a copy into or out of `meet` may answer while other cores race.
fn copy_answers() -> [u64; 7] {
    [
        0,
        e(Error::InvalidCapability),
        e(Error::SlotOccupied),
        e(Error::OutOfMemory),
        e(Error::ShareCycle),
        e(Error::MissingRights),
        e(Error::NotOwner),
    ]
}

/// One cross-core step. `core` spreads the cores' ranges apart.
pub fn step(r: &mut Rng, sys: &mut Sys, core: usize) {
    let junk = (JUNK_FIRST as u64 + r.below((JUNK_END - JUNK_FIRST) as u64)) as u8;
    let k = r.below(MEET_SLOTS) as u8;
    let there = CPtr::via(MEET, k).0;
    let here = junk as u64;
    let gone = [0, e(Error::InvalidCapability)];
    match r.below(8) {
        0 | 1 => {
            // Make an object and put a copy in meet.
            let (n, a) = match r.below(4) {
                0 => (Syscall::SegmentCreate, [here, 1 + r.below(4), 0, 0, 0, 0]),
                1 => (Syscall::NotifyCreate, [here, 0, 0, 0, 0, 0]),
                2 => (Syscall::ShareCreate, [here, 1, 0, 0, 0, 0]),
                _ => {
                    let base = 0x200_0000_0000 + ((core as u64) << 30) + (r.below(64) << 21);
                    (Syscall::RangeCreate, [here, base, 2 << 20, 0, 0, 0])
                }
            };
            let occupied = [0, e(Error::SlotOccupied), e(Error::OutOfMemory)];
            sys.expect_any(n as u64, a, &occupied);
            let mask = if r.chance(3, 4) { 0b1111 } else { r.below(16) };
            let a = [here, there, mask, 0, 0, 0];
            sys.expect_any(Syscall::CapCopy as u64, a, &copy_answers());
        }
        2 | 3 => {
            // Take what is there (another core's, or ours), and use it.
            let a = [there, here, r.below(16), 0, 0, 0];
            let got = sys.expect_any(Syscall::CapCopy as u64, a, &copy_answers());
            if got[0] == 0 {
                use_it(r, sys, junk, core);
            }
        }
        4 => {
            sys.expect_any(Syscall::CapDelete as u64, [there, 0, 0, 0, 0, 0], &gone);
        }
        5 => {
            // Revoke in meet or here: removes copies on every core.
            let at = if r.chance(1, 2) { there } else { here };
            sys.expect_any(Syscall::CapRevoke as u64, [at, 0, 0, 0, 0, 0], &gone);
        }
        6 => use_it(r, sys, junk, core),
        _ => {
            sys.expect_any(Syscall::CapDelete as u64, [here, 0, 0, 0, 0, 0], &gone);
        }
    }
}

/// Uses the capability in junk slot `at`, whatever it turned out to be.
fn use_it(r: &mut Rng, sys: &mut Sys, at: u8, core: usize) {
    let a = [at as u64, 0, 0, 0, 0, 0];
    let got = sys.expect_any(
        Syscall::CapInfo as u64,
        a,
        &[0, e(Error::InvalidCapability)],
    );
    if got[0] != 0 {
        return;
    }
    let lookup = [
        0,
        e(Error::InvalidCapability),
        e(Error::WrongObjectKind),
        e(Error::MissingRights),
    ];
    match got[1] {
        5 => {
            let a = [at as u64, 1 << r.below(64), 0, 0, 0, 0];
            sys.expect_any(Syscall::Signal as u64, a, &lookup);
            let a = [at as u64, 1, 0, 0, 0, 0];
            sys.expect_any(Syscall::Wait as u64, a, &lookup);
        }
        2 => {
            // Another core's range linked here (at its base), unlinked or
            // left for its owner's revoke to take out of this space.
            let a = [at as u64, 0, 0, 0, 0, 0];
            let link = [
                0,
                e(Error::InvalidCapability),
                e(Error::MissingRights),
                e(Error::Overlap),
                e(Error::InvalidArgument),
                e(Error::OutOfMemory),
            ];
            let n = if r.chance(1, 2) {
                Syscall::Link
            } else {
                Syscall::Unlink
            };
            sys.expect_any(n as u64, a, &link);
        }
        1 if r.chance(1, 2) => {
            // Another core's segment mapped here (never touched: its owner
            // may revoke it at any moment), left for a delete or a revoke
            // to take out.
            let va = 0x300_0000_0000 + ((core as u64) << 30) + (r.below(512) << 12);
            let a = [0, va, at as u64, 0, 4096, 0b11];
            let map = [
                0,
                e(Error::InvalidCapability),
                e(Error::MissingRights),
                e(Error::Overlap),
                e(Error::TooSmall),
                e(Error::OutOfMemory),
            ];
            sys.expect_any(Syscall::Map as u64, a, &map);
        }
        1 => {
            let a = [at as u64, r.below(8), 0, 0, 0, 0];
            let info = [
                0,
                e(Error::InvalidCapability),
                e(Error::WrongObjectKind),
                e(Error::MissingRights),
                e(Error::OutOfRange),
            ];
            sys.expect_any(Syscall::SegmentInfo as u64, a, &info);
        }
        _ => {}
    }
}
