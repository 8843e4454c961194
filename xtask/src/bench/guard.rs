//! The instruction-count regression guard (issue 12): the micro-benchmarks,
//! the kernel-core console round trip and Corey's workloads on one core
//! (instructions per page, per op, per word), under `-icount` (deterministic),
//! against the checked-in baseline `bench/baseline.toml`. A count more than
//! [`TOLERANCE_PCT`] % above its baseline fails; one more than that below it
//! is reported, so the baseline can be lowered (`cargo xtask bench micro
//! kernelcore --update-baseline`).
//!
//! It runs in `cargo xtask bench` (micro, and kernelcore under icount) and
//! as the `bench-guard-virt` entry of `cargo xtask test`: one boot of the
//! bench image on one core, one each of `kcb-console-ring-1`,
//! `kcb-block-ring-1` and `kcb-block-syscall-1` (4 vCPUs), one of the
//! corey image on one core, and one of `storage-virtio-short` (the storage
//! benchmark with 32 requests a workload: its four per-request counts,
//! which repeat under the disk's rate limit, docs/measurements.md,
//! *In-kernel baseline waiters sleep*; `cargo xtask bench storage` runs
//! it too). (The corey section exists because a
//! merge once put `write_bytes` back where frames are zeroed with `dc zva`
//! and memclone fell from 1.09M to 504k pages/s with no guard noticing.)

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::bench::micro;
use crate::build::{target_dir, Built};
use crate::cli::Board;

/// The baseline, relative to the workspace root.
pub const BASELINE: &str = "bench/baseline.toml";
/// How much a count may grow before the guard fails, in percent.
pub const TOLERANCE_PCT: u64 = 5;
/// The entry's name in `cargo xtask test`.
pub const NAME: &str = "bench-guard-virt";
/// The kernel-core images the guard boots (each with one client): the
/// console ring, and the block ring and its in-kernel baseline, whose
/// counts repeat since the block server and the in-kernel driver sleep
/// while the rate-limited disk works (docs/measurements.md, *Repeatable
/// kernel-core block rows*).
pub const KCORE_IMAGES: [&str; 3] = [
    "kcb-console-ring-1",
    "kcb-block-ring-1",
    "kcb-block-syscall-1",
];

/// Whether the guard holds a kernel-core row (`variant-clients` key): the
/// one-client rows of the images above.
pub fn kcore_guarded(key: &str) -> bool {
    key.ends_with("-1")
        && ["console-ring-", "block-ring-", "block-syscall-"]
            .iter()
            .any(|p| key.starts_with(p))
}

/// The corey image's results on one core as guard keys
/// (`NAME-VARIANT`, instructions of guest time per operation).
pub fn corey_keys(results: &[crate::linux::run::ResultLine]) -> Vec<(String, u64)> {
    results
        .iter()
        .filter(|r| r.cores == 1 && r.ops > 0)
        .map(|r| (format!("{}-{}", r.name, r.variant), r.ns / r.ops))
        .collect()
}

/// Boots the corey image on one core of virt under icount and returns its
/// guard keys.
pub fn corey_one_core(root: &Path) -> Result<Vec<(String, u64)>> {
    use crate::bench::corey;
    use crate::cli::{Machine, MachineArgs};
    let machine = Machine::from_args(&MachineArgs {
        board: Some("virt".into()),
        smp: Some("1".into()),
        ..MachineArgs::default()
    })?;
    let benches: Vec<&corey::CoreyBench> = corey::COREY
        .iter()
        .filter(|b| b.ours && corey::image(b, Board::Virt) == "corey")
        .collect();
    let img = crate::image::select(root, "corey", Board::Virt)?;
    let built = crate::build::build(root, &img, Board::Virt)?;
    let results = corey::boot(
        root,
        &machine,
        &built,
        crate::linux::run::Mode::Icount,
        &benches,
    )?;
    Ok(corey_keys(&results))
}

/// Baseline counts by section (`micro`, `kernelcore`, `corey`) and key.
pub type Baseline = BTreeMap<String, BTreeMap<String, u64>>;

/// The key of a kernel-core variant at `clients` clients.
pub fn kcore_key(variant: &str, clients: u32) -> String {
    format!("{variant}-{clients}")
}

/// Parses the baseline file's text.
pub fn parse(text: &str) -> Result<Baseline> {
    let table: toml::Table = toml::from_str(text)?;
    let mut out = Baseline::new();
    for (section, v) in table {
        let Some(t) = v.as_table() else {
            bail!("{section}: not a table");
        };
        let mut m = BTreeMap::new();
        for (k, v) in t {
            let Some(n) = v.as_integer().filter(|n| *n > 0) else {
                bail!("{section}.{k}: not a positive integer");
            };
            m.insert(k.clone(), n as u64);
        }
        out.insert(section, m);
    }
    Ok(out)
}

pub fn load(root: &Path) -> Result<Baseline> {
    let path = root.join(BASELINE);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    parse(&text).with_context(|| path.display().to_string())
}

/// One measured count against the baseline.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the tolerance either way.
    Same,
    /// Grew beyond the tolerance: a failure.
    Grew,
    /// Fell beyond the tolerance: the baseline can be lowered.
    Fell,
    /// Not in the baseline.
    New,
}

pub fn judge(baseline: Option<u64>, measured: u64) -> Verdict {
    match baseline {
        None => Verdict::New,
        Some(b) if measured * 100 > b * (100 + TOLERANCE_PCT) => Verdict::Grew,
        Some(b) if measured * 100 < b * (100 - TOLERANCE_PCT) => Verdict::Fell,
        Some(_) => Verdict::Same,
    }
}

/// Compares `measured` (key, count) of `section` with the baseline; prints
/// a line per count out of tolerance or new (every count when `verbose`);
/// whether none grew.
pub fn compare(
    baseline: &Baseline,
    section: &str,
    measured: &[(String, u64)],
    verbose: bool,
) -> bool {
    let empty = BTreeMap::new();
    let base = baseline.get(section).unwrap_or(&empty);
    let mut ok = true;
    for (key, m) in measured {
        let b = base.get(key).copied();
        let v = judge(b, *m);
        let what = match (&v, b) {
            (Verdict::New, _) => "not in the baseline".to_string(),
            (_, Some(b)) => format!(
                "baseline {b}, {:+.1}%",
                (*m as f64 - b as f64) * 100.0 / b as f64
            ),
            (_, None) => unreachable!(),
        };
        let tag = match v {
            Verdict::Grew => {
                ok = false;
                "REGRESSION"
            }
            Verdict::Fell => "better (lower the baseline)",
            Verdict::New => "new",
            Verdict::Same => "ok",
        };
        if verbose || v != Verdict::Same {
            println!("  guard {section}.{key}: {m} instructions, {what}: {tag}");
        }
    }
    ok
}

/// Writes `measured` into the baseline file (other keys kept).
pub fn update(root: &Path, section: &str, measured: &[(String, u64)]) -> Result<()> {
    let mut b = load(root).unwrap_or_default();
    let s = b.entry(section.to_string()).or_default();
    for (k, m) in measured {
        s.insert(k.clone(), *m);
    }
    let mut text = String::from(
        "# Instruction counts under -icount (deterministic) that `cargo xtask bench`\n\
         # and the bench-guard-virt entry of `cargo xtask test` hold the kernel to:\n\
         # a count more than 5% above its line fails (xtask/src/bench/guard.rs).\n\
         # Rewrite with `cargo xtask bench micro kernelcore memclone mempass shares\n\
         # wordcount --smp 1 --no-linux --update-baseline` (the storage section:\n\
         # `cargo xtask bench storage --update-baseline`).\n",
    );
    for (section, m) in &b {
        text += &format!("\n[{section}]\n");
        for (k, v) in m {
            text += &format!("{k:?} = {v}\n");
        }
    }
    let path = root.join(BASELINE);
    std::fs::write(&path, text).with_context(|| path.display().to_string())
}

/// Whether a `cargo xtask test` filter selects the entry.
pub fn selected(filter: Option<&str>) -> bool {
    filter.is_none_or(|f| NAME.contains(f))
}

/// The test entry: prints `test NAME ... ok|FAILED`; whether it passed.
pub fn run_entry(
    root: &Path,
    _builds: &mut HashMap<(String, Board), Result<Built, String>>,
) -> bool {
    let start = Instant::now();
    let result = (|| -> Result<bool> {
        let baseline = load(root)?;
        let out_dir = target_dir(root).join("bench").join("guard");
        std::fs::create_dir_all(&out_dir)?;
        let selected: Vec<&micro::Bench> = micro::BENCHES.iter().collect();
        let m = micro::measure(root, Some("virt"), &selected, &out_dir, false)?;
        let mut k: Vec<(String, u64)> = Vec::new();
        for name in KCORE_IMAGES {
            let samples = crate::bench::kcore::boot_icount(root, name, 1)?;
            k.extend(
                samples
                    .iter()
                    .map(|s| (kcore_key(&s.variant, s.clients), s.per_request())),
            );
        }
        let c = corey_one_core(root)?;
        let s = crate::bench::storage::short_keys(root)?;
        let a = compare(&baseline, "micro", &to_keys(&m), false);
        let b = compare(&baseline, "kernelcore", &k, false);
        let c = compare(&baseline, "corey", &c, false);
        let s = compare(&baseline, "storage", &s, false);
        Ok(a && b && c && s)
    })();
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(true) => {
            println!("test {NAME} ... ok ({secs:.1}s)");
            true
        }
        Ok(false) => {
            println!("test {NAME} ... FAILED ({secs:.1}s): an instruction count grew more than {TOLERANCE_PCT}% over {BASELINE}");
            println!("    reproduce: cargo xtask bench micro kernelcore memclone mempass shares wordcount --smp 1 --no-linux; cargo xtask bench storage");
            false
        }
        Err(e) => {
            println!("test {NAME} ... FAILED ({secs:.1}s)");
            println!("    problem: {e:#}");
            false
        }
    }
}

/// (name, count) pairs as owned keys.
pub fn to_keys(m: &[(&str, u64)]) -> Vec<(String, u64)> {
    m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_beyond_five_percent_fails() {
        assert_eq!(judge(Some(100), 105), Verdict::Same);
        assert_eq!(judge(Some(100), 106), Verdict::Grew);
        assert_eq!(judge(Some(100), 95), Verdict::Same);
        assert_eq!(judge(Some(100), 94), Verdict::Fell);
        assert_eq!(judge(None, 1), Verdict::New);
        let b = parse("[micro]\n\"null-syscall\" = 86\n").unwrap();
        assert!(compare(&b, "micro", &[("null-syscall".into(), 90)], false));
        assert!(!compare(&b, "micro", &[("null-syscall".into(), 91)], false));
        assert!(parse("[micro]\nx = \"86\"\n").is_err());
    }

    #[test]
    fn the_checked_in_baseline_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let b = load(root).unwrap();
        for bench in micro::BENCHES {
            assert!(
                b["micro"].contains_key(bench.name),
                "{} missing",
                bench.name
            );
        }
        assert!(b["kernelcore"].contains_key(&kcore_key("console-ring-rtt", 1)));
        assert!(kcore_guarded(&kcore_key("block-ring-rtt", 1)));
        assert!(!kcore_guarded(&kcore_key("block-syscall-rtt", 2)));
        for w in qemu_tests::bench::WORKLOADS {
            assert!(
                b["storage"].contains_key(&format!("virtio-{w}-short")),
                "{w}"
            );
        }
    }
}
