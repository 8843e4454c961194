//! The Linux peer's results: per-series statistics, the JSON files
//! `target/bench/linux-<name>.json` and the summary table.

use std::fmt::Write as _;

use crate::linux::run::{Mode, ResultLine};
use crate::linux::{Tuning, Workload};

/// The figures of one (workload, variant, cores) over the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub benchmark: String,
    pub variant: String,
    pub cores: u32,
    pub mode: &'static str,
    /// The Linux kernel's configuration (`Tuning::name`); "" for ours.
    pub kernel: &'static str,
    pub unit: &'static str,
    pub ops: Vec<u64>,
    pub ns: Vec<u64>,
}

impl Series {
    /// ops per second of guest time, per run.
    pub fn values(&self) -> Vec<f64> {
        self.ops
            .iter()
            .zip(&self.ns)
            .map(|(&o, &n)| o as f64 * 1e9 / n.max(1) as f64)
            .collect()
    }
}

/// Adds one result to its series (creating the series on first sight).
pub fn record(
    all: &mut Vec<Series>,
    r: ResultLine,
    mode: Mode,
    unit: &'static str,
    kernel: Tuning,
) {
    let same = |s: &&mut Series| {
        s.benchmark == r.name
            && s.variant == r.variant
            && s.cores == r.cores
            && s.kernel == kernel.name()
    };
    match all.iter_mut().find(same) {
        Some(s) => {
            s.ops.push(r.ops);
            s.ns.push(r.ns);
        }
        None => all.push(Series {
            benchmark: r.name,
            variant: r.variant,
            cores: r.cores,
            mode: mode.name(),
            kernel: kernel.name(),
            unit,
            ops: vec![r.ops],
            ns: vec![r.ns],
        }),
    }
}

/// (median, min, max); the median of an even count is the mean of the middle two.
pub fn stats(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (median, v[0], v[n - 1])
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "null".to_string()
    }
}

fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// One JSON object per series (benchmark, variant, cores, mode, the Linux
/// kernel's configuration when it is Linux's, runs, median, min, max, unit,
/// plus the raw ops and ns of each run).
pub fn series_json(s: &Series) -> String {
    let values = s.values();
    let (median, min, max) = stats(&values);
    let kernel = if s.kernel.is_empty() {
        String::new()
    } else {
        format!("\"kernel\":\"{}\",", s.kernel)
    };
    format!(
        "{{\"benchmark\":\"{}\",\"variant\":\"{}\",\"cores\":{},\"mode\":\"{}\",{kernel}\"runs\":[{}],\"median\":{},\"min\":{},\"max\":{},\"unit\":\"{}\",\"ops\":[{}],\"ns\":[{}]}}",
        s.benchmark, s.variant, s.cores, s.mode, list(values.iter().map(|&v| num(v))), num(median), num(min), num(max), s.unit, list(&s.ops), list(&s.ns)
    )
}

/// `target/bench/linux-<name>.json`: the workload's parameters and series.
pub fn file_json(w: &Workload, mode: Mode, series: &[&Series]) -> String {
    let params = list(w.params.iter().map(|(k, v)| format!("\"{k}\":{v}")));
    let mut out = format!(
        "{{\"benchmark\":\"{}\",\"peer\":\"linux\",\"mode\":\"{}\",\"unit\":\"{}\",\"params\":{{{params}}},\"series\":[\n",
        w.name, mode.name(), w.unit
    );
    let body: Vec<String> = series
        .iter()
        .map(|s| format!("  {}", series_json(s)))
        .collect();
    let _ = write!(out, "{}\n]}}\n", body.join(",\n"));
    out
}

/// The summary table: one row per series.
pub fn summary(all: &[Series], mode: Mode) -> String {
    let clock = match mode {
        Mode::Icount => "guest time under -icount: 1 s = 1e9 instructions of all vCPUs together",
        Mode::Mttcg => "wall time under MTTCG (noisy: compare ratios only)",
    };
    let mut out = format!(
        "Linux peer (Debian arm64 kernel, QEMU virt cortex-a72; {clock}; tuned = {})\n",
        crate::linux::TUNED_APPEND
    );
    let _ = writeln!(
        out,
        "  {:<11} {:<8} {:<8} {:>5} {:>14} {:>14} {:>14} {:>12} {:<10}",
        "benchmark", "variant", "kernel", "cores", "median", "min", "max", "ns/op", "unit"
    );
    for s in all {
        let (median, min, max) = stats(&s.values());
        let per_op = if median > 0.0 { 1e9 / median } else { 0.0 };
        let _ = writeln!(
            out,
            "  {:<11} {:<8} {:<8} {:>5} {:>14.0} {:>14.0} {:>14.0} {:>12.1} {:<10}",
            s.benchmark, s.variant, s.kernel, s.cores, median, min, max, per_op, s.unit
        );
    }
    out
}
