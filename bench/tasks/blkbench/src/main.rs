//! The storage benchmark's client (`cargo xtask bench storage`;
//! docs/benchmarks.md): the same requests through whichever block server
//! its image connects (`uses = ["blk"]`): the virtio-blk server on virt,
//! the SD card server on the Raspberry Pi 4.
//!
//! Four workloads of [`REQUESTS`] requests of 4 KiB each (or the image's
//! value `requests`, 1 to [`REQUESTS`]: the regression guard's short
//! run, `images/storage-virtio-short.toml`), one at a time
//! (send, wait for the answer), over the first [`REGION_SECTORS`] sectors
//! of the disk (less if the disk is smaller): `seq-write` (block after
//! block, then one `Flush`), `seq-read`, `rand-write` (blocks from a fixed
//! xorshift sequence, then one `Flush`), `rand-read` (the same sequence).
//! Each is timed with the virtual counter and reported as
//! `RESULT name=storage mode=WORKLOAD client=0 ops=N bytes=4096 ns=NS
//! t0=T0 t1=T1` (its span, and where it lies on the machine's clock),
//! after [`WARMUP`] untimed reads.
//! Every write writes the same 4 KiB, stamped per sector with the
//! sector's number (made before the window; inside it only the stamp's 8
//! bytes per sector change, so the window holds the request, not the
//! making of its data); after the four
//! workloads every block of the region is read back, untimed, and checked:
//! a server that answered without moving the data fails the run.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use blk_api::client::{Blk, Error};
use ulib::println;

ulib::entry!(main);

/// Bytes per request.
const REQUEST: usize = 4096;
/// Sectors per request.
const PER: u64 = (REQUEST / blk_api::SECTOR) as u64;
/// The disk area the workloads cover: 1 MiB (the test disks' size).
const REGION_SECTORS: u64 = 2048;
/// Requests per workload, unless the image's value `requests` says fewer.
const REQUESTS: u64 = 256;
/// Untimed reads before the first window: the server, the device and, in
/// the benchmark's icount run, QEMU's rate limit on the disk (whose
/// bucket lets its first 10 requests through at once) reach their steady
/// state first (docs/benchmarks-services.md, *Storage*).
const WARMUP: u64 = 32;

fn now() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter and its
    // frequency; no memory is touched.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f, options(nomem, nostack))
    };
    (t, f)
}

fn to_ns(t: u64, f: u64) -> u64 {
    (t as u128 * 1_000_000_000 / f.max(1) as u128) as u64
}

ulib::bind! {
    /// 1 when the image lets this task read the PMU (`[kernel]
    /// cycle_counter`, `values = { cycle_counter = 1 }`).
    static CYCLE_COUNTER: Value = "cycle_counter";
    /// Requests per workload (default and most: [`REQUESTS`]).
    static REQUESTS_VALUE: Value = "requests";
}

/// Requests per workload: the image's `requests` if it is 1 to
/// [`REQUESTS`], else [`REQUESTS`].
fn requests() -> u64 {
    REQUESTS_VALUE
        .get()
        .filter(|n| (1..=REQUESTS).contains(n))
        .unwrap_or(REQUESTS)
}

/// Instructions retired (PMEVCNTR0_EL0, INST_RETIRED), when the image lets
/// this task read the PMU. Under `-icount` QEMU counts them for the whole
/// machine and leaves out the idle time it skips over (measurements.md,
/// *Storage*); on silicon they are this core's.
fn instructions() -> Option<u64> {
    ulib::pmu::instructions(CYCLE_COUNTER.get() == Some(1))
}

/// A timed window's start: the counter and, if readable, instructions.
fn start() -> (u64, Option<u64>) {
    (now().0, instructions())
}

fn report(mode: &str, ops: u64, (t0, i0): (u64, Option<u64>)) {
    let (t1, f) = now();
    let (ns, t0, t1) = (to_ns(t1 - t0, f), to_ns(t0, f), to_ns(t1, f));
    match (i0, instructions()) {
        (Some(a), Some(b)) => println!(
            "RESULT name=storage mode={} client=0 ops={} bytes={} ns={} t0={} t1={} instr={}",
            mode,
            ops,
            REQUEST,
            ns,
            t0,
            t1,
            b.wrapping_sub(a)
        ),
        _ => println!(
            "RESULT name=storage mode={} client=0 ops={} bytes={} ns={} t0={} t1={}",
            mode, ops, REQUEST, ns, t0, t1
        ),
    }
}

/// The fixed sequence of blocks the random workloads visit.
struct Random(u64);

impl Random {
    fn next(&mut self, blocks: u64) -> u64 {
        // xorshift64 (Marsaglia): deterministic, the same on every board.
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % blocks
    }
}

const SEED: u64 = 0x2545_f491_4f6c_dd1d;

/// Stamps each sector of `buf` (the data for block `block`) with its
/// sector number in its first 8 bytes.
fn stamp(buf: &mut [u8; REQUEST], block: u64) {
    for (i, s) in buf.chunks_exact_mut(blk_api::SECTOR).enumerate() {
        s[..8].copy_from_slice(&(block * PER + i as u64).to_le_bytes());
    }
}

fn run(blk: &mut Blk) -> Result<bool, Error> {
    let info = blk.info()?;
    let blocks = info.sectors.min(REGION_SECTORS) / PER;
    if blocks == 0 || info.read_only {
        println!(
            "blkbench: FAIL the disk ({} sectors, read-only {}) has no room for 4 KiB writes",
            info.sectors, info.read_only
        );
        return Ok(false);
    }
    let mut data = [0u8; REQUEST];
    blk_api::pattern::fill(0, &mut data);
    let mut buf = [0u8; REQUEST];
    let requests = requests();

    for i in 0..WARMUP {
        blk.read((i % blocks) * PER, &mut buf)?;
    }

    let t0 = start();
    for i in 0..requests {
        let b = i % blocks;
        stamp(&mut data, b);
        blk.write(b * PER, &data)?;
    }
    blk.flush()?;
    report("seq-write", requests, t0);

    let t0 = start();
    for i in 0..requests {
        blk.read((i % blocks) * PER, &mut buf)?;
    }
    report("seq-read", requests, t0);

    let mut r = Random(SEED);
    let t0 = start();
    for _ in 0..requests {
        let b = r.next(blocks);
        stamp(&mut data, b);
        blk.write(b * PER, &data)?;
    }
    blk.flush()?;
    report("rand-write", requests, t0);

    let mut r = Random(SEED);
    let t0 = start();
    for _ in 0..requests {
        blk.read(r.next(blocks) * PER, &mut buf)?;
    }
    report("rand-read", requests, t0);

    // Untimed: every block holds what the last write there wrote.
    let written = blocks.min(requests);
    for b in 0..written {
        blk.read(b * PER, &mut buf)?;
        stamp(&mut data, b);
        if buf != data {
            println!("blkbench: FAIL block {} does not hold what was written", b);
            return Ok(false);
        }
    }
    println!(
        "blkbench: {} blocks of 4 KiB read back and checked ({} sectors on the disk)",
        written, info.sectors
    );
    Ok(true)
}

fn main(_start: ulib::Start) -> i32 {
    // Safety: the image links this client's range at its address for the
    // task's life, shared with the block server only, and nothing else in
    // this task touches it.
    let mut blk = match unsafe { Blk::attach() } {
        Ok(b) => b,
        Err(e) => {
            println!("blkbench: FAIL no block server: {:?}", e);
            return 1;
        }
    };
    // Every wait blocks after one poll: the figure is the work a request
    // costs (client, server, kernel), not polls while the host's I/O
    // thread works, so it does not depend on how long the device takes
    // (docs/measurements.md, *The block server sleeps on its device's interrupt*).
    blk.set_spins(0);
    let ok = match run(&mut blk) {
        Ok(ok) => ok,
        Err(e) => {
            println!("blkbench: FAIL {:?}", e);
            false
        }
    };
    if let Err(e) = blk.close() {
        println!("blkbench: FAIL close: {:?}", e);
        return 1;
    }
    if ok {
        0
    } else {
        1
    }
}
