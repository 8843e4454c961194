//! Random calls: a random call number (mostly a real one) with arguments
//! biased to boundary values, kernel addresses, unaligned and out-of-range
//! pointers, capability pointers and flag bits. Arguments that would reach
//! the structured parts' slots or addresses are moved off them first
//! (`layout`). Whatever the arguments decide is checked; everything else
//! must at least be an error code (`Sys::call`).

use crate::layout::{away, away_cptr, HOLE, JUNK_END, JUNK_FIRST, MEET};
use crate::rng::{cptr, value, Rng};
use crate::stub::Sys;
use ulib::{CPtr, Error, Syscall};

const ALL: u64 = 27;

fn e(x: Error) -> u64 {
    x as u64
}

/// What the random part knows of its task.
pub struct Who {
    pub cores: u64,
    /// The image's supervisor (its task calls are its own part's: `sup`).
    pub supervisor: bool,
}

/// Makes one random call.
pub fn one(r: &mut Rng, sys: &mut Sys, who: &Who) {
    let n = number(r);
    let mut a = [0u64; 6];
    for w in a.iter_mut() {
        *w = value(r);
    }
    match Syscall::from_u64(n) {
        // Never the end of the task.
        Some(Syscall::Exit) => return print(r, sys),
        Some(Syscall::DebugPrint) => return print(r, sys),
        Some(Syscall::TaskReport | Syscall::TaskRestart | Syscall::TaskStop) if who.supervisor => {
            return
        }
        // No other task holds a task capability: whatever the slot names,
        // the call is refused.
        Some(Syscall::TaskReport | Syscall::TaskRestart | Syscall::TaskStop) => {
            let want = [
                e(Error::InvalidCapability),
                e(Error::WrongObjectKind),
                e(Error::InvalidArgument),
                e(Error::NotOwner),
            ];
            sys.expect_any(n, a, &want);
            return;
        }
        // The fuzz image delivers no device interrupt: whatever the slot
        // names, there is nothing to acknowledge.
        Some(Syscall::InterruptAck) => {
            let want = [
                e(Error::InvalidCapability),
                e(Error::WrongObjectKind),
                e(Error::MissingRights),
                e(Error::InvalidArgument),
            ];
            sys.expect_any(n, a, &want);
            return;
        }
        Some(Syscall::Null) => {
            sys.expect(n, a, 0);
            return;
        }
        Some(Syscall::CoreCount) => {
            let got = sys.expect(n, a, 0);
            if got[0] == 0 && got[1] != who.cores {
                sys.fail(n, a, format_args!("{} cores, want {}", got[1], who.cores));
            }
            return;
        }
        Some(Syscall::ReadEvent) => {
            let want = if a[0] < ulib::Event::ALL.len() as u64 {
                0
            } else {
                e(Error::InvalidArgument)
            };
            sys.expect(n, a, want);
            return;
        }
        Some(Syscall::BlockRead | Syscall::BlockWrite | Syscall::BlockFlush) | None => {
            // The fuzz image's kernel has no block driver.
            sys.expect(n, a, e(Error::UnknownSyscall));
            return;
        }
        Some(_) => {}
    }
    let call = Syscall::from_u64(n).expect("a real call");
    // Slots the call takes, moved off the structured parts' ones.
    let slots: &[usize] = match call {
        Syscall::Map => &[0, 2],
        Syscall::CapCopy => &[0, 1],
        _ => &[0],
    };
    for &i in slots {
        a[i] = match r.below(8) {
            0 | 1 => cptr(r),
            // Where objects are: the junk slots, `meet`, shares made there.
            2..=4 => JUNK_FIRST as u64 + r.below((JUNK_END - JUNK_FIRST) as u64),
            5 => CPtr::via(MEET, r.below(64) as u8).0,
            6 => CPtr::via(JUNK_FIRST + r.below(32) as u8, r.below(64) as u8).0,
            _ => a[i],
        };
        a[i] = away_cptr(a[i]);
    }
    match call {
        Syscall::Map | Syscall::Unmap => a[1] = away(a[1]),
        Syscall::RangeCreate => a[1] = away(a[1]),
        // Never block: the poll flag whenever the flags would wait.
        Syscall::Wait if a[1] == 0 => a[1] = 1,
        Syscall::SegmentCreate if r.chance(3, 4) => a[1] = 1 + r.below(16),
        _ => {}
    }
    let got = sys.call(n, a);
    decide(sys, call, a, got);
}

/// Results the arguments alone decide, whatever the task holds.
fn decide(sys: &mut Sys, call: Syscall, a: [u64; 6], got: [u64; 4]) {
    let n = call as u64;
    let high = a[0] >> 16 != 0;
    let via = (a[0] >> 8) & 0xff != 0;
    let index = a[0] & 0xff;
    match call {
        Syscall::CapDelete | Syscall::CapRevoke | Syscall::CapInfo | Syscall::NotifyCreate
            if high || index >= 64 =>
        {
            return sys.judge(n, a, got[0], &[e(Error::InvalidCapability)]);
        }
        // Objects are used through the root share only.
        Syscall::Link | Syscall::Unlink if !high && via => {
            return sys.judge(n, a, got[0], &[e(Error::InvalidArgument)]);
        }
        Syscall::Link | Syscall::Unlink if !high && index >= 64 => {
            return sys.judge(n, a, got[0], &[e(Error::InvalidCapability)]);
        }
        _ => {}
    }
    match (call, a[0]) {
        // The task's address space and root share stay.
        (Syscall::CapDelete, 0 | 1) => sys.judge(n, a, got[0], &[e(Error::InvalidArgument)]),
        (Syscall::CapInfo, 0 | 1) => {
            sys.judge(n, a, got[0], &[0]);
            let want = if a[0] == 0 { (2, 0b0111) } else { (3, 0b0011) };
            if got[0] == 0 && (got[1], got[2]) != want {
                sys.fail(
                    n,
                    a,
                    format_args!("kind {} rights {:#x}, want {:?}", got[1], got[2], want),
                );
            }
        }
        _ => {}
    }
}

/// A call number: mostly a real call, sometimes just past them or far off.
fn number(r: &mut Rng) -> u64 {
    match r.below(20) {
        0 => ALL + r.below(16),
        1 => r.pick(&[u64::MAX, 1 << 63, 1 << 32, 0xffff_ffff, 255, 256, 1 << 16]),
        _ => r.below(ALL),
    }
}

/// `DebugPrint` of a pointer no task can have mapped (the kernel half, the
/// pages below the program, the hole, past the user half's end): refused,
/// never printed. Over 256 bytes is refused first.
fn print(r: &mut Rng, sys: &mut Sys) {
    let at = match r.below(5) {
        0 => 0xffff_0000_0000_0000 + r.below(1 << 40),
        1 => r.below(0x40_0000 - 0x1000),
        2 => HOLE + r.below(1 << 30),
        3 => (1u64 << 48) - 1 - r.below(200),
        _ => r.pick(&[u64::MAX - 100, 1 << 63, 0x7f00_0000]),
    };
    let len = if r.chance(1, 4) {
        r.pick(&[257, 4096, u64::MAX, 1 << 32])
    } else {
        1 + r.below(256)
    };
    let want = if len > 256 {
        Error::InvalidArgument
    } else {
        Error::OutOfRange
    };
    sys.expect(Syscall::DebugPrint as u64, [at, len, 0, 0, 0, 0], e(want));
}
