//! The platform description: every board fact the kernel needs, read from the
//! flattened device tree (DTB) the boot loader hands over in `x0`.
//!
//! Nothing here is hard-coded per board: the same kernel image boots QEMU
//! `virt` with any memory size and core count because all of it comes from
//! the DTB. The crate is portable `no_std` code, tested on the host against
//! real DTBs in `tests/fixtures/`.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

mod parse;

pub use parse::{dtb_size, parse};

/// Most memory banks, reserved regions, cores and virtio slots kept.
pub const MAX_REGIONS: usize = 16;
/// Most cores described (QEMU `virt` with GICv2 has at most 8; GICv3 more).
pub const MAX_CPUS: usize = 16;
/// Most virtio-mmio transports kept (QEMU `virt` has 32).
pub const MAX_VIRTIO: usize = 32;

/// A physical address range `[base, base + size)`. Regions from [`parse()`]
/// never wrap: `base + size` fits in a `u64`, so [`Region::end`] cannot
/// overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
}

impl Region {
    /// One past the last byte.
    pub const fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// How a secondary core is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnableMethod {
    /// PSCI `CPU_ON` through the conduit in [`Psci`].
    Psci,
    /// Write the entry point to `release_addr`, `dsb sy`, `sev`.
    SpinTable { release_addr: u64 },
    /// The boot core, or a core whose node names no method.
    None,
}

/// One core, as a `/cpus/cpu@N` node describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu {
    /// The `reg` property: MPIDR affinity bits (Aff3..Aff0) of this core.
    pub mpidr: u64,
    pub enable_method: EnableMethod,
}

/// The interrupt controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gic {
    /// GICv2 / GIC-400: distributor and memory-mapped CPU interface.
    V2 { dist: Region, cpu: Region },
    /// GICv3: distributor and the first redistributor region (one frame pair
    /// per core, 128 KiB each, in MPIDR order).
    V3 { dist: Region, redist: Region },
}

/// The generic timer's interrupts, as GIC interrupt IDs (INTIDs: a PPI `n`
/// in the DTB is INTID `16 + n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub secure_phys_intid: u32,
    pub phys_intid: u32,
    pub virt_intid: u32,
    pub hyp_intid: u32,
}

/// PSCI call instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conduit {
    Hvc,
    Smc,
}

/// The PSCI firmware interface (`/psci`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Psci {
    pub conduit: Conduit,
    /// Function ID of `CPU_ON` (`cpu_on` property for PSCI 0.1, else the
    /// standard SMC64 ID 0xC400_0003).
    pub cpu_on: u32,
    /// Function ID of `SYSTEM_OFF` (0x8400_0008 for PSCI >= 0.2), if known.
    pub system_off: Option<u32>,
}

/// Which UART hardware a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UartKind {
    /// ARM PrimeCell PL011 (`arm,pl011`).
    Pl011,
    /// BCM2835 AUX mini UART (`brcm,bcm2835-aux-uart`); `base` is the
    /// mini UART register block (AUX_MU_IO), `aux_enables` the AUX_ENABLES
    /// register (AUX block base + 4).
    MiniUart { aux_enables: u64 },
    /// NXP i.MX UART (`fsl,imx6q-uart`, `fsl,imx21-uart`).
    Imx,
}

/// A serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uart {
    pub kind: UartKind,
    /// Physical address of the register block (after `ranges` translation).
    pub base: u64,
    pub size: u64,
    /// Reference clock from a `fixed-clock` the node points to, if the DTB
    /// says; `None` when the clock comes from firmware (Raspberry Pi).
    pub clock_hz: Option<u32>,
}

/// One virtio-mmio transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtioMmio {
    pub region: Region,
    pub intid: u32,
}

/// Everything the kernel reads from the DTB.
#[derive(Debug, Clone)]
pub struct Platform {
    /// `/compatible` of the root, first string (e.g. `linux,dummy-virt`,
    /// `raspberrypi,4-model-b`).
    pub model_compatible: heapless::String<64>,
    /// RAM banks: every `reg` entry of every available `/memory` node, in
    /// address order, as written. A zero-size bank is kept: the Raspberry Pi
    /// DTB as shipped says `reg = <0 0 0>` for the firmware to fill in.
    pub memory: heapless::Vec<Region, MAX_REGIONS>,
    /// `/memreserve/` entries and available `/reserved-memory` children with
    /// `reg`, in address order.
    pub reserved: heapless::Vec<Region, MAX_REGIONS>,
    /// Cores in DTB order; logical core `i` is `cpus[i]`.
    pub cpus: heapless::Vec<Cpu, MAX_CPUS>,
    pub gic: Gic,
    pub timer: Timer,
    /// The run's time limit in seconds: `timeout=S` among the words of
    /// `/chosen/bootargs` (QEMU's `-append`, which `cargo xtask qemu
    /// --timeout S` passes). `None` without one.
    pub time_limit_s: Option<u32>,
    pub psci: Option<Psci>,
    /// The console: the PL011 alias `serial0` names, when that is an
    /// available PL011, otherwise the available PL011 with the lowest
    /// address; with no available PL011, the i.MX UART
    /// `/chosen/stdout-path` names, else the lowest available i.MX UART.
    /// (Available: `status` absent, `"okay"` or `"ok"`.)
    pub console: Uart,
    /// The console UART's interrupt (GIC INTID), if its node names one the
    /// GIC takes: delivered to a task that holds `device:uart` with an
    /// `interrupt` (docs/syscalls.md, *Device interrupts*).
    pub console_intid: Option<u32>,
    /// The log UART carrying defmt frames: the available PL011 with the
    /// lowest address other than the console (QEMU virt given two
    /// `-serial`), else the mini UART if it and its AUX block are available
    /// (Raspberry Pi), else the lowest available i.MX UART other than the
    /// console, else `None`.
    pub log: Option<Uart>,
    /// virtio-mmio transports in address order.
    pub virtio_mmio: heapless::Vec<VirtioMmio, MAX_VIRTIO>,
    /// BCM2835 power-management / watchdog block (`brcm,bcm2835-pm-wdt` or
    /// `brcm,bcm2835-pm`), used to reset or halt a Raspberry Pi.
    pub watchdog: Option<Region>,
    /// BCM2835/BCM2711 GPIO block (`brcm,bcm2711-gpio`), whose pin
    /// functions route UART0 to the header on a Raspberry Pi.
    pub bcm_gpio: Option<Region>,
    /// SDHCI controllers that may hold the SD card, in the order a block
    /// server should look at them: the BCM2711 EMMC2 (`brcm,bcm2711-emmc2`,
    /// the Pi 4's card slot) first, then the BCM2835 Arasan SDHCI
    /// (`brcm,bcm2835-sdhci`, where QEMU `raspi4b` attaches its card).
    pub sdhci: heapless::Vec<Region, MAX_SDHCI>,
    /// The VideoCore mailbox (`brcm,bcm2835-mbox`), through whose property
    /// channel the Raspberry Pi firmware answers (the SD base clock:
    /// docs/block.md).
    pub mailbox: Option<Region>,
}

/// Most SDHCI controllers [`Platform::sdhci`] lists.
pub const MAX_SDHCI: usize = 4;

/// Why a DTB could not be interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The blob is not a valid FDT (bad magic, version before 17, truncated,
    /// bad offsets, malformed structure block, nesting deeper than 16).
    BadDtb,
    /// No available `/memory` node with a `reg` entry.
    NoMemory,
    /// No `/cpus/cpu` node.
    NoCpus,
    /// More cores than [`MAX_CPUS`].
    TooManyCpus,
    /// No GICv2/GIC-400/GICv3 node, or its `reg` is incomplete.
    NoGic,
    /// No `arm,armv7-timer` / `arm,armv8-timer` node with four GIC
    /// interrupts.
    NoTimer,
    /// No available PL011 or i.MX UART.
    NoConsole,
    /// A secondary core uses `psci` but there is no `/psci` node, or an
    /// unknown enable method.
    BadEnableMethod,
    /// A `reg` or `ranges` property could not be read or translated.
    BadReg,
    /// More memory banks or reserved regions than [`MAX_REGIONS`], or more
    /// virtio-mmio transports than [`MAX_VIRTIO`]. (Dropping a reserved
    /// region would let the kernel hand out memory it must not touch.)
    TooManyRegions,
    /// A virtio-mmio node's `interrupts` is not a GIC SPI/PPI (three cells,
    /// interrupt parent the GIC).
    BadInterrupt,
}
