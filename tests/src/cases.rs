//! The table of QEMU test cases.
//!
//! The boot cases form a matrix in which every value appears at least once:
//! virt with 1, 2, 4, 8 and 16 (the kernel's `MAX_CPUS`) cores; Cortex-A53,
//! A57, A72 and `max`, and among QEMU's newer ARMv8-A/v9-A models Cortex-A55,
//! A76, Neoverse-N1 and A64FX; GICv2 and GICv3; entry at EL1 and at EL2;
//! 256 MiB, the default 1 GiB and 4 GiB of RAM; and the Raspberry Pi 4. The demo images then prove that a panic, an
//! unexpected exception, a kernel stack overflow and a hang are each
//! reported as failures.

use core::time::Duration;

use crate::expect::*;
use crate::{Case, Expect};

/// Every QEMU test case, in the order `cargo xtask test` runs them.
pub const CASES: &[Case] = &[
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
        name: "boot-rpi4",
        board: "rpi4",
        smp: 4,
        defmt: LOG_ONLINE,
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
        name: "faults-rpi4",
        image: "faults",
        board: "rpi4",
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
        name: "supervise-rpi4",
        image: "supervise",
        board: "rpi4",
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
        name: "isolation-rpi4",
        image: "isolation",
        board: "rpi4",
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
        name: "shared-rpi4",
        image: "shared",
        board: "rpi4",
        console: SHARED_RANGE,
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
        name: "fuzz-rpi4",
        image: "fuzz",
        board: "rpi4",
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
        name: "revoke-rpi4",
        image: "revoke",
        board: "rpi4",
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
        name: "rights-rpi4",
        image: "rights",
        board: "rpi4",
        console: RIGHTS,
        ..Case::BASE
    },
    Case {
        name: "corey-rpi4",
        image: "corey-rpi4",
        board: "rpi4",
        timeout: Duration::from_secs(120),
        console: COREY_4,
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
        name: "console-rpi4",
        image: "console",
        board: "rpi4",
        console: CONSOLE,
        lines: Some(console_3x100),
        ..Case::BASE
    },
    Case {
        name: "blk-write-virt",
        image: "blk",
        console: BLK_WRITE,
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
    // The same clients on the Pi 4's SD card (a card image as `flash`
    // makes it); the host checks the data partition and that the MBR and
    // boot partition are untouched byte for byte.
    Case {
        name: "sd-write-rpi4",
        image: "sd",
        board: "rpi4",
        timeout: Duration::from_secs(120),
        console: SD_WRITE,
        disk_pattern: BLK_SECTORS,
        ..Case::BASE
    },
    // Must follow sd-write-rpi4: it boots on the card that case left.
    Case {
        name: "sd-read-rpi4",
        image: "sd",
        board: "rpi4",
        keep_disk: true,
        timeout: Duration::from_secs(120),
        console: SD_READ,
        disk_pattern: BLK_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "sd-nocard-rpi4",
        image: "sd-nocard",
        board: "rpi4",
        no_disk: true,
        console: SD_NOCARD,
        ..Case::BASE
    },
    Case {
        name: "sd-crash-rpi4",
        image: "sd-crash",
        board: "rpi4",
        timeout: Duration::from_secs(120),
        console: SD_CRASH,
        disk_pattern: BLK_CRASH_SECTORS,
        ..Case::BASE
    },
    Case {
        name: "blk-crash-virt",
        image: "blk-crash",
        console: BLK_CRASH,
        disk_pattern: BLK_CRASH_SECTORS,
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
        name: "net-echo-virt",
        image: "net-echo",
        console: NET_ECHO,
        net: Some(NET_ECHO_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "net-crash-virt",
        image: "net-crash",
        console: NET_CRASH,
        net: Some(NET_CRASH_TRAFFIC),
        timeout: Duration::from_secs(180),
        ..Case::BASE
    },
    Case {
        name: "blk-kernel-virt",
        image: "blk-kernel",
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
        name: "console-hog-rpi4",
        image: "console-hog",
        board: "rpi4",
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
        name: "console-prio-rpi4",
        image: "console-prio",
        board: "rpi4",
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
        name: "example-rpi4",
        image: "example",
        board: "rpi4",
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
        name: "console-gone-rpi4",
        image: "console-gone",
        board: "rpi4",
        console: CONSOLE_GONE,
        lines: Some(console_2x100),
        ..Case::BASE
    },
    Case {
        name: "console-crash-virt",
        image: "console-crash",
        console: CONSOLE_CRASH,
        ..Case::BASE
    },
    Case {
        name: "console-crash-rpi4",
        image: "console-crash",
        board: "rpi4",
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
        name: "console-input-rpi4",
        image: "console-input",
        board: "rpi4",
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
        name: "panic-rpi4",
        image: "panic",
        board: "rpi4",
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
        name: "stack-overflow-rpi4",
        image: "stack-overflow",
        board: "rpi4",
        console: &["core 3 recursing without bound"],
        expect: Expect::Panic("kernel stack overflow on core 3"),
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
        console: &["core 1: task forever", "time limit: 10 s"],
        ..Case::BASE
    },
    Case {
        name: "time-limit-rpi4",
        image: "time-limit",
        board: "rpi4",
        timeout: Duration::from_secs(10),
        expect: Expect::Hang("TIME LIMIT: the run's 10 s are over"),
        console: &["core 1: task forever", "time limit: 10 s"],
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
        name: "hang-rpi4",
        image: "hang",
        board: "rpi4",
        timeout: Duration::from_secs(8),
        expect: Expect::Hang("all 4 cores online"),
        ..Case::BASE
    },
    Case {
        name: "fault-rpi4",
        image: "fault",
        board: "rpi4",
        expect: Expect::Fault,
        ..Case::BASE
    },
    Case {
        name: "timeslice-rpi4",
        image: "timeslice",
        board: "rpi4",
        console: &[
            "[spinner@0] spinner slot 0: preempted",
            "[spinner@0] spinner slot 1: preempted",
            "task hello on core 0 exited with status 0",
            "memory: no frames leaked",
        ],
        ..Case::BASE
    },
    Case {
        name: "bench-rpi4",
        image: "bench",
        board: "rpi4",
        console: &["[bench@0] bench null-syscall", "memory: no frames leaked"],
        // The PMU cycle counter is read: the figure hil shows on a real
        // board.
        lines: Some(crate::bench::cycles_per_op),
        ..Case::BASE
    },
    // The storage benchmark's image on virt (virtio-blk): the same lines.
    Case {
        name: "storage-virt",
        image: "storage-virtio",
        console: &["[blk@3] blk server: disk of 2048 sectors", "memory: no frames leaked"],
        lines: Some(crate::bench::storage_problems),
        ..Case::BASE
    },
    // The storage benchmark's image on the SD card: the result lines
    // `cargo xtask hil` shows on a board, and the client's data check.
    Case {
        name: "storage-rpi4",
        image: "storage-sd",
        board: "rpi4",
        timeout: Duration::from_secs(120),
        // No QEMU-only figure: `hil` runs this case on a board, whose
        // firmware answers for EMMC2 (clock 12) at its own rate.
        console: &[
            "[sd@3] sd: base clock",
            "[sd@3] sd: card ready",
            "memory: no frames leaked",
        ],
        lines: Some(crate::bench::storage_problems),
        ..Case::BASE
    },
    Case {
        name: "console-hostile-rpi4",
        image: "console-hostile",
        board: "rpi4",
        console: CONSOLE_HOSTILE,
        lines: Some(console_2x100),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_tidy() {
        for (i, case) in CASES.iter().enumerate() {
            assert!(
                !case.name.is_empty()
                    && case
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "bad name {:?}",
                case.name
            );
            assert!(
                CASES[..i].iter().all(|other| other.name != case.name),
                "duplicate name {}",
                case.name
            );
        }
    }

    #[test]
    fn boot_matrix_covers_every_value() {
        let boot = || CASES.iter().filter(|c| c.expect == Expect::Boot);
        for smp in [1, 2, 4, 8, 16] {
            assert!(
                boot().any(|c| c.board == "virt" && c.smp == smp),
                "smp {smp}"
            );
        }
        for cpu in [
            "cortex-a53",
            "cortex-a57",
            "cortex-a72",
            "max",
            "cortex-a55",
            "cortex-a76",
            "neoverse-n1",
            "a64fx",
        ] {
            assert!(boot().any(|c| c.cpu == Some(cpu)), "cpu {cpu}");
        }
        for gic in [2, 3] {
            assert!(boot().any(|c| c.gic == Some(gic)), "gic {gic}");
        }
        assert!(boot().any(|c| c.board == "virt" && c.el2));
        assert!(boot().any(|c| c.board == "virt" && !c.el2));
        for mem in ["256M", "4G"] {
            assert!(boot().any(|c| c.mem == Some(mem)), "mem {mem}");
        }
        assert!(boot().any(|c| c.board == "rpi4"));
    }

    #[test]
    fn failure_modes_and_defmt_are_covered() {
        let has = |f: &dyn Fn(&Case) -> bool| CASES.iter().any(f);
        assert!(has(
            &|c| c.board == "virt" && matches!(c.expect, Expect::Panic(_))
        ));
        assert!(has(
            &|c| c.board == "rpi4" && matches!(c.expect, Expect::Panic(_))
        ));
        assert!(has(&|c| c.expect == Expect::Fault));
        assert!(has(
            &|c| matches!(c.expect, Expect::Hang(_)) && c.timeout < Duration::from_secs(15)
        ));
        assert!(has(&|c| !c.defmt.is_empty()));
    }

    #[test]
    fn icount_is_exercised_and_reproducible() {
        let case = CASES.iter().find(|c| c.icount).expect("an icount case");
        assert!(case
            .qemu_flags()
            .join(" ")
            .ends_with("-- -icount shift=0,align=off,sleep=off"));
    }

    #[test]
    fn qemu_flags_reproduce_the_case() {
        let case = CASES
            .iter()
            .find(|c| c.name == "boot-virt-smp8-max-gic3-4g-el2")
            .expect("case exists");
        assert_eq!(
            case.qemu_flags().join(" "),
            "--board virt --smp 8 --cpu max --gic 3 --el2 --mem 4G --image default"
        );
    }
}
