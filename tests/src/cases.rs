//! The table of QEMU test cases.
//!
//! The boot cases form a matrix in which every value appears at least once:
//! virt with 1, 2, 4 and 8 cores; Cortex-A53, A57, A72 and `max`; GICv2 and
//! GICv3; entry at EL1 and at EL2; 256 MiB, the default 1 GiB and 4 GiB of
//! RAM; and the Raspberry Pi 4. The demo images then prove that a panic, an
//! unexpected exception and a hang are each reported as failures.

use core::time::Duration;

use crate::{Case, Expect, LogExpect};

/// The kernel logs this from core 0 once the log UART is up: a build whose
/// frames do not decode (no `defmt.x`, wrong table) fails these cases.
const LOG_ONLINE: &[LogExpect] = &[LogExpect {
    level: "INFO",
    contains: "defmt log online",
}];

/// The default image runs `hello` at EL0 on cores 0-3: each greets, has a
/// kernel pointer refused, and exits 0.
const TASKS_ON_4: &[&str] = &[
    "[hello@0] hello from EL0 on core 0",
    "[hello@3] hello from EL0 on core 3",
    "task hello on core 0 exited with status 0",
    "task hello on core 1 exited with status 0",
    "task hello on core 2 exited with status 0",
    "task hello on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// On one core, the tasks for cores 1-3 are reported and not started.
const TASKS_ON_1: &[&str] = &[
    "task hello on core 0 exited with status 0",
    "task hello: core 1 does not exist (1 cores): not started",
    "task hello: core 3 does not exist (1 cores): not started",
    "memory: no frames leaked",
];

/// images/faults.toml: each fault class stops only its task; the later task
/// on the same core and the other cores' tasks run to the end.
const EVERY_FAULT_CONTAINED: &[&str] = &[
    "task faulter on core 1 faulted: data abort from a lower EL (translation fault) at address 0x10000000",
    "task faulter on core 1 faulted: instruction abort from a lower EL (translation fault) at address 0x20000000",
    "task faulter on core 1 faulted: unknown reason (undefined instruction)",
    "task faulter on core 1 faulted: data abort from a lower EL (stack overflow into the guard)",
    "task faulter on core 1 faulted: data abort from a lower EL (alignment fault)",
    "task faulter on core 1 faulted: PC alignment fault (misaligned pc)",
    "task hello on core 0 exited with status 0",
    "task hello on core 1 exited with status 0",
    "task hello on core 2 exited with status 0",
    "task hello on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// images/supervise.toml: fault reports reach the supervisor on core 0
/// from core 2 (by SGI) and from its own core; each crasher is restarted
/// once and then runs fine; nothing leaks, the supervisor included.
const SUPERVISED: &[&str] = &[
    "[supervisor@0] supervisor: task on core 2 slot 0 faulted: data abort from a lower EL at 0x12345000",
    "[supervisor@0] supervisor: task on core 0 slot 1 faulted: data abort from a lower EL at 0x12345000",
    "task crasher on core 2 restarted (restart 1)",
    "task crasher on core 0 restarted (restart 1)",
    "[crasher@2] crasher on core 2: restarted 1 time(s), running fine",
    "[crasher@0] crasher on core 0: restarted 1 time(s), running fine",
    "task crasher on core 2 exited with status 0",
    "task crasher on core 0 exited with status 0",
    "memory: no frames leaked",
];

/// images/shared.toml: one shared range, one table linked into four
/// address spaces on four cores; written on core 1, read on 0, 2 and 3.
const SHARED_RANGE: &[&str] = &[
    "shared range shm at 0x100000000, 2048 KiB: one table, linked by each task that names it",
    "[shm@0] shm reader on core 0: saw the writer's page through the shared range",
    "[shm@2] shm reader on core 2: saw the writer's page through the shared range",
    "[shm@3] shm reader on core 3: saw the writer's page through the shared range",
    "[shm@1] shm writer on core 1: every reader acknowledged",
    "memory: no frames leaked",
];

/// images/capcheck.toml: the capability system calls' error codes and good
/// paths on four cores at once, each in its own private address range.
const CAPCHECK: &[&str] = &[
    "[capcheck@0] capcheck on core 0: every check passed",
    "[capcheck@1] capcheck on core 1: every check passed",
    "[capcheck@2] capcheck on core 2: every check passed",
    "[capcheck@3] capcheck on core 3: every check passed",
    "[capcheck@0] capcheck: memory ran out cleanly after",
    "memory: no frames leaked",
];

/// images/corey-rpi4.toml: Corey's benchmarks on four cores (docs/benchmarks.md;
/// on a real Pi 4 through `cargo xtask hil corey`). Every result is
/// reported and the word count is the host's (a host test of xtask checks
/// the checksum against its own count); the figures are not judged.
const COREY_4: &[&str] = &[
    "[corey@0] RESULT name=memclone mode=private cores=4 ops=16384",
    "[corey@0] RESULT name=memclone mode=shared cores=4 ops=16384",
    "[corey@0] RESULT name=mempass mode=private cores=4 ops=16384",
    "[corey@0] RESULT name=mempass mode=shared cores=4 ops=16384",
    "[corey@0] RESULT name=shares mode=private cores=4 ops=80000",
    "[corey@0] RESULT name=shares mode=shared cores=4 ops=80000",
    "[corey@0] RESULT name=wordcount mode=metis cores=4 words=400000 seed=42 distinct=256 checksum=607a01c7474dedaa ops=400000",
    "[corey@0] corey: done",
    "memory: no frames leaked",
];

/// images/revoke.toml: capabilities passed between cores through a shared
/// share; unmapping a page of a shared range faults on every core that
/// links it, and revoke removes every copy and its mapping on every core.
const REVOKE: &[&str] = &[
    "[revoker@1] reader on core 1: saw the owner's segment and shared range",
    "[revoker@2] reader on core 2: saw the owner's segment and shared range",
    "[revoker@3] reader on core 3: saw the owner's segment and shared range",
    "[revoker@0] owner: unmapped the shared page and revoked the segment; copy in meet gone: true",
    "[revoker@1] reader on core 1: revoke removed my copy and its mapping",
    "[revoker@2] reader on core 2: revoke removed my copy and its mapping",
    "[revoker@3] reader on core 3: revoke removed my copy and its mapping",
    "task revoker on core 0 faulted: data abort from a lower EL (translation fault) at address 0x140000000",
    "task revoker on core 1 faulted: data abort from a lower EL (translation fault) at address 0x140000000",
    "task revoker on core 2 faulted: data abort from a lower EL (translation fault) at address 0x140000000",
    "task revoker on core 3 faulted: data abort from a lower EL (translation fault) at address 0x140000000",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/console.toml: three client cores print 100 lines each through the
/// console server on kernel core 3, concurrently.
const CONSOLE: &[&str] = &[
    "console: server on core 3 serving 3 clients (instance 1)",
    "console: every client done: 300 lines from 3 clients, 0 requests refused",
    "task console on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/console-input.toml: what the harness types reaches client 0
/// through the console server (`CONSOLE_INPUT_TEXT` ends in `\r`, as a
/// terminal's Enter does).
const CONSOLE_INPUT: &[&str] = &[
    "console: server on core 3 serving 1 clients (instance 1)",
    "coninput: ready for input",
    "coninput: got \"hello from the host, kernel core 3\"",
    "console: every client done: 2 lines from 1 clients, 0 requests refused",
    "task coninput on core 0 exited with status 0",
    "task console on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];
const CONSOLE_INPUT_TEXT: Option<(&str, &str)> = Some((
    "coninput: ready for input",
    "hello from the host, kernel core 3\r",
));

/// images/console-hostile.toml: the hostile client's attacks are refused,
/// the server keeps serving, the dead client reconnects after its restart.
const CONSOLE_HOSTILE: &[&str] = &[
    "console: server on core 3 serving 3 clients (instance 1)",
    "conhostile 2: unknown opcode refused: Ok(Status(1))",
    "conhostile 2: windows outside the buffer refused: true",
    "conhostile 2: bad sequence word refused: true",
    "console: client 2: floods its ring; disconnected until it connects again",
    "conhostile 2: served again after a flood (16 reads held) and a new connection",
    "conhostile 2: the server survived 64 rounds of random slots",
    "task conhostile on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "task conhostile on core 2 restarted (restart 1)",
    "conhostile 2: restarted; connected again, the server dropped my old state",
    "console: every client done:",
    "task console on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

fn console_2x100(lines: &[&str]) -> Vec<String> {
    crate::console_stream(lines, 2, 100)
}

/// images/console-crash.toml: the server's first instance crashes, the
/// supervisor restarts it, the clients get an error and go on.
const CONSOLE_CRASH: &[&str] = &[
    "console: server on core 3 serving 2 clients (instance 1)",
    "console: crashing on purpose (test build)",
    "task console-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "task console-crash on core 3 restarted (restart 1)",
    "console: server on core 3 serving 2 clients (instance 2)",
    "conclient 0: the console server restarted: lines in flight lost, connected again",
    "conclient 1: the console server restarted: lines in flight lost, connected again",
    "console: every client done:",
    "task conclient on core 0 exited with status 0",
    "task conclient on core 1 exited with status 0",
    "task console-crash on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

fn console_3x100(lines: &[&str]) -> Vec<String> {
    crate::console_stream(lines, 3, 100)
}

/// images/blk.toml: the block server on kernel core 3 and a client on
/// each of cores 0-2 (client i owns sectors 640 i .. 640 i + 320).
const BLK_WRITE: &[&str] = &[
    "[blk@3] blk server: disk of 2048 sectors, 3 client(s)",
    "[blktest@0] blktest client 0: every malformed request refused",
    "[blktest@1] blktest client 1: every malformed request refused",
    "[blktest@2] blktest client 2: every malformed request refused",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "[blktest@2] blktest client 2: wrote 320 sectors from 1280, flushed, read back: pattern intact",
    "task blk on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// The second boot on the disk the first left: each client finds its
/// pattern.
const BLK_READ: &[&str] = &[
    "[blk@3] blk server: disk of 2048 sectors, 3 client(s)",
    "[blktest@0] blktest client 0: read back 320 sectors from 0 written by an earlier boot: pattern intact",
    "[blktest@1] blktest client 1: read back 320 sectors from 640 written by an earlier boot: pattern intact",
    "[blktest@2] blktest client 2: read back 320 sectors from 1280 written by an earlier boot: pattern intact",
    "task blk on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// images/blk-crash.toml: the block server's first instance crashes after
/// 8 answers, the supervisor restarts it, the clients get `Restarted` and
/// finish with the new instance; a client that dies with reads outstanding
/// is restarted, connects again and closes.
const BLK_CRASH: &[&str] = &[
    "[blk-crash@3] blk server: disk of 2048 sectors, 3 client(s) (instance 1",
    "[blk-crash@3] blk server: crashing on purpose (test build)",
    "task blk-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "task blk-crash on core 3 restarted (restart 1)",
    "[blk-crash@3] blk server: disk of 2048 sectors, 3 client(s) (instance 2",
    "task blkfault on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "task blkfault on core 2 restarted (restart 1)",
    "[blktest@0] blktest client 0: the block server restarted: requests in flight lost, connected again",
    "[blktest@1] blktest client 1: the block server restarted: requests in flight lost, connected again",
    "[blktest@0] blktest client 0: wrote 320 sectors from 0, flushed, read back: pattern intact",
    "[blktest@1] blktest client 1: wrote 320 sectors from 640, flushed, read back: pattern intact",
    "[blkfault@2] blkfault client 2: restarted; connected again, the server dropped my old state: wrote 16 sectors, read back, closed",
    "task blkfault on core 2 exited with status 0",
    "task blk-crash on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

const BLK_CRASH_SECTORS: &[(u64, u64)] = &[(0, 320), (640, 320), (1280, 16)];

/// images/blk-kernel.toml: the in-kernel baseline driver, a client on
/// each of cores 0-3 (core c owns sectors 512 c .. 512 c + 320).
const BLK_KERNEL: &[&str] = &[
    "blkdev: virtio-blk at 0xa003e00, 2048 sectors, in the kernel behind a lock",
    "[blkkern@0] blkkern core 0: every malformed call refused",
    "[blkkern@3] blkkern core 3: every malformed call refused",
    "[blkkern@0] blkkern core 0: wrote 320 sectors from 0 through the kernel, flushed, read back: pattern intact",
    "[blkkern@1] blkkern core 1: wrote 320 sectors from 512 through the kernel, flushed, read back: pattern intact",
    "[blkkern@2] blkkern core 2: wrote 320 sectors from 1024 through the kernel, flushed, read back: pattern intact",
    "[blkkern@3] blkkern core 3: wrote 320 sectors from 1536 through the kernel, flushed, read back: pattern intact",
    "memory: no frames leaked",
];

/// The sectors the in-kernel baseline's clients write.
const BLK_KERNEL_SECTORS: &[(u64, u64)] = &[(0, 320), (512, 320), (1024, 320), (1536, 320)];

/// The sectors the block clients write, checked in the disk file.
const BLK_SECTORS: &[(u64, u64)] = &[(0, 320), (640, 320), (1280, 320)];

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
    Case {
        name: "blk-crash-virt",
        image: "blk-crash",
        console: BLK_CRASH,
        disk_pattern: BLK_CRASH_SECTORS,
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
            "[bench@0] bench map-touch-unmap-private events over 2000 ops: 0 shared-lock acquisitions, 0 broadcast TLB invalidations, 0 IPIs, 0 global-pool takes",
            // Their shared counterparts pay: the checks can fail.
            "[bench@0] bench cap-lookup-shared events over 20000 ops: 20000 shared-lock acquisitions",
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
        name: "hang-virt",
        image: "hang",
        timeout: Duration::from_secs(8),
        expect: Expect::Hang("all 4 cores online"),
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
        for smp in [1, 2, 4, 8] {
            assert!(
                boot().any(|c| c.board == "virt" && c.smp == smp),
                "smp {smp}"
            );
        }
        for cpu in ["cortex-a53", "cortex-a57", "cortex-a72", "max"] {
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
