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

/// An i.MX UART node at root level (root cells 2/2).
fn imx_uart(dt: &mut common::Dt, base: u32, status: Option<&str>) {
    dt.begin(&format!("serial@{base:x}"))
        .strs("compatible", &["fsl,imx8mp-uart", "fsl,imx6q-uart"])
        .cells("reg", &[0, base, 0, 0x1_0000]);
    if let Some(s) = status {
        dt.strs("status", &[s]);
    }
    dt.end();
}

fn imx(base: u64) -> Uart {
    Uart {
        kind: UartKind::Imx,
        base,
        size: 0x1_0000,
        clock_hz: None,
    }
}

#[test]
fn imx_console_follows_stdout_path_then_lowest_address() {
    // `stdout-path` as a path, as an alias with options, naming a disabled
    // UART, and absent.
    let build = |stdout: Option<&'static str>| {
        common::machine(move |dt| {
            imx_uart(dt, 0x3086_0000, Some("disabled"));
            imx_uart(dt, 0x3089_0000, None);
            imx_uart(dt, 0x3088_0000, Some("okay"));
            dt.begin("aliases")
                .strs("serial0", &["/serial@30860000"])
                .strs("serial1", &["/serial@30890000"])
                .end();
            if let Some(path) = stdout {
                dt.begin("chosen").strs("stdout-path", &[path]).end();
            }
        })
    };
    for stdout in ["/serial@30890000", "serial1:115200n8"] {
        let p = common::ok(&build(Some(stdout)));
        assert_eq!(p.console, imx(0x3089_0000), "{stdout}");
        assert_eq!(p.log, Some(imx(0x3088_0000)), "{stdout}");
    }
    for stdout in [Some("serial0"), None] {
        let p = common::ok(&build(stdout));
        assert_eq!(p.console, imx(0x3088_0000), "{stdout:?}");
        assert_eq!(p.log, Some(imx(0x3089_0000)), "{stdout:?}");
    }
}

#[test]
fn a_pl011_is_the_console_before_any_imx_uart() {
    let dtb = common::machine(|dt| {
        imx_uart(dt, 0x3089_0000, None);
        common::pl011(dt, 0x0900_0000);
        dt.begin("chosen")
            .strs("stdout-path", &["/serial@30890000"])
            .end();
    });
    let p = common::ok(&dtb);
    assert_eq!(p.console, common::uart(0x0900_0000, 0x1000));
    assert_eq!(p.log, Some(imx(0x3089_0000)));
}
