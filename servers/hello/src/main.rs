//! The demo task: runs at EL0 on its core, says hello, checks that a bad
//! system call gets an error code rather than hurting the kernel, exits.
//! Given a notification in its first grant slot, it waits on it before it
//! exits (a task for another to stop: images/supervise.toml).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let core = start.core;
    ulib::println!("hello from EL0 on core {}", core);
    for _ in 0..1000 {
        if ulib::null().is_err() {
            return 1;
        }
    }
    // A pointer into the kernel half must be refused, not followed.
    // Safety: the pointer is deliberately bad; the kernel checks it against
    // this task's own tables and must refuse it without reading.
    let bad = unsafe {
        ulib::raw_syscall(
            ulib::Syscall::DebugPrint as u64,
            [0xffff_0000_0000_0000, 8, 0, 0, 0, 0],
        )
    };
    if bad[0] != ulib::Error::OutOfRange as u64 {
        ulib::println!("kernel pointer was not refused: {}", bad[0]);
        return 2;
    }
    let bell = ulib::CPtr::root(ulib::slots::FIRST_GRANT);
    if let Ok((ulib::ObjectKind::Notification, _)) = ulib::cap::cap_info(bell) {
        ulib::println!("task on core {} waits on its notification", core);
        if ulib::cap::wait(bell).is_err() {
            return 3;
        }
    }
    ulib::println!("task on core {} done", core);
    0
}
