//! The client's side: produces requests, consumes responses.

use crate::region::Region;
use crate::ring::{Consumer, Peek, Producer};
use crate::slot::{Request, Response};
use crate::sync::spin_hint;
use crate::wait::Watch;

/// The request ring is full: `slots` requests are outstanding, and the next
/// one may only be sent after a response has been received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// What the client found in its response ring that a correct server never
/// writes. The slot is left unconsumed: the ring pair is broken and must be
/// reset (both sides stopped, [`Region::clear`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The sequence word was neither the expected one nor the previous one.
    BadSequence {
        /// What the slot held.
        found: u64,
        /// What the client expected.
        expected: u64,
    },
    /// A response was published while no request was outstanding.
    Unsolicited,
    /// [`Client::wait`] was called with no request outstanding.
    NothingOutstanding,
}

/// One client's end of a ring pair.
///
/// Credit: at most `slots` requests may be outstanding (sent and not yet
/// answered). Each response received returns one credit, whichever request
/// it answers, because the server copies every request out of its slot when
/// it polls it, before it can answer it or any later one; so the client
/// never writes a slot the server has not consumed, and the server never
/// writes the request ring at all.
#[repr(C)]
pub struct Client<'a> {
    /// Requests: the producer's line.
    tx: Producer<'a>,
    /// Responses: the consumer's line.
    rx: Consumer<'a>,
}

// The producer's and the consumer's state each fill their own cache line.
const _: () = {
    assert!(core::mem::offset_of!(Client<'_>, tx) == 0);
    assert!(core::mem::offset_of!(Client<'_>, rx) == 64);
    assert!(core::mem::size_of::<Client<'_>>() == 128);
};

impl<'a> Client<'a> {
    /// The client's end of `region`, which must be all zero (see [`Region`]).
    pub fn new(region: Region<'a>) -> Self {
        Self {
            tx: Producer::new(region.requests()),
            rx: Consumer::new(region.responses()),
        }
    }

    /// Slots per ring: the most requests that may be outstanding.
    pub fn slots(&self) -> usize {
        self.tx.len()
    }

    /// Requests sent and not yet answered.
    pub fn outstanding(&self) -> usize {
        self.tx.published().wrapping_sub(self.rx.consumed()) as usize
    }

    /// Requests that may be sent now.
    pub fn credit(&self) -> usize {
        self.slots() - self.outstanding()
    }

    /// Sends one request: one slot (one cache line) written, sequence word
    /// last with release ordering.
    pub fn send(&mut self, request: &Request) -> Result<(), Full> {
        if self.credit() == 0 {
            return Err(Full);
        }
        self.tx.push(&request.to_words());
        Ok(())
    }

    /// Sends as many of `requests` as the credit allows, in order, with one
    /// release fence for the whole batch; returns how many were sent.
    pub fn send_batch(&mut self, requests: &[Request]) -> usize {
        let count = self.credit().min(requests.len());
        self.tx.push_batch(count, |i| requests[i].to_words());
        count
    }

    /// The next response, if the server has published it. Reads the slot's
    /// sequence word (acquire) and, when it is new, copies the slot out once;
    /// writes nothing to shared memory.
    pub fn poll(&mut self) -> Result<Option<Response>, ResponseError> {
        self.poll_as(Response::from_words)
    }

    /// [`Client::poll`] copying out only the response's head (`status`,
    /// `len`, `tag`: the slot's first [`crate::HEAD_WORDS`] payload words);
    /// `values` are zero. For a protocol whose responses carry no values
    /// (a server answering with [`crate::Server::respond_heads_with`]).
    pub fn poll_head(&mut self) -> Result<Option<Response>, ResponseError> {
        self.poll_as(Response::from_head)
    }

    /// The next response from the slot's first `N` payload words.
    #[inline]
    fn poll_as<const N: usize>(
        &mut self,
        decode: fn([u64; N]) -> Response,
    ) -> Result<Option<Response>, ResponseError> {
        match self.rx.peek_words::<N>() {
            Peek::Empty => Ok(None),
            Peek::Ready(words) => {
                if self.outstanding() == 0 {
                    return Err(ResponseError::Unsolicited);
                }
                self.rx.advance();
                Ok(Some(decode(words)))
            }
            Peek::Garbage {
                found, expected, ..
            } => Err(ResponseError::BadSequence { found, expected }),
        }
    }

    /// Hands every response published so far (at most `max`) to `f`; returns
    /// how many.
    pub fn drain(
        &mut self,
        max: usize,
        mut f: impl FnMut(Response),
    ) -> Result<usize, ResponseError> {
        let mut n = 0;
        while n < max {
            match self.poll()? {
                Some(r) => f(r),
                None => break,
            }
            n += 1;
        }
        Ok(n)
    }

    /// What to wait on for the next response (its slot's sequence word),
    /// for a caller with its own wait loop; [`Watch::wfe`] sleeps until the
    /// server writes that word.
    pub fn watch(&self) -> Watch<'a> {
        self.rx.watch()
    }

    /// Waits for the next response: up to `spins` polls, then
    /// `fallback(&watch)` (WFE via `Watch::wfe` (aarch64), a notification system
    /// call on [`Watch::addr`], a yield...), then again.
    pub fn wait(
        &mut self,
        spins: u32,
        mut fallback: impl FnMut(&Watch<'a>),
    ) -> Result<Response, ResponseError> {
        if self.outstanding() == 0 {
            return Err(ResponseError::NothingOutstanding);
        }
        loop {
            for _ in 0..spins.max(1) {
                if let Some(r) = self.poll()? {
                    return Ok(r);
                }
                spin_hint();
            }
            fallback(&self.rx.watch());
        }
    }
}
