//! GICv3 (QEMU `virt` with `gic-version=3`): a distributor for shared
//! interrupts, one redistributor per core for its private ones, and the CPU
//! interface in system registers (ICC_*_EL1).
//!
//! Affinity routing is on; every interrupt is non-secure group 1.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadWrite};

register_structs! {
    /// Distributor (GICD).
    pub Distributor {
        (0x0000 => ctlr: ReadWrite<u32>),
        (0x0004 => typer: ReadWrite<u32>),
        (0x0008 => _r0),
        (0x0080 => igroupr: [ReadWrite<u32>; 32]),
        (0x0100 => isenabler: [ReadWrite<u32>; 32]),
        (0x0180 => icenabler: [ReadWrite<u32>; 32]),
        (0x0200 => _r1),
        (0x0280 => icpendr: [ReadWrite<u32>; 32]),
        (0x0300 => _r2),
        (0x0400 => ipriorityr: [ReadWrite<u32>; 255]),
        (0x07fc => _r3),
        (0x6000 => irouter: [ReadWrite<u64>; 1020]),
        (0x7fe0 => @END),
    }
}

register_structs! {
    /// Redistributor control frame (RD_base).
    pub RedistControl {
        (0x00 => ctlr: ReadWrite<u32>),
        (0x04 => _iidr),
        (0x08 => typer: ReadWrite<u64>),
        (0x10 => _statusr),
        (0x14 => waker: ReadWrite<u32>),
        (0x18 => @END),
    }
}

register_structs! {
    /// Redistributor SGI/PPI frame (SGI_base = RD_base + 64 KiB).
    pub RedistSgi {
        (0x000 => _r0),
        (0x080 => igroupr0: ReadWrite<u32>),
        (0x084 => _r1),
        (0x100 => isenabler0: ReadWrite<u32>),
        (0x104 => _r2),
        (0x180 => icenabler0: ReadWrite<u32>),
        (0x184 => _r3),
        (0x280 => icpendr0: ReadWrite<u32>),
        (0x284 => _r4),
        (0x400 => ipriorityr: [ReadWrite<u32>; 8]),
        (0x420 => @END),
    }
}

const GICD_CTLR_RWP: u32 = 1 << 31;
const GICD_CTLR_ARE: u32 = 1 << 4;
const GICD_CTLR_ENABLE_GRP1: u32 = 1 << 1;
const GICR_TYPER_LAST: u64 = 1 << 4;
const GICR_TYPER_VLPIS: u64 = 1 << 1;
const GICR_WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const GICR_WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
const SGI_FRAME: usize = 0x1_0000;

/// Why a core's redistributor could not be brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// No redistributor frame carries this core's affinity.
    NoRedistributor,
}

/// The distributor plus this core's redistributor.
pub struct GicV3 {
    dist: *const Distributor,
    redist: usize,
}

// Safety: MMIO; the distributor is touched by the boot core only during
// init and per-line enables are single writes; a redistributor belongs to
// one core.
unsafe impl Send for GicV3 {}
unsafe impl Sync for GicV3 {}

/// The affinity value GICR_TYPER reports for an MPIDR (Aff3.Aff2.Aff1.Aff0).
pub const fn affinity(mpidr: u64) -> u32 {
    (((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xff_ffff)) as u32
}

impl GicV3 {
    /// Finds the redistributor of the core with `mpidr` in the region mapped
    /// at `redist_base` of `redist_size` bytes.
    ///
    /// # Safety
    /// `dist` and `[redist_base, redist_base + redist_size)` must be mapped
    /// device memory holding the GICD and a GICR region, for as long as the
    /// value lives.
    pub unsafe fn new(
        dist: usize,
        redist_base: usize,
        redist_size: usize,
        mpidr: u64,
    ) -> Result<Self, Error> {
        let want = affinity(mpidr);
        let mut frame = redist_base;
        while frame + 2 * SGI_FRAME <= redist_base + redist_size {
            // Safety: `frame` lies inside the mapped redistributor region.
            let typer = unsafe { &*(frame as *const RedistControl) }.typer.get();
            if (typer >> 32) as u32 == want {
                return Ok(GicV3 {
                    dist: dist as *const Distributor,
                    redist: frame,
                });
            }
            if typer & GICR_TYPER_LAST != 0 {
                break;
            }
            frame += if typer & GICR_TYPER_VLPIS != 0 {
                4 * SGI_FRAME
            } else {
                2 * SGI_FRAME
            };
        }
        Err(Error::NoRedistributor)
    }

    /// Rebuilds the value for a redistributor frame [`GicV3::new`] found.
    ///
    /// # Safety
    /// As for [`GicV3::new`]; `frame` must be [`GicV3::redistributor`] of a
    /// value made for the calling core.
    pub const unsafe fn from_frame(dist: usize, frame: usize) -> Self {
        GicV3 {
            dist: dist as *const Distributor,
            redist: frame,
        }
    }

    /// Virtual address of this core's redistributor frame.
    pub fn redistributor(&self) -> usize {
        self.redist
    }

    fn d(&self) -> &Distributor {
        // Safety: guaranteed by `new`'s caller.
        unsafe { &*self.dist }
    }

    fn rd(&self) -> &RedistControl {
        // Safety: `redist` is a frame `new` found inside the mapped region.
        unsafe { &*(self.redist as *const RedistControl) }
    }

    fn sgi(&self) -> &RedistSgi {
        // Safety: the SGI frame follows the control frame in the region.
        unsafe { &*((self.redist + SGI_FRAME) as *const RedistSgi) }
    }

    fn wait_rwp(&self) {
        while self.d().ctlr.get() & GICD_CTLR_RWP != 0 {
            crate::relax();
        }
    }

    /// Number of interrupt lines the distributor implements.
    pub fn lines(&self) -> u32 {
        ((self.d().typer.get() & 0x1f) + 1) * 32
    }

    /// Once, on the boot core: shared interrupts disabled and in group 1,
    /// affinity routing and group 1 enabled.
    pub fn init_distributor(&self) {
        let d = self.d();
        d.ctlr.set(0);
        self.wait_rwp();
        let words = (self.lines() / 32) as usize;
        for i in 1..words.min(32) {
            d.icenabler[i].set(u32::MAX);
            d.icpendr[i].set(u32::MAX);
            d.igroupr[i].set(u32::MAX);
        }
        self.wait_rwp();
        d.ctlr.set(GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP1);
        self.wait_rwp();
    }

    /// On each core: wake its redistributor, private interrupts disabled and
    /// in group 1, then the system-register CPU interface on.
    pub fn init_cpu(&self) {
        let rd = self.rd();
        rd.waker.set(rd.waker.get() & !GICR_WAKER_PROCESSOR_SLEEP);
        while rd.waker.get() & GICR_WAKER_CHILDREN_ASLEEP != 0 {
            crate::relax();
        }
        let s = self.sgi();
        s.icenabler0.set(u32::MAX);
        s.icpendr0.set(u32::MAX);
        s.igroupr0.set(u32::MAX);
        #[cfg(target_arch = "aarch64")]
        cpu_interface::enable();
    }

    /// Stops the shared interrupt `intid` (>= 32) being signalled (it stays
    /// pending if it arrives).
    pub fn mask(&self, intid: u32) {
        self.d().icenabler[(intid / 32) as usize].set(1 << (intid % 32));
        self.wait_rwp();
    }

    /// Lets the shared interrupt `intid` be signalled again.
    pub fn unmask(&self, intid: u32) {
        self.d().isenabler[(intid / 32) as usize].set(1 << (intid % 32));
    }

    /// Enables `intid` at `priority`: an SGI/PPI in this core's
    /// redistributor, an SPI in the distributor routed to `target_mpidr`.
    pub fn enable(&self, intid: u32, priority: u8, target_mpidr: u64) {
        let (word, byte) = ((intid / 4) as usize, (intid % 4) * 8);
        if intid < 32 {
            let s = self.sgi();
            let p = s.ipriorityr[word].get() & !(0xff << byte);
            s.ipriorityr[word].set(p | (priority as u32) << byte);
            s.isenabler0.set(1 << intid);
        } else {
            let d = self.d();
            let p = d.ipriorityr[word].get() & !(0xff << byte);
            d.ipriorityr[word].set(p | (priority as u32) << byte);
            // GICD_IROUTER<n> is at 0x6000 + 8n (n >= 32; the first 32 are
            // reserved), so the array is indexed by the INTID itself.
            d.irouter[intid as usize].set(target_mpidr & 0xff_00ff_ffff);
            d.isenabler[(intid / 32) as usize].set(1 << (intid % 32));
        }
    }
}

/// The ICC_*_EL1 system-register CPU interface.
#[cfg(target_arch = "aarch64")]
pub mod cpu_interface {
    use core::arch::asm;

    /// System-register access on, priority mask open, group 1 enabled.
    /// (At EL2 entry the boot code has already set ICC_SRE_EL2.)
    pub fn enable() {
        // Safety: these ICC registers only affect this core's interrupt
        // delivery; SRE=1 is required before the others can be accessed.
        unsafe {
            asm!("msr icc_sre_el1, {0}", "isb", in(reg) 0x7u64);
            asm!("msr icc_pmr_el1, {0}", in(reg) 0xffu64);
            asm!("msr icc_bpr1_el1, {0}", in(reg) 0u64);
            asm!("msr icc_igrpen1_el1, {0}", "isb", in(reg) 1u64);
        }
    }

    /// Sets this core's priority mask: only interrupts more urgent (lower)
    /// than `mask` are signalled to it (0xff: all).
    pub fn set_priority_mask(mask: u8) {
        // Safety: the mask only affects this core's interrupt delivery; no
        // memory effect.
        unsafe { asm!("msr icc_pmr_el1, {0}", "isb", in(reg) mask as u64) };
    }

    /// Acknowledges the highest-priority pending group-1 interrupt.
    pub fn ack() -> Option<u32> {
        let iar: u64;
        // Safety: reading IAR acknowledges an interrupt; no memory effect.
        unsafe { asm!("mrs {0}, icc_iar1_el1", out(reg) iar) };
        let intid = (iar & 0xff_ffff) as u32;
        (intid < 1020).then_some(intid)
    }

    /// Ends the interrupt [`ack`] returned.
    pub fn eoi(intid: u32) {
        // Safety: EOI of an acknowledged interrupt; no memory effect.
        unsafe { asm!("msr icc_eoir1_el1, {0}", "isb", in(reg) intid as u64) };
    }

    /// Sends SGI `sgi` to the core with affinity `mpidr` (Aff3.Aff2.Aff1,
    /// target list bit Aff0 % 16).
    pub fn send_sgi(sgi: u32, mpidr: u64) {
        let aff1 = (mpidr >> 8) & 0xff;
        let aff2 = (mpidr >> 16) & 0xff;
        let aff3 = (mpidr >> 32) & 0xff;
        let list = 1u64 << (mpidr & 0xf);
        let v = aff3 << 48 | aff2 << 32 | (sgi as u64 & 0xf) << 24 | aff1 << 16 | list;
        // Safety: generating an SGI has no memory effect.
        unsafe { asm!("msr icc_sgi1r_el1, {0}", "isb", in(reg) v) };
    }
}
