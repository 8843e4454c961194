//! A hostile client of the network service in its raw-frame configuration
//! (images/net-echo-raw.toml runs it beside the echo tasks, which run their
//! own stacks). It sends requests the server must refuse and checks each
//! status: a frame whose source address is another client's, or no
//! client's (`BAD_SOURCE`); windows outside its buffer, or overflowing
//! (`ring`'s `OUT_OF_BOUNDS`); frames shorter than an Ethernet header or
//! longer than the MTU, a receive buffer too small for a frame
//! (`BAD_LENGTH`); reserved arguments (`BAD_ARGUMENT`); the socket
//! protocol's opcodes (`UNKNOWN_OPCODE`). Then it posts receive buffers,
//! prints one line and faults on purpose without `Done`: the server must
//! drop what a client that died held (the kernel's exit signal). The echo
//! traffic starts after its line.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use conn::client::Conn;
use net_api::frames::{self, FrameOp, BAD_SOURCE, MTU};
use net_api::{status, DATA_LEN};
use ring::{Request, Status};

ulib::entry!(main);

fn main(_start: ulib::Start) -> i32 {
    // Safety: the only connection of this task.
    let mut conn = match unsafe { net_api::client::attach_conn() } {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("framehostile: cannot attach: {:?}", e);
            return 1;
        }
    };
    if conn.mode() != net_api::MODE_FRAMES {
        ulib::println!("framehostile: FAIL the server does not pass raw frames");
        return 2;
    }
    if let Err(what) = hostile(&mut conn) {
        ulib::println!("framehostile: FAIL {}", what);
        return 3;
    }
    // Receive buffers posted, never answered: it dies holding them.
    for k in 0..4u64 {
        let r = conn.send_raw(&req(FrameOp::Receive as u32, k * 2048, 2048, [0; 4]));
        if r.is_err() {
            ulib::println!("framehostile: FAIL cannot post receive buffers: {:?}", r);
            return 4;
        }
    }
    ulib::println!(
        "framehostile: every malformed frame request refused; dying with receive buffers posted"
    );
    ulib::fault_on_purpose();
    5
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
fn expect(conn: &mut Conn, what: &str, r: Request, want: Status) -> Result<(), &'static str> {
    match conn.call(&r) {
        Ok(resp) if resp.status == want => Ok(()),
        Ok(resp) => {
            ulib::println!(
                "framehostile: {}: status {:#x}, expected {:#x}",
                what,
                resp.status.0,
                want.0
            );
            Err("a request got the wrong status")
        }
        Err(e) => {
            ulib::println!("framehostile: {}: {:?}", what, e);
            Err("a request failed")
        }
    }
}

/// Writes a frame from `src` into the buffer at `at` (its first 64 bytes).
fn frame(conn: &Conn, at: usize, src: [u8; 6]) {
    let mut f = [0u8; 64];
    f[..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental
                                                         // Safety: `at + 64` lies inside the data buffer, which no request
                                                         // outstanding names (one request at a time here).
    unsafe { core::ptr::copy_nonoverlapping(f.as_ptr(), conn.data().add(at), f.len()) };
}

fn hostile(conn: &mut Conn) -> Result<(), &'static str> {
    let send = FrameOp::Send as u32;
    let info = conn.call(&req(FrameOp::Info as u32, 0, 0, [0; 4]));
    let Ok(info) = info.map_err(|_| "Info failed") else {
        return Err("Info failed");
    };
    if info.status != Status::OK || info.values[4] != MTU as u64 {
        return Err("Info refused");
    }
    let own = frames::mac_of(info.values[0]);
    let mut other = own;
    other[5] = other[5].wrapping_sub(2); // client 0's: the card's own
    frame(conn, 0, other);
    expect(
        conn,
        "another client's source",
        req(send, 0, 64, [0; 4]),
        BAD_SOURCE,
    )?;
    frame(conn, 0, [0x02, 0, 0, 0, 0, 1]);
    expect(
        conn,
        "no client's source",
        req(send, 0, 64, [0; 4]),
        BAD_SOURCE,
    )?;
    let end = DATA_LEN as u64;
    let oob = Status::OUT_OF_BOUNDS;
    expect(
        conn,
        "window past the buffer",
        req(send, end - 10, 64, [0; 4]),
        oob,
    )?;
    expect(
        conn,
        "window at the buffer's end",
        req(send, end, 64, [0; 4]),
        oob,
    )?;
    expect(
        conn,
        "overflowing window",
        req(send, u64::MAX - 8, 64, [0; 4]),
        oob,
    )?;
    let recv = FrameOp::Receive as u32;
    expect(
        conn,
        "receive past the buffer",
        req(recv, end - 100, 2048, [0; 4]),
        oob,
    )?;
    let bad_len = status::BAD_LENGTH;
    frame(conn, 0, own);
    expect(conn, "runt frame", req(send, 0, 13, [0; 4]), bad_len)?;
    expect(
        conn,
        "frame past the MTU",
        req(send, 0, MTU as u32 + 1, [0; 4]),
        bad_len,
    )?;
    expect(
        conn,
        "receive buffer too small",
        req(recv, 0, 100, [0; 4]),
        bad_len,
    )?;
    expect(
        conn,
        "Info with a window",
        req(FrameOp::Info as u32, 0, 8, [0; 4]),
        bad_len,
    )?;
    let bad_arg = status::BAD_ARGUMENT;
    expect(
        conn,
        "reserved argument",
        req(send, 0, 64, [0, 0, 0, 1]),
        bad_arg,
    )?;
    let unknown = Status::UNKNOWN_OPCODE;
    expect(
        conn,
        "socket protocol's UdpBind",
        req(1, 0, 0, [7, 0, 0, 0]),
        unknown,
    )?;
    expect(conn, "unknown opcode", req(0xffff, 0, 0, [0; 4]), unknown)?;
    Ok(())
}
