//! The client library against a stand-in server on another thread over
//! host memory laid out as a client range: multi-piece transfers, answers
//! out of order, statuses passed back, flush, info, close.

use blkclient::{Blk, Error};
use blkproto::{
    pattern, status, Checked, Op, DATA_LEN, DATA_OFFSET, RANGE_SIZE, RING_SLOTS, SECTOR,
};
use ring::{Region, Response, Server, SharedBuf, Status};

const DISK_SECTORS: u64 = 8192;

#[repr(C, align(4096))]
#[derive(Clone, Copy)]
struct Page([u8; 4096]);

/// The stand-in server: answers each batch it drains in reverse order.
fn serve(base: usize) -> Vec<u8> {
    let base = base as *mut u8;
    // Safety: the test's range memory outlives both threads; the ring pair
    // and the data buffer are reached only atomically here.
    let (region, buf) = unsafe {
        (
            Region::from_raw(base, blkproto::REGION_LEN, RING_SLOTS).unwrap(),
            SharedBuf::from_raw(base.add(DATA_OFFSET as usize), DATA_LEN),
        )
    };
    let mut server: Server<'_, Op> = Server::new(region, DATA_LEN);
    let mut disk = vec![0u8; DISK_SECTORS as usize * SECTOR];
    let mut closed = false;
    while !closed {
        let mut answers = Vec::new();
        server.drain(RING_SLOTS, |r| {
            let Ok(req) = r else { return };
            let answer = |status, len| Response {
                status,
                len,
                tag: req.tag,
                values: [DISK_SECTORS, 65536, 0, 0, 0],
            };
            answers.push(match blkproto::validate(&req, DISK_SECTORS, false) {
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
    assert_eq!(blk.read(0, &mut one[..100]), Err(Error::NotSectors));
    // More pieces than the ring has slots: several batches.
    let mut big = vec![0u8; (RING_SLOTS + 4) * blkproto::MAX_TRANSFER + 8 * SECTOR];
    pattern::fill(0, &mut big);
    blk.write(0, &big).unwrap();
    big.fill(0);
    blk.read(0, &mut big).unwrap();
    assert_eq!(pattern::mismatch(0, &big), None);
    blk.close().unwrap();

    let disk = server.join().unwrap();
    assert_eq!(pattern::mismatch(0, &disk[..big.len()]), None);
}
