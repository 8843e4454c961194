//! Bring-up, in order: the boot core reads the DTB, builds the kernel's
//! tables, starts console, log, GIC and timer, then every other core; each
//! core sets up only its own state and reports `core N online`.

use crate::arch::aarch64::{self as arch, mmu, stack};
use crate::board;
use crate::mm::{self, device_va};
use crate::{irq, kprintln, percore, smp};
use core::sync::atomic::{AtomicBool, Ordering};
use drivers::board::Board;
use kerncore::pagetable::Attrs;
use platform::Platform;

static PLATFORM: crate::sync::Once<Platform> = crate::sync::Once::new();
static TABLES_LIVE: AtomicBool = AtomicBool::new(false);
static CHAINLOADED: AtomicBool = AtomicBool::new(false);
/// What the boot core carries from its boot stack to its own stack.
static EARLY: crate::sync::Once<EarlyBoot> = crate::sync::Once::new();

/// The boot core's early results and time stamps (counter ticks).
#[derive(Clone, Copy)]
struct EarlyBoot {
    phys_base: u64,
    ttbr1: u64,
    t_rust: u64,
    t_parsed: u64,
    t_mapped: u64,
}

/// Boot flag (x1 at entry) a serial chainloader passes: the run was pushed
/// over a serial line by `cargo xtask hil`, so its end must reboot the
/// board (back into the chainloader for the next test) rather than halt it.
/// Firmware and QEMU pass 0, as the Linux boot protocol requires.
pub const CHAINLOADED_MAGIC: u64 = 0x4e49_4148_434c_4d4b; // "KMLCHAIN"

/// Whether a chainloader started this kernel.
pub fn chainloaded() -> bool {
    CHAINLOADED.load(Ordering::Relaxed)
}
/// How long the boot core waits for the others before it gives up.
const ONLINE_TIMEOUT_US: u64 = 10_000_000;

/// The platform, once the DTB has been read.
pub fn platform() -> Option<&'static Platform> {
    PLATFORM.get()
}

/// Whether the final kernel tables (and so the device map) are in use.
pub fn kernel_tables_live() -> bool {
    TABLES_LIVE.load(Ordering::Acquire)
}

/// Boot window slots.
const WINDOW_EARLY_CONSOLE: usize = 0;
const WINDOW_DTB: usize = 1;

/// Maps the DTB through the boot window (two 2 MiB slots) and returns it.
fn map_dtb(dtb_pa: u64) -> &'static [u8] {
    if dtb_pa == 0 || dtb_pa & 7 != 0 {
        panic!("no usable DTB pointer in x0 ({:#x})", dtb_pa);
    }
    let va = mmu::map_window(WINDOW_DTB, dtb_pa, Attrs::KERNEL_RO);
    mmu::map_window(WINDOW_DTB + 1, dtb_pa + 0x20_0000, Attrs::KERNEL_RO);
    let room = 0x40_0000 - (dtb_pa & 0x1f_ffff);
    // Safety: the header's first 8 bytes are inside the window just mapped.
    let size = unsafe { platform::dtb_size(va as *const u8) }
        .unwrap_or_else(|| panic!("no DTB at {:#x} (bad magic)", dtb_pa));
    if size as u64 > room {
        panic!(
            "DTB at {:#x} is {} bytes: too large for the boot window",
            dtb_pa, size
        );
    }
    // Safety: `size` bytes from `va` are mapped read-only and nothing
    // writes the DTB.
    unsafe { core::slice::from_raw_parts(va as *const u8, size) }
}

/// Rust entry of the boot core, called by boot.s at EL1 with the MMU on,
/// on the boot stack (`.bss`, no guard) until the kernel tables are live.
#[no_mangle]
extern "C" fn kmain_primary(dtb_pa: u64, phys_base: u64, boot_flags: u64, payload: u64) -> ! {
    let t_rust = drivers::timer::now();
    CHAINLOADED.store(boot_flags == CHAINLOADED_MAGIC, Ordering::Relaxed);
    percore::install(0, arch::mpidr());
    mm::set_kernel_phys(phys_base);
    mm::set_payload_len(payload);
    let early = mmu::map_window(
        WINDOW_EARLY_CONSOLE,
        board::Current::EARLY_CONSOLE,
        Attrs::DEVICE,
    );
    crate::console::init_early(early as usize, board::Current::EARLY_CONSOLE_KIND);

    let dtb = map_dtb(dtb_pa);
    let p = match platform::parse(dtb) {
        Ok(p) => PLATFORM.call_once(|| p),
        Err(e) => panic!("DTB at {:#x}: {:?}", dtb_pa, e),
    };
    if p.cpus.first().map(|c| c.mpidr) != Some(arch::mpidr()) {
        panic!(
            "boot core MPIDR {:#x} is not the DTB's first cpu",
            arch::mpidr()
        );
    }
    let t_parsed = drivers::timer::now();
    mm::init_frames(p, dtb_pa, dtb.len() as u64);
    let ttbr1 = mmu::build_kernel_tables(p);
    mmu::switch_kernel_tables(ttbr1);
    let t_mapped = drivers::timer::now();
    EARLY.call_once(|| EarlyBoot {
        phys_base,
        ttbr1,
        t_rust,
        t_parsed,
        t_mapped,
    });
    // Safety: core 0's stack in the stack region is mapped by the tables
    // just switched to, belongs to this core and holds nothing yet.
    unsafe { stack::run_on_stack(mm::stack_top(0), kmain_primary_on_own_stack) }
}

/// The boot core's bring-up, continued on its own kernel stack (with the
/// guard below it) once the kernel tables are live.
extern "C" fn kmain_primary_on_own_stack() -> ! {
    let Some(&EarlyBoot {
        phys_base,
        ttbr1,
        t_rust,
        t_parsed,
        t_mapped,
    }) = EARLY.get()
    else {
        panic!("boot core on its own stack before the kernel tables");
    };
    let Some(p) = platform() else {
        panic!("boot core on its own stack before the DTB was read");
    };
    TABLES_LIVE.store(true, Ordering::Release);
    // The boot window is gone: point the panic path at the device map.
    let kind = match p.console.kind {
        platform::UartKind::Pl011 => drivers::uart::Kind::Pl011,
        platform::UartKind::Imx => drivers::uart::Kind::Imx,
        platform::UartKind::MiniUart { .. } => panic!("the DTB's console is a mini UART"),
    };
    crate::console::init_early(device_va(p.console.base), kind);

    board::Current::route_console(p.bcm_gpio.map(|r| device_va(r.base)));
    let clock = p.console.clock_hz.unwrap_or(board::Current::UART_CLOCK_HZ);
    crate::console::init(device_va(p.console.base), kind, clock);
    if let Some(log) = &p.log {
        let aux = match log.kind {
            platform::UartKind::MiniUart { aux_enables } => device_va(aux_enables),
            platform::UartKind::Pl011 | platform::UartKind::Imx => 0,
        };
        crate::log::init(
            log,
            device_va(log.base),
            aux,
            board::Current::UART_CLOCK_HZ,
            board::Current::AUX_CLOCK_HZ,
        );
    }
    if chainloaded() {
        crate::log::route_to_console();
    }
    defmt::info!("defmt log online");
    let us = drivers::timer::ticks_to_us;
    defmt::info!(
        "boot phases (us after reset): Rust entry {=u64}, DTB parsed {=u64}, kernel map live {=u64}",
        us(t_rust),
        us(t_parsed),
        us(t_mapped)
    );
    defmt::info!(
        "board {=str}, {=usize} cores, {=u64} MiB RAM, kernel at {=u64:#x}",
        board::Current::NAME,
        p.cpus.len(),
        p.memory.iter().map(|m| m.size).sum::<u64>() >> 20,
        phys_base
    );

    irq::init_global(p);
    crate::deadline::init(p);
    bring_up_this_core(0);

    mm::init_pools();
    crate::task::note_free_frames(p.cpus.len());
    crate::task::init(p.cpus.len());
    let n = p.cpus.len();
    smp::start_secondaries(p, ttbr1);
    if !smp::wait_online(n, ONLINE_TIMEOUT_US) {
        panic!(
            "only {} of {} cores came online",
            smp::ONLINE.load(Ordering::Acquire),
            n
        );
    }
    let now = drivers::timer::now();
    kprintln!("all {} cores online", n);
    kprintln!(
        "boot: all cores online {} us after reset (counter {} at {} Hz)",
        drivers::timer::ticks_to_us(now),
        now,
        drivers::timer::frequency()
    );
    crate::sequencer::run_primary(n)
}

/// Rust entry of every other core (boot.s), MMU on, on its own stack.
#[no_mangle]
extern "C" fn kmain_secondary(id: usize) -> ! {
    percore::install(id, arch::mpidr());
    bring_up_this_core(id);
    crate::sequencer::run_secondary(id)
}

/// What every core does for itself: GIC CPU interface, timer, interrupts on.
fn bring_up_this_core(id: usize) {
    use aarch64_cpu::registers::CNTKCTL_EL1;
    use tock_registers::interfaces::ReadWriteable;
    crate::uspace::clear_ttbr0();
    // Tasks may read the virtual counter (time stamps, benchmarks), and the
    // counter's event stream (bit 9 of the virtual count: every 1024 ticks,
    // ~16 us at 62.5 MHz) ends any `wfe` a task sleeps in, so a ring
    // server or client that missed a wake-up only oversleeps that long.
    CNTKCTL_EL1.modify(
        CNTKCTL_EL1::EL0VCTEN::SET
            + CNTKCTL_EL1::EVNTEN::SET
            + CNTKCTL_EL1::EVNTDIR::CLEAR
            + CNTKCTL_EL1::EVNTI.val(9),
    );
    irq::init_this_core();
    crate::sequencer::start_timer();
    kprintln!("core {} online", id);
    defmt::info!("online, MPIDR {=u64:#x}", arch::mpidr());
    smp::ONLINE.fetch_add(1, Ordering::AcqRel);
    arch::irq_enable();
}
