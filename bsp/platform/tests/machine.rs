//! Cores, memory and the rest of the machine on hand-built trees: enable
//! methods, core limits, memory banks, reservations, virtio-mmio, the
//! watchdog, and interrupt specifiers that must lead to the GIC.

mod common;

use common::*;
use platform::{parse, Cpu, EnableMethod, Error, Gic, Timer, VirtioMmio};

/// A machine whose `/cpus` holds `cpus` (1 address cell, 0 size cells).
fn cpus_machine(with_psci: bool, cpus: impl FnOnce(&mut Dt)) -> Vec<u8> {
    let mut dt = Dt::new();
    dt.begin("")
        .cells("#address-cells", &[2])
        .cells("#size-cells", &[2]);
    dt.cells("interrupt-parent", &[1]);
    dt.begin("memory@0")
        .strs("device_type", &["memory"])
        .cells("reg", &[0, 0, 0, 0x1000_0000])
        .end();
    dt.begin("gic")
        .strs("compatible", &["arm,gic-v3"])
        .cells("#interrupt-cells", &[3])
        .cells(
            "reg",
            &[0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0xf6_0000],
        )
        .cells("phandle", &[1])
        .end();
    dt.begin("timer")
        .strs("compatible", &["arm,armv7-timer"])
        .cells(
            "interrupts",
            &[
                1, 13, 0xf08, 1, 14, 0xf08, 1, 11, 0xf08, 1, 10, 0xf08, 1, 12, 0xf08,
            ],
        )
        .end();
    pl011(&mut dt, 0x0900_0000);
    if with_psci {
        dt.begin("psci")
            .strs("compatible", &["arm,psci-1.0"])
            .strs("method", &["hvc"])
            .end();
    }
    dt.begin("cpus")
        .cells("#address-cells", &[2])
        .cells("#size-cells", &[0]);
    cpus(&mut dt);
    dt.end().end();
    dt.build()
}

fn cpu(dt: &mut Dt, mpidr: u64, method: Option<&str>, release: &[u32]) {
    dt.begin(&format!("cpu@{mpidr:x}"))
        .strs("device_type", &["cpu"])
        .cells("reg", &[(mpidr >> 32) as u32, mpidr as u32]);
    if let Some(m) = method {
        dt.strs("enable-method", &[m]);
    }
    if !release.is_empty() {
        dt.cells("cpu-release-addr", release);
    }
    dt.end();
}

#[test]
fn cores_in_dtb_order_with_their_enable_methods() {
    let dtb = cpus_machine(true, |dt| {
        cpu(dt, 0x100, None, &[]);
        cpu(dt, 0x0, Some("psci"), &[]);
        cpu(dt, 0x1_0000_0001, Some("spin-table"), &[0x1, 0x2345_6789]);
        cpu(dt, 0x2, Some("spin-table"), &[0xe0]);
        // Not cores: no device_type, or another name.
        dt.begin("cpu@9").cells("reg", &[0, 9]).end();
        dt.begin("cpu-map").begin("cluster0").end().end();
        dt.begin("l2-cache")
            .strs("device_type", &["cpu"])
            .cells("reg", &[0, 8])
            .end();
    });
    let p = ok(&dtb);
    assert_eq!(
        p.cpus[..],
        [
            Cpu {
                mpidr: 0x100,
                enable_method: EnableMethod::None
            },
            Cpu {
                mpidr: 0,
                enable_method: EnableMethod::Psci
            },
            Cpu {
                mpidr: 0x1_0000_0001,
                enable_method: EnableMethod::SpinTable {
                    release_addr: 0x1_2345_6789
                }
            },
            Cpu {
                mpidr: 2,
                enable_method: EnableMethod::SpinTable { release_addr: 0xe0 }
            },
        ]
    );
    // armv7-timer, five interrupts, GICv3, level-low flags: first four used.
    assert_eq!(
        p.timer,
        Timer {
            secure_phys_intid: 29,
            phys_intid: 30,
            virt_intid: 27,
            hyp_intid: 26
        }
    );
    assert_eq!(
        p.gic,
        Gic::V3 {
            dist: region(0x0800_0000, 0x1_0000),
            redist: region(0x080a_0000, 0xf6_0000)
        }
    );
}

#[test]
fn bad_enable_methods() {
    type Cores = fn(&mut Dt);
    let cases: [(bool, Cores); 4] = [
        (false, |dt| cpu(dt, 0, Some("psci"), &[])),
        (true, |dt| cpu(dt, 0, Some("spin-table"), &[])),
        (true, |dt| cpu(dt, 0, Some("spin-table"), &[0, 0, 0xd8])),
        (true, |dt| cpu(dt, 0, Some("brcm,bcm2836-smp"), &[])),
    ];
    for (i, (with_psci, cpus)) in cases.into_iter().enumerate() {
        assert_eq!(
            parse(&cpus_machine(with_psci, cpus)).unwrap_err(),
            Error::BadEnableMethod,
            "{i}"
        );
    }
}

#[test]
fn core_count_limits() {
    assert_eq!(
        parse(&cpus_machine(true, |_| {})).unwrap_err(),
        Error::NoCpus
    );
    let sixteen = |dt: &mut Dt| (0..16).for_each(|i| cpu(dt, i, Some("psci"), &[]));
    assert_eq!(ok(&cpus_machine(true, sixteen)).cpus.len(), 16);
    let seventeen = |dt: &mut Dt| (0..17).for_each(|i| cpu(dt, i, Some("psci"), &[]));
    assert_eq!(
        parse(&cpus_machine(true, seventeen)).unwrap_err(),
        Error::TooManyCpus
    );
}

#[test]
fn memory_banks_sorted_and_status_respected() {
    let p = ok(&machine(|dt| {
        pl011(dt, 0x0900_0000);
        dt.begin("memory@80000000")
            .strs("device_type", &["memory"])
            .cells(
                "reg",
                &[0, 0x8000_0000, 0, 0x4000_0000, 1, 0, 0, 0x1000_0000],
            )
            .end();
        dt.begin("memory@0")
            .cells("reg", &[0, 0, 0, 0x3b40_0000])
            .end();
        dt.begin("memory@f0000000")
            .strs("device_type", &["memory"])
            .strs("status", &["disabled"])
            .cells("reg", &[0, 0xf000_0000, 0, 0x1000])
            .end();
        dt.begin("reserved-memory")
            .cells("#address-cells", &[2])
            .cells("#size-cells", &[2])
            .prop("ranges", &[]);
        dt.begin("a@3000")
            .cells("reg", &[0, 0x3000, 0, 0x100, 0, 0x5000, 0, 0x100])
            .end();
        dt.begin("b@2000")
            .cells("reg", &[0, 0x2000, 0, 0x100])
            .strs("status", &["disabled"])
            .end();
        dt.begin("pool").cells("size", &[0, 0x400_0000]).end();
        dt.end();
    }));
    assert_eq!(
        p.memory[..],
        [
            region(0, 0x3b40_0000),
            region(0x4000_0000, 0x4000_0000),
            region(0x8000_0000, 0x4000_0000),
            region(0x1_0000_0000, 0x1000_0000),
        ]
    );
    assert_eq!(
        p.reserved[..],
        [region(0x3000, 0x100), region(0x5000, 0x100)]
    );
}

#[test]
fn memreserve_entries_are_reserved() {
    let dtb = machine(|dt| pl011(dt, 0x0900_0000));
    let with = splice_reservations(&dtb, &[(0x4000_0000, 0x1000), (0, 0x1000)]);
    assert_eq!(
        ok(&with).reserved[..],
        [region(0, 0x1000), region(0x4000_0000, 0x1000)]
    );
    let wrapping = splice_reservations(&dtb, &[(u64::MAX, 2)]);
    assert_eq!(parse(&wrapping).unwrap_err(), Error::BadDtb);
    let too_many: Vec<(u64, u64)> = (1..=17).map(|i| (i << 12, 0x1000)).collect();
    assert_eq!(
        parse(&splice_reservations(&dtb, &too_many)).unwrap_err(),
        Error::TooManyRegions
    );
    // No terminating entry before the end of the blob.
    let mut unterminated = dtb.clone();
    unterminated[16..20].copy_from_slice(&(dtb.len() as u32 - 8).to_be_bytes());
    assert_eq!(parse(&unterminated).unwrap_err(), Error::BadDtb);
}

/// `dtb` (as written by [`Dt`], with no reservations) with `entries` in its
/// memory reservation block.
fn splice_reservations(dtb: &[u8], entries: &[(u64, u64)]) -> Vec<u8> {
    let extra = 16 * entries.len();
    let mut out = dtb[..40].to_vec();
    for &(a, s) in entries {
        out.extend_from_slice(&a.to_be_bytes());
        out.extend_from_slice(&s.to_be_bytes());
    }
    out.extend_from_slice(&dtb[40..]);
    for field in [1, 2, 3] {
        let at = field * 4;
        let v = u32::from_be_bytes(out[at..at + 4].try_into().unwrap()) + extra as u32;
        out[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[test]
fn virtio_and_watchdog() {
    let p = ok(&machine(|dt| {
        pl011(dt, 0x0900_0000);
        for (base, spi) in [(0x0a00_0200u32, 17u32), (0x0a00_0000, 16)] {
            dt.begin(&format!("virtio_mmio@{base:x}"))
                .strs("compatible", &["virtio,mmio"])
                .cells("interrupts", &[0, spi, 1])
                .cells("reg", &[0, base, 0, 0x200])
                .end();
        }
        dt.begin("virtio_mmio@a000400")
            .strs("compatible", &["virtio,mmio"])
            .strs("status", &["disabled"])
            .cells("interrupts", &[0, 18, 1])
            .cells("reg", &[0, 0x0a00_0400, 0, 0x200])
            .end();
        soc(dt, Some(PI_RANGES), |dt| {
            dt.begin("watchdog@7e100000")
                .strs("compatible", &["brcm,bcm2711-pm", "brcm,bcm2835-pm-wdt"])
                .cells("reg", &[0x7e10_0000, 0x114, 0x7e00_a000, 0x24])
                .end();
        });
    }));
    assert_eq!(
        p.virtio_mmio[..],
        [
            VirtioMmio {
                region: region(0x0a00_0000, 0x200),
                intid: 48
            },
            VirtioMmio {
                region: region(0x0a00_0200, 0x200),
                intid: 49
            },
        ]
    );
    assert_eq!(p.watchdog, Some(region(0xfe10_0000, 0x114)));
}

#[test]
fn interrupts_must_reach_the_gic() {
    let virtio = |dt: &mut Dt, parent: Option<u32>| {
        dt.begin("virtio_mmio@a000000")
            .strs("compatible", &["virtio,mmio"])
            .cells("interrupts", &[0, 16, 1])
            .cells("reg", &[0, 0x0a00_0000, 0, 0x200]);
        if let Some(p) = parent {
            dt.cells("interrupt-parent", &[p]);
        }
        dt.end();
    };
    // Another controller.
    let dtb = machine(|dt| {
        pl011(dt, 0x0900_0000);
        dt.begin("l1-intc")
            .cells("#interrupt-cells", &[2])
            .cells("phandle", &[5])
            .end();
        virtio(dt, Some(5));
    });
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadInterrupt);
    // An interrupt-parent cycle with no controller on it must end.
    let dtb = machine(|dt| {
        pl011(dt, 0x0900_0000);
        dt.begin("a")
            .cells("phandle", &[5])
            .cells("interrupt-parent", &[6])
            .end();
        dt.begin("b")
            .cells("phandle", &[6])
            .cells("interrupt-parent", &[5])
            .end();
        virtio(dt, Some(5));
    });
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadInterrupt);
    // A dangling phandle.
    let dtb = machine(|dt| {
        pl011(dt, 0x0900_0000);
        virtio(dt, Some(0x77));
    });
    assert_eq!(parse(&dtb).unwrap_err(), Error::BadInterrupt);
}

#[test]
fn the_time_limit_comes_from_bootargs() {
    let with = |args: Option<&str>| {
        ok(&machine(|dt| {
            pl011(dt, 0x0900_0000);
            if let Some(a) = args {
                dt.begin("chosen").strs("bootargs", &[a]).end();
            }
        }))
        .time_limit_s
    };
    assert_eq!(with(None), None);
    assert_eq!(with(Some("timeout=30")), Some(30));
    assert_eq!(with(Some("quiet timeout=7 x=1")), Some(7));
    assert_eq!(with(Some("timeout=soon")), None);
    assert_eq!(with(Some("notimeout=3")), None);
}
