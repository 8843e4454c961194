//! What the QEMU test cases expect to see: console lines, defmt lines and
//! whole-console checks, one constant per image (the table is cases.rs).

use crate::LogExpect;

mod storage;
pub(crate) use storage::*;

/// The kernel logs this from core 0 once the log UART is up: a build whose
/// frames do not decode (no `defmt.x`, wrong table) fails these cases.
pub(crate) const LOG_ONLINE: &[LogExpect] = &[LogExpect {
    level: "INFO",
    contains: "defmt log online",
}];

/// The default image runs `hello` at EL0 on cores 0-3: each greets, has a
/// kernel pointer refused, and exits 0.
pub(crate) const TASKS_ON_4: &[&str] = &[
    "[hello@0] hello from EL0 on core 0",
    "[hello@3] hello from EL0 on core 3",
    "task hello on core 0 exited with status 0",
    "task hello on core 1 exited with status 0",
    "task hello on core 2 exited with status 0",
    "task hello on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// On one core, the tasks for cores 1-3 are reported and not started.
pub(crate) const TASKS_ON_1: &[&str] = &[
    "task hello on core 0 exited with status 0",
    "task hello: core 1 does not exist (1 cores): not started",
    "task hello: core 3 does not exist (1 cores): not started (optional)",
    "memory: no frames leaked",
    "verdict: ok: every task did what the image expects",
];

/// images/verdict.toml: each task that did not do what the image expects
/// is named with why, and core 2's task, which did, is not.
pub(crate) const VERDICT_LINES: &[&str] = &[
    "verdict: task hello on core 0 exited with status 0; the image expects it to end by a fault",
    "verdict: task faulter on core 1 ended by a fault; the image expects it to exit with status 0",
    "task hello on core 2 exited with status 0",
];

/// images/faults.toml: each fault class stops only its task; the later task
/// on the same core and the other cores' tasks run to the end.
pub(crate) const EVERY_FAULT_CONTAINED: &[&str] = &[
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

/// images/supervise.toml: fault reports reach the supervisor on core 0,
/// through its task capabilities and their exit signals, from core 2 (by
/// SGI) and from its own core; each crasher is restarted once, then checks
/// from EL0 that it can restart or stop nothing (no task capability; a
/// read-only one); the one on core 2 stops the two tasks on core 3, one
/// blocked in Wait and one polling (a late core 3 may get the stops while
/// it runs them or before it loads them: a stop is kept until then); the
/// supervisor ends once both crashers have; nothing leaks.
pub(crate) const SUPERVISED: &[&str] = &[
    "[supervisor@0] supervisor: task on core 2 slot 0 faulted: data abort from a lower EL at 0x12345000",
    "[supervisor@0] supervisor: task on core 0 slot 1 faulted: data abort from a lower EL at 0x12345000",
    "task crasher on core 2 restarted (restart 1)",
    "task crasher on core 0 restarted (restart 1)",
    "[crasher@2] crasher on core 2: restarted 1 time(s), running fine",
    "[crasher@0] crasher on core 0: restarted 1 time(s), running fine",
    "[crasher@0] crasher on core 0: no task capability: every restart and stop refused",
    "[crasher@2] crasher on core 2: a task capability without WRITE: report read, restart and stop refused",
    "[crasher@2] crasher on core 2: a task capability without READ: report refused",
    "task hello on core 3 stopped",
    "[crasher@2] crasher on core 2: stopped the task on core 3 slot 0",
    "[crasher@2] crasher on core 2: stopped the task on core 3 slot 1",
    "task crasher on core 2 exited with status 0",
    "task crasher on core 0 exited with status 0",
    "task supervisor on core 0 exited with status 0",
    "memory: no frames leaked",
];

/// images/isolation.toml: three tasks share core 1 by time slices; each
/// starts with every EL0 register it can reach zero (x3-x30, NZCV,
/// TPIDR_EL0, TPIDRRO_EL0), A's and B's TPIDR_EL0 survive switches to the
/// other, SIMD/FP (A) and FPCR (C) trap and stop only their task, and the
/// restarted instances start zeroed again. A leaked value prints a
/// `: FAIL` line, which fails the case.
pub(crate) const ISOLATION: &[&str] = &[
    "[isolate@1] isolate A on core 1 (restart 0): registers zero at entry",
    "[isolate@1] isolate B on core 1 (restart 0): registers zero at entry",
    "[isolate@1] isolate C on core 1 (restart 0): registers zero at entry",
    "[isolate@1] isolate A: tpidr_el0 kept across a switch to B",
    "[isolate@1] isolate B: tpidr_el0 kept across a switch to A",
    "task isolate on core 1 faulted: SVE/SIMD/FP access trap (ESR 0x1fe00000)",
    "[supervisor@0] supervisor: task on core 1 slot 0 faulted: SVE/SIMD/FP access trap",
    "[supervisor@0] supervisor: task on core 1 slot 2 faulted: SVE/SIMD/FP access trap",
    "[isolate@1] isolate A on core 1 (restart 1): registers zero at entry",
    "[isolate@1] isolate C on core 1 (restart 1): registers zero at entry",
    "task isolate on core 1 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/leaks.toml: hostile calls that used to leak kernel memory get
/// their refusals (a wrong answer prints `: FAIL`), and nothing is left at
/// the end of the run.
pub(crate) const LEAKS: &[&str] = &[
    "[leaker@0] leaks: unmaps done",
    "[leaker@0] leaks: cycles done",
    "[leaker@0] leaks: many shares done",
    "[leaker@0] leaks: limits done",
    "[leaker@0] leaks: every check passed",
    "task leaker on core 0 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/fuzz.toml: the victim was restarted after each of its faults,
/// and the fuzzers' calls left nothing behind (each fuzzer's summary is
/// judged by `fuzz::fuzz_4`).
pub(crate) const FUZZ: &[&str] = &[
    "[fuzz@1] fuzz victim: faulted 3 times, restarted each time",
    "objects: none left",
    "memory: no frames leaked",
    "verdict: ok: every task did what the image expects",
];

/// images/shared.toml: one shared range, one table linked into four
/// address spaces on four cores; written on core 1, read on 0, 2 and 3.
/// images/longmap.toml: a task of the same priority runs during a 16 MiB
/// `Map`, `Unmap` and `SegmentCreate` and a `CapRevoke` of 768
/// descendants (their preemption points); a `Map` revoked, a
/// `SegmentCreate` whose slot is filled, a `CapRevoke` whose capability is
/// deleted, and a `SegmentCreate` and a `CapRevoke` stopped between
/// pieces give error codes and leak nothing.
pub(crate) const LONG_MAP: &[&str] = &[
    "[longmap@0] longmap: the task beside it ran during a 16 MiB Map",
    "[longmap@0] longmap: the task beside it ran during a 16 MiB Unmap",
    "[longmap@0] longmap: the task beside it ran during a 16 MiB SegmentCreate",
    "[longmap@0] longmap: the task beside it ran during a CapRevoke of 768 descendants",
    "[longmap@0] longmap: the task beside it ran during a CapRevoke of a copy mapped 16 MiB",
    "[longmap@0] longmap: the task beside it ran during a CapRevoke of a copy mapped 8 x 16 MiB",
    "[longmap@0] longmap: a Map revoked between its pieces failed with InvalidCapability and left nothing mapped",
    "[longmap@0] longmap: a SegmentCreate whose slot was filled between its pieces failed with SlotOccupied",
    "[longmap@0] longmap: a CapRevoke whose capability was deleted between its pieces failed with InvalidCapability",
    "[longmap@0] longmap: mapper stopped in the middle of a SegmentCreate",
    "task longmap on core 0 stopped",
    "[longmap@0] longmap: restarted after a stop in the middle of a SegmentCreate",
    "[longmap@0] longmap: mapper stopped in the middle of a CapRevoke",
    "[longmap@0] longmap: restarted after a stop in the middle of a CapRevoke",
    "task longmap on core 0 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

pub(crate) const SHARED_RANGE: &[&str] = &[
    "shared range shm at 0x100000000, 2048 KiB: one table, linked by each task that names it",
    "[shm@0] shm reader on core 0: saw the writer's page through the shared range",
    "[shm@2] shm reader on core 2: saw the writer's page through the shared range",
    "[shm@3] shm reader on core 3: saw the writer's page through the shared range",
    "[shm@1] shm writer on core 1: every reader acknowledged",
    "memory: no frames leaked",
];

/// images/capcheck.toml: the capability system calls' error codes and good
/// paths on four cores at once, each in its own private address range.
pub(crate) const CAPCHECK: &[&str] = &[
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
pub(crate) const COREY_4: &[&str] = &[
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
/// share (core 2's through core 1); unmapping a page of a shared range
/// faults on every core that links it, and revoke removes every copy and
/// its mapping on every core, two hops away included.
pub(crate) const REVOKE: &[&str] = &[
    "[revoker@1] reader on core 1: passed my copy of the segment on to core 2",
    "[revoker@1] reader on core 1: saw the owner's segment and shared range",
    "[revoker@2] reader on core 2: saw the owner's segment and shared range",
    "[revoker@3] reader on core 3: saw the owner's segment and shared range",
    "[revoker@0] owner: unmapped the shared page and revoked the segment; copies in meet gone: true",
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

/// images/rights.toml: every right of every object kind on one core; a
/// shared range linked on three cores with three sets of rights: core 3
/// writes through its read/write link, cores 1 and 2 read that, then
/// fault writing through their links without WRITE, core 3 faults running
/// code through its link without EXECUTE, a private range's read-only link
/// faults on core 0; the page keeps core 3's write.
pub(crate) const RIGHTS: &[&str] = &[
    "[rights@0] rights: every check of rights on one core passed",
    "[rights@0] owner: wrote and executed through its own link (every right)",
    "[rights@1] reader on core 1: linked with read/execute: read the owner's data, ran its code, map and unmap refused",
    "[rights@2] reader on core 2: linked read-only: read the owner's data, map and unmap refused",
    "[rights@3] writer on core 3: linked read/write: read the owner's data",
    "[rights@3] writer on core 3: wrote through its read/write link",
    "[rights@1] reader on core 1: read core 3's write through its link without write",
    "[rights@2] reader on core 2: read core 3's write through its link without write",
    "[rights@0] private linker on core 0: read through its read-only link; writing through it",
    // The faults the test provokes: a permission fault on the store (or
    // the fetch), reported by the kernel; the task stops.
    "task rights on core 0 faulted: data abort from a lower EL (permission fault) at address 0x180000000",
    "task rights on core 1 faulted: data abort from a lower EL (permission fault) at address 0x140000008",
    "task rights on core 2 faulted: data abort from a lower EL (permission fault) at address 0x140000008",
    "task rights on core 3 faulted: instruction abort from a lower EL (permission fault) at address 0x140001000",
    "[rights@0] owner: every linker without write faulted on its write, the one without execute on its fetch; the page holds core 3's write",
    "task rights on core 0 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/console.toml: three client cores print 100 lines each through the
/// console server on kernel core 3, concurrently.
pub(crate) const CONSOLE: &[&str] = &[
    "console: server on core 3 serving 3 clients (instance 1)",
    "console: every client done: 300 lines from 3 clients, 0 requests refused",
    "task console on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/console-input.toml: what the harness types reaches client 0
/// through the console server (`CONSOLE_INPUT_TEXT` ends in `\r`, as a
/// terminal's Enter does).
pub(crate) const CONSOLE_INPUT: &[&str] = &[
    "console: server on core 3 serving 1 clients (instance 1)",
    "coninput: ready for input",
    "coninput: got \"hello from the host, kernel core 3\"",
    "console: every client done: 2 lines from 1 clients, 0 requests refused",
    "task coninput on core 0 exited with status 0",
    "task console on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];
pub(crate) const CONSOLE_INPUT_TEXT: Option<(&str, &str)> = Some((
    "coninput: ready for input",
    "hello from the host, kernel core 3\r",
));

/// images/console-hostile.toml: the hostile client's attacks are refused,
/// the server keeps serving, the dead client reconnects after its restart.
pub(crate) const CONSOLE_HOSTILE: &[&str] = &[
    "console: server on core 3 serving 3 clients (instance 1)",
    "conhostile 2: unknown opcode refused: Ok(Status(1))",
    "conhostile 2: windows outside the buffer refused: true",
    "slot ?[2J line cut at 32 bytes:)",
    "conhostile 2: a slot line over 32 bytes printed cut: Ok(Status(0))",
    "conhostile 2: bad sequence word refused: true",
    "console: client 2: floods its ring; disconnected until it connects again",
    "conhostile 2: served again after a flood (16 reads held) and a new connection",
    "conhostile 2: the server survived 64 rounds of random slots",
    "conhostile 2: 400 random requests answered as decided",
    "task conhostile on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "task conhostile on core 2 restarted (restart 1)",
    "conhostile 2: restarted; connected again, the server dropped my old state",
    "console: every client done:",
    "task console on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/console-gone.toml: a client dies holding two reads and is not
/// restarted; the kernel's exit signal tells the server, which drops it
/// and ends once the other two are done.
pub(crate) const CONSOLE_GONE: &[&str] = &[
    "console: server on core 3 serving 3 clients (instance 1)",
    "conquit 2: line 0 of 5, then it dies holding two reads",
    "conquit 2: line 4 of 5, then it dies holding two reads",
    "task conquit on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "console: client 2 ended without closing: connection dropped (2 held reads forgotten)",
    "console: every client done: 205 lines from 3 clients, 0 requests refused",
    "task conclient on core 0 exited with status 0",
    "task conclient on core 1 exited with status 0",
    "task console on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/example.toml: the example application of docs/writing-tasks.md.
pub(crate) const EXAMPLE: &[&str] = &[
    "producer: 1000 records in a shared range, sum 0xcdc8000013d6a2dc kept in a private range",
    "consumer 1: 1000 records checked through a read-only link",
    "consumer 2: 1000 records checked through a read-only link",
    "producer: revoked the range capability: the copy in meet is gone; private sum intact",
    "task records-producer on core 0 exited with status 0",
    "task records-consumer on core 1 exited with status 0",
    "task records-consumer on core 2 exited with status 0",
    "verdict: ok: every task did what the image expects",
    "objects: none left",
    "memory: no frames leaked",
];

/// images/connect-absent.toml: client 1's core does not exist; its exit
/// signal fires at boot and the server does not wait for it.
pub(crate) const CONNECT_ABSENT: &[&str] = &[
    "task conclient: core 5 does not exist (4 cores): not started (optional)",
    "console: server on core 1 serving 2 clients (instance 1)",
    "[supervisor@0] supervisor: core 5 slot 0 was never started",
    "task supervisor on core 0 exited with status 0",
    "console: client 1 ended without closing: connection dropped (0 held reads forgotten)",
    "console: every client done: 100 lines from 2 clients, 0 requests refused",
    "task conclient on core 0 exited with status 0",
    "task console on core 1 exited with status 0",
    "verdict: ok: every task did what the image expects",
    "memory: no frames leaked",
];

pub(crate) fn console_1x100(lines: &[&str]) -> Vec<String> {
    crate::console_stream(lines, 1, 100)
}

pub(crate) fn console_2x100(lines: &[&str]) -> Vec<String> {
    crate::console_stream(lines, 2, 100)
}

/// images/console-mix.toml: seven cores print through the server and
/// the kernel at once (every line whole: `console_mix_7x60`).
pub(crate) const CONSOLE_MIX: &[&str] = &[
    "device console-lock: the console lock page, shared with the task writing the UART",
    "console: server on core 7 serving 7 clients (instance 1)",
    "console: every client done: 210 lines from 7 clients, 0 requests refused",
    "task console on core 7 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

pub(crate) fn console_mix_7x60(lines: &[&str]) -> Vec<String> {
    crate::mix_stream(lines, &[0, 1, 2, 3, 4, 5, 6], 60)
}

/// images/console-hog.toml: a task holds the console lock forever and
/// faults holding it; every kernel line still comes out.
pub(crate) const CONSOLE_HOG: &[&str] = &[
    "[conhog@1] conhog: holding the console lock for good",
    "[conhog@2] conhog printer: printed while the hog holds the console lock",
    "task conhog on core 1 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "[conhog@2] conhog printer: printed after the hog's end",
    "task conhog on core 2 exited with status 0",
    "verdict: ok",
    "memory: no frames leaked",
];

/// images/console-prio.toml: clients 0 (priority 2) and 1 (priority 1)
/// share core 1, client 2 is on core 2; all finish because a waiting
/// client blocks in the kernel. The server is on kernel core 0.
pub(crate) const CONSOLE_PRIO: &[&str] = &[
    "console: server on core 0 serving 3 clients (instance 1)",
    "console: every client done: 90 lines from 3 clients, 0 requests refused",
    "task console on core 0 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

pub(crate) fn console_prio_3x60(lines: &[&str]) -> Vec<String> {
    crate::mix_stream(lines, &[1, 1, 2], 60)
}

/// images/console-crash.toml: the server's first instance crashes, the
/// supervisor restarts it, the clients get an error and go on.
pub(crate) const CONSOLE_CRASH: &[&str] = &[
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

pub(crate) fn console_3x100(lines: &[&str]) -> Vec<String> {
    crate::console_stream(lines, 3, 100)
}

/// images/net-echo.toml: the network server on kernel core 3, the UDP and
/// TCP echo tasks, a hostile client refused at every turn; the host's traffic (the case's `net`) is echoed byte
/// for byte, then every task ends.
pub(crate) const NET_ECHO: &[&str] = &[
    "[net@3] net server: 10.0.2.15 mac 52:54:00:12:34:56, 3 client(s)",
    "[nethostile@2] nethostile: every malformed request refused; dying with 8 sockets held",
    "task nethostile on core 2 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "[udpecho@0] udpecho: ready on udp port 7",
    "[tcpecho@1] tcpecho: ready on tcp port 7",
    "[udpecho@0] udpecho: 8 datagrams (4658 bytes) echoed",
    "[tcpecho@1] tcpecho: connection 1 from 10.0.2.2:",
    "[tcpecho@1] tcpecho: connection 2 from 10.0.2.2:",
    "[net@3] net server: client 2 ended without closing: its 8 socket(s) reset",
    "[net@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
    "task net on core 3 exited with status 0",
    "memory: no frames leaked",
];

/// The host's traffic in net-echo-virt: eight datagrams from 1 byte to
/// the largest unfragmented one, two TCP streams (the second larger than
/// every buffer on the way, so the echo must flow while the host writes).
pub(crate) const NET_ECHO_TRAFFIC: crate::NetTraffic = crate::NetTraffic {
    ready: &[
        "udpecho: ready on udp port 7",
        "tcpecho: ready on tcp port 7",
        "nethostile: every malformed request refused",
        // Runs only once udpecho, above it on core 0, blocks in the kernel.
        "[hello@0] hello from EL0 on core 0",
    ],
    udp: &[1, 64, 512, 1000, 1472, 7, 200, 1402],
    tcp: &[3000, 100_000],
    ..crate::NetTraffic::NONE
};

/// images/net-crash.toml: the network server's first instance crashes
/// during the host's UDP traffic and is restarted; the echo tasks bind and
/// listen again and the traffic is echoed by the new instance.
pub(crate) const NET_CRASH: &[&str] = &[
    "[net-crash@3] net server: 10.0.2.15 mac 52:54:00:12:34:56, 2 client(s) (instance 1",
    // 10 answers or more: the hook runs once per serving pass, and a pass
    // may answer two requests (the host resends a datagram it saw no echo of).
    "[net-crash@3] net server: crashing on purpose (test build) after",
    "task net-crash on core 3 faulted: data abort from a lower EL (translation fault) at address 0x8",
    "device virtio-net: reset (the task granted it ended)",
    "task net-crash on core 3 restarted (restart 1)",
    "[net-crash@3] net server: 10.0.2.15 mac 52:54:00:12:34:56, 2 client(s) (instance 2",
    "[udpecho@0] udpecho: the network server restarted: bound port 7 again",
    "[tcpecho@1] tcpecho: the network server restarted: listening on port 7 again",
    "[tcpecho@1] tcpecho: connection 1 from 10.0.2.2: 3000 bytes echoed",
    "[tcpecho@1] tcpecho: connection 2 from 10.0.2.2: 20000 bytes echoed",
    "[net-crash@3] net server: free sockets at the end: 24 of 24 TCP, 4 of 4 UDP",
    "task net-crash on core 3 exited with status 0",
    "objects: none left",
    "memory: no frames leaked",
];

/// The host's traffic in net-crash-virt: the server crashes after the
/// fourth datagram's echo; the fifth is sent again until the new instance
/// echoes it.
pub(crate) const NET_CRASH_TRAFFIC: crate::NetTraffic = crate::NetTraffic {
    ready: &[
        "udpecho: ready on udp port 7",
        "tcpecho: ready on tcp port 7",
    ],
    udp: &[100, 200, 300, 400, 500, 600, 700, 800],
    tcp: &[3000, 20_000],
    ..crate::NetTraffic::NONE
};
