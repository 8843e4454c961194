//! The host a benchmark ran on, as far as it bears on wall-time figures:
//! its core count and its load before and after (`/proc/loadavg`). Under
//! MTTCG one vCPU is one host thread, so a figure for more vCPUs than the
//! host has cores, or from a loaded host, measures the host's scheduler.

use std::fmt::Write as _;

/// The host's cores and its 1-minute load average at the start and end of
/// the run (None where `/proc/loadavg` cannot be read).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Host {
    pub cpus: usize,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
}

/// A min-max spread over the median above this makes a wall-time series
/// too noisy to use (measuring.md: ratios of medians of at least 5 runs).
pub const NOISY_SPREAD: f64 = 0.10;

/// The 1-minute load average.
pub fn load_now() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

impl Host {
    /// The host now: the start of a run.
    pub fn start() -> Host {
        Host {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_start: load_now(),
            load_end: None,
        }
    }

    /// The end of the run.
    pub fn end(self) -> Host {
        Host {
            load_end: load_now(),
            ..self
        }
    }

    /// Whether the host was busier than its cores at either end.
    pub fn loaded(&self) -> bool {
        [self.load_start, self.load_end]
            .into_iter()
            .flatten()
            .any(|l| l > self.cpus as f64)
    }

    /// The JSON object `{"cpus":N,"load_start":x,"load_end":y}`.
    pub fn json(&self) -> String {
        let num = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.2}"));
        format!(
            "{{\"cpus\":{},\"load_start\":{},\"load_end\":{}}}",
            self.cpus,
            num(self.load_start),
            num(self.load_end)
        )
    }

    /// The lines a wall-time summary ends with: the host, and whether its
    /// figures can be used.
    pub fn wall_time_notes(&self) -> String {
        let mut out = String::new();
        let load = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.2}"));
        let _ = writeln!(
            out,
            "  host: {} cores, load average {} at the start, {} at the end; wall-time ratios only up to {} vCPUs",
            self.cpus,
            load(self.load_start),
            load(self.load_end),
            self.cpus
        );
        if self.loaded() {
            let _ = writeln!(
                out,
                "  the host was loaded (load above its {} cores): these wall-time figures are not evidence",
                self.cpus
            );
        }
        out
    }
}

/// Whether a series' runs spread too far to use: (max - min) / median
/// above [`NOISY_SPREAD`] (one run cannot say).
pub fn noisy(median: f64, min: f64, max: f64, runs: usize) -> bool {
    runs > 1 && median > 0.0 && (max - min) / median > NOISY_SPREAD
}
