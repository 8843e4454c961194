//! The benchmarks' smoke test, one entry of `cargo xtask test`: our Corey
//! image on 2 cores under `-icount`, once. It checks that every result
//! comes out well formed (each variant once, at 2 cores, ops and time
//! above 0, the event counts present), that the word count equals the
//! host's count of the same corpus, and that the JSON written parses and
//! the SVG is whole. No figure is judged: timing is not asserted.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};

use crate::bench::corey::{self as corey, CoreyBench, COREY};
use crate::bench::report::{self as report, add, Peer};
use crate::build::{target_dir, Built};
use crate::cli::{Board, Machine, MachineArgs};
use crate::linux::run::Mode;

/// The entry's name in `cargo xtask test`.
pub const NAME: &str = "bench-smoke-virt";

/// Whether a `cargo xtask test` filter selects the entry.
pub fn selected(filter: Option<&str>) -> bool {
    filter.is_none_or(|f| NAME.contains(f))
}

/// Runs the entry, printing `test NAME ... ok|FAILED`; whether it passed.
pub fn run(root: &Path, builds: &mut HashMap<(String, Board), Result<Built, String>>) -> bool {
    let start = Instant::now();
    let benches: Vec<&CoreyBench> = COREY.iter().filter(|b| b.ours).collect();
    // Build first, so cargo's output does not split the progress line.
    let built = corey::build_images(root, &benches, Board::Virt, builds);
    print!("test {NAME} ... ");
    let _ = std::io::stdout().flush();
    let result = built.and_then(|()| check(root, &benches, builds));
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(rows) => {
            println!("ok ({secs:.1}s, {rows} results)");
            true
        }
        Err(e) => {
            println!("FAILED ({secs:.1}s)");
            println!("    problem: {e:#}");
            println!("    reproduce: cargo xtask bench --smp 2 --no-linux memclone mempass shares wordcount");
            false
        }
    }
}

fn check(
    root: &Path,
    benches: &[&CoreyBench],
    builds: &HashMap<(String, Board), Result<Built, String>>,
) -> Result<usize> {
    let machine = Machine::from_args(&MachineArgs {
        smp: Some("2".into()),
        ..MachineArgs::default()
    })?;
    let image = corey::image(benches[0], Board::Virt);
    let built = match builds.get(&(image.to_string(), Board::Virt)) {
        Some(Ok(b)) => b,
        Some(Err(e)) => bail!("image {image}: {e}"),
        None => bail!("image {image} was not built"),
    };
    // `boot` checks the exit, the variants, cores, ops, ns and the word count.
    let results = corey::boot(root, &machine, built, Mode::Icount, benches)?;
    let rows = results.len();
    let mut all = Vec::new();
    for r in results {
        let ev = corey::events(&r)?;
        let unit = corey::find(&r.name).map_or("ops/s", |b| b.unit);
        add(&mut all, Peer::Ours, r, Mode::Icount, unit, Some(ev));
    }
    let dir = target_dir(root).join("bench").join("smoke");
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    for b in benches {
        let json = report::file_json(
            b,
            "virt",
            Mode::Icount,
            &all,
            &crate::bench::host::Host::start(),
        );
        let v: serde_json::Value = serde_json::from_str(&json)
            .with_context(|| format!("{}: the JSON written does not parse:\n{json}", b.name))?;
        let series = v["series"].as_array().map_or(&[][..], Vec::as_slice);
        ensure!(
            series.len() == b.pairs.len(),
            "{}: {} series in the JSON, {} expected",
            b.name,
            series.len(),
            b.pairs.len()
        );
        for s in series {
            ensure!(
                s["median"].as_f64().is_some_and(|m| m > 0.0) && s["cores"] == 2,
                "{}: malformed series {s}",
                b.name
            );
        }
        let svg = report::figure(b, "virt", Mode::Icount, &all);
        ensure!(
            svg.starts_with("<svg")
                && svg.trim_end().ends_with("</svg>")
                && svg.contains("<polyline"),
            "{}: the SVG is not whole",
            b.name
        );
        std::fs::write(dir.join(format!("{}.json", b.name)), json)?;
        std::fs::write(dir.join(format!("{}.svg", b.name)), svg)?;
    }
    Ok(rows)
}
