//! One client as the block server sees it is a `conn::server::Peer` (its
//! ring pair, control words, counts); what is the block service's own is
//! how data moves: the client's buffer viewed as atomic words (the client
//! may write it at any time), copied a word at a time inside windows that
//! validation checked.

use blk_api::Op;
use core::sync::atomic::{AtomicU64, Ordering};
use ring::BufRange;

/// A block client.
pub type Client = conn::server::Peer<Op>;

fn window(c: &Client, buf: BufRange) -> Option<&'static [AtomicU64]> {
    if !buf.offset().is_multiple_of(8) || !buf.len().is_multiple_of(8) {
        return None;
    }
    c.words()
        .get(buf.offset() / 8..(buf.offset() + buf.len()) / 8)
}

/// Copies the window out of the client's buffer into `dst` (a write's
/// data), a word at a time. `false` if the window is not word-aligned
/// inside the buffer (validation already refused that).
pub fn copy_from(c: &Client, buf: BufRange, dst: &mut [u8]) -> bool {
    let Some(src) = window(c, buf) else {
        return false;
    };
    for (d, s) in dst.chunks_exact_mut(8).zip(src) {
        d.copy_from_slice(&s.load(Ordering::Relaxed).to_ne_bytes());
    }
    true
}

/// Copies `src` (a read's data) into the window of the client's buffer.
pub fn copy_to(c: &Client, buf: BufRange, src: &[u8]) -> bool {
    let Some(dst) = window(c, buf) else {
        return false;
    };
    for (d, s) in dst.iter().zip(src.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        d.store(u64::from_ne_bytes(w), Ordering::Relaxed);
    }
    true
}
