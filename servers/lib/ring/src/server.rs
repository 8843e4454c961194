//! The server's side: consumes requests, validates every byte of them, and
//! produces responses.

use core::marker::PhantomData;

use crate::buf::BufRange;
use crate::region::Region;
use crate::ring::{Consumer, Peek, Producer};
use crate::slot::{Request, Response, Status};
use crate::wait::Watch;

/// A request that passed validation: a known opcode and a buffer window
/// inside the client's data buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incoming<O> {
    /// The decoded opcode.
    pub opcode: O,
    /// The client's tag, to copy into the response.
    pub tag: u64,
    /// The buffer window, checked against the server's own buffer length.
    pub buf: BufRange,
    /// The inline arguments, unvalidated: their meaning is the opcode's.
    pub args: [u64; 4],
}

/// A request the server rejected. Every variant but [`RequestError::Flood`]
/// consumed the slot and has already been answered with an error response
/// (so the client's credit stays right); the caller may count or log it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The opcode is not one of `O`'s. Answered with
    /// [`Status::UNKNOWN_OPCODE`].
    UnknownOpcode {
        /// The request's tag.
        tag: u64,
        /// The raw opcode.
        opcode: u32,
    },
    /// `offset..offset + len` is not inside the client's buffer. Answered
    /// with [`Status::OUT_OF_BOUNDS`].
    OutOfBounds {
        /// The request's tag.
        tag: u64,
        /// The raw offset.
        offset: u64,
        /// The raw length.
        len: u32,
    },
    /// The slot's sequence word was neither the expected value nor the
    /// previous one: garbage, or a client that lapped its own ring. Answered
    /// with [`Status::BAD_SEQUENCE`].
    BadSequence {
        /// What the slot's tag word held (meaningless, echoed back).
        tag: u64,
        /// What the sequence word held.
        found: u64,
        /// What the server expected.
        expected: u64,
    },
    /// The client wrote its next slot although `slots` requests are already
    /// in flight at the server, more than its credit allows. Nothing was
    /// consumed and no reply was written (the response ring has room only
    /// for the in-flight requests' responses): the server stops reading this
    /// ring until it has answered, and the caller may disconnect the client.
    Flood,
}

impl RequestError {
    /// The error response the server wrote for this error, if it wrote one.
    pub fn reply(&self) -> Option<Response> {
        let (status, tag, v0, v1) = match *self {
            RequestError::UnknownOpcode { tag, opcode } => {
                (Status::UNKNOWN_OPCODE, tag, u64::from(opcode), 0)
            }
            RequestError::OutOfBounds { tag, offset, len } => {
                (Status::OUT_OF_BOUNDS, tag, offset, u64::from(len))
            }
            RequestError::BadSequence {
                tag,
                found,
                expected,
            } => (Status::BAD_SEQUENCE, tag, found, expected),
            RequestError::Flood => return None,
        };
        Some(Response {
            status,
            len: 0,
            tag,
            values: [v0, v1, 0, 0, 0],
        })
    }
}

/// [`Server::respond`] was called with no request in flight: there is no
/// response slot to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NothingInFlight;

/// A server's end of one client's ring pair.
///
/// `O` is the opcode type: `O::try_from(raw)` decides which opcodes exist.
/// The server knows the client's data buffer length on its own (from the
/// mapping it made), never from the ring.
///
/// In flight: requests consumed and not yet answered, at most `slots`. At
/// that bound the server stops reading the request ring (back-pressure);
/// since a correct client cannot have written its next slot then, a changed
/// slot there is reported as [`RequestError::Flood`].
#[repr(C)]
pub struct Server<'a, O> {
    /// Requests: the consumer's line.
    rx: Consumer<'a>,
    /// Responses: the producer's line.
    tx: Producer<'a>,
    buf_len: usize,
    opcode: PhantomData<fn() -> O>,
}

// The consumer's and the producer's state each fill their own cache line
// (the buffer length, written once, follows on a third).
const _: () = {
    assert!(core::mem::offset_of!(Server<'_, u32>, rx) == 0);
    assert!(core::mem::offset_of!(Server<'_, u32>, tx) == 64);
};

impl<'a, O: TryFrom<u32>> Server<'a, O> {
    /// The server's end of `region`, which must be all zero (see [`Region`]),
    /// for a client whose data buffer is `buf_len` bytes long.
    pub fn new(region: Region<'a>, buf_len: usize) -> Self {
        Self {
            rx: Consumer::new(region.requests()),
            tx: Producer::new(region.responses()),
            buf_len,
            opcode: PhantomData,
        }
    }

    /// Slots per ring.
    pub fn slots(&self) -> usize {
        self.rx.len()
    }

    /// The client's data buffer length, as given to [`Server::new`].
    pub fn buf_len(&self) -> usize {
        self.buf_len
    }

    /// Requests consumed and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.rx.consumed().wrapping_sub(self.tx.published()) as usize
    }

    /// The next request, validated.
    ///
    /// Loads the slot's sequence word once (acquire); if it is new, copies
    /// the slot out once and validates only the copy, so the client changing
    /// the slot meanwhile changes nothing. Never panics, whatever the slot
    /// holds.
    pub fn poll(&mut self) -> Result<Option<Incoming<O>>, RequestError> {
        if self.in_flight() >= self.slots() {
            return if self.rx.untouched() {
                Ok(None)
            } else {
                Err(RequestError::Flood)
            };
        }
        let result = match self.rx.peek() {
            Peek::Empty => return Ok(None),
            Peek::Ready(words) => self.validate(Request::from_words(words)),
            Peek::Garbage {
                found,
                expected,
                payload,
            } => Err(RequestError::BadSequence {
                tag: Request::from_words(payload).tag,
                found,
                expected,
            }),
        };
        self.rx.advance();
        result.map(Some).inspect_err(|e| {
            if let Some(reply) = e.reply() {
                // One was just consumed, so a response slot is free.
                self.tx.push(&reply.to_words());
            }
        })
    }

    fn validate(&self, r: Request) -> Result<Incoming<O>, RequestError> {
        let Ok(opcode) = O::try_from(r.opcode) else {
            return Err(RequestError::UnknownOpcode {
                tag: r.tag,
                opcode: r.opcode,
            });
        };
        let Some(buf) = BufRange::check(r.offset, r.len, self.buf_len) else {
            return Err(RequestError::OutOfBounds {
                tag: r.tag,
                offset: r.offset,
                len: r.len,
            });
        };
        Ok(Incoming {
            opcode,
            tag: r.tag,
            buf,
            args: r.args,
        })
    }

    /// Hands every request published so far (at most `max`, and stopping
    /// after a [`RequestError::Flood`]) to `f`; returns how many.
    pub fn drain(
        &mut self,
        max: usize,
        mut f: impl FnMut(Result<Incoming<O>, RequestError>),
    ) -> usize {
        let mut n = 0;
        while n < max {
            let r = self.poll();
            let stop = matches!(r, Err(RequestError::Flood));
            match r {
                Ok(None) => break,
                Ok(Some(i)) => f(Ok(i)),
                Err(e) => f(Err(e)),
            }
            n += 1;
            if stop {
                break;
            }
        }
        n
    }

    /// Answers one in-flight request: one slot (one cache line) written,
    /// sequence word last with release ordering. Responses may come in any
    /// order; the tag says which request each answers.
    pub fn respond(&mut self, response: &Response) -> Result<(), NothingInFlight> {
        if self.in_flight() == 0 {
            return Err(NothingInFlight);
        }
        self.tx.push(&response.to_words());
        Ok(())
    }

    /// Answers as many in-flight requests as `responses` holds (at most
    /// [`Server::in_flight`]) with one release fence; returns how many.
    pub fn respond_batch(&mut self, responses: &[Response]) -> usize {
        self.respond_with(responses.len(), |i| responses[i])
    }

    /// Answers `count` in-flight requests (at most [`Server::in_flight`])
    /// with `response(0)`, `response(1)`, ... and one release fence, the
    /// responses made as they are written (no array of them to fill
    /// first); returns how many.
    pub fn respond_with(&mut self, count: usize, response: impl FnMut(usize) -> Response) -> usize {
        self.respond_as(count, response, Response::to_words)
    }

    /// [`Server::respond_with`] for responses whose `values` say nothing
    /// (the protocol's answers carry none): only each response's head,
    /// `status`, `len` and `tag` (the slot's first [`crate::HEAD_WORDS`] payload
    /// words of seven), is written; the slot's other words keep what they
    /// held (this ring's own earlier messages to the same client). The
    /// client reads the head alone with [`crate::Client::poll_head`].
    pub fn respond_heads_with(
        &mut self,
        count: usize,
        response: impl FnMut(usize) -> Response,
    ) -> usize {
        self.respond_as(count, response, Response::to_head)
    }

    /// Answers up to `count` in-flight requests, each response published
    /// as the `N` payload words `encode` makes of it; returns how many.
    #[inline]
    fn respond_as<const N: usize>(
        &mut self,
        count: usize,
        mut response: impl FnMut(usize) -> Response,
        encode: fn(Response) -> [u64; N],
    ) -> usize {
        let count = self.in_flight().min(count);
        self.tx.push_batch(count, |i| encode(response(i)));
        count
    }

    /// What to wait on for the next request (for a server with one client).
    pub fn watch(&self) -> Watch<'a> {
        self.rx.watch()
    }
}
