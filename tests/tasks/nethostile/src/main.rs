//! A hostile client of the network service (images/net-echo.toml runs it
//! beside the echo tasks). It sends requests the server must refuse and
//! checks each status: unknown opcodes and windows outside its buffer
//! (`ring`'s checks), bad lengths, ports and reserved arguments
//! (`net_api::validate`), handles of sockets it does not hold (every slot
//! of every kind, with several generations: other clients' sockets among
//! them), a handle of a socket it closed, a port bound twice, and more
//! TCP sockets than its share of the pool. Then it takes 8 sockets, prints
//! one line and faults on purpose without `Done`: the server must reset
//! the sockets of a client that died (the kernel's exit signal). The echo
//! traffic starts after its line.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use net_api::client::{Error, Net};
use net_api::{status, Endpoint, Op, DATA_LEN, MAX_DATAGRAM};
use ring::{Request, Status};

ulib::entry!(main);

fn main(_start: ulib::Start) -> i32 {
    // Safety: the only `Net` of this task.
    let mut net = match unsafe { Net::attach() } {
        Ok(n) => n,
        Err(e) => {
            ulib::println!("nethostile: cannot attach: {:?}", e);
            return 1;
        }
    };
    if let Err(what) = hostile(&mut net) {
        ulib::println!("nethostile: {}", what);
        return 2;
    }
    // Then it dies holding sockets, without `Done`: the server learns of
    // its end from the kernel's exit signal and must reset them all.
    let held = net
        .udp_bind(9000)
        .and_then(|_| net.tcp_listen(9001, 4))
        .and_then(|_| net.tcp_listen(9002, 3));
    if held.is_err() {
        ulib::println!("nethostile: cannot take sockets before dying: {:?}", held);
        return 3;
    }
    ulib::println!("nethostile: every malformed request refused; dying with 8 sockets held");
    ulib::fault_on_purpose();
    4
}

fn req(opcode: u32, offset: u64, len: u32, args: [u64; 4]) -> Request {
    Request {
        opcode,
        len,
        tag: 0xbad,
        offset,
        args,
    }
}

/// Sends `r` and checks that it is answered with `want`.
fn refused(
    net: &mut Net,
    what: &'static str,
    r: Request,
    want: Status,
) -> Result<(), &'static str> {
    match net.call(&r) {
        Ok(resp) if resp.status == want => Ok(()),
        Ok(resp) => {
            ulib::println!(
                "nethostile: {}: status {:#x}, not {:#x}",
                what,
                resp.status.0,
                want.0
            );
            Err("a request got the wrong answer")
        }
        Err(e) => {
            ulib::println!("nethostile: {}: {:?}", what, e);
            Err("a request failed")
        }
    }
}

fn hostile(net: &mut Net) -> Result<(), &'static str> {
    let len = DATA_LEN as u64;
    let udp_send = Op::UdpSend as u32;
    let to = Endpoint {
        addr: [10, 0, 2, 2],
        port: 9,
    };
    let checks = [
        ("opcode 0", req(0, 0, 0, [0; 4]), Status::UNKNOWN_OPCODE),
        ("opcode 99", req(99, 0, 0, [0; 4]), Status::UNKNOWN_OPCODE),
        (
            "window past the buffer",
            req(udp_send, len, 1, [1, to.addr_word(), 9, 0]),
            Status::OUT_OF_BOUNDS,
        ),
        (
            "window offset overflowing",
            req(udp_send, u64::MAX, 8, [1, 1, 9, 0]),
            Status::OUT_OF_BOUNDS,
        ),
        (
            "bind port 0",
            req(Op::UdpBind as u32, 0, 0, [0; 4]),
            status::BAD_ARGUMENT,
        ),
        (
            "bind port 65536",
            req(Op::UdpBind as u32, 0, 0, [65536, 0, 0, 0]),
            status::BAD_ARGUMENT,
        ),
        (
            "bind with a window",
            req(Op::UdpBind as u32, 0, 8, [9000, 0, 0, 0]),
            status::BAD_LENGTH,
        ),
        (
            "datagram too long",
            req(
                udp_send,
                0,
                MAX_DATAGRAM as u32 + 1,
                [1, to.addr_word(), 9, 0],
            ),
            status::BAD_LENGTH,
        ),
        (
            "listen backlog 9",
            req(Op::TcpListen as u32, 0, 0, [9001, 9, 0, 0]),
            status::BAD_ARGUMENT,
        ),
        (
            "reserved argument",
            req(Op::Done as u32, 0, 0, [0, 0, 0, 1]),
            status::BAD_ARGUMENT,
        ),
        (
            "connect to address 0",
            req(Op::TcpConnect as u32, 0, 0, [0, 80, 0, 0]),
            status::BAD_ARGUMENT,
        ),
        (
            "connect to port 0",
            req(Op::TcpConnect as u32, 0, 0, [to.addr_word(), 0, 0, 0]),
            status::BAD_ARGUMENT,
        ),
        (
            "connect with a reserved argument",
            req(Op::TcpConnect as u32, 0, 0, [to.addr_word(), 80, 1, 0]),
            status::BAD_ARGUMENT,
        ),
        (
            "connect with a window",
            req(Op::TcpConnect as u32, 0, 8, [to.addr_word(), 80, 0, 0]),
            status::BAD_LENGTH,
        ),
        (
            "empty receive",
            req(Op::TcpRecv as u32, 0, 0, [1, 0, 0, 0]),
            status::BAD_LENGTH,
        ),
    ];
    for (what, r, want) in checks {
        refused(net, what, r, want)?;
    }
    // Handles this client does not hold: every slot of every kind, a few
    // generations (the echo tasks' sockets are among them).
    for kind in 0..5u64 {
        for index in 0..17u64 {
            for gen in 0..4u64 {
                let h = gen << 16 | kind << 12 | index;
                refused(
                    net,
                    "close of a socket not held",
                    req(Op::Close as u32, 0, 0, [h, 0, 0, 0]),
                    status::BAD_HANDLE,
                )?;
                refused(
                    net,
                    "send on a socket not held",
                    req(Op::TcpSend as u32, 0, 8, [h, 0, 0, 0]),
                    status::BAD_HANDLE,
                )?;
                refused(
                    net,
                    "receive on a socket not held",
                    req(Op::UdpRecv as u32, 0, 8, [h, 0, 0, 0]),
                    status::BAD_HANDLE,
                )?;
            }
        }
    }
    refused(
        net,
        "a handle above 32 bits",
        req(Op::Close as u32, 0, 0, [1 << 40, 0, 0, 0]),
        status::BAD_HANDLE,
    )?;
    // A socket it closed, a port bound twice.
    let s = net.udp_bind(9000).map_err(|_| "bind 9000 failed")?;
    let twice = net.udp_bind(9000);
    if twice != Err(Error::Status(status::IN_USE)) {
        return Err("a port bound twice was not refused IN_USE");
    }
    net.close(s).map_err(|_| "close failed")?;
    refused(
        net,
        "close of a closed socket",
        req(Op::Close as u32, 0, 0, [s.0, 0, 0, 0]),
        status::BAD_HANDLE,
    )?;
    let stale = req(udp_send, 0, 8, [s.0, to.addr_word(), 9, 0]);
    refused(net, "send on a closed socket", stale, status::BAD_HANDLE)?;
    // More TCP sockets than its share: two full backlogs take all 8.
    let a = net.tcp_listen(9001, 4).map_err(|_| "listen 9001 failed")?;
    let b = net.tcp_listen(9002, 4).map_err(|_| "listen 9002 failed")?;
    if net.tcp_listen(9003, 1) != Err(Error::Status(status::NO_SOCKETS)) {
        return Err("a ninth socket was not refused NO_SOCKETS");
    }
    if net.tcp_connect(to) != Err(Error::Status(status::NO_SOCKETS)) {
        return Err("a ninth socket (a connect) was not refused NO_SOCKETS");
    }
    if net.tcp_listen(9001, 1) != Err(Error::Status(status::IN_USE)) {
        return Err("a port listened on twice was not refused IN_USE");
    }
    net.close(a)
        .and_then(|()| net.close(b))
        .map_err(|_| "closing the listeners failed")?;
    Ok(())
}
