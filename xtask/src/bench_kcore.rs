//! The kernel-core benchmark (issue 4): console lines and block reads from
//! 1, 2 and 3 client cores, through the kernel-core servers' rings vs the
//! in-kernel baseline's system calls. Each of the twelve images
//! `kcb-SERVICE-MODE-N` (servers/kcbench) is booted on virt with 4 cores;
//! its clients print `RESULT name=kernelcore mode=MODE client=I ops=OPS
//! ns=NS`. Per image and variant: requests = the clients' ops summed, span =
//! the longest client's ns; under `-icount` span/requests is instructions
//! of the whole machine per request, under multi-threaded TCG requests/span
//! is a wall-time throughput (median of the runs, with min and max).

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
    /// The longest client's span (ns of guest time).
    pub span_ns: u64,
}

/// `RESULT name=kernelcore mode=M client=I ops=O ns=N` -> (M, I, O, N).
pub fn parse_line(line: &str) -> Option<(String, u32, u64, u64)> {
    let rest = line.split_once("RESULT name=kernelcore ")?.1;
    let field = |k: &str| {
        rest.split_whitespace()
            .find_map(|f| f.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_string)
    };
    Some((
        field("mode")?,
        field("client")?.parse().ok()?,
        field("ops")?.parse().ok()?,
        field("ns")?.parse().ok()?,
    ))
}

/// Aggregates one boot's console: one sample per variant, checking that
/// every one of `clients` clients reported it.
pub fn aggregate(console: &str, clients: u32) -> Result<Vec<Sample>> {
    let mut out: Vec<(Sample, Vec<u32>)> = Vec::new();
    for (variant, client, ops, ns) in console.lines().filter_map(parse_line) {
        let i = match out.iter().position(|(s, _)| s.variant == variant) {
            Some(i) => i,
            None => {
                let s = Sample {
                    variant,
                    clients,
                    requests: 0,
                    span_ns: 0,
                };
                out.push((s, Vec::new()));
                out.len() - 1
            }
        };
        let (s, seen) = &mut out[i];
        if seen.contains(&client) || ops == 0 || ns == 0 {
            bail!("client {client} reported {} twice or empty", s.variant);
        }
        seen.push(client);
        s.requests += ops;
        s.span_ns = s.span_ns.max(ns);
    }
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

/// Median, min and max of `v` (not empty).
pub fn stats(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
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

/// Boots every image once under `-icount` (unless `icount` is false) and
/// `runs` times under multi-threaded TCG; writes
/// `target/bench/kernelcore.json` and prints the table (instructions per
/// request; wall-time throughput) and the ring/baseline ratios.
pub fn run(root: &Path, icount: bool, runs: usize, progress: &mut dyn FnMut(&str)) -> Result<()> {
    let machine = Machine::from_args(&MachineArgs {
        board: Some("virt".into()),
        smp: Some("4".into()),
        ..MachineArgs::default()
    })?;
    let mut rows: Vec<(Sample, u64, Vec<f64>)> = Vec::new();
    for (name, n) in images() {
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
            let samples = aggregate(&out.console, n)
                .with_context(|| format!("{name}: console:\n{}", out.console))?;
            for s in samples {
                let at = rows
                    .iter()
                    .position(|(r, _, _)| r.variant == s.variant && r.clients == n);
                let tput = s.requests as f64 * 1e9 / s.span_ns as f64;
                let instr = if icount { s.span_ns / s.requests } else { 0 };
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
    report(root, &rows, runs)
}

fn report(root: &Path, rows: &[(Sample, u64, Vec<f64>)], runs: usize) -> Result<()> {
    let mut json = String::from("[\n");
    println!("Kernel core vs in-kernel baseline (virt, 4 vCPUs; not real-hardware time)");
    println!(
        "  {:<26} {:>7} {:>14} {:>16} {:>12} {:>12}",
        "variant", "clients", "instr/request", "req/s (median)", "min", "max"
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
            "  {:<26} {:>7} {:>14} {cols}",
            s.variant, s.clients, instr_s
        );
        json += &format!(
            "  {{\"benchmark\":\"kernelcore\",\"variant\":\"{}\",\"clients\":{},\"icount_instructions_per_request\":{},\"mttcg_runs\":{},\"mttcg_requests_per_s\":{{\"median\":{:.1},\"min\":{:.1},\"max\":{:.1}}}}}{}\n",
            s.variant, s.clients, instr, runs, med, min, max,
            if i + 1 == rows.len() { "" } else { "," }
        );
    }
    json += "]\n";
    // Ratios, ring over syscall, for the same service, variant and clients.
    println!("  ring / in-kernel: instructions per request (lower is better for the ring), wall-time throughput (higher is better)");
    for (s, instr, tput) in rows.iter().filter(|(s, _, _)| s.variant.contains("-ring-")) {
        let base = s.variant.replace("-ring-", "-syscall-");
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
            let ir = if *instr == 0 || *bi == 0 {
                "-".to_string()
            } else {
                format!("{:.2}x", *instr as f64 / *bi as f64)
            };
            println!(
                "  {:<26} {:>7} {:>14} {:>16}",
                s.variant.replace("-ring-", "-"),
                s.clients,
                ir,
                tr
            );
        }
    }
    let dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("kernelcore.json");
    std::fs::write(&path, json).with_context(|| path.display().to_string())?;
    println!("  ({})", path.strip_prefix(root).unwrap_or(&path).display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // A missing client, a doubled one, nothing at all: errors.
        assert!(aggregate(console, 3).is_err());
        let doubled = format!("{console}[kcbench@1] RESULT name=kernelcore mode=console-ring-rtt client=1 ops=200 ns=1\n");
        assert!(aggregate(&doubled, 2).is_err());
        assert!(aggregate("nothing", 1).is_err());
    }

    #[test]
    fn stats_are_median_min_max() {
        assert_eq!(stats(&mut [5.0, 1.0, 3.0, 9.0, 7.0]), (5.0, 1.0, 9.0));
        assert_eq!(images().len(), 12);
    }
}
