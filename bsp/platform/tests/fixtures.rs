//! Every field of [`platform::Platform`] for each real DTB in
//! `tests/fixtures/`. The expected values were read off `dtc -I dtb -O dts`
//! by hand (with the `ranges` arithmetic done on paper), not copied from the
//! parser's output.

mod common;

use common::fixture;
use platform::{
    Conduit, Cpu, EnableMethod, Gic, Platform, Psci, Region, Timer, Uart, UartKind, VirtioMmio,
};

fn parse(name: &str) -> Platform {
    platform::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

const fn region(base: u64, size: u64) -> Region {
    Region { base, size }
}

/// The generic timer PPIs 13, 14, 11, 10 (both boards use the Linux
/// convention) as INTIDs.
const TIMER: Timer = Timer {
    secure_phys_intid: 29,
    phys_intid: 30,
    virt_intid: 27,
    hyp_intid: 26,
};

// ---- Raspberry Pi 4 -------------------------------------------------------

const PI_GIC: Gic = Gic::V2 {
    // /soc/interrupt-controller@40041000: bus 0x40041000 through /soc's
    // `ranges` entry <0x40000000 0x0 0xff800000 0x800000>.
    dist: region(0xff84_1000, 0x1000),
    cpu: region(0xff84_2000, 0x2000),
};
/// uart0, /soc/serial@7e201000 (alias serial0), 0x7e201000 -> 0xfe201000.
/// Its clock is CPRMAN (firmware-set), so no rate.
const PI_CONSOLE: Uart = Uart {
    kind: UartKind::Pl011,
    base: 0xfe20_1000,
    size: 0x200,
    clock_hz: None,
};
/// uart1, the mini UART (the four other PL011s are `disabled`); the AUX block
/// is /soc/aux@7e215000 -> 0xfe215000, AUX_ENABLES at +4.
const PI_LOG: Uart = Uart {
    kind: UartKind::MiniUart {
        aux_enables: 0xfe21_5004,
    },
    base: 0xfe21_5040,
    size: 0x40,
    clock_hz: None,
};

fn pi_cpus() -> Vec<Cpu> {
    [0xd8, 0xe0, 0xe8, 0xf0]
        .iter()
        .enumerate()
        .map(|(i, &release_addr)| Cpu {
            mpidr: i as u64,
            enable_method: EnableMethod::SpinTable { release_addr },
        })
        .collect()
}

fn assert_pi_common(p: &Platform) {
    assert_eq!(p.model_compatible.as_str(), "raspberrypi,4-model-b");
    // /memreserve/ 0 0x1000 (spin table and armstub). /reserved-memory has
    // linux,cma (no `reg`) and nvram@0 (`disabled`): neither counts.
    assert_eq!(p.reserved[..], [region(0, 0x1000)]);
    assert_eq!(p.cpus[..], pi_cpus()[..]);
    assert_eq!(p.gic, PI_GIC);
    assert_eq!(p.timer, TIMER);
    assert_eq!(p.psci, None);
    assert_eq!(p.console, PI_CONSOLE);
    // serial@7e201000: interrupts = <0 121 4>, SPI 121.
    assert_eq!(p.console_intid, Some(153));
    assert_eq!(p.log, Some(PI_LOG));
    assert!(p.virtio_mmio.is_empty());
    // /soc/watchdog@7e100000, first `reg` entry ("pm"): PM_RSTC is +0x1c.
    assert_eq!(p.watchdog, Some(region(0xfe10_0000, 0x114)));
    // /soc/gpio@7e200000, reg <0x7e200000 0xb4> through /soc's ranges.
    assert_eq!(p.bcm_gpio, Some(region(0xfe20_0000, 0xb4)));
    // /emmc2bus/mmc@7e340000 (EMMC2, the card slot) through /emmc2bus's
    // ranges, then /soc/mmc@7e300000 (the Arasan SDHCI, QEMU's card).
    assert_eq!(
        p.sdhci[..],
        [region(0xfe34_0000, 0x100), region(0xfe30_0000, 0x100)]
    );
    // /soc/mailbox@7e00b880 through /soc's ranges.
    assert_eq!(p.mailbox, Some(region(0xfe00_b880, 0x40)));
}

#[test]
fn rpi4_debian_dtb_as_shipped() {
    let p = parse("bcm2711-rpi-4-b.dtb");
    // The shipped file's placeholder: `memory@0 { reg = <0 0 0>; }`, filled
    // in by the firmware (or QEMU) at boot. Kept as written.
    assert_eq!(p.memory[..], [region(0, 0)]);
    assert_pi_common(&p);
}

#[test]
fn rpi4_as_qemu_raspi4b_hands_it_over() {
    // QEMU replaced /memory and NOP'd out PCIe, GENET, RNG and thermal.
    let p = parse("raspi4b-qemu-patched.dtb");
    assert_eq!(p.memory[..], [region(0, 0x3c00_0000)]);
    assert_pi_common(&p);
}

// ---- QEMU virt ------------------------------------------------------------

const VIRT_GIC_V3: Gic = Gic::V3 {
    dist: region(0x0800_0000, 0x1_0000),
    redist: region(0x080a_0000, 0xf6_0000),
};
const VIRT_PSCI_HVC: Psci = Psci {
    conduit: Conduit::Hvc,
    cpu_on: 0xc400_0003,
    system_off: Some(0x8400_0008),
};
/// Both PL011s are clocked by /apb-pclk, a 24 MHz fixed-clock.
const VIRT_UART0: Uart = Uart {
    kind: UartKind::Pl011,
    base: 0x0900_0000,
    size: 0x1000,
    clock_hz: Some(24_000_000),
};
const VIRT_UART1: Uart = Uart {
    kind: UartKind::Pl011,
    base: 0x0904_0000,
    size: 0x1000,
    clock_hz: Some(24_000_000),
};

fn psci_cpus(n: u64) -> Vec<Cpu> {
    (0..n)
        .map(|mpidr| Cpu {
            mpidr,
            enable_method: EnableMethod::Psci,
        })
        .collect()
}

/// 32 transports from 0x0a000000, 0x200 apart, on SPIs 16..47.
fn assert_virt_virtio(p: &Platform) {
    let expected: Vec<VirtioMmio> = (0..32)
        .map(|i| VirtioMmio {
            region: region(0x0a00_0000 + 0x200 * i, 0x200),
            intid: 48 + i as u32,
        })
        .collect();
    assert_eq!(p.virtio_mmio[..], expected[..]);
}

fn assert_virt_common(p: &Platform) {
    assert_eq!(p.model_compatible.as_str(), "linux,dummy-virt");
    assert!(p.reserved.is_empty());
    assert_eq!(p.timer, TIMER);
    assert_eq!(p.console, VIRT_UART0);
    // pl011@9000000: interrupts = <0 1 4>, SPI 1.
    assert_eq!(p.console_intid, Some(33));
    assert_virt_virtio(p);
    assert_eq!(p.watchdog, None);
    assert_eq!(p.bcm_gpio, None);
    assert!(p.sdhci.is_empty());
    assert_eq!(p.mailbox, None);
}

#[test]
fn virt_gicv2_one_core_256m() {
    let p = parse("virt-gic2-smp1-256m.dtb");
    assert_virt_common(&p);
    assert_eq!(p.memory[..], [region(0x4000_0000, 0x1000_0000)]);
    // A lone core gets no enable-method.
    assert_eq!(
        p.cpus[..],
        [Cpu {
            mpidr: 0,
            enable_method: EnableMethod::None
        }]
    );
    assert_eq!(
        p.gic,
        Gic::V2 {
            dist: region(0x0800_0000, 0x1_0000),
            cpu: region(0x0801_0000, 0x1_0000)
        }
    );
    assert_eq!(p.psci, Some(VIRT_PSCI_HVC));
    assert_eq!(p.log, Some(VIRT_UART1));
}

#[test]
fn virt_gicv3_eight_cores_4g() {
    let p = parse("virt-gic3-smp8-4g.dtb");
    assert_virt_common(&p);
    assert_eq!(p.memory[..], [region(0x4000_0000, 0x1_0000_0000)]);
    assert_eq!(p.cpus[..], psci_cpus(8)[..]);
    assert_eq!(p.gic, VIRT_GIC_V3);
    assert_eq!(p.psci, Some(VIRT_PSCI_HVC));
    assert_eq!(p.log, Some(VIRT_UART1));
}

#[test]
fn virt_el2_gicv3_four_cores_1g_uses_smc() {
    let p = parse("virt-el2-gic3-smp4-1g.dtb");
    assert_virt_common(&p);
    assert_eq!(p.memory[..], [region(0x4000_0000, 0x4000_0000)]);
    assert_eq!(p.cpus[..], psci_cpus(4)[..]);
    assert_eq!(p.gic, VIRT_GIC_V3);
    assert_eq!(
        p.psci,
        Some(Psci {
            conduit: Conduit::Smc,
            ..VIRT_PSCI_HVC
        })
    );
    assert_eq!(p.log, Some(VIRT_UART1));
}

#[test]
fn virt_one_serial_has_no_log_uart() {
    let p = parse("virt-gic3-smp4-1g-oneserial.dtb");
    assert_virt_common(&p);
    assert_eq!(p.memory[..], [region(0x4000_0000, 0x4000_0000)]);
    assert_eq!(p.cpus[..], psci_cpus(4)[..]);
    assert_eq!(p.gic, VIRT_GIC_V3);
    assert_eq!(p.psci, Some(VIRT_PSCI_HVC));
    assert_eq!(p.log, None);
}

// ---- dtb_size -------------------------------------------------------------

#[test]
fn dtb_size_reads_totalsize() {
    for (name, size) in [
        ("bcm2711-rpi-4-b.dtb", 27_386),
        // QEMU virt leaves its 1 MiB working buffer as the blob's size.
        ("virt-gic2-smp1-256m.dtb", 0x10_0000),
    ] {
        let dtb = fixture(name);
        // Safety: `dtb` is a live buffer of far more than 8 bytes.
        assert_eq!(
            unsafe { platform::dtb_size(dtb.as_ptr()) },
            Some(size),
            "{name}"
        );
        assert_eq!(dtb.len(), size, "{name}");
    }
    // Unaligned, and a wrong magic number.
    let mut buf = [0u8; 9];
    buf[1..9].copy_from_slice(&fixture("bcm2711-rpi-4-b.dtb")[..8]);
    // Safety: `buf[1..]` has 8 readable bytes.
    assert_eq!(
        unsafe { platform::dtb_size(buf[1..].as_ptr()) },
        Some(27_386)
    );
    buf[1] = 0;
    // Safety: as above.
    assert_eq!(unsafe { platform::dtb_size(buf[1..].as_ptr()) }, None);
    // Safety: null is explicitly allowed.
    assert_eq!(unsafe { platform::dtb_size(core::ptr::null()) }, None);
}
