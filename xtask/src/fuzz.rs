//! `cargo xtask fuzz`: the system-call fuzzer (images/fuzz.toml,
//! tests/tasks/fuzz) with a seed, a number of calls per fuzzer or a time
//! limit, on a board and core count of one's choosing.
//!
//! The seed, the calls and the time limit reach the guest in the packed
//! image: the fuzzer's program holds a `Params` block behind a 16-byte
//! magic, which is patched in the task archive before it is packed beside
//! the kernel. The run is bounded by the calls or by the guest's own timer;
//! the wall-clock timeout only catches a hang. The report: calls made, the
//! distribution of results, the kernel's end-of-run checks and its
//! verdict; any kernel failure (panic, EL1 exception, hang), leak or wrong
//! result exits non-zero with the command that reproduces the run.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use qemu_tests::{fuzz, Exit};

use crate::cli::{MachineArgs, UsageError};

/// The fuzzer's parameter block's magic (tests/tasks/fuzz/src/main.rs).
const MAGIC: &[u8; 16] = b"FUZZ-PARAMS-v1\0\0";
/// Calls per fuzzer by default: 10^6 calls on four cores.
const DEFAULT_CALLS: u64 = 250_000;
/// Fuzzer calls QEMU makes per second of wall time, at the least, on a
/// busy 2-core host (a hang is taken to be a run this much slower).
const MIN_CALLS_PER_SEC: u64 = 1_000;

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The run's seed (decimal or 0x hex) [default: from the clock; printed].
    #[arg(long, value_name = "N")]
    pub seed: Option<String>,
    /// System calls per fuzzer (one per core; the supervisor makes a quarter)
    /// [default: 250000].
    #[arg(long, value_name = "N", conflicts_with = "secs")]
    pub calls: Option<u64>,
    /// Fuzz for this many seconds of guest time instead of a number of calls.
    #[arg(long, value_name = "S")]
    pub secs: Option<u64>,
    /// Board: virt or rpi4 [default: virt].
    #[arg(long, value_name = "BOARD")]
    pub board: Option<String>,
    /// Cores (a fuzzer on each of cores 0-3) [default: 4].
    #[arg(long, value_name = "N")]
    pub smp: Option<String>,
    /// CPU model on virt, as for `cargo xtask qemu --cpu` [default: cortex-a72].
    #[arg(long, value_name = "MODEL")]
    pub cpu: Option<String>,
    /// GIC version on virt: 2 or 3 [default: 3].
    #[arg(long, value_name = "2|3")]
    pub gic: Option<String>,
    /// Enter the kernel at EL2 (virt).
    #[arg(long)]
    pub el2: bool,
    /// Wall-clock seconds after which the run counts as hung
    /// [default: from the calls or seconds].
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
}

/// A seed as given: decimal or `0x` hex.
fn parse_seed(text: &str) -> Result<u64, UsageError> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| UsageError(format!("--seed {text:?}: not a number (decimal or 0x hex)")))
}

/// Writes `seed`, `calls` and `secs` behind every [`MAGIC`] in `archive`:
/// one per copy of the fuzzer's program (each `[[task]]` entry has its own
/// copy when the image gives it other bindings; identical copies are
/// stored once).
pub fn patch(archive: &mut [u8], seed: u64, calls: u64, secs: u64) -> Result<()> {
    let at: Vec<usize> = archive
        .windows(MAGIC.len())
        .enumerate()
        .filter(|(_, w)| w == MAGIC)
        .map(|(i, _)| i)
        .collect();
    if at.is_empty() {
        bail!("the fuzzer's parameter block is not in the task archive");
    }
    for at in at {
        let mut put = |k: usize, v: u64| {
            let o = at + MAGIC.len() + 8 * k;
            archive[o..o + 8].copy_from_slice(&v.to_le_bytes());
        };
        put(0, seed);
        put(1, calls);
        put(2, secs);
    }
    Ok(())
}

fn clock_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u64) ^ (std::process::id() as u64) << 32
}

/// The name of a status code.
fn status_name(code: u64) -> String {
    match code {
        0 => "ok".to_string(),
        c => abi::Error::from_u64(c)
            .map_or_else(|| "not an error code".to_string(), |e| format!("{e:?}")),
    }
}

pub fn run(root: &Path, args: &FuzzArgs) -> Result<ExitCode> {
    let seed = match &args.seed {
        Some(s) => parse_seed(s)?,
        None => clock_seed(),
    };
    let secs = args.secs.unwrap_or(0);
    let calls = if secs > 0 {
        u64::MAX
    } else {
        args.calls.unwrap_or(DEFAULT_CALLS)
    };
    if calls == 0 || args.secs == Some(0) {
        return Err(UsageError("--calls and --secs must be at least 1".to_string()).into());
    }
    let machine_args = MachineArgs {
        board: args.board.clone(),
        smp: args.smp.clone(),
        cpu: args.cpu.clone(),
        gic: args.gic.clone(),
        el2: args.el2,
        image: Some("fuzz".to_string()),
        ..MachineArgs::default()
    };
    let (machine, image) = crate::image::resolve(root, &machine_args)?;
    crate::doctor::run(false, true)?;
    let fuzzers = machine.smp.min(4) as u64;
    let timeout = args.timeout.unwrap_or(if secs > 0 {
        3 * secs + 120
    } else {
        120 + (calls.saturating_mul(fuzzers + 1)) / MIN_CALLS_PER_SEC
    });
    let limit = if secs > 0 {
        format!("{secs} s of guest time")
    } else {
        format!("{calls} calls per fuzzer")
    };
    let reproduce = {
        let mut line = format!(
            "cargo xtask fuzz --seed {seed:#x} --board {} --smp {}",
            machine.board, machine.smp
        );
        if let Some(cpu) = &args.cpu {
            line.push_str(&format!(" --cpu {cpu}"));
        }
        if let Some(gic) = &args.gic {
            line.push_str(&format!(" --gic {gic}"));
        }
        if args.el2 {
            line.push_str(" --el2");
        }
        if secs > 0 {
            line.push_str(&format!(" --secs {secs}"));
        } else {
            line.push_str(&format!(" --calls {calls}"));
        }
        line
    };
    let built = crate::build::build_patched(root, &image, machine.board, &|a| {
        patch(a, seed, calls, secs)
    })?;
    println!(
        "fuzz: seed {seed:#x} on {}, {} x {}, GICv{}{}: {limit}, hang after {timeout} s",
        machine.board,
        machine.smp,
        machine.cpu,
        machine.gic,
        if machine.el2 { ", EL2" } else { "" }
    );
    let spec = crate::qemu::RunSpec {
        root,
        machine: &machine,
        built: &built,
        interactive: false,
        gdb: false,
        icount: false,
        extra: &[],
        timeout: Some(Duration::from_secs(timeout)),
    };
    let start = Instant::now();
    let result = crate::qemu::run(&spec)?;
    let seconds = start.elapsed().as_secs_f64();
    let log = crate::build::target_dir(root).join("fuzz");
    std::fs::create_dir_all(&log).with_context(|| log.display().to_string())?;
    let log = log.join(format!("{seed:#x}-{}.console", machine.board));
    std::fs::write(&log, &result.console).with_context(|| log.display().to_string())?;
    let lines: Vec<&str> = result.console.lines().map(str::trim).collect();
    let least = if secs > 0 { 1 } else { calls };
    let problems = judge(&lines, result.exit, machine.smp, least, timeout);
    report(&lines, seconds);
    println!("fuzz: console saved to {}", log.display());
    if problems.is_empty() {
        println!("fuzz: ok ({seconds:.1} s)");
        return Ok(ExitCode::SUCCESS);
    }
    println!("---- last console lines ----");
    for l in &lines[lines.len().saturating_sub(40)..] {
        println!("{l}");
    }
    println!("----");
    for p in &problems {
        println!("fuzz: problem: {p}");
    }
    println!("fuzz: FAILED with seed {seed:#x}; reproduce: {reproduce}");
    Ok(ExitCode::FAILURE)
}

/// Everything wrong with a run: how QEMU ended, the kernel's failure lines,
/// the fuzzers' summaries, the end-of-run checks and the verdict.
fn judge(lines: &[&str], exit: Exit, smp: u32, least: u64, timeout: u64) -> Vec<String> {
    let mut problems = Vec::new();
    match exit {
        Exit::Code(0) => {}
        Exit::Timeout => problems.push(format!("hang: the run did not end within {timeout} s")),
        other => problems.push(format!(
            "QEMU ended with {other} (the kernel's verdict is 103)"
        )),
    }
    for l in lines {
        if l.starts_with("PANIC")
            || l.starts_with("EXCEPTION")
            || l.contains(": FAIL")
            || l.starts_with("shutdown: ")
            || l.starts_with("verdict: ") && !l.starts_with("verdict: ok")
        {
            problems.push(format!("console: {l}"));
        }
    }
    problems.extend(fuzz::check_run(lines, smp, least));
    for want in [
        "objects: none left",
        "memory: no frames leaked",
        "verdict: ok",
    ] {
        if !lines.iter().any(|l| l.starts_with(want)) {
            problems.push(format!("no `{want}` at the end of the run"));
        }
    }
    problems
}

/// Calls, statuses and the kernel's end-of-run lines.
fn report(lines: &[&str], seconds: f64) {
    let all: Vec<fuzz::Summary> = lines.iter().filter_map(|l| fuzz::summary(l)).collect();
    let total: u64 = all.iter().map(|s| s.calls).sum();
    let first: u64 = all.iter().filter(|s| s.restart == 0).map(|s| s.calls).sum();
    let checked: u64 = all.iter().map(|s| s.checked).sum();
    let failures: u64 = all.iter().map(|s| s.failures).sum();
    let clobbers: u64 = all.iter().map(|s| s.clobbers).sum();
    println!(
        "fuzz: {total} calls by {} fuzzer instances ({first} by the first instances), {:.0} calls/s; \
         {checked} results checked against what the arguments decide; {failures} wrong, {clobbers} registers changed",
        all.len(),
        total as f64 / seconds.max(0.001)
    );
    let mut counts = [0u64; 17];
    for l in lines {
        for (code, n) in fuzz::statuses(l).unwrap_or_default() {
            counts[(code as usize).min(16)] += n;
        }
    }
    let sum: u64 = counts.iter().sum::<u64>().max(1);
    println!("fuzz: results:");
    for (code, n) in counts.iter().enumerate().filter(|(_, n)| **n != 0) {
        println!(
            "  {:>2} {:<22} {:>10} {:>6.2}%",
            code,
            status_name(code as u64),
            n,
            100.0 * *n as f64 / sum as f64
        );
    }
    for l in lines.iter().filter(|l| {
        l.starts_with("objects:") || l.starts_with("memory:") || l.starts_with("verdict:")
    }) {
        println!("fuzz: kernel: {l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_land_behind_every_magic() {
        let mut a = vec![0u8; 100];
        a[10..26].copy_from_slice(MAGIC);
        patch(&mut a, 7, 1000, 3).expect("patched");
        assert_eq!(&a[26..34], &7u64.to_le_bytes());
        assert_eq!(&a[34..42], &1000u64.to_le_bytes());
        assert_eq!(&a[42..50], &3u64.to_le_bytes());
        a[60..76].copy_from_slice(MAGIC);
        patch(&mut a, 1, 2, 3).expect("two copies of the program");
        assert_eq!(&a[26..34], &1u64.to_le_bytes());
        assert_eq!(&a[76..84], &1u64.to_le_bytes());
        assert_eq!(&a[84..92], &2u64.to_le_bytes());
        assert!(patch(&mut [0u8; 40], 1, 1, 1).is_err(), "none");
    }

    #[test]
    fn seeds_parse() {
        assert_eq!(parse_seed("42"), Ok(42));
        assert_eq!(parse_seed("0x2a"), Ok(42));
        assert!(parse_seed("x").is_err());
    }

    #[test]
    fn a_run_is_judged() {
        let good = [
            "[fuzz@0] fuzz core 0 restart 0: seed 0x1: 10 calls, 5 results checked, 0 failures, 0 registers changed",
            "[fuzz@0] fuzz supervisor 0 restart 0: seed 0x1: 3 calls, 1 results checked, 0 failures, 0 registers changed",
            "[fuzz@0] fuzz core 0 restart 1: seed 0x1: 10 calls, 5 results checked, 0 failures, 0 registers changed",
            "objects: none left",
            "memory: no frames leaked",
            "verdict: ok: every task did what the image expects",
        ];
        assert!(judge(&good, Exit::Code(0), 1, 10, 60).is_empty());
        let p = judge(&good, Exit::Timeout, 1, 10, 60);
        assert!(p[0].starts_with("hang"), "{p:?}");
        let mut leak = good.to_vec();
        leak[3] = "memory: 3 frames leaked";
        assert_eq!(judge(&leak, Exit::Code(0), 1, 10, 60).len(), 1);
        let mut panic = good.to_vec();
        panic.push("PANIC on core 2 at x.rs:1:1: boom");
        assert_eq!(judge(&panic, Exit::Code(0), 1, 10, 60).len(), 1);
    }
}
