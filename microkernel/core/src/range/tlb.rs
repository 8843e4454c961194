//! The TLB invalidation an address-range operation asks the kernel to
//! execute, as data: the portable core decides *what* must go, the aarch64
//! kernel runs the instructions ([`TlbInvalidation::ops`] gives each `TLBI`
//! and its operand).
//!
//! Barriers around the ops (the kernel's part):
//! - before: `DSB ISHST`, so the cleared descriptors are visible to every
//!   table walker before any TLB entry is dropped;
//! - after a local invalidation: `DSB NSH; ISB`;
//! - after a broadcast one: `DSB ISH; ISB` (waits for every core).
//!
//! Tables the operation freed may be reused only after this has run.

/// More TLBI instructions than this for one invalidation and the whole ASID
/// (local) or the whole TLB of every core (broadcast) is cheaper; the same
/// bound as Linux's `MAX_DVM_OPS` (one table's worth of entries).
pub const MAX_TLBI_OPS: u64 = 512;

/// What to invalidate after an operation removed translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlbInvalidation {
    /// Nothing was removed that a TLB could hold.
    None,
    /// This core only: `TLBI VAE1` for `asid` at `va`, `va + stride`, ...
    /// below `va + len`. `VAE1` (not `VALE1`) also drops cached walks
    /// through tables the operation freed.
    Local {
        asid: u16,
        va: u64,
        len: u64,
        stride: u64,
    },
    /// This core only: `TLBI ASIDE1` for `asid`.
    LocalAsid { asid: u16 },
    /// This core only, every ASID: `TLBI VAAE1` at `va`, `va + stride`,
    /// ... below `va + len` (a local range, linked into several address
    /// spaces of this core).
    LocalAllAsids { va: u64, len: u64, stride: u64 },
    /// This core only, everything: `TLBI VMALLE1`.
    LocalAll,
    /// Every core, every ASID: `TLBI VAAE1IS` at `va`, `va + stride`, ...
    /// below `va + len`.
    Broadcast { va: u64, len: u64, stride: u64 },
    /// Every core, everything: `TLBI VMALLE1IS`.
    BroadcastAll,
}

/// One TLB maintenance instruction with its `Xt` operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlbOp {
    /// `TLBI VAE1, Xt`: Xt = ASID << 48 | VA[55:12].
    Vae1(u64),
    /// `TLBI ASIDE1, Xt`: Xt = ASID << 48.
    Aside1(u64),
    /// `TLBI VAAE1IS, Xt`: Xt = VA[55:12].
    Vaae1is(u64),
    /// `TLBI VAAE1, Xt`: Xt = VA[55:12] (this core only).
    Vaae1(u64),
    /// `TLBI VMALLE1` (no operand; this core only).
    Vmalle1,
    /// `TLBI VMALLE1IS` (no operand).
    Vmalle1is,
}

/// The `Xt` operand naming `va` (and `asid`) for a TLBI by VA.
pub const fn va_operand(asid: u16, va: u64) -> u64 {
    (asid as u64) << 48 | ((va >> 12) & ((1 << 44) - 1))
}

impl TlbInvalidation {
    /// Local invalidation of `[start, end)` in steps of `stride`, or of the
    /// whole ASID past [`MAX_TLBI_OPS`].
    pub(crate) fn local(asid: u16, start: u64, end: u64, stride: u64) -> TlbInvalidation {
        let len = end - start;
        if len / stride >= MAX_TLBI_OPS {
            TlbInvalidation::LocalAsid { asid }
        } else {
            TlbInvalidation::Local {
                asid,
                va: start,
                len,
                stride,
            }
        }
    }

    /// Local invalidation of `[start, end)` for every ASID, or of this
    /// core's whole TLB past [`MAX_TLBI_OPS`].
    pub(crate) fn local_all_asids(start: u64, end: u64, stride: u64) -> TlbInvalidation {
        let len = end - start;
        if len / stride >= MAX_TLBI_OPS {
            TlbInvalidation::LocalAll
        } else {
            TlbInvalidation::LocalAllAsids {
                va: start,
                len,
                stride,
            }
        }
    }

    /// Broadcast invalidation of `[start, end)` in steps of `stride`, or of
    /// everything past [`MAX_TLBI_OPS`].
    pub(crate) fn broadcast(start: u64, end: u64, stride: u64) -> TlbInvalidation {
        let len = end - start;
        if len / stride >= MAX_TLBI_OPS {
            TlbInvalidation::BroadcastAll
        } else {
            TlbInvalidation::Broadcast {
                va: start,
                len,
                stride,
            }
        }
    }

    /// Needs the inner-shareable (all cores) variants and `DSB ISH`.
    pub fn is_broadcast(&self) -> bool {
        matches!(
            self,
            TlbInvalidation::Broadcast { .. } | TlbInvalidation::BroadcastAll
        )
    }

    /// The instructions to execute, in order.
    pub fn ops(&self) -> TlbOps {
        TlbOps {
            inv: *self,
            done: 0,
        }
    }
}

/// Iterator over the [`TlbOp`]s of one [`TlbInvalidation`].
#[derive(Debug, Clone)]
pub struct TlbOps {
    inv: TlbInvalidation,
    done: u64,
}

impl Iterator for TlbOps {
    type Item = TlbOp;

    fn next(&mut self) -> Option<TlbOp> {
        let n = self.done;
        self.done += 1;
        match self.inv {
            TlbInvalidation::None => None,
            TlbInvalidation::Local {
                asid,
                va,
                len,
                stride,
            } => (n < len / stride).then(|| TlbOp::Vae1(va_operand(asid, va + n * stride))),
            TlbInvalidation::LocalAsid { asid } => {
                (n == 0).then_some(TlbOp::Aside1((asid as u64) << 48))
            }
            TlbInvalidation::LocalAllAsids { va, len, stride } => {
                (n < len / stride).then(|| TlbOp::Vaae1(va_operand(0, va + n * stride)))
            }
            TlbInvalidation::LocalAll => (n == 0).then_some(TlbOp::Vmalle1),
            TlbInvalidation::Broadcast { va, len, stride } => {
                (n < len / stride).then(|| TlbOp::Vaae1is(va_operand(0, va + n * stride)))
            }
            TlbInvalidation::BroadcastAll => (n == 0).then_some(TlbOp::Vmalle1is),
        }
    }
}
