//! What the server writes of a line carried in a request slot
//! ([`console_api::Op::Line`]): its bytes, made printable a word at a
//! time, and a newline, stored with as few looks for room in the UART's
//! FIFO as its depth allows. Portable (any [`SerialWrite`]), so its tests
//! run on the host.

use crate::text::{plain, printable_bytes};
use drivers::SerialWrite;

/// Writes the first `len` (cut to 32) bytes of `words` (a line carried
/// in a request slot), made printable, and a newline to `uart`: each whole
/// word tested for control bytes at once and stored with at most one look
/// for room; the last partial word, with the newline put in after the
/// line's bytes, the same way (the bytes past the line's end taken as
/// spaces for the test), so that a line of `len` bytes takes `len / 8 + 1`
/// tests. The words are taken by value and walked in straight-line code
/// (no index into an array: an array walked by index was kept on the
/// stack and reloaded, ~15 instructions a line).
#[inline(always)]
pub fn write_short(uart: &impl SerialWrite, words: [u64; 4], len: usize) {
    let (mut full, tail) = (len / 8, len % 8);
    let [w0, w1, w2, w3] = words;
    let mut room = 0;
    // Word by word until the line's last (partial) one: no select of
    // which word is last (~7 instructions a line).
    for w in [w0, w1, w2, w3] {
        if full == 0 {
            return put_last(uart, w, tail, &mut room);
        }
        put_word(uart, w, &mut room);
        full -= 1;
    }
    // A `len` over 32 is cut to the four words (here, off the way of
    // every shorter line: a cut by the caller cost each line three
    // instructions): the newline alone.
    put_last(uart, 0, 0, &mut room);
}

/// Stores the 8 bytes of `w`, made printable, least significant first;
/// looks for room in the FIFO only when `room` says fewer than 8 are left.
#[inline(always)]
fn put_word(uart: &impl SerialWrite, w: u64, room: &mut usize) {
    let w = if plain(w) { w } else { printable_bytes(w) };
    if *room < 8 {
        *room = uart.wait_room();
    }
    if *room >= 8 {
        for i in 0..8 {
            uart.put((w >> (8 * i)) as u8);
        }
        *room -= 8;
    } else {
        *room = put_bytes(uart, w, 8, *room);
    }
}

/// Stores the first `tail` (0 to 7) bytes of `w`, made printable, and a
/// newline: the line's last word.
#[inline(always)]
fn put_last(uart: &impl SerialWrite, w: u64, tail: usize, room: &mut usize) {
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let keep = (1u64 << (8 * tail)) - 1;
    let w = w & keep;
    let w = if plain(w | SPACES & !keep) {
        w
    } else {
        printable_bytes(w) & keep
    };
    let w = w | u64::from(b'\n') << (8 * tail);
    if *room <= tail {
        *room = uart.wait_room();
    }
    if *room > tail {
        // One unrolled run of stores per length (a jump, then two
        // instructions a byte; a loop took four).
        match tail {
            0 => put_n::<1>(uart, w),
            1 => put_n::<2>(uart, w),
            2 => put_n::<3>(uart, w),
            3 => put_n::<4>(uart, w),
            4 => put_n::<5>(uart, w),
            5 => put_n::<6>(uart, w),
            6 => put_n::<7>(uart, w),
            _ => put_n::<8>(uart, w),
        }
        *room -= tail + 1;
    } else {
        *room = put_bytes(uart, w, tail + 1, *room);
    }
}

/// Stores the first `N` bytes of `w`, least significant first, without
/// looking for room (the caller has).
#[inline(always)]
fn put_n<const N: usize>(uart: &impl SerialWrite, w: u64) {
    for i in 0..N {
        uart.put((w >> (8 * i)) as u8);
    }
}

/// Stores the first `n` (at most 8) bytes of `w`, least significant first,
/// looking for room in the FIFO whenever `room` says it is used up (a UART
/// that takes a byte at a time); returns the room left.
#[cold]
#[inline(never)]
fn put_bytes(uart: &impl SerialWrite, w: u64, n: usize, mut room: usize) -> usize {
    for i in 0..n {
        if room == 0 {
            room = uart.wait_room();
        }
        uart.put((w >> (8 * i)) as u8);
        room -= 1;
    }
    room
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::text::printable;
    use std::cell::RefCell;
    use std::vec::Vec;

    /// A UART that records what it is sent and says `room` bytes fit at
    /// each look (1: a UART that takes a byte at a time).
    struct Tape {
        out: RefCell<Vec<u8>>,
        room: usize,
    }

    impl SerialWrite for Tape {
        fn write_byte(&self, b: u8) {
            self.out.borrow_mut().push(b);
        }
        fn wait_room(&self) -> usize {
            self.room
        }
    }

    /// `write_short` sends the first `len` bytes (cut to 32) made
    /// printable and a newline, for every length, control bytes in any
    /// word, and a FIFO of any room.
    #[test]
    fn short_lines_are_their_printable_bytes_and_a_newline() {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = b'a' + i as u8;
        }
        for control in [None, Some(0), Some(7), Some(13), Some(31)] {
            let mut line = bytes;
            if let Some(at) = control {
                line[at] = 0x1b;
            }
            let words: [u64; 4] = core::array::from_fn(|i| {
                u64::from_le_bytes(line[8 * i..8 * i + 8].try_into().unwrap())
            });
            for room in [1, 3, 8, 16] {
                for len in 0..=40 {
                    let tape = Tape {
                        out: RefCell::new(Vec::new()),
                        room,
                    };
                    write_short(&tape, words, len);
                    let mut want: Vec<u8> =
                        line[..len.min(32)].iter().map(|&b| printable(b)).collect();
                    want.push(b'\n');
                    assert_eq!(
                        *tape.out.borrow(),
                        want,
                        "len {len} room {room} control {control:?}"
                    );
                }
            }
        }
    }
}
