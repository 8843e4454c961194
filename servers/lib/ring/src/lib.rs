//! The client/server ring protocol of the kernel cores.
//!
//! A driver server on a kernel core and each of its clients share one
//! [`Region`]: a request ring and a response ring of `slots` 64-byte
//! [`Slot`]s each, mapped by that client and that server only. The client
//! ([`Client`]) produces requests and consumes responses; the server
//! ([`Server`]) consumes requests and produces responses. Neither side makes
//! a system call on the fast path.
//!
//! # Publication: the slot carries its own sequence word
//!
//! Message `k` of a ring (counting from 0) goes into slot `k mod slots`, and
//! its last word, `seq`, is `k + 1`. The producer writes the seven payload
//! words, then `seq` with a **release** store; the consumer loads its next
//! slot's `seq` with **acquire** ordering and, if it is `k + 1`, copies the
//! payload out — the acquire load that sees `k + 1` synchronises with the
//! release store that wrote it, so the copy sees the payload (the loom models
//! in `src/loom_tests.rs` check this). If `seq` still holds the previous
//! lap's value (`k + 1 - slots`, or 0 on the first lap) there is nothing new;
//! anything else is garbage. So each consumer polls its own next slot, never
//! a shared index: **there are no head or tail indexes in shared memory at
//! all.** Each side's position (`next`) lives in its own private memory, the
//! producer's and the consumer's on separate cache lines, and is stored only
//! when it moves.
//!
//! Batching: [`Client::send_batch`] and [`Server::respond_batch`] write
//! several payloads, one release fence, then the sequence words; the
//! consumer drains whatever is ready with [`Server::drain`] /
//! [`Client::drain`], one acquire load per slot.
//!
//! # Credit and back-pressure
//!
//! Both rings have `slots` slots. A client may have at most `slots`
//! requests outstanding (sent, not yet answered): [`Client::send`] returns
//! [`Full`] beyond that. **Each response returns one credit**, whichever
//! request it answers: the server consumes requests in order and copies each
//! out of its slot when it polls it, and it answers only requests it has
//! consumed, so after `r` responses at least `r` request slots are free.
//! Likewise a server answers at most the requests it consumed, so with a
//! correct client it never overwrites a response the client has not read.
//! The consumer of a ring therefore never writes anything back to it: no
//! credit counter, no tail index.
//!
//! The server bounds its own work: at most `slots` requests in flight
//! (consumed, not answered); at that bound it stops reading the request ring.
//! A correct client cannot have published its next request then, so a
//! changed slot there is a [`RequestError::Flood`].
//!
//! # Cache lines written
//!
//! - **Per request: one.** The client writes its request slot, one aligned
//!   64-byte line holding the payload and the sequence word, and nothing else
//!   in shared memory; the server only reads that line (it moves to the
//!   server's core once) and writes no shared line to consume it, because
//!   its response returns the credit.
//! - **Per response: one.** The server writes one response slot; the client
//!   reads it (one transfer back) and writes nothing to consume it, because
//!   its next request slot is already free by the credit rule.
//!
//! So a round trip moves two cache lines between the cores, the floor of
//! the design (~2 × 85 ns on a Cortex-A72); the private `next` counters are
//! never shared, and an index that did not move is never stored. A batch of
//! `k` messages writes `k` lines (one per slot) and executes one barrier.
//! Data in the client's buffer is outside this count.
//!
//! # Hostile input
//!
//! The server trusts no byte of the region. [`Server::poll`] loads the
//! sequence word once, copies the slot out once and validates the copy (no
//! time-of-check/time-of-use: every shared access is an atomic load of a
//! word, and nothing is read twice), and returns either an [`Incoming`]
//! request with a decoded opcode and a [`BufRange`] checked with
//! overflow-safe arithmetic against the buffer length the server was given
//! independently of the ring, or a [`RequestError`]: an unknown opcode, a
//! window outside the buffer, a sequence word that is neither the expected
//! nor the previous one, or a flood. The first three are consumed and
//! answered with an error [`Status`], so the client's credit stays exact.
//! [`BufRange::slice`] and [`SharedBuf`] turn a window into a slice only
//! through a bounds-checked `get`, so no slice outside the buffer can be
//! made. Nothing in the server's path panics on any input.
//!
//! # Waiting
//!
//! [`Client::wait`] and [`spin_then`] spin a bounded number of polls, then
//! call a caller-supplied fallback with a [`Watch`] of the awaited sequence
//! word (WFE with `Watch::wfe` on aarch64, or a notification system call),
//! and poll again.
//!
//! # Tests
//!
//! Host tests: `cargo test -p ring`. Loom models of the memory ordering:
//! `RUSTFLAGS="--cfg loom" cargo test -p ring --release --lib loom`
//! (bounded to 3 preemptions unless `LOOM_MAX_PREEMPTIONS` says otherwise).
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

#[cfg(test)]
extern crate std;

mod buf;
mod client;
mod region;
mod ring;
mod server;
mod slot;
mod sync;
mod wait;
pub mod waiting;

#[cfg(all(test, loom))]
mod loom_tests;

pub use buf::{BufRange, SharedBuf};
pub use client::{Client, Full, ResponseError};
pub use region::{LayoutError, Region};
pub use server::{Incoming, NothingInFlight, RequestError, Server};
pub use slot::{Request, Response, Slot, Status, HEAD_WORDS, PAYLOAD_WORDS, SLOT_BYTES};
pub use wait::{spin_then, Watch};
