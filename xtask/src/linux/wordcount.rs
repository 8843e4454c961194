//! The wordcount benchmark's corpus and its reference result, computed on
//! the host to check what a guest printed. The generator is specified in
//! `bench/linux/README.md` (and implemented in `bench/linux/wordcount.c`):
//! word `i` of 256 is `C[i>>4] V[((i>>4)+(i&15))%5] C[i&15]` plus suffix
//! `["", "s", "er", "ing"][i%4]`, words are drawn with xorshift64*, and
//! every 16th word (and the last) ends a line.

use std::collections::BTreeMap;

const CONSONANTS: &[u8; 16] = b"bcdfghjklmnprstv";
const VOWELS: &[u8; 5] = b"aeiou";
const SUFFIXES: [&str; 4] = ["", "s", "er", "ing"];
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Word `i` (0..=255) of the dictionary.
pub fn word(i: u8) -> String {
    let (hi, lo) = (usize::from(i >> 4), usize::from(i & 15));
    let mut w = String::with_capacity(6);
    w.push(char::from(CONSONANTS[hi]));
    w.push(char::from(VOWELS[(hi + lo) % 5]));
    w.push(char::from(CONSONANTS[lo]));
    w.push_str(SUFFIXES[usize::from(i) % 4]);
    w
}

/// xorshift64* (Vigna): shifts 12, 25, 27, multiplier 0x2545F4914F6CDD1D;
/// a zero seed is replaced by 1.
pub struct XorShift64Star(u64);

impl XorShift64Star {
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 1 } else { seed })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The corpus of `words` words drawn from `seed`: word index = the top 8
/// bits of each random number; separator `\n` after every 16th word and
/// after the last, a space otherwise.
pub fn corpus(words: u64, seed: u64) -> Vec<u8> {
    let dict: Vec<String> = (0..=255u8).map(word).collect();
    let mut rng = XorShift64Star::new(seed);
    let mut out = Vec::with_capacity(usize::try_from(words).unwrap_or(0) * 7);
    for k in 0..words {
        let w = (rng.next_u64() >> 56) as usize;
        out.extend_from_slice(dict[w].as_bytes());
        out.push(if k % 16 == 15 || k + 1 == words {
            b'\n'
        } else {
            b' '
        });
    }
    out
}

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// What a correct word count of the corpus prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub total: u64,
    pub distinct: u64,
    /// FNV-1a 64 of the `word count\n` lines sorted by word (bytewise).
    pub checksum: u64,
}

/// Counts the words of `text` (separated by spaces and newlines).
pub fn count(text: &[u8]) -> Reference {
    let mut counts: BTreeMap<&[u8], u64> = BTreeMap::new();
    for w in text
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|w| !w.is_empty())
    {
        *counts.entry(w).or_default() += 1;
    }
    let mut checksum = FNV_OFFSET;
    for (w, n) in &counts {
        checksum = fnv1a(checksum, w);
        checksum = fnv1a(checksum, format!(" {n}\n").as_bytes());
    }
    Reference {
        total: counts.values().sum(),
        distinct: counts.len() as u64,
        checksum,
    }
}

pub fn reference(words: u64, seed: u64) -> Reference {
    count(&corpus(words, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_words_are_distinct() {
        assert_eq!(word(0), "bab");
        assert_eq!(word(1), "becs");
        assert_eq!(word(2), "bider");
        assert_eq!(word(3), "bofing");
        assert_eq!(word(255), "vaving");
        let all: std::collections::BTreeSet<String> = (0..=255u8).map(word).collect();
        assert_eq!(all.len(), 256);
    }

    #[test]
    fn xorshift_first_values() {
        // x = 1: x ^= x<<25 -> 0x2000001; x ^= x>>27 -> 0x2000001.
        let mut r = XorShift64Star::new(0);
        assert_eq!(
            r.next_u64(),
            0x2000001u64.wrapping_mul(0x2545_F491_4F6C_DD1D)
        );
    }

    #[test]
    fn corpus_layout() {
        let text = corpus(17, 42);
        let s = String::from_utf8(text.clone()).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].split(' ').count(), 16);
        assert_eq!(lines[1].split(' ').count(), 1);
        assert!(s.ends_with('\n'));
        assert_eq!(count(&text).total, 17);
    }

    #[test]
    fn counts_and_checksum() {
        let r = count(b"b a b\n");
        let mut h = FNV_OFFSET;
        h = fnv1a(h, b"a 1\nb 2\n");
        assert_eq!(
            r,
            Reference {
                total: 3,
                distinct: 2,
                checksum: h
            }
        );
    }

    /// The value the C program printed when run natively on the host
    /// (`wordcount 2 100000 42`).
    #[test]
    fn matches_the_c_generator() {
        let r = reference(100_000, 42);
        assert_eq!((r.total, r.distinct), (100_000, 256));
        assert_eq!(format!("{:016x}", r.checksum), "e4e867a77c7ac053");
    }
}
