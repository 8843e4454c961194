//! The flattened device tree format itself: the header, the memory
//! reservation block, token decoding, and one strict grammar check of the
//! structure block, so that walks over it (in `node`) meet only a
//! well-nested tree. Nothing here indexes a slice unchecked.
//!
//! This is written here rather than taken from the `fdt` crate because
//! fdt 0.1.5 panics (`assert!`, `unwrap`, slice indexing) on malformed blobs,
//! and also on well-formed ones that hold `FDT_NOP` tokens where a node was
//! deleted. QEMU's `raspi4b` produces exactly that: it removes PCIe, GENET,
//! RNG, thermal and the original `/memory` with `fdt_nop_node` before
//! handing the Raspberry Pi DTB to the kernel. Here a NOP is accepted
//! anywhere the specification allows one.

use crate::Error;

pub(super) const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Header length of version 17, the first to carry `size_dt_struct`.
pub(super) const HEADER_LEN: usize = 40;
/// Oldest format version read: 17 (dtc and libfdt have written it since 2007).
const VERSION: u32 = 17;
/// Deepest node nesting accepted (the Raspberry Pi 4 tree is 5 deep).
pub(super) const MAX_DEPTH: usize = 16;

/// Reads a big-endian `u32` at `at`, if it is all inside `bytes`.
pub(super) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(<[u8; 4]>::try_from(b).ok()?))
}

/// Reads a big-endian `u64` at `at`, if it is all inside `bytes`. (Out of
/// line, as the helpers below: boot-time code inlined at several sites.)
#[inline(never)]
fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(<[u8; 8]>::try_from(b).ok()?))
}

/// Rounds up to the next multiple of 4 (every token starts 4-aligned).
fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

/// Whether a NUL-terminated UTF-8 string starts at `at`. Names are ASCII
/// in practice: one pass finds the NUL and whether any byte is not ASCII,
/// and only a string with such a byte is checked as UTF-8.
fn is_cstr(bytes: &[u8], at: usize) -> bool {
    let Some(rest) = bytes.get(at..) else {
        return false;
    };
    let mut ascii = true;
    for (len, &b) in rest.iter().enumerate() {
        if b == 0 {
            return ascii
                || rest
                    .get(..len)
                    .is_some_and(|s| core::str::from_utf8(s).is_ok());
        }
        ascii &= b.is_ascii();
    }
    false
}

/// `bytes[offset..offset + len]`, if it exists.
fn block(bytes: &[u8], offset: u32, len: u32) -> Result<&[u8], Error> {
    let start = offset as usize;
    let end = start.checked_add(len as usize).ok_or(Error::BadDtb)?;
    bytes.get(start..end).ok_or(Error::BadDtb)
}

/// One token of the structure block.
#[derive(Clone, Copy)]
pub(super) enum Token<'a> {
    BeginNode,
    EndNode,
    Prop(Prop<'a>),
    Nop,
    End,
}

/// A property: where its name is in the strings block, and its raw value.
#[derive(Clone, Copy)]
pub(super) struct Prop<'a> {
    pub name_offset: usize,
    pub value: &'a [u8],
}

/// A blob whose header and structure-block grammar have been checked.
#[derive(Clone, Copy)]
pub(super) struct Blob<'a> {
    pub(super) structs: &'a [u8],
    strings: &'a [u8],
    /// The memory reservation entries, without the terminating zero entry.
    rsvmap: &'a [u8],
}

impl<'a> Blob<'a> {
    /// Checks the header and the whole structure block; afterwards every walk
    /// sees a well-nested tree of well-formed tokens.
    pub fn new(data: &'a [u8]) -> Result<Self, Error> {
        let field = |i: usize| {
            i.checked_mul(4)
                .and_then(|at| be32(data, at))
                .ok_or(Error::BadDtb)
        };
        let magic = field(0)?;
        let total = field(1)? as usize;
        let (off_struct, off_strings, off_rsvmap) = (field(2)?, field(3)?, field(4)?);
        let (version, last_compatible) = (field(5)?, field(6)?);
        let (size_strings, size_struct) = (field(8)?, field(9)?);
        if magic != FDT_MAGIC || version < VERSION || last_compatible > VERSION {
            return Err(Error::BadDtb);
        }
        if total < HEADER_LEN {
            return Err(Error::BadDtb);
        }
        let data = data.get(..total).ok_or(Error::BadDtb)?;
        let blob = Self {
            structs: block(data, off_struct, size_struct)?,
            strings: block(data, off_strings, size_strings)?,
            rsvmap: reservation_block(data, off_rsvmap as usize)?,
        };
        blob.check_grammar()?;
        Ok(blob)
    }

    /// The `/memreserve/` entries as `(address, size)`.
    pub fn reservations(&self) -> impl Iterator<Item = (u64, u64)> + 'a {
        self.rsvmap
            .chunks_exact(16)
            .filter_map(|entry| Some((be64(entry, 0)?, be64(entry, 8)?)))
    }

    /// Decodes the token at `at` and says where the next one starts.
    pub(super) fn token(&self, at: usize) -> Option<(Token<'a>, usize)> {
        let after_tag = at.checked_add(4)?;
        match be32(self.structs, at)? {
            FDT_BEGIN_NODE => {
                // Only the name's end: walks skip names, and a node's name
                // is read (and checked to be UTF-8) when asked for.
                let len = self
                    .structs
                    .get(after_tag..)?
                    .iter()
                    .position(|&b| b == 0)?;
                let next = align4(after_tag.checked_add(len)?.checked_add(1)?)?;
                Some((Token::BeginNode, next))
            }
            FDT_PROP => {
                let len = be32(self.structs, after_tag)? as usize;
                let name_offset = be32(self.structs, after_tag.checked_add(4)?)? as usize;
                let start = after_tag.checked_add(8)?;
                let end = start.checked_add(len)?;
                let value = self.structs.get(start..end)?;
                Some((Token::Prop(Prop { name_offset, value }), align4(end)?))
            }
            FDT_END_NODE => Some((Token::EndNode, after_tag)),
            FDT_NOP => Some((Token::Nop, after_tag)),
            FDT_END => Some((Token::End, after_tag)),
            _ => None,
        }
    }

    /// One root node; inside every node, properties before children; nesting
    /// no deeper than [`MAX_DEPTH`]; `FDT_END` after the root closes.
    fn check_grammar(&self) -> Result<(), Error> {
        let mut at = 0;
        let mut depth = 0usize;
        let mut seen_root = false;
        // Bit `d` set: the open node at depth `d` already has a child, so a
        // property there would be out of order.
        let mut has_child = 0u32;
        loop {
            let (token, next) = self.token(at).ok_or(Error::BadDtb)?;
            match token {
                Token::BeginNode => {
                    if depth == 0 && seen_root {
                        return Err(Error::BadDtb);
                    }
                    // The name: NUL-terminated UTF-8 (walks rely on it).
                    if !is_cstr(self.structs, at.checked_add(4).ok_or(Error::BadDtb)?) {
                        return Err(Error::BadDtb);
                    }
                    seen_root = true;
                    has_child |= 1u32.checked_shl(depth as u32).ok_or(Error::BadDtb)?;
                    depth = depth.checked_add(1).ok_or(Error::BadDtb)?;
                    if depth > MAX_DEPTH {
                        return Err(Error::BadDtb);
                    }
                    has_child &= !(1u32.checked_shl(depth as u32).ok_or(Error::BadDtb)?);
                }
                Token::Prop(prop) => {
                    let bit = 1u32.checked_shl(depth as u32).ok_or(Error::BadDtb)?;
                    if depth == 0 || has_child & bit != 0 {
                        return Err(Error::BadDtb);
                    }
                    if !is_cstr(self.strings, prop.name_offset) {
                        return Err(Error::BadDtb);
                    }
                }
                Token::EndNode => depth = depth.checked_sub(1).ok_or(Error::BadDtb)?,
                Token::Nop => {}
                Token::End if depth == 0 && seen_root => return Ok(()),
                Token::End => return Err(Error::BadDtb),
            }
            at = next;
        }
    }

    /// Whether the string at `offset` in the strings block is `name`
    /// (compared in place: lookups are the hot path of every walk).
    /// Byte by byte, so that the usual mismatch ends at the first byte
    /// instead of in a `memcmp` call.
    pub(super) fn name_is(&self, offset: usize, name: &str) -> bool {
        let Some(mut stored) = self.strings.get(offset..).map(<[u8]>::iter) else {
            return false;
        };
        name.bytes().all(|b| stored.next() == Some(&b)) && stored.next() == Some(&0)
    }
}

/// The memory reservation block from `offset` up to (not including) its
/// terminating all-zero entry, which must lie inside `data`.
fn reservation_block(data: &[u8], offset: usize) -> Result<&[u8], Error> {
    let mut end = offset;
    loop {
        let address = be64(data, end).ok_or(Error::BadDtb)?;
        let size = be64(data, end.checked_add(8).ok_or(Error::BadDtb)?).ok_or(Error::BadDtb)?;
        if address == 0 && size == 0 {
            return data.get(offset..end).ok_or(Error::BadDtb);
        }
        end = end.checked_add(16).ok_or(Error::BadDtb)?;
    }
}
