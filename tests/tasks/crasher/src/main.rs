//! Faults on its first run (a read of an unmapped address); after the
//! supervisor restarts it, it checks from EL0 that it can restart or stop
//! nothing:
//! not through its own capabilities, not through a malformed slot, not
//! through an empty one, and not through a task capability without
//! WRITE (the image may grant it a read-only one). Each task capability
//! with READ and WRITE it holds after its first grant slot it uses to stop
//! that task, waiting until it reads as stopped. Then it finishes.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    if start.restarts == 0 {
        ulib::println!("crasher on core {}: first run, faulting", start.core);
        // Safety: deliberately unsound: the fault under test.
        let v = unsafe { (0x1234_5000 as *const u64).read_volatile() };
        core::hint::black_box(v);
        return 1;
    }
    ulib::println!(
        "crasher on core {}: restarted {} time(s), running fine",
        start.core,
        start.restarts
    );
    // Restarting and stopping take a task capability with WRITE: a task
    // without one can restart or stop nothing, whatever else it names.
    match refused_restarts() {
        Ok(what) => ulib::println!("crasher on core {}: {}", start.core, what),
        Err(why) => {
            ulib::println!("crasher on core {}: {}", start.core, why);
            return 2;
        }
    }
    // A task capability without READ in the third grant slot: no report.
    let blind = ulib::CPtr::root(ulib::slots::FIRST_GRANT + 2);
    if let Ok((ulib::ObjectKind::Task, r)) = ulib::cap::cap_info(blind) {
        if r.contains(ulib::Rights::READ)
            || ulib::task_report(blind) != Err(ulib::Error::MissingRights)
        {
            ulib::println!(
                "crasher on core {}: a report without READ was not refused",
                start.core
            );
            return 4;
        }
        ulib::println!(
            "crasher on core {}: a task capability without READ: report refused",
            start.core
        );
    }
    for slot in ulib::slots::FIRST_GRANT + 1..ulib::slots::SHARE_SLOTS {
        match stop_one(ulib::CPtr::root(slot)) {
            Ok(Some(task)) => ulib::println!(
                "crasher on core {}: stopped the task on core {} slot {}",
                start.core,
                task.core,
                task.slot
            ),
            Ok(None) => {}
            Err(why) => {
                ulib::println!("crasher on core {}: {}", start.core, why);
                return 3;
            }
        }
    }
    0
}

/// With a task capability with WRITE in `cap`: stops that task (a refused
/// stop without WRITE is `refused_restarts`' business) and polls its
/// report until it says `Stopped`; which task it was.
fn stop_one(cap: ulib::CPtr) -> Result<Option<ulib::TaskId>, &'static str> {
    use ulib::{ObjectKind, Rights, TaskState};
    /// Reports read before giving up (the stop is an SGI away).
    const POLLS: usize = 1_000_000;
    match ulib::cap::cap_info(cap) {
        Ok((ObjectKind::Task, r)) if r.contains(Rights::WRITE.union(Rights::READ)) => {}
        _ => return Ok(None),
    }
    ulib::task_stop(cap).map_err(|_| "stop refused")?;
    for _ in 0..POLLS {
        let r = ulib::task_report(cap).map_err(|_| "report refused")?;
        match r.state {
            TaskState::Stopped => return Ok(Some(r.task)),
            TaskState::Running => {}
            _ => return Err("the stopped task ended otherwise"),
        }
    }
    Err("the task did not stop")
}

/// Tries to restart through every capability it holds and through junk;
/// says what it checked, or what was not refused.
fn refused_restarts() -> Result<&'static str, &'static str> {
    use ulib::{CPtr, Error, ObjectKind};
    let refused = |cap: CPtr, want: Error| {
        ulib::task_restart(cap) == Err(want) && ulib::task_stop(cap) == Err(want)
    };
    // Its own address range and root share: not tasks.
    if !refused(CPtr::root(0), Error::WrongObjectKind)
        || !refused(CPtr::root(1), Error::WrongObjectKind)
    {
        return Err("restart or stop through a non-task capability was not refused");
    }
    // Bits no slot has.
    if !refused(CPtr(1 << 40), Error::InvalidCapability) {
        return Err("restart or stop through a malformed slot name was not refused");
    }
    let grant = CPtr::root(ulib::slots::FIRST_GRANT);
    match ulib::cap::cap_info(grant) {
        Err(Error::InvalidCapability) if refused(grant, Error::InvalidCapability) => {
            Ok("no task capability: every restart and stop refused")
        }
        Ok((ObjectKind::Task, rights)) if !rights.contains(ulib::Rights::WRITE) => {
            let report = ulib::task_report(grant).map_err(|_| "task report refused")?;
            if !refused(grant, Error::MissingRights) {
                return Err("restart or stop without WRITE was not refused");
            }
            if report.state != ulib::TaskState::Running && report.state != ulib::TaskState::Exited {
                return Err("the reported task faulted");
            }
            Ok("a task capability without WRITE: report read, restart and stop refused")
        }
        _ => Err("unexpected grant"),
    }
}
