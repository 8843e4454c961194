//! Starting the other cores: PSCI `CPU_ON` or the spin table, whichever
//! each core's DTB node names. A starting core runs boot.s's
//! `_secondary_entry` with its MMU off and reads [`SECONDARY_BOOT`] to find
//! its logical number, its stack and the kernel's tables.

use crate::arch::aarch64::{clean_to_poc, sev};
use crate::mm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};
use platform::{EnableMethod, Platform, MAX_CPUS};

/// Read by `_secondary_entry` with the MMU off: the layout is fixed (see
/// the `SB_*` offsets in boot.s).
#[repr(C)]
pub struct SecondaryBoot {
    ncpus: u64,
    ttbr1: u64,
    mpidrs: [u64; MAX_CPUS],
    stacks: [u64; MAX_CPUS],
}

pub struct BootCell(UnsafeCell<SecondaryBoot>);
// Safety: written by the boot core before any secondary starts, read-only
// afterwards.
unsafe impl Sync for BootCell {}

#[no_mangle]
pub static SECONDARY_BOOT: BootCell = BootCell(UnsafeCell::new(SecondaryBoot {
    ncpus: 0,
    ttbr1: 0,
    mpidrs: [0; MAX_CPUS],
    stacks: [0; MAX_CPUS],
}));

/// Cores that have finished their own bring-up: shared by design, it is
/// how the boot core learns the others are up.
pub static ONLINE: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    fn _secondary_entry();
}

/// Starts every core but this one. Returns how many were asked to start.
pub fn start_secondaries(p: &Platform, ttbr1: u64) -> usize {
    let cell = SECONDARY_BOOT.0.get();
    // Safety: no secondary runs yet; the boot core is the only accessor.
    let sb = unsafe { &mut *cell };
    sb.ncpus = p.cpus.len() as u64;
    sb.ttbr1 = ttbr1;
    for (i, cpu) in p.cpus.iter().enumerate() {
        sb.mpidrs[i] = cpu.mpidr;
        sb.stacks[i] = mm::stack_top(i);
    }
    // The secondaries read this with their caches off.
    clean_to_poc(cell as usize, core::mem::size_of::<SecondaryBoot>());

    let entry = mm::kernel_va_to_pa(_secondary_entry as *const () as u64);
    let mut started = 0;
    for (i, cpu) in p.cpus.iter().enumerate().skip(1) {
        match cpu.enable_method {
            EnableMethod::Psci => {
                let Some(psci) = p.psci else {
                    panic!("core {} uses PSCI but the DTB has no /psci", i);
                };
                let conduit = match psci.conduit {
                    platform::Conduit::Hvc => drivers::psci::Conduit::Hvc,
                    platform::Conduit::Smc => drivers::psci::Conduit::Smc,
                };
                let r = drivers::psci::cpu_on(conduit, psci.cpu_on, cpu.mpidr, entry, 0);
                if r != drivers::psci::SUCCESS {
                    panic!(
                        "PSCI CPU_ON core {} (MPIDR {:#x}) failed: {}",
                        i, cpu.mpidr, r
                    );
                }
            }
            EnableMethod::SpinTable { release_addr } => {
                let va = mm::phys_to_virt(release_addr) as *mut u64;
                // Safety: the release address is RAM in the linear map,
                // kept out of the frame allocator (mm::init_frames).
                unsafe { va.write_volatile(entry) };
                clean_to_poc(va as usize, 8);
                sev();
            }
            EnableMethod::None => {
                defmt::warn!("core {=usize} has no enable-method: left off", i);
                continue;
            }
        }
        started += 1;
    }
    started
}

/// Waits until `n` cores are online or `timeout_us` of counter time passed.
pub fn wait_online(n: usize, timeout_us: u64) -> bool {
    let start = drivers::timer::now();
    while ONLINE.load(Ordering::Acquire) < n {
        if drivers::timer::ticks_to_us(drivers::timer::now() - start) > timeout_us {
            return false;
        }
        crate::sync::relax();
    }
    true
}
