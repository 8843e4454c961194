//! The image's supervisor, hostile: besides the random calls every fuzzer
//! makes, it restarts tasks by random task ids (refused unless the id
//! names a task of the image, which the kernel then restarts if it has
//! stopped, or leaves alone) and now and then one of the image's real
//! tasks. A victim task faults on purpose [`VICTIM_FAULTS`] times; the
//! supervisor learns of each fault from the victim's exit signal
//! (notification `faults`), reads it with `TaskReport` and restarts it.
//!
//! Its authority is its task capabilities (`task:fuzz0`..`fuzz3`,
//! `task:victim`, granted by images/fuzz.toml); no other task has any, so
//! every other fuzzer's task calls are refused.
//!
//! The victim (core 1, slot 1) is a fuzzer too: each instance makes
//! `VICTIM_CALLS` calls and then faults on purpose, holding what they made
//! (objects, mappings, links, copies in `meet`), so a faulted task's
//! teardown is fuzzed as well as an exiting one's.

use crate::layout::ENDED;
use crate::rng::Rng;
use crate::stub::Sys;
use ulib::{CPtr, Error, Syscall, TaskState};

/// How many times the victim faults before it exits.
pub const VICTIM_FAULTS: usize = 3;
/// The victim's core (images/fuzz.toml).
pub const VICTIM_CORE: u64 = 1;

ulib::bind! {
    /// The victim's end is signalled here.
    static FAULTS: Slot = "faults";
    /// The fuzzers, one per core.
    static FUZZ0: Slot = "fuzz0";
    static FUZZ1: Slot = "fuzz1";
    static FUZZ2: Slot = "fuzz2";
    static FUZZ3: Slot = "fuzz3";
    /// The victim.
    static VICTIM: Slot = "victim";
}

/// Whether this task is the image's supervisor: the only one granted the
/// task capabilities.
pub fn is_supervisor() -> bool {
    VICTIM.get().is_some()
}

fn fuzzer(core: u64) -> Option<CPtr> {
    [&FUZZ0, &FUZZ1, &FUZZ2, &FUZZ3]
        .get(core as usize)
        .and_then(|s| s.get())
}

/// `TaskRestart` of `task`, whose answer must be one of `want`.
fn restart(sys: &mut Sys, task: CPtr, want: &[u64]) {
    sys.expect_any(Syscall::TaskRestart as u64, [task.0, 0, 0, 0, 0, 0], want);
}

/// One hostile supervisor call on a real task: now and then a restart of a
/// fuzzer (refused while it runs, a fresh instance once it has exited),
/// otherwise a report of one, whose state must be one the kernel has.
pub fn step(r: &mut Rng, sys: &mut Sys, cores: u64) {
    let Some(task) = fuzzer(r.below(cores.min(4))) else {
        return;
    };
    if r.chance(1, 400) {
        restart(sys, task, &[0, Error::InvalidArgument as u64]);
        return;
    }
    let n = Syscall::TaskReport as u64;
    let a = [task.0, 0, 0, 0, 0, 0];
    let got = sys.expect(n, a, 0);
    if got[0] == 0 && TaskState::from_u64(got[1] & 0xff).is_none() {
        sys.fail(n, a, format_args!("state {:#x}: no such state", got[1]));
    }
}

/// Waits (blocking) for the victim's next end, reads its report and
/// restarts it.
pub fn wait_fault(sys: &mut Sys) {
    let (Some(faults), Some(victim)) = (FAULTS.get(), VICTIM.get()) else {
        return;
    };
    let w = sys.expect(Syscall::Wait as u64, [faults.0, 0, 0, 0, 0, 0], 0);
    if w[0] != 0 {
        return;
    }
    let n = Syscall::TaskReport as u64;
    let a = [victim.0, 0, 0, 0, 0, 0];
    let got = sys.expect(n, a, 0);
    if got[0] != 0 {
        return;
    }
    if got[1] & 0xff != TaskState::Faulted as u64 || got[3] != 8 {
        sys.fail(
            n,
            a,
            format_args!(
                "victim report: state {:#x} (ESR {:#x}, FAR {:#x}), want a fault at 0x8",
                got[1], got[2], got[3]
            ),
        );
        return;
    }
    restart(sys, victim, &[0]);
}

/// The victim's last instance, restarted after every fault.
pub fn victim(restarts: usize) -> i32 {
    ulib::println!(
        "fuzz victim: faulted {} times, restarted each time",
        restarts
    );
    0
}

/// Waits (blocking) until every bit of `want` is signalled on [`ENDED`].
fn wait_ended(sys: &mut Sys, want: u64) {
    let n = Syscall::Wait as u64;
    let a = [ENDED as u64, 0, 0, 0, 0, 0];
    let mut got = 0;
    while got & want != want {
        let r = sys.expect(n, a, 0);
        if r[0] != 0 {
            return;
        }
        got |= r[1];
    }
}

/// Once every fuzzer has ended, restarts each (from its program, a fresh
/// instance that makes a short run) and waits for those to end.
pub fn finish(sys: &mut Sys, cores: u64) {
    let fuzzers = cores.min(4);
    let want = (1u64 << fuzzers) - 1;
    wait_ended(sys, want);
    for core in 0..fuzzers {
        if let Some(t) = fuzzer(core) {
            restart(sys, t, &[0]);
        }
    }
    wait_ended(sys, want);
}
