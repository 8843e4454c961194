//! Boot-time physical memory: the RAM the DTB describes minus what is
//! already in use (reserved regions, the kernel image, the DTB itself),
//! handed out front to back in page-aligned pieces.
//!
//! This is the kernel's first allocator: it gives each core its stack and
//! the kernel its page tables before anything else runs.

/// Most disjoint free ranges tracked.
pub const MAX_RANGES: usize = 32;
const PAGE: u64 = 4096;

/// A set of free physical ranges `[start, end)`, sorted and disjoint.
#[derive(Debug, Clone)]
pub struct FreeRanges {
    ranges: [(u64, u64); MAX_RANGES],
    len: usize,
}

impl Default for FreeRanges {
    fn default() -> Self {
        Self::new()
    }
}

impl FreeRanges {
    /// An empty set.
    pub const fn new() -> Self {
        FreeRanges {
            ranges: [(0, 0); MAX_RANGES],
            len: 0,
        }
    }

    /// The free ranges, in address order.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges[..self.len]
    }

    /// Total free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.ranges().iter().map(|(s, e)| e - s).sum()
    }

    /// Adds `[base, base + size)`, shrunk to whole pages. Returns false if
    /// there was no room to track it (the memory is then not used).
    pub fn add(&mut self, base: u64, size: u64) -> bool {
        let start = base.next_multiple_of(PAGE);
        let end = base.saturating_add(size) & !(PAGE - 1);
        if start >= end {
            return true;
        }
        if self.len == MAX_RANGES {
            return false;
        }
        let at = self.ranges().partition_point(|r| r.0 < start);
        self.ranges.copy_within(at..self.len, at + 1);
        self.ranges[at] = (start, end);
        self.len += 1;
        true
    }

    /// Removes `[base, base + size)` (widened to whole pages) from the set.
    /// Returns false if splitting a range needed more room than there is
    /// (the whole range is then dropped: losing memory, never handing out
    /// reserved memory).
    pub fn remove(&mut self, base: u64, size: u64) -> bool {
        let cut_start = base & !(PAGE - 1);
        let cut_end = base.saturating_add(size).next_multiple_of(PAGE);
        let mut ok = true;
        let mut i = 0;
        while i < self.len {
            let (s, e) = self.ranges[i];
            if cut_end <= s || cut_start >= e {
                i += 1;
                continue;
            }
            self.ranges.copy_within(i + 1..self.len, i);
            self.len -= 1;
            if s < cut_start {
                ok &= self.add(s, cut_start - s);
            }
            if cut_end < e {
                ok &= self.add(cut_end, e - cut_end);
            }
            // Pieces re-added lie outside the cut, so rescanning from i is safe.
        }
        ok
    }

    /// Takes `size` bytes aligned to `align` (a power of two >= 4 KiB) from
    /// the lowest range that can give them.
    pub fn take(&mut self, size: u64, align: u64) -> Option<u64> {
        let size = size.next_multiple_of(PAGE);
        let align = align.max(PAGE);
        let found = self.ranges().iter().find_map(|&(s, e)| {
            let a = s.next_multiple_of(align);
            (a.checked_add(size)? <= e).then_some(a)
        })?;
        self.remove(found, size);
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_splits_and_take_skips_holes() {
        let mut f = FreeRanges::new();
        assert!(f.add(0x4000_0000, 0x1000_0000));
        // The kernel image and a DTB somewhere in the middle.
        assert!(f.remove(0x4008_0000, 0x12_3456));
        assert!(f.remove(0x4800_0000, 0x1_0000));
        assert_eq!(
            f.ranges(),
            &[
                (0x4000_0000, 0x4008_0000),
                (0x401a_4000, 0x4800_0000),
                (0x4801_0000, 0x5000_0000)
            ]
        );
        assert_eq!(f.take(0x1000, 0x1000), Some(0x4000_0000));
        // 2 MiB aligned: skips the first range's remainder.
        assert_eq!(f.take(0x20_0000, 0x20_0000), Some(0x4020_0000));
        assert_eq!(
            f.free_bytes(),
            0x1000_0000 - 0x1000 - 0x20_0000 - 0x12_4000 - 0x1_0000
        );
    }

    #[test]
    fn unaligned_bank_is_trimmed_and_exhaustion_is_none() {
        let mut f = FreeRanges::new();
        f.add(0x123, 0x3000);
        assert_eq!(f.ranges(), &[(0x1000, 0x3000)]);
        assert_eq!(f.take(0x2000, 0x1000), Some(0x1000));
        assert_eq!(f.take(0x1000, 0x1000), None);
    }

    #[test]
    fn remove_covering_everything() {
        let mut f = FreeRanges::new();
        f.add(0, 0x10000);
        f.add(0x20000, 0x10000);
        f.remove(0, 0x100000);
        assert_eq!(f.ranges(), &[]);
    }
}
