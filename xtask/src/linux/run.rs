//! Booting the Linux peer in QEMU (the same `virt` machine the kernel's
//! benchmarks use) and reading the workloads' `RESULT` lines.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cli::Machine;
use crate::doctor::QEMU;
use crate::qemu::{die_with_parent, set_running};

/// How guest time runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-icount shift=0,align=off,sleep=off`: one virtual ns per guest
    /// instruction, all vCPUs on one host thread (deterministic).
    Icount,
    /// `-accel tcg,thread=multi`: one host thread per vCPU, wall time.
    Mttcg,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "icount" => Some(Mode::Icount),
            "mttcg" => Some(Mode::Mttcg),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Icount => "icount",
            Mode::Mttcg => "mttcg",
        }
    }
}

/// QEMU's arguments (without the binary). `-seed 1` makes the guest's
/// randomness (the device tree's `rng-seed` and `kaslr-seed`) fixed, so
/// -icount runs repeat exactly, and still seeds the kernel's CRNG at boot
/// (without a seed, every `get_random_u16()` of the per-syscall stack
/// offset costs a ChaCha block: ~9 700 instructions per system call);
/// `nokaslr norandmaps` fix the layout; `panic=-1` with `-no-reboot` ends
/// QEMU if the kernel panics.
pub fn qemu_args(
    machine: &Machine,
    mode: Mode,
    kernel: &Path,
    initrd: &Path,
    extra_append: &str,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "-M",
        &format!("virt,gic-version={}", machine.gic),
        "-seed",
        "1",
        "-cpu",
        &machine.cpu,
        "-smp",
        &machine.smp.to_string(),
        "-m",
        &format!("{}M", machine.mem_mib),
        "-nographic",
        "-no-reboot",
        "-kernel",
        &kernel.display().to_string(),
        "-initrd",
        &initrd.display().to_string(),
        "-append",
        &format!("console=ttyAMA0 quiet panic=-1 nokaslr norandmaps {extra_append}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match mode {
        Mode::Icount => args.extend(["-icount", qemu_tests::ICOUNT].map(String::from)),
        Mode::Mttcg => args.extend(["-accel", "tcg,thread=multi"].map(String::from)),
    }
    args
}

/// What one boot printed.
pub struct Boot {
    pub console: String,
    /// QEMU's exit status, or None if it was killed at the timeout.
    pub status: Option<i32>,
    pub elapsed: Duration,
}

/// Boots QEMU with `args`, capturing the console, killed after `timeout`.
pub fn boot(args: &[String], timeout: Duration) -> Result<Boot> {
    let mut cmd = Command::new(QEMU);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {QEMU} (run `cargo xtask doctor`)"))?;
    set_running(Some(child.id()));
    let mut pipes: Vec<_> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut p| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = p.read_to_end(&mut bytes);
            bytes
        })
    })
    .collect();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status.code().unwrap_or(-1)),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    set_running(None);
    let mut console = String::new();
    for p in pipes.drain(..) {
        console.push_str(&String::from_utf8_lossy(&p.join().unwrap_or_default()));
    }
    Ok(Boot {
        console,
        status,
        elapsed: start.elapsed(),
    })
}

/// One `RESULT name=... mode=... cores=N ops=N ns=N [key=value...]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    pub name: String,
    pub variant: String,
    pub cores: u32,
    pub ops: u64,
    pub ns: u64,
    /// The other `key=value` pairs (the workload's parameters and checks).
    pub extra: BTreeMap<String, String>,
}

/// Parses a RESULT line (anywhere in the console line: the kernel may have
/// printed on the same line).
pub fn parse_result(line: &str) -> Option<ResultLine> {
    let rest = &line[line.find("RESULT ")? + "RESULT ".len()..];
    let mut fields: BTreeMap<String, String> = rest
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut take = |k: &str| fields.remove(k);
    let name = take("name")?;
    let variant = take("mode")?;
    let cores = take("cores")?.parse().ok()?;
    let ops = take("ops")?.parse().ok()?;
    let ns = take("ns")?.parse().ok()?;
    Some(ResultLine {
        name,
        variant,
        cores,
        ops,
        ns,
        extra: fields,
    })
}

/// Every RESULT line of a console, and every `FAIL` line.
pub fn parse_console(console: &str) -> (Vec<ResultLine>, Vec<String>) {
    let results = console.lines().filter_map(parse_result).collect();
    let failures = console
        .lines()
        .filter(|l| l.starts_with("FAIL "))
        .map(String::from)
        .collect();
    (results, failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::MachineArgs;

    #[test]
    fn parses_result_lines() {
        let r = parse_result(
            "\r[  1.0] RESULT name=memclone mode=threads cores=4 ops=16384 ns=123 mib=16\r",
        )
        .expect("parsed");
        assert_eq!(
            (r.name.as_str(), r.variant.as_str()),
            ("memclone", "threads")
        );
        assert_eq!((r.cores, r.ops, r.ns), (4, 16384, 123));
        assert_eq!(r.extra.get("mib").map(String::as_str), Some("16"));
        assert_eq!(
            parse_result("RESULT name=x mode=y cores=1 ops=1"),
            None,
            "no ns"
        );
        assert_eq!(
            parse_result("RESULT name=x mode=y cores=z ops=1 ns=1"),
            None
        );
        assert_eq!(parse_result("no result"), None);
        let (results, fails) = parse_console(
            "boot\nRESULT name=a mode=b cores=1 ops=2 ns=3\nFAIL shares: dup: Too many\n",
        );
        assert_eq!(results.len(), 1);
        assert_eq!(fails, ["FAIL shares: dup: Too many"]);
    }

    #[test]
    fn command_line() {
        let m = Machine::from_args(&MachineArgs {
            smp: Some("2".into()),
            ..MachineArgs::default()
        })
        .unwrap();
        let a = qemu_args(
            &m,
            Mode::Icount,
            Path::new("k"),
            Path::new("i"),
            "lp_cores=2",
        );
        let line = a.join(" ");
        assert!(
            line.starts_with("-M virt,gic-version=3 -seed 1 -cpu cortex-a72 -smp 2 -m 1024M"),
            "{line}"
        );
        assert!(line.contains("-kernel k -initrd i"), "{line}");
        assert!(
            line.ends_with("lp_cores=2 -icount shift=0,align=off,sleep=off"),
            "{line}"
        );
        let a = qemu_args(&m, Mode::Mttcg, Path::new("k"), Path::new("i"), "");
        assert!(a.join(" ").ends_with("-accel tcg,thread=multi"));
    }
}
