//! The run's verdict: whether the image did what it is for.
//!
//! An image says what each task should do ([`Expect`]: exit with status 0 by
//! default, end by a fault, or anything) and which tasks may be left out
//! on a machine without their core (`optional`). The kernel holds the run
//! to it: a task that is not started, or whose last instance ends
//! otherwise than expected (a task still blocked or running when the run
//! ends counts as not ended), and any problem of the run itself (a leak, a
//! shared range not made, an unusable archive, a core that did not shut
//! down) fail the run. Core 0 then prints one summary line naming the
//! failed tasks and powers off with [`FAILED_STATUS`] instead of 0.
//!
//! Each core judges only its own tasks (at shutdown, on that core); the
//! results meet in a bit per archive entry, so no core reads another's
//! scheduler.

use super::{archive, State};
use crate::kprintln;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use kerncore::bootimage::Expect;

/// Exit status of a run whose image's success condition did not hold.
pub const FAILED_STATUS: u32 = 103;

/// Archive entries the failure bits cover (more are counted, not named).
const NAMED: usize = 256;
/// Bit `i`: archive entry `i` failed.
static FAILED: [AtomicU64; NAMED / 64] = [const { AtomicU64::new(0) }; NAMED / 64];
/// Failed entries past [`NAMED`].
static FAILED_UNNAMED: AtomicU32 = AtomicU32::new(0);
/// Problems of the run that are no task's (leaks, objects not made).
static PROBLEMS: AtomicU32 = AtomicU32::new(0);

// `task_failed` and `problem` are out of line: their callers are cold
// (a task that cannot start, a run's problem), and each inlined copy of the
// atomic update cost about 60 bytes of kernel text (issue 12's size goal).

/// Archive entry `index` did not do what the image expects.
#[inline(never)]
pub fn task_failed(index: usize) {
    match FAILED.get(index / 64) {
        Some(word) => {
            word.fetch_or(1 << (index % 64), SeqCst);
        }
        None => {
            FAILED_UNNAMED.fetch_add(1, SeqCst);
        }
    }
}

/// A problem of the run itself (said on the console where it happened).
#[inline(never)]
pub fn problem() {
    PROBLEMS.fetch_add(1, SeqCst);
}

/// Archive entry `index` names a core the machine lacks: a failure unless
/// the image marked it optional.
pub fn absent(index: usize) -> bool {
    let optional = archive().entry(index).is_ok_and(|t| t.is_optional());
    if !optional {
        task_failed(index);
    }
    !optional
}

/// How a task that did not end as expected stands when the run ends.
fn how(state: State) -> &'static str {
    match state {
        State::Exited(_) => "exited",
        State::Faulted => "ended by a fault",
        State::Stopped => "was stopped",
        State::WaitingNotify { .. } => "was still blocked in Wait",
        State::Ready => "was still running",
    }
}

/// Judges a task of this core at shutdown, before shutdown ends it: it
/// must have ended as its archive entry expects. Says why when it fails.
pub fn judge(name: &str, core: usize, index: usize, state: State) {
    let Ok(entry) = archive().entry(index) else {
        return;
    };
    let ok = matches!(
        (entry.expect(), state),
        (Expect::Any, _) | (Expect::Exit0, State::Exited(0)) | (Expect::Fault, State::Faulted)
    );
    if ok {
        return;
    }
    task_failed(index);
    let expected = match entry.expect() {
        Expect::Exit0 => "exit with status 0",
        Expect::Fault => "end by a fault",
        Expect::Any => "anything",
    };
    match state {
        State::Exited(code) => kprintln!(
            "verdict: task {} on core {} exited with status {}; the image expects it to {}",
            name,
            core,
            code,
            expected
        ),
        _ => kprintln!(
            "verdict: task {} on core {} {}; the image expects it to {}",
            name,
            core,
            how(state),
            expected
        ),
    }
}

/// Core 0, at the very end: one summary line, and the exit status.
pub fn conclude() -> u32 {
    let a = archive();
    let named: usize = FAILED
        .iter()
        .map(|w| w.load(SeqCst).count_ones() as usize)
        .sum();
    let unnamed = FAILED_UNNAMED.load(SeqCst) as usize;
    let problems = PROBLEMS.load(SeqCst);
    if named + unnamed == 0 && problems == 0 {
        kprintln!("verdict: ok: every task did what the image expects");
        return 0;
    }
    // One line, built first and printed whole (names are archive names:
    // letters, digits, '-', '_', '.'; a line too long for the buffer ends
    // with "...").
    let mut line: heapless::String<320> = heapless::String::new();
    let _ = line.push_str("verdict: FAILED:");
    let mut sep = " ";
    let mut overflow = false;
    for i in 0..NAMED.min(a.len()) {
        if FAILED[i / 64].load(SeqCst) & (1 << (i % 64)) == 0 {
            continue;
        }
        if let Ok(t) = a.entry(i) {
            if write!(line, "{}{} (core {})", sep, t.name, t.core).is_err() {
                overflow = true;
                break;
            }
            sep = ", ";
        }
    }
    if unnamed > 0 {
        overflow |= write!(line, "{}{} more tasks", sep, unnamed).is_err();
        sep = "; ";
    } else if sep == ", " {
        sep = "; ";
    }
    if problems > 0 {
        overflow |= write!(line, "{}{} run problem(s) reported above", sep, problems).is_err();
    }
    if overflow {
        line.truncate(line.len().min(line.capacity() - 3));
        let _ = line.push_str("...");
    }
    kprintln!("{}", line.as_str());
    FAILED_STATUS
}
