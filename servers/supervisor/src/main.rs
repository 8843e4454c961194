//! The supervisor: waits for fault reports (from any core) and restarts
//! each faulted task once; a task that faults again is left stopped.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

/// Tasks restarted so far (a task is restarted at most once).
const MAX_TRACKED: usize = 32;

fn main(_start: ulib::Start) -> i32 {
    // Silent until a fault: in images whose console is a server, a kernel
    // line printed while clients print could land inside one of theirs.
    let mut restarted = [None::<ulib::TaskId>; MAX_TRACKED];
    loop {
        let report = match ulib::wait_fault() {
            Ok(r) => r,
            Err(e) => {
                ulib::println!("supervisor: wait_fault failed: {:?}", e);
                return 1;
            }
        };
        let (task, class) = (report.task, ulib::esr::class(report.esr));
        ulib::println!(
            "supervisor: task on core {} slot {} faulted: {} at {:#x}",
            task.core,
            task.slot,
            ulib::esr::class_name(class),
            report.far
        );
        if restarted.contains(&Some(task)) {
            ulib::println!(
                "supervisor: core {} slot {} faulted again: left stopped",
                task.core,
                task.slot
            );
            continue;
        }
        if let Some(free) = restarted.iter_mut().find(|t| t.is_none()) {
            *free = Some(task);
        }
        // Said before the restart: the new instance may print at once (a
        // console server writes the UART itself), and lines must not mix.
        ulib::println!(
            "supervisor: restarting core {} slot {}",
            task.core,
            task.slot
        );
        if let Err(e) = ulib::restart(task) {
            ulib::println!("supervisor: restart refused: {:?}", e);
        }
    }
}
