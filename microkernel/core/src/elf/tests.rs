extern crate std;
use std::vec;
use std::vec::Vec;

use super::headers;

/// A 64-bit little-endian ELF header for `machine` with `phnum` program
/// headers of `phentsize` bytes at offset 64, and that many zeroed
/// headers after it.
fn file(class: u8, machine: u16, phnum: u16, phentsize: u16) -> Vec<u8> {
    let mut f = vec![0u8; 64 + 56 * phnum.min(4) as usize];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = class; // EI_CLASS
    f[5] = 1; // EI_DATA: little-endian
    f[6] = 1; // EI_VERSION
    f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f[18..20].copy_from_slice(&machine.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&0x40_1000u64.to_le_bytes()); // e_entry
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f[54..56].copy_from_slice(&phentsize.to_le_bytes());
    f[56..58].copy_from_slice(&phnum.to_le_bytes());
    f
}

const AARCH64: u16 = 183;

#[test]
fn a_good_header_gives_its_entry_and_program_headers() {
    let f = file(2, AARCH64, 2, 56);
    let (entry, table) = headers(&f).expect("a good header");
    assert_eq!(entry, 0x40_1000);
    assert_eq!(table.iter().count(), 2);
}

#[test]
fn each_bad_header_is_refused_with_its_reason() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "not an ELF file"),
        (&b"\x7fELF"[..], "not an ELF file"),
        (&file(1, AARCH64, 1, 56), "not a 64-bit ELF"),
        (&file(2, 62, 1, 56), "not an AArch64 ELF"),
        (&file(2, AARCH64, 1, 32), "no program headers"),
        (&file(2, AARCH64, 0xffff, 56), "no program headers"),
        (
            &file(2, AARCH64, 9, 56),
            "the program headers lie outside the file",
        ),
    ];
    for (bytes, why) in cases {
        assert_eq!(headers(bytes).err(), Some(why), "{bytes:x?}");
    }
    // A header cut short, and one with no program-header table.
    assert_eq!(
        headers(&file(2, AARCH64, 1, 56)[..40]).err(),
        Some("not an ELF file")
    );
    let mut none = file(2, AARCH64, 1, 56);
    none[32..40].fill(0);
    assert_eq!(headers(&none).err(), Some("no program headers"));
}
