//! `cargo xtask bench`: the kernel's micro-benchmarks, each an image whose
//! task reports its result on the console, run on one core under
//! `-icount shift=0` (one instruction = one virtual nanosecond), so every
//! figure is an instruction count and repeats exactly. Results go to
//! `target/bench/<name>-<board>.json` and a table on the terminal.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::build::{self, target_dir};
use crate::cli::{Machine, MachineArgs, UsageError};
use crate::{doctor, image, qemu};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Benchmarks to run (all when none): null-syscall.
    pub names: Vec<String>,
    /// Board: virt or rpi4 [default: virt].
    #[arg(long, value_name = "BOARD")]
    pub board: Option<String>,
}

/// One benchmark.
struct Bench {
    name: &'static str,
    image: &'static str,
    /// The console line's prefix, after the task's `[bench@0] `.
    prefix: &'static str,
    what: &'static str,
}

const BENCHES: &[Bench] = &[Bench {
    name: "null-syscall",
    image: "bench",
    prefix: "bench null-syscall core 0: ",
    what: "Null system call round trip (seL4 anchor: 131 cycles on Cortex-A53; target <= 100)",
}];

/// What the null-syscall task printed: calls, total ns, loop ns, ns/call.
#[derive(Debug, PartialEq, Eq)]
pub struct NullSyscall {
    pub calls: u64,
    pub total_ns: u64,
    pub loop_ns: u64,
    pub per_call: u64,
}

/// Parses `20000 calls, 2020016 ns total, loop 80000 ns; 97 ns/call`.
pub fn parse_null(rest: &str) -> Option<NullSyscall> {
    let nums: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match nums[..] {
        [calls, total_ns, loop_ns, per_call] => Some(NullSyscall {
            calls,
            total_ns,
            loop_ns,
            per_call,
        }),
        _ => None,
    }
}

pub fn run(root: &Path, args: &BenchArgs) -> Result<ExitCode> {
    let selected: Vec<&Bench> = if args.names.is_empty() {
        BENCHES.iter().collect()
    } else {
        let mut v = Vec::new();
        for n in &args.names {
            match BENCHES.iter().find(|b| b.name == n) {
                Some(b) => v.push(b),
                None => {
                    let known: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
                    return Err(UsageError(format!(
                        "unknown benchmark {n:?} (known: {})",
                        known.join(", ")
                    ))
                    .into());
                }
            }
        }
        v
    };
    // One core on virt; raspi4b always has four (the others idle in wfi,
    // which costs no instructions under -icount).
    let smp = (args.board.as_deref() != Some("rpi4")).then(|| "1".to_string());
    let machine = Machine::from_args(&MachineArgs {
        board: args.board.clone(),
        smp,
        ..MachineArgs::default()
    })?;
    doctor::run(false, true)?;
    let out_dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&out_dir).with_context(|| out_dir.display().to_string())?;
    for b in selected {
        let image = image::select(root, b.image, machine.board)?;
        let built = build::build(root, &image, machine.board)?;
        eprintln!("bench: {} on {} (-icount)", b.name, machine.board);
        let spec = qemu::RunSpec {
            root,
            machine: &machine,
            built: &built,
            interactive: false,
            gdb: false,
            icount: true,
            extra: &[],
            timeout: Some(Duration::from_secs(120)),
        };
        let result = qemu::run(&spec)?;
        let Some(r) = result
            .console
            .lines()
            .find_map(|l| l.split_once(b.prefix).map(|(_, rest)| rest))
            .and_then(parse_null)
        else {
            bail!(
                "{}: no result line in the console:\n{}",
                b.name,
                result.console
            );
        };
        let json = format!(
            "{{\"name\":\"{}\",\"board\":\"{}\",\"mode\":\"icount\",\"cores\":1,\"calls\":{},\"total_instructions\":{},\"loop_instructions\":{},\"instructions_per_call\":{}}}\n",
            b.name, machine.board, r.calls, r.total_ns, r.loop_ns, r.per_call
        );
        let path = out_dir.join(format!("{}-{}.json", b.name, machine.board));
        std::fs::write(&path, json).with_context(|| path.display().to_string())?;
        println!("{}", b.what);
        println!(
            "  {:<14} {:<5} {:>6} instructions per call  ({} calls; {})",
            b.name,
            machine.board.name(),
            r.per_call,
            r.calls,
            path.strip_prefix(root).unwrap_or(&path).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_the_task_line() {
        let r = super::parse_null("20000 calls, 2020016 ns total, loop 80000 ns; 97 ns/call");
        assert_eq!(
            r,
            Some(super::NullSyscall {
                calls: 20000,
                total_ns: 2020016,
                loop_ns: 80000,
                per_call: 97
            })
        );
        assert_eq!(super::parse_null("garbage"), None);
    }
}
