//! The QEMU test suite as data: a table of cases ([`CASES`]) and the checkers
//! that judge one run ([`check`]).
//!
//! Each case names an image (`images/<name>.toml`), a machine in the terms of
//! `cargo xtask qemu` flags, a hard timeout and what a passing run looks like.
//! `cargo xtask test` builds each distinct (image, board) once, boots every
//! case in QEMU and hands the [`Outcome`] (exit, console text, decoded defmt
//! lines) to [`check`]. Nothing here starts a process, so the checkers are unit
//! tested on the host with canned console text, good and bad.
#![forbid(unsafe_code)]

use core::fmt;
use core::time::Duration;

pub mod bench;
mod cases;
mod check;
mod connect;
mod disk;
mod expect;
pub mod fuzz;
pub mod limit;
mod netraw;
mod reclient;
mod web;
mod webload;

pub use web::{web_connections, web_requests, WEB_CONCURRENT, WEB_CONNECTIONS, WEB_REQUESTS};

pub use cases::CASES;
pub use check::check;
pub use disk::check_disk;

/// QEMU's `-icount` value for cases with [`Case::icount`]: one instruction
/// per virtual nanosecond, never sleeping, so guest time is deterministic.
pub const ICOUNT: &str = "shift=0,align=off,sleep=off";

/// A checker of a run's whole console (trimmed lines); returns problems.
pub type LineCheck = fn(&[&str]) -> Vec<String>;

/// One QEMU test case: an image booted on one machine configuration.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Unique name, shown in the progress line (`test NAME ... ok`).
    pub name: &'static str,
    /// Image name: `images/<image>.toml`.
    pub image: &'static str,
    /// Board, as for `--board`: `virt`, `rpi4` or `imx8mp`.
    pub board: &'static str,
    /// Number of cores, as for `--smp`; the checkers expect this many.
    pub smp: u32,
    /// CPU model, as for `--cpu` (`None`: the board's default).
    pub cpu: Option<&'static str>,
    /// GIC version, as for `--gic` (`None`: the board's default).
    pub gic: Option<u8>,
    /// Enter the kernel at EL2 (`--el2`; virt only, rpi4 and imx8mp always enter at EL2).
    pub el2: bool,
    /// RAM size, as for `--mem` (`None`: the board's default).
    pub mem: Option<&'static str>,
    /// Wall-clock limit; QEMU is killed when it runs out.
    pub timeout: Duration,
    /// Run with `-icount` [`ICOUNT`] (deterministic guest time).
    pub icount: bool,
    /// What the run must show to pass.
    pub expect: Expect,
    /// defmt lines that must have been decoded from the log UART.
    pub defmt: &'static [LogExpect],
    /// Console lines that must appear (each may carry detail after it).
    pub console: &'static [&'static str],
    /// A checker of the whole console (trimmed lines) for what a list of
    /// lines cannot say (every line of a stream intact, none twice); returns
    /// the problems found.
    pub lines: Option<LineCheck>,
    /// Boot with the disk an earlier case of the same image and board left
    /// (`target/disks/<image>-<board>.img`) instead of a fresh zero-filled
    /// one: the case before it writes, this one reads back.
    pub keep_disk: bool,
    /// Boot without the image's disk (`--no-disk`: no virtio disk, an
    /// empty SD card slot).
    pub no_disk: bool,
    /// Sector runs `(first, count)` that must hold `blk_api::pattern` in
    /// the disk file after the run (images with a block device).
    pub disk_pattern: &'static [(u64, u64)],
    /// Console input `(trigger, bytes)`: once a console line containing
    /// `trigger` has appeared, the harness writes `bytes` to the console
    /// UART's receive side (QEMU's stdin); `None`: stdin stays empty.
    pub input: Option<(&'static str, &'static str)>,
    /// Host network traffic (images with a network card): once every
    /// console line of `ready` has appeared, the harness sends it to the
    /// guest's forwarded echo ports on 127.0.0.1 and checks the echoes; a
    /// problem there fails the case.
    pub net: Option<NetTraffic>,
    /// The card is on the wire (a socket netdev of 127.0.0.1) instead of
    /// QEMU's user networking: the host step injects bad frames, then sends
    /// `net`'s traffic through its own small stack (xtask/src/wire.rs).
    pub wire: bool,
}

/// What a case's network step sends from the host (xtask's `net` module
/// does it, through QEMU's port forwarding to the guest's echo port 7).
#[derive(Clone, Copy, Debug)]
pub struct NetTraffic {
    /// Console lines (each a substring of a line) that must all have
    /// appeared before the traffic starts.
    pub ready: &'static [&'static str],
    /// UDP datagrams, by size (1..=1472 bytes), each sent and its echo
    /// awaited in turn; then `quit`, answered `bye`.
    pub udp: &'static [usize],
    /// TCP connections, one after another, by the bytes sent on each; the
    /// host then shuts its write side and expects the guest to close.
    pub tcp: &'static [usize],
    /// Before the datagrams (whose `quit` ends the guest's task):
    /// connections the guest opens (`net-connect`), by the bytes the host
    /// sends on each. The host listens on a free port of 127.0.0.1, sends
    /// `connect PORT` to the forwarded UDP port until the guest answers
    /// `connecting PORT`, accepts the connection the guest opens to
    /// slirp's 10.0.2.2:PORT (the host's loopback), writes the bytes and
    /// shuts its write side, and expects them echoed and the guest to
    /// close.
    pub connect: &'static [usize],
    /// Then the web server's checks (xtask's `web` module: every page
    /// kept alive, pipelined, refused requests, concurrent connections)
    /// through the port forwarded to the guest's port 80.
    pub web: bool,
    /// Connections the web checks' concurrency step opens at once
    /// ([`WEB_CONCURRENT`] unless a case's workers listen with fewer
    /// sockets between them).
    pub web_at_once: usize,
    /// Console input written once the steps above are over, whatever their
    /// outcome (the web image's stop key); empty: none.
    pub after: &'static str,
}

impl NetTraffic {
    /// No traffic: the defaults a case's `NetTraffic` starts from.
    pub const NONE: NetTraffic = NetTraffic {
        ready: &[],
        udp: &[],
        tcp: &[],
        connect: &[],
        web: false,
        web_at_once: WEB_CONCURRENT,
        after: "",
    };
}

impl Case {
    /// The defaults a case in [`CASES`] starts from (`..Case::BASE`).
    pub const BASE: Case = Case {
        name: "",
        image: "default",
        board: "virt",
        smp: 4,
        cpu: None,
        gic: None,
        el2: false,
        mem: None,
        timeout: Duration::from_secs(60),
        icount: false,
        expect: Expect::Boot,
        defmt: &[],
        console: &[],
        lines: None,
        keep_disk: false,
        no_disk: false,
        disk_pattern: &[],
        input: None,
        net: None,
        wire: false,
    };

    /// The `cargo xtask qemu` flags that reproduce this case by hand.
    pub fn qemu_flags(&self) -> Vec<String> {
        let mut flags = vec![
            "--board".to_string(),
            self.board.to_string(),
            "--smp".to_string(),
            self.smp.to_string(),
        ];
        if let Some(cpu) = self.cpu {
            flags.extend(["--cpu".to_string(), cpu.to_string()]);
        }
        if let Some(gic) = self.gic {
            flags.extend(["--gic".to_string(), gic.to_string()]);
        }
        if self.el2 {
            flags.push("--el2".to_string());
        }
        if let Some(mem) = self.mem {
            flags.extend(["--mem".to_string(), mem.to_string()]);
        }
        flags.extend(["--image".to_string(), self.image.to_string()]);
        if self.no_disk {
            flags.push("--no-disk".to_string());
        }
        if self.keep_disk {
            flags.push("--keep-disk".to_string());
        }
        if self.icount {
            flags.extend(["--", "-icount", ICOUNT].map(String::from));
        }
        flags
    }
}

/// What a passing run looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The boot contract: every `core i online`, then `all n cores online`,
    /// every `core i timer ok`; no panic or exception; exit status 0.
    Boot,
    /// A non-zero exit and a `PANIC on core N at FILE:LINE:COL: MESSAGE` line
    /// whose message contains this text.
    Panic(&'static str),
    /// A non-zero exit and an `EXCEPTION on core N` line followed by the
    /// ESR, FAR and ELR values.
    Fault,
    /// The boot contract, then the image's success condition broken on
    /// purpose: exit status 103 (the kernel's verdict) and a summary line
    /// `verdict: FAILED: ...` containing this text.
    Failed(&'static str),
    /// The run must hit its timeout, and the console shown must contain
    /// this line (so a hang is reported at its timeout with the console).
    Hang(&'static str),
}

/// A line the decoded defmt log must contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogExpect {
    /// Level as the decoder names it: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`.
    pub level: &'static str,
    /// Text the message must contain.
    pub contains: &'static str,
}

/// How a QEMU run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// QEMU exited with this status (PSCI SYSTEM_OFF: 0; semihosting
    /// SYS_EXIT: the guest's code).
    Code(i32),
    /// QEMU was killed by this signal (not by the harness).
    Signal(i32),
    /// The harness killed QEMU when the case's timeout ran out.
    Timeout,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(code) => write!(f, "exit status {code}"),
            Exit::Signal(sig) => write!(f, "killed by signal {sig}"),
            Exit::Timeout => write!(f, "timeout"),
        }
    }
}

/// One decoded defmt frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// The timestamp as the decoder formats it (empty if the kernel has none).
    pub timestamp: String,
    /// `TRACE`..`ERROR`, or empty for `println!` frames.
    pub level: String,
    /// The formatted message.
    pub message: String,
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.timestamp.is_empty() {
            write!(f, "[{}] ", self.timestamp)?;
        }
        if !self.level.is_empty() {
            write!(f, "{:<5} ", self.level)?;
        }
        f.write_str(&self.message)
    }
}

/// Everything the harness observed of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// How QEMU ended.
    pub exit: Exit,
    /// The console UART's output, as received.
    pub console: String,
    /// The frames decoded from the log UART.
    pub log: Vec<LogLine>,
    /// Raw bytes received on the log UART (to tell "nothing sent" from
    /// "sent but undecodable").
    pub log_bytes: usize,
}

/// The console service's stream test: the line client `client` prints as
/// its `i`-th (of `n`); `tests/tasks/conclient` makes exactly these.
pub fn console_line(client: usize, i: usize, n: usize) -> String {
    let payload: String = (0..40)
        .map(|k| (b'a' + ((client * 7 + i * 3 + k) % 26) as u8) as char)
        .collect();
    format!("conclient {client}: line {i:03}/{n:03} {payload}")
}

/// Every line of `clients` clients × `n` lines appears exactly once and
/// whole (nothing else on its line).
pub fn console_stream(lines: &[&str], clients: usize, n: usize) -> Vec<String> {
    let mut problems = Vec::new();
    for c in 0..clients {
        for i in 0..n {
            let want = console_line(c, i, n);
            let seen = lines.iter().filter(|l| **l == want).count();
            if seen != 1 {
                problems.push(format!("line `{want}` appears {seen} times, want once"));
            }
        }
    }
    for l in lines {
        if l.matches("conclient ").count() > 1 {
            problems.push(format!("lines interleaved: `{l}`"));
        }
    }
    problems.truncate(20);
    problems
}

/// The `i`-th of `n` lines the `conmix` task that is the console's client
/// `client` prints on `core`, as the console shows it: even ones through
/// the console server, odd ones through the kernel (which names the task
/// and its core first).
pub fn mix_line(client: usize, core: usize, i: usize, n: usize) -> String {
    let payload: String = (0..40)
        .map(|k| (b'a' + ((client * 11 + i * 5 + k) % 26) as u8) as char)
        .collect();
    if i.is_multiple_of(2) {
        format!("conmix {client}: srv line {i:03}/{n:03} {payload}")
    } else {
        format!("[conmix@{core}] conmix {client}: dbg line {i:03}/{n:03} {payload}")
    }
}

/// Whole-console check of the `conmix` images: every line of every client
/// (client `c` runs on core `cores[c]`) × `n` appears exactly once and whole, and no console line
/// holds anything else around or inside a `conmix` line, nor a console
/// server or kernel line broken by one (any line naming `conmix` must be
/// one of them or a task's exit line, so a fragment of either kind of line
/// shows; a `: FAIL` line is reported as not whole too).
pub fn mix_stream(lines: &[&str], cores: &[usize], n: usize) -> Vec<String> {
    let want: std::collections::HashSet<String> = cores
        .iter()
        .enumerate()
        .flat_map(|(c, &core)| (0..n).map(move |i| mix_line(c, core, i, n)))
        .collect();
    let mut problems = Vec::new();
    for w in &want {
        let seen = lines.iter().filter(|l| **l == w).count();
        if seen != 1 {
            problems.push(format!("line `{w}` appears {seen} times, want once"));
        }
    }
    let exits: Vec<String> = cores
        .iter()
        .map(|c| format!("task conmix on core {c} exited with status 0"))
        .collect();
    for l in lines {
        if l.contains("conmix") && !want.contains(*l) && !exits.iter().any(|e| e == l) {
            problems.push(format!("line not whole: `{l}`"));
        }
    }
    problems.sort();
    problems.truncate(20);
    problems
}

#[cfg(test)]
mod mix_tests {
    use super::{mix_line, mix_stream};

    #[test]
    fn the_mix_check_finds_lost_and_split_lines() {
        let all: Vec<String> = (0..2)
            .flat_map(|c| (0..4).map(move |i| mix_line(c, c, i, 4)))
            .chain(["task conmix on core 0 exited with status 0".to_string()])
            .collect();
        let lines: Vec<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(mix_stream(&lines, &[0, 1], 4), Vec::<String>::new());
        // A kernel line split by a server line, as seen in issue 16.
        let (a, b) = all[0].split_at(10);
        let mut split = lines.clone();
        let broken = [format!("{a}task conmix"), format!(" on core 0 exited{b}")];
        split[0] = &broken[0];
        split[8] = &broken[1];
        // The server line is lost whole and a fragment names conmix.
        assert_eq!(mix_stream(&split, &[0, 1], 4).len(), 2);
        // One lost.
        assert_eq!(mix_stream(&lines[1..], &[0, 1], 4).len(), 1);
    }
}

#[cfg(test)]
mod stream_tests {
    use super::{console_line, console_stream};

    #[test]
    fn the_stream_check_finds_lost_doubled_and_interleaved_lines() {
        let all: Vec<String> = (0..2)
            .flat_map(|c| (0..5).map(move |i| console_line(c, i, 5)))
            .collect();
        let lines: Vec<&str> = all.iter().map(String::as_str).collect();
        assert!(console_stream(&lines, 2, 5).is_empty());
        // One lost.
        assert_eq!(console_stream(&lines[1..], 2, 5).len(), 1);
        // One twice.
        let mut twice = lines.clone();
        twice.push(lines[3]);
        assert_eq!(console_stream(&twice, 2, 5).len(), 1);
        // Two interleaved into one line.
        let mixed = format!("{}{}", &lines[0][..10], lines[6]);
        let mut bad = lines.clone();
        bad[0] = &mixed;
        let p = console_stream(&bad, 2, 5);
        assert!(p.iter().any(|p| p.contains("interleaved")), "{p:?}");
    }
}
