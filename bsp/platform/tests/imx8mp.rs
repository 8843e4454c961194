//! The NXP i.MX 8M Plus EVK DTBs in `tests/fixtures/`: Debian's
//! `imx8mp-evk.dtb` as shipped, the copy `cargo xtask` passes to QEMU
//! `imx8mp-evk` (UART3 enabled for the log), and that copy as QEMU hands it
//! to the kernel. The expected values were read off `dtc -I dtb -O dts` by
//! hand.

mod common;

use common::fixture;
use platform::{Conduit, Cpu, EnableMethod, Gic, Platform, Psci, Region, Timer, Uart, UartKind};

fn parse(name: &str) -> Platform {
    platform::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

const fn region(base: u64, size: u64) -> Region {
    Region { base, size }
}

/// UART2, `/soc@0/bus@30800000/serial@30890000`: the EVK's debug console
/// (`/chosen/stdout-path`; alias `serial1`). Its clock comes from the CCM
/// (`clocks = <&clk IMX8MP_CLK_UART2_ROOT>`), not a fixed-clock: no rate.
const CONSOLE: Uart = Uart {
    kind: UartKind::Imx,
    base: 0x3089_0000,
    size: 0x1_0000,
    clock_hz: None,
};
/// UART3, `serial@30880000`, `disabled` as shipped.
const UART3: Uart = Uart {
    kind: UartKind::Imx,
    base: 0x3088_0000,
    size: 0x1_0000,
    clock_hz: None,
};

fn assert_common(p: &Platform) {
    assert_eq!(p.model_compatible.as_str(), "fsl,imx8mp-evk");
    // /reserved-memory/dsp@92400000; no /memreserve/.
    assert_eq!(p.reserved[..], [region(0x9240_0000, 0x200_0000)]);
    let cpus: Vec<Cpu> = (0..4)
        .map(|mpidr| Cpu {
            mpidr,
            enable_method: EnableMethod::Psci,
        })
        .collect();
    assert_eq!(p.cpus[..], cpus[..]);
    // /psci: compatible "arm,psci-1.0", method "smc".
    assert_eq!(
        p.psci,
        Some(Psci {
            conduit: Conduit::Smc,
            cpu_on: 0xc400_0003,
            system_off: Some(0x8400_0008),
        })
    );
    // /soc@0/interrupt-controller@38800000 (soc@0's ranges are 1:1).
    assert_eq!(
        p.gic,
        Gic::V3 {
            dist: region(0x3880_0000, 0x1_0000),
            redist: region(0x3888_0000, 0xc_0000),
        }
    );
    // <1 13 0xf08>, <1 14 ..>, <1 11 ..>, <1 10 ..>: PPIs 13, 14, 11, 10.
    assert_eq!(
        p.timer,
        Timer {
            secure_phys_intid: 29,
            phys_intid: 30,
            virt_intid: 27,
            hyp_intid: 26,
        }
    );
    assert_eq!(p.console, CONSOLE);
    // Nothing of the Raspberry Pi's, no virtio, no SDHCI this parser knows
    // (the uSDHCs are `fsl,imx8mp-usdhc`).
    assert_eq!(p.watchdog, None);
    assert_eq!(p.bcm_gpio, None);
    assert!(p.virtio_mmio.is_empty());
    assert!(p.sdhci.is_empty());
}

#[test]
fn imx8mp_debian_dtb_as_shipped() {
    let p = parse("imx8mp-evk.dtb");
    // Two banks: 3 GiB at 0x4000_0000 and 3 GiB at 0x1_0000_0000.
    assert_eq!(
        p.memory[..],
        [
            region(0x4000_0000, 0xc000_0000),
            region(0x1_0000_0000, 0xc000_0000)
        ]
    );
    assert_common(&p);
    // UART1, 3 and 4 are `disabled`: no log UART.
    assert_eq!(p.log, None);
}

#[test]
fn imx8mp_with_uart3_enabled_logs_there() {
    let p = parse("imx8mp-evk-uart3.dtb");
    assert_common(&p);
    assert_eq!(p.log, Some(UART3));
}

#[test]
fn imx8mp_as_qemu_hands_it_over() {
    // `-m 1G`: QEMU replaced /memory with one bank of the RAM it has.
    let p = parse("imx8mp-evk-qemu.dtb");
    assert_eq!(p.memory[..], [region(0x4000_0000, 0x4000_0000)]);
    assert_common(&p);
    assert_eq!(p.log, Some(UART3));
}
