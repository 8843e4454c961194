//! Everything that crosses cores around tasks: fault reports to the
//! supervisor, restart requests, waking an idle core (an SGI), and knowing
//! when every core is done.
//!
//! A core's tasks are private to it, so another core never touches them:
//! it posts a request in the target core's mailbox and sends it a wake SGI;
//! the target does the work itself. `WORK`, `EPOCH` and `RUNNABLE` let core
//! 0 tell "everything is idle for good" from "a request is in flight".

use super::{enter_next, instantiate, pick_next, report_leaks, Sched, State, MAX_TASKS, SCHED};
use crate::arch::aarch64::exception::Frame;
use crate::arch::aarch64::{irq_restore, irq_save, wfi};
use crate::{kprintln, percore};
use abi::{Error, TaskId};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use platform::MAX_CPUS;

/// SPSR for the idle loop: EL1h, IRQs unmasked (D, A, F masked).
pub const SPSR_EL1_IDLE: u64 = 0x345;

/// Mailbox bits: `1 << slot` asks to restart that slot; these two ask to
/// deliver fault reports and to shut down.
const FAULTS_WAITING: u64 = 1 << 62;
const SHUT_DOWN: u64 = 1 << 63;
/// Another core killed exports into this core's capability space.
const SWEEP: u64 = 1 << 61;
/// A notification a task here waits on was signalled (or destroyed).
const NOTIFY: u64 = 1 << 60;

static MAILBOX: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Requests posted to each core and not yet consumed.
static REQUESTS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Requests posted anywhere and not yet consumed.
static WORK: AtomicU64 = AtomicU64::new(0);
/// Bumped by every post: lets core 0 see a post that raced its check.
static EPOCH: AtomicU64 = AtomicU64::new(0);
/// Bit per core that has a ready task (set by that core, or by a poster on
/// its behalf before the request is consumed).
static RUNNABLE: AtomicU64 = AtomicU64::new(0);
/// Cores that have loaded their tasks.
static STARTED: AtomicUsize = AtomicUsize::new(0);
static SHUTDOWN_ACKS: AtomicUsize = AtomicUsize::new(0);
/// The supervisor's `TaskId` encoding plus one (0: the image has none).
static SUPERVISOR: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy)]
struct Report {
    task: TaskId,
    esr: u64,
    far: u64,
}

const MAX_REPORTS: usize = 16;

/// Fault reports not yet taken by the supervisor: shared by every core, so
/// behind a lock (counted).
struct Reports {
    ring: [Option<Report>; MAX_REPORTS],
    head: usize,
    len: usize,
    dropped: u64,
}

static REPORTS: crate::sync::Mutex<Reports> = crate::sync::Mutex::new(Reports {
    ring: [None; MAX_REPORTS],
    head: 0,
    len: 0,
    dropped: 0,
});

fn reports() -> crate::sync::MutexGuard<'static, Reports> {
    percore::count(|e| &e.shared_locks);
    REPORTS.lock()
}

fn ncores() -> usize {
    crate::boot::platform().map_or(1, |p| p.cpus.len())
}

fn supervisor() -> Option<TaskId> {
    match SUPERVISOR.load(SeqCst) {
        0 => None,
        v => Some(TaskId::decode(v - 1)),
    }
}

pub fn register_supervisor(core: usize, slot: usize) {
    let id = TaskId {
        core: core as u32,
        slot: slot as u32,
    };
    let _ = SUPERVISOR.compare_exchange(0, id.encode() + 1, SeqCst, SeqCst);
}

/// This core has loaded its tasks.
pub fn core_started() {
    let me = percore::id();
    if SCHED.with(|s| pick_next(s, None).is_some()) {
        RUNNABLE.fetch_or(1 << me, SeqCst);
    }
    STARTED.fetch_add(1, SeqCst);
    if me != 0 {
        // Core 0 may have found its own tasks done and gone to sleep
        // before this core started: it must look again.
        crate::irq::send_wake(0);
    }
}

/// Posts `bits` to `core`'s mailbox and wakes it.
fn post(core: usize, bits: u64) {
    EPOCH.fetch_add(1, SeqCst);
    WORK.fetch_add(1, SeqCst);
    REQUESTS[core].fetch_add(1, SeqCst);
    MAILBOX[core].fetch_or(bits, SeqCst);
    if core != percore::id() {
        crate::irq::send_wake(core);
    }
}

/// The wake SGI: this core's mailbox has work.
pub fn on_wake() {
    SCHED.with(|s| process(s, percore::id()));
}

/// Consumes this core's mailbox: restarts, fault delivery, shutdown.
fn process(s: &mut Sched, me: usize) {
    let bits = MAILBOX[me].swap(0, SeqCst);
    let consumed = REQUESTS[me].swap(0, SeqCst);
    if bits & SWEEP != 0 {
        crate::cap::sweep_here(s);
    }
    for slot in (0..MAX_TASKS).filter(|&i| bits & (1 << i) != 0) {
        restart_here(s, me, slot);
    }
    if bits & (NOTIFY | SWEEP) != 0 {
        wake_waiters(s);
    }
    if bits & SHUT_DOWN != 0 {
        shut_down_here(s);
    }
    deliver_fault(s, me);
    if pick_next(s, None).is_some() {
        RUNNABLE.fetch_or(1 << me, SeqCst);
        s.need_resched = true;
        // A task that became ready may now share the core with another; a
        // slice already running is left to end.
        if !drivers::timer::is_armed() {
            super::arm_slice_timer(s);
        }
    }
    // Only after RUNNABLE says so: core 0 must never see neither.
    let left = WORK.fetch_sub(consumed, SeqCst) - consumed;
    if consumed != 0 && left == 0 && me != 0 {
        // Core 0 may be asleep having seen this request in flight (a
        // sweep or a notification sets no RUNNABLE bit): let it look again.
        crate::irq::send_wake(0);
    }
}

/// Asks `core` to sweep its capability space for killed imports.
pub fn post_sweep(core: usize) {
    post(core, SWEEP);
}

/// Tells `core` a notification one of its tasks waits on changed (this
/// core serves its own mailbox on the way out of the system call).
pub fn post_notify(core: usize) {
    post(core, NOTIFY);
}

/// This core has requests in its mailbox.
pub fn mailbox_pending() -> bool {
    MAILBOX[percore::id()].load(SeqCst) != 0
}

/// Serves this core's mailbox while it waits for another core (inside a
/// system call, interrupts masked): requests aimed at it must not wait
/// for the waiter.
pub fn serve_mailbox() {
    SCHED.with(|s| process(s, percore::id()));
}

/// Wakes the tasks whose notification has bits (or is gone).
fn wake_waiters(s: &mut Sched) {
    for t in s.tasks.iter_mut().flatten() {
        if let State::WaitingNotify { id, gen } = t.state {
            match crate::cap::wake_notified(id, gen) {
                None => {}
                Some(Ok(bits)) => {
                    t.ctx.x[0] = 0;
                    t.ctx.x[1] = bits;
                    t.state = State::Ready;
                    s.need_resched = true;
                }
                Some(Err(e)) => {
                    t.ctx.x[0] = e as u64;
                    t.state = State::Ready;
                    s.need_resched = true;
                }
            }
        }
    }
}

fn restart_here(s: &mut Sched, me: usize, slot: usize) {
    let Some(t) = s.tasks[slot].as_ref() else {
        return;
    };
    if !matches!(t.state, State::Faulted | State::Exited(_)) || t.space.is_some() {
        kprintln!(
            "restart of task {} on core {} ignored: it has not stopped",
            t.name,
            me
        );
        return;
    }
    let (index, restarts) = (t.archive_index, t.restarts + 1);
    if let Some(new) = instantiate(me, slot, index, restarts) {
        kprintln!(
            "task {} on core {} restarted (restart {})",
            new.name,
            me,
            restarts
        );
        s.tasks[slot] = Some(new);
    }
}

fn shut_down_here(s: &mut Sched) {
    crate::uspace::clear_ttbr0();
    super::switch_user_state(s, s.current, None);
    s.current = None;
    for t in s.tasks.iter().flatten().filter(|t| t.space.is_some()) {
        crate::cap::task_ending(&super::archive(), t.archive_index);
    }
    for i in 0..MAX_TASKS {
        super::release_caps(s, i);
    }
    let me = percore::id();
    for t in s.tasks.iter_mut().flatten() {
        super::verdict::judge(t.name, me, t.archive_index, t.state);
        if matches!(t.state, State::WaitingNotify { .. }) && t.space.is_some() {
            // Nothing was left to signal it: a deadlock of the image's
            // tasks, said so rather than ended silently.
            kprintln!(
                "shutdown: task {} on core {} was still blocked in Wait",
                t.name,
                me
            );
        }
        // Ended: a notification destroyed from here on must not wake it
        // into the address space freed below.
        if !matches!(t.state, State::Exited(_) | State::Faulted) {
            t.state = State::Faulted;
        }
        if let Some(space) = t.space.take() {
            let asid = space.asid();
            space.destroy();
            crate::uspace::flush_asid(asid);
        }
    }
    SHUTDOWN_ACKS.fetch_add(1, SeqCst);
}

/// If the supervisor lives here and waits, hands it the oldest report.
fn deliver_fault(s: &mut Sched, me: usize) {
    let Some(sup) = supervisor().filter(|t| t.core as usize == me) else {
        return;
    };
    let Some(t) = s.tasks[sup.slot as usize].as_mut() else {
        return;
    };
    if t.state != State::WaitingFault {
        return;
    }
    if let Some(r) = pop_report() {
        t.ctx.x[0] = 0;
        t.ctx.x[1] = r.task.encode();
        t.ctx.x[2] = r.esr;
        t.ctx.x[3] = r.far;
        t.state = State::Ready;
        s.need_resched = true;
    }
}

fn pop_report() -> Option<Report> {
    let mut q = reports();
    if q.len == 0 {
        return None;
    }
    let head = q.head;
    let r = q.ring[head].take();
    q.head = (q.head + 1) % MAX_REPORTS;
    q.len -= 1;
    r
}

/// A task on this core faulted (`s` is this core's scheduler): queue the
/// report for the supervisor and wake its core.
pub fn report(s: &mut Sched, task: TaskId, esr: u64, far: u64) {
    let Some(sup) = supervisor() else { return };
    {
        let mut q = reports();
        if q.len == MAX_REPORTS {
            q.dropped += 1;
            return;
        }
        let at = (q.head + q.len) % MAX_REPORTS;
        q.ring[at] = Some(Report { task, esr, far });
        q.len += 1;
    }
    let me = percore::id();
    post(sup.core as usize, FAULTS_WAITING);
    if sup.core as usize == me {
        process(s, me);
    }
}

/// `WaitFault`: the supervisor takes a report, or blocks until one comes.
pub fn wait_fault(frame: &mut Frame) {
    let me = percore::id();
    SCHED.with(|s| {
        let Some(i) = s.current else { return };
        let is_sup = supervisor()
            == Some(TaskId {
                core: me as u32,
                slot: i as u32,
            });
        if !is_sup {
            frame.x[0] = Error::MissingRights as u64;
            return;
        }
        if let Some(r) = pop_report() {
            frame.x[0] = 0;
            frame.x[1] = r.task.encode();
            frame.x[2] = r.esr;
            frame.x[3] = r.far;
            return;
        }
        if let Some(t) = s.tasks[i].as_mut() {
            super::copy_frame(&mut t.ctx, frame);
            t.state = State::WaitingFault;
        }
        super::switch_to_next(s, frame);
    });
}

/// `Restart`: asks `task`'s core to rebuild it from the image.
pub fn restart(task: TaskId) -> Result<(), Error> {
    let me = percore::id();
    let caller = SCHED.with(|s| s.current);
    if supervisor()
        != caller.map(|i| TaskId {
            core: me as u32,
            slot: i as u32,
        })
    {
        return Err(Error::MissingRights);
    }
    let core = task.core as usize;
    if core >= ncores() || !super::tasks_of(core).any(|(_, slot)| slot == task.slot as usize) {
        return Err(Error::InvalidArgument);
    }
    if task.slot as usize >= MAX_TASKS {
        return Err(Error::InvalidArgument);
    }
    RUNNABLE.fetch_or(1 << core, SeqCst);
    post(core, 1 << task.slot);
    if core == me {
        SCHED.with(|s| process(s, me));
    }
    Ok(())
}

/// No core has a ready task and no request is in flight, stably.
fn quiescent(n: usize) -> bool {
    if STARTED.load(SeqCst) < n {
        return false;
    }
    let e1 = EPOCH.load(SeqCst);
    let w = WORK.load(SeqCst);
    let r = RUNNABLE.load(SeqCst);
    let e2 = EPOCH.load(SeqCst);
    w == 0 && r == 0 && e1 == e2
}

/// A core with no ready task waits here (at EL1) for a request; core 0
/// ends the run once every core is idle for good.
pub fn idle(id: usize) -> ! {
    let n = ncores();
    loop {
        let daif = irq_save();
        let ready = SCHED.with(|s| {
            process(s, id);
            pick_next(s, None).is_some()
        });
        if ready {
            RUNNABLE.fetch_or(1 << id, SeqCst);
            enter_next();
        }
        let was = RUNNABLE.fetch_and(!(1 << id), SeqCst);
        if id != 0 && was & (1 << id) != 0 {
            // Core 0 decides when everything is done: tell it to look.
            crate::irq::send_wake(0);
        }
        if MAILBOX[id].load(SeqCst) == 0 {
            if id == 0 && quiescent(n) {
                finish(n);
            }
            // Interrupts are masked: a wake that arrived after the check
            // still ends the wfi, and is taken right after.
            wfi();
        }
        irq_restore(daif);
    }
}

/// Core 0: every core frees what its remaining tasks hold (a supervisor
/// still waiting, say), then the run ends with the leak check.
fn finish(n: usize) -> ! {
    for core in 1..n {
        post(core, SHUT_DOWN);
    }
    SCHED.with(shut_down_here);
    let start = drivers::timer::now();
    while SHUTDOWN_ACKS.load(SeqCst) < n {
        if drivers::timer::ticks_to_us(drivers::timer::now() - start) > 1_000_000 {
            kprintln!(
                "shutdown: only {} of {} cores freed their tasks",
                SHUTDOWN_ACKS.load(SeqCst),
                n
            );
            super::verdict::problem();
            break;
        }
        crate::sync::relax();
    }
    // Revokes during shutdown may have asked other cores to sweep.
    let start = drivers::timer::now();
    while !crate::cap::sweeps_settled(n) {
        if drivers::timer::ticks_to_us(drivers::timer::now() - start) > 1_000_000 {
            kprintln!("shutdown: capability sweeps still unfinished after 1 s");
            super::verdict::problem();
            break;
        }
        serve_mailbox();
        crate::sync::relax();
    }
    crate::cap::release_boot_objects();
    crate::shared::destroy_all();
    report_leaks(n);
    let status = super::verdict::conclude();
    kprintln!("demo done: powering off");
    defmt::info!("powering off with status {=u32}", status);
    crate::panic::power_off(status)
}
