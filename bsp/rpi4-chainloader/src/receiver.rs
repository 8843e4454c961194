//! The loader's receive side as a pure state machine: bytes in, events out.
//! The loader binary only moves bytes between the UART and memory; every
//! decision (header, limits, checksum) is made here, and tested on the host.

use crate::{Crc32, Header, Nak, HEADER_LEN, LOAD_ADDR, MAGIC, MAX_IMAGE};

/// Where the payload may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload in bytes.
    pub max: u32,
    /// The device tree the firmware passed: (address, total size).
    pub dtb: Option<(u64, u64)>,
}

impl Limits {
    /// The loader's limits given the DTB it was handed (address, size).
    pub fn new(dtb: Option<(u64, u64)>) -> Limits {
        Limits {
            max: MAX_IMAGE,
            dtb,
        }
    }

    fn check_end(&self, len: u64) -> Result<(), Nak> {
        let end = LOAD_ADDR + len;
        match self.dtb {
            Some((dtb, size)) if dtb < end && LOAD_ADDR < dtb + size => {
                Err(Nak::OverlapsDtb { end, dtb })
            }
            _ => Ok(()),
        }
    }

    /// Before any byte is written: the payload itself must fit.
    pub fn check_size(&self, size: u32) -> Result<(), Nak> {
        if size == 0 {
            return Err(Nak::Empty);
        }
        if size > self.max {
            return Err(Nak::TooLarge {
                size,
                max: self.max,
            });
        }
        self.check_end(size as u64)
    }

    /// After the payload: an arm64 Image's `image_size` (which includes its
    /// `.bss`, zeroed by the kernel) must not reach the DTB either.
    pub fn check_image(&self, head: &[u8; 64], size: u32) -> Result<(), Nak> {
        if size < 64 || head[56..60] != *b"ARM\x64" {
            return Ok(());
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[16..24]);
        let image_size = u64::from_le_bytes(b).max(size as u64);
        self.check_end(image_size)
    }
}

/// What the loader must do after a byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing yet (hunting for the magic, or inside the header).
    Nothing,
    /// A good header: answer `KML:GO`.
    Go(Header),
    /// A refused header: answer `KML:NAK`, drain, announce again.
    Reject(Nak),
    /// A payload byte: store it at `LOAD_ADDR + offset`.
    Store(u32),
    /// The last payload byte (store it too), and the verdict: the CRC on
    /// success (answer `KML:OK` and boot), or why not.
    Last(u32, Result<u32, Nak>),
}

#[derive(Clone, Copy, Debug)]
enum State {
    Hunt {
        window: u32,
    },
    Header {
        buf: [u8; HEADER_LEN],
        n: usize,
    },
    Payload {
        header: Header,
        received: u32,
        crc: Crc32,
        head: [u8; 64],
    },
}

const HUNT: State = State::Hunt { window: 0 };

/// The receive state machine.
#[derive(Clone, Debug)]
pub struct Receiver {
    state: State,
    limits: Limits,
}

impl Receiver {
    pub fn new(limits: Limits) -> Receiver {
        Receiver {
            state: HUNT,
            limits,
        }
    }

    /// In the middle of a header or payload.
    pub fn busy(&self) -> bool {
        !matches!(self.state, State::Hunt { .. })
    }

    /// The line went quiet: abort a transfer in progress.
    pub fn timeout(&mut self) -> Option<Nak> {
        let nak = match self.state {
            State::Hunt { .. } => return None,
            State::Header { .. } => Nak::Timeout {
                received: 0,
                size: 0,
            },
            State::Payload {
                header, received, ..
            } => Nak::Timeout {
                received,
                size: header.size,
            },
        };
        self.state = HUNT;
        Some(nak)
    }

    /// Feeds one received byte.
    pub fn feed(&mut self, b: u8) -> Event {
        match &mut self.state {
            State::Hunt { window } => {
                *window = (*window << 8) | b as u32;
                if *window == u32::from_be_bytes(MAGIC) {
                    let mut buf = [0u8; HEADER_LEN];
                    buf[..4].copy_from_slice(&MAGIC);
                    self.state = State::Header { buf, n: 4 };
                }
                Event::Nothing
            }
            State::Header { buf, n } => {
                buf[*n] = b;
                *n += 1;
                if *n < HEADER_LEN {
                    return Event::Nothing;
                }
                let checked =
                    Header::decode(buf).and_then(|h| self.limits.check_size(h.size).map(|()| h));
                match checked {
                    Ok(header) => {
                        self.state = State::Payload {
                            header,
                            received: 0,
                            crc: Crc32::new(),
                            head: [0; 64],
                        };
                        Event::Go(header)
                    }
                    Err(nak) => {
                        self.state = HUNT;
                        Event::Reject(nak)
                    }
                }
            }
            State::Payload {
                header,
                received,
                crc,
                head,
            } => {
                let offset = *received;
                if let Some(slot) = head.get_mut(offset as usize) {
                    *slot = b;
                }
                crc.byte(b);
                *received += 1;
                if *received < header.size {
                    return Event::Store(offset);
                }
                let got = crc.finish();
                let verdict = if got != header.crc {
                    Err(Nak::BadCrc {
                        got,
                        want: header.crc,
                    })
                } else {
                    self.limits.check_image(head, header.size).map(|()| got)
                };
                self.state = HUNT;
                Event::Last(offset, verdict)
            }
        }
    }
}
