//! The table of QEMU test cases.
//!
//! The boot cases form a matrix in which every value appears at least once:
//! virt with 1, 2, 4, 8 and 16 (the kernel's `MAX_CPUS`) cores; Cortex-A53,
//! A57, A72 and `max`, and among QEMU's newer ARMv8-A/v9-A models Cortex-A55,
//! A76, Neoverse-N1 and A64FX; GICv2 and GICv3; entry at EL1 and at EL2;
//! 256 MiB, the default 1 GiB and 4 GiB of RAM; the Raspberry Pi 4 and the
//! i.MX 8M Plus EVK. The demo images then prove that a panic, an
//! unexpected exception, a kernel stack overflow and a hang are each
//! reported as failures.

use core::time::Duration;

use crate::expect::*;
use crate::{Case, Expect};

mod imx8mp;
mod net;
mod rpi4;
#[cfg(test)]
mod tests;

/// Every QEMU test case, in the order `cargo xtask test` runs them: those
/// of virt (below), then the Raspberry Pi 4's (rpi4.rs), then the i.MX 8M
/// Plus's (imx8mp.rs).
pub const CASES: &[Case] = &ALL;

const PARTS: [&[Case]; 4] = [VIRT, net::CASES, rpi4::CASES, imx8mp::CASES];
static ALL: [Case; VIRT.len() + net::CASES.len() + rpi4::CASES.len() + imx8mp::CASES.len()] =
    concat(&PARTS);

/// The parts one after another, as one array (`N` must be their total
/// length).
const fn concat<const N: usize>(parts: &[&[Case]]) -> [Case; N] {
    let mut out = [Case::BASE; N];
    let (mut i, mut part, mut j) = (0, 0, 0);
    while i < N {
        while j == parts[part].len() {
            part += 1;
            j = 0;
        }
        out[i] = parts[part][j];
        i += 1;
        j += 1;
    }
    out
}

/// The cases of QEMU `virt`.
const VIRT: &[Case] = &[
    Case {
        name: "boot-virt-smp1-a53-gic2-256m",
        smp: 1,
        cpu: Some("cortex-a53"),
        gic: Some(2),
        mem: Some("256M"),
        console: TASKS_ON_1,
        ..Case::BASE
    },
    Case {
        name: "boot-virt-smp2-a57-gic3-el2",
        smp: 2,
        cpu: Some("cortex-a57"),
        gic: Some(3),
        el2: true,
        // One case runs with deterministic guest time, so that mode stays working.
        icount: true,
        ..Case::BASE
    },
    Case {
        name: "boot-virt-smp4-a72-gic3",
        smp: 4,
        cpu: Some("cortex-a72"),
        gic: Some(3),
        defmt: LOG_ONLINE,
        console: TASKS_ON_4,
        ..Case::BASE
    },
    Case {
        name: "boot-virt-smp8-max-gic3-4g-el2",
        smp: 8,
        cpu: Some("max"),
        gic: Some(3),
        el2: true,
        mem: Some("4G"),
        ..Case::BASE
    },
    Case {
        name: "boot-virt-smp4-a72-gic2-el2",
        smp: 4,
        cpu: Some("cortex-a72"),
        gic: Some(2),
        el2: true,
        ..Case::BASE
    },
    Case {
        name: "boot-virt-smp8-a53-gic2",
        smp: 8,
        cpu: Some("cortex-a53"),
        gic: Some(2),
        ..Case::BASE
    },
    // Newer models (ARMv8.2-A and later, SVE on A64FX) than the four above:
    // each boots, cheaply, the default image.
    Case {
        name: "boot-virt-smp4-a76-gic3",
        smp: 4,
        cpu: Some("cortex-a76"),
        gic: Some(3),
        console: TASKS_ON_4,
        ..Case::BASE
    },
    Case {
        name: "boot-virt-smp2-n1-gic2",
        smp: 2,
        cpu: Some("neoverse-n1"),
        gic: Some(2),
        ..Case::BASE
    },
    Case {
        name: "boot-virt-smp4-a55-gic3-el2",
        smp: 4,
        cpu: Some("cortex-a55"),
        gic: Some(3),
        el2: true,
        ..Case::BASE
    },
    // The kernel's MAX_CPUS; more than a GICv2 can address.
    Case {
        name: "boot-virt-smp16-a64fx-gic3",
        smp: 16,
        cpu: Some("a64fx"),
        gic: Some(3),
        console: TASKS_ON_4,
        ..Case::BASE
    },
    Case {
        name: "faults-virt",
        image: "faults",
        console: EVERY_FAULT_CONTAINED,
        ..Case::BASE
    },
    Case {
        name: "timeslice-virt",
        image: "timeslice",
        smp: 2,
        // Deterministic: the same slices every run.
        icount: true,
        console: &[
            "[spinner@0] spinner slot 0: preempted",
            "[spinner@0] spinner slot 1: preempted",
            "task hello on core 0 exited with status 0",
            "memory: no frames leaked",
        ],
        ..Case::BASE
    },
    Case {
        name: "supervise-virt",
        image: "supervise",
        console: SUPERVISED,
        ..Case::BASE
    },
    Case {
        name: "supervise-virt-gic2",
        image: "supervise",
        gic: Some(2),
        console: SUPERVISED,
        ..Case::BASE
    },
    Case {
        name: "isolation-virt",
        image: "isolation",
        console: ISOLATION,
        ..Case::BASE
    },
    Case {
        name: "isolation-virt-max-el2",
        image: "isolation",
        cpu: Some("max"),
        el2: true,
        console: ISOLATION,
        ..Case::BASE
    },
    Case {
        name: "shared-virt",
        image: "shared",
        console: SHARED_RANGE,
        ..Case::BASE
    },
    Case {
        name: "longmap-virt",
        image: "longmap",
        smp: 1,
        // Deterministic: the same slices every run.
        icount: true,
        console: LONG_MAP,
        ..Case::BASE
    },
    Case {
        name: "capcheck-virt",
        image: "capcheck",
        // Less memory than the out-of-memory check asks for.
        mem: Some("512M"),
        console: CAPCHECK,
        ..Case::BASE
    },
    Case {
        name: "leaks-virt",
        image: "leaks",
        console: LEAKS,
        ..Case::BASE
    },
    // The system-call fuzzer, short: seed 1, 100 000 calls on each of four
    // cores (`cargo xtask fuzz` for long runs).
    Case {
        name: "fuzz-virt",
        image: "fuzz",
        timeout: Duration::from_secs(120),
        console: FUZZ,
        lines: Some(crate::fuzz::fuzz_4),
        ..Case::BASE
    },
    Case {
        name: "revoke-virt",
        image: "revoke",
        console: REVOKE,
        ..Case::BASE
    },
    Case {
        name: "rights-virt",
        image: "rights",
        console: RIGHTS,
        ..Case::BASE
    },
    Case {
        name: "console-virt",
        image: "console",
        console: CONSOLE,
        lines: Some(console_3x100),
        ..Case::BASE
    },
    Case {
        name: "blk-write-virt",
        image: "blk",
        console: BLK_WRITE,
        lines: Some(interrupts_taken),
        disk_pattern: BLK_SECTORS,
        ..Case::BASE
    },
    // Must follow blk-write-virt: it boots on the disk that case left.
    Case {
        name: "blk-read-virt",
        image: "blk",
        keep_disk: true,
        console: BLK_READ,
        disk_pattern: BLK_SECTORS,
        ..Case::BASE
    },
    // The device interrupt's route on a GICv2 (GICD_ITARGETSR), after the
    // GICv3 cases (GICD_IROUTER) above: the same run.
    Case {
        name: "blk-gic2-virt",
        image: "blk",
        gic: Some(2),
        console: BLK_WRITE,
        lines: Some(interrupts_taken),
        disk_pattern: BLK_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "blk-crash-virt",
        image: "blk-crash",
        console: BLK_CRASH,
        disk_pattern: BLK_CRASH_SECTORS,
        ..Case::BASE
    },
    // The storage benchmark's image on virt (virtio-blk): the lines
    // `cargo xtask bench storage` reads, and the client's data check.
    Case {
        name: "storage-virt",
        image: "storage-virtio",
        console: &["[blk@3] blk server: disk of 2048 sectors", "memory: no frames leaked"],
        lines: Some(crate::bench::storage_problems),
        ..Case::BASE
    },
    // Its short run (32 requests a workload), which the regression guard
    // boots under -icount: the same lines and check.
    Case {
        name: "storage-short-virt",
        image: "storage-virtio-short",
        console: &["[blk@3] blk server: disk of 2048 sectors", "memory: no frames leaked"],
        lines: Some(crate::bench::storage_problems),
        ..Case::BASE
    },
    Case {
        name: "blk-prio-virt",
        image: "blk-prio",
        console: BLK_PRIO,
        disk_pattern: BLK_PRIO_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "sd-prio-rpi4",
        image: "sd-prio",
        board: "rpi4",
        timeout: Duration::from_secs(120),
        console: SD_PRIO,
        disk_pattern: BLK_PRIO_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "blk-gone-virt",
        image: "blk-gone",
        console: BLK_GONE,
        disk_pattern: BLK_GONE_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "blk-kernel-virt",
        image: "blk-kernel",
        console: BLK_KERNEL,
        disk_pattern: BLK_KERNEL_SECTORS,
        ..Case::BASE
    },
    // The in-kernel driver's sleep on a GICv2: its interrupt routed
    // through GICD_ITARGETSR, the priority mask in GICC_PMR.
    Case {
        name: "blk-kernel-gic2-virt",
        image: "blk-kernel",
        gic: Some(2),
        console: BLK_KERNEL,
        disk_pattern: BLK_KERNEL_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "console-hostile-virt",
        image: "console-hostile",
        console: CONSOLE_HOSTILE,
        lines: Some(console_2x100),
        ..Case::BASE
    },
    Case {
        name: "blk-hostile-virt",
        image: "blk-hostile",
        console: BLK_HOSTILE,
        disk_pattern: BLK_HOSTILE_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "console-mix-virt",
        image: "console-mix",
        smp: 8,
        console: CONSOLE_MIX,
        lines: Some(console_mix_7x60),
        ..Case::BASE
    },
    Case {
        name: "console-hog-virt",
        image: "console-hog",
        console: CONSOLE_HOG,
        ..Case::BASE
    },
    Case {
        name: "console-prio-virt",
        image: "console-prio",
        console: CONSOLE_PRIO,
        lines: Some(console_prio_3x60),
        ..Case::BASE
    },
    Case {
        name: "console-gone-virt",
        image: "console-gone",
        console: CONSOLE_GONE,
        lines: Some(console_2x100),
        ..Case::BASE
    },
    Case {
        name: "example-virt",
        image: "example",
        console: EXAMPLE,
        ..Case::BASE
    },
    Case {
        name: "connect-absent-virt",
        image: "connect-absent",
        console: CONNECT_ABSENT,
        lines: Some(console_1x100),
        ..Case::BASE
    },
    Case {
        name: "console-crash-virt",
        image: "console-crash",
        console: CONSOLE_CRASH,
        ..Case::BASE
    },
    Case {
        name: "console-input-virt",
        image: "console-input",
        console: CONSOLE_INPUT,
        input: CONSOLE_INPUT_TEXT,
        ..Case::BASE
    },
    Case {
        name: "bench-events-virt",
        image: "bench",
        smp: 1,
        icount: true,
        console: &[
            "[bench@0] bench null-syscall events over 20000 ops: 0 shared-lock acquisitions, 0 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
            "[bench@0] bench debug-print events over 10 calls: 10 shared-lock acquisitions",
            // Private share and private range: no cross-core traffic at all.
            "[bench@0] bench cap-lookup-private events over 20000 ops: 0 shared-lock acquisitions, 0 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
            "[bench@0] bench cap-add-remove-private events over 20000 ops: 0 shared-lock acquisitions, 0 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
            "[bench@0] bench map-touch-unmap-private events over 2000 ops: 0 shared-lock acquisitions, 0 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
            "[bench@0] bench map-touch-unmap-private-range events over 2000 ops: 0 shared-lock acquisitions, 0 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
            // Their shared counterparts pay: the checks can fail.
            "[bench@0] bench cap-lookup-shared events over 20000 ops: 20000 shared-lock acquisitions",
            "[bench@0] bench cap-add-remove-shared events over 20000 ops: 40000 shared-lock acquisitions, 0 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
            "[bench@0] bench map-touch-unmap-shared events over 2000 ops: 4000 shared-lock acquisitions, 2000 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
        ],
        ..Case::BASE
    },
    Case {
        name: "panic-virt",
        image: "panic",
        expect: Expect::Panic("deliberate panic"),
        ..Case::BASE
    },
    Case {
        name: "fault-virt",
        image: "fault",
        expect: Expect::Fault,
        ..Case::BASE
    },
    Case {
        name: "stack-overflow-virt",
        image: "stack-overflow",
        console: &["core 3 recursing without bound"],
        expect: Expect::Panic("kernel stack overflow on core 3"),
        ..Case::BASE
    },
    Case {
        name: "stack-overflow-virt-smp1",
        image: "stack-overflow",
        smp: 1,
        console: &["core 0 recursing without bound"],
        expect: Expect::Panic("kernel stack overflow on core 0"),
        ..Case::BASE
    },
    Case {
        // The kernel's verdict: tasks that do not do what the image expects
        // fail the run (status 103) and are named in one summary line.
        name: "verdict-fails-virt",
        image: "verdict",
        expect: Expect::Failed("hello (core 0), faulter (core 1)"),
        console: VERDICT_LINES,
        ..Case::BASE
    },
    Case {
        // A restart that cannot rebuild its task (its core's object cells
        // are held by cellhog): the task reads as NotRestarted, so the
        // supervisor stops waiting; the failed restart fails the run, and
        // the attempt leaks nothing.
        name: "restart-fails-virt",
        image: "restart-fails",
        expect: Expect::Failed("faulter (core 1)"),
        console: &[
            "[supervisor@0] supervisor: restarting core 1 slot 0",
            "task faulter: not started: no root share: OutOfMemory",
            "restart of task faulter on core 1 failed",
            "[supervisor@0] supervisor: core 1 slot 0 could not be restarted: left stopped",
            "[cellhog@1] cellhog on core 1: held",
            "task supervisor on core 0 exited with status 0",
            "objects: none left",
            "memory: no frames leaked",
        ],
        ..Case::BASE
    },
    Case {
        name: "time-limit-virt",
        image: "time-limit",
        timeout: Duration::from_secs(10),
        expect: Expect::Hang("TIME LIMIT: the run's 10 s are over"),
        console: crate::limit::TIME_LIMIT,
        lines: Some(crate::limit::time_limit),
        ..Case::BASE
    },
    Case {
        name: "hang-virt",
        image: "hang",
        timeout: Duration::from_secs(8),
        expect: Expect::Hang("all 4 cores online"),
        ..Case::BASE
    },
    // Every image at its documented defaults on each of its boards (the
    // rest of the table covers the others; xtask's image tests check that
    // none is missing).
    Case {
        name: "default-virt",
        console: TASKS_ON_4,
        ..Case::BASE
    },
    Case {
        name: "corey-virt",
        image: "corey",
        timeout: Duration::from_secs(120),
        console: COREY_4,
        ..Case::BASE
    },
];
