//! Host tests of the log UART path: frames encoded as the kernel encodes them
//! go through a real Unix socket into the decoding thread.

use std::io::Write;

use defmt_decoder::{StringEntry, TableEntry, Tag};

use super::*;

/// Entry 0: `INFO defmt log online`; entry 1: `WARN x = {=u32}`; timestamp
/// `{=u64:us} core {=u8}` as the kernel's.
fn table() -> Table {
    let json = r#"{
        "timestamp": null,
        "entries": {
            "0": {"string": {"tag": "Info", "string": "defmt log online"}, "raw_symbol": "a"},
            "1": {"string": {"tag": "Warn", "string": "x = {=u32}"}, "raw_symbol": "b"}
        },
        "bitflags": {},
        "encoding": "Rzcobs"
    }"#;
    let mut table: Table = serde_json::from_str(json).expect("table json");
    table.set_timestamp_entry(TableEntry::new(
        StringEntry::new(Tag::Timestamp, "{=u64:us} core {=u8}".to_string()),
        "ts".to_string(),
    ));
    table
}

/// One rzcobs-encoded frame with its separator.
fn frame(index: u16, micros: u64, core: u8, args: &[u8]) -> Vec<u8> {
    let mut raw = index.to_le_bytes().to_vec();
    raw.extend_from_slice(&micros.to_le_bytes());
    raw.push(core);
    raw.extend_from_slice(args);
    let mut encoded = rzcobs::encode(&raw);
    encoded.push(0);
    encoded
}

fn run(chunks: &[Vec<u8>]) -> DecodedLog {
    let dir = std::env::temp_dir().join(format!("xtask-defmt-test-{}", std::process::id()));
    let socket = LogSocket::bind(&dir).expect("bind");
    let path = socket.path.clone();
    let reader = socket.start(table(), None);
    let mut client = UnixStream::connect(&path).expect("connect");
    for chunk in chunks {
        client.write_all(chunk).expect("write");
    }
    drop(client);
    let log = reader.finish();
    assert!(!path.exists(), "socket file removed");
    log
}

#[test]
fn decodes_frames_and_skips_junk() {
    let mut second = frame(1, 2_500_000, 3, &42u32.to_le_bytes());
    let tail = second.split_off(5);
    let log = run(&[
        b"\x55\xaa junk \x00".to_vec(),
        frame(0, 1234, 0, &[]),
        second,
        tail,
    ]);
    assert!(log.connected);
    let lines: Vec<String> = log.lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(
        lines,
        [
            "[0.001234 core 0] INFO  defmt log online",
            "[2.500000 core 3] WARN  x = 42"
        ]
    );
    assert_eq!(log.malformed, 1, "the junk is one malformed frame");
    assert!(log.warning().is_none());
}

#[test]
fn undecodable_bytes_are_reported() {
    let log = run(&[b"\x13\x37 nothing defmt here \x00\x01\x02\x00".to_vec()]);
    assert!(log.lines.is_empty());
    let warning = log.warning().expect("warns");
    assert!(
        warning.contains("bytes arrived on the log UART but no frame decoded"),
        "{warning}"
    );
}

#[test]
fn nobody_connects() {
    let dir = std::env::temp_dir().join(format!("xtask-defmt-idle-{}", std::process::id()));
    let socket = LogSocket::bind(&dir).expect("bind");
    assert!(socket.qemu_serial().starts_with("unix:"));
    let log = socket.start(table(), None).finish();
    assert!(!log.connected && log.bytes == 0 && log.warning().is_none());
}
