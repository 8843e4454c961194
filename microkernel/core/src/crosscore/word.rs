//! The one atomic operation set the cross-core protocol is written against:
//! `core`'s `AtomicU64` in the kernel, loom's in the models, so that the
//! code loom checks is the code the kernel runs.
//!
//! Every access is `SeqCst`. The protocol's correctness arguments (a
//! counter read before and after, a flag set before a count is dropped)
//! are all of the form "if A was stored before B, whoever sees B sees A",
//! across several words and several cores; one total order makes each of
//! them hold without a per-site ordering argument, and none of these words
//! is on a fast path.

use core::sync::atomic::Ordering::SeqCst;

/// A 64-bit word several cores update.
pub trait Word: Sync {
    /// A new word holding `v` (not `const`: loom's atomics are built at
    /// run time; the kernel's statics use the `const` constructors of
    /// [`super::CrossCore`] and [`super::ExportGens`] instead).
    fn with(v: u64) -> Self;
    fn load(&self) -> u64;
    fn store(&self, v: u64);
    fn swap(&self, v: u64) -> u64;
    fn fetch_add(&self, v: u64) -> u64;
    fn fetch_sub(&self, v: u64) -> u64;
    fn fetch_or(&self, v: u64) -> u64;
    fn fetch_and(&self, v: u64) -> u64;
}

macro_rules! word {
    ($t:ty) => {
        impl Word for $t {
            fn with(v: u64) -> Self {
                <$t>::new(v)
            }
            fn load(&self) -> u64 {
                <$t>::load(self, SeqCst)
            }
            fn store(&self, v: u64) {
                <$t>::store(self, v, SeqCst)
            }
            fn swap(&self, v: u64) -> u64 {
                <$t>::swap(self, v, SeqCst)
            }
            fn fetch_add(&self, v: u64) -> u64 {
                <$t>::fetch_add(self, v, SeqCst)
            }
            fn fetch_sub(&self, v: u64) -> u64 {
                <$t>::fetch_sub(self, v, SeqCst)
            }
            fn fetch_or(&self, v: u64) -> u64 {
                <$t>::fetch_or(self, v, SeqCst)
            }
            fn fetch_and(&self, v: u64) -> u64 {
                <$t>::fetch_and(self, v, SeqCst)
            }
        }
    };
}

word!(core::sync::atomic::AtomicU64);
#[cfg(all(loom, test))]
word!(loom::sync::atomic::AtomicU64);
