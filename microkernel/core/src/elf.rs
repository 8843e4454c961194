//! A task's ELF as the kernel's loader reads it: the file header and the
//! program headers, nothing else (xtask cuts the files to those). Nothing
//! in the archive is trusted; each refusal is a line of the boot report.

use elf::endian::LittleEndian;
use elf::segment::SegmentTable;

/// The program headers of a 64-bit little-endian AArch64 ELF, and its
/// entry point, through the `elf` crate's parsers. Not through
/// `ElfBytes::minimal_parse`, which also locates the section headers and
/// parses the first one (for the `PN_XNUM` escape of a table of 65 535 or
/// more program headers, which no task has: refused here): about 2 KiB of
/// kernel text for tables a loader never reads.
pub fn headers(bytes: &[u8]) -> Result<(u64, SegmentTable<'_, LittleEndian>), &'static str> {
    use elf::file::{parse_ident, Class, FileHeader, ELF64_EHDR_TAILSIZE};
    const NOT_ELF: &str = "not an ELF file";
    let ident = bytes.get(..elf::abi::EI_NIDENT).ok_or(NOT_ELF)?;
    let ident = parse_ident::<LittleEndian>(ident).map_err(|_| NOT_ELF)?;
    if ident.1 != Class::ELF64 {
        return Err("not a 64-bit ELF");
    }
    let tail = bytes
        .get(elf::abi::EI_NIDENT..elf::abi::EI_NIDENT + ELF64_EHDR_TAILSIZE)
        .ok_or(NOT_ELF)?;
    let ehdr = FileHeader::parse_tail(ident, tail).map_err(|_| NOT_ELF)?;
    if ehdr.e_machine != elf::abi::EM_AARCH64 {
        return Err("not an AArch64 ELF");
    }
    // An ELF64 program header is 56 bytes.
    if ehdr.e_phoff == 0 || ehdr.e_phentsize != 56 || ehdr.e_phnum == elf::abi::PN_XNUM {
        return Err("no program headers");
    }
    let table = usize::try_from(ehdr.e_phoff)
        .ok()
        .and_then(|off| bytes.get(off..)?.get(..56 * ehdr.e_phnum as usize))
        .ok_or("the program headers lie outside the file")?;
    Ok((
        ehdr.e_entry,
        SegmentTable::new(ehdr.endianness, ehdr.class, table),
    ))
}

#[cfg(test)]
mod tests;
