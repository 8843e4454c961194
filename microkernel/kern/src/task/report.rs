//! What each core's tasks are doing, published for the time limit's
//! report (`deadline::expired`): one word per task slot in the core's
//! per-core block, written by that core only (plain stores, when a task's
//! state changes) and read by whichever core reports. Nothing else reads
//! it, so it costs no cross-core traffic until the report.
//!
//! The report is a snapshot of cores that may still be running: a word
//! can change while it is read, never tear (one atomic word per task).

use super::{State, Task};
use crate::percore;
use core::sync::atomic::Ordering;

/// Bits 0-7: archive index + 1 (0: no task in the slot; [`INDEX_UNKNOWN`]
/// for an index that does not fit).
const INDEX_MASK: u64 = 0xff;
const INDEX_UNKNOWN: u64 = 0xff;
/// Bits 8-15: the state ([`Kind`]).
const KIND_SHIFT: u32 = 8;
/// Bits 16-31: the priority.
const PRIORITY_SHIFT: u32 = 16;
/// Bits 32-63: the notification object a waiting task waits on, the exit
/// status of one that exited ([`WIDE_STATUS`] for one that does not fit).
const DETAIL_SHIFT: u32 = 32;
const WIDE_STATUS: u32 = u32::MAX;

/// A task's state as the report names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Kind {
    Ready = 1,
    Waiting = 2,
    Exited = 3,
    Faulted = 4,
    Stopped = 5,
}

impl Kind {
    fn from_bits(b: u64) -> Option<Kind> {
        [
            Kind::Ready,
            Kind::Waiting,
            Kind::Exited,
            Kind::Faulted,
            Kind::Stopped,
        ]
        .into_iter()
        .find(|k| *k as u64 == b)
    }
}

/// The word that describes `t`.
fn encode(t: &Task) -> u64 {
    let (kind, detail) = match t.state {
        State::Ready => (Kind::Ready, 0),
        State::WaitingNotify { id, .. } => (Kind::Waiting, u64::from(id)),
        State::Exited(code) => (
            Kind::Exited,
            u64::from(u32::try_from(code).unwrap_or(WIDE_STATUS)),
        ),
        State::Faulted => (Kind::Faulted, 0),
        State::Stopped => (Kind::Stopped, 0),
    };
    let index = (t.archive_index as u64 + 1).min(INDEX_UNKNOWN);
    index
        | (kind as u64) << KIND_SHIFT
        | u64::from(t.priority) << PRIORITY_SHIFT
        | detail << DETAIL_SHIFT
}

/// Publishes `t`'s state (on its own core, after every change).
pub(super) fn publish(t: &Task) {
    if let Some(w) = percore::this().tasks.get(t.slot) {
        w.store(encode(t), Ordering::Relaxed);
    }
}

/// Prints core `core`'s tasks, one line each (`core N: task NAME (priority
/// P): STATE`), or `core N: no task` if it has none.
pub fn print_core(core: usize, print: &dyn Fn(core::fmt::Arguments<'_>)) {
    let pc = percore::get(core);
    let running = pc.running.load(Ordering::Relaxed) as u64;
    let archive = super::archive();
    let mut any = false;
    for w in &pc.tasks {
        let w = w.load(Ordering::Relaxed);
        let index = w & INDEX_MASK;
        if index == 0 {
            continue;
        }
        any = true;
        let name = match index {
            INDEX_UNKNOWN => "?",
            i => archive.entry(i as usize - 1).map_or("?", |t| t.name),
        };
        let priority = (w >> PRIORITY_SHIFT) & 0xffff;
        let detail = (w >> DETAIL_SHIFT) as u32;
        let line = |state: core::fmt::Arguments<'_>| {
            print(format_args!(
                "  core {}: task {} (priority {}): {}\n",
                core, name, priority, state
            ))
        };
        match Kind::from_bits((w >> KIND_SHIFT) & 0xff) {
            Some(Kind::Ready) if running == index => line(format_args!("running")),
            Some(Kind::Ready) => line(format_args!("ready, not running")),
            Some(Kind::Waiting) => match crate::cap::notification_name(detail) {
                Some(n) => line(format_args!("blocked in Wait on notification {}", n)),
                None => line(format_args!(
                    "blocked in Wait on a notification made at run time (object {})",
                    detail
                )),
            },
            Some(Kind::Exited) if detail == WIDE_STATUS => line(format_args!(
                "ended: exited (its status is on its exit line)"
            )),
            Some(Kind::Exited) => line(format_args!("ended: exited with status {}", detail)),
            Some(Kind::Faulted) => line(format_args!("faulted")),
            Some(Kind::Stopped) => line(format_args!("ended: stopped")),
            None => line(format_args!("in a state this report does not know")),
        }
    }
    if !any {
        print(format_args!("  core {}: no task\n", core));
    }
}
