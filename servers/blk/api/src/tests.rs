//! Host tests: every validation rule, the pattern.

extern crate std;

use super::*;

const CAP: u64 = 2048;

fn req(opcode: Op, offset: u64, len: u32, args: [u64; 4]) -> Result<Checked, Status> {
    let buf = BufRange::check(offset, len, DATA_LEN).expect("window inside the buffer");
    let r = Incoming {
        opcode,
        tag: 7,
        buf,
        args,
    };
    validate(&r, CAP, false)
}

#[test]
fn good_requests_pass() {
    let buf = BufRange::check(512, 1024, DATA_LEN).unwrap();
    assert_eq!(
        req(Op::Read, 512, 1024, [3, 0, 0, 0]),
        Ok(Checked::Read { sector: 3, buf })
    );
    assert_eq!(
        req(Op::Write, 512, 1024, [CAP - 2, 0, 0, 0]),
        Ok(Checked::Write {
            sector: CAP - 2,
            buf
        })
    );
    let max = MAX_TRANSFER as u32;
    assert!(req(Op::Read, 0, max, [0; 4]).is_ok());
    assert_eq!(req(Op::Flush, 0, 0, [0; 4]), Ok(Checked::Flush));
    assert_eq!(req(Op::Info, 0, 0, [0; 4]), Ok(Checked::Info));
    assert_eq!(req(Op::Close, 0, 0, [0; 4]), Ok(Checked::Close));
}

#[test]
fn lengths() {
    for len in [0u32, 1, 511, 513, (MAX_TRANSFER + 512) as u32] {
        assert_eq!(
            req(Op::Read, 0, len, [0; 4]),
            Err(status::BAD_LENGTH),
            "{len}"
        );
        assert_eq!(req(Op::Write, 0, len, [0; 4]), Err(status::BAD_LENGTH));
    }
    assert_eq!(req(Op::Flush, 0, 512, [0; 4]), Err(status::BAD_LENGTH));
    assert_eq!(req(Op::Info, 0, 8, [0; 4]), Err(status::BAD_LENGTH));
}

#[test]
fn sectors_checked_against_the_disk_without_overflow() {
    assert_eq!(
        req(Op::Read, 0, 1024, [CAP - 1, 0, 0, 0]),
        Err(status::BAD_SECTOR)
    );
    assert_eq!(
        req(Op::Write, 0, 512, [CAP, 0, 0, 0]),
        Err(status::BAD_SECTOR)
    );
    assert_eq!(
        req(Op::Read, 0, 1024, [u64::MAX, 0, 0, 0]),
        Err(status::BAD_SECTOR)
    );
    assert_eq!(
        req(Op::Read, 0, 512, [u64::MAX - 1, 0, 0, 0]),
        Err(status::BAD_SECTOR)
    );
}

#[test]
fn alignment_and_reserved_arguments() {
    assert_eq!(req(Op::Read, 4, 512, [0; 4]), Err(status::MISALIGNED));
    assert!(req(Op::Read, 8, 512, [0; 4]).is_ok());
    for k in 1..4 {
        let mut args = [0; 4];
        args[k] = 1;
        assert_eq!(req(Op::Read, 0, 512, args), Err(status::BAD_ARGUMENT));
    }
    assert_eq!(
        req(Op::Flush, 0, 0, [1, 0, 0, 0]),
        Err(status::BAD_ARGUMENT)
    );
}

#[test]
fn read_only_disks_refuse_writes() {
    let buf = BufRange::check(0, 512, DATA_LEN).unwrap();
    let r = |opcode| Incoming {
        opcode,
        tag: 0,
        buf,
        args: [0; 4],
    };
    assert_eq!(validate(&r(Op::Write), CAP, true), Err(status::READ_ONLY));
    assert!(validate(&r(Op::Read), CAP, true).is_ok());
}

#[test]
fn opcodes_round_trip() {
    for op in [Op::Read, Op::Write, Op::Flush, Op::Info, Op::Close] {
        assert_eq!(Op::try_from(op as u32), Ok(op));
    }
    assert!(Op::try_from(0).is_err());
    assert!(Op::try_from(6).is_err());
}

#[test]
fn layout_fits_the_range() {
    assert!(REGION_OFFSET as usize + REGION_LEN <= DATA_OFFSET as usize);
    assert_eq!(DATA_OFFSET as usize + DATA_LEN, RANGE_SIZE as usize);
    assert_eq!(client_base(1) - client_base(0), RANGE_SIZE);
    assert_eq!(CLIENT_BASE % RANGE_SIZE, 0);
}

#[test]
fn pattern_catches_misplaced_sectors() {
    let mut buf = [0u8; 3 * SECTOR];
    pattern::fill(10, &mut buf);
    assert_eq!(pattern::mismatch(10, &buf), None);
    assert!(pattern::mismatch(11, &buf).is_some());
    buf[SECTOR + 5] ^= 1;
    assert_eq!(pattern::mismatch(10, &buf), Some((11, 5, buf[SECTOR + 5])));
    let zero = [0u8; SECTOR];
    assert!(
        pattern::mismatch(0, &zero).is_some(),
        "zero is not the pattern"
    );
}
