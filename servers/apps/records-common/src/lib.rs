//! The example application (docs/writing-tasks.md): what the producer and
//! the consumers agree on. A record is two words, its index and a value
//! derived from it, so a consumer can check every record on its own.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

/// Records the producer writes.
pub const RECORDS: usize = 1000;
/// Bytes of one record.
pub const RECORD_BYTES: usize = 16;
/// Pages of the segment that holds them.
pub const PAGES: u64 = (RECORDS * RECORD_BYTES).div_ceil(4096) as u64;
/// Where the producer makes its run-time shared range (its own choice of
/// address: a range one task creates is not the image's): 2 MiB, one
/// page-table page that every core linking it shares.
pub const SHARED_BASE: u64 = 0x1_0000_0000;
/// Bytes of that range.
pub const SHARED_SIZE: u64 = 2 << 20;

/// Record `i`'s value.
pub const fn value(i: u64) -> u64 {
    (i * i) ^ 0x5eed_0000_0000_0000
}
