//! The image's supervisor, hostile: besides the random calls every fuzzer
//! makes, it restarts tasks by random task ids (refused unless the id
//! names a task of the image, which the kernel then restarts if it has
//! stopped, or leaves alone) and now and then one of the image's real
//! tasks. A victim task faults on purpose [`VICTIM_FAULTS`] times; the
//! supervisor takes each report (`WaitFault`) and restarts it.
//!
//! Tasks are named by `TaskId` today (the supervisor is recognised by
//! identity); with task capabilities, [`restart`], [`wait_fault`] and
//! `is_supervisor` (main.rs, which asks the kernel) are what changes.
//!
//! The victim (core 1, slot 1) is a fuzzer too: each instance makes
//! `VICTIM_CALLS` calls and then faults on purpose, holding what they made
//! (objects, mappings, links, copies in `meet`), so a faulted task's
//! teardown is fuzzed as well as an exiting one's.

use crate::layout::ENDED;
use crate::rng::{value, Rng};
use crate::stub::Sys;
use ulib::{Error, Syscall, TaskId};

/// How many times the victim faults before it exits.
pub const VICTIM_FAULTS: usize = 3;
/// The victim: core 1, slot 1 (images/fuzz.toml).
pub const VICTIM: TaskId = TaskId { core: 1, slot: 1 };

/// Tasks of images/fuzz.toml per core, by slot (core 0: a fuzzer and this
/// supervisor; core 1: a fuzzer and the victim; cores 2 and 3: a fuzzer).
const TASKS_PER_CORE: [u32; 4] = [2, 2, 1, 1];

fn exists(t: TaskId, cores: u64) -> bool {
    (t.core as u64) < cores
        && TASKS_PER_CORE
            .get(t.core as usize)
            .is_some_and(|&n| t.slot < n)
}

/// `Restart` with the raw argument `arg` (a `TaskId` encoding).
fn restart(sys: &mut Sys, arg: u64, want: u64) {
    sys.expect(Syscall::Restart as u64, [arg, 0, 0, 0, 0, 0], want);
}

/// One hostile supervisor call: a restart by a random id, mostly one that
/// names no task.
pub fn step(r: &mut Rng, sys: &mut Sys, cores: u64) {
    if r.chance(1, 400) {
        // A real fuzzer (slot 0 of a core): left alone if running,
        // started again if it has exited.
        let t = TaskId {
            core: r.below(cores) as u32,
            slot: 0,
        };
        restart(sys, t.encode(), 0);
        return;
    }
    let arg = value(r);
    if exists(TaskId::decode(arg), cores) {
        return;
    }
    restart(sys, arg, Error::InvalidArgument as u64);
}

/// Takes the victim's next fault report (blocking) and restarts it.
pub fn wait_fault(sys: &mut Sys) {
    let n = Syscall::WaitFault as u64;
    let got = sys.expect(n, [0; 6], 0);
    if got[0] != 0 {
        return;
    }
    let t = TaskId::decode(got[1]);
    if t != VICTIM || got[3] != 8 {
        sys.fail(
            n,
            [0; 6],
            format_args!(
                "report of core {} slot {} (ESR {:#x}, FAR {:#x}), want the victim's at 0x8",
                t.core, t.slot, got[2], got[3]
            ),
        );
        return;
    }
    restart(sys, VICTIM.encode(), 0);
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
    let fuzzers = cores.min(TASKS_PER_CORE.len() as u64);
    let want = (1u64 << fuzzers) - 1;
    wait_ended(sys, want);
    for core in 0..fuzzers {
        let t = TaskId {
            core: core as u32,
            slot: 0,
        };
        restart(sys, t.encode(), 0);
    }
    wait_ended(sys, want);
}
