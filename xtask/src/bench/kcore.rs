//! The kernel-core benchmark (issue 4): console lines and block reads from
//! 1, 2 and 3 client cores, through the kernel-core servers' rings vs the
//! in-kernel baseline's system calls. Each of the twelve images
//! `kcb-SERVICE-MODE-N` (bench/tasks/kcbench) is booted on virt with 4 cores;
//! its clients print `RESULT name=kernelcore mode=MODE client=I ops=OPS
//! ns=NS t0=T0 t1=T1`. Per image and variant: requests = the clients' ops
//! summed, span = the length of the union of the clients' spans on the
//! machine's one clock (a stretch where no client was timing, between two
//! that ran one after the other, is not counted: under `-icount
//! sleep=off` an idle machine's clock jumps to its next timer); under
//! `-icount` span/requests is
//! instructions of the whole machine per request, under multi-threaded TCG
//! requests/span is a wall-time throughput (median of the runs, with min
//! and max). Whether the clients overlapped at all (the last start before
//! the first end) is reported beside it: the longest client's span over
//! all requests, what this used to divide, divides the cost of clients
//! that ran one after the other by N (issue 12).
//!
//! The block images' clients also report the PMU's instruction count
//! (`instr=`), the figure used for them: their server (and the in-kernel
//! driver) sleeps while the rate-limited disk works ([`ICOUNT_IOPS`]), and
//! the clock of a machine whose cores all sleep jumps. Two environment
//! variables help measuring: `KCORE_ONLY=PREFIX` boots only the images
//! whose names start with PREFIX (`kcb-block`), and `KCORE_CONSOLE=1`
//! prints each boot's console (the block server's count of interrupts).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::build::{self, target_dir};
use crate::cli::{Board, Machine, MachineArgs};
use crate::{image, qemu};

/// One image's aggregate for one variant, one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `console-ring-rtt`, `block-syscall-rtt`, ...
    pub variant: String,
    pub clients: u32,
    pub requests: u64,
    /// The length of the union of the clients' spans (ns of guest time);
    /// the longest client's span for lines without `t0`/`t1`.
    pub span_ns: u64,
    /// Whether every client's span overlapped every other's (the last
    /// start came before the first end); true for one client.
    pub overlap: bool,
    /// The PMU's instructions retired in the longest client's span, when
    /// every client's line has `instr=` (the block images).
    pub instr: Option<u64>,
}

impl Sample {
    /// Instructions of the whole machine per request (under `-icount`):
    /// the PMU's count when the lines have it (it leaves out the idle
    /// time QEMU skips over while every core sleeps, which the block
    /// images' clocks hold: their server sleeps while the rate-limited
    /// disk works), else the span of guest time.
    pub fn per_request(&self) -> u64 {
        self.instr.unwrap_or(self.span_ns) / self.requests.max(1)
    }
}

/// One client's result line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub mode: String,
    pub client: u32,
    pub ops: u64,
    pub ns: u64,
    /// Start and end on the machine's clock, when the line has them.
    pub at: Option<(u64, u64)>,
    /// Instructions retired in the span (`instr=`), when the line has it.
    pub instr: Option<u64>,
}

/// `RESULT name=kernelcore mode=M client=I ops=O ns=N [t0=A t1=B]`.
pub fn parse_line(line: &str) -> Option<Line> {
    let rest = line.split_once("RESULT name=kernelcore ")?.1;
    let field = |k: &str| {
        rest.split_whitespace()
            .find_map(|f| f.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_string)
    };
    let at = match (field("t0"), field("t1")) {
        (Some(a), Some(b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        _ => None,
    };
    Some(Line {
        mode: field("mode")?,
        client: field("client")?.parse().ok()?,
        ops: field("ops")?.parse().ok()?,
        ns: field("ns")?.parse().ok()?,
        at,
        instr: field("instr").and_then(|v| v.parse().ok()),
    })
}

/// Aggregates one boot's console: one sample per variant, checking that
/// every one of `clients` clients reported it.
pub fn aggregate(console: &str, clients: u32) -> Result<Vec<Sample>> {
    // Per variant: the sample, the clients seen, their (start, end).
    type Seen = (Sample, Vec<u32>, Vec<Option<(u64, u64)>>);
    let mut out: Vec<Seen> = Vec::new();
    for l in console.lines().filter_map(parse_line) {
        let i = match out.iter().position(|(s, _, _)| s.variant == l.mode) {
            Some(i) => i,
            None => {
                let s = Sample {
                    variant: l.mode.clone(),
                    clients,
                    requests: 0,
                    span_ns: 0,
                    overlap: true,
                    instr: Some(0),
                };
                out.push((s, Vec::new(), Vec::new()));
                out.len() - 1
            }
        };
        let (s, seen, at) = &mut out[i];
        if seen.contains(&l.client) || l.ops == 0 || l.ns == 0 {
            bail!("client {} reported {} twice or empty", l.client, s.variant);
        }
        seen.push(l.client);
        at.push(l.at);
        s.requests += l.ops;
        s.span_ns = s.span_ns.max(l.ns);
        // Each core's PMU counts from its own start, so the clients' counts
        // cannot be laid on one line like their clocks: the longest span's
        // count (the clients start together at the gate and overlap).
        s.instr = s.instr.zip(l.instr).map(|(a, b)| a.max(b));
    }
    for (s, _, at) in &mut out {
        if let Some(at) = at.iter().copied().collect::<Option<Vec<_>>>() {
            let last_start = at.iter().map(|a| a.0).max().unwrap_or(0);
            let first_end = at.iter().map(|a| a.1).min().unwrap_or(0);
            s.span_ns = union_len(at).max(1);
            s.overlap = last_start < first_end;
        }
    }
    let out: Vec<(Sample, Vec<u32>)> = out.into_iter().map(|(s, seen, _)| (s, seen)).collect();
    if out.is_empty() {
        bail!("no kernelcore result line");
    }
    for (s, seen) in &out {
        if seen.len() != clients as usize {
            bail!(
                "{}: {} of {clients} clients reported",
                s.variant,
                seen.len()
            );
        }
    }
    Ok(out.into_iter().map(|(s, _)| s).collect())
}

/// The total length of the union of the intervals `[start, end)`.
pub fn union_len(mut v: Vec<(u64, u64)>) -> u64 {
    v.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(u64, u64)> = None;
    for (a, b) in v {
        cur = match cur {
            Some((s, e)) if a <= e => Some((s, e.max(b))),
            Some((s, e)) => {
                total += e - s;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    total + cur.map_or(0, |(s, e)| e.saturating_sub(s))
}

/// Median, min and max of `v` (not empty).
pub fn stats(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// The text of generated image `kcb-SERVICE-MODE-N` (the benchmark's
/// matrix: service × mode × 1-3 client cores), or `None` for any other
/// name. `image::load` asks here before reading images/.
pub fn image_text(name: &str) -> Option<String> {
    let rest = name.strip_prefix("kcb-")?;
    let (service, rest) = rest.split_once('-')?;
    let (mode, n) = rest.split_once('-')?;
    let n: u32 = n.parse().ok().filter(|n| (1..=3).contains(n))?;
    let (server, uses, dev, mode_right) = match service {
        "console" => ("console", "console", "uart", "r"),
        "block" => ("blk", "blk", "virtio-blk", "w"),
        _ => return None,
    };
    let mut t = format!(
        "description = \"Kernel-core benchmark: {service}, {mode}, {n} client core(s) (generated by xtask/src/bench/kcore.rs).\"\nboards = [\"virt\"]\n"
    );
    // The clients' start gate (kcbench: each counts itself in and starts
    // its timed loop once all N have, loaded and connected). The block
    // clients also read the PMU's instruction counter (`instr=`).
    let block = service == "block";
    let client = if block {
        format!("ranges = [\"gate\"]\nvalues = {{ clients = {n}, cycle_counter = 1 }}\n")
    } else {
        format!("ranges = [\"gate\"]\nvalues = {{ clients = {n} }}\n")
    };
    // The block server sleeps on the device's interrupt while its requests
    // are in the device (docs/block.md), as in the storage benchmark.
    let irq = if block {
        ", interrupt = { notification = \"blk.wake\", bits = 0x100 }"
    } else {
        ""
    };
    match mode {
        "ring" => {
            t += &format!(
                "kernel_cores = [3]\n{}\n[[task]]\ncrate = \"{server}\"\ncore = 3\nserver = true\nprovides = \"{uses}\"\ncaps = [{{ object = \"device:{dev}\", rights = \"rw\"{irq} }}]\n",
                if block { "\n[kernel]\ncycle_counter = true\n" } else { "" }
            );
            for c in 0..n {
                t += &format!(
                    "\n[[task]]\ncrate = \"kcbench\"\ncore = {c}\nuses = [\"{uses}\"]\n{client}"
                );
            }
        }
        "syscall" => {
            if service == "block" {
                t += "\n[kernel]\nbuild = \"test\"\nblock_in_kernel = true\ncycle_counter = true\n";
            }
            t += "\n[[notification]]\nname = \"mode\"\n";
            for c in 0..n {
                t += &format!(
                    "\n[[task]]\ncrate = \"kcbench\"\ncore = {c}\ncaps = [{{ object = \"notification:mode\", rights = \"{mode_right}\" }}]\n{client}"
                );
            }
        }
        _ => return None,
    }
    t += "\n[[range]]\nname = \"gate\"\nbase = 0x1_0000_0000\nsize = \"2M\"\n";
    Some(t)
}

/// The images, in run order.
pub fn images() -> Vec<(String, u32)> {
    let mut v = Vec::new();
    for service in ["console", "block"] {
        for mode in ["ring", "syscall"] {
            for n in 1..=3 {
                v.push((format!("kcb-{service}-{mode}-{n}"), n));
            }
        }
    }
    v
}

/// Requests per second of host time the icount runs' virtio disk lets
/// through (QEMU's `throttling.iops-total`): each request stays in the
/// device about 100 ms of host time. The storage benchmark's 100 (10 ms)
/// was not margin enough here: on a host loaded by other work, a vCPU
/// that loses the host CPU for longer than that between its submission
/// and its sleep finds the completion already there (20-25 of 232
/// requests a run, 27.7 k to 31.1 k instructions a request).
pub const ICOUNT_IOPS: u32 = 10;

/// `built` with its virtio disk (the block images') limited under
/// `-icount` to the storage benchmark's rate
/// ([`crate::bench::storage::ICOUNT_IOPS`] requests per second of host
/// time): every request is still in the device when the block server has
/// gone to sleep, so the instructions counted per request repeat and hold
/// no host I/O time (docs/measurements.md, *Repeatable block-request
/// counts*). Without `-icount` the disk runs at the host's speed.
fn limited(mut built: build::Built, icount: bool) -> build::Built {
    if let Some(disk) = built.disk.as_mut().filter(|_| icount) {
        disk.iops_limit = Some(ICOUNT_IOPS);
    }
    built
}

/// Boots image `name` (with `clients` clients) once under `-icount` and
/// aggregates its lines: instructions per request are `span_ns / requests`.
pub fn boot_icount(root: &Path, name: &str, clients: u32) -> Result<Vec<Sample>> {
    let machine = Machine::from_args(&MachineArgs {
        board: Some("virt".into()),
        smp: Some("4".into()),
        ..MachineArgs::default()
    })?;
    let img = image::select(root, name, Board::Virt)?;
    let built = limited(build::build(root, &img, Board::Virt)?, true);
    let spec = qemu::RunSpec::benchmark(root, &machine, &built, true);
    let out = qemu::run(&spec)?;
    aggregate(&out.console, clients).with_context(|| format!("{name}: console:\n{}", out.console))
}

/// Boots every image once under `-icount` (unless `icount` is false) and
/// `runs` times under multi-threaded TCG; writes
/// `target/bench/kernelcore.json` and prints the table (instructions per
/// request; wall-time throughput) and the ring/baseline ratios. Returns the
/// icount rows: (`variant-clients`, instructions per request).
pub fn run(
    root: &Path,
    icount: bool,
    runs: usize,
    linux: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<(String, u64)>> {
    let machine = Machine::from_args(&MachineArgs {
        board: Some("virt".into()),
        smp: Some("4".into()),
        ..MachineArgs::default()
    })?;
    let mut rows: Vec<(Sample, u64, Vec<f64>)> = Vec::new();
    // `KCORE_ONLY=kcb-block` runs only the images whose names start so.
    let only = std::env::var("KCORE_ONLY").unwrap_or_default();
    for (name, n) in images().into_iter().filter(|(i, _)| i.starts_with(&only)) {
        let img = image::select(root, &name, Board::Virt)?;
        let built = build::build(root, &img, Board::Virt)?;
        for k in usize::from(!icount)..=runs {
            let icount = k == 0;
            progress(&format!(
                "kernelcore: {name}, {}",
                if icount {
                    "icount".to_string()
                } else {
                    format!("mttcg run {k}/{runs}")
                }
            ));
            let extra: Vec<String> = if icount {
                Vec::new()
            } else {
                ["-accel", "tcg,thread=multi"].map(String::from).to_vec()
            };
            let built = limited(built.clone(), icount);
            let spec = qemu::RunSpec {
                root,
                machine: &machine,
                built: &built,
                interactive: false,
                gdb: false,
                icount,
                extra: &extra,
                timeout: Some(Duration::from_secs(300)),
            };
            let out = qemu::run(&spec)?;
            if std::env::var_os("KCORE_CONSOLE").is_some() {
                eprintln!("{}", out.console);
            }
            let samples = aggregate(&out.console, n)
                .with_context(|| format!("{name}: console:\n{}", out.console))?;
            for s in samples {
                let at = rows
                    .iter()
                    .position(|(r, _, _)| r.variant == s.variant && r.clients == n);
                let tput = s.requests as f64 * 1e9 / s.span_ns as f64;
                let instr = if icount { s.per_request() } else { 0 };
                match at {
                    None => rows.push((s.clone(), instr, Vec::new())),
                    Some(_) if icount => bail!("{name}: {} reported twice", s.variant),
                    Some(_) => {}
                }
                if !icount {
                    let i = rows.len()
                        - 1
                        - rows
                            .iter()
                            .rev()
                            .position(|(r, _, _)| r.variant == s.variant && r.clients == n)
                            .unwrap_or(0);
                    rows[i].2.push(tput);
                }
            }
        }
    }
    let ours = rows.len();
    if linux {
        progress("kernelcore: the Linux peer (kcconsole), tuned and default kernels");
        rows.extend(crate::bench::kcore_linux::rows(root, icount, runs)?);
    }
    report(root, &rows, runs)?;
    Ok(rows[..ours]
        .iter()
        .filter(|(_, instr, _)| *instr > 0)
        .map(|(s, instr, _)| {
            (
                crate::bench::guard::kcore_key(&s.variant, s.clients),
                *instr,
            )
        })
        .collect())
}

fn report(root: &Path, rows: &[(Sample, u64, Vec<f64>)], runs: usize) -> Result<()> {
    let mut json = String::from("[\n");
    println!("Kernel core vs in-kernel baseline (virt, 4 vCPUs; not real-hardware time)");
    println!(
        "  {:<30} {:>7} {:>8} {:>14} {:>16} {:>12} {:>12}",
        "variant", "clients", "overlap", "instr/request", "req/s (median)", "min", "max"
    );
    for (i, (s, instr, tput)) in rows.iter().enumerate() {
        let mut t = tput.clone();
        let (med, min, max) = if t.is_empty() {
            (0.0, 0.0, 0.0)
        } else {
            stats(&mut t)
        };
        let instr_s = if *instr == 0 {
            "-".to_string()
        } else {
            instr.to_string()
        };
        let cols = if t.is_empty() {
            format!("{:>16} {:>12} {:>12}", "-", "-", "-")
        } else {
            format!("{med:>16.0} {min:>12.0} {max:>12.0}")
        };
        println!(
            "  {:<30} {:>7} {:>8} {:>14} {cols}",
            s.variant,
            s.clients,
            if s.overlap { "yes" } else { "NO" },
            instr_s
        );
        json += &format!(
            "  {{\"benchmark\":\"kernelcore\",\"variant\":\"{}\",\"clients\":{},\"clients_overlap\":{},\"icount_instructions_per_request\":{},\"mttcg_runs\":{},\"mttcg_requests_per_s\":{{\"median\":{:.1},\"min\":{:.1},\"max\":{:.1}}}}}{}\n",
            s.variant, s.clients, s.overlap, instr, runs, med, min, max,
            if i + 1 == rows.len() { "" } else { "," }
        );
    }
    json += "]\n";
    // Ratios, ring over syscall, for the same service, variant and clients.
    println!("  ring / in-kernel: instructions per request (lower is better for the ring), wall-time throughput (higher is better)");
    ratios(rows, |v| v.replace("-ring-", "-syscall-"));
    if rows.iter().any(|(s, _, _)| s.variant.starts_with("linux-")) {
        println!("  ring / Linux tuned (kcconsole: the same shape, a console line per request)");
        ratios(rows, |v| v.replace("console-ring-", "linux-tuned-console-"));
        println!("  ring / Linux default");
        ratios(rows, |v| {
            v.replace("console-ring-", "linux-default-console-")
        });
    }
    let dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("kernelcore.json");
    std::fs::write(&path, json).with_context(|| path.display().to_string())?;
    println!("  ({})", path.strip_prefix(root).unwrap_or(&path).display());
    Ok(())
}

/// Prints, for every ring row, its ratio to the row `base` names (same
/// clients): instructions per request, and wall-time throughput.
fn ratios(rows: &[(Sample, u64, Vec<f64>)], base: impl Fn(&str) -> String) {
    for line in ratio_lines(rows, base) {
        println!("{line}");
    }
}

/// [`ratios`]' lines. A ring with no such peer (the block ring has no
/// Linux row: `base` maps it onto itself) gets no line, rather than a
/// 1.00x nobody measured.
fn ratio_lines(rows: &[(Sample, u64, Vec<f64>)], base: impl Fn(&str) -> String) -> Vec<String> {
    let mut lines = Vec::new();
    for (s, instr, tput) in rows.iter().filter(|(s, _, _)| s.variant.contains("-ring-")) {
        let base = base(&s.variant);
        if base == s.variant {
            continue;
        }
        if let Some((_, bi, bt)) = rows
            .iter()
            .find(|(b, _, _)| b.variant == base && b.clients == s.clients)
        {
            let (mut a, mut b) = (tput.clone(), bt.clone());
            let tr = if a.is_empty() || b.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2}x", stats(&mut a).0 / stats(&mut b).0)
            };
            // Every row's count is work done: the in-kernel baseline's lock
            // waiters sleep too (docs/block.md, *The in-kernel baseline*).
            let ir = if *instr == 0 || *bi == 0 {
                "-".to_string()
            } else {
                format!("{:.2}x", *instr as f64 / *bi as f64)
            };
            lines.push(format!(
                "  {:<30} {:>7} {:>14} {:>16}",
                s.variant.replace("-ring-", "-"),
                s.clients,
                ir,
                tr
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_without_a_peer_gets_no_ratio() {
        let row = |v: &str, t: f64| {
            let s = Sample {
                variant: v.to_string(),
                clients: 1,
                requests: 200,
                span_ns: 1,
                overlap: true,
                instr: None,
            };
            (s, 0u64, vec![t])
        };
        let rows = [
            row("console-ring-rtt", 200.0),
            row("block-ring-rtt", 50.0),
            row("linux-tuned-console-rtt", 100.0),
        ];
        let lines = ratio_lines(&rows, |v| {
            v.replace("console-ring-", "linux-tuned-console-")
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("console-rtt") && lines[0].contains("2.00x"));
        // The block rows at 2 and 3 clients get their instruction ratio
        // (the in-kernel baseline's waiters sleep), one without a peer at
        // that client count none.
        let mut rows = [
            row("block-ring-rtt", 50.0),
            row("block-syscall-rtt", 25.0),
            row("block-ring-rtt", 50.0),
        ];
        for r in &mut rows {
            r.0.clients = 2;
            r.1 = 3000;
        }
        rows[1].1 = 1000;
        rows[2].0.clients = 3;
        let lines = ratio_lines(&rows, |v| v.replace("-ring-", "-syscall-"));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("3.00x"), "{lines:?}");
    }

    #[test]
    fn lines_aggregate_per_variant() {
        let console = "\
[kcbench@1] RESULT name=kernelcore mode=console-ring-rtt client=1 ops=200 ns=3000
[kcbench@0] RESULT name=kernelcore mode=console-ring-rtt client=0 ops=200 ns=5000
noise RESULT name=memclone mode=private
[kcbench@0] RESULT name=kernelcore mode=console-ring-stream client=0 ops=400 ns=800
[kcbench@1] RESULT name=kernelcore mode=console-ring-stream client=1 ops=400 ns=900
";
        let s = aggregate(console, 2).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].requests, s[0].span_ns), (400, 5000));
        assert_eq!((s[1].requests, s[1].span_ns), (800, 900));
        // With start and end: the union of the spans, and whether they overlap.
        let apart = "\
RESULT name=kernelcore mode=x client=0 ops=200 ns=1000 t0=100 t1=1100
RESULT name=kernelcore mode=x client=1 ops=200 ns=1000 t0=1200 t1=2200
";
        let s = aggregate(apart, 2).unwrap();
        assert_eq!(
            (s[0].requests, s[0].span_ns, s[0].overlap),
            (400, 2000, false)
        );
        let together = apart.replace("t0=1200 t1=2200", "t0=600 t1=1600");
        let s = aggregate(&together, 2).unwrap();
        assert_eq!((s[0].span_ns, s[0].overlap), (1500, true));
        // A missing client, a doubled one, nothing at all: errors.
        assert!(aggregate(console, 3).is_err());
        let doubled = format!("{console}[kcbench@1] RESULT name=kernelcore mode=console-ring-rtt client=1 ops=200 ns=1\n");
        assert!(aggregate(&doubled, 2).is_err());
        assert!(aggregate("nothing", 1).is_err());
    }

    #[test]
    fn union_of_spans() {
        assert_eq!(union_len(vec![(0, 10), (5, 15), (20, 30)]), 25);
        assert_eq!(union_len(vec![(20, 30), (0, 40)]), 40);
        assert_eq!(union_len(vec![]), 0);
    }

    #[test]
    fn stats_are_median_min_max() {
        assert_eq!(stats(&mut [5.0, 1.0, 3.0, 9.0, 7.0]), (5.0, 1.0, 9.0));
        assert_eq!(images().len(), 12);
    }
}
