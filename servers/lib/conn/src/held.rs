//! Requests a server holds until it can answer them, oldest first: each
//! a tag and a window of the client's buffer (the console's reads waiting
//! for input, the raw-frame server's receive buffers and frames to send).
//! At most [`MAX`] (the ring's slots: a client cannot have more
//! outstanding).

use ring::BufRange;

/// Most requests held.
pub const MAX: usize = crate::RING_SLOTS;

/// A FIFO of held requests.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    items: [Option<(u64, BufRange)>; MAX],
    head: usize,
    len: usize,
}

impl Held {
    /// Nothing held.
    pub const EMPTY: Held = Held {
        items: [None; MAX],
        head: 0,
        len: 0,
    };

    /// Holds request `tag` with window `w`; `false` if [`MAX`] are held.
    pub fn push(&mut self, tag: u64, w: BufRange) -> bool {
        if self.len == MAX {
            return false;
        }
        self.items[(self.head + self.len) % MAX] = Some((tag, w));
        self.len += 1;
        true
    }

    /// The oldest request held.
    pub fn front(&self) -> Option<(u64, BufRange)> {
        if self.len == 0 {
            return None;
        }
        self.items[self.head]
    }

    /// Forgets the oldest request held.
    pub fn pop(&mut self) {
        if self.len > 0 {
            self.items[self.head] = None;
            self.head = (self.head + 1) % MAX;
            self.len -= 1;
        }
    }

    /// How many are held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_first_and_bounded() {
        let w = |o: u64| BufRange::check(o, 8, 4096).unwrap();
        let mut h = Held::EMPTY;
        assert!(h.front().is_none() && h.is_empty());
        for t in 0..MAX as u64 {
            assert!(h.push(t, w(t * 8)));
        }
        assert!(!h.push(99, w(0)), "bounded by the ring's slots");
        for t in 0..3u64 {
            assert_eq!(h.front(), Some((t, w(t * 8))));
            h.pop();
        }
        assert!(h.push(100, w(0)), "room again, wrapping");
        assert_eq!(h.len(), MAX - 2);
        for _ in 0..MAX - 3 {
            h.pop();
        }
        assert_eq!(h.front(), Some((100, w(0))));
        h.pop();
        h.pop();
        assert!(h.is_empty() && h.front().is_none());
    }
}
