//! Host tests: every validation rule.

extern crate std;

use super::*;

fn req(opcode: Op, offset: u64, len: u32, args: [u64; 4]) -> Result<Checked, Status> {
    let buf = BufRange::check(offset, len, DATA_LEN).expect("window inside the buffer");
    validate(&Incoming {
        opcode,
        tag: 7,
        buf,
        args,
    })
}

#[test]
fn good_requests_pass() {
    assert_eq!(
        req(Op::UdpBind, 0, 0, [7, 0, 0, 0]),
        Ok(Checked::UdpBind { port: 7 })
    );
    let buf = BufRange::check(16, 100, DATA_LEN).unwrap();
    let to = Endpoint {
        addr: [10, 0, 2, 2],
        port: 5555,
    };
    assert_eq!(
        req(Op::UdpSend, 16, 100, [3, to.addr_word(), 5555, 0]),
        Ok(Checked::UdpSend {
            socket: Handle(3),
            to,
            buf
        })
    );
    assert_eq!(
        req(Op::TcpListen, 0, 0, [80, MAX_BACKLOG, 0, 0]),
        Ok(Checked::TcpListen {
            port: 80,
            backlog: MAX_BACKLOG as usize,
            shared: false
        })
    );
    assert_eq!(
        req(Op::TcpListen, 0, 0, [80, 1, 1, 0]),
        Ok(Checked::TcpListen {
            port: 80,
            backlog: 1,
            shared: true
        })
    );
    assert!(req(Op::TcpRecv, 0, MAX_STREAM_CHUNK as u32, [1, 0, 0, 0]).is_ok());
    assert!(req(Op::UdpRecv, 0, DATA_LEN as u32, [1, 0, 0, 0]).is_ok());
    assert_eq!(req(Op::Done, 0, 0, [0; 4]), Ok(Checked::Done));
}

#[test]
fn lengths_are_bounded() {
    let l = status::BAD_LENGTH;
    assert_eq!(req(Op::UdpBind, 0, 1, [7, 0, 0, 0]), Err(l));
    assert_eq!(req(Op::UdpSend, 0, 0, [1, 1, 1, 0]), Err(l));
    let big = MAX_DATAGRAM as u32 + 1;
    assert_eq!(req(Op::UdpSend, 0, big, [1, 1, 1, 0]), Err(l));
    assert_eq!(req(Op::UdpRecv, 0, 0, [1, 0, 0, 0]), Err(l));
    let chunk = MAX_STREAM_CHUNK as u32 + 1;
    assert_eq!(req(Op::TcpSend, 0, chunk, [1, 0, 0, 0]), Err(l));
    assert_eq!(req(Op::TcpRecv, 0, 0, [1, 0, 0, 0]), Err(l));
    assert_eq!(req(Op::Close, 0, 8, [1, 0, 0, 0]), Err(l));
    assert_eq!(req(Op::Done, 0, 8, [0; 4]), Err(l));
}

#[test]
fn arguments_are_checked() {
    let a = status::BAD_ARGUMENT;
    assert_eq!(req(Op::UdpBind, 0, 0, [0, 0, 0, 0]), Err(a));
    assert_eq!(req(Op::UdpBind, 0, 0, [65536, 0, 0, 0]), Err(a));
    assert_eq!(req(Op::UdpBind, 0, 0, [7, 1, 0, 0]), Err(a));
    assert_eq!(req(Op::UdpSend, 0, 1, [1, 1 << 32, 7, 0]), Err(a));
    assert_eq!(req(Op::UdpSend, 0, 1, [1, 0, 7, 0]), Err(a));
    assert_eq!(req(Op::UdpSend, 0, 1, [1, 1, 0, 0]), Err(a));
    assert_eq!(req(Op::UdpSend, 0, 1, [1, 1, 1, 9]), Err(a));
    assert_eq!(req(Op::TcpListen, 0, 0, [80, 0, 0, 0]), Err(a));
    assert_eq!(
        req(Op::TcpListen, 0, 0, [80, MAX_BACKLOG + 1, 0, 0]),
        Err(a)
    );
    assert_eq!(req(Op::TcpListen, 0, 0, [80, 1, 2, 0]), Err(a));
    assert_eq!(req(Op::TcpListen, 0, 0, [80, 1, 1, 1]), Err(a));
    assert_eq!(req(Op::TcpAccept, 0, 0, [1, 1, 0, 0]), Err(a));
    assert_eq!(req(Op::Done, 0, 0, [1, 0, 0, 0]), Err(a));
    assert_eq!(req(Op::Done, 0, 0, [0, 0, 0, 1]), Err(a));
    // Connect: an address and a port, neither 0, nothing else.
    assert_eq!(req(Op::TcpConnect, 0, 0, [0, 80, 0, 0]), Err(a));
    assert_eq!(req(Op::TcpConnect, 0, 0, [1, 0, 0, 0]), Err(a));
    assert_eq!(req(Op::TcpConnect, 0, 0, [1 << 32, 80, 0, 0]), Err(a));
    assert_eq!(req(Op::TcpConnect, 0, 0, [1, 65536, 0, 0]), Err(a));
    assert_eq!(req(Op::TcpConnect, 0, 0, [1, 80, 1, 0]), Err(a));
    assert_eq!(
        req(Op::TcpConnect, 0, 1, [1, 80, 0, 0]),
        Err(status::BAD_LENGTH)
    );
    let to = Endpoint {
        addr: [10, 0, 2, 15],
        port: 80,
    };
    assert_eq!(
        req(Op::TcpConnect, 0, 0, [to.addr_word(), 80, 0, 0]),
        Ok(Checked::TcpConnect { to })
    );
}

#[test]
fn opcodes_round_trip() {
    for v in 1..=10u32 {
        assert_eq!(Op::try_from(v).map(|o| o as u32), Ok(v));
    }
    assert!(Op::try_from(0).is_err());
    assert!(Op::try_from(11).is_err());
}
