//! Tasks: user code at EL0, bound to one core (Corey's pcore). Each core
//! loads the tasks the image assigns to it from the archive packed beside
//! the kernel, runs
//! them by priority with time slices among equals, serves their system
//! calls and contains their faults: a faulting task is stopped, reported to
//! the supervisor (if the image has one), and may be restarted by it.

#[cfg(feature = "block-in-kernel")]
mod block;
mod image;
mod load;
mod report;
mod supervise;
mod syscall;
mod verdict;

pub(crate) use image::archive;
pub use image::{init, options, report_absent_cores, run_problem, task_id};
use image::{instantiate, load_this_core};
pub use report::print_core;
pub use supervise::{idle, on_wake, post_notify};
pub use syscall::{
    after_cap_call, check_caller_root, decode, from_user, Caller, Then, CALLS as SYSCALL_CALLS,
    SYSCALL_TABLE,
};

use crate::arch::aarch64::exception::Frame;
use crate::percore::{self, Local};
use crate::uspace::UserSpace;
use crate::{kprintln, mm};
use core::sync::atomic::{AtomicU64, Ordering};

/// Most tasks one core holds (the archive holds no more).
const MAX_TASKS: usize = kerncore::bootimage::MAX_TASKS_PER_CORE;
/// A task's stack: 64 KiB below this address, and below that a 64 KiB guard
/// that nothing may map, so running off the stack is a fault the kernel can
/// name.
const USER_STACK_TOP: u64 = 0x8000_0000;
const USER_STACK_SIZE: u64 = 64 * 1024;
const USER_STACK_GUARD: u64 = 64 * 1024;
const GUARD_START: u64 = USER_STACK_TOP - USER_STACK_SIZE - USER_STACK_GUARD;
/// SPSR for entering a task: EL0t, interrupts unmasked.
const SPSR_EL0: u64 = 0;
/// Length of a time slice among tasks of equal priority.
const TIMESLICE_US: u64 = 2_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Ready,
    Exited(u64),
    Faulted,
    /// Stopped by `TaskStop` (its memory is freed once it is not the
    /// running task any more).
    Stopped,
    /// Blocked in `Wait` on notification object `id` of generation `gen`.
    WaitingNotify {
        id: u32,
        gen: u32,
    },
}

struct Task {
    name: &'static str,
    /// Its slot on its core.
    slot: usize,
    priority: u16,
    /// Which archive entry it runs (to restart it).
    archive_index: usize,
    restarts: u32,
    /// `None` once the task has ended and its memory is freed.
    space: Option<UserSpace>,
    /// Its root share (in this core's capability space), while it lives.
    root_share: Option<kerncore::cap::ShareId>,
    state: State,
    /// ESR and FAR of the fault that stopped it.
    fault: (u64, u64),
    ctx: Frame,
    /// Its TPIDR_EL0 while another task runs. Not in `ctx`: the register
    /// is saved and restored when the core switches tasks
    /// ([`switch_user_state`]), not on every exception.
    tpidr_el0: u64,
}

struct Sched {
    tasks: [Option<Task>; MAX_TASKS],
    current: Option<usize>,
    /// The time slice ran out, or a task became ready: reconsider at the
    /// next return to EL0.
    need_resched: bool,
    /// Slots asked to stop before this core loaded their tasks (a stop
    /// request from another core may arrive while it still loads them):
    /// stopped as soon as they are loaded, never lost.
    stop_on_load: u32,
}

static SCHED: Local<Sched> = Local::new();

impl Task {
    /// Changes its state, and publishes it for the time-limit report.
    fn set_state(&mut self, state: State) {
        self.state = state;
        report::publish(self);
    }
}

impl percore::Init for Sched {
    fn init() -> Sched {
        Sched {
            tasks: [const { None }; MAX_TASKS],
            current: None,
            need_resched: false,
            stop_on_load: 0,
        }
    }
}

impl percore::Init for Frame {
    fn init() -> Frame {
        Frame::zeroed()
    }
}

/// The ready task to run: the highest priority; among equals, the first
/// slot after `after` (round robin), or the lowest slot.
fn pick_next(s: &Sched, after: Option<usize>) -> Option<usize> {
    let ready = |i: usize| s.tasks[i].as_ref().filter(|t| t.state == State::Ready);
    let top = (0..MAX_TASKS)
        .filter_map(|i| ready(i).map(|t| t.priority))
        .max()?;
    let start = after.map_or(0, |a| a + 1);
    (0..MAX_TASKS)
        .map(|k| (start + k) % MAX_TASKS)
        .find(|&i| ready(i).is_some_and(|t| t.priority == top))
}

/// Makes `frame` return into the next ready task, or into the idle loop.
fn switch_to_next(s: &mut Sched, frame: &mut Frame) {
    let next = pick_next(s, None);
    switch_user_state(s, s.current, next);
    s.current = next;
    s.need_resched = false;
    match next.and_then(|i| s.tasks[i].as_ref()) {
        Some(t) => {
            if let Some(space) = &t.space {
                space.activate();
            }
            copy_frame(frame, &t.ctx);
        }
        None => {
            *frame = Frame::zeroed();
            frame.elr = idle_entry as *const () as u64;
            frame.spsr = supervise::SPSR_EL1_IDLE;
        }
    }
}

/// The EL0 state outside the exception frame, when the core leaves task
/// `from` (the one whose state the registers hold, if any) for `to` (or
/// the idle loop): TPIDR_EL0 is saved into `from` and `to`'s loaded (0 for
/// the idle loop, so no value outlives its task in the register). The
/// frame (x0-x30, SP_EL0, PC, PSTATE with NZCV) is per task already;
/// TPIDRRO_EL0 is 0 from boot on and never written; SIMD/FP is trapped
/// (boot.s), so a task has no FP state. A new or restarted task starts
/// with 0. Done here and not in the exception path, which stays as short
/// as the null call needs.
fn switch_user_state(s: &mut Sched, from: Option<usize>, to: Option<usize>) {
    use crate::arch::aarch64::{set_tpidr_el0, tpidr_el0};
    if let Some(t) = from.and_then(|i| s.tasks[i].as_mut()) {
        t.tpidr_el0 = tpidr_el0();
    }
    let to = to.and_then(|i| s.tasks[i].as_ref());
    set_tpidr_el0(to.map_or(0, |t| t.tpidr_el0));
    let core = percore::this();
    core.running
        .store(to.map_or(0, |t| t.archive_index + 1), Ordering::Relaxed);
    // A task's root share changes only while it is not current (made
    // before it first runs, taken when it is retired), so the copy stays
    // true until the next switch.
    let root = to.and_then(|t| t.root_share).map_or(0, |r| r.0 + 1);
    core.root_share.store(root, Ordering::Relaxed);
}

/// Frees the memory of task `i`, which has ended (its state says how) and
/// is no longer current: every frame and table, and its ASID's TLB entries
/// on this core (a private address space was only ever live here).
fn retire(s: &mut Sched, i: usize) {
    if s.current == Some(i) {
        return;
    }
    if let Some(t) = s.tasks[i].as_ref().filter(|t| t.space.is_some()) {
        crate::cap::task_ending(archive(), t.archive_index);
    }
    release_caps(s, i);
    let Some(t) = s.tasks[i].as_mut() else { return };
    if let Some(space) = t.space.take() {
        let asid = space.asid();
        if s.current.is_none() {
            crate::uspace::clear_ttbr0();
        }
        space.destroy();
        crate::uspace::flush_asid(asid);
        // Whoever watches it (a server, for a client's connection) learns
        // it ended, after everything it held is gone.
        let (state, value, far) = match t.state {
            State::Exited(code) => (abi::TaskState::Exited, code, 0),
            State::Stopped => (abi::TaskState::Stopped, 0, 0),
            _ => (abi::TaskState::Faulted, t.fault.0, t.fault.1),
        };
        crate::cap::task_ended(archive(), t.archive_index, state, value, far);
    }
}

/// Removes every capability of task `i`'s root share (undoing what they
/// mapped, in other cores' spaces too), while its address space still
/// exists.
fn release_caps(s: &mut Sched, i: usize) {
    let Some(root) = s.tasks[i].as_mut().and_then(|t| t.root_share.take()) else {
        return;
    };
    let saved = s.current;
    s.current = Some(i);
    crate::cap::retire_root(root, s);
    s.current = saved;
}

impl crate::cap::Spaces for Sched {
    #[inline(always)]
    fn root_share(&self) -> Option<kerncore::cap::ShareId> {
        self.tasks[self.current?].as_ref()?.root_share
    }

    fn root(&mut self, slot: usize) -> Option<&mut UserSpace> {
        self.tasks.get_mut(slot)?.as_mut()?.space.as_mut()
    }
}

fn copy_frame(dst: &mut Frame, src: &Frame) {
    dst.x = src.x;
    dst.elr = src.elr;
    dst.spsr = src.spsr;
    dst.sp_el0 = src.sp_el0;
}

/// Runs the slice timer while two or more tasks are ready, stops it
/// otherwise. Called when a slice ends and when tasks become ready.
fn arm_slice_timer(s: &Sched) {
    let ready = s
        .tasks
        .iter()
        .flatten()
        .filter(|t| t.state == State::Ready)
        .count();
    if ready >= 2 {
        drivers::timer::arm_in_us(TIMESLICE_US);
    } else {
        drivers::timer::stop();
    }
}

/// This core's timer fired (after boot): the running task's slice is over.
pub fn tick() {
    SCHED.with(|s| {
        s.need_resched = true;
        arm_slice_timer(s);
    });
}

/// On the way back to EL0 after an interrupt: if the slice is over (or a
/// task became ready), the highest-priority ready task runs; among equals
/// the interrupted one goes to the back.
#[inline(never)]
pub fn preempt_if_needed(frame: &mut Frame) {
    SCHED.with(|s| {
        if !s.need_resched {
            return;
        }
        s.need_resched = false;
        let Some(cur) = s.current else { return };
        if s.tasks[cur]
            .as_ref()
            .is_some_and(|t| t.state == State::Stopped)
        {
            // Stopped while it ran (`TaskStop` from another core).
            switch_to_next(s, frame);
            retire(s, cur);
            return;
        }
        let next = match pick_next(s, Some(cur)) {
            Some(n) if n != cur => n,
            _ => return,
        };
        if let Some(t) = s.tasks[cur].as_mut() {
            copy_frame(&mut t.ctx, frame);
        }
        switch_user_state(s, Some(cur), Some(next));
        s.current = Some(next);
        if let Some(t) = s.tasks[next].as_ref() {
            if let Some(space) = &t.space {
                space.activate();
            }
            copy_frame(frame, &t.ctx);
        }
    });
}

/// After a system call that served this core's mailbox: if that stopped
/// the caller itself, the next task runs instead and the caller's memory
/// is freed.
fn end_if_stopped(frame: &mut Frame) {
    SCHED.with(|s| {
        let Some(cur) = s.current else { return };
        if s.tasks[cur]
            .as_ref()
            .is_some_and(|t| t.state == State::Stopped)
        {
            switch_to_next(s, frame);
            retire(s, cur);
        }
    });
}

/// Starts this core's tasks; never returns (the core ends in its idle loop).
pub fn run_this_core(id: usize) -> ! {
    load_this_core(id);
    supervise::core_started();
    supervise::wait_all_started();
    tick();
    enter_next()
}

/// Enters the next ready task (or the idle loop) with a fresh kernel stack.
fn enter_next() -> ! {
    let mut frame = Frame::zeroed();
    SCHED.with(|s| switch_to_next(s, &mut frame));
    enter(&frame)
}

/// The frame a core enters a task (or its idle loop) through. Kept out of
/// the stack, because entering resets the stack.
static ENTRY_FRAME: Local<Frame> = Local::new();

extern "C" {
    /// Copies `*frame` to the top of the stack ending at `stack_top`, makes
    /// that the stack and restores it with `eret` (vectors.s).
    fn enter_frame(frame: *const Frame, stack_top: u64) -> !;
}

core::arch::global_asm!(
    ".section .text.enter_frame, \"ax\"",
    ".global enter_frame",
    "enter_frame:",
    "    sub x2, x1, #272",
    "    mov x3, x2",
    "    mov x6, #(272 / 16)",
    "1:  ldp x4, x5, [x0], #16",
    "    stp x4, x5, [x3], #16",
    "    subs x6, x6, #1",
    "    b.ne 1b",
    "    mov sp, x2",
    "    b exception_return",
);

/// Leaves the kernel through `frame`, resetting this core's kernel stack:
/// the frame goes at the top of the stack, where the next exception from
/// EL0 will save the task's registers again.
fn enter(frame: &Frame) -> ! {
    let top = mm::stack_top(percore::id());
    let src = ENTRY_FRAME.with(|f| {
        copy_frame(f, frame);
        f as *const Frame
    });
    // Safety: `src` is this core's ENTRY_FRAME (static, not on the stack
    // being reset); `top` is this core's kernel stack top. Everything on the
    // current stack is abandoned: enter_frame never returns.
    unsafe { enter_frame(src, top) }
}

/// This core's idle loop, entered by `eret` when it has no ready task.
extern "C" fn idle_entry() -> ! {
    idle(percore::id())
}

/// Free frames before any task was loaded (for the leak check at the end).
static FREE_AT_START: AtomicU64 = AtomicU64::new(0);

/// Records the free-frame count before tasks start.
pub fn note_free_frames(ncores: usize) {
    FREE_AT_START.store(mm::free_frames(ncores), Ordering::Relaxed);
}

/// Reports whether every frame tasks used came back, and each core's
/// event counts.
fn report_leaks(ncores: usize) {
    #[cfg(feature = "block-in-kernel")]
    crate::blkdev::release();
    let before = FREE_AT_START.load(Ordering::Relaxed);
    let after = mm::free_frames(ncores);
    kprintln!(
        "memory: {} frames free before tasks, {} after",
        before,
        after
    );
    match crate::cap::object::live() {
        0 => kprintln!("objects: none left"),
        n => {
            kprintln!("objects: {} still alive", n);
            verdict::problem();
        }
    }
    if after == before {
        kprintln!("memory: no frames leaked");
    } else {
        kprintln!("memory: {} frames leaked", before as i64 - after as i64);
        verdict::problem();
    }
    for id in 0..ncores {
        let e = &percore::get(id).events;
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        kprintln!(
            "core {} events: {} shared-lock acquisitions, {} broadcast TLB invalidations, {} IPIs, {} global-pool takes",
            id,
            r(&e.shared_locks),
            r(&e.broadcast_tlbi),
            r(&e.ipis),
            r(&e.global_pool_takes)
        );
    }
}
