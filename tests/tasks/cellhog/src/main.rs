//! Holds every object cell of its core while another task there waits to
//! be restarted, so that its restart cannot rebuild it: the kernel must
//! then report the task as `NotRestarted` (docs/syscalls.md, *Task
//! states*) instead of leaving it reading as running, and free what the
//! attempt took. `images/restart-fails.toml`: the faulter on this core
//! signals `victim` each time it ends. This task waits for its fault,
//! makes one-page segments (in a private share of its own) until the core
//! has no object cell left, tells the supervisor (`ended`), waits for the
//! faulter's second end (the exit signal of the failed restart), deletes
//! the share (every segment with it) and tells the supervisor again.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use ulib::{CPtr, Error};

ulib::entry!(main);

ulib::bind! {
    /// Signalled each time the faulter on this core ends.
    static VICTIM: Slot = "victim";
    /// The supervisor's notification.
    static ENDED: Slot = "ended";
}

fn main(start: ulib::Start) -> i32 {
    match hog() {
        Ok(held) => {
            ulib::println!(
                "cellhog on core {}: held {} segments until the restart failed, then freed them",
                start.core,
                held
            );
            0
        }
        Err(why) => {
            ulib::println!("cellhog on core {}: {}", start.core, why);
            1
        }
    }
}

/// The whole sequence; how many segments it held.
fn hog() -> Result<u64, &'static str> {
    let victim = VICTIM.get().ok_or("no victim notification granted")?;
    let ended = ENDED.get().ok_or("no ended notification granted")?;
    ulib::cap::wait_all(victim, 1).map_err(|_| "wait for the fault failed")?;
    let share = ulib::cap::free_slot().ok_or("no free slot")?;
    ulib::cap::share_create(share, false).map_err(|_| "share_create failed")?;
    let via = u8::try_from(share.0).map_err(|_| "share slot out of range")?;
    let mut held = 0;
    for index in 0..ulib::slots::SHARE_SLOTS {
        match ulib::cap::segment_create(CPtr::via(via, index), 1) {
            Ok(()) => held += 1,
            Err(Error::OutOfMemory) => break,
            Err(_) => return Err("segment_create failed other than OutOfMemory"),
        }
    }
    if held == u64::from(ulib::slots::SHARE_SLOTS) {
        return Err("the core's object cells never ran out");
    }
    ulib::cap::signal(ended, 1).map_err(|_| "signal failed")?;
    // The failed restart sends the faulter's exit signals again.
    ulib::cap::wait_all(victim, 1).map_err(|_| "wait for the failed restart failed")?;
    ulib::cap::cap_delete(share).map_err(|_| "cap_delete failed")?;
    ulib::cap::signal(ended, 1).map_err(|_| "second signal failed")?;
    Ok(held)
}
