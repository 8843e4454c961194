//! What the built-in images do once every core is online. The default
//! image checks each core's timer and powers off with status 0; the
//! `demo-*` features make the failure paths testable: a deliberate panic on
//! a secondary core, an unexpected exception, a hang, a kernel stack
//! overflow.

use crate::arch::aarch64::{irq_restore, irq_save, sev, wfe, wfi};
use crate::{kprintln, percore};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

pub fn run_secondary(id: usize) -> ! {
    wait_for_timer(id);
    #[cfg(feature = "demo-panic")]
    if id + 1 == crate::boot::platform().map_or(1, |p| p.cpus.len()) {
        panic!("deliberate panic on core {}", id);
    }
    while !BOOT_REPORTED.load(Ordering::Acquire) {
        wfe();
    }
    #[cfg(feature = "demo-stack-overflow")]
    if id + 1 == crate::boot::platform().map_or(1, |p| p.cpus.len()) {
        overflow_stack(id);
    }
    crate::task::run_this_core(id)
}

pub fn run_primary(n: usize) -> ! {
    wait_for_timer(0);
    while TIMERS_OK.load(Ordering::Acquire) < n {
        wfe();
    }
    kprintln!("every core's timer works");
    BOOT_REPORTED.store(true, Ordering::Release);
    sev();
    #[cfg(feature = "demo-panic")]
    if n == 1 {
        panic!("deliberate panic on core 0 (the only core)");
    }
    #[cfg(feature = "demo-panic")]
    loop {
        wfi();
    }
    #[cfg(feature = "demo-stack-overflow")]
    if n == 1 {
        overflow_stack(0);
    }
    #[cfg(feature = "demo-stack-overflow")]
    loop {
        wfi();
    }
    #[cfg(feature = "demo-fault")]
    {
        kprintln!("touching an unmapped kernel address");
        // Safety: deliberately unsound: this address is not mapped, and the
        // point is the translation fault it raises.
        let v = unsafe { (0xffff_ffff_c000_0000 as *const u64).read_volatile() };
        kprintln!("unreachable: read {:#x}", v);
    }
    #[cfg(feature = "demo-hang")]
    {
        kprintln!("hanging on purpose");
        loop {
            wfi();
        }
    }
    #[allow(unreachable_code)]
    {
        crate::task::report_absent_cores(n);
        crate::task::run_this_core(0)
    }
}

/// Recurses until this core's kernel stack runs into its guard (the last
/// core does this once the boot report is out; core 0 when it is the only
/// core).
#[cfg(feature = "demo-stack-overflow")]
fn overflow_stack(id: usize) -> ! {
    kprintln!("core {} recursing without bound", id);
    let depth = recurse(0);
    panic!("recursion ended at depth {}: no stack overflow", depth)
}

/// One frame of unbounded recursion. The frame's buffer escapes through
/// `black_box` and is read after the call, so every call keeps a real
/// frame and the recursion cannot become a loop.
#[cfg(feature = "demo-stack-overflow")]
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
