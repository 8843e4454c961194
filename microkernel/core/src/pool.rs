//! Physical frames after boot: one global bitmap of every 4 KiB frame of
//! RAM, and a small pool per core refilled from it in batches, so that the
//! common allocation and free touch no lock another core takes (Corey's
//! per-core allocation). The kernel wraps [`FrameBitmap`] in a lock and
//! counts every acquisition; the per-core [`FramePool`] needs none.

/// A bitmap over frames `[base, base + 64 * words.len() * 4 KiB)`: a set bit
/// is a free frame.
pub struct FrameBitmap<'a> {
    base: u64,
    words: &'a mut [u64],
    /// Where the next search starts (keeps takes O(1) amortised).
    cursor: usize,
    free: u64,
}

const PAGE: u64 = 4096;

impl<'a> FrameBitmap<'a> {
    /// An empty bitmap (no free frame) over `words`, starting at `base`.
    pub fn new(base: u64, words: &'a mut [u64]) -> Self {
        words.fill(0);
        FrameBitmap {
            base,
            words,
            cursor: 0,
            free: 0,
        }
    }

    /// Bytes of bitmap needed to cover `span` bytes of frames.
    pub const fn words_for(span: u64) -> usize {
        (span / PAGE).div_ceil(64) as usize
    }

    /// Free frames.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    fn index(&self, pa: u64) -> Option<usize> {
        let i = pa.checked_sub(self.base)? / PAGE;
        (i < self.words.len() as u64 * 64 && pa.is_multiple_of(PAGE)).then_some(i as usize)
    }

    /// Marks the frame at `pa` free. Returns false (and changes nothing) for
    /// an address outside the bitmap, a misaligned one, or a frame already
    /// free: a double free is refused, never counted twice.
    pub fn free(&mut self, pa: u64) -> bool {
        let Some(i) = self.index(pa) else {
            return false;
        };
        let (w, b) = (i / 64, i % 64);
        if self.words[w] & (1 << b) != 0 {
            return false;
        }
        self.words[w] |= 1 << b;
        self.free += 1;
        true
    }

    /// Marks every whole frame of `[start, end)` free (those outside the
    /// bitmap are ignored); whole words at a time where it can. Returns the
    /// number of frames that became free.
    pub fn free_range(&mut self, start: u64, end: u64) -> u64 {
        let start = start.max(self.base).next_multiple_of(PAGE);
        let limit = self.base + self.words.len() as u64 * 64 * PAGE;
        let end = end.min(limit) & !(PAGE - 1);
        let mut added = 0;
        let mut pa = start;
        while pa < end {
            let i = ((pa - self.base) / PAGE) as usize;
            if i.is_multiple_of(64) && end - pa >= 64 * PAGE && self.words[i / 64] == 0 {
                self.words[i / 64] = u64::MAX;
                self.free += 64;
                added += 64;
                pa += 64 * PAGE;
            } else {
                added += self.free(pa) as u64;
                pa += PAGE;
            }
        }
        added
    }

    /// Takes `count` physically contiguous free frames (the lowest such
    /// run) and returns the first one's address; `None` if there is no run
    /// that long (or `count` is 0). O(frames) — for the rare DMA buffer,
    /// not the common allocation.
    pub fn take_contiguous(&mut self, count: u64) -> Option<u64> {
        if count == 0 || count > self.free {
            return None;
        }
        let bits = self.words.len() * 64;
        let (mut start, mut run) = (0usize, 0u64);
        for i in 0..bits {
            if self.words[i / 64] & (1 << (i % 64)) != 0 {
                if run == 0 {
                    start = i;
                }
                run += 1;
                if run == count {
                    for j in start..=i {
                        self.words[j / 64] &= !(1 << (j % 64));
                    }
                    self.free -= count;
                    return Some(self.base + start as u64 * PAGE);
                }
            } else {
                run = 0;
            }
        }
        None
    }

    /// Takes up to `out.len()` free frames into `out`; returns how many.
    pub fn take(&mut self, out: &mut [u64]) -> usize {
        let mut n = 0;
        let words = self.words.len();
        let mut scanned = 0;
        while n < out.len() && scanned <= words {
            let w = self.cursor % words.max(1);
            while self.words[w] != 0 && n < out.len() {
                let b = self.words[w].trailing_zeros() as usize;
                self.words[w] &= !(1 << b);
                out[n] = self.base + (w * 64 + b) as u64 * PAGE;
                n += 1;
            }
            if self.words[w] == 0 {
                self.cursor = w + 1;
                scanned += 1;
            }
            if words == 0 {
                break;
            }
        }
        self.free -= n as u64;
        n
    }
}

/// Frames one core holds for itself.
pub const POOL_CAPACITY: usize = 64;
/// Frames moved between a core's pool and the global bitmap at a time.
pub const BATCH: usize = 32;

/// A core's own frames: a stack, no lock.
pub struct FramePool {
    frames: [u64; POOL_CAPACITY],
    len: usize,
}

impl Default for FramePool {
    fn default() -> Self {
        Self::new()
    }
}

impl FramePool {
    pub const fn new() -> Self {
        FramePool {
            frames: [0; POOL_CAPACITY],
            len: 0,
        }
    }

    /// Frames in the pool.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A frame from the pool; when it is empty, `refill` is called once to
    /// move up to [`BATCH`] frames in (the caller's one global-lock trip).
    pub fn take(&mut self, refill: impl FnOnce(&mut [u64]) -> usize) -> Option<u64> {
        if self.len == 0 {
            let n = refill(&mut self.frames[..BATCH]);
            self.len = n.min(BATCH);
        }
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        Some(self.frames[self.len])
    }

    /// Returns a frame to the pool; when it is full, [`BATCH`] frames go back
    /// through `spill` first (one global-lock trip).
    pub fn give(&mut self, pa: u64, spill: impl FnOnce(&[u64])) {
        if self.len == POOL_CAPACITY {
            spill(&self.frames[POOL_CAPACITY - BATCH..]);
            self.len -= BATCH;
        }
        self.frames[self.len] = pa;
        self.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::collections::BTreeSet;
    use std::vec;

    #[test]
    fn bitmap_takes_each_free_frame_once() {
        let mut words = vec![0u64; FrameBitmap::words_for(200 * PAGE)];
        let mut bm = FrameBitmap::new(0x4000_0000, &mut words);
        for i in 0..200 {
            assert!(bm.free(0x4000_0000 + i * PAGE));
        }
        assert!(!bm.free(0x4000_0000), "double free refused");
        assert!(!bm.free(0x4000_0001), "misaligned refused");
        assert!(!bm.free(0x3fff_f000), "outside refused");
        assert_eq!(bm.free_frames(), 200);
        let mut seen = BTreeSet::new();
        let mut out = [0u64; 32];
        loop {
            let n = bm.take(&mut out);
            if n == 0 {
                break;
            }
            for &f in &out[..n] {
                assert!(seen.insert(f), "frame {f:#x} handed out twice");
            }
        }
        assert_eq!(seen.len(), 200);
        assert_eq!(bm.free_frames(), 0);
        // Freed frames come back.
        assert!(bm.free(0x4000_0000 + 7 * PAGE));
        assert_eq!(bm.take(&mut out), 1);
        assert_eq!(out[0], 0x4000_0000 + 7 * PAGE);
    }

    #[test]
    fn free_range_counts_whole_words_and_single_frames() {
        let mut words = vec![0u64; 4];
        let mut bm = FrameBitmap::new(0x1000_0000, &mut words);
        // 3 single frames, one whole word (64), then 10 more.
        let start = 0x1000_0000 + 61 * PAGE;
        let end = 0x1000_0000 + (128 + 10) * PAGE;
        assert_eq!(bm.free_range(start, end), 3 + 64 + 10);
        assert_eq!(bm.free_frames(), 77);
        // Again: nothing new.
        assert_eq!(bm.free_range(start, end), 0);
        assert_eq!(bm.free_frames(), 77);
        let mut out = [0u64; 100];
        assert_eq!(bm.take(&mut out), 77);
        assert_eq!(out[0], start);
    }

    #[test]
    fn contiguous_runs_skip_holes_and_cross_words() {
        let mut words = vec![0u64; 4];
        let base = 0x1000_0000;
        let mut bm = FrameBitmap::new(base, &mut words);
        // Every frame free but 10 and 70.
        bm.free_range(base, base + 10 * PAGE);
        bm.free_range(base + 11 * PAGE, base + 70 * PAGE);
        bm.free_range(base + 71 * PAGE, base + 256 * PAGE);
        assert_eq!(bm.free_frames(), 254);
        assert!(bm.take_contiguous(0).is_none());
        assert_eq!(bm.take_contiguous(80), Some(base + 71 * PAGE));
        assert_eq!(bm.free_frames(), 174);
        // The lowest run that fits, and taken runs are gone.
        assert_eq!(bm.take_contiguous(50), Some(base + 11 * PAGE));
        assert_eq!(bm.take_contiguous(60), Some(base + 151 * PAGE));
        assert_eq!(bm.take_contiguous(46), None, "runs left: 10, 9, 45");
        assert_eq!(bm.take_contiguous(45), Some(base + 211 * PAGE));
        assert_eq!(bm.free_frames(), 174 - 50 - 60 - 45);
    }

    #[test]
    fn pool_goes_to_the_global_bitmap_once_per_batch() {
        let mut words = vec![0u64; FrameBitmap::words_for(1024 * PAGE)];
        let mut bm = FrameBitmap::new(0, &mut words);
        for i in 0..1024 {
            bm.free(i * PAGE);
        }
        let mut pool = FramePool::new();
        let mut trips = 0;
        let mut got = vec![];
        for _ in 0..100 {
            got.push(
                pool.take(|out| {
                    trips += 1;
                    bm.take(out)
                })
                .unwrap(),
            );
        }
        assert_eq!(trips, 100usize.div_ceil(BATCH));
        let mut spills = 0;
        for f in got {
            pool.give(f, |batch| {
                spills += 1;
                for &p in batch {
                    bm.free(p);
                }
            });
        }
        // Pool holds at most POOL_CAPACITY; every frame is accounted for.
        assert!(pool.len() <= POOL_CAPACITY);
        assert_eq!(bm.free_frames() + pool.len() as u64, 1024);
        assert!(spills >= 1);
    }
}
