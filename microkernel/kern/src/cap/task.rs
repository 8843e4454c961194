//! Task capabilities: a task of the image as an object. Whoever holds one
//! may read how the task ended (READ), restart and stop it (WRITE); nothing
//! else names a task, so a task with no task capability can restart
//! nothing. The image grants them (docs/images.md), typically to a
//! supervisor, with the task's exit signal on a notification the holder
//! waits on.

use super::object::{self, Obj, TaskObj};
use super::ops::{root_cap, Spaces};
use super::CORE_CAPS;
use abi::{Error, ObjectKind, Rights, TaskState};
use core::sync::atomic::Ordering::SeqCst;

/// The task object `cptr` names with `needed` rights.
fn task(spaces: &dyn Spaces, cptr: u64, needed: Rights) -> Result<&'static TaskObj, Error> {
    let (_, cap) = CORE_CAPS.with(|c| root_cap(c, spaces, cptr, ObjectKind::Task, needed))?;
    match object::get(cap.obj.id) {
        Some(Obj::Task(t)) => Ok(t),
        _ => Err(Error::InvalidCapability),
    }
}

/// `TaskReport` (READ): `x1` = the task's state and `TaskId` encoding,
/// `x2` = exit status or ESR, `x3` = FAR.
pub fn report(spaces: &dyn Spaces, cptr: u64) -> Result<[u64; 3], Error> {
    let t = task(spaces, cptr, Rights::READ)?;
    let state = t.state.load(SeqCst);
    Ok([state | t.id << 8, t.value.load(SeqCst), t.far.load(SeqCst)])
}

/// `TaskStop` (WRITE): the archive index of the task to stop. Only a
/// running task stops (`InvalidArgument` otherwise); its core records
/// `Stopped` when it has stopped it.
pub fn stop(spaces: &dyn Spaces, cptr: u64) -> Result<usize, Error> {
    let t = task(spaces, cptr, Rights::WRITE)?;
    if t.state.load(SeqCst) != TaskState::Running as u64 {
        return Err(Error::InvalidArgument);
    }
    Ok(t.index)
}

/// `TaskRestart` (WRITE): the archive index of the task to restart. Only
/// an ended task (exited, faulted, stopped, or not restarted) restarts
/// (`InvalidArgument` otherwise); it counts as running from here on, so a
/// second restart or a report read right after does not see the old end
/// (its core records `NotRestarted` if it cannot rebuild it).
pub fn restart(spaces: &dyn Spaces, cptr: u64) -> Result<usize, Error> {
    let t = task(spaces, cptr, Rights::WRITE)?;
    let running = TaskState::Running as u64;
    for stopped in [
        TaskState::Exited,
        TaskState::Faulted,
        TaskState::Stopped,
        TaskState::NotRestarted,
    ] {
        if t.state
            .compare_exchange(stopped as u64, running, SeqCst, SeqCst)
            .is_ok()
        {
            return Ok(t.index);
        }
    }
    Err(Error::InvalidArgument)
}
