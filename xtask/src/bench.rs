//! `cargo xtask bench`: Corey's evaluation on our kernel beside the Linux
//! peer under the same QEMU machine, plus the kernel's micro-benchmarks.
//!
//! - Corey's benchmarks (`bench_corey`): one boot of `images/corey.toml`
//!   per core count and run runs every workload; the Linux peer
//!   (`linux::run_plan`) boots once per core count and run too.
//! - The micro-benchmarks (`bench_micro`): one boot on one core, `-icount`
//!   only (they are instruction counts).
//!
//! Every result goes to `target/bench/` as JSON (`<name>-<board>-<mode>.json`
//! for Corey's, `<name>-<board>.json` for the micro-benchmarks), each Corey
//! benchmark also as an SVG figure (`<name>-<board>-<mode>.svg`), and a
//! summary table with ours/Linux goes to stdout; stderr has a progress line
//! per boot.

pub mod corey;
pub mod guard;
pub mod host;
pub mod kcore;
pub mod kcore_linux;
pub mod measure;
pub mod micro;
pub mod net;
pub mod netload;
pub mod report;
pub mod smoke;
pub mod storage;
pub mod svg;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use crate::build::target_dir;
use crate::cli::{Board, Machine, MachineArgs, UsageError};
use crate::doctor;
use crate::linux::run::Mode;
use corey::{CoreyBench, COREY};
use micro::Bench;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Benchmarks (all when none): memclone, mempass, shares, kernelcore,
    /// wordcount, storage; `net` (alone, with --mode mttcg: the web server under
    /// load and the UDP echo's rate sweep, docs/benchmarks.md; `net-web` or
    /// `net-udp` for one part); `micro` or one of null-syscall, cap-lookup-private,
    /// cap-lookup-shared, map-touch-unmap-private, map-touch-unmap-shared,
    /// dispatch-CALL (each capability call on its cheapest path);
    /// `netload` (alone, icount: instructions per HTTP request from the
    /// in-guest load generator).
    pub names: Vec<String>,
    /// Core counts, repeated or comma-separated [default: virt 1,2,4,8
    /// under icount, 1,2,4 under mttcg; rpi4 4].
    #[arg(long, value_name = "N", value_delimiter = ',')]
    pub smp: Vec<String>,
    /// icount (deterministic, instructions) or mttcg (wall time, noisy).
    #[arg(long, value_name = "MODE", default_value = "icount")]
    pub mode: String,
    /// Boots per core count; the table shows the median, min and max
    /// [default: 1 under icount, 5 under mttcg].
    #[arg(long, value_name = "K")]
    pub runs: Option<u32>,
    /// Board for our kernel: virt or rpi4 [default: virt]; the Linux peer
    /// runs on virt only.
    #[arg(long, value_name = "BOARD")]
    pub board: Option<String>,
    /// Leave out the Linux peer.
    #[arg(long)]
    pub no_linux: bool,
    /// Write this run's micro-benchmark and kernel-core (icount) counts
    /// into the regression guard's baseline, bench/baseline.toml, instead
    /// of failing on growth.
    #[arg(long)]
    pub update_baseline: bool,
}

/// What to run, validated.
#[derive(Debug)]
pub struct Plan {
    pub micro: Vec<&'static Bench>,
    pub corey: Vec<&'static CoreyBench>,
    /// The storage benchmark (bench/storage.rs; icount only).
    pub storage: bool,
    pub board: Board,
    pub machines: Vec<Machine>,
    pub mode: Mode,
    pub runs: u32,
    pub linux: bool,
}

impl Plan {
    pub fn from_args(args: &BenchArgs) -> Result<Plan, UsageError> {
        let mode = Mode::parse(&args.mode).ok_or_else(|| {
            UsageError(format!("--mode {:?}: must be icount or mttcg", args.mode))
        })?;
        let board = match args.board.as_deref() {
            None => Board::Virt,
            Some(b) => Board::parse(b).ok_or_else(|| {
                UsageError(format!("--board {b:?}: unknown board (known: virt, rpi4)"))
            })?,
        };
        if board == Board::Imx8mp {
            return Err(UsageError(
                "--board imx8mp: the benchmarks run on virt and rpi4 (docs/porting.md, What the port left out)"
                    .to_string(),
            ));
        }
        let (mut micro, mut corey) = (Vec::new(), Vec::new());
        let mut storage = args.names.is_empty() || args.names.iter().any(|n| n == storage::NAME);
        for n in args.names.iter().filter(|n| *n != storage::NAME) {
            if n == "micro" {
                micro.extend(micro::BENCHES.iter());
            } else if let Some(b) = corey::find(n) {
                corey.push(b);
            } else {
                let known: Vec<&str> = COREY
                    .iter()
                    .map(|b| b.name)
                    .chain(["micro", storage::NAME])
                    .chain(micro::BENCHES.iter().map(|b| b.name))
                    .collect();
                micro.extend(micro::select(std::slice::from_ref(n)).map_err(|_| {
                    UsageError(format!(
                        "unknown benchmark {n:?} (known: {})",
                        known.join(", ")
                    ))
                })?);
            }
        }
        if args.names.is_empty() {
            micro.extend(micro::BENCHES.iter());
            corey.extend(COREY.iter());
        }
        if mode == Mode::Mttcg && !micro.is_empty() {
            eprintln!("bench: the micro-benchmarks count instructions; they run under icount only");
            micro.clear();
        }
        if mode == Mode::Mttcg && storage {
            eprintln!("bench: storage counts instructions; it runs under icount only");
            storage = false;
        }
        let runs = args.runs.unwrap_or(if mode == Mode::Mttcg { 5 } else { 1 });
        if runs == 0 {
            return Err(UsageError("--runs 0: at least one run is needed".into()));
        }
        if mode == Mode::Mttcg && runs < 5 {
            eprintln!("bench: --runs {runs} under mttcg: wall time is noisy, measuring.md asks for at least 5");
        }
        let smp: Vec<String> = match (&args.smp[..], board, mode) {
            ([], Board::Rpi4, _) => vec!["4".into()],
            ([], _, Mode::Icount) => ["1", "2", "4", "8"].map(String::from).to_vec(),
            ([], _, Mode::Mttcg) => ["1", "2", "4"].map(String::from).to_vec(),
            (given, _, _) => given.to_vec(),
        };
        let machines = smp
            .iter()
            .map(|n| {
                Machine::from_args(&MachineArgs {
                    board: Some(board.name().into()),
                    smp: Some(n.clone()),
                    ..MachineArgs::default()
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let linux = !args.no_linux && board == Board::Virt && !corey.is_empty();
        Ok(Plan {
            micro,
            corey,
            storage,
            board,
            machines,
            mode,
            runs,
            linux,
        })
    }

    pub(crate) fn ours(&self) -> Vec<&'static CoreyBench> {
        self.corey.iter().copied().filter(|b| b.ours).collect()
    }

    /// Our images to boot (each runs all its benchmarks).
    pub(crate) fn images(&self) -> Vec<&'static str> {
        let mut v: Vec<&str> = self
            .ours()
            .iter()
            .map(|b| corey::image(b, self.board))
            .collect();
        v.dedup();
        v
    }

    fn steps(&self) -> usize {
        let boots = self.machines.len() * self.runs as usize;
        let kcore = if self.corey.iter().any(|b| b.name == "kernelcore") {
            let per_image = if self.mode == Mode::Icount {
                1
            } else {
                self.runs as usize
            };
            crate::bench::kcore::images().len() * per_image
        } else {
            0
        };
        kcore
            + 2 * usize::from(self.storage)
            + usize::from(!self.micro.is_empty())
            + self.images().len() * boots
            + if self.linux { boots } else { 0 }
    }
}

/// The progress line on stderr (rewritten in place on a terminal).
pub(crate) struct Progress {
    total: usize,
    done: usize,
    start: Instant,
    tty: bool,
}

impl Progress {
    pub(crate) fn step(&mut self, what: &str) {
        self.done += 1;
        let line = format!(
            "bench [{}/{}] {what} (elapsed {:.0}s)",
            self.done,
            self.total,
            self.start.elapsed().as_secs_f64()
        );
        if self.tty {
            eprint!("\r\x1b[K{line}\n");
        } else {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
    }
}

pub fn run(root: &Path, args: &BenchArgs) -> Result<ExitCode> {
    if args.names.iter().any(|n| n == "netload") {
        // Its own shape: 5 vCPUs, 1-3 worker cores, icount only.
        if args.names.len() > 1 || !args.smp.is_empty() || args.mode != "icount" {
            return Err(UsageError(
                "`netload` runs alone, under --mode icount, without --smp (its machine is fixed: 5 vCPUs)".into(),
            )
            .into());
        }
        doctor::run(false, true)?;
        netload::run(root)?;
        return Ok(ExitCode::SUCCESS);
    }
    let net_parts = ["net", "net-web", "net-udp"];
    if args.names.iter().any(|n| net_parts.contains(&n.as_str())) {
        // Its own shape: 4 vCPUs, 1-3 application cores, MTTCG only.
        let cores: Result<Vec<u32>, _> = args.smp.iter().map(|s| s.parse::<u32>()).collect();
        let cores = match cores {
            Ok(c) if c.is_empty() => net::CORES.to_vec(),
            Ok(c) if c.iter().all(|n| net::CORES.contains(n)) => c,
            _ => {
                return Err(UsageError(format!(
                    "`net`: --smp {:?}: application cores are 1, 2 or 3",
                    args.smp
                ))
                .into())
            }
        };
        if args.names.len() > 1 || args.mode != "mttcg" || args.board.is_some() {
            return Err(UsageError(
                "`net` (or `net-web`, `net-udp`) runs alone, on virt, under --mode mttcg (its machine is fixed: 4 vCPUs; --smp picks the web server's application cores, 1-3)".into(),
            )
            .into());
        }
        let part = args.names[0].as_str();
        return net::run(
            root,
            &net::Opts {
                runs: args.runs.unwrap_or(5),
                linux: !args.no_linux,
                cores,
                web: part != "net-udp",
                udp: part != "net-web",
            },
        );
    }
    let plan = Plan::from_args(args)?;
    doctor::run(false, true)?;
    let out_dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&out_dir).with_context(|| out_dir.display().to_string())?;
    let mut progress = Progress {
        total: plan.steps(),
        done: 0,
        start: Instant::now(),
        tty: std::io::stderr().is_terminal(),
    };
    // The regression guard (bench/guard.rs): virt's instruction counts.
    let guard = plan.board == Board::Virt;
    let baseline = if guard && !args.update_baseline {
        crate::bench::guard::load(root)?
    } else {
        Default::default()
    };
    let mut guard_ok = true;
    if !plan.micro.is_empty() {
        progress.step("micro-benchmarks, 1 core, icount");
        let m = micro::run(root, Some(plan.board.name()), &plan.micro, &out_dir)?;
        let m = crate::bench::guard::to_keys(&m);
        if guard && args.update_baseline {
            crate::bench::guard::update(root, "micro", &m)?;
        } else if guard {
            println!(
                "Regression guard: against {} (fails above +{}%)",
                crate::bench::guard::BASELINE,
                crate::bench::guard::TOLERANCE_PCT
            );
            guard_ok &= crate::bench::guard::compare(&baseline, "micro", &m, true);
        }
        println!();
    }
    let mut all = Vec::new();
    let mut builds = HashMap::new();
    let host = crate::bench::host::Host::start();
    measure::ours(root, &plan, &mut progress, &mut builds, &mut all)?;
    if guard && plan.mode == Mode::Icount {
        // Corey's workloads on one core, if measured: the guard's corey
        // section (bench/guard.rs).
        let lines: Vec<crate::linux::run::ResultLine> = all
            .iter()
            .filter(|m| m.peer == report::Peer::Ours && m.series.cores == 1)
            .filter_map(|m| {
                Some(crate::linux::run::ResultLine {
                    name: m.series.benchmark.clone(),
                    variant: m.series.variant.clone(),
                    cores: 1,
                    ops: *m.series.ops.first()?,
                    ns: *m.series.ns.first()?,
                    extra: Default::default(),
                })
            })
            .collect();
        let c = crate::bench::guard::corey_keys(&lines);
        if !c.is_empty() && args.update_baseline {
            crate::bench::guard::update(root, "corey", &c)?;
        } else if !c.is_empty() {
            guard_ok &= crate::bench::guard::compare(&baseline, "corey", &c, true);
        }
    }
    if plan.linux {
        measure::linux(root, &plan, &mut progress, &mut all, &out_dir)?;
    } else if !plan.corey.is_empty() {
        eprintln!("bench: no Linux peer (--no-linux, or a board other than virt)");
    }
    if plan.corey.iter().any(|b| b.name == "kernelcore") {
        // Its own shape: 4 vCPUs, 1-3 client cores (bench/kcore.rs).
        let (icount, runs) = match plan.mode {
            Mode::Icount => (true, 0),
            Mode::Mttcg => (false, plan.runs as usize),
        };
        let k =
            crate::bench::kcore::run(root, icount, runs, plan.linux, &mut |s| progress.step(s))?;
        // The guard holds the one-client ring rows and the one-client
        // block baseline (deterministic).
        let k: Vec<(String, u64)> = k
            .into_iter()
            .filter(|(key, _)| crate::bench::guard::kcore_guarded(key))
            .collect();
        if icount && args.update_baseline {
            crate::bench::guard::update(root, "kernelcore", &k)?;
        } else if icount {
            guard_ok &= crate::bench::guard::compare(&baseline, "kernelcore", &k, true);
        }
        println!();
    }
    if plan.storage {
        // Its own shape: one boot on virt, one on rpi4 (bench/storage.rs).
        storage::run(root, &mut |s| progress.step(s))?;
        // The guard's short run (icount, 32 requests a workload).
        progress.step("storage: storage-virtio-short (the regression guard's run), icount");
        let s = storage::short_keys(root)?;
        if args.update_baseline {
            crate::bench::guard::update(root, "storage", &s)?;
        } else {
            guard_ok &= crate::bench::guard::compare(&baseline, "storage", &s, true);
        }
        println!();
    }
    let host = host.end();
    let board = plan.board.name();
    for b in &plan.corey {
        let stem = format!("{}-{board}-{}", b.name, plan.mode.name());
        for (ext, text) in [
            ("json", report::file_json(b, board, plan.mode, &all, &host)),
            ("svg", report::figure(b, board, plan.mode, &all)),
        ] {
            let path = out_dir.join(format!("{stem}.{ext}"));
            std::fs::write(&path, text).with_context(|| path.display().to_string())?;
        }
    }
    if !plan.corey.is_empty() {
        print!(
            "{}",
            report::summary(&plan.corey, board, plan.mode, &all, &host)
        );
    }
    eprintln!(
        "bench: {} steps in {:.1}s; JSON and SVG in {}",
        plan.steps(),
        progress.start.elapsed().as_secs_f64(),
        out_dir.display()
    );
    if !guard_ok {
        eprintln!(
            "bench: an instruction count grew more than {}% over {} (REGRESSION lines above)",
            crate::bench::guard::TOLERANCE_PCT,
            crate::bench::guard::BASELINE
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
