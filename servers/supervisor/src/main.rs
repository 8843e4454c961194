//! The supervisor: supervises the tasks whose capabilities the image
//! granted it. Each of those tasks signals the notification the supervisor
//! was granted when it ends (its `on_exit`); the supervisor then reads how
//! each ended (`TaskReport`) and restarts a faulted one once
//! (`TaskRestart`); a task that faults again is left stopped. It ends when
//! every task it supervises has ended for good. It holds no other
//! authority: a task without a task capability can restart nothing.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use ulib::{slots, CPtr, ObjectKind, TaskState};

ulib::entry!(main);

/// Tasks one supervisor watches at most (its root share's grant slots).
const MAX_TASKS: usize = slots::SHARE_SLOTS as usize;

/// One supervised task: its capability, and whether it was restarted.
#[derive(Clone, Copy)]
struct Watched {
    cap: CPtr,
    restarted: bool,
    /// Ended for good (exited, or faulted after its restart).
    done: bool,
}

fn main(_start: ulib::Start) -> i32 {
    // Silent until a fault: in images whose console is a server, a kernel
    // line printed while clients print could land inside one of theirs.
    let mut watched = [None::<Watched>; MAX_TASKS];
    let mut bell = None;
    for (n, slot) in (slots::FIRST_GRANT..slots::SHARE_SLOTS).enumerate() {
        let cap = CPtr::root(slot);
        match ulib::cap::cap_info(cap) {
            Ok((ObjectKind::Task, _)) => {
                watched[n] = Some(Watched {
                    cap,
                    restarted: false,
                    done: false,
                })
            }
            Ok((ObjectKind::Notification, _)) if bell.is_none() => bell = Some(cap),
            _ => {}
        }
    }
    let Some(bell) = bell else {
        ulib::println!("supervisor: no notification granted: nothing tells me a task ended");
        return 1;
    };
    loop {
        let mut running = false;
        for w in watched.iter_mut().flatten().filter(|w| !w.done) {
            running |= look_after(w);
        }
        if !running {
            return 0;
        }
        if let Err(e) = ulib::cap::wait(bell) {
            ulib::println!("supervisor: wait failed: {:?}", e);
            return 1;
        }
    }
}

/// Reads how `w`'s task stands and restarts it if it faulted the first
/// time; whether it may still end later (so the supervisor must wait).
fn look_after(w: &mut Watched) -> bool {
    let r = match ulib::task_report(w.cap) {
        Ok(r) => r,
        Err(e) => {
            ulib::println!("supervisor: task report refused: {:?}", e);
            w.done = true;
            return false;
        }
    };
    let task = r.task;
    match r.state {
        TaskState::Running => return true,
        // Ended by itself, or stopped on purpose by a holder of WRITE.
        TaskState::Exited | TaskState::Stopped => {
            w.done = true;
            return false;
        }
        TaskState::Faulted => {}
        // Never started (its core is absent, or the kernel refused it).
        TaskState::NotStarted => {
            ulib::println!(
                "supervisor: core {} slot {} was never started",
                task.core,
                task.slot
            );
            w.done = true;
            return false;
        }
        // Its restart was accepted but its core could not rebuild it.
        TaskState::NotRestarted => {
            ulib::println!(
                "supervisor: core {} slot {} could not be restarted: left stopped",
                task.core,
                task.slot
            );
            w.done = true;
            return false;
        }
    }
    let class = ulib::esr::class(r.value);
    ulib::println!(
        "supervisor: task on core {} slot {} faulted: {} at {:#x}",
        task.core,
        task.slot,
        ulib::esr::class_name(class),
        r.far
    );
    if w.restarted {
        ulib::println!(
            "supervisor: core {} slot {} faulted again: left stopped",
            task.core,
            task.slot
        );
        w.done = true;
        return false;
    }
    w.restarted = true;
    // Said before the restart: the new instance may print at once (a
    // console server writes the UART itself), and lines must not mix.
    ulib::println!(
        "supervisor: restarting core {} slot {}",
        task.core,
        task.slot
    );
    match ulib::task_restart(w.cap) {
        Ok(()) => true,
        Err(e) => {
            ulib::println!("supervisor: restart refused: {:?}", e);
            w.done = true;
            false
        }
    }
}
