//! The client library against a stand-in server on another thread over
//! host memory laid out as a client range: multi-piece transfers, answers
//! out of order, statuses passed back, flush, info, close; connecting
//! (hello/welcome), and a server restart (a new epoch) failing the
//! outstanding requests with `Restarted`.

use blk_api::client::{Blk, Error};
use blk_api::{
    pattern, status, Checked, Ctrl, Op, DATA_LEN, DATA_OFFSET, RANGE_SIZE, REGION_OFFSET,
    RING_SLOTS, SECTOR,
};
use ring::{Region, Request, Response, Server, SharedBuf, Status};
use std::sync::atomic::Ordering::{Acquire, Release};

const DISK_SECTORS: u64 = 8192;

#[repr(C, align(4096))]
#[derive(Clone, Copy)]
struct Page([u8; 4096]);

/// The stand-in server: answers each batch it drains in reverse order.
fn serve(base: usize) -> Vec<u8> {
    let base = base as *mut u8;
    // Safety: the test's range memory outlives both threads; the ring pair
    // and the data buffer are reached only atomically here.
    let (ctrl, region, buf) = unsafe {
        (
            &*(base as *const Ctrl),
            Region::from_raw(
                base.add(REGION_OFFSET as usize),
                blk_api::REGION_LEN,
                RING_SLOTS,
            )
            .unwrap(),
            SharedBuf::from_raw(base.add(DATA_OFFSET as usize), DATA_LEN),
        )
    };
    ctrl.epoch.fetch_add(1, Release);
    let mut server: Server<'_, Op> = Server::new(region, DATA_LEN);
    let mut disk = vec![0u8; DISK_SECTORS as usize * SECTOR];
    let mut closed = false;
    let mut welcomed = 0;
    while !closed {
        let hello = ctrl.hello.load(Acquire);
        if hello != welcomed {
            region.clear();
            server = Server::new(region, DATA_LEN);
            welcomed = hello;
            ctrl.welcome.store(hello, Release);
        }
        let mut answers = Vec::new();
        server.drain(RING_SLOTS, |r| {
            let Ok(req) = r else { return };
            let answer = |status, len| Response {
                status,
                len,
                tag: req.tag,
                values: [DISK_SECTORS, 65536, 0, 0, 0],
            };
            answers.push(match blk_api::validate(&req, DISK_SECTORS, false) {
                Err(st) => answer(st, 0),
                Ok(Checked::Read { sector, buf: w }) => {
                    let at = sector as usize * SECTOR;
                    buf.copy_in(w, &disk[at..at + w.len()]).unwrap();
                    answer(Status::OK, w.len() as u32)
                }
                Ok(Checked::Write { sector, buf: w }) => {
                    let at = sector as usize * SECTOR;
                    buf.copy_out(w, &mut disk[at..at + w.len()]).unwrap();
                    answer(Status::OK, w.len() as u32)
                }
                Ok(Checked::Close) => {
                    closed = true;
                    answer(Status::OK, 0)
                }
                Ok(_) => answer(Status::OK, 0),
            });
        });
        for a in answers.iter().rev() {
            server.respond(a).unwrap();
        }
        std::thread::yield_now();
    }
    disk
}

#[test]
fn transfers_round_trip_through_the_ring() {
    // Leaked: the server thread may outlive a failing client.
    let range = vec![Page([0; 4096]); (RANGE_SIZE / 4096) as usize].leak();
    let base = range.as_mut_ptr() as usize;
    let server = std::thread::spawn(move || serve(base));
    // Safety: `range` is 2 MiB, page-aligned, zero, and never freed; only
    // the server thread shares it.
    let mut blk = unsafe { Blk::at(base as *mut u8) }.unwrap();
    let info = blk.info().unwrap();
    assert_eq!(
        (info.sectors, info.max_transfer, info.read_only),
        (DISK_SECTORS, 65536, false)
    );

    // 300 sectors: three pieces in flight, answered out of order.
    let mut data = vec![0u8; 300 * SECTOR];
    pattern::fill(100, &mut data);
    blk.write(100, &data).unwrap();
    blk.flush().unwrap();
    let mut back = vec![0u8; 300 * SECTOR];
    blk.read(100, &mut back).unwrap();
    assert_eq!(pattern::mismatch(100, &back), None);

    // Errors come back as statuses, and the ring stays usable.
    let mut one = vec![0u8; SECTOR];
    assert_eq!(
        blk.read(DISK_SECTORS, &mut one),
        Err(Error::Status(status::BAD_SECTOR))
    );
    assert_eq!(blk.read(0, &mut one[..100]), Err(Error::BadLength));
    // More pieces than the ring has slots: several batches.
    let mut big = vec![0u8; (RING_SLOTS + 4) * blk_api::MAX_TRANSFER + 8 * SECTOR];
    pattern::fill(0, &mut big);
    blk.write(0, &big).unwrap();
    big.fill(0);
    blk.read(0, &mut big).unwrap();
    assert_eq!(pattern::mismatch(0, &big), None);
    blk.close().unwrap();

    let disk = server.join().unwrap();
    assert_eq!(pattern::mismatch(0, &disk[..big.len()]), None);
}

/// A stand-in server that welcomes the client, takes its requests without
/// answering them, then "restarts": a new epoch, and it welcomes the
/// client's new `hello` and answers from then on.
fn restarting_server(base: usize) {
    let base = base as *mut u8;
    // Safety: as in `serve`.
    let (ctrl, region) = unsafe {
        (
            &*(base as *const Ctrl),
            Region::from_raw(
                base.add(REGION_OFFSET as usize),
                blk_api::REGION_LEN,
                RING_SLOTS,
            )
            .unwrap(),
        )
    };
    ctrl.epoch.store(1, Release);
    let mut welcomed = 0;
    let mut server: Server<'_, Op> = Server::new(region, DATA_LEN);
    let mut taken = 0;
    let mut instance = 1;
    loop {
        let hello = ctrl.hello.load(Acquire);
        if hello != welcomed {
            region.clear();
            server = Server::new(region, DATA_LEN);
            welcomed = hello;
            ctrl.welcome.store(hello, Release);
        }
        while let Ok(Some(req)) = server.poll() {
            if instance == 1 {
                taken += 1;
                continue;
            }
            let close = req.opcode == Op::Close;
            server
                .respond(&Response {
                    status: Status::OK,
                    len: 0,
                    tag: req.tag,
                    values: [DISK_SECTORS, 65536, 0, 0, 0],
                })
                .unwrap();
            if close {
                return;
            }
        }
        if instance == 1 && taken == 3 {
            // The crash: nothing answered; the new instance's epoch.
            instance = 2;
            ctrl.epoch.store(2, Release);
        }
        std::thread::yield_now();
    }
}

#[test]
fn a_server_restart_fails_outstanding_requests_and_reconnects() {
    let range = vec![Page([0; 4096]); (RANGE_SIZE / 4096) as usize].leak();
    let base = range.as_mut_ptr() as usize;
    let server = std::thread::spawn(move || restarting_server(base));
    // Safety: as in the test above.
    let mut blk = unsafe { Blk::at(base as *mut u8) }.unwrap();
    // Three pieces in flight; the server takes them and restarts.
    let mut data = vec![0u8; 300 * SECTOR];
    assert_eq!(blk.read(0, &mut data), Err(Error::Restarted));
    // Connected to the new instance already.
    assert!(blk.is_connected());
    let info = blk.info().unwrap();
    assert_eq!(info.sectors, DISK_SECTORS);
    blk.close().unwrap();
    server.join().unwrap();
}

#[test]
fn a_withdrawn_welcome_is_an_error_not_a_hang() {
    let range = vec![Page([0; 4096]); (RANGE_SIZE / 4096) as usize].leak();
    let base = range.as_mut_ptr() as usize;
    // Safety: `range` is leaked (lives for the program), page-aligned and
    // starts with the control words, which are atomics: shared references
    // from both threads are fine.
    let ctrl = unsafe { &*(base as *const Ctrl) };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    // A server that welcomes every hello, answers nothing, and disconnects
    // the client once it has sent a request.
    let server = std::thread::spawn(move || {
        // Safety: as for `ctrl` above.
        let ctrl = unsafe { &*(base as *const Ctrl) };
        let mut welcomed = 0;
        while !s2.load(Acquire) {
            let hello = ctrl.hello.load(Acquire);
            if hello != welcomed {
                welcomed = hello;
                ctrl.welcome.store(hello, Release);
            }
            std::thread::yield_now();
        }
    });
    // Safety: as in the test above.
    let mut blk = unsafe { Blk::at(base as *mut u8) }.unwrap();
    let req = Request {
        opcode: Op::Info as u32,
        len: 0,
        tag: 7,
        offset: 0,
        args: [0; 4],
    };
    blk.send_raw(&req).unwrap();
    ctrl.welcome.store(0, Release);
    stop.store(true, Release);
    server.join().unwrap();
    assert_eq!(blk.receive(), Err(Error::Disconnected));
    assert!(!blk.is_connected());
}
