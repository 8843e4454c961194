//! The devices found on a small hand-built tree: `ranges` translation of
//! `reg`, which UARTs become console and log, UART clocks, PSCI.

mod common;

use common::*;
use platform::{parse, Conduit, Cpu, EnableMethod, Error, Gic, Psci, Timer, Uart, UartKind};

#[test]
fn minimal_machine() {
    let p = ok(&machine(|dt| pl011(dt, 0x0900_0000)));
    assert_eq!(p.model_compatible.as_str(), "test,machine");
    assert_eq!(p.memory[..], [region(0x4000_0000, 0x4000_0000)]);
    assert!(p.reserved.is_empty());
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
    assert_eq!(
        p.timer,
        Timer {
            secure_phys_intid: 29,
            phys_intid: 30,
            virt_intid: 27,
            hyp_intid: 26
        }
    );
    assert_eq!(p.psci, None);
    assert_eq!(p.console, uart(0x0900_0000, 0x1000));
    assert_eq!(p.log, None);
    assert!(p.virtio_mmio.is_empty());
    assert_eq!(p.watchdog, None);
}

#[test]
fn ranges_translate_through_every_bus() {
    // Two levels: /soc maps 0x7e000000 -> 0xfe000000; /soc/bus has an empty
    // `ranges` (identity).
    let p = ok(&machine(|dt| {
        soc(dt, Some(PI_RANGES), |dt| {
            dt.begin("bus")
                .cells("#address-cells", &[1])
                .cells("#size-cells", &[1]);
            dt.prop("ranges", &[]);
            soc_pl011(dt, "serial@7e201000", 0x7e20_1000);
            dt.end();
        })
    }));
    assert_eq!(p.console, uart(0xfe20_1000, 0x200));

    // The third range entry, not the first.
    let p = ok(&machine(|dt| {
        soc(dt, Some(PI_RANGES), |dt| soc_pl011(dt, "s", 0x4000_1000))
    }));
    assert_eq!(p.console, uart(0xff80_1000, 0x200));

    // A bus whose child space is 2 cells wide, mapped into the root's.
    let p = ok(&machine(|dt| {
        dt.begin("emmc2bus")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[1]);
        dt.cells("ranges", &[0, 0x7e00_0000, 0, 0xfe00_0000, 0x0180_0000]);
        dt.begin("s")
            .strs("compatible", &["arm,pl011"])
            .cells("reg", &[0, 0x7e34_0000, 0x100]);
        dt.end().end();
    }));
    assert_eq!(p.console, uart(0xfe34_0000, 0x100));
}

#[test]
fn untranslatable_reg_is_bad_reg() {
    // No `ranges`: the bus is not reachable from the CPU.
    let dtb = machine(|dt| soc(dt, None, |dt| soc_pl011(dt, "s", 0x7e20_1000)));
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadReg);
    // Outside every range.
    let dtb = machine(|dt| soc(dt, Some(PI_RANGES), |dt| soc_pl011(dt, "s", 0x1000)));
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadReg);
    // `reg` not a whole number of entries.
    let dtb = machine(|dt| {
        dt.begin("s")
            .strs("compatible", &["arm,pl011"])
            .cells("reg", &[0, 0x900_0000, 0])
            .end();
    });
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadReg);
    // Wrapping past 2^64.
    let dtb = machine(|dt| {
        dt.begin("s")
            .strs("compatible", &["arm,pl011"])
            .cells("reg", &[0xffff_ffff, 0xffff_f000, 0, 0x2000])
            .end();
    });
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadReg);
}

#[test]
fn console_follows_serial0_then_lowest_address() {
    let with_alias = |target: &'static str| {
        machine(move |dt| {
            pl011(dt, 0x0904_0000);
            dt.begin("pl011@9000000")
                .strs("compatible", &["arm,pl011"])
                .cells("reg", &[0, 0x0900_0000, 0, 0x1000])
                .strs("status", &["disabled"])
                .end();
            pl011(dt, 0x0903_0000);
            dt.begin("aliases").strs("serial0", &[target]).end();
        })
    };
    // serial0 names the highest one: it wins; the log is the lowest other.
    let p = ok(&with_alias("/pl011@9040000"));
    assert_eq!(p.console, uart(0x0904_0000, 0x1000));
    assert_eq!(p.log, Some(uart(0x0903_0000, 0x1000)));
    // serial0 names a disabled PL011, or nothing: lowest available wins.
    for target in ["/pl011@9000000", "/nowhere"] {
        let p = ok(&with_alias(target));
        assert_eq!(p.console, uart(0x0903_0000, 0x1000), "{target}");
        assert_eq!(p.log, Some(uart(0x0904_0000, 0x1000)), "{target}");
    }
}

fn mini_uart(dt: &mut Dt, status: Option<&str>, with_aux: bool) {
    if with_aux {
        dt.begin("aux@7e215000")
            .strs("compatible", &["brcm,bcm2835-aux"])
            .cells("reg", &[0x7e21_5000, 8])
            .end();
    }
    dt.begin("serial@7e215040")
        .strs("compatible", &["brcm,bcm2835-aux-uart"])
        .cells("reg", &[0x7e21_5040, 0x40]);
    if let Some(s) = status {
        dt.strs("status", &[s]);
    }
    dt.end();
}

#[test]
fn log_falls_back_to_an_available_mini_uart() {
    let build = |status, with_aux| {
        machine(move |dt| {
            soc(dt, Some(PI_RANGES), |dt| {
                soc_pl011(dt, "serial@7e201000", 0x7e20_1000);
                mini_uart(dt, status, with_aux);
            })
        })
    };
    let expected = Uart {
        kind: UartKind::MiniUart {
            aux_enables: 0xfe21_5004,
        },
        base: 0xfe21_5040,
        size: 0x40,
        clock_hz: None,
    };
    assert_eq!(ok(&build(None, true)).log, Some(expected));
    assert_eq!(ok(&build(Some("okay"), true)).log, Some(expected));
    assert_eq!(ok(&build(Some("disabled"), true)).log, None);
    assert_eq!(ok(&build(None, false)).log, None);
}

#[test]
fn console_needs_an_available_pl011() {
    assert_eq!(parse(&machine(|_| {})).unwrap_err(), Error::NoConsole);
    let dtb = machine(|dt| {
        dt.begin("pl011@9000000")
            .strs("compatible", &["arm,pl011"])
            .cells("reg", &[0, 0x0900_0000, 0, 0x1000])
            .strs("status", &["disabled"])
            .end();
        mini_uart(dt, None, true);
    });
    assert_eq!(parse(&dtb).unwrap_err(), Error::NoConsole);
}

#[test]
fn uart_clock_from_a_fixed_clock_only() {
    let dtb = machine(|dt| {
        dt.begin("clk")
            .strs("compatible", &["fixed-clock"])
            .cells("#clock-cells", &[0])
            .cells("clock-frequency", &[48_000_000])
            .cells("phandle", &[7])
            .end();
        dt.begin("cprman")
            .strs("compatible", &["brcm,bcm2711-cprman"])
            .cells("phandle", &[8])
            .end();
        dt.begin("pl011@9000000")
            .strs("compatible", &["arm,pl011"])
            .cells("reg", &[0, 0x0900_0000, 0, 0x1000])
            .cells("clocks", &[7, 8])
            .end();
        dt.begin("pl011@9001000")
            .strs("compatible", &["arm,pl011"])
            .cells("reg", &[0, 0x0900_1000, 0, 0x1000])
            .cells("clocks", &[8, 0x13])
            .end();
    });
    let p = ok(&dtb);
    assert_eq!(p.console.clock_hz, Some(48_000_000));
    assert_eq!(p.log.map(|u| u.clock_hz), Some(None));
}

fn psci_machine(
    compatible: &'static [&'static str],
    method: &'static str,
    cpu_on: Option<u32>,
) -> Vec<u8> {
    machine(move |dt| {
        pl011(dt, 0x0900_0000);
        dt.begin("psci")
            .strs("compatible", compatible)
            .strs("method", &[method]);
        if let Some(id) = cpu_on {
            dt.cells("cpu_on", &[id]);
        }
        dt.end();
    })
}

#[test]
fn psci_versions_and_conduits() {
    let p = ok(&psci_machine(&["arm,psci"], "smc", Some(0x95c1_ba5e)));
    assert_eq!(
        p.psci,
        Some(Psci {
            conduit: Conduit::Smc,
            cpu_on: 0x95c1_ba5e,
            system_off: None
        })
    );
    let p = ok(&psci_machine(&["arm,psci"], "hvc", None));
    assert_eq!(
        p.psci,
        Some(Psci {
            conduit: Conduit::Hvc,
            cpu_on: 0xc400_0003,
            system_off: None
        })
    );
    for compatible in [
        &["arm,psci-0.2"][..],
        &["arm,psci-1.0", "arm,psci-0.2", "arm,psci"][..],
    ] {
        let p = ok(&psci_machine(compatible, "hvc", None));
        assert_eq!(
            p.psci,
            Some(Psci {
                conduit: Conduit::Hvc,
                cpu_on: 0xc400_0003,
                system_off: Some(0x8400_0008)
            })
        );
    }
    // An unknown conduit: no usable PSCI.
    assert_eq!(ok(&psci_machine(&["arm,psci-1.0"], "svc", None)).psci, None);
}

/// More wanted nodes than the parser's one-walk index keeps (48): the
/// lowest PL011 comes last, so an index cut short would miss it and pick
/// another console; the parser walks the blob instead and finds it.
#[test]
fn more_wanted_nodes_than_the_index_keeps() {
    let p = ok(&machine(|dt| {
        for i in 0..60 {
            pl011(dt, 0x1000_0000 + i * 0x1000);
        }
        pl011(dt, 0x0900_0000);
    }));
    assert_eq!(p.console, uart(0x0900_0000, 0x1000));
    assert_eq!(p.log, Some(uart(0x1000_0000, 0x1000)));
    // Under the limit, the same tree in miniature.
    let p = ok(&machine(|dt| {
        for i in 0..3 {
            pl011(dt, 0x1000_0000 + i * 0x1000);
        }
        pl011(dt, 0x0900_0000);
    }));
    assert_eq!(p.console, uart(0x0900_0000, 0x1000));
    assert_eq!(p.log, Some(uart(0x1000_0000, 0x1000)));
}

/// More children of the root than the index keeps (64): a `/memory`
/// node and `/chosen` after them are still found, by walking the root's
/// children as before the index.
#[test]
fn more_root_children_than_the_index_keeps() {
    let p = ok(&machine(|dt| {
        pl011(dt, 0x0900_0000);
        for i in 0..70 {
            dt.begin(&format!("filler@{i:x}")).end();
        }
        dt.begin("memory@80000000")
            .strs("device_type", &["memory"])
            .cells("reg", &[0, 0x8000_0000, 0, 0x1000_0000])
            .end();
        dt.begin("chosen").strs("bootargs", &["timeout=7"]).end();
    }));
    assert_eq!(
        p.memory[..],
        [
            region(0x4000_0000, 0x4000_0000),
            region(0x8000_0000, 0x1000_0000)
        ]
    );
    assert_eq!(p.time_limit_s, Some(7));
}
