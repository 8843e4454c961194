//! Each system call's arguments, defined once: the user library builds
//! these structures and [`Args::encode`]s them into `x0..x5`; the kernel
//! [`Args::decode`]s the registers into the same structure before it looks
//! anything up, so no handler reads a raw register.
//!
//! Decoding checks only the bits of the arguments themselves, in field
//! order: a slot name ([`CPtr`]) with a bit above 15 is
//! `InvalidCapability`; unknown flag or rights bits, a boolean word other
//! than 0 or 1, or a count out of its documented bounds are
//! `InvalidArgument`. Registers a call does not use are ignored (as they
//! always were: user code may leave anything there). Everything that needs
//! kernel state (slots, rights held, memory) is checked after decoding and
//! before the call changes anything (docs/syscalls.md).

use crate::{CPtr, Error, Event, Rights, Syscall};

/// The argument registers `x0..x5`.
pub type Regs = [u64; 6];

/// A system call's arguments.
pub trait Args: Sized {
    /// The call they are for.
    const CALL: Syscall;
    /// The registers that carry them.
    fn encode(&self) -> Regs;
    /// The arguments in `r`, or the error for the first bits not understood.
    fn decode(r: &Regs) -> Result<Self, Error>;
}

/// A slot name from a register (bits above 15: `InvalidCapability`).
fn cptr(v: u64) -> Result<CPtr, Error> {
    CPtr(v).decode().map(|_| CPtr(v))
}

/// A boolean word: 0 or 1.
fn flag(v: u64) -> Result<bool, Error> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::InvalidArgument),
    }
}

/// Defines a call's argument structure and its register layout: each field
/// with its register, how it encodes (`|v| expr`) and decodes (`|r| expr`
/// returning a `Result`).
macro_rules! call_args {
    (
        $(#[$meta:meta])*
        $name:ident for $call:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident: $ty:ty = x $reg:literal,
                encode |$ev:ident| $enc:expr,
                decode |$dv:ident| $dec:expr;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Args for $name {
            const CALL: Syscall = Syscall::$call;

            #[allow(unused_mut)]
            fn encode(&self) -> Regs {
                let mut r = [0; 6];
                $( r[$reg] = { let $ev = self.$field; $enc }; )*
                r
            }

            #[allow(unused_variables)]
            fn decode(r: &Regs) -> Result<Self, Error> {
                Ok($name {
                    $( $field: { let $dv = r[$reg]; $dec }?, )*
                })
            }
        }
    };
}

/// Longest `DebugPrint`, in bytes.
pub const DEBUG_PRINT_MAX: u64 = 256;
/// Most pages one `SegmentCreate` makes.
pub const SEGMENT_MAX_PAGES: u64 = 4096;

call_args! {
    /// `DebugPrint`: `len` bytes at `ptr` as one console line.
    DebugPrint for DebugPrint {
        ptr: u64 = x 0, encode |v| v, decode |v| Ok::<u64, Error>(v);
        /// At most [`DEBUG_PRINT_MAX`].
        len: u64 = x 1, encode |v| v,
            decode |v| if v > DEBUG_PRINT_MAX { Err(Error::InvalidArgument) } else { Ok(v) };
    }
}

call_args! {
    /// `Exit` with `status`.
    Exit for Exit {
        status: u64 = x 0, encode |v| v, decode |v| Ok::<u64, Error>(v);
    }
}

call_args! {
    /// `ReadEvent`: this core's count of `event`.
    ReadEvent for ReadEvent {
        event: Event = x 0, encode |v| v as u64,
            decode |v| Event::from_u64(v).ok_or(Error::InvalidArgument);
    }
}

call_args! {
    /// `SegmentCreate`: `pages` zeroed pages into `dst`.
    SegmentCreate for SegmentCreate {
        dst: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        /// 1 to [`SEGMENT_MAX_PAGES`].
        pages: u64 = x 1, encode |v| v,
            decode |v| if v == 0 || v > SEGMENT_MAX_PAGES { Err(Error::InvalidArgument) } else { Ok(v) };
        /// Physically contiguous ([`crate::SEGMENT_CONTIGUOUS`]).
        contiguous: bool = x 2, encode |v| v as u64, decode |v| flag(v);
    }
}

call_args! {
    /// `SegmentInfo`: page `page` of `segment`.
    SegmentInfo for SegmentInfo {
        segment: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        page: u64 = x 1, encode |v| v, decode |v| Ok::<u64, Error>(v);
    }
}

call_args! {
    /// `RangeCreate` over `[base, base + size)` into `dst`.
    RangeCreate for RangeCreate {
        dst: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        base: u64 = x 1, encode |v| v, decode |v| Ok::<u64, Error>(v);
        size: u64 = x 2, encode |v| v, decode |v| Ok::<u64, Error>(v);
        /// This core's only ([`crate::RANGE_PRIVATE`]), else shared.
        private: bool = x 3, encode |v| v as u64, decode |v| flag(v);
    }
}

call_args! {
    /// `Map`: `len` bytes of `segment` from byte `offset`, at `va` of
    /// `range`, with `rights` (R, RW or RX; never GRANT).
    Map for Map {
        range: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        va: u64 = x 1, encode |v| v, decode |v| Ok::<u64, Error>(v);
        segment: CPtr = x 2, encode |v| v.0, decode |v| cptr(v);
        offset: u64 = x 3, encode |v| v, decode |v| Ok::<u64, Error>(v);
        len: u64 = x 4, encode |v| v, decode |v| Ok::<u64, Error>(v);
        rights: Rights = x 5, encode |v| v.bits() as u64, decode |v| map_rights(v);
    }
}

/// A mapping's rights: known bits, and never GRANT.
fn map_rights(v: u64) -> Result<Rights, Error> {
    let rights = Rights::from_bits(v)?;
    if rights.contains(Rights::GRANT) {
        return Err(Error::InvalidArgument);
    }
    Ok(rights)
}

call_args! {
    /// `Unmap`: `len` bytes at `va` of `range`.
    Unmap for Unmap {
        range: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        va: u64 = x 1, encode |v| v, decode |v| Ok::<u64, Error>(v);
        len: u64 = x 2, encode |v| v, decode |v| Ok::<u64, Error>(v);
    }
}

call_args! {
    /// `Link`: shared range `range` into the caller's address space.
    Link for Link {
        range: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `Unlink`: undoes `Link`.
    Unlink for Unlink {
        range: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `CapCopy` from `src` to `dst`, keeping only `mask`.
    CapCopy for CapCopy {
        src: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        dst: CPtr = x 1, encode |v| v.0, decode |v| cptr(v);
        mask: Rights = x 2, encode |v| v.bits() as u64, decode |v| Rights::from_bits(v);
    }
}

call_args! {
    /// `CapDelete` of the capability in `at`.
    CapDelete for CapDelete {
        at: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `CapRevoke` of everything derived from the capability in `at`.
    CapRevoke for CapRevoke {
        at: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `TaskReport` of the task the capability in `task` names.
    TaskReport for TaskReport {
        task: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `TaskRestart` of the task the capability in `task` names.
    TaskRestart for TaskRestart {
        task: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `TaskStop` of the task the capability in `task` names.
    TaskStop for TaskStop {
        task: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `InterruptAck` of the interrupt of the device whose segment
    /// capability is in `device`.
    InterruptAck for InterruptAck {
        device: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `CapInfo` of the capability in `at`.
    CapInfo for CapInfo {
        at: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `ShareCreate` into `dst`: shared between cores, or private.
    ShareCreate for ShareCreate {
        dst: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        shared: bool = x 1, encode |v| v as u64, decode |v| flag(v);
    }
}

call_args! {
    /// `NotifyCreate` into `dst`.
    NotifyCreate for NotifyCreate {
        dst: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
    }
}

call_args! {
    /// `Signal`: sets `bits` (non-zero) of the notification in `at`.
    Signal for Signal {
        at: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        bits: u64 = x 1, encode |v| v,
            decode |v| if v == 0 { Err(Error::InvalidArgument) } else { Ok(v) };
    }
}

call_args! {
    /// `Wait` on the notification in `at`; `poll` returns at once
    /// ([`crate::WAIT_POLL`]).
    Wait for Wait {
        at: CPtr = x 0, encode |v| v.0, decode |v| cptr(v);
        poll: bool = x 1, encode |v| v as u64, decode |v| flag(v);
    }
}

call_args! {
    /// `BlockRead` (experimental): `len` bytes from `sector` into `buf`.
    BlockRead for BlockRead {
        sector: u64 = x 0, encode |v| v, decode |v| Ok::<u64, Error>(v);
        buf: u64 = x 1, encode |v| v, decode |v| Ok::<u64, Error>(v);
        len: u64 = x 2, encode |v| v, decode |v| Ok::<u64, Error>(v);
    }
}

call_args! {
    /// `BlockWrite` (experimental): `len` bytes from `buf` to `sector`.
    BlockWrite for BlockWrite {
        sector: u64 = x 0, encode |v| v, decode |v| Ok::<u64, Error>(v);
        buf: u64 = x 1, encode |v| v, decode |v| Ok::<u64, Error>(v);
        len: u64 = x 2, encode |v| v, decode |v| Ok::<u64, Error>(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<A: Args + PartialEq + core::fmt::Debug>(a: A) {
        assert_eq!(A::decode(&a.encode()), Ok(a));
    }

    #[test]
    fn every_structure_round_trips() {
        round_trip(DebugPrint {
            ptr: 0x1000,
            len: 256,
        });
        round_trip(ReadEvent { event: Event::Ipi });
        round_trip(SegmentCreate {
            dst: CPtr::via(3, 7),
            pages: 4096,
            contiguous: true,
        });
        round_trip(RangeCreate {
            dst: CPtr::root(9),
            base: 0x4000_0000,
            size: 2 << 20,
            private: true,
        });
        round_trip(Map {
            range: CPtr::root(2),
            va: 0x20_0000,
            segment: CPtr::root(3),
            offset: 0x1000,
            len: 0x2000,
            rights: Rights::READ.union(Rights::EXECUTE),
        });
        round_trip(CapCopy {
            src: CPtr::root(2),
            dst: CPtr::via(4, 63),
            mask: Rights::ALL,
        });
        round_trip(ShareCreate {
            dst: CPtr::root(5),
            shared: true,
        });
        round_trip(Signal {
            at: CPtr::root(5),
            bits: 1 << 63,
        });
        round_trip(Wait {
            at: CPtr::root(5),
            poll: true,
        });
    }

    #[test]
    fn a_slot_name_with_high_bits_is_an_invalid_capability() {
        for high in [1u64 << 16, 1 << 40, 1 << 63] {
            let r = [high | 5, 1, 0, 0, 0, 0];
            assert_eq!(SegmentCreate::decode(&r), Err(Error::InvalidCapability));
            assert_eq!(CapDelete::decode(&r), Err(Error::InvalidCapability));
            let r = [2, 0x1000, high | 3, 0, 0x1000, 1];
            assert_eq!(Map::decode(&r), Err(Error::InvalidCapability));
            let r = [2, high, 0xf, 0, 0, 0];
            assert_eq!(CapCopy::decode(&r), Err(Error::InvalidCapability));
        }
    }

    #[test]
    fn unknown_flag_and_rights_bits_are_refused() {
        let seg = |pages, flags| SegmentCreate::decode(&[2, pages, flags, 0, 0, 0]);
        assert!(seg(1, 0).is_ok() && seg(1, 1).is_ok());
        assert_eq!(seg(1, 2), Err(Error::InvalidArgument));
        assert_eq!(seg(1, 1 << 63), Err(Error::InvalidArgument));
        assert_eq!(seg(0, 0), Err(Error::InvalidArgument), "0 pages");
        assert_eq!(seg(SEGMENT_MAX_PAGES + 1, 0), Err(Error::InvalidArgument));
        let range = |flags| RangeCreate::decode(&[2, 0, 2 << 20, flags, 0, 0]);
        assert_eq!(range(2), Err(Error::InvalidArgument));
        assert_eq!(range(3), Err(Error::InvalidArgument));
        let share = |shared| ShareCreate::decode(&[2, shared, 0, 0, 0, 0]);
        assert_eq!(share(2), Err(Error::InvalidArgument));
        let wait = |flags| Wait::decode(&[2, flags, 0, 0, 0, 0]);
        assert_eq!(wait(1 << 32), Err(Error::InvalidArgument));
        let map = |rights| Map::decode(&[2, 0, 3, 0, 0x1000, rights]);
        assert_eq!(map(0x10), Err(Error::InvalidArgument), "unknown right");
        assert_eq!(
            map(Rights::GRANT.bits() as u64),
            Err(Error::InvalidArgument)
        );
        assert!(map(3).is_ok());
        let copy = |mask| CapCopy::decode(&[2, 3, mask, 0, 0, 0]);
        assert_eq!(copy(0x10), Err(Error::InvalidArgument));
        assert_eq!(
            Signal::decode(&[2, 0, 0, 0, 0, 0]),
            Err(Error::InvalidArgument)
        );
        assert_eq!(
            ReadEvent::decode(&[5, 0, 0, 0, 0, 0]),
            Err(Error::InvalidArgument)
        );
        let print = |len| DebugPrint::decode(&[0x1000, len, 0, 0, 0, 0]);
        assert_eq!(print(DEBUG_PRINT_MAX + 1), Err(Error::InvalidArgument));
    }

    #[test]
    fn decoding_reports_the_first_field_in_error() {
        // A bad slot name (x0) before unknown flags (x2).
        let r = [1 << 20, 0, 7, 0, 0, 0];
        assert_eq!(SegmentCreate::decode(&r), Err(Error::InvalidCapability));
    }

    #[test]
    fn encoding_puts_each_field_in_its_register() {
        let m = Map {
            range: CPtr::root(1),
            va: 2,
            segment: CPtr::root(3),
            offset: 4,
            len: 5,
            rights: Rights::READ,
        };
        assert_eq!(m.encode(), [1, 2, 3, 4, 5, 1]);
        assert_eq!(<Map as Args>::CALL, Syscall::Map);
    }
}
