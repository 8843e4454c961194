//! The self-test's helpers, and the chainloader's protocol library (the
//! code the loader runs, tested here on the host because the loader crate
//! is not a host test crate).

use chainload::{
    crc32, parse_reply, Config, Event, Header, Limits, Nak, Receiver, Reply, CONFIG_OFFSET,
    LOAD_ADDR, MAX_IMAGE,
};

use super::*;

#[test]
fn qemu_pty_lines_parse() {
    assert_eq!(
        pty_line("char device redirected to /dev/pts/3 (label serial0)"),
        Some((PathBuf::from("/dev/pts/3"), "serial0".to_string()))
    );
    assert_eq!(pty_line("qemu-system-aarch64: warning: bcm2711 dtc"), None);
}

#[test]
fn misframing_at_the_same_speed_is_the_identity() {
    let text = b"KML:READY\r\n\x00\xffA";
    assert_eq!(misframe(text, 115_200, 115_200), text);
}

#[test]
fn crc32_is_the_zlib_one() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn header_round_trip_and_its_own_checksum() {
    let h = Header::for_payload(b"hello kernel");
    let bytes = h.encode();
    assert_eq!(&bytes[..4], b"KMLI");
    assert_eq!(Header::decode(&bytes), Ok(h));
    for i in 0..16 {
        let mut bad = bytes;
        bad[i] ^= 0x10;
        assert_eq!(Header::decode(&bad), Err(Nak::BadHeader), "byte {i}");
    }
}

#[test]
fn replies_parse_as_the_loader_writes_them() {
    let mut s = String::new();
    chainload::write_go(&mut s, 1234).unwrap();
    chainload::write_ok(&mut s, 0xdead_beef).unwrap();
    chainload::write_nak(&mut s, &Nak::BadCrc { got: 1, want: 2 }).unwrap();
    chainload::write_ready(&mut s).unwrap();
    let replies: Vec<Reply<'_>> = s.lines().filter_map(parse_reply).collect();
    assert_eq!(
        replies,
        [
            Reply::Go(1234),
            Reply::Ok(0xdead_beef),
            Reply::Nak("bad-crc got 0x00000001 want 0x00000002"),
            Reply::Ready
        ]
    );
    assert_eq!(parse_reply("\u{fffd}\u{0}KML:READY"), Some(Reply::Ready));
    assert!(matches!(
        parse_reply("kml-chainloader v1: EL2"),
        Some(Reply::Banner(_))
    ));
    assert_eq!(parse_reply("core 0 online"), None);
}

#[test]
fn the_config_block_is_patched_in_place() {
    let mut image = vec![0u8; 0x100];
    assert!(Config::write(
        &Config {
            baud: 1,
            clock_hz: 2
        },
        &mut image
    )
    .is_err());
    image[CONFIG_OFFSET..CONFIG_OFFSET + 8].copy_from_slice(b"KMLCFG01");
    let c = Config {
        baud: 921_600,
        clock_hz: 48_000_000,
    };
    c.write(&mut image).expect("has a block");
    assert_eq!(Config::read(&image), Some(c));
}

/// Feeds `bytes`; returns the events that are not `Nothing`/`Store`.
fn feed(rx: &mut Receiver, bytes: &[u8]) -> Vec<Event> {
    bytes
        .iter()
        .map(|&b| rx.feed(b))
        .filter(|e| !matches!(e, Event::Nothing | Event::Store(_)))
        .collect()
}

#[test]
fn the_receiver_finds_the_header_in_noise_and_checks_the_payload() {
    let payload = b"a kernel".to_vec();
    let h = Header::for_payload(&payload);
    let mut rx = Receiver::new(Limits::new(None));
    let mut wire = b"KML\x00noiseKMLJ".to_vec();
    wire.extend_from_slice(&h.encode());
    assert_eq!(feed(&mut rx, &wire), [Event::Go(h)]);
    assert!(rx.busy());
    assert_eq!(feed(&mut rx, &payload), [Event::Last(7, Ok(h.crc))]);
    assert!(!rx.busy());

    // Same again with one flipped byte: bad-crc, and ready for a retry.
    feed(&mut rx, &h.encode());
    let mut bad = payload.clone();
    bad[3] ^= 0xff;
    let got = crc32(&bad);
    assert_eq!(
        feed(&mut rx, &bad),
        [Event::Last(7, Err(Nak::BadCrc { got, want: h.crc }))]
    );
    assert_eq!(feed(&mut rx, &h.encode()), [Event::Go(h)]);
}

#[test]
fn the_receiver_refuses_sizes_and_times_out() {
    let mut rx = Receiver::new(Limits::new(None));
    let huge = Header {
        size: MAX_IMAGE + 1,
        crc: 0,
    };
    assert_eq!(
        feed(&mut rx, &huge.encode()),
        [Event::Reject(Nak::TooLarge {
            size: MAX_IMAGE + 1,
            max: MAX_IMAGE
        })]
    );
    let empty = Header { size: 0, crc: 0 };
    assert_eq!(feed(&mut rx, &empty.encode()), [Event::Reject(Nak::Empty)]);
    assert_eq!(rx.timeout(), None, "idle: nothing to abort");
    let h = Header { size: 10, crc: 0 };
    feed(&mut rx, &h.encode());
    feed(&mut rx, b"abc");
    assert_eq!(
        rx.timeout(),
        Some(Nak::Timeout {
            received: 3,
            size: 10
        })
    );
    assert!(!rx.busy());
}

#[test]
fn an_image_whose_bss_reaches_the_dtb_is_refused() {
    // arm64 Image header: image_size (with .bss) 0x10000 from LOAD_ADDR.
    let mut payload = vec![0u8; 64];
    payload[16..24].copy_from_slice(&0x1_0000u64.to_le_bytes());
    payload[56..60].copy_from_slice(b"ARM\x64");
    let dtb = LOAD_ADDR + 0x8000;
    let mut rx = Receiver::new(Limits::new(Some((dtb, 0x100))));
    let h = Header::for_payload(&payload);
    assert_eq!(feed(&mut rx, &h.encode()), [Event::Go(h)]);
    assert_eq!(
        feed(&mut rx, &payload),
        [Event::Last(
            63,
            Err(Nak::OverlapsDtb {
                end: LOAD_ADDR + 0x1_0000,
                dtb
            })
        )]
    );
}
