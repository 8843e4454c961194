//! GICv2 (QEMU `virt` with `gic-version=2`) and GIC-400 (Raspberry Pi 4):
//! a distributor shared by all cores and a memory-mapped CPU interface
//! banked per core at one address.
//!
//! The kernel runs non-secure; QEMU's direct kernel boot (like the Pi
//! firmware's armstub) leaves every interrupt in group 1, which the
//! non-secure view enables with bit 0 of GICD_CTLR / GICC_CTLR.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::{register_structs, registers::ReadWrite};

register_structs! {
    /// Distributor (GICD).
    pub Distributor {
        (0x000 => ctlr: ReadWrite<u32>),
        (0x004 => typer: ReadWrite<u32>),
        (0x008 => _r0),
        (0x080 => igroupr: [ReadWrite<u32>; 32]),
        (0x100 => isenabler: [ReadWrite<u32>; 32]),
        (0x180 => icenabler: [ReadWrite<u32>; 32]),
        (0x200 => _r1),
        (0x280 => icpendr: [ReadWrite<u32>; 32]),
        (0x300 => _r2),
        (0x400 => ipriorityr: [ReadWrite<u32>; 255]),
        (0x7fc => _r3),
        (0x800 => itargetsr: [ReadWrite<u32>; 255]),
        (0xbfc => _r4),
        (0xc00 => icfgr: [ReadWrite<u32>; 64]),
        (0xd00 => _r5),
        (0xf00 => sgir: ReadWrite<u32>),
        (0xf04 => @END),
    }
}

register_structs! {
    /// CPU interface (GICC), banked per core.
    pub CpuInterface {
        (0x00 => ctlr: ReadWrite<u32>),
        (0x04 => pmr: ReadWrite<u32>),
        (0x08 => bpr: ReadWrite<u32>),
        (0x0c => iar: ReadWrite<u32>),
        (0x10 => eoir: ReadWrite<u32>),
        (0x14 => @END),
    }
}

/// INTIDs at or above this are "no pending interrupt" (1023) or reserved.
const SPURIOUS: u32 = 1020;

/// A GICv2 at mapped addresses.
pub struct GicV2 {
    dist: *const Distributor,
    cpu: *const CpuInterface,
}

// Safety: MMIO; every operation is a single volatile access or touches only
// registers banked for the calling core.
unsafe impl Send for GicV2 {}
unsafe impl Sync for GicV2 {}

impl GicV2 {
    /// # Safety
    /// `dist` and `cpu` must be the mapped virtual addresses (device memory)
    /// of the GICD and GICC blocks for as long as the value lives.
    pub const unsafe fn new(dist: usize, cpu: usize) -> Self {
        GicV2 {
            dist: dist as *const Distributor,
            cpu: cpu as *const CpuInterface,
        }
    }

    fn d(&self) -> &Distributor {
        // Safety: guaranteed by `new`'s caller.
        unsafe { &*self.dist }
    }

    fn c(&self) -> &CpuInterface {
        // Safety: guaranteed by `new`'s caller.
        unsafe { &*self.cpu }
    }

    /// Number of interrupt lines the distributor implements.
    pub fn lines(&self) -> u32 {
        ((self.d().typer.get() & 0x1f) + 1) * 32
    }

    /// Once, on the boot core: every shared interrupt disabled and cleared,
    /// then the distributor enabled.
    pub fn init_distributor(&self) {
        let d = self.d();
        d.ctlr.set(0);
        let words = (self.lines() / 32) as usize;
        for i in 1..words.min(32) {
            d.icenabler[i].set(u32::MAX);
            d.icpendr[i].set(u32::MAX);
        }
        d.ctlr.set(1);
    }

    /// On each core: its banked private interrupts disabled, priority mask
    /// open, the CPU interface enabled.
    pub fn init_cpu(&self) {
        let d = self.d();
        d.icenabler[0].set(u32::MAX);
        d.icpendr[0].set(u32::MAX);
        let c = self.c();
        c.pmr.set(0xff);
        c.bpr.set(0);
        c.ctlr.set(1);
    }

    /// Enables `intid` at `priority` (lower is more urgent). For an SGI or
    /// PPI (< 32) this is the calling core's banked copy; an SPI is routed
    /// to core interface 0.
    pub fn enable(&self, intid: u32, priority: u8) {
        let d = self.d();
        let (word, byte) = ((intid / 4) as usize, (intid % 4) * 8);
        let p = d.ipriorityr[word].get() & !(0xff << byte);
        d.ipriorityr[word].set(p | (priority as u32) << byte);
        if intid >= 32 {
            let t = d.itargetsr[word].get() & !(0xff << byte);
            d.itargetsr[word].set(t | 1 << byte);
        }
        d.isenabler[(intid / 32) as usize].set(1 << (intid % 32));
    }

    /// Routes the shared interrupt `intid` (>= 32) to the CPU interfaces in
    /// `targets` (a bit each) at `priority`, and enables it.
    pub fn route_spi(&self, intid: u32, priority: u8, targets: u8) {
        let d = self.d();
        let (word, byte) = ((intid / 4) as usize, (intid % 4) * 8);
        let p = d.ipriorityr[word].get() & !(0xff << byte);
        d.ipriorityr[word].set(p | (priority as u32) << byte);
        let t = d.itargetsr[word].get() & !(0xff << byte);
        d.itargetsr[word].set(t | (targets as u32) << byte);
        self.unmask(intid);
    }

    /// Stops `intid` being signalled (it stays pending if it arrives).
    pub fn mask(&self, intid: u32) {
        self.d().icenabler[(intid / 32) as usize].set(1 << (intid % 32));
    }

    /// Lets `intid` be signalled again.
    pub fn unmask(&self, intid: u32) {
        self.d().isenabler[(intid / 32) as usize].set(1 << (intid % 32));
    }

    /// Sets the calling core's priority mask: only interrupts more urgent
    /// (lower) than `mask` are signalled to it (0xff: all).
    pub fn set_priority_mask(&self, mask: u8) {
        self.c().pmr.set(mask as u32);
    }

    /// The calling core's CPU interface bit: GICD_ITARGETSR0..7 are banked
    /// and read as the reading core's own interface.
    pub fn own_target(&self) -> u8 {
        (self.d().itargetsr[0].get() & 0xff) as u8
    }

    /// Acknowledges the highest-priority pending interrupt.
    pub fn ack(&self) -> Option<u32> {
        let iar = self.c().iar.get();
        let intid = iar & 0x3ff;
        (intid < SPURIOUS).then_some(iar)
    }

    /// Ends an interrupt returned by [`GicV2::ack`] (pass the value as is).
    pub fn eoi(&self, iar: u32) {
        self.c().eoir.set(iar);
    }

    /// Sends SGI `sgi` (0..16) to the cores in `targets` (bit per CPU
    /// interface number).
    pub fn send_sgi(&self, sgi: u32, targets: u8) {
        self.d().sgir.set((targets as u32) << 16 | (sgi & 0xf));
    }
}
