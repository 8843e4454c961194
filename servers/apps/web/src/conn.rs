//! One HTTP connection of a worker: the bytes of the request it is
//! reading, the response it is sending, and the window of the worker's
//! data buffer its requests to the network server use. A connection has
//! at most one request in flight (a receive, a send or its close), so its
//! window is never touched while the server may use it.

use net_api::client::Error;
use net_api::{Handle, Op, Pipelined};
use ring::{Request, Response, Status};
use web_http::{Method, Parsed, MAX_RESPONSE_HEAD, PAGES, REQUEST_BUF};

/// Bytes of a connection's receive window.
pub const RECV_WIN: usize = 4096;
/// Bytes of its send window: the server's socket takes at most 8 KiB at a
/// time (its send buffer), so a larger window would be copied twice.
pub const SEND_WIN: usize = 8192;
/// Each connection's share of the data buffer: its receive window, then
/// its send window.
const SPAN: usize = RECV_WIN + SEND_WIN;

/// What a connection waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No connection in this slot.
    Free,
    /// A receive is in flight.
    Receiving,
    /// A send of the response is in flight.
    Sending,
    /// Its close is in flight.
    Closing,
}

/// The body of the response being sent.
#[derive(Clone, Copy)]
enum Body {
    None,
    Page(usize),
    Text(&'static str),
}

/// A connection slot.
pub struct Conn {
    pub state: State,
    pub handle: Handle,
    req: [u8; REQUEST_BUF],
    len: usize,
    head: [u8; MAX_RESPONSE_HEAD],
    head_len: usize,
    body: Body,
    body_len: usize,
    sent: usize,
    keep_alive: bool,
    /// Requests answered on this connection.
    pub answered: u64,
}

impl Conn {
    pub const FREE: Conn = Conn {
        state: State::Free,
        handle: Handle(0),
        req: [0; REQUEST_BUF],
        len: 0,
        head: [0; MAX_RESPONSE_HEAD],
        head_len: 0,
        body: Body::None,
        body_len: 0,
        sent: 0,
        keep_alive: false,
        answered: 0,
    };
}

/// The worker's pages, held in memory: filled once at start.
pub struct Pages {
    pub bytes: [&'static [u8]; PAGES.len()],
}

/// What a response to a connection's request did.
pub enum Next {
    /// A request is in flight again.
    Busy,
    /// The slot is free again.
    Freed,
}

fn send<P: Pipelined>(
    net: &mut P,
    i: usize,
    op: Op,
    len: usize,
    offset: usize,
    h: Handle,
) -> Result<(), Error> {
    net.send_raw(&Request {
        opcode: op as u32,
        len: len as u32,
        tag: i as u64,
        offset: offset as u64,
        args: [h.0, 0, 0, 0],
    })
}

impl Conn {
    /// Takes connection `h` into slot `i` and starts reading its request.
    pub fn open<P: Pipelined>(&mut self, net: &mut P, i: usize, h: Handle) -> Result<(), Error> {
        self.handle = h;
        self.len = 0;
        self.answered = 0;
        self.receive(net, i)
    }

    fn receive<P: Pipelined>(&mut self, net: &mut P, i: usize) -> Result<(), Error> {
        // `parse` says Incomplete only with room left (web-http's rules),
        // so `room` is never 0; were it, the request could not be read.
        let room = (REQUEST_BUF - self.len).min(RECV_WIN);
        if room == 0 {
            return self.close(net, i);
        }
        self.state = State::Receiving;
        send(net, i, Op::TcpRecv, room, i * SPAN, self.handle)
    }

    fn close<P: Pipelined>(&mut self, net: &mut P, i: usize) -> Result<(), Error> {
        self.state = State::Closing;
        net.send_raw(&Request {
            opcode: Op::Close as u32,
            len: 0,
            tag: i as u64,
            offset: 0,
            args: [self.handle.0, 0, 0, 0],
        })
    }

    /// Starts closing the connection (the worker is stopping).
    pub fn shut<P: Pipelined>(&mut self, net: &mut P, i: usize) -> Result<(), Error> {
        if self.state == State::Free || self.state == State::Closing {
            return Ok(());
        }
        self.close(net, i)
    }

    /// Handles the network server's answer `r` to this slot's request;
    /// `stopping`: close the connection after the response being sent
    /// instead of reading another request.
    pub fn answered<P: Pipelined>(
        &mut self,
        net: &mut P,
        i: usize,
        r: &Response,
        pages: &Pages,
        stopping: bool,
    ) -> Result<Next, Error> {
        match self.state {
            State::Free => Ok(Next::Freed),
            State::Closing => {
                self.state = State::Free;
                Ok(Next::Freed)
            }
            _ if r.status != Status::OK => {
                // The peer reset or closed the connection under us.
                self.close(net, i).map(|()| Next::Busy)
            }
            State::Receiving => {
                let n = (r.len as usize).min(REQUEST_BUF - self.len).min(RECV_WIN);
                if n == 0 {
                    // The peer closed its side.
                    return self.close(net, i).map(|()| Next::Busy);
                }
                // Safety: this slot's receive window, whose request was just
                // answered; no other request names it.
                unsafe { net.read_data(i * SPAN, &mut self.req[self.len..self.len + n]) };
                self.len += n;
                self.next_request(net, i, pages).map(|()| Next::Busy)
            }
            State::Sending => {
                self.sent += (r.len as usize).min(SEND_WIN);
                if self.sent < self.head_len + self.body_len {
                    return self.push(net, i, pages).map(|()| Next::Busy);
                }
                self.answered += 1;
                if self.keep_alive && !stopping {
                    self.next_request(net, i, pages)
                } else {
                    self.close(net, i)
                }
                .map(|()| Next::Busy)
            }
        }
    }

    /// Answers the next whole request in the buffer, or receives more.
    fn next_request<P: Pipelined>(
        &mut self,
        net: &mut P,
        i: usize,
        pages: &Pages,
    ) -> Result<(), Error> {
        match web_http::parse(&self.req[..self.len]) {
            Parsed::Incomplete => self.receive(net, i),
            p => self.answer(net, i, p, pages),
        }
    }

    fn answer<P: Pipelined>(
        &mut self,
        net: &mut P,
        i: usize,
        p: Parsed,
        pages: &Pages,
    ) -> Result<(), Error> {
        let (status, html, body, keep_alive, used) = match p {
            Parsed::Incomplete => return self.receive(net, i),
            Parsed::Page {
                method,
                page,
                keep_alive,
                used,
            } => {
                let body = if method == Method::Head {
                    Body::None
                } else {
                    Body::Page(page)
                };
                (
                    (200, "OK"),
                    page == 0,
                    (body, PAGES[page].1),
                    keep_alive,
                    used,
                )
            }
            Parsed::Rejected {
                reject,
                keep_alive,
                used,
            } => {
                let text = reject.body();
                (
                    reject.status(),
                    false,
                    (Body::Text(text), text.len()),
                    keep_alive,
                    used,
                )
            }
        };
        self.head_len = web_http::head(status, html, body.1, keep_alive, &mut self.head);
        self.body = body.0;
        self.body_len = match body.0 {
            Body::None => 0,
            _ => body.1,
        };
        self.sent = 0;
        self.keep_alive = keep_alive;
        let used = used.min(self.len);
        self.req.copy_within(used..self.len, 0);
        self.len -= used;
        self.push(net, i, pages)
    }

    /// Copies the next piece of the response into the send window and
    /// sends it.
    fn push<P: Pipelined>(&mut self, net: &mut P, i: usize, pages: &Pages) -> Result<(), Error> {
        let total = self.head_len + self.body_len;
        let n = (total - self.sent).min(SEND_WIN);
        let win = i * SPAN + RECV_WIN;
        let mut at = self.sent;
        let mut put = 0;
        while put < n {
            let src: &[u8] = if at < self.head_len {
                &self.head[at..self.head_len]
            } else {
                let b = at - self.head_len;
                match self.body {
                    Body::None => &[],
                    Body::Page(p) => &pages.bytes[p][b..],
                    Body::Text(t) => &t.as_bytes()[b..],
                }
            };
            let k = src.len().min(n - put);
            if k == 0 {
                break;
            }
            // Safety: this slot's send window (`put + k <= SEND_WIN`); no
            // request of this slot is in flight.
            unsafe { net.write_data(win + put, &src[..k]) };
            put += k;
            at += k;
        }
        self.state = State::Sending;
        send(net, i, Op::TcpSend, put, win, self.handle)
    }
}

/// Bytes of the data buffer `slots` connections use.
pub const fn span(slots: usize) -> usize {
    slots * SPAN
}
