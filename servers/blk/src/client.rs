//! One client as the server sees it: its ring pair (`ring::Server`, which
//! validates opcodes and buffer windows), its data buffer viewed as atomic
//! words (the client may write it at any time), and counts.

use blkproto::{client_base, Op, DATA_LEN, DATA_OFFSET, RING_SLOTS};
use core::sync::atomic::{AtomicU64, Ordering};
use ring::{BufRange, Region, Response, Server, Status};

pub struct Client {
    pub index: usize,
    pub ring: Server<'static, Op>,
    words: &'static [AtomicU64],
    pub closed: bool,
    pub served: u64,
    pub rejected: u64,
}

impl Client {
    /// Client `index`, whose range the image links at `client_base(index)`
    /// in this task.
    ///
    /// # Safety
    ///
    /// That range must be linked read/write in this task for its whole life,
    /// and this must be the only `Client` made for `index`.
    pub unsafe fn attach(index: usize) -> Option<Client> {
        let base = client_base(index);
        // Safety: the caller promises the range is linked RW for the task's
        // life; `ring` and the word view below reach it only atomically.
        let region = unsafe {
            Region::from_raw(
                (base + blkproto::REGION_OFFSET) as *mut u8,
                blkproto::REGION_LEN,
                RING_SLOTS,
            )
        }
        .ok()?;
        // Safety: the data buffer is DATA_LEN bytes (a multiple of 8) at a
        // page-aligned address inside the linked range; AtomicU64 accepts
        // every bit pattern and its interior mutability allows the client's
        // concurrent writes; only atomic loads and stores reach it here.
        let words = unsafe {
            core::slice::from_raw_parts((base + DATA_OFFSET) as *const AtomicU64, DATA_LEN / 8)
        };
        Some(Client {
            index,
            ring: Server::new(region, DATA_LEN),
            words,
            closed: false,
            served: 0,
            rejected: 0,
        })
    }

    fn window(&self, buf: BufRange) -> Option<&'static [AtomicU64]> {
        if !buf.offset().is_multiple_of(8) || !buf.len().is_multiple_of(8) {
            return None;
        }
        self.words
            .get(buf.offset() / 8..(buf.offset() + buf.len()) / 8)
    }

    /// Copies the window out of the client's buffer into `dst` (a write's
    /// data), a word at a time. `false` if the window is not word-aligned
    /// inside the buffer (validation already refused that).
    pub fn copy_from(&self, buf: BufRange, dst: &mut [u8]) -> bool {
        let Some(src) = self.window(buf) else {
            return false;
        };
        for (d, s) in dst.chunks_exact_mut(8).zip(src) {
            d.copy_from_slice(&s.load(Ordering::Relaxed).to_ne_bytes());
        }
        true
    }

    /// Copies `src` (a read's data) into the window of the client's buffer.
    pub fn copy_to(&self, buf: BufRange, src: &[u8]) -> bool {
        let Some(dst) = self.window(buf) else {
            return false;
        };
        for (d, s) in dst.iter().zip(src.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            d.store(u64::from_ne_bytes(w), Ordering::Relaxed);
        }
        true
    }

    /// Answers `tag`. (A response slot is free: every answer is for a
    /// request this server consumed.)
    pub fn answer(&mut self, tag: u64, status: Status, len: u32, values: [u64; 5]) {
        if status == Status::OK {
            self.served += 1;
        } else {
            self.rejected += 1;
        }
        let _ = self.ring.respond(&Response {
            status,
            len,
            tag,
            values,
        });
        // Wake the client if it sleeps in `wfe`.
        // Safety: `sev` only signals an event to every core.
        unsafe { core::arch::asm!("sev", options(nomem, nostack)) };
    }
}
