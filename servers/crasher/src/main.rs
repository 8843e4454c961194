//! Faults on its first run (a read of an unmapped address); after the
//! supervisor restarts it, it checks from EL0 that it can restart nothing:
//! not through its own capabilities, not through a malformed slot, not
//! through an empty one, and not through a task capability without
//! WRITE (the image may grant it a read-only one), and finishes.
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
    // Restarting takes a task capability with WRITE: a task without
    // one can restart nothing, whatever else it names.
    match refused_restarts() {
        Ok(what) => {
            ulib::println!("crasher on core {}: {}", start.core, what);
            0
        }
        Err(why) => {
            ulib::println!("crasher on core {}: {}", start.core, why);
            2
        }
    }
}

/// Tries to restart through every capability it holds and through junk;
/// says what it checked, or what was not refused.
fn refused_restarts() -> Result<&'static str, &'static str> {
    use ulib::{CPtr, Error, ObjectKind};
    let refused = |cap: CPtr, want: Error| ulib::task_restart(cap) == Err(want);
    // Its own address range and root share: not tasks.
    if !refused(CPtr::root(0), Error::WrongObjectKind)
        || !refused(CPtr::root(1), Error::WrongObjectKind)
    {
        return Err("restart through a non-task capability was not refused");
    }
    // Bits no slot has.
    if !refused(CPtr(1 << 40), Error::InvalidCapability) {
        return Err("restart through a malformed slot name was not refused");
    }
    let grant = CPtr::root(ulib::slots::FIRST_GRANT);
    match ulib::cap::cap_info(grant) {
        Err(Error::InvalidCapability) if refused(grant, Error::InvalidCapability) => {
            Ok("no task capability: every restart refused")
        }
        Ok((ObjectKind::Task, rights)) if !rights.contains(ulib::Rights::WRITE) => {
            let report = ulib::task_report(grant).map_err(|_| "task report refused")?;
            if !refused(grant, Error::MissingRights) {
                return Err("restart without WRITE was not refused");
            }
            if report.state != ulib::TaskState::Running && report.state != ulib::TaskState::Exited {
                return Err("the reported task faulted");
            }
            Ok("a task capability without WRITE: report read, restart refused")
        }
        _ => Err("unexpected grant"),
    }
}
