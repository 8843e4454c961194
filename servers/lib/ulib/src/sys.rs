//! The system calls themselves: `svc #0`, number in x8, arguments in
//! x0..x5, status in x0 (0 or an `abi::Error` code), results in x1..x3.

use abi::args::Args;
use abi::{Error, Syscall};
use core::arch::asm;

/// Raw call. Returns x0..x3.
///
/// # Safety
/// Pointer arguments must be valid for what the call does with them; the
/// kernel validates them, but a wrong pointer can still make the call act
/// on the wrong memory of this task.
#[inline(always)]
pub unsafe fn raw_syscall(n: u64, a: [u64; 6]) -> [u64; 4] {
    let (r0, r1, r2, r3);
    // Safety: `svc` enters the kernel, which preserves every register but
    // x0..x3 (results) and returns to the next instruction.
    unsafe {
        asm!(
            "svc #0",
            inlateout("x0") a[0] => r0,
            inlateout("x1") a[1] => r1,
            inlateout("x2") a[2] => r2,
            inlateout("x3") a[3] => r3,
            in("x4") a[4],
            in("x5") a[5],
            in("x8") n,
            options(nostack)
        );
    }
    [r0, r1, r2, r3]
}

/// The result a status word says. Success is one compare and branch; the
/// decoding of an error code is out of line (how many codes there are then
/// costs the success path nothing: the null call's round trip measures it).
#[inline(always)]
pub(crate) fn status(x0: u64) -> Result<(), Error> {
    if x0 == 0 {
        Ok(())
    } else {
        Err(error(x0))
    }
}

/// The error for a non-zero status word (an unknown code reads as
/// `InvalidArgument`).
#[cold]
#[inline(never)]
pub(crate) fn error(x0: u64) -> Error {
    Error::from_u64(x0).unwrap_or(Error::InvalidArgument)
}

/// The cheapest round trip into the kernel.
pub fn null() -> Result<(), Error> {
    // Safety: no pointer arguments.
    status(unsafe { raw_syscall(Syscall::Null as u64, [0; 6]) }[0])
}

/// Prints `s` (at most 256 bytes) as one console line.
pub fn debug_print(s: &str) -> Result<(), Error> {
    let (ptr, len) = (s.as_ptr() as u64, s.len() as u64);
    let a = abi::args::DebugPrint { ptr, len }.encode();
    // Safety: `s` is valid for reads of its length.
    status(unsafe { raw_syscall(Syscall::DebugPrint as u64, a) }[0])
}

/// A test's deliberate fault: reads address 8, where nothing is mapped
/// (the task layout leaves page 0 empty), so the kernel stops the task
/// with a data abort at 0x8, reported to the supervisor like any fault.
pub fn fault_on_purpose() {
    // Safety: reading address 8 has no effect on memory: it faults, and
    // the kernel stops the task before the value could be used.
    unsafe { core::ptr::read_volatile(core::ptr::without_provenance::<u64>(8)) };
}

/// Ends this task with `code`.
pub fn exit(code: u64) -> ! {
    let a = abi::args::Exit { status: code }.encode();
    // Safety: no pointer arguments; the call does not return.
    unsafe { raw_syscall(Syscall::Exit as u64, a) };
    loop {
        crate::wait::relax();
    }
}

/// This core's count of `event` so far.
pub fn read_event(event: abi::Event) -> Result<u64, Error> {
    let a = abi::args::ReadEvent { event }.encode();
    // Safety: no pointer arguments.
    let r = unsafe { raw_syscall(Syscall::ReadEvent as u64, a) };
    status(r[0])?;
    Ok(r[1])
}

/// How a task stands, as its task capability reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskReport {
    /// Which task the capability names.
    pub task: abi::TaskId,
    pub state: abi::TaskState,
    /// Exit status (exited) or exception syndrome (faulted; `abi::esr`
    /// decodes it).
    pub value: u64,
    /// The faulting address, for classes that have one.
    pub far: u64,
}

/// Reads the state of the task named by the task capability in `task`
/// (right READ).
pub fn task_report(task: abi::CPtr) -> Result<TaskReport, Error> {
    let a = abi::args::Args::encode(&abi::args::TaskReport { task });
    // Safety: no pointer arguments.
    let r = unsafe { raw_syscall(Syscall::TaskReport as u64, a) };
    status(r[0])?;
    Ok(TaskReport {
        task: abi::TaskId::decode(r[1] >> 8)?,
        state: abi::TaskState::from_u64(r[1] & 0xff).ok_or(Error::InvalidArgument)?,
        value: r[2],
        far: r[3],
    })
}

/// Stops the task named by the task capability in `task` (right WRITE).
/// It stops on its own core soon after: [`task_report`] then says
/// `Stopped`.
pub fn task_stop(task: abi::CPtr) -> Result<(), Error> {
    let a = abi::args::Args::encode(&abi::args::TaskStop { task });
    // Safety: no pointer arguments.
    status(unsafe { raw_syscall(Syscall::TaskStop as u64, a) }[0])
}

/// Re-arms the interrupt of the device whose segment capability is in
/// `device` (right WRITE): the image delivers it to this task, and the
/// kernel masked it when it signalled (docs/syscalls.md, `InterruptAck`).
pub fn interrupt_ack(device: abi::CPtr) -> Result<(), Error> {
    let a = abi::args::Args::encode(&abi::args::InterruptAck { device });
    // Safety: no pointer arguments.
    status(unsafe { raw_syscall(Syscall::InterruptAck as u64, a) }[0])
}

/// Restarts the stopped task named by the task capability in `task`
/// (right WRITE) from its program in the image.
pub fn task_restart(task: abi::CPtr) -> Result<(), Error> {
    let a = abi::args::Args::encode(&abi::args::TaskRestart { task });
    // Safety: no pointer arguments.
    status(unsafe { raw_syscall(Syscall::TaskRestart as u64, a) }[0])
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::println!("task panic: {}", info.message());
    exit(101)
}
