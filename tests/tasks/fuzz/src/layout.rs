//! Which slots and addresses belong to which part of the fuzzer. The
//! random calls may do anything to the rest, so what the structured parts
//! (`life`, `cross`) check stays decidable: random arguments that name
//! these are moved elsewhere before the call.

/// Root slot of the image's shared share `meet` (every core's fuzzer).
pub const MEET: u8 = 2;
// Root slot 3 holds the image's shared range `pool` (linked by every
// fuzzer): protected like the model's slots.
/// The supervisor's root slot 4: the notification the kernel signals when
/// a fuzzer ends (bit = its core).
pub const ENDED: u8 = 4;
/// The supervisor's root slots 5..11: the notification `faults` and its
/// task capabilities (fuzz0..fuzz3, victim). Root slots 11.. are the
/// model's (`life`).
pub const MODEL_FIRST: u8 = 11;
pub const MODEL_END: u8 = 32;
/// Root slots 32..64 are the random calls' and `cross`'s.
pub const JUNK_FIRST: u8 = 32;
pub const JUNK_END: u8 = 64;
/// Slots of `meet` the cross-core part puts its copies in.
pub const MEET_SLOTS: u64 = 48;

/// The model's segments are mapped in this GiB, its ranges made here.
pub const MODEL_VA: u64 = 0x40_0000_0000;
/// Nothing is ever mapped in this GiB: pointers into it must be refused.
pub const HOLE: u64 = 0x80_0000_0000;
const GIB: u64 = 1 << 30;
/// Where a protected address is moved to.
const AWAY: u64 = 0x100_0000_0000;

/// Whether `va` lies where the random calls must not map, unmap or make
/// ranges: the task's program and the pages below it, its stack (and the
/// guard below it), the model's GiB, the hole and the user half's last
/// GiB (pointers there must be refused too).
pub fn protected_va(va: u64) -> bool {
    va < 0x100_0000
        || (0x7000_0000..0x8000_0000).contains(&va)
        || (MODEL_VA..MODEL_VA + GIB).contains(&va)
        || (HOLE..HOLE + GIB).contains(&va)
        || ((1 << 48) - GIB..1 << 48).contains(&va)
}

/// `va`, moved out of the protected spans.
pub fn away(va: u64) -> u64 {
    if protected_va(va) {
        va + AWAY
    } else {
        va
    }
}

/// A capability pointer, moved off the model's and the image's slots: a
/// root slot (directly or through the root share, slot 1) in 2..32 goes to
/// the junk slots, and a share named through root slots 3..32 becomes one
/// named through a junk slot. Slots 0 and 1 and `meet` stay reachable.
pub fn away_cptr(c: u64) -> u64 {
    if c >> 16 != 0 {
        return c;
    }
    let via = (c >> 8) & 0xff;
    let index = c & 0xff;
    let index = if (via == 0 || via == 2) && (2..32).contains(&index) {
        index + 30
    } else {
        index
    };
    let via = if (4..=32).contains(&via) {
        via + 30
    } else {
        via
    };
    via << 8 | index
}
