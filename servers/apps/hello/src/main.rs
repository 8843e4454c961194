//! The demo task: runs at EL0 on its core, says hello, checks that a bad
//! system call gets an error code rather than hurting the kernel, exits.
//! Given a notification in its first grant slot, it waits on it before it
//! exits; given one in its second grant slot only, it polls it, running,
//! until a bit arrives (tasks for another to stop, blocked and running:
//! images/supervise.toml).
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
    let is_bell = |at| {
        matches!(
            ulib::cap::cap_info(at),
            Ok((ulib::ObjectKind::Notification, _))
        )
    };
    let (first, second) = (
        ulib::CPtr::root(ulib::slots::FIRST_GRANT),
        ulib::CPtr::root(ulib::slots::FIRST_GRANT + 1),
    );
    if is_bell(first) {
        ulib::println!("task on core {} waits on its notification", core);
        if ulib::cap::wait(first).is_err() {
            return 3;
        }
    } else if is_bell(second) {
        ulib::println!("task on core {} polls its notification", core);
        loop {
            match ulib::cap::poll(second) {
                Ok(0) => {}
                Ok(_) => break,
                Err(_) => return 3,
            }
        }
    }
    ulib::println!("task on core {} done", core);
    0
}
