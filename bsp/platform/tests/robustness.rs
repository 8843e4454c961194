//! `parse` must never panic (nor hang) on any input: truncated blobs,
//! truncated blobs whose header is patched to agree, and random corruption
//! of the real fixtures. A panic anywhere fails the test; an `Ok` result must
//! still hold only regions whose end fits in a `u64`.

mod common;

use common::fixture;
use platform::{parse, Platform};

const FIXTURES: &[&str] = &[
    "bcm2711-rpi-4-b.dtb",
    "raspi4b-qemu-patched.dtb",
    "virt-gic2-smp1-256m.dtb",
    "virt-gic3-smp8-4g.dtb",
    "virt-el2-gic3-smp4-1g.dtb",
    "virt-gic3-smp4-1g-oneserial.dtb",
];

/// Marsaglia's xorshift64: deterministic, good enough to pick bytes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn header(dtb: &[u8], field: usize) -> u32 {
    u32::from_be_bytes(dtb[field * 4..field * 4 + 4].try_into().unwrap())
}

fn set_header(dtb: &mut [u8], field: usize, value: u32) {
    dtb[field * 4..field * 4 + 4].copy_from_slice(&value.to_be_bytes());
}

/// The bytes that hold data: up to the end of the later of the structure
/// and strings blocks (QEMU's blobs are 1 MiB, mostly zero padding).
fn used_len(dtb: &[u8]) -> usize {
    let structs = header(dtb, 2) + header(dtb, 9);
    let strings = header(dtb, 3) + header(dtb, 8);
    structs.max(strings) as usize
}

fn check(result: Result<Platform, platform::Error>) {
    if let Ok(p) = result {
        let gic = match p.gic {
            platform::Gic::V2 { dist, cpu } => [dist, cpu],
            platform::Gic::V3 { dist, redist } => [dist, redist],
        };
        let regions = p
            .memory
            .iter()
            .chain(&p.reserved)
            .chain(&gic)
            .chain(p.watchdog.iter());
        for r in regions.chain(p.virtio_mmio.iter().map(|v| &v.region)) {
            assert!(r.base.checked_add(r.size).is_some(), "{r:?} wraps");
        }
        for u in [Some(p.console), p.log].into_iter().flatten() {
            assert!(u.base.checked_add(u.size).is_some(), "{u:?} wraps");
        }
    }
}

#[test]
fn every_prefix_is_refused() {
    for name in FIXTURES {
        let dtb = fixture(name);
        let step = if dtb.len() > 100_000 { 997 } else { 1 };
        for len in (0..dtb.len()).step_by(step) {
            assert!(parse(&dtb[..len]).is_err(), "{name}: prefix {len} accepted");
        }
        assert!(parse(&dtb).is_ok(), "{name}");
    }
}

/// Cut the blob short and make the header agree (totalsize, and the size of
/// whichever block the cut falls in), so the structure walk meets the cut.
#[test]
fn truncated_blocks_with_an_agreeing_header() {
    for name in FIXTURES {
        let full = fixture(name);
        let used = used_len(&full);
        for len in (40..used).step_by(13) {
            let mut dtb = full[..len].to_vec();
            set_header(&mut dtb, 1, len as u32);
            for (off, size) in [(2, 9), (3, 8)] {
                let start = header(&dtb, off) as usize;
                let end = start + header(&dtb, size) as usize;
                if end > len {
                    set_header(&mut dtb, size, len.saturating_sub(start) as u32);
                }
            }
            check(parse(&dtb));
        }
    }
}

/// Flip 1 to 8 random bytes (to random values) in the part that holds data,
/// header included, many times over, with a fixed seed.
#[test]
fn random_corruption() {
    let mut rng = XorShift(0x0005_eed0_fd7b_2711);
    let mut accepted = 0;
    let rounds = 600;
    for name in FIXTURES {
        let original = fixture(name);
        let used = used_len(&original);
        let mut dtb = original.clone();
        for _ in 0..rounds {
            let flips = 1 + rng.below(8);
            let mut touched = Vec::with_capacity(flips);
            for _ in 0..flips {
                let at = rng.below(used);
                touched.push(at);
                dtb[at] = rng.next() as u8;
            }
            let result = parse(&dtb);
            accepted += result.is_ok() as usize;
            check(result);
            for at in touched {
                dtb[at] = original[at];
            }
        }
    }
    // Most corruptions land in property values and are still valid FDTs;
    // make sure the test is exercising deep paths, not just the header.
    assert!(
        accepted > FIXTURES.len() * rounds / 10,
        "only {accepted} parsed"
    );
}

/// Set one 32-bit word of the structure block at a time (every 17th) to each
/// token value and to a huge length, across the whole Raspberry Pi tree.
#[test]
fn every_structure_word_as_a_token() {
    let original = fixture("raspi4b-qemu-patched.dtb");
    let start = header(&original, 2) as usize;
    let end = start + header(&original, 9) as usize;
    let mut dtb = original.clone();
    for at in (start..end).step_by(4 * 17) {
        for value in [1u32, 2, 3, 4, 9, 0xffff_fff0] {
            dtb[at..at + 4].copy_from_slice(&value.to_be_bytes());
            check(parse(&dtb));
        }
        dtb[at..at + 4].copy_from_slice(&original[at..at + 4]);
    }
}
