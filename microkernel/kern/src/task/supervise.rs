//! Everything that crosses cores around tasks: restart requests (from
//! whoever holds a task capability), notifications, sweeps, waking an idle
//! core (an SGI), and knowing when every core is done.
//!
//! A core's tasks are private to it, so another core never touches them:
//! it posts a request in the target core's mailbox and sends it a wake SGI;
//! the target does the work itself. The mailboxes, the sweep counts and
//! the words that let core 0 tell "everything is idle for good" from "a
//! request is in flight" are one protocol, `kerncore::crosscore`
//! (loom-checked), whose kernel instance is `crate::crosscore::XCORE`.

use super::{enter_next, instantiate, pick_next, report_leaks, Sched, State, MAX_TASKS, SCHED};
use crate::arch::aarch64::{irq_restore, irq_save, wfi};
use crate::crosscore::{ncores, Deadline, Machine, XCORE};
use crate::{kprintln, percore};
use kerncore::crosscore::{Request, TASK_SLOTS};

/// SPSR for the idle loop: EL1h, IRQs unmasked (D, A, F masked).
pub const SPSR_EL1_IDLE: u64 = 0x345;

// Every task slot has a restart bit in a mailbox.
const _: () = assert!(MAX_TASKS <= TASK_SLOTS);

/// How long shutdown waits for the other cores before it says so and
/// fails the run: long, so that an emulator on a loaded host (where a
/// core can go without a time slice for a good part of a second) does not
/// fail a run that was ending well.
const SHUTDOWN_WAIT_US: u64 = 10_000_000;
/// This core has loaded its tasks.
pub fn core_started() {
    let me = percore::id();
    let ready = SCHED.with(|s| pick_next(s, None).is_some());
    XCORE.core_started(me, ready, &Machine);
}

/// Waits until every core has loaded its tasks, serving this core's
/// mailbox meanwhile (`CrossCore::core_started`): no core runs a task
/// while another is still starting.
pub fn wait_all_started() {
    let (me, n) = (percore::id(), ncores());
    XCORE.wait_for(me, &Machine, || XCORE.all_started(n), serve_mailbox);
}

/// Posts `req` to `core`'s mailbox and wakes it (a slot past the mailbox's
/// bits cannot be asked for, which `restart` checked).
fn post(core: usize, req: Request) {
    let _ = XCORE.post(percore::id(), core, req, &Machine);
}

/// The wake SGI: this core's mailbox has work.
pub fn on_wake() {
    SCHED.with(|s| process(s, percore::id()));
}

/// Consumes this core's mailbox: sweeps, restarts, notifications, shutdown.
fn process(s: &mut Sched, me: usize) {
    let taken = XCORE.take(me);
    if taken.sweep() {
        crate::cap::sweep_here(s);
    }
    for slot in taken.stops() {
        stop_here(s, me, slot);
    }
    for slot in taken.restarts() {
        restart_here(s, me, slot);
    }
    if taken.notify() || taken.sweep() {
        wake_waiters(s);
    }
    if taken.shut_down() {
        shut_down_here(s);
    }
    if pick_next(s, None).is_some() {
        XCORE.mark_runnable(me);
        s.need_resched = true;
        // A task that became ready may now share the core with another; a
        // slice already running is left to end.
        if !drivers::timer::is_armed() {
            super::arm_slice_timer(s);
        }
    }
    // Only after the runnable bit says so: core 0 must never see neither.
    XCORE.taken(me, taken, &Machine);
}

/// Tells `core` a notification one of its tasks waits on changed (this
/// core serves its own mailbox on the way out of the system call).
pub fn post_notify(core: usize) {
    post(core, Request::Notify);
}

/// This core (`me`) has requests in its mailbox.
#[inline(always)]
pub fn mailbox_pending(me: usize) -> bool {
    XCORE.pending(me)
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
                    t.set_state(State::Ready);
                    s.need_resched = true;
                }
                Some(Err(e)) => {
                    t.ctx.x[0] = e as u64;
                    t.set_state(State::Ready);
                    s.need_resched = true;
                }
            }
        }
    }
}

/// Stops the task in `slot` unless it has ended already. Not the running
/// task: its memory is freed now. The running one (interrupted, or in a
/// system call that served this mailbox) is left on the way back to EL0.
pub(super) fn stop_here(s: &mut Sched, me: usize, slot: usize) {
    let Some(t) = s.tasks[slot].as_mut() else {
        // Not loaded yet: stopped once it is.
        s.stop_on_load |= 1 << slot;
        return;
    };
    if t.space.is_none() || matches!(t.state, State::Faulted | State::Exited(_) | State::Stopped) {
        return;
    }
    if let State::WaitingNotify { id, .. } = t.state {
        let task = abi::TaskId {
            core: me as u32,
            slot: slot as u32,
        };
        crate::cap::forget_waiter(id, task);
    }
    t.set_state(State::Stopped);
    kprintln!("task {} on core {} stopped", t.name, me);
    if s.current == Some(slot) {
        s.need_resched = true;
    } else {
        super::retire(s, slot);
    }
}

fn restart_here(s: &mut Sched, me: usize, slot: usize) {
    let Some(t) = s.tasks[slot].as_ref() else {
        return;
    };
    if !matches!(t.state, State::Faulted | State::Exited(_) | State::Stopped) || t.space.is_some() {
        kprintln!(
            "restart of task {} on core {} ignored: it has not stopped",
            t.name,
            me
        );
        return;
    }
    let (index, restarts) = (t.archive_index, t.restarts + 1);
    match instantiate(me, slot, index, restarts) {
        Some(new) => {
            kprintln!(
                "task {} on core {} restarted (restart {})",
                new.name,
                me,
                restarts
            );
            s.tasks[slot] = Some(new);
        }
        None => {
            // `TaskRestart` marked it running: it is not, and whoever
            // waits for its end must learn so (its exit signals, after
            // the record).
            kprintln!("restart of task {} on core {} failed", t.name, me);
            let state = abi::TaskState::NotRestarted;
            crate::cap::task_ended(super::archive(), index, state, 0, 0);
        }
    }
}

fn shut_down_here(s: &mut Sched) {
    crate::uspace::clear_ttbr0();
    super::switch_user_state(s, s.current, None);
    s.current = None;
    for t in s.tasks.iter().flatten().filter(|t| t.space.is_some()) {
        crate::cap::task_ending(super::archive(), t.archive_index);
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
        if !matches!(t.state, State::Exited(_) | State::Faulted | State::Stopped) {
            t.set_state(State::Faulted);
        }
        if let Some(space) = t.space.take() {
            let asid = space.asid();
            space.destroy();
            crate::uspace::flush_asid(asid);
        }
    }
    XCORE.shutdown_acked(&Machine);
}

/// `TaskRestart`, its capability checked and the task marked running:
/// asks archive task `index`'s core to rebuild it from the image.
pub fn restart(index: usize) {
    if let Some(id) = super::task_id(index).filter(|id| (id.core as usize) < ncores()) {
        post(id.core as usize, Request::Restart(id.slot as usize));
        let me = percore::id();
        if id.core as usize == me {
            SCHED.with(|s| process(s, me));
        }
    }
}

/// `TaskStop`, its capability checked: asks archive task `index`'s core to
/// stop it.
pub fn stop(index: usize) {
    if let Some(id) = super::task_id(index).filter(|id| (id.core as usize) < ncores()) {
        post(id.core as usize, Request::Stop(id.slot as usize));
        let me = percore::id();
        if id.core as usize == me {
            SCHED.with(|s| process(s, me));
        }
    }
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
            XCORE.mark_runnable(id);
            enter_next();
        }
        // A core whose task may still be woken by its device's interrupt
        // stays marked runnable: the run does not end under a device at
        // work (docs/kernel-cores.md, *Waiting*).
        if !crate::cap::awaits_interrupt(id) && XCORE.mark_idle(id) && id != 0 {
            // Core 0 decides when everything is done: tell it to look.
            crate::irq::send_wake(0);
        }
        if !XCORE.pending(id) {
            if id == 0 && XCORE.quiescent(n) {
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
/// The waits here are bounded: a core that does not answer within
/// [`SHUTDOWN_WAIT_US`] is reported and the run fails, rather than hangs.
fn finish(n: usize) -> ! {
    for core in 1..n {
        post(core, Request::ShutDown);
    }
    SCHED.with(shut_down_here);
    let deadline = Deadline::after_us(SHUTDOWN_WAIT_US);
    XCORE.wait_for(
        0,
        &Machine,
        || XCORE.shutdown_acks() >= n || deadline.passed(),
        serve_mailbox,
    );
    if XCORE.shutdown_acks() < n {
        kprintln!(
            "shutdown: only {} of {} cores freed their tasks",
            XCORE.shutdown_acks(),
            n
        );
        super::verdict::problem();
    }
    // Revokes during shutdown may have asked other cores to sweep.
    let deadline = Deadline::after_us(SHUTDOWN_WAIT_US);
    XCORE.wait_for(
        0,
        &Machine,
        || XCORE.settled(n) || deadline.passed(),
        serve_mailbox,
    );
    if !XCORE.settled(n) {
        kprintln!("shutdown: capability sweeps still unfinished after 10 s");
        super::verdict::problem();
    }
    crate::cap::release_boot_objects();
    crate::shared::destroy_all();
    report_leaks(n);
    let status = super::verdict::conclude();
    kprintln!("demo done: powering off");
    defmt::info!("powering off with status {=u32}", status);
    crate::panic::power_off(status)
}
