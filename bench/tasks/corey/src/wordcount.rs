//! MapReduce word count, Metis-style, over the corpus specified in
//! bench/linux/README.md (the Linux peer and xtask's host check generate
//! the same bytes).
//!
//! Core 0 generates the corpus into the shared range before the timed
//! section. Map: core i counts the words of its slice (boundary i =
//! `i * len / n` moved forward to the start of a word) into its own
//! open-addressing table (FNV-1a 64), which only it writes. Reduce (after
//! a barrier): core j merges from every core's table the words with
//! `(hash >> 32) % n == j` into a table of its own. Core 0 gathers the
//! partitions and sorts them by word. Timed: map + reduce + sort, as for
//! the peer. The tables live in the shared range (one per core, written
//! by their owner only), so the reduce reads them where they are.

use crate::sync::Ctx;
use crate::{PAGE, RANGE, RW, SHARED_BASE};
use ulib::cap::*;
use ulib::{println, CPtr};

const WORDS: u64 = 400_000;
const SEED: u64 = 42;
const CORPUS_VA: u64 = SHARED_BASE + (2 << 20);
const CORPUS_PAGES: u64 = 1024;
const TABLES_VA: u64 = SHARED_BASE + (8 << 20);
const TABLE_STRIDE: u64 = 256 << 10;
const TABLE_PAGES: u64 = 16;
/// Entries per table (a power of two; at most half of them used).
const CAP: usize = 1024;
const CORPUS_SEG: CPtr = CPtr::root(24);
const TABLE_SEG: CPtr = CPtr::root(25);
/// The corpus length, in the control page.
const CTL_LEN: u64 = 0x10;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[repr(C)]
#[derive(Clone, Copy)]
struct Entry {
    /// The word's address in the corpus (0: free).
    word: u64,
    hash: u64,
    count: u64,
    len: u64,
}

const FREE: Entry = Entry {
    word: 0,
    hash: 0,
    count: 0,
    len: 0,
};

fn word(e: &Entry) -> &'static [u8] {
    // Safety: `word` points into the corpus, mapped read/write in the
    // shared range for the whole benchmark, and `len` bytes lie inside it.
    unsafe { core::slice::from_raw_parts(e.word as *const u8, e.len as usize) }
}

/// Core `core`'s map table (`reduce` = false) or reduce table.
fn table(core: usize, reduce: bool) -> &'static mut [Entry; CAP] {
    let va = TABLES_VA + core as u64 * TABLE_STRIDE + if reduce { (CAP * 32) as u64 } else { 0 };
    // Safety: each core maps its own TABLE_PAGES at its stride before the
    // timed section; a table is written only by its owner, and read by
    // others only after the barrier that ends the writing.
    unsafe { &mut *(va as *mut [Entry; CAP]) }
}

/// Adds `count` of the word at `e` to `t`; false when `t` is half full.
fn add(t: &mut [Entry; CAP], used: &mut usize, e: &Entry) -> bool {
    let mask = CAP - 1;
    let mut i = e.hash as usize & mask;
    loop {
        let slot = &mut t[i];
        if slot.word == 0 {
            *slot = *e;
            *used += 1;
            return *used * 2 <= CAP;
        }
        if slot.hash == e.hash && slot.len == e.len && word(slot) == word(e) {
            slot.count += e.count;
            return true;
        }
        i = (i + 1) & mask;
    }
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(FNV_PRIME);
    }
    h
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\n'
}

/// Writes the corpus at CORPUS_VA; its length.
fn generate(limit: usize) -> usize {
    const C: &[u8; 16] = b"bcdfghjklmnprstv";
    const V: &[u8; 5] = b"aeiou";
    const S: [&[u8]; 4] = [b"", b"s", b"er", b"ing"];
    // Safety: the corpus segment is mapped read/write there, `limit` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(CORPUS_VA as *mut u8, limit) };
    let mut x = if SEED == 0 { 1 } else { SEED };
    let mut n = 0;
    for k in 0..WORDS {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let i = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as usize;
        let (hi, lo) = (i >> 4, i & 15);
        out[n..n + 3].copy_from_slice(&[C[hi], V[(hi + lo) % 5], C[lo]]);
        n += 3;
        let s = S[i % 4];
        out[n..n + s.len()].copy_from_slice(s);
        n += s.len();
        out[n] = if k % 16 == 15 || k + 1 == WORDS {
            b'\n'
        } else {
            b' '
        };
        n += 1;
    }
    n
}

fn map_slice(corpus: &[u8], core: usize, n: usize) -> bool {
    let boundary = |i: usize| {
        let mut b = corpus.len() * i / n;
        while b > 0 && b < corpus.len() && !is_space(corpus[b - 1]) {
            b += 1;
        }
        b
    };
    let t = table(core, false);
    t.fill(FREE);
    let (mut p, mut used) = (boundary(core), 0);
    let corpus = &corpus[..boundary(core + 1)];
    let end = corpus.len();
    while p < end {
        while p < end && is_space(corpus[p]) {
            p += 1;
        }
        if p == end {
            break;
        }
        let (start, mut h) = (p, FNV_OFFSET);
        while p < end && !is_space(corpus[p]) {
            h = (h ^ corpus[p] as u64).wrapping_mul(FNV_PRIME);
            p += 1;
        }
        let e = Entry {
            word: corpus[start..].as_ptr() as u64,
            hash: h,
            count: 1,
            len: (p - start) as u64,
        };
        if !add(t, &mut used, &e) {
            return false;
        }
    }
    true
}

fn reduce(core: usize, n: usize) -> bool {
    let r = table(core, true);
    r.fill(FREE);
    let mut used = 0;
    for m in 0..n {
        for e in table(m, false).iter().filter(|e| e.word != 0) {
            if (e.hash >> 32) % n as u64 == core as u64 && !add(r, &mut used, e) {
                return false;
            }
        }
    }
    true
}

pub fn wordcount(c: &mut Ctx) {
    let tables = TABLES_VA + c.core as u64 * TABLE_STRIDE;
    c.must("table segment", segment_create(TABLE_SEG, TABLE_PAGES));
    let bytes = TABLE_PAGES * PAGE;
    c.must("map tables", map(RANGE, tables, TABLE_SEG, 0, bytes, RW));
    let corpus_bytes = CORPUS_PAGES * PAGE;
    if c.core == 0 {
        c.must("corpus segment", segment_create(CORPUS_SEG, CORPUS_PAGES));
        c.must(
            "map corpus",
            map(RANGE, CORPUS_VA, CORPUS_SEG, 0, corpus_bytes, RW),
        );
        let len = generate(corpus_bytes as usize);
        c.ctl_write(CTL_LEN, len as u64);
    }
    let mut all = [FREE; CAP / 2];
    let mut distinct = 0;
    let (core, n) = (c.core, c.n);
    let (ns, ev) = c.timed(
        |c| {
            let len = c.ctl_read(CTL_LEN) as usize;
            // Safety: core 0 wrote `len` bytes there before the start.
            let corpus = unsafe { core::slice::from_raw_parts(CORPUS_VA as *const u8, len) };
            if !map_slice(corpus, core, n) {
                c.fail("map: too many distinct words", ulib::Error::OutOfMemory);
            }
            c.step();
            if !reduce(core, n) {
                c.fail("reduce: too many distinct words", ulib::Error::OutOfMemory);
            }
        },
        |_| {
            for j in 0..n {
                for e in table(j, true).iter().filter(|e| e.word != 0) {
                    all[distinct] = *e;
                    distinct += 1;
                }
            }
            all[..distinct].sort_unstable_by(|a, b| word(a).cmp(word(b)));
        },
    );
    if core == 0 {
        let (mut total, mut sum) = (0, FNV_OFFSET);
        for e in &all[..distinct] {
            sum = fnv(sum, word(e));
            let mut digits = [0u8; 24];
            let mut at = digits.len() - 1;
            digits[at] = b'\n';
            let mut v = e.count;
            loop {
                at -= 1;
                digits[at] = b'0' + (v % 10) as u8;
                v /= 10;
                if v == 0 {
                    break;
                }
            }
            at -= 1;
            digits[at] = b' ';
            sum = fnv(sum, &digits[at..]);
            total += e.count;
        }
        println!(
            "RESULT name=wordcount mode=metis cores={} words={} seed={} distinct={} checksum={:016x} ops={} ns={} {}",
            n, WORDS, SEED, distinct, sum, total, ns, crate::sync::Events(ev)
        );
        c.must("unmap corpus", unmap(RANGE, CORPUS_VA, corpus_bytes));
        c.must("delete corpus", cap_delete(CORPUS_SEG));
    }
    c.step();
    c.must("unmap tables", unmap(RANGE, tables, bytes));
    c.must("delete tables", cap_delete(TABLE_SEG));
}
