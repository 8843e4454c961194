//! Synchronous exceptions from EL0: system calls, and faults, which stop
//! the faulting task only.

use super::{end_if_stopped, retire, supervise, switch_to_next, State, SCHED};
use crate::arch::aarch64::exception::{read_esr, read_esr_far, Frame};
use crate::{kprintln, percore};
use abi::args::{self, Args, Regs};
use abi::{Error, Syscall, TaskId};
use kerncore::esr;

/// Longest `DebugPrint`.
const MAX_PRINT: usize = args::DEBUG_PRINT_MAX as usize;

/// A synchronous exception from EL0 that is not a system call (vectors.s
/// sends those to [`syscall_entry`]): a fault.
#[inline(never)]
pub fn from_user(frame: &mut Frame) {
    if esr::class(read_esr()) == 0x15 {
        // Not reached (the vector takes every `svc`), but a call is a call.
        match fast_call(frame) {
            Then::Return => {}
            Then::Run => full_call(frame),
            Then::FinishCapCall => finish_cap_call(frame),
        }
        return;
    }
    fault(frame);
}

/// What the system-call entry does once a call's function in
/// [`SYSCALL_TABLE`] (or [`syscall_entry`]) returned (vectors.s,
/// `el0_svc`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Then {
    /// The call is done: return to the caller.
    Return = 0,
    /// Run the whole call ([`full_call`]) on the completed frame: it may
    /// switch tasks, which saves and loads whole frames.
    Run = 1,
    /// A capability call is done, but other cores' sweeps must be waited
    /// for or this core's mailbox served, which may stop the caller
    /// ([`finish_cap_call`]).
    FinishCapCall = 2,
}

/// A call's function in [`SYSCALL_TABLE`]: what `el0_svc` calls, on the
/// frame as for [`syscall_entry`].
type Entry = extern "C" fn(&mut Frame) -> Then;

/// Entries of [`SYSCALL_TABLE`]: call numbers 0 to `CALLS - 1` (the
/// highest stable call number, `InterruptAck`, is the last).
pub const CALLS: usize = Syscall::InterruptAck as usize + 1;

/// The function `el0_svc` calls for each call number below [`CALLS`]
/// (vectors.s checks the bound; a number at or above it goes to
/// [`syscall_entry`]): each capability call's own entry
/// (`crate::cap::entry`), and
/// [`syscall_entry`] for the rest (the null call never gets here).
pub static SYSCALL_TABLE: [Entry; CALLS] = {
    use crate::cap::entry as e;
    let mut t: [Entry; CALLS] = [syscall_entry; CALLS];
    t[Syscall::CapCopy as usize] = e::cap_copy;
    t[Syscall::CapDelete as usize] = e::cap_delete;
    t[Syscall::CapRevoke as usize] = e::cap_revoke;
    t[Syscall::SegmentCreate as usize] = e::segment_create;
    t[Syscall::SegmentInfo as usize] = e::segment_info;
    t[Syscall::RangeCreate as usize] = e::range_create;
    t[Syscall::Map as usize] = e::map;
    t[Syscall::Unmap as usize] = e::unmap;
    t[Syscall::Link as usize] = e::link;
    t[Syscall::Unlink as usize] = e::unlink;
    t[Syscall::ShareCreate as usize] = e::share_create;
    t[Syscall::NotifyCreate as usize] = e::notify_create;
    t[Syscall::Signal as usize] = e::signal;
    t[Syscall::InterruptAck as usize] = e::interrupt_ack;
    t[Syscall::CapInfo as usize] = e::cap_info;
    t
};

/// A system call that has no entry of its own in [`SYSCALL_TABLE`] (the
/// null call excepted: vectors.s answers that one). `frame` holds x0-x18 and x30 only: x19-x29 are still in their
/// registers (this function and all it calls keep them, as the AAPCS64
/// says), and ELR, SPSR and SP_EL0 in theirs, so nothing here may read the
/// rest of the frame or switch tasks. Calls that might are left to
/// [`syscall_full`], which vectors.s calls with the frame completed.
#[no_mangle]
extern "C" fn syscall_entry(frame: &mut Frame) -> Then {
    fast_call(frame)
}

/// The second half of a system call that [`syscall_entry`] did not finish:
/// `then` is what it returned, `frame` is now whole.
#[no_mangle]
extern "C" fn syscall_full(then: Then, frame: &mut Frame) {
    match then {
        Then::FinishCapCall => finish_cap_call(frame),
        _ => full_call(frame),
    }
}

/// The calls that never switch tasks; the others are [`Then::Run`].
#[inline(always)]
fn fast_call(frame: &mut Frame) -> Then {
    other_call(Syscall::from_u64(frame.x[8]), frame)
}

/// [`fast_call`]'s work: the calls without an entry of their own here, the
/// others (capability calls, reached here only from [`from_user`] and
/// [`full_call`]) through [`SYSCALL_TABLE`], as from `el0_svc`.
#[inline(never)]
fn other_call(call: Option<Syscall>, frame: &mut Frame) -> Then {
    match call {
        None => status(frame, Err(Error::UnknownSyscall)),
        Some(Syscall::Null) => status(frame, Ok(())),
        Some(Syscall::DebugPrint) => {
            let r = decode::<args::DebugPrint>(frame).and_then(debug_print);
            status(frame, r)
        }
        Some(Syscall::TaskReport) => task_report(frame),
        Some(Syscall::ReadEvent) => match decode::<args::ReadEvent>(frame) {
            Ok(a) => {
                frame.x[1] = read_event(a.event);
                status(frame, Ok(()))
            }
            Err(e) => status(frame, Err(e)),
        },
        Some(Syscall::CoreCount) => {
            frame.x[1] = crate::boot::platform().map_or(1, |p| p.cpus.len()) as u64;
            status(frame, Ok(()))
        }
        Some(Syscall::Exit | Syscall::TaskRestart | Syscall::TaskStop | Syscall::Wait) => {
            return Then::Run
        }
        Some(c) if c.is_experimental() => return Then::Run,
        // Every other call has its own entry in the table.
        Some(call) => match SYSCALL_TABLE.get(call as usize) {
            Some(entry) => return entry(frame),
            None => status(frame, Err(Error::UnknownSyscall)),
        },
    }
    Then::Return
}

/// `TaskReport`: how the task a capability names stands.
#[inline(never)]
fn task_report(frame: &mut Frame) {
    let r = decode::<args::TaskReport>(frame)
        .and_then(|a| SCHED.with(|s| crate::cap::task::report(s, a.task.0)));
    match r {
        Ok(r) => {
            frame.x[1..4].copy_from_slice(&r);
            status(frame, Ok(()))
        }
        Err(e) => status(frame, Err(e)),
    }
}

/// A fault from EL0: the task stops; whoever holds its task capability
/// hears of it through its exit signals.
#[cold]
#[inline(never)]
fn fault(frame: &mut Frame) {
    let (esr_v, far) = read_esr_far();
    let ec = esr::class(esr_v);
    SCHED.with(|s| {
        let Some(i) = s.current else { return };
        if let Some(t) = s.tasks[i].as_mut() {
            t.set_state(State::Faulted);
            t.fault = (esr_v, far);
            // A line it was writing itself must not hold up the report.
            crate::cap::task_stopped(super::archive(), t.archive_index);
            report_fault(t.name, ec, esr_v, far, frame.elr);
        }
        switch_to_next(s, frame);
        retire(s, i);
    });
}

/// One console line per fault: class, the fault status or syndrome, the
/// faulting address where the class has one, and the pc.
fn report_fault(name: &str, ec: u8, esr_v: u64, far: u64, pc: u64) {
    let core = percore::id();
    let class = esr::class_name(ec);
    if esr::is_abort(ec) || ec == 0x22 {
        let status = if ec == 0x22 {
            "misaligned pc"
        } else if (super::GUARD_START..super::USER_STACK_TOP - super::USER_STACK_SIZE)
            .contains(&far)
        {
            "stack overflow into the guard"
        } else {
            esr::abort_status(esr_v)
        };
        kprintln!(
            "task {} on core {} faulted: {} ({}) at address {:#x}, pc {:#x}; task stopped",
            name,
            core,
            class,
            status,
            far,
            pc
        );
    } else {
        kprintln!(
            "task {} on core {} faulted: {} (ESR {:#x}), pc {:#x}; task stopped",
            name,
            core,
            class,
            esr_v,
            pc
        );
    }
}

fn status(frame: &mut Frame, r: Result<(), Error>) {
    frame.x[0] = match r {
        Ok(()) => 0,
        Err(e) => e as u64,
    };
}

/// The argument registers of a call (in place: no copy).
pub fn regs(frame: &Frame) -> &Regs {
    frame.x.first_chunk().expect("a frame has 31 registers")
}

/// `A`'s arguments from the caller's registers (the first bits not
/// understood are the call's error).
pub fn decode<A: Args>(frame: &Frame) -> Result<A, Error> {
    A::decode(regs(frame))
}

/// The calls that may switch tasks, on a whole frame.
#[inline(never)]
fn full_call(frame: &mut Frame) {
    match Syscall::from_u64(frame.x[8]) {
        Some(Syscall::Exit) => exit(frame),
        Some(Syscall::TaskRestart) => {
            let r = decode::<args::TaskRestart>(frame)
                .and_then(|a| SCHED.with(|s| crate::cap::task::restart(s, a.task.0)))
                .map(supervise::restart);
            status(frame, r);
            end_if_stopped(frame);
        }
        Some(Syscall::TaskStop) => {
            let r = decode::<args::TaskStop>(frame)
                .and_then(|a| SCHED.with(|s| crate::cap::task::stop(s, a.task.0)))
                .map(supervise::stop);
            status(frame, r);
            end_if_stopped(frame);
        }
        Some(Syscall::Wait) => wait(frame),
        Some(c) if c.is_experimental() => experimental_call(c, frame),
        // Not reached: `fast_call` finished every other call.
        _ => {
            if fast_call(frame) == Then::FinishCapCall {
                finish_cap_call(frame)
            }
        }
    }
}

/// The experimental calls (`abi::EXPERIMENTAL_CALLS`): the in-kernel block
/// baseline's (docs/block.md), accepted only by the test build (feature
/// `block-in-kernel`) and only when the image asked for the baseline;
/// otherwise unknown, as a number no call has.
#[inline(never)]
fn experimental_call(call: Syscall, frame: &mut Frame) {
    #[cfg(feature = "block-in-kernel")]
    if super::options().block_in_kernel {
        return super::block::call(call, frame);
    }
    let _ = call;
    status(frame, Err(Error::UnknownSyscall))
}

/// The end of a capability call whose operation ran (`crate::cap::entry`):
/// `remote`, it must wait for other cores' sweeps; otherwise whether this
/// core's mailbox has requests (the operation may have posted to this
/// core itself, which sends no wake SGI), which are then served on the
/// whole frame ([`finish_cap_call`]).
#[inline(always)]
pub fn after_cap_call(me: usize, remote: bool) -> Then {
    if remote || supervise::mailbox_pending(me) {
        Then::FinishCapCall
    } else {
        Then::Return
    }
}

/// Debug builds: the per-core block's copy of the caller's root share
/// (`root`, what a capability call reads) is the scheduler's.
#[inline(always)]
pub fn check_caller_root(root: Option<kerncore::cap::ShareId>) {
    debug_assert_eq!(
        root,
        SCHED.with(|s| crate::cap::Spaces::root_share(s)),
        "the per-core copy of the caller's root share is stale"
    );
    let _ = root;
}

/// What a capability call sees of the tasks (`crate::cap::Spaces`): the
/// calling task's root share, copied from the per-core block, and this
/// core's scheduler state, entered the first time the call asks for an
/// address space (undoing a mapping, mapping into one), so that the calls
/// that never do (most, and every error return) do not pay for it.
pub struct Caller {
    me: usize,
    root: Option<kerncore::cap::ShareId>,
    sched: Option<&'static mut super::Sched>,
}

impl Caller {
    /// The caller on core `me` (this core) whose root share is `root`.
    #[inline(always)]
    pub fn new(me: usize, root: Option<kerncore::cap::ShareId>) -> Caller {
        Caller {
            me,
            root,
            sched: None,
        }
    }
}

impl crate::cap::Spaces for Caller {
    #[inline(always)]
    fn root_share(&self) -> Option<kerncore::cap::ShareId> {
        self.root
    }

    fn root(&mut self, slot: usize) -> Option<&mut crate::uspace::UserSpace> {
        let s = match self.sched {
            Some(ref mut s) => s,
            // Safety: a capability call (`crate::cap::entry`) runs with
            // every exception masked and holds no other reference to the
            // scheduler's state, and the capability code never enters it
            // itself (it asks here), so this is the only reference for as
            // long as the call lasts; `me` is this core's number (from
            // the per-core block).
            None => self.sched.insert(unsafe { SCHED.get_masked(self.me) }),
        };
        crate::cap::Spaces::root(&mut **s, slot)
    }
}

/// What a capability call that posted requests (or found some in this
/// core's mailbox) does last, on the whole frame.
#[inline(never)]
fn finish_cap_call(frame: &mut Frame) {
    after_cap_op();
    end_if_stopped(frame);
}

/// After a capability operation: requests it posted to this core are
/// served now, and a revoke waits until every core it asked has removed
/// the capabilities it killed, and every core those asked in turn (a copy
/// passed on through further cores, back to this one included). This
/// core's own mailbox is served meanwhile, so two cores revoking toward
/// each other both finish. Why the wait ends: `kerncore::crosscore`'s
/// module doc, and the loom models check it. A wait past a second says so
/// on the console and keeps waiting (returning early would leave
/// capabilities the caller believes revoked); it does not fail the run by
/// itself, because under an emulator on a loaded host a second of
/// wall-clock time can pass in a wait that ends (fuzz-imx8mp did). A wait
/// that never ends is caught by the run's time limit and its report.
fn after_cap_op() {
    use crate::crosscore::{ncores, Deadline, Machine, XCORE};
    let n = ncores();
    let deadline = Deadline::after_us(1_000_000);
    let mut said = false;
    XCORE.wait_for(
        percore::id(),
        &Machine,
        || {
            if XCORE.settled(n) {
                return true;
            }
            if !said && deadline.passed() {
                said = true;
                kprintln!("capabilities: a revoke still waits for other cores' sweeps after 1 s");
            }
            false
        },
        supervise::serve_mailbox,
    );
}

/// `Wait`: takes the notification's bits, or blocks until there are some.
#[inline(never)]
fn wait(frame: &mut Frame) {
    let me = percore::id();
    SCHED.with(|s| {
        let Some(i) = s.current else { return };
        let id = TaskId {
            core: me as u32,
            slot: i as u32,
        };
        let r =
            decode::<args::Wait>(frame).and_then(|a| crate::cap::notification_wait_state(s, a, id));
        match r {
            Err(e) => status(frame, Err(e)),
            Ok(Ok(bits)) => {
                frame.x[1] = bits;
                status(frame, Ok(()))
            }
            Ok(Err((obj, gen))) => {
                if let Some(t) = s.tasks[i].as_mut() {
                    super::copy_frame(&mut t.ctx, frame);
                    t.set_state(State::WaitingNotify { id: obj, gen });
                }
                switch_to_next(s, frame);
            }
        }
    });
}

/// This core's count of `ev`.
#[inline(never)]
fn read_event(ev: abi::Event) -> u64 {
    use core::sync::atomic::Ordering::Relaxed;
    let e = &percore::this().events;
    match ev {
        abi::Event::SharedLock => e.shared_locks.load(Relaxed),
        abi::Event::BroadcastTlbi => e.broadcast_tlbi.load(Relaxed),
        abi::Event::Ipi => e.ipis.load(Relaxed),
        abi::Event::GlobalPoolTake => e.global_pool_takes.load(Relaxed),
        abi::Event::Interrupt => e.interrupts.load(Relaxed),
    }
}

fn exit(frame: &mut Frame) {
    // Every status is one: the decode cannot fail.
    let code = decode::<args::Exit>(frame).map_or(0, |a| a.status);
    SCHED.with(|s| {
        let Some(i) = s.current else { return };
        if let Some(t) = s.tasks[i].as_mut() {
            t.set_state(State::Exited(code));
            kprintln!(
                "task {} on core {} exited with status {}",
                t.name,
                percore::id(),
                code
            );
        }
        switch_to_next(s, frame);
        retire(s, i);
    });
}

#[inline(never)]
fn debug_print(args::DebugPrint { ptr, len }: args::DebugPrint) -> Result<(), Error> {
    let mut buf = [0u8; MAX_PRINT];
    let buf = &mut buf[..len as usize];
    let name = SCHED.with(|s| -> Result<&'static str, Error> {
        let t = s
            .current
            .and_then(|i| s.tasks[i].as_ref())
            .ok_or(Error::InvalidArgument)?;
        t.space
            .as_ref()
            .ok_or(Error::InvalidArgument)?
            .read(ptr, buf)?;
        Ok(t.name)
    })?;
    // Control characters could forge console structure (or the escape of a
    // log frame on a one-line board): they print as '?'.
    for b in buf.iter_mut() {
        if *b < 0x20 && *b != b'\t' || *b == 0x7f {
            *b = b'?';
        }
    }
    let text = core::str::from_utf8(buf).unwrap_or("<not UTF-8>");
    kprintln!(
        "[{}@{}] {}",
        name,
        percore::id(),
        text.trim_end_matches('\n')
    );
    Ok(())
}
