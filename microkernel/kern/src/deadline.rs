//! The run's time limit: `timeout=S` on the kernel command line (the DTB's
//! `/chosen/bootargs`, which `cargo xtask qemu --timeout S` sets through
//! QEMU's `-append`). Every core arms its EL1 physical timer (the scheduler
//! has the virtual one) to the same counter value, S seconds after boot;
//! the first core to take that interrupt prints every task of every core
//! and its state (`task::print_core`) and ends the run with [`TIME_LIMIT_STATUS`]. A task spinning forever at
//! EL0 cannot mask it, and with every core armed, one core stuck in the
//! kernel with interrupts masked does not stop the report (all of them
//! stuck does; the host's own timer is the backstop then).
//!
//! The report takes the console the panic path's way (`console::take_over`:
//! the kernel's lock, then the word shared with a console server, each
//! with a bounded wait). So that the server's line in progress can end
//! first, the other cores go back to what they ran (they do not park), and
//! a core that interrupted a task holding the word puts its part off by
//! [`DEFER_US`] at a time, at most [`MAX_DEFERRALS`] times.

use crate::percore;
use aarch64_cpu::registers::{CNTP_CTL_EL0, CNTP_CVAL_EL0};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use tock_registers::interfaces::Writeable;

/// Exit status of a run ended by its time limit.
pub const TIME_LIMIT_STATUS: u32 = 104;

/// The counter value at which the run ends (0: no limit).
static DEADLINE: AtomicU64 = AtomicU64::new(0);
/// The limit in seconds, for the report.
static LIMIT_S: AtomicU64 = AtomicU64::new(0);
/// How long a core that interrupted a task's console line waits before it
/// takes the time-limit interrupt again.
const DEFER_US: u64 = 1_000;
/// How often one core puts it off at most (then it reports anyway).
const MAX_DEFERRALS: u32 = 100;
/// Deferrals so far, per core (each written by its own core only).
static DEFERRED: [AtomicU32; platform::MAX_CPUS] =
    [const { AtomicU32::new(0) }; platform::MAX_CPUS];

/// Boot core, before the other cores start: the deadline, if the command
/// line sets one.
pub fn init(p: &platform::Platform) {
    let Some(s) = p.time_limit_s.filter(|&s| s > 0) else {
        return;
    };
    let at = drivers::timer::now().saturating_add(u64::from(s) * drivers::timer::frequency());
    LIMIT_S.store(u64::from(s), Ordering::Relaxed);
    DEADLINE.store(at, Ordering::Release);
    crate::kprintln!("time limit: {} s (timeout={} on the command line)", s, s);
}

/// Every core, once its GIC interface is up: arms this core's physical
/// timer to the deadline. Whether it did (the caller enables the PPI).
pub fn arm_this_core() -> bool {
    let at = DEADLINE.load(Ordering::Acquire);
    if at == 0 {
        return false;
    }
    CNTP_CVAL_EL0.set(at);
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
    true
}

/// Puts this core's part off by [`DEFER_US`] if the task it interrupted
/// holds the console's shared word (it is writing a line) and the core
/// has not put it off [`MAX_DEFERRALS`] times yet: whether it did.
fn defer_for_task_line() -> bool {
    if !crate::console::task_line_on_this_core() {
        return false;
    }
    let n = &DEFERRED[percore::id()];
    let k = n.load(Ordering::Relaxed);
    if k >= MAX_DEFERRALS {
        return false;
    }
    n.store(k + 1, Ordering::Relaxed);
    let at = drivers::timer::now()
        .saturating_add(DEFER_US.saturating_mul(drivers::timer::frequency()) / 1_000_000);
    CNTP_CVAL_EL0.set(at);
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::SET + CNTP_CTL_EL0::IMASK::CLEAR);
    true
}

/// The physical timer fired on this core: the time is up.
pub fn expired() {
    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::CLEAR);
    if defer_for_task_line() {
        return;
    }
    if !crate::panic::claim() {
        // Another core reports (or panicked): this one goes back to what
        // it ran, so a console line in progress here can end before the
        // report takes the console; the report's core powers off.
        return;
    }
    let print = |args: core::fmt::Arguments<'_>| {
        crate::console::print_unlocked(args);
    };
    print(format_args!(
        "\nTIME LIMIT: the run's {} s are over (core {} noticed); every task on each core:\n",
        LIMIT_S.load(Ordering::Relaxed),
        percore::id()
    ));
    for core in 0..crate::smp::ONLINE.load(Ordering::Acquire) {
        crate::task::print_core(core, &print);
    }
    crate::panic::power_off(TIME_LIMIT_STATUS)
}
