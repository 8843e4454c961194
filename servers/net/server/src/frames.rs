//! Configuration 2 (docs/network-frames.md): the server runs no
//! stack; it passes Ethernet frames between the card and its clients, each
//! of which runs its own (`net-local`). Client `i` gets the card's
//! Ethernet address with `i` added to its last byte and the IPv4 address
//! 10.0.2.(15 + i).
//!
//! **Who sees what.** A frame from the card goes to the client whose
//! address it is sent to, or to every client if it is a broadcast or
//! multicast (ARP requests); any other frame, and any frame shorter than
//! an Ethernet header or longer than the MTU, is dropped and counted.
//! A frame goes into the oldest receive buffer its client has posted (a
//! window of that client's own data buffer); a client with none posted
//! loses it (counted): the card's buffer goes back to the card at once, so
//! a client that posts nothing stalls no one else.
//!
//! **What a client sends.** A frame is copied once out of the client's
//! buffer into the server's memory, its source address checked on that
//! copy (another client's, or anyone else's, is refused `BAD_SOURCE`),
//! then copied into a free transmit buffer of the card. Sends wait (held,
//! in order) while the card has no free transmit buffer; clients take
//! turns at the card's free buffers.
//!
//! **Idle**, it blocks in the kernel as configuration 1's loop does when
//! no socket timer is due (there are none here): until the card's
//! interrupt, a client's request, `hello` or end wakes it (`conn::server`'s
//! `Idle`, the clients' sleeping flag protocol).

use crate::nic::Nic;
use crate::server::Progress;
use conn::held::Held as Fifo;
use conn::server::{Clients, Idle, Next, Pace, Peer, Slept};
use net_api::frames::{self, FrameOp, Frames, BAD_SOURCE, MIN_FRAME, MTU};
use net_api::MAX_CLIENTS;
use net_stack::Link;
use ring::Status;

/// Requests taken from one client's ring per pass.
const BATCH: usize = 4;
/// Frames taken from the card per pass (its receive buffers).
const FRAMES_PER_PASS: usize = crate::nic::RX_BUFS;

/// One client's requests held, oldest first: receive buffers and frames
/// to send (together at most the ring's slots).
struct Held {
    receive: Fifo,
    send: Fifo,
    /// Frames delivered, frames lost for want of a receive buffer, sent.
    delivered: u64,
    lost: u64,
    sent: u64,
}

/// A frame client.
type Client = Peer<FrameOp>;

impl Held {
    const NONE: Held = Held {
        receive: Fifo::EMPTY,
        send: Fifo::EMPTY,
        delivered: 0,
        lost: 0,
        sent: 0,
    };

    fn clear(&mut self) {
        (self.receive, self.send) = (Fifo::EMPTY, Fifo::EMPTY);
    }
}

/// Frames the server dropped: not for any client, malformed.
#[derive(Default)]
struct Dropped {
    unaddressed: u64,
    malformed: u64,
}

/// Client `ci`'s Ethernet address.
pub fn client_mac(card: [u8; 6], ci: usize) -> [u8; 6] {
    let mut m = card;
    m[5] = m[5].wrapping_add(ci as u8);
    m
}

/// Client `ci`'s IPv4 address.
pub fn client_addr(ci: usize) -> [u8; 4] {
    let [a, b, c, d] = net_stack::ADDRESS;
    [a, b, c, d.wrapping_add(ci as u8)]
}

/// Serves clients with raw frames until every one is done; prints the
/// counts.
pub fn serve(
    nic: &mut Nic,
    mac: [u8; 6],
    clients: &mut Clients<FrameOp>,
    mut hook: impl FnMut(Progress),
) {
    let mut held = [const { Held::NONE }; MAX_CLIENTS];
    let mut dropped = Dropped::default();
    let mut idle = Idle::default();
    // The client whose send goes first this pass (turns at the card).
    let mut first = 0;
    loop {
        hook(Progress {
            served: clients.served(),
        });
        let mut busy = false;
        for _ in 0..FRAMES_PER_PASS {
            let Some(()) = nic.receive_frame(|f| deliver(f, mac, clients, &mut held, &mut dropped))
            else {
                break;
            };
            busy = true;
        }
        let mut open = false;
        for (ci, h) in held.iter_mut().enumerate().take(clients.len()) {
            let Some((c, turn)) = clients.turn(ci) else {
                continue;
            };
            if turn.ended {
                ulib::println!(
                    "net server: client {} ended without closing: {} receive buffer(s) and {} frame(s) to send dropped",
                    c.index,
                    h.receive.len(),
                    h.send.len()
                );
            }
            let kept = h.receive.len() + h.send.len();
            if turn.connected && !turn.ended && kept > 0 {
                // A restarted client whose end was not seen first.
                ulib::println!(
                    "net server: client {} connected again: {} receive buffer(s) and {} frame(s) to send dropped",
                    c.index,
                    h.receive.len(),
                    h.send.len()
                );
            }
            if turn.ended || turn.connected {
                h.clear();
                busy = true;
            }
            if !c.is_open() {
                continue;
            }
            open = true;
            if !c.connected {
                continue;
            }
            for _ in 0..BATCH {
                match c.next("net") {
                    Next::Empty => break,
                    // The ring had something: not an idle pass (a server
                    // about to block must look again).
                    Next::Refused => {
                        busy = true;
                        break;
                    }
                    Next::Flooded => {
                        busy = true;
                        h.clear();
                        break;
                    }
                    Next::Request(req) => {
                        busy = true;
                        handle(c, h, ci, mac, req);
                        if c.closed {
                            break;
                        }
                    }
                }
            }
        }
        // Frames to send, one per client in turn while the card has room.
        let n = clients.len();
        let mut progress = true;
        while progress && nic.can_send() {
            progress = false;
            for k in 0..n {
                let ci = (first + k) % n.max(1);
                if let Some(c) = clients.get(ci).filter(|c| c.is_serving()) {
                    if send_one(nic, c, &mut held[ci], client_mac(mac, ci)) {
                        progress = true;
                        busy = true;
                    }
                }
            }
        }
        first = (first + 1) % n.max(1);
        clients.end_pass();
        if !open {
            break;
        }
        // Nothing to do: block until the card's interrupt (a frame in, a
        // transmission done), a client's request or `hello`, or a client's
        // end wakes it, if the image delivers the card's interrupt; no
        // timer runs here (the stacks are the clients'). Otherwise poll,
        // paced by the timer's event stream.
        let pace = if nic.interrupts() {
            Pace::Block
        } else {
            Pace::Poll
        };
        if idle.pass(busy, clients, pace) == Slept::Blocked {
            nic.rearm();
        }
    }
    ulib::println!(
        "net server: frames: {} from the card for no client, {} malformed or oversized",
        dropped.unaddressed,
        dropped.malformed
    );
    for (c, h) in clients.iter().zip(held.iter()) {
        ulib::println!(
            "net server: client {}: {} frames delivered, {} lost (no receive buffer), {} sent",
            c.index,
            h.delivered,
            h.lost,
            h.sent
        );
    }
}

/// One frame from the card: to its client, or to every client.
fn deliver(
    f: &[u8],
    mac: [u8; 6],
    clients: &mut Clients<FrameOp>,
    held: &mut [Held; MAX_CLIENTS],
    dropped: &mut Dropped,
) {
    if f.len() < MIN_FRAME || f.len() > MTU {
        dropped.malformed += 1;
        return;
    }
    let to = &f[..6];
    let group = to[0] & 1 != 0;
    let mut any = false;
    for (ci, h) in held.iter_mut().enumerate().take(clients.len()) {
        if !group && to != client_mac(mac, ci) {
            continue;
        }
        any = true;
        let Some(c) = clients.get(ci).filter(|c| c.is_serving()) else {
            continue;
        };
        let Some((tag, w)) = h.receive.front() else {
            h.lost += 1;
            continue;
        };
        h.receive.pop();
        // The window holds at least MTU bytes (validated): the frame fits
        // whole, at the window's start.
        match c.buf().copy_in(w, f) {
            Some(n) => {
                h.delivered += 1;
                c.answer(tag, Status::OK, n as u32, [0; 5]);
            }
            None => c.answer(tag, net_api::status::BAD_LENGTH, 0, [0; 5]),
        }
    }
    if !any {
        dropped.unaddressed += 1;
    }
}

/// One request decoded by `ring`: validated, answered or held.
fn handle(c: &mut Client, h: &mut Held, ci: usize, mac: [u8; 6], req: ring::Incoming<FrameOp>) {
    let checked = match frames::validate(&req) {
        Ok(x) => x,
        Err(st) => {
            c.refuse("net", &req, st, [0; 5]);
            return;
        }
    };
    match checked {
        Frames::Info => {
            let [a, b, cc, d] = client_addr(ci);
            let [g0, g1, g2, g3] = net_stack::GATEWAY;
            let values = [
                frames::mac_word(client_mac(mac, ci)),
                u64::from(u32::from_be_bytes([a, b, cc, d])),
                u64::from(net_stack::PREFIX),
                u64::from(u32::from_be_bytes([g0, g1, g2, g3])),
                MTU as u64,
            ];
            c.answer(req.tag, Status::OK, 0, values);
        }
        Frames::Receive(w) => {
            if !h.receive.push(req.tag, w) {
                c.answer(req.tag, net_api::status::STACK, 0, [0; 5]);
            }
        }
        Frames::Send(w) => {
            if !h.send.push(req.tag, w) {
                c.answer(req.tag, net_api::status::STACK, 0, [0; 5]);
            }
        }
        Frames::Done => {
            h.clear();
            c.close();
            c.answer(req.tag, Status::OK, 0, [0; 5]);
        }
    }
}

/// Sends client `c`'s oldest held frame, if it has one and the card has
/// room. Whether it answered one.
fn send_one(nic: &mut Nic, c: &mut Client, h: &mut Held, own: [u8; 6]) -> bool {
    let Some((tag, w)) = h.send.front() else {
        return false;
    };
    // One copy out of the client's buffer; everything after reads the copy.
    let mut frame = [0u8; MTU];
    let n = c.buf().copy_out(w, &mut frame).unwrap_or(0).min(MTU);
    if n < MIN_FRAME || frame[6..12] != own {
        h.send.pop();
        c.answer(tag, BAD_SOURCE, 0, [0; 5]);
        return true;
    }
    let sent = nic.send_frame(n, |buf| {
        let m = n.min(buf.len());
        buf[..m].copy_from_slice(&frame[..m]);
    });
    if !sent {
        return false;
    }
    h.send.pop();
    h.sent += 1;
    c.answer(tag, Status::OK, n as u32, [0; 5]);
    true
}
