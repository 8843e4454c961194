//! The Raspberry Pi 4's cases (QEMU `raspi4b`; `cargo xtask hil` runs the
//! same on a real board).

use core::time::Duration;

use crate::expect::*;
use crate::{Case, Expect};

pub(super) const CASES: &[Case] = &[
    Case {
        name: "boot-rpi4",
        board: "rpi4",
        smp: 4,
        defmt: LOG_ONLINE,
        console: TASKS_ON_4,
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
        name: "supervise-rpi4",
        image: "supervise",
        board: "rpi4",
        console: SUPERVISED,
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
        name: "shared-rpi4",
        image: "shared",
        board: "rpi4",
        console: SHARED_RANGE,
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
        name: "revoke-rpi4",
        image: "revoke",
        board: "rpi4",
        console: REVOKE,
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
        name: "console-rpi4",
        image: "console",
        board: "rpi4",
        console: CONSOLE,
        lines: Some(console_3x100),
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
        name: "console-hog-rpi4",
        image: "console-hog",
        board: "rpi4",
        console: CONSOLE_HOG,
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
        name: "example-rpi4",
        image: "example",
        board: "rpi4",
        console: EXAMPLE,
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
        name: "console-crash-rpi4",
        image: "console-crash",
        board: "rpi4",
        console: CONSOLE_CRASH,
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
        name: "panic-rpi4",
        image: "panic",
        board: "rpi4",
        expect: Expect::Panic("deliberate panic"),
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
        name: "time-limit-rpi4",
        image: "time-limit",
        board: "rpi4",
        timeout: Duration::from_secs(10),
        expect: Expect::Hang("TIME LIMIT: the run's 10 s are over"),
        console: crate::limit::TIME_LIMIT,
        lines: Some(crate::limit::time_limit),
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
];
