//! The storage benchmark (`cargo xtask bench storage`; issue 14): the same
//! client (`bench/tasks/blkbench`) and the same requests, sequential and
//! random 4 KiB reads and writes one at a time, through the virtio-blk
//! server on virt (`images/storage-virtio.toml`) and through the SD card
//! server on the Raspberry Pi 4 (`images/storage-sd.toml`, QEMU
//! `raspi4b`). Each image boots under `-icount` on a fresh disk (a
//! zero-filled file; the card image `flash` makes) and prints one
//! `RESULT name=storage mode=WORKLOAD client=0 ops=N bytes=B ns=NS t0=..
//! t1=..` line per workload, then checks what it wrote. One client, so
//! the span is that client's: under `-icount` its nanoseconds are the
//! instructions the whole machine ran meanwhile (the client's, the
//! server's on its kernel core, idle cores' `wfe`), and requests per
//! second of guest time are `ops × 10^9 / ns`: the same figure, inverted.
//! The lines also carry `instr=N` (the PMU's instructions retired), the
//! figure reported. The icount run limits the virtio disk to
//! [`ICOUNT_IOPS`] requests per second of host time, so every request is
//! still in the device when the guest has gone to sleep and the counts
//! repeat (the SD card model answers inside the guest's access, so SD's
//! repeat anyway). What neither shows: the host's I/O time and any real
//! card's latency (QEMU's card has none); the virtio-blk image's
//! device-bound rate comes from one more boot without icount or limit.
//! The JSON goes to `target/bench/storage.json`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use qemu_tests::Exit;

use crate::build::{self, target_dir};
use crate::cli::{Board, Machine, MachineArgs};
use crate::{image, qemu};
use qemu_tests::bench::{
    parse_storage as parse_line, storage_problems as problems, StorageLine as Line, WORKLOADS,
};

/// The benchmark's name on the command line.
pub const NAME: &str = "storage";

/// Requests per second of host time the icount run's virtio disk lets
/// through (QEMU's `throttling.iops-total`): each request then stays in
/// the device about 10 ms of host time, far longer than the guest takes
/// to reach its sleep (tens of microseconds), as a real device takes
/// longer than that path on silicon (a few thousand instructions, a few
/// microseconds). Without it
/// whether the server had gone to sleep when the completion came was a
/// race with the host's I/O thread, and each of its outcomes runs
/// different code: 14.9 k or 24 k instructions for the same read.
pub const ICOUNT_IOPS: u32 = 100;

/// The two sides: (device, board, image).
pub const SIDES: [(&str, Board, &str); 2] = [
    ("virtio-blk", Board::Virt, "storage-virtio"),
    ("sd", Board::Rpi4, "storage-sd"),
];

/// The regression guard's short run: `storage-virtio` with 32 requests a
/// workload (images/storage-virtio-short.toml), one boot of seconds.
pub const SHORT: &str = "storage-virtio-short";

/// Boots [`SHORT`] under `-icount` with the disk's rate limit and returns
/// its guard keys: `virtio-WORKLOAD-short`, instructions of the whole
/// machine per request (the PMU's count; a run without it is an error,
/// since the span of guest time holds the idle time QEMU skips over).
pub fn short_keys(root: &Path) -> Result<Vec<(String, u64)>> {
    let mut keys = Vec::new();
    for line in boot(root, Board::Virt, SHORT, true)? {
        if line.instr.is_none() {
            bail!("{SHORT}: {} has no instruction count", line.workload);
        }
        let key = format!("virtio-{}-short", line.workload);
        let row = Row {
            device: SIDES[0].0,
            board: Board::Virt,
            line,
        };
        keys.push((key, row.instructions()));
    }
    Ok(keys)
}

/// One side's figures for one workload.
#[derive(Debug, Clone)]
pub struct Row {
    pub device: &'static str,
    pub board: Board,
    pub line: Line,
}

impl Row {
    /// Instructions of the whole machine per request (under `-icount`):
    /// the PMU's count of instructions retired when the client read it
    /// (QEMU counts every vCPU's and leaves out the idle time it skips
    /// over), else the span of virtual time, which includes that time.
    pub fn instructions(&self) -> u64 {
        self.line.instr.unwrap_or(self.line.ns) / self.line.ops.max(1)
    }

    /// Requests per second of guest time.
    pub fn per_second(&self) -> f64 {
        self.line.ops as f64 * 1e9 / self.line.ns.max(1) as f64
    }
}

/// Boots `name` on `board` (under `-icount` or not) and returns its
/// result lines.
fn boot(root: &Path, board: Board, name: &str, icount: bool) -> Result<Vec<Line>> {
    let machine = Machine::from_args(&MachineArgs {
        board: Some(board.name().into()),
        smp: Some("4".into()),
        ..MachineArgs::default()
    })?;
    let img = image::select(root, name, board)?;
    let mut built = build::build(root, &img, board)?;
    if let Some(disk) = &mut built.disk {
        crate::disk::prepare(disk, false)?;
        if icount && disk.kind == crate::disk::DiskKind::Virtio {
            disk.iops_limit = Some(ICOUNT_IOPS);
        }
    }
    let spec = qemu::RunSpec::benchmark(root, &machine, &built, icount);
    let out = qemu::run(&spec)?;
    let lines: Vec<&str> = out.console.lines().map(str::trim).collect();
    let problems = problems(&lines);
    if out.exit != Exit::Code(0) || !problems.is_empty() {
        bail!(
            "{name}: {} ({}); console:\n{}",
            problems.join("; "),
            out.exit,
            out.console
        );
    }
    Ok(lines.iter().filter_map(|l| parse_line(l)).collect())
}

/// Boots both images under `-icount` and prints and writes the results;
/// then boots the virtio-blk image once more without `-icount`, where
/// guest time follows the host's, for the device-bound rate (noisy).
pub fn run(root: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (device, board, name) in SIDES {
        progress(&format!(
            "storage: {name} ({device}) on {}, icount",
            board.name()
        ));
        for line in boot(root, board, name, true)? {
            rows.push(Row {
                device,
                board,
                line,
            });
        }
    }
    print!("{}", table(&rows));
    let (device, board, name) = SIDES[0];
    progress(&format!(
        "storage: {name} ({device}) on {}, device-bound (no icount)",
        board.name()
    ));
    let wall: Vec<Row> = boot(root, board, name, false)?
        .into_iter()
        .map(|line| Row {
            device,
            board,
            line,
        })
        .collect();
    print!("{}", wall_table(&wall));
    let path = target_dir(root).join("bench").join("storage.json");
    std::fs::create_dir_all(path.parent().unwrap_or(root))?;
    std::fs::write(&path, json(&rows, &wall)).with_context(|| path.display().to_string())?;
    println!("  ({})", path.strip_prefix(root).unwrap_or(&path).display());
    Ok(rows)
}

/// The device-bound rates: requests per second of guest time when guest
/// time follows the host's (one run, not icount: host I/O and host load
/// included).
pub fn wall_table(rows: &[Row]) -> String {
    let mut t = String::from(
        "Storage, device-bound: virtio-blk without icount (guest time follows the host's; one \
         run, noisy: host I/O and host load included)\n",
    );
    for r in rows {
        t += &format!(
            "  {:<11} {:>14.0} req/s ({} us per request)\n",
            r.line.workload,
            r.per_second(),
            r.line.ns / r.line.ops.max(1) / 1000
        );
    }
    t
}

fn find<'a>(rows: &'a [Row], device: &str, workload: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.device == device && r.line.workload == workload)
}

/// The summary: per workload, both sides and SD over virtio-blk.
pub fn table(rows: &[Row]) -> String {
    let mut t = String::from(
        "Storage: 4 KiB requests one at a time, 1 client; icount (instructions of the whole \
         machine per request; req/s of guest time); not real-hardware time, no host I/O time, \
         no card latency\n",
    );
    t += &format!(
        "  {:<11} {:>18} {:>14} {:>18} {:>14} {:>10}\n",
        "workload",
        "virtio-blk instr",
        "req/s (guest)",
        "SD card instr",
        "req/s (guest)",
        "SD/virtio"
    );
    for w in WORKLOADS {
        let (v, s) = (find(rows, "virtio-blk", w), find(rows, "sd", w));
        let cell = |r: Option<&Row>| match r {
            Some(r) => (
                r.instructions().to_string(),
                format!("{:.0}", r.per_second()),
            ),
            None => ("-".into(), "-".into()),
        };
        let ((vi, vr), (si, sr)) = (cell(v), cell(s));
        let ratio = match (v, s) {
            (Some(v), Some(s)) => format!(
                "{:.2}x",
                s.instructions() as f64 / v.instructions().max(1) as f64
            ),
            _ => "-".into(),
        };
        t += &format!("  {w:<11} {vi:>18} {vr:>14} {si:>18} {sr:>14} {ratio:>10}\n");
    }
    t
}

/// The rows as one JSON array: the icount ones, then the device-bound
/// (`wall`) ones.
pub fn json(icount: &[Row], wall: &[Row]) -> String {
    let both = icount.iter().map(|r| (r, "icount"));
    let items: Vec<String> = both
        .chain(wall.iter().map(|r| (r, "wall")))
        .map(|(r, mode)| {
            format!(
                "  {{\"benchmark\":\"storage\",\"device\":\"{}\",\"board\":\"{}\",\"mode\":\"{}\",\"workload\":\"{}\",\"requests\":{},\"request_bytes\":{},\"span_ns\":{},\"instructions_per_request\":{},\"requests_per_s_guest\":{:.1}}}",
                r.device,
                r.board.name(),
                mode,
                r.line.workload,
                r.line.ops,
                r.line.bytes,
                r.line.ns,
                r.instructions(),
                r.per_second()
            )
        })
        .collect();
    format!("[\n{}\n]\n", items.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
[blkbench@0] RESULT name=storage mode=seq-write client=0 ops=256 bytes=4096 ns=6741328 t0=1 t1=2
[blkbench@0] RESULT name=storage mode=seq-read client=0 ops=256 bytes=4096 ns=7000592 t0=3 t1=4
[blkbench@0] RESULT name=storage mode=rand-write client=0 ops=256 bytes=4096 ns=6741600 t0=5 t1=6
[blkbench@0] RESULT name=storage mode=rand-read client=0 ops=256 bytes=4096 ns=7000848 t0=7 t1=8
[blkbench@0] blkbench: 256 blocks of 4 KiB read back and checked (2048 sectors on the disk)";

    fn lines(s: &str) -> Vec<&str> {
        s.lines().collect()
    }

    #[test]
    fn figures_per_request() {
        let l = parse_line(lines(GOOD)[1]).unwrap();
        assert_eq!(
            (l.workload.as_str(), l.ops, l.bytes, l.ns),
            ("seq-read", 256, 4096, 7000592)
        );
        let r = Row {
            device: "sd",
            board: Board::Rpi4,
            line: l,
        };
        assert_eq!(r.instructions(), 27346);
        assert!((r.per_second() - 36568.3).abs() < 0.1);
        let t = table(std::slice::from_ref(&r));
        assert!(t.contains("seq-read") && t.contains("27346"), "{t}");
        assert!(json(&[r], &[]).contains("\"instructions_per_request\":27346"));
    }
}
