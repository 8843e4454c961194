//! Several requests in flight on this task's own stack (configuration 2),
//! as `net_api::client::Net` keeps them in flight at the server's
//! (configuration 1): [`Local`]'s `net_api::Pipelined`, so an application
//! written for it (the web workers) runs over both. A request is checked
//! as the server checks it (opcode, window, `net_api::validate`), answered
//! at once (bind, listen, connect, close) or held until the stack can answer it
//! (`Stack::answer_held`, in arrival order, as the server answers), and
//! its answer waits in a queue for `poll`. Windows name the part of the
//! connection's data buffer the link does not use ([`PIPE_OFFSET`] on),
//! which only this task touches: nothing is copied to the server.

use crate::local::{Local, ME};
use conn::client::Error;
use net_api::{status, Checked, Handle, Op, Pipelined, RING_SLOTS};
use ring::{BufRange, Incoming, Request, Response, Status};

/// Where the windows start in the connection's data buffer: after the
/// link's frame slots.
pub const PIPE_OFFSET: usize = crate::link::BYTES;

/// A request held until the stack can answer it.
#[derive(Clone, Copy)]
struct Held {
    /// Arrival order.
    seq: u64,
    tag: u64,
    req: Checked,
}

/// The held requests and the answers not yet polled: together at most
/// [`RING_SLOTS`], the ring's credit, as at the server.
pub struct Pipe {
    held: [Option<Held>; RING_SLOTS],
    next_seq: u64,
    answers: [Response; RING_SLOTS],
    /// The queue's first answer and its length.
    head: usize,
    queued: usize,
}

const NO_ANSWER: Response = Response {
    status: Status::OK,
    len: 0,
    tag: 0,
    values: [0; 5],
};

impl Pipe {
    pub const fn new() -> Pipe {
        Pipe {
            held: [None; RING_SLOTS],
            next_seq: 0,
            answers: [NO_ANSWER; RING_SLOTS],
            head: 0,
            queued: 0,
        }
    }

    fn held(&self) -> usize {
        self.held.iter().filter(|h| h.is_some()).count()
    }

    fn answer(&mut self, tag: u64, r: Result<(usize, [u64; 5]), Status>) {
        let (status, len, values) = match r {
            Ok((len, values)) => (Status::OK, len as u32, values),
            Err(st) => (st, 0, [0; 5]),
        };
        // `send_raw` keeps held + queued within RING_SLOTS.
        let at = (self.head + self.queued) % RING_SLOTS;
        self.answers[at] = Response {
            status,
            len,
            tag,
            values,
        };
        self.queued += 1;
    }

    fn pop(&mut self) -> Option<Response> {
        if self.queued == 0 {
            return None;
        }
        let r = self.answers[self.head];
        self.head = (self.head + 1) % RING_SLOTS;
        self.queued -= 1;
        Some(r)
    }
}

impl Local {
    /// Answers every held request the stack can answer now, in arrival
    /// order. Whether any was.
    fn answer_held(&mut self) -> bool {
        let mut any = false;
        let mut after = None;
        loop {
            let next = self
                .pipe
                .held
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.map(|h| (i, h)))
                .filter(|(_, h)| after.is_none_or(|a| h.seq > a))
                .min_by_key(|(_, h)| h.seq);
            let Some((i, h)) = next else {
                return any;
            };
            after = Some(h.seq);
            if let Some(r) = self.stack.answer_held(ME, &self.window_buf, &h.req) {
                self.pipe.held[i] = None;
                self.pipe.answer(h.tag, r);
                any = true;
            }
        }
    }
}

impl Pipelined for Local {
    fn send_raw(&mut self, req: &Request) -> Result<(), Error> {
        if self.outstanding() >= RING_SLOTS {
            // As a full ring: the caller must poll first.
            return Err(Error::Status(Status::BAD_SEQUENCE));
        }
        let Ok(opcode) = Op::try_from(req.opcode) else {
            self.pipe.answer(req.tag, Err(Status::UNKNOWN_OPCODE));
            return Ok(());
        };
        let Some(buf) = BufRange::check(req.offset, req.len, self.window_buf.len()) else {
            self.pipe.answer(req.tag, Err(Status::OUT_OF_BOUNDS));
            return Ok(());
        };
        let incoming = Incoming {
            opcode,
            tag: req.tag,
            buf,
            args: req.args,
        };
        let checked = match net_api::validate(&incoming) {
            Ok(c) => c,
            Err(st) => {
                self.pipe.answer(req.tag, Err(st));
                return Ok(());
            }
        };
        let handle = |r: Result<Handle, Status>| r.map(|h| (0, [h.0, 0, 0, 0, 0]));
        match checked {
            Checked::UdpBind { port } => {
                let r = handle(self.stack.udp_bind(ME, port));
                self.pipe.answer(req.tag, r);
            }
            // One client owns this stack: nobody to share a port with.
            Checked::TcpListen { port, backlog, .. } => {
                let r = handle(self.stack.tcp_listen(ME, port, backlog, false));
                self.pipe.answer(req.tag, r);
            }
            // An active open: the handle at once, the handshake in the
            // stack (as at the server).
            Checked::TcpConnect { to } => {
                let r = handle(self.stack.tcp_connect(ME, to));
                self.pipe.answer(req.tag, r);
            }
            Checked::Close { socket } => {
                let r = self.stack.close(ME, socket).map(|()| (0, [0; 5]));
                self.pipe.answer(req.tag, r);
            }
            // `finish` ends the connection; a pipelined `Done` is refused.
            Checked::Done => self.pipe.answer(req.tag, Err(status::STACK)),
            _ => {
                let seq = self.pipe.next_seq;
                self.pipe.next_seq += 1;
                if let Some(h) = self.pipe.held.iter_mut().find(|h| h.is_none()) {
                    *h = Some(Held {
                        seq,
                        tag: req.tag,
                        req: checked,
                    });
                }
            }
        }
        Ok(())
    }

    fn poll(&mut self) -> Result<Option<Response>, Error> {
        if self.pipe.queued == 0 {
            let mut busy = self.stack.dev.pump();
            busy |= self.stack.poll();
            busy |= self.answer_held();
            // What answering queued (a send's bytes, a window update) goes
            // out now.
            if busy {
                self.stack.poll();
            }
            self.stack.dev.pump();
            if let Some(e) = self.stack.dev.error.take() {
                return Err(e);
            }
        }
        Ok(self.pipe.pop())
    }

    fn nap(&mut self) {
        // Until an event: the server's `sev` after an answer (a frame),
        // the timer's event stream (the stack's timers).
        ulib::wait::wfe();
    }

    fn sleep(&mut self) {
        // Blocks while no timer of the task's own stack is due; with one
        // due, a bounded nap.
        self.rest()
    }

    fn outstanding(&self) -> usize {
        self.pipe.held() + self.pipe.queued
    }

    unsafe fn write_data(&mut self, offset: usize, src: &[u8]) {
        let n = src.len().min(self.window_buf.len().saturating_sub(offset));
        if let Some(w) = BufRange::check(offset as u64, n as u32, self.window_buf.len()) {
            self.window_buf.copy_in(w, &src[..n]);
        }
    }

    unsafe fn read_data(&self, offset: usize, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.window_buf.len().saturating_sub(offset));
        BufRange::check(offset as u64, n as u32, self.window_buf.len())
            .and_then(|w| self.window_buf.copy_out(w, &mut dst[..n]))
            .unwrap_or(0)
    }

    fn listen_shared(&mut self, port: u16, backlog: u64) -> Result<Handle, Error> {
        net_api::Sockets::tcp_listen(self, port, backlog)
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.pipe = Pipe::new();
        net_api::Sockets::done(self)
    }
}
