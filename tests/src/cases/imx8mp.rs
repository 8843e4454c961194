//! The NXP i.MX 8M Plus EVK's cases (QEMU `imx8mp-evk`): every
//! board-independent image the Raspberry Pi 4 runs, with the same checks.
//! Not here: the SD card (the EVK's uSDHC has no server yet), the Corey
//! workloads (benchmarks) and the HIL path.

use core::time::Duration;

use crate::expect::*;
use crate::{Case, Expect};

const IMX: Case = Case {
    board: "imx8mp",
    ..Case::BASE
};

pub(super) const CASES: &[Case] = &[
    Case {
        name: "boot-imx8mp",
        defmt: LOG_ONLINE,
        console: TASKS_ON_4,
        ..IMX
    },
    Case {
        name: "faults-imx8mp",
        image: "faults",
        console: EVERY_FAULT_CONTAINED,
        ..IMX
    },
    Case {
        name: "supervise-imx8mp",
        image: "supervise",
        console: SUPERVISED,
        ..IMX
    },
    Case {
        name: "isolation-imx8mp",
        image: "isolation",
        console: ISOLATION,
        ..IMX
    },
    Case {
        name: "shared-imx8mp",
        image: "shared",
        console: SHARED_RANGE,
        ..IMX
    },
    Case {
        name: "fuzz-imx8mp",
        image: "fuzz",
        timeout: Duration::from_secs(120),
        console: FUZZ,
        lines: Some(crate::fuzz::fuzz_4),
        ..IMX
    },
    Case {
        name: "revoke-imx8mp",
        image: "revoke",
        console: REVOKE,
        ..IMX
    },
    Case {
        name: "rights-imx8mp",
        image: "rights",
        console: RIGHTS,
        ..IMX
    },
    Case {
        name: "timeslice-imx8mp",
        image: "timeslice",
        console: &[
            "[spinner@0] spinner slot 0: preempted",
            "[spinner@0] spinner slot 1: preempted",
            "task hello on core 0 exited with status 0",
            "memory: no frames leaked",
        ],
        ..IMX
    },
    Case {
        name: "bench-imx8mp",
        image: "bench",
        console: &["[bench@0] bench null-syscall", "memory: no frames leaked"],
        ..IMX
    },
    // The console server drives the i.MX UART (both ways) here.
    Case {
        name: "console-imx8mp",
        image: "console",
        console: CONSOLE,
        lines: Some(console_3x100),
        ..IMX
    },
    Case {
        name: "console-input-imx8mp",
        image: "console-input",
        console: CONSOLE_INPUT,
        input: CONSOLE_INPUT_TEXT,
        ..IMX
    },
    Case {
        name: "console-hog-imx8mp",
        image: "console-hog",
        console: CONSOLE_HOG,
        ..IMX
    },
    Case {
        name: "console-prio-imx8mp",
        image: "console-prio",
        console: CONSOLE_PRIO,
        lines: Some(console_prio_3x60),
        ..IMX
    },
    Case {
        name: "console-gone-imx8mp",
        image: "console-gone",
        console: CONSOLE_GONE,
        lines: Some(console_2x100),
        ..IMX
    },
    Case {
        name: "console-crash-imx8mp",
        image: "console-crash",
        console: CONSOLE_CRASH,
        ..IMX
    },
    Case {
        name: "console-hostile-imx8mp",
        image: "console-hostile",
        console: CONSOLE_HOSTILE,
        lines: Some(console_2x100),
        ..IMX
    },
    Case {
        name: "example-imx8mp",
        image: "example",
        console: EXAMPLE,
        ..IMX
    },
    // Failures are reported as such here too.
    Case {
        name: "panic-imx8mp",
        image: "panic",
        expect: Expect::Panic("deliberate panic"),
        ..IMX
    },
    Case {
        name: "fault-imx8mp",
        image: "fault",
        expect: Expect::Fault,
        ..IMX
    },
    Case {
        name: "stack-overflow-imx8mp",
        image: "stack-overflow",
        console: &["core 3 recursing without bound"],
        expect: Expect::Panic("kernel stack overflow on core 3"),
        ..IMX
    },
    Case {
        name: "hang-imx8mp",
        image: "hang",
        timeout: Duration::from_secs(8),
        expect: Expect::Hang("all 4 cores online"),
        ..IMX
    },
    Case {
        name: "time-limit-imx8mp",
        image: "time-limit",
        timeout: Duration::from_secs(10),
        expect: Expect::Hang("TIME LIMIT: the run's 10 s are over"),
        console: crate::limit::TIME_LIMIT,
        lines: Some(crate::limit::time_limit),
        ..IMX
    },
];
