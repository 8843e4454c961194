//! The run sequencer: what every core does once it is online. Each core
//! checks its timer; core 0 prints the boot report; then every core runs
//! its tasks, and the run ends when they are done (`task::run_this_core`).
//!
//! The kernel's test build (feature `hooks`) carries fault-injection hooks
//! that make the kernel's own failure paths testable: a deliberate panic on
//! a secondary core, an unexpected exception, a hang, a kernel stack
//! overflow. Which one runs, if any, the image chooses at run time (the
//! archive's kernel options, [`KernelOptions`]); the standard build has no
//! hooks and fails a run whose image asks for one.
use crate::arch::aarch64::{irq_restore, irq_save, sev, wfe, wfi};
use crate::{kprintln, percore};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kerncore::bootimage::{Hook, KernelOptions};

/// Ticks each core must see before it reports its timer working.
const TICKS_FOR_OK: u64 = 3;
/// Timer period.
const TICK_US: u64 = 1_000;

/// Cores whose timer has been seen working (shared by design).
static TIMERS_OK: AtomicUsize = AtomicUsize::new(0);
/// Core 0 has printed the boot report: tasks may start. (A console server
/// writes the UART itself; starting tasks only now keeps the kernel's boot
/// lines and the server's lines apart.)
static BOOT_REPORTED: AtomicBool = AtomicBool::new(false);

/// Arms this core's timer.
pub fn start_timer() {
    drivers::timer::arm_in_us(TICK_US);
}

/// Timer interrupt on this core.
pub fn on_timer_tick() {
    let me = percore::this();
    let ticks = me.ticks.fetch_add(1, Ordering::Relaxed) + 1;
    if ticks < TICKS_FOR_OK {
        drivers::timer::arm_in_us(TICK_US);
    } else if ticks == TICKS_FOR_OK {
        drivers::timer::stop();
    } else {
        // After the boot check the timer is the scheduler's.
        crate::task::tick();
    }
}

/// Sleeps until this core has seen its ticks, then says so.
fn wait_for_timer(id: usize) {
    let me = percore::this();
    // Check and sleep with IRQs masked: the tick that ends the check stops
    // the timer, so had it been taken between the check and `wfi`, nothing
    // would ever wake the core again. Masked, it stays pending and ends the
    // `wfi`, and is taken when the mask is lifted.
    loop {
        let daif = irq_save();
        let done = me.ticks.load(Ordering::Relaxed) >= TICKS_FOR_OK;
        if !done {
            wfi();
        }
        irq_restore(daif);
        if done {
            break;
        }
    }
    me.timer_ok.store(true, Ordering::Relaxed);
    kprintln!(
        "core {} timer ok ({} ticks)",
        id,
        me.ticks.load(Ordering::Relaxed)
    );
    TIMERS_OK.fetch_add(1, Ordering::AcqRel);
    sev();
}

/// The hook the image asks for (the test build only; `Hook::None` in the
/// standard build, which [`check_build`] has already refused).
fn hook() -> Hook {
    if cfg!(feature = "hooks") {
        crate::task::options().hook
    } else {
        Hook::None
    }
}

/// Whether `id` is the machine's last core (the one the panic and stack
/// overflow hooks pick).
fn is_last_core(id: usize) -> bool {
    id + 1 == crate::boot::platform().map_or(1, |p| p.cpus.len())
}

/// Core 0, before anything runs: an image that asks for what this build
/// does not carry fails the run, saying why.
fn check_build(options: KernelOptions) {
    let hooks = cfg!(feature = "hooks");
    let block = cfg!(feature = "block-in-kernel");
    if (options.hook != Hook::None && !hooks) || (options.block_in_kernel && !block) {
        kprintln!(
            "the image asks for the kernel's test build (hook {}, block baseline {}); \
             this is the standard build: run it with the test build",
            options.hook.name(),
            options.block_in_kernel
        );
        crate::task::run_problem();
    }
    if options.cycle_counter && !crate::arch::aarch64::pmu::present() {
        kprintln!(
            "the image asks for the cycle counter (cycle_counter = true) and this CPU has no PMU"
        );
        crate::task::run_problem();
    }
}

/// This core's cycle counter, counting from here on; EL0 may read it when
/// the image asks.
fn start_cycle_counter() {
    crate::arch::aarch64::pmu::init_this_core(crate::task::options().cycle_counter);
}

pub fn run_secondary(id: usize) -> ! {
    wait_for_timer(id);
    let hook = hook();
    if hook == Hook::Panic && is_last_core(id) {
        panic!("deliberate panic on core {}", id);
    }
    while !BOOT_REPORTED.load(Ordering::Acquire) {
        wfe();
    }
    if hook == Hook::StackOverflow && is_last_core(id) {
        overflow_stack(id);
    }
    start_cycle_counter();
    crate::task::run_this_core(id)
}

pub fn run_primary(n: usize) -> ! {
    check_build(crate::task::options());
    wait_for_timer(0);
    while TIMERS_OK.load(Ordering::Acquire) < n {
        wfe();
    }
    kprintln!("every core's timer works");
    BOOT_REPORTED.store(true, Ordering::Release);
    sev();
    match hook() {
        Hook::None => {}
        Hook::Panic if n == 1 => panic!("deliberate panic on core 0 (the only core)"),
        Hook::StackOverflow if n == 1 => overflow_stack(0),
        // Another core panics or overflows its stack; this one waits.
        Hook::Panic | Hook::StackOverflow => loop {
            wfi();
        },
        Hook::Fault => fault(),
        Hook::Hang => {
            kprintln!("hanging on purpose");
            loop {
                wfi();
            }
        }
    }
    crate::task::report_absent_cores(n);
    start_cycle_counter();
    crate::task::run_this_core(0)
}

/// Reads an unmapped kernel address: the exception is unexpected, and the
/// kernel's handler for it ends the run.
fn fault() {
    #[cfg(feature = "hooks")]
    {
        kprintln!("touching an unmapped kernel address");
        // Safety: deliberately unsound: this address is not mapped, and the
        // point is the translation fault it raises (the handler ends the
        // run; the read never returns).
        let v = unsafe { (0xffff_ffff_c000_0000 as *const u64).read_volatile() };
        kprintln!("unreachable: read {:#x}", v);
    }
}

/// Recurses until this core's kernel stack runs into its guard (the last
/// core does this once the boot report is out; core 0 when it is the only
/// core).
fn overflow_stack(id: usize) -> ! {
    kprintln!("core {} recursing without bound", id);
    let depth = recurse(0);
    panic!("recursion ended at depth {}: no stack overflow", depth)
}

/// One frame of unbounded recursion. The frame's buffer escapes through
/// `black_box` and is read after the call, so every call keeps a real
/// frame and the recursion cannot become a loop.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 256];
    frame[0] = depth as u8;
    let frame = core::hint::black_box(&mut frame);
    if core::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + u64::from(frame[0])
}
