//! Waiting for the other side: spin a bounded number of polls, then hand
//! over to a caller-supplied fallback (WFE, a notification system call,
//! yielding the core, ...), and poll again.

use crate::sync::{spin_hint, AtomicU64, Ordering};

/// What a waiter waits on: one sequence word, and the value it holds until
/// the awaited message is published. A fallback may sleep until the word
/// changes (a futex-like system call on [`Watch::addr`], or `Watch::wfe` (aarch64));
/// it may also return early, since the caller polls again.
#[derive(Clone, Copy)]
pub struct Watch<'a> {
    word: &'a AtomicU64,
    stale: u64,
}

impl<'a> Watch<'a> {
    pub(crate) fn new(word: &'a AtomicU64, stale: u64) -> Self {
        Self { word, stale }
    }

    /// The value the word holds while there is nothing new.
    pub fn stale(&self) -> u64 {
        self.stale
    }

    /// Whether the word no longer holds [`Watch::stale`] (a relaxed load; the
    /// poll that follows does the acquire).
    pub fn changed(&self) -> bool {
        self.word.load(Ordering::Relaxed) != self.stale
    }

    /// The word's address, for a wait-on-address system call.
    pub fn addr(&self) -> *const u64 {
        core::ptr::from_ref(self.word).cast()
    }

    /// Sleeps in `wfe` unless the word has already changed.
    ///
    /// Arms the exclusive monitor on the word's cache line with `ldxr` first,
    /// so a store to that line by another core (the producer publishing)
    /// clears the monitor and generates the event that ends the `wfe`; an
    /// interrupt, an `sev` or the generic timer's event stream ends it too.
    /// Without the event stream and with a dead peer this sleeps until the
    /// next interrupt, so pair it with a bounded spin, as [`spin_then`]
    /// does, and poll again after it returns.
    #[cfg(all(target_arch = "aarch64", not(all(loom, test))))]
    pub fn wfe(&self) {
        let addr = self.word.as_ptr();
        // Safety: `addr` comes from a live `&AtomicU64`, so it is valid and
        // 8-byte aligned for the whole asm block; `ldxr` is a single-copy
        // atomic 64-bit load of it (no write, consistent with the other
        // atomic accesses to the word), and it only arms this core's
        // exclusive monitor, which any later `ldxr`/`stxr` pair re-arms. `cmp`
        // clobbers the flags (not declared preserved), `wfe` only suspends
        // the core until an event or interrupt. No stack, no other memory,
        // and only the declared registers are touched.
        unsafe {
            core::arch::asm!(
                "ldxr {v}, [{a}]",
                "cmp {v}, {s}",
                "b.ne 2f",
                "wfe",
                "2:",
                a = in(reg) addr,
                s = in(reg) self.stale,
                v = out(reg) _,
                options(nostack, readonly),
            );
        }
    }
}

impl core::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Watch")
            .field("addr", &self.addr())
            .field("stale", &self.stale)
            .finish()
    }
}

/// Polls until `poll` yields a value or an error: up to `spins` polls (at
/// least one) with a spin hint between them, then `fallback()`, then again.
/// The fallback is where the caller blocks: WFE, a notification system call,
/// or a yield.
pub fn spin_then<T, E>(
    spins: u32,
    mut poll: impl FnMut() -> Result<Option<T>, E>,
    mut fallback: impl FnMut(),
) -> Result<T, E> {
    loop {
        for _ in 0..spins.max(1) {
            if let Some(v) = poll()? {
                return Ok(v);
            }
            spin_hint();
        }
        fallback();
    }
}
