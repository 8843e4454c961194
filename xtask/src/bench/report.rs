//! `cargo xtask bench`'s results: ours and the Linux peer's series side by
//! side, one JSON file and one SVG figure per benchmark, and the summary
//! table with the ratio ours/Linux per benchmark and core count.

use std::fmt::Write as _;

use crate::bench::corey::CoreyBench;
use crate::bench::host::{noisy, Host};
use crate::bench::svg::{plot, si, Line};
use crate::linux::report::{series_json, stats, Series};
use crate::linux::run::{Mode, ResultLine};
use crate::linux::Tuning;

/// Ours or the Linux peer's, on one of its kernel configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    Ours,
    Linux(Tuning),
}

impl Peer {
    pub fn name(self) -> &'static str {
        match self {
            Peer::Ours => "ours",
            Peer::Linux(_) => "linux",
        }
    }

    fn kernel(self) -> &'static str {
        match self {
            Peer::Ours => "",
            Peer::Linux(t) => t.name(),
        }
    }

    fn is_linux(self) -> bool {
        matches!(self, Peer::Linux(_))
    }
}

/// One (peer, benchmark, variant, cores) over the runs, with our event
/// counts per run (none for Linux).
#[derive(Debug, Clone)]
pub struct Measured {
    pub peer: Peer,
    pub series: Series,
    pub events: Vec<[u64; 4]>,
}

impl Measured {
    pub fn median(&self) -> f64 {
        stats(&self.series.values()).0
    }
}

/// Adds one run's result to its series.
pub fn add(
    all: &mut Vec<Measured>,
    peer: Peer,
    r: ResultLine,
    mode: Mode,
    unit: &'static str,
    events: Option<[u64; 4]>,
) {
    let same = |m: &&mut Measured| {
        m.peer == peer
            && m.series.benchmark == r.name
            && m.series.variant == r.variant
            && m.series.cores == r.cores
    };
    let m = match all.iter_mut().find(same) {
        Some(m) => m,
        None => {
            all.push(Measured {
                peer,
                series: Series {
                    benchmark: r.name.clone(),
                    variant: r.variant.clone(),
                    cores: r.cores,
                    mode: mode.name(),
                    kernel: peer.kernel(),
                    unit,
                    ops: Vec::new(),
                    ns: Vec::new(),
                },
                events: Vec::new(),
            });
            all.last_mut().expect("just pushed")
        }
    };
    m.series.ops.push(r.ops);
    m.series.ns.push(r.ns);
    m.events.extend(events);
}

fn find<'a>(
    all: &'a [Measured],
    peer: Peer,
    bench: &str,
    variant: &str,
    cores: u32,
) -> Option<&'a Measured> {
    all.iter().find(|m| {
        m.peer == peer
            && m.series.benchmark == bench
            && m.series.variant == variant
            && m.series.cores == cores
    })
}

/// Core counts measured for `bench`, ascending.
fn cores_of(all: &[Measured], bench: &str) -> Vec<u32> {
    let mut c: Vec<u32> = all
        .iter()
        .filter(|m| m.series.benchmark == bench)
        .map(|m| m.series.cores)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// ours/Linux on `kernel` (of the medians, in ops per second of guest time).
pub fn ratio(
    all: &[Measured],
    b: &CoreyBench,
    pair: (&str, &str),
    cores: u32,
    kernel: Tuning,
) -> Option<f64> {
    let ours = find(all, Peer::Ours, b.name, pair.0, cores)?.median();
    let linux = find(all, Peer::Linux(kernel), b.name, pair.1, cores)?.median();
    (linux > 0.0).then(|| ours / linux)
}

pub fn clock(mode: Mode) -> &'static str {
    match mode {
        Mode::Icount => "guest time under -icount: 1 s = 1e9 instructions of all vCPUs together",
        Mode::Mttcg => {
            "wall time under multi-threaded TCG on a 2-core host (noisy: compare ratios)"
        }
    }
}

/// `target/bench/<name>-<board>-<mode>.json`.
/// A ratio that means something: under icount always (instructions);
/// under MTTCG only up to the host's cores (beyond, vCPUs time-share).
pub fn ratio_valid(mode: Mode, cores: u32, host: &Host) -> bool {
    mode == Mode::Icount || cores as usize <= host.cpus
}

pub fn file_json(b: &CoreyBench, board: &str, mode: Mode, all: &[Measured], host: &Host) -> String {
    let mut out = format!(
        "{{\"benchmark\":\"{}\",\"board\":\"{board}\",\"mode\":\"{}\",\"unit\":\"{}\",\"what\":\"{}\",\"clock\":\"{}\",\"host\":{},\"ours_available\":{},\"series\":[\n",
        b.name,
        mode.name(),
        b.unit,
        b.what,
        clock(mode),
        host.json(),
        b.ours
    );
    let series: Vec<String> = all
        .iter()
        .filter(|m| m.series.benchmark == b.name)
        .map(|m| {
            let inner = series_json(&m.series);
            let events: Vec<String> = m
                .events
                .iter()
                .map(|e| {
                    format!(
                        "{{\"shared_locks\":{},\"broadcast_tlbi\":{},\"ipis\":{},\"global_pool_takes\":{}}}",
                        e[0], e[1], e[2], e[3]
                    )
                })
                .collect();
            let (med, min, max) = stats(&m.series.values());
            let noisy = mode == Mode::Mttcg && noisy(med, min, max, m.series.ops.len());
            format!(
                "  {{\"peer\":\"{}\",{},\"noisy\":{noisy},\"events\":[{}]}}",
                m.peer.name(),
                &inner[1..inner.len() - 1],
                events.join(",")
            )
        })
        .collect();
    out.push_str(&series.join(",\n"));
    out.push_str("\n],\"ratios\":[");
    let mut ratios = Vec::new();
    for cores in cores_of(all, b.name) {
        for &(o, l) in b.pairs {
            for kernel in Tuning::ALL {
                if let Some(r) = ratio(all, b, (o, l), cores, kernel) {
                    ratios.push(format!(
                        "{{\"cores\":{cores},\"ours\":\"{o}\",\"linux\":\"{l}\",\"linux_kernel\":\"{}\",\"ours_over_linux\":{r:.4},\"valid\":{}}}",
                        kernel.name(),
                        ratio_valid(mode, cores, host)
                    ));
                }
            }
        }
    }
    let _ = writeln!(out, "{}]}}", ratios.join(","));
    out
}

/// The figure of `b`: one line per variant of each peer.
pub fn figure(b: &CoreyBench, board: &str, mode: Mode, all: &[Measured]) -> String {
    let mut lines = Vec::new();
    let peers = [Peer::Ours].into_iter().chain(Tuning::ALL.map(Peer::Linux));
    for peer in peers {
        let mut variants: Vec<(usize, &str)> = b
            .pairs
            .iter()
            .map(|p| if peer == Peer::Ours { p.0 } else { p.1 })
            .enumerate()
            .collect();
        variants.dedup_by_key(|v| v.1);
        for (color, v) in variants {
            let mut points: Vec<(u32, f64, f64, f64)> = all
                .iter()
                .filter(|m| m.peer == peer && m.series.benchmark == b.name && m.series.variant == v)
                .map(|m| {
                    let (med, min, max) = stats(&m.series.values());
                    (m.series.cores, med, min, max)
                })
                .collect();
            points.sort_by_key(|p| p.0);
            if !points.is_empty() {
                let who = match peer {
                    Peer::Ours => "ours".to_string(),
                    Peer::Linux(t) => format!("Linux {}", t.name()),
                };
                lines.push(Line {
                    label: format!("{who} {v}"),
                    points,
                    dashed: peer.is_linux(),
                    color,
                });
            }
        }
    }
    let title = format!("{} ({board}, {})", b.name, mode.name());
    let y_label = match mode {
        Mode::Icount => format!("{} (guest time: 1 s = 1e9 instructions)", b.unit),
        Mode::Mttcg => format!("{} (wall time under MTTCG)", b.unit),
    };
    plot(&title, b.what, &y_label, &lines)
}

/// Events per op: 3 decimals, or 2 significant digits when that shows 0.
pub fn per_op_text(v: f64) -> String {
    if v > 0.0 && v < 0.0005 {
        format!("{v:.1e}")
    } else {
        format!("{v:.3}")
    }
}

/// The summary table: per benchmark, core count and pair, both medians
/// (with min and max over several runs) and ours/Linux; for ours, the
/// shared-lock acquisitions and broadcast TLBIs per op.
/// Under MTTCG a ratio beyond the host's cores is left out, and a series
/// whose runs spread more than [`crate::bench::host::NOISY_SPREAD`] is
/// marked `(noisy)`.
pub fn summary(
    benches: &[&CoreyBench],
    board: &str,
    mode: Mode,
    all: &[Measured],
    host: &Host,
) -> String {
    let peer = if all.iter().any(|m| m.peer.is_linux()) {
        "vs the Linux peer, same QEMU machine"
    } else {
        "(no Linux peer)"
    };
    let mut out = format!(
        "Corey's benchmarks: ours on {board} {peer}, {} mode\n({}; not real-hardware time)\n",
        mode.name(),
        clock(mode)
    );
    let _ = writeln!(
        out,
        "  {:<10} {:>5}  {:<11} {:>9} {:>19}  {:<8} {:>9} {:>19}  {:>10}  {:>9} {:>11} {:>8} {:>8}",
        "benchmark",
        "cores",
        "ours",
        "median",
        "[min, max]",
        "linux",
        "tuned",
        "[min, max]",
        "ours/tuned",
        "default",
        "ours/default",
        "locks/op",
        "tlbi/op"
    );
    let cell = |m: Option<&Measured>| -> (String, String) {
        match m {
            None => ("-".into(), String::new()),
            Some(m) => {
                let (med, min, max) = stats(&m.series.values());
                let runs = m.series.ops.len();
                let range = if runs > 1 {
                    format!("[{}, {}]", si(min), si(max))
                } else {
                    String::new()
                };
                if mode == Mode::Mttcg && noisy(med, min, max, runs) {
                    (format!("{} (noisy)", si(med)), range)
                } else {
                    (si(med), range)
                }
            }
        }
    };
    for b in benches {
        for cores in cores_of(all, b.name) {
            for &(o, l) in b.pairs {
                let ours = find(all, Peer::Ours, b.name, o, cores);
                let tuned = find(all, Peer::Linux(Tuning::Tuned), b.name, l, cores);
                let default = find(all, Peer::Linux(Tuning::Default), b.name, l, cores);
                let (om, or) = cell(ours);
                let (lm, lr) = cell(tuned);
                let (dm, _) = cell(default);
                let om = if b.ours { om } else { "see above".into() };
                let r = |k| match ratio(all, b, (o, l), cores, k) {
                    Some(_) if !ratio_valid(mode, cores, host) => "n/a".into(),
                    Some(r) => format!("{r:.2}x"),
                    None => "-".into(),
                };
                let per_op = |k: usize| {
                    ours.and_then(|m| {
                        let ops: u64 = m.series.ops.iter().sum();
                        let ev: u64 = m.events.iter().map(|e| e[k]).sum();
                        (ops > 0 && !m.events.is_empty())
                            .then(|| per_op_text(ev as f64 / ops as f64))
                    })
                    .unwrap_or_else(|| "-".into())
                };
                let _ =
                    writeln!(
                    out,
                    "  {:<10} {:>5}  {:<11} {:>9} {:>19}  {:<8} {:>9} {:>19}  {:>10}  {:>9} {:>11} {:>8} {:>8}",
                    b.name, cores, o, om, or, l, lm, lr, r(Tuning::Tuned), dm, r(Tuning::Default), per_op(0), per_op(1)
                );
            }
        }
    }
    out.push_str(&format!(
        "  (Linux tuned = the same kernel booted with `{}`; default = Debian's settings)\n",
        crate::linux::TUNED_APPEND
    ));
    if mode == Mode::Mttcg {
        out.push_str(&host.wall_time_notes());
        out.push_str(&format!(
            "  (n/a: more vCPUs than host cores; noisy: runs spread more than {:.0}% of the median)\n",
            crate::bench::host::NOISY_SPREAD * 100.0
        ));
    }
    out.push_str("  (throughput in ops per second of guest time; units per benchmark: ");
    let units: Vec<String> = benches
        .iter()
        .map(|b| format!("{} {}", b.name, b.unit))
        .collect();
    out.push_str(&units.join(", "));
    out.push_str(")\n");
    out
}
