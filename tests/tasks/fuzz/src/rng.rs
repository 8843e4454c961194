//! The fuzzer's randomness: splitmix64 (one word of state, any seed is
//! good, every output a fixed function of the seed) and the biased value
//! generators the random calls draw their arguments from.

/// splitmix64.
pub struct Rng(u64);

impl Rng {
    pub const fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Values at the edges of what the calls check: sizes, alignments, the
/// user half's end, sign bits.
const BOUNDARY: [u64; 22] = [
    0,
    1,
    2,
    7,
    63,
    64,
    255,
    256,
    4095,
    4096,
    4097,
    4096 * 4096,
    4096 * 4097,
    2 << 20,
    (2 << 20) + 4096,
    1 << 30,
    (1 << 48) - 4096,
    1 << 48,
    (1 << 63) - 1,
    1 << 63,
    u64::MAX - 4095,
    u64::MAX,
];

/// Addresses in the kernel's half, or where no user mapping can be.
const KERNEL: [u64; 6] = [
    0xffff_0000_0000_0000,
    0xffff_0000_4000_0000,
    0xffff_ffff_ffff_f000,
    0xffff_8000_0000_0000,
    0x0001_0000_0000_0000,
    0x8000_0000_0000_0000,
];

/// One argument word, biased towards what the kernel checks.
pub fn value(r: &mut Rng) -> u64 {
    match r.below(10) {
        0 => r.below(72),
        1 => cptr(r),
        2 | 3 => r.pick(&BOUNDARY),
        4 => r.pick(&KERNEL) + r.below(0x10000) * 8 + r.below(8),
        // The task's program, stack and a little beyond, aligned or not.
        5 => match r.below(3) {
            0 => 0x40_0000 + r.below(0x4000) * 8 + r.below(2) * r.below(8),
            1 => 0x8000_0000 - 8 * r.below(0x4000) - r.below(2) * r.below(8),
            _ => 0x1_0000_0000 + r.below(0x400) * 4096,
        },
        6 => 1 << r.below(64),
        7 => r.below(16),
        8 => (r.below(64) << 21) | (r.below(2) * r.below(0x20_0000)),
        _ => r.next(),
    }
}

/// A capability pointer: a root slot, a slot through a root slot, or
/// either with stray high bits.
pub fn cptr(r: &mut Rng) -> u64 {
    let index = if r.chance(1, 8) {
        r.below(256)
    } else {
        r.below(64)
    };
    let via = if r.chance(1, 2) { 0 } else { 1 + r.below(66) };
    let junk = if r.chance(1, 16) {
        1 << (16 + r.below(48))
    } else {
        0
    };
    junk | via << 8 | index
}
