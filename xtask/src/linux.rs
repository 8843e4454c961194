//! `cargo xtask linux-bench`: the Linux peer of the benchmark suite. The
//! Corey workloads (`bench/linux/*.c`, see its README) run as static
//! aarch64 programs on Debian's arm64 kernel with a busybox initramfs, under
//! the same QEMU `virt` machine as our kernel (cortex-a72, GICv3, 1G), at
//! each core count, in `-icount` (instructions) or MTTCG (wall time) mode.
//! One boot per core count and run executes every selected workload; the
//! results go to `target/bench/linux-<name>.json` and a table.

pub mod fetch;
pub mod guest;
pub mod report;
pub mod run;
pub mod wordcount;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::build::target_dir;
use crate::cli::{Machine, MachineArgs, UsageError};
use crate::doctor;
use crate::linux::report::{file_json, record, summary, Series};
use crate::linux::run::{Boot, Mode, ResultLine};

#[derive(Debug, Args)]
pub struct LinuxBenchArgs {
    /// Workloads to run (all when none): nullcall, memclone, mempass, shares, kernelcore, wordcount, kcconsole (4 cores only).
    pub names: Vec<String>,
    /// Core counts, repeated or comma-separated (1..=8) [default: 1,2,4].
    #[arg(long, value_name = "N", value_delimiter = ',')]
    pub smp: Vec<String>,
    /// icount (guest instructions) or mttcg (wall time).
    #[arg(long, value_name = "MODE", default_value = "icount")]
    pub mode: String,
    /// Boots per core count; the table shows the median, min and max.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub runs: u32,
    /// The Linux kernel's configuration: tuned, default, or both.
    #[arg(long, value_name = "KERNEL", default_value = "both")]
    pub kernel: String,
}

/// How the Linux peer's kernel is configured on its command line. The same
/// Debian kernel binary either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuning {
    /// Debian's defaults: Spectre/Meltdown mitigations, a random kernel
    /// stack offset on every system call, zeroed allocations.
    Default,
    /// The hardening that costs instructions per call and per page turned
    /// off; the comparison that is stricter for us, so the headline.
    Tuned,
}

impl Tuning {
    /// Both, the headline first.
    pub const ALL: [Tuning; 2] = [Tuning::Tuned, Tuning::Default];

    pub fn name(self) -> &'static str {
        match self {
            Tuning::Default => "default",
            Tuning::Tuned => "tuned",
        }
    }

    /// What this configuration adds to the kernel command line.
    pub fn append(self) -> &'static str {
        match self {
            Tuning::Default => "",
            Tuning::Tuned => TUNED_APPEND,
        }
    }

    /// `tuned`, `default` or `both`.
    pub fn parse_list(text: &str) -> Option<Vec<Tuning>> {
        match text {
            "both" => Some(Tuning::ALL.to_vec()),
            "tuned" => Some(vec![Tuning::Tuned]),
            "default" => Some(vec![Tuning::Default]),
            _ => None,
        }
    }
}

/// The tuned kernel's command line: no speculation mitigations, no
/// per-syscall kernel stack randomisation (about 131 instructions per call
/// on Debian's 6.1), no zeroing of every allocation.
pub const TUNED_APPEND: &str = "mitigations=off randomize_kstack_offset=off init_on_alloc=0";

/// One workload: its program, parameters (after the core count), variants
/// and the unit of its figure (ops per second of guest time).
#[derive(Debug)]
pub struct Workload {
    pub name: &'static str,
    pub params: &'static [(&'static str, u64)],
    pub variants: &'static [&'static str],
    pub unit: &'static str,
    /// The only core count it runs at (its shape needs exactly these
    /// cores); None: every core count asked for.
    pub only_smp: Option<u32>,
}

pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "nullcall",
        params: &[("calls", 20_000)],
        variants: &["getppid"],
        unit: "calls/s",
        only_smp: None,
    },
    Workload {
        name: "memclone",
        params: &[("mib", 16)],
        variants: &["threads", "procs"],
        unit: "pages/s",
        only_smp: None,
    },
    Workload {
        name: "mempass",
        params: &[("mib", 16)],
        variants: &["threads", "procs"],
        unit: "pages/s",
        only_smp: None,
    },
    Workload {
        name: "shares",
        params: &[("rounds", 20_000)],
        variants: &["threads", "procs"],
        unit: "ops/s",
        only_smp: None,
    },
    Workload {
        name: "kernelcore",
        params: &[("requests", 2_000)],
        variants: &["pipe"],
        unit: "requests/s",
        only_smp: None,
    },
    Workload {
        name: "wordcount",
        params: &[("words", 400_000), ("seed", 42)],
        variants: &["pthreads"],
        unit: "words/s",
        only_smp: None,
    },
    // The console kernel core's peer, in our shape: 4 vCPUs, a server
    // thread pinned to the last, 1-3 clients (`cargo xtask bench
    // kernelcore` runs it beside ours).
    Workload {
        name: "kcconsole",
        params: &[("round_trips", 200), ("stream", 400)],
        variants: &[
            "rtt-1", "rtt-2", "rtt-3", "stream-1", "stream-2", "stream-3",
        ],
        unit: "requests/s",
        only_smp: Some(4),
    },
];

/// The kernel command line's `lp_run=`: `name:param:...` joined by commas.
pub fn run_spec(workloads: &[&Workload]) -> String {
    let items: Vec<String> = workloads
        .iter()
        .map(|w| {
            std::iter::once(w.name.to_string())
                .chain(w.params.iter().map(|(_, v)| v.to_string()))
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect();
    items.join(",")
}

/// Checks a wordcount line against the host's own count of the corpus.
pub fn check_wordcount(r: &ResultLine) -> Result<()> {
    let get = |k: &str| {
        r.extra
            .get(k)
            .with_context(|| format!("wordcount: no {k}= in the result"))
    };
    let words: u64 = get("words")?.parse()?;
    let seed: u64 = get("seed")?.parse()?;
    let distinct: u64 = get("distinct")?.parse()?;
    let checksum = u64::from_str_radix(get("checksum")?, 16)?;
    let want = wordcount::reference(words, seed);
    if (r.ops, distinct, checksum) != (want.total, want.distinct, want.checksum) {
        bail!(
            "wordcount at {} cores: guest counted {} words, {distinct} distinct, checksum {checksum:016x}; \
             the host expects {}, {}, {:016x}",
            r.cores, r.ops, want.total, want.distinct, want.checksum
        );
    }
    Ok(())
}

fn select(names: &[String]) -> Result<Vec<&'static Workload>, UsageError> {
    if names.is_empty() {
        return Ok(WORKLOADS.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            WORKLOADS.iter().find(|w| w.name == n).ok_or_else(|| {
                let known: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
                UsageError(format!(
                    "unknown Linux workload {n:?} (known: {})",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

/// The validated machines, one per core count (virt, cortex-a72, GICv3, 1G).
fn machines(smp: &[String]) -> Result<Vec<Machine>, UsageError> {
    let smp: Vec<String> = if smp.is_empty() {
        ["1", "2", "4"].map(String::from).to_vec()
    } else {
        smp.to_vec()
    };
    smp.iter()
        .map(|n| {
            Machine::from_args(&MachineArgs {
                smp: Some(n.clone()),
                ..MachineArgs::default()
            })
        })
        .collect()
}

/// Boot timeout: generous for the default sizes (a full icount boot with
/// every workload at 4 cores takes well under a minute here).
const TIMEOUT: Duration = Duration::from_secs(600);

/// What to run, validated from the command line.
pub struct Plan {
    pub workloads: Vec<&'static Workload>,
    pub machines: Vec<Machine>,
    pub mode: Mode,
    pub runs: u32,
    pub kernels: Vec<Tuning>,
}

impl Plan {
    pub fn from_args(args: &LinuxBenchArgs) -> Result<Plan, UsageError> {
        let mode = Mode::parse(&args.mode).ok_or_else(|| {
            UsageError(format!("--mode {:?}: must be icount or mttcg", args.mode))
        })?;
        if args.runs == 0 {
            return Err(UsageError("--runs 0: at least one run is needed".into()));
        }
        let kernels = Tuning::parse_list(&args.kernel).ok_or_else(|| {
            UsageError(format!(
                "--kernel {:?}: must be tuned, default or both",
                args.kernel
            ))
        })?;
        Ok(Plan {
            workloads: select(&args.names)?,
            machines: machines(&args.smp)?,
            mode,
            runs: args.runs,
            kernels,
        })
    }
}

pub fn run(root: &Path, args: &LinuxBenchArgs) -> Result<ExitCode> {
    let plan = Plan::from_args(args)?;
    doctor::run(false, true)?;
    let started = Instant::now();
    let all = run_plan(root, &plan)?;
    print!("{}", summary(&all, plan.mode));
    eprintln!(
        "linux-bench: {} boots in {:.1}s; JSON in {}",
        plan.machines.len() * plan.runs as usize * plan.kernels.len(),
        started.elapsed().as_secs_f64(),
        Path::new("target/bench/linux-<name>.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prepares the guest, boots it `plan.runs` times per core count, checks
/// and gathers the results, writes `target/bench/linux-<name>.json`.
pub fn run_plan(root: &Path, plan: &Plan) -> Result<Vec<Series>> {
    let peer = fetch::get(root)?;
    let cache = fetch::cache_dir(root);
    let names: Vec<&str> = plan.workloads.iter().map(|w| w.name).collect();
    let bins = guest::build_workloads(root, &names, &cache.join("bin"))?;
    let busybox = std::fs::read(&peer.busybox)?;
    let programs = bins
        .iter()
        .map(|(n, p)| Ok((n.clone(), std::fs::read(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let initrd = cache.join("initramfs.cpio");
    std::fs::write(&initrd, guest::initramfs(&busybox, &programs, &[]))?;
    let source: Vec<&str> = peer.source.lines().collect();
    eprintln!("linux-bench: {}", source.join("; "));

    let mut all: Vec<Series> = Vec::new();
    for &kernel in &plan.kernels {
        for m in &plan.machines {
            let here: Vec<&'static Workload> = plan
                .workloads
                .iter()
                .copied()
                .filter(|w| w.only_smp.is_none_or(|n| n == m.smp))
                .collect();
            if here.is_empty() {
                continue;
            }
            for k in 1..=plan.runs {
                let append = format!(
                    "{} lp_cores={} lp_run={}",
                    kernel.append(),
                    m.smp,
                    run_spec(&here)
                );
                let qargs = run::qemu_args(m, plan.mode, &peer.kernel, &initrd, append.trim());
                let b = run::boot(&qargs, TIMEOUT)?;
                let results = check_boot(&b, &here, m.smp).with_context(|| {
                    format!(
                        "Linux peer ({} kernel) at {} cores, run {k}",
                        kernel.name(),
                        m.smp
                    )
                })?;
                eprintln!(
                    "linux-bench: {} kernel, {} cores, run {k}/{}: {:.1}s",
                    kernel.name(),
                    m.smp,
                    plan.runs,
                    b.elapsed.as_secs_f64()
                );
                for r in results {
                    let w = here.iter().find(|w| w.name == r.name);
                    let unit = w.map_or("ops/s", |w| w.unit);
                    record(&mut all, r, plan.mode, unit, kernel);
                }
            }
        }
    }
    let out_dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&out_dir).with_context(|| out_dir.display().to_string())?;
    for w in &plan.workloads {
        let series: Vec<&Series> = all.iter().filter(|s| s.benchmark == w.name).collect();
        let path = out_dir.join(format!("linux-{}.json", w.name));
        std::fs::write(&path, file_json(w, plan.mode, &series))
            .with_context(|| path.display().to_string())?;
    }
    Ok(all)
}

/// The network benchmark's guest (`cargo xtask bench net`): the kernel,
/// and an initramfs (`initramfs-web.cpio`) with `bench/linux/web.c`,
/// `bench/linux/udpecho.c` and the virtio-net modules; boot it with
/// `lp_net=1 lp_run=web` or `lp_net=1 lp_run=udpecho`.
pub fn web_guest(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let peer = fetch::get(root)?;
    let cache = fetch::cache_dir(root);
    let bins = guest::build_workloads(root, &["web", "udpecho"], &cache.join("bin"))?;
    let programs = bins
        .iter()
        .map(|(n, p)| Ok((n.clone(), std::fs::read(p)?)))
        .collect::<Result<Vec<_>>>()?;
    let modules = peer
        .modules
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok((
                name,
                std::fs::read(p).with_context(|| p.display().to_string())?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let busybox = std::fs::read(&peer.busybox)?;
    let initrd = cache.join("initramfs-web.cpio");
    std::fs::write(&initrd, guest::initramfs(&busybox, &programs, &modules))?;
    Ok((peer.kernel, initrd))
}

/// The results of one boot, once it ended well: QEMU exited 0 after the
/// init script's last line, no workload failed, every variant reported at
/// the machine's core count, and the word count matches the host's. On a
/// failure the guest console is shown.
fn check_boot(b: &Boot, workloads: &[&Workload], cores: u32) -> Result<Vec<ResultLine>> {
    let (results, failures) = run::parse_console(&b.console);
    let missing: Vec<String> = workloads
        .iter()
        .flat_map(|w| w.variants.iter().map(move |v| (w.name, *v)))
        .filter(|(n, v)| !results.iter().any(|r| r.name == *n && r.variant == *v))
        .map(|(n, v)| format!("{n}/{v}"))
        .collect();
    let checked = || -> Result<()> {
        match b.status {
            None => bail!("timed out after {}s", TIMEOUT.as_secs()),
            Some(0) => {}
            Some(code) => bail!("QEMU exit status {code}"),
        }
        if !failures.is_empty() || !missing.is_empty() || !b.console.contains("LINUXPEER DONE") {
            bail!("failures: {failures:?}; no result for: {missing:?}");
        }
        for r in &results {
            if r.cores != cores {
                bail!(
                    "{} reported {} cores on a {cores}-core machine",
                    r.name,
                    r.cores
                );
            }
            if r.name == "wordcount" {
                check_wordcount(r)?;
            }
        }
        Ok(())
    };
    if let Err(e) = checked() {
        eprintln!(
            "---- guest console ----\n{}\n---- end ----",
            b.console.trim_end()
        );
        return Err(e);
    }
    Ok(results)
}

#[cfg(test)]
mod tests;
