//! Interrupts: the GIC the DTB names (v2/GIC-400 or v3), behind one small
//! interface. The distributor is set up once by the boot core; each core
//! then sets up its own CPU interface (and, on GICv3, its redistributor).

use crate::mm::device_va;
use crate::percore;
use core::sync::atomic::Ordering;
use drivers::gicv2::GicV2;
use drivers::gicv3::GicV3;

/// Priority of the timer interrupt (lower is more urgent).
const TIMER_PRIORITY: u8 = 0x80;
/// The SGI that wakes a core to look at its mailbox (task::supervise).
pub const WAKE_SGI: u32 = 1;
const WAKE_PRIORITY: u8 = 0x80;

enum Gic {
    V2(GicV2),
    V3 {
        dist: usize,
        redist: usize,
        redist_size: usize,
    },
}

static GIC: crate::sync::Once<Gic> = crate::sync::Once::new();
/// INTID of the EL1 virtual timer (from the DTB).
static TIMER_INTID: crate::sync::Once<u32> = crate::sync::Once::new();
/// The EL1 physical timer's INTID: the run's time limit (deadline.rs).
static DEADLINE_INTID: crate::sync::Once<u32> = crate::sync::Once::new();

fn gic() -> &'static Gic {
    GIC.get().expect("GIC used before irq::init_global")
}

/// Boot core, once: the distributor.
pub fn init_global(p: &platform::Platform) {
    TIMER_INTID.call_once(|| p.timer.virt_intid);
    DEADLINE_INTID.call_once(|| p.timer.phys_intid);
    let g = GIC.call_once(|| match p.gic {
        // Safety: both regions are in the device map (mmu::devices).
        platform::Gic::V2 { dist, cpu } => {
            Gic::V2(unsafe { GicV2::new(device_va(dist.base), device_va(cpu.base)) })
        }
        platform::Gic::V3 { dist, redist } => Gic::V3 {
            dist: device_va(dist.base),
            redist: device_va(redist.base),
            redist_size: redist.size as usize,
        },
    });
    match g {
        Gic::V2(v2) => v2.init_distributor(),
        Gic::V3 {
            dist,
            redist,
            redist_size,
        } => {
            // Safety: device-mapped GIC regions from the DTB.
            let v3 = unsafe {
                GicV3::new(
                    *dist,
                    *redist,
                    *redist_size,
                    percore::this().mpidr.load(Ordering::Relaxed),
                )
            };
            match v3 {
                Ok(v3) => v3.init_distributor(),
                Err(e) => panic!("GICv3: {:?} for core 0", e),
            }
        }
    }
}

/// Each core: its CPU interface, then its timer interrupt enabled.
pub fn init_this_core() {
    let me = percore::this();
    let timer = *TIMER_INTID.get().expect("timer INTID unknown");
    match gic() {
        Gic::V2(v2) => {
            v2.init_cpu();
            v2.enable(timer, TIMER_PRIORITY);
            v2.enable(WAKE_SGI, WAKE_PRIORITY);
            #[cfg(feature = "block-in-kernel")]
            v2.enable(LOCK_WAKE_SGI, LOCK_WAKE_PRIORITY);
            if crate::deadline::arm_this_core() {
                v2.enable(deadline_intid(), TIMER_PRIORITY);
            }
            me.gic_target
                .store(v2.own_target() as u64, Ordering::Relaxed);
        }
        Gic::V3 {
            dist,
            redist,
            redist_size,
        } => {
            let mpidr = me.mpidr.load(Ordering::Relaxed);
            // Safety: device-mapped GIC regions from the DTB.
            let v3 = unsafe { GicV3::new(*dist, *redist, *redist_size, mpidr) }
                .unwrap_or_else(|e| panic!("GICv3: {:?} for MPIDR {:#x}", e, mpidr));
            me.redistributor
                .store(v3.redistributor(), Ordering::Relaxed);
            v3.init_cpu();
            v3.enable(timer, TIMER_PRIORITY, mpidr);
            v3.enable(WAKE_SGI, WAKE_PRIORITY, mpidr);
            #[cfg(feature = "block-in-kernel")]
            v3.enable(LOCK_WAKE_SGI, LOCK_WAKE_PRIORITY, mpidr);
            if crate::deadline::arm_this_core() {
                v3.enable(deadline_intid(), TIMER_PRIORITY, mpidr);
            }
        }
    }
}

/// The IRQ exception: take every pending interrupt, dispatch, end it.
pub fn handle() {
    let timer = TIMER_INTID.get().copied();
    match gic() {
        Gic::V2(v2) => {
            while let Some(iar) = v2.ack() {
                dispatch(iar & 0x3ff, timer);
                v2.eoi(iar);
            }
        }
        Gic::V3 { .. } => {
            while let Some(intid) = drivers::gicv3::cpu_interface::ack() {
                dispatch(intid, timer);
                drivers::gicv3::cpu_interface::eoi(intid);
            }
        }
    }
}

/// Sends core `core` the wake SGI (counted as an IPI on this core).
pub fn send_wake(core: usize) {
    send_sgi(core, WAKE_SGI);
}

/// Sends core `core` SGI `sgi` (counted as an IPI on this core).
#[inline(always)]
fn send_sgi(core: usize, sgi: u32) {
    percore::count(|e| &e.ipis);
    match gic() {
        Gic::V2(v2) => {
            let target = percore::get(core).gic_target.load(Ordering::Relaxed) as u8;
            v2.send_sgi(sgi, target);
        }
        Gic::V3 { .. } => {
            let mpidr = percore::get(core).mpidr.load(Ordering::Relaxed);
            drivers::gicv3::cpu_interface::send_sgi(sgi, mpidr);
        }
    }
}

/// Priority of a device interrupt delivered to a task.
const DEVICE_PRIORITY: u8 = 0xa0;

/// This core's view of a GICv3 (its redistributor found at init).
fn v3_here(dist: usize) -> GicV3 {
    let frame = percore::this().redistributor.load(Ordering::Relaxed);
    // Safety: the distributor is device-mapped (init_global) and `frame`
    // is this core's redistributor, found by `init_this_core`.
    unsafe { GicV3::from_frame(dist, frame) }
}

/// Routes the shared interrupt `intid` to the calling core and enables it
/// (cap::interrupt, when the task it is delivered to is loaded).
pub fn route_here(intid: u32) {
    route_here_at(intid, DEVICE_PRIORITY);
}

fn route_here_at(intid: u32, priority: u8) {
    let me = percore::this();
    match gic() {
        Gic::V2(v2) => {
            let target = me.gic_target.load(Ordering::Relaxed) as u8;
            v2.route_spi(intid, priority, target);
        }
        Gic::V3 { dist, .. } => {
            let mpidr = me.mpidr.load(Ordering::Relaxed);
            v3_here(*dist).enable(intid, priority, mpidr);
        }
    }
}

/// Priority of the in-kernel block driver's device interrupt (blkdev):
/// more urgent than the lock's wake SGI, the timer's and the wake SGI's,
/// so that with [`Urgent::Device`] it alone ends the driver's `wfi`.
#[cfg(feature = "block-in-kernel")]
const URGENT_PRIORITY: u8 = 0x40;

/// The SGI that wakes a core asleep for the in-kernel block driver's
/// lock (blkdev::lock), at a priority between the device's and the
/// timer's: [`Urgent::LockWake`] lets it end a `wfi`, [`Urgent::Device`]
/// does not.
#[cfg(feature = "block-in-kernel")]
const LOCK_WAKE_SGI: u32 = 2;
#[cfg(feature = "block-in-kernel")]
const LOCK_WAKE_PRIORITY: u8 = 0x60;

/// Routes `intid` to the calling core at [`URGENT_PRIORITY`] and enables
/// it (blkdev, before each request it sleeps on).
#[cfg(feature = "block-in-kernel")]
pub fn route_here_urgent(intid: u32) {
    route_here_at(intid, URGENT_PRIORITY);
}

/// Which interrupts this core's GIC signals (its priority mask), for the
/// in-kernel block driver's sleeps; the others stay pending and neither
/// end a `wfi` nor are taken until it is [`Urgent::Off`] again.
#[cfg(feature = "block-in-kernel")]
#[derive(Clone, Copy)]
pub enum Urgent {
    /// Every interrupt (the mask open).
    Off,
    /// Only the device's (a request in the device).
    Device,
    /// The device's and the lock's wake SGI (a waiter for the lock).
    LockWake,
}

#[cfg(feature = "block-in-kernel")]
pub fn only_urgent(u: Urgent) {
    let mask = match u {
        Urgent::Off => 0xff,
        Urgent::Device => LOCK_WAKE_PRIORITY,
        Urgent::LockWake => TIMER_PRIORITY.min(WAKE_PRIORITY),
    };
    match gic() {
        Gic::V2(v2) => v2.set_priority_mask(mask),
        Gic::V3 { .. } => drivers::gicv3::cpu_interface::set_priority_mask(mask),
    }
}

/// Sends core `core` the lock's wake SGI (counted as an IPI on this core).
#[cfg(feature = "block-in-kernel")]
pub fn send_lock_wake(core: usize) {
    send_sgi(core, LOCK_WAKE_SGI);
}

/// After a `wfi` under [`Urgent::LockWake`] (interrupts masked):
/// acknowledges and ends every interrupt the mask lets through, i.e. the
/// lock's wake SGI (the device's interrupt is not routed to a waiter), so
/// that it does not end the next `wfi`.
#[cfg(feature = "block-in-kernel")]
pub fn take_lock_wakes() {
    match gic() {
        Gic::V2(v2) => {
            while let Some(iar) = v2.ack() {
                v2.eoi(iar);
            }
        }
        Gic::V3 { .. } => {
            while let Some(intid) = drivers::gicv3::cpu_interface::ack() {
                drivers::gicv3::cpu_interface::eoi(intid);
            }
        }
    }
}

/// Whether `intid` is the block lock's wake SGI: one that arrived after
/// its waiter had looked (a spurious wake) is taken when the system call
/// returns, and has nothing to do.
#[inline(always)]
fn is_lock_wake(intid: u32) -> bool {
    #[cfg(feature = "block-in-kernel")]
    return intid == LOCK_WAKE_SGI;
    #[cfg(not(feature = "block-in-kernel"))]
    {
        let _ = intid;
        false
    }
}

/// Masks (`on` false) or unmasks the shared interrupt `intid` at the
/// distributor; a masked interrupt that arrives stays pending.
pub fn set_enabled(intid: u32, on: bool) {
    match gic() {
        Gic::V2(v2) if on => v2.unmask(intid),
        Gic::V2(v2) => v2.mask(intid),
        Gic::V3 { dist, .. } if on => v3_here(*dist).unmask(intid),
        Gic::V3 { dist, .. } => v3_here(*dist).mask(intid),
    }
}

fn deadline_intid() -> u32 {
    *DEADLINE_INTID.get().expect("timer INTIDs unknown")
}

fn dispatch(intid: u32, timer: Option<u32>) {
    if Some(intid) == timer {
        crate::sequencer::on_timer_tick();
    } else if Some(&intid) == DEADLINE_INTID.get() {
        crate::deadline::expired();
    } else if intid == WAKE_SGI {
        crate::task::on_wake();
    } else if is_lock_wake(intid) {
    } else if !crate::cap::interrupt_taken(intid) {
        defmt::warn!("unexpected interrupt {=u32}", intid);
    }
}
