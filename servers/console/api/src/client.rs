//! The client side: connect, print whole lines (pipelined up to the ring's
//! credit), read input, and say done. No system call on the fast path.

use crate::{Ctrl, Error, Op, BUF_LEN, BUF_OFFSET, LINE, REGION_OFFSET, SHORT, SLOTS};
use core::cell::Cell;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use core::sync::atomic::{fence, AtomicU8};
use ring::{BufRange, Client, Region, Request, Response, SharedBuf, Status};

/// Polls before a client blocks (and checks the server's epoch).
const SPINS: u32 = 64;
/// How long (counter seconds) to wait for a server to answer `hello`.
const CONNECT_TIMEOUT_S: u64 = 2;

fn now() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f)
    };
    (t, f)
}

ulib::bind! {
    /// This task's connection to the console service, if the image gives
    /// it one (`uses = ["console"]`).
    static CONSOLE: Client = "console";
}

/// One client's connection to the console server.
pub struct Console {
    ctrl: &'static Ctrl,
    region: Region<'static>,
    client: Client<'static>,
    buf: SharedBuf<'static>,
    /// Where a short line is written before it goes into its slot.
    short: Words,
    epoch: u64,
    tag: u64,
    /// The wake notification the client blocks on (none: it sleeps in
    /// `wfe` instead, keeping its core).
    wake: Option<ulib::CPtr>,
}

impl Console {
    /// This task's place among the console's clients (client 0 has the
    /// console's input), if the image connects it.
    pub fn index() -> Option<usize> {
        CONSOLE.get().map(|c| c.index)
    }

    /// Connects through the connection the image gives this task
    /// (`uses = ["console"]`); [`Error::NotConnected`] without one.
    pub fn connect() -> Result<Console, Error> {
        let end = CONSOLE.get().ok_or(Error::NotConnected)?;
        let base = end.base;
        // Safety: the image links this client's 2 MiB range at `base`
        // (read/write) for the task's whole life; the control words are
        // atomics, and the ring pair and the buffer are reached only through
        // `ring`'s atomic accessors.
        let (ctrl, region, buf) = unsafe {
            let ctrl = &*(base as *const Ctrl);
            let region = Region::from_raw((base + REGION_OFFSET) as *mut u8, 2 * SLOTS * 64, SLOTS)
                .map_err(|_| Error::Protocol)?;
            let buf = SharedBuf::from_raw((base + BUF_OFFSET) as *mut u8, BUF_LEN);
            (ctrl, region, buf)
        };
        let mut c = Console {
            ctrl,
            region,
            client: Client::new(region),
            buf,
            short: Words([0; SHORT]),
            epoch: 0,
            tag: 0,
            wake: end.wake,
        };
        c.hello()?;
        Ok(c)
    }

    /// Asks the server to (re)start this client's rings and waits for it
    /// (whatever was in flight is dropped).
    pub fn hello(&mut self) -> Result<(), Error> {
        let hello = self.ctrl.hello.load(Acquire).wrapping_add(1).max(1);
        self.ctrl.hello.store(hello, Release);
        let (start, f) = now();
        // Asleep in `wfe` on `welcome` until the server writes it (or the
        // event stream ends the wait): under `-icount` a spinning connect
        // loop would burn its vCPU's whole slice inside another client's
        // timed span (issue 12).
        loop {
            let seen = self.ctrl.welcome.load(Acquire);
            if seen == hello {
                break;
            }
            if now().0 - start > CONNECT_TIMEOUT_S * f {
                return Err(Error::NoServer);
            }
            ulib::wait::wfe_unless_changed(&self.ctrl.welcome, seen);
        }
        self.epoch = self.ctrl.epoch.load(Acquire);
        self.client = Client::new(self.region);
        self.tag = 0;
        Ok(())
    }

    /// Whether the server restarted since this client connected; if so,
    /// connects again (outstanding requests are lost).
    fn restarted(&mut self) -> Result<bool, Error> {
        if self.ctrl.epoch.load(Acquire) == self.epoch {
            return Ok(false);
        }
        self.hello()?;
        Ok(true)
    }

    fn window(&self, tag: u64) -> BufRange {
        let at = (tag % SLOTS as u64) * LINE as u64;
        BufRange::check(at, LINE as u32, BUF_LEN).expect("windows lie inside the buffer")
    }

    /// Waits for the next response.
    fn next_response(&mut self) -> Result<Response, Error> {
        loop {
            for _ in 0..SPINS {
                match self.client.poll_head() {
                    Ok(Some(r)) => return Ok(r),
                    Ok(None) => ulib::wait::relax(),
                    // A new server instance clears the rings before it
                    // bumps the epoch: garbage may be the restart itself.
                    Err(_) if self.restarted()? => return Err(Error::Restarted),
                    Err(_) => return Err(Error::Protocol),
                }
            }
            if self.restarted()? {
                return Err(Error::Restarted);
            }
            let Some(wake) = self.wake else {
                // Sleep until the server writes the awaited response's
                // sequence word (the exclusive monitor armed on its line
                // by `ldxr`), or another event: the server's `sev`, the
                // timer's event stream.
                self.client.watch().wfe();
                continue;
            };
            if let Some(r) = self.block(wake)? {
                return Ok(r);
            }
        }
    }

    /// Says it is sleeping, polls once more, and blocks in the kernel on
    /// its wake notification until the server (or the server's end)
    /// signals it; the caller polls again afterwards.
    fn block(&mut self, wake: ulib::CPtr) -> Result<Option<Response>, Error> {
        self.ctrl.sleeping.store(1, SeqCst);
        fence(SeqCst);
        let polled = self.client.poll_head();
        if !matches!(polled, Ok(None)) {
            self.ctrl.sleeping.store(0, Relaxed);
            return match polled {
                Ok(r) => Ok(r),
                Err(_) if self.restarted()? => Err(Error::Restarted),
                Err(_) => Err(Error::Protocol),
            };
        }
        // A signal sent since the last wait is still pending: at worst one
        // extra turn. The server clears `sleeping` when it signals.
        let _ = ulib::cap::wait(wake);
        self.ctrl.sleeping.store(0, Relaxed);
        Ok(None)
    }

    fn send(&mut self, op: Op, text: &[u8]) -> Result<u64, Error> {
        self.send_with(op, |line| {
            line.push(text);
        })
    }

    /// Sends request `op` whose line `fill` writes straight into this
    /// request's window of the shared buffer (no copy of it anywhere).
    fn send_with(&mut self, op: Op, fill: impl FnOnce(&mut LineWriter<'_>)) -> Result<u64, Error> {
        self.take_credit()?;
        let tag = self.tag;
        let w = self.window(tag);
        let cells = self.buf.get(w).ok_or(Error::Protocol)?;
        let mut line = LineWriter { cells, len: 0 };
        fill(&mut line);
        let req = Request {
            opcode: op as u32,
            len: line.len as u32,
            tag,
            offset: w.offset() as u64,
            args: [0; 4],
        };
        self.client.send(&req).map_err(|_| Error::Protocol)?;
        self.tag += 1;
        // Wake the server if it sleeps in `wfe`.
        ulib::wait::wake();
        Ok(tag)
    }

    /// Makes sure the ring has a credit for one more request.
    #[inline(always)]
    fn take_credit(&mut self) -> Result<(), Error> {
        if self.restarted()? {
            return Err(Error::Restarted);
        }
        if self.client.credit() == 0 {
            self.wait_credit()?;
        }
        Ok(())
    }

    /// Waits for a response, which must be OK, and takes with it every
    /// other the server has published since (the server answers a pass's
    /// lines together: the next few sends find credit without waiting).
    #[inline(never)]
    fn wait_credit(&mut self) -> Result<(), Error> {
        let mut r = self.next_response()?;
        loop {
            if r.status != Status::OK {
                return Err(Error::Refused(r.status.0));
            }
            match self.client.poll_head() {
                Ok(Some(next)) => r = next,
                // Garbage is for the next wait to report.
                _ => return Ok(()),
            }
        }
    }

    /// Sends the line `fill` writes into a [`ShortLine`] (at most
    /// [`SHORT`] bytes) in the request slot itself ([`Op::Line`]): no
    /// buffer window, no second cache line.
    fn send_short(&mut self, fill: impl FnOnce(&mut ShortLine<'_>)) -> Result<(), Error> {
        self.take_credit()?;
        let mut line = ShortLine {
            bytes: &mut self.short,
            len: 0,
        };
        fill(&mut line);
        let req = Request {
            opcode: Op::Line as u32,
            len: line.len as u32,
            tag: self.tag,
            offset: 0,
            args: line.words(),
        };
        self.client.send(&req).map_err(|_| Error::Protocol)?;
        self.tag += 1;
        // Wake the server if it sleeps in `wfe`.
        ulib::wait::wake();
        Ok(())
    }

    /// Queues `line` (at most 256 bytes) for printing; returns once the
    /// request is in the ring (earlier lines may still be in flight). A
    /// line of at most [`SHORT`] bytes goes in the request slot itself,
    /// a longer one into the request's window of the shared buffer.
    pub fn write_line(&mut self, line: &str) -> Result<(), Error> {
        let bytes = line.as_bytes();
        if bytes.len() <= SHORT {
            return self.send_short(|l| l.push(bytes));
        }
        self.send(Op::Write, bytes).map(|_| ())
    }

    /// Queues the line `fill` writes into a [`ShortLine`] (at most
    /// [`SHORT`] bytes: what does not fit is cut), carried in the request
    /// slot itself ([`Op::Line`]). Returns once the request is in the ring.
    pub fn write_short_with(&mut self, fill: impl FnOnce(&mut ShortLine<'_>)) -> Result<(), Error> {
        self.send_short(fill)
    }

    /// [`Console::write_short_with`], then waits until the server has
    /// written the line: one round trip.
    pub fn write_short_sync_with(
        &mut self,
        fill: impl FnOnce(&mut ShortLine<'_>),
    ) -> Result<(), Error> {
        self.send_short(fill)?;
        self.flush()
    }

    /// Queues the line `fill` writes (at most 256 bytes, see [`LineWriter`])
    /// for printing, written straight into the buffer the server prints
    /// from: no copy of it is made, as [`Console::write_line`] copies its
    /// `&str`. Returns once the request is in the ring.
    pub fn write_line_with(&mut self, fill: impl FnOnce(&mut LineWriter<'_>)) -> Result<(), Error> {
        self.send_with(Op::Write, fill).map(|_| ())
    }

    /// [`Console::write_line_with`], then waits until the server has
    /// written the line: one round trip.
    pub fn write_line_sync_with(
        &mut self,
        fill: impl FnOnce(&mut LineWriter<'_>),
    ) -> Result<(), Error> {
        self.write_line_with(fill)?;
        self.flush()
    }

    /// Prints `line` and waits until the server has written it: one round
    /// trip.
    pub fn write_line_sync(&mut self, line: &str) -> Result<(), Error> {
        self.write_line(line)?;
        self.flush()
    }

    /// Waits until every queued line is printed.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.client.outstanding() > 0 {
            // The last request has yet to reach the server and its
            // response to come back: yield before the first poll, which
            // would find nothing (~20 instructions a round trip under
            // QEMU's TCG, where the server runs only once this vCPU
            // yields).
            ulib::wait::relax();
        }
        while self.client.outstanding() > 0 {
            let r = self.next_response()?;
            if r.status != Status::OK {
                return Err(Error::Refused(r.status.0));
            }
        }
        Ok(())
    }

    /// Tells the server this client has finished, and waits until every
    /// client has.
    pub fn done(&mut self) -> Result<(), Error> {
        self.flush()?;
        self.send(Op::Done, &[])?;
        self.flush()
    }

    /// Raw access for tests of the server's validation: publishes `req`
    /// as it is and returns the server's status for it.
    pub fn raw_call(&mut self, req: &Request) -> Result<Status, Error> {
        self.flush()?;
        self.client.send(req).map_err(|_| Error::Protocol)?;
        self.tag += 1;
        ulib::wait::wake();
        Ok(self.next_response()?.status)
    }

    /// The ring pair itself, for tests that write garbage into it.
    pub fn region_base() -> Option<u64> {
        Some(Self::range_base()? + REGION_OFFSET)
    }

    /// Where this client's range is (its binding), for tests that write
    /// into it directly.
    pub fn range_base() -> Option<u64> {
        Some(CONSOLE.get()?.base)
    }

    /// Whether the server still serves this connection (it withdraws its
    /// `welcome` when it disconnects a client that flooded its ring).
    pub fn is_connected(&self) -> bool {
        self.ctrl.welcome.load(Acquire) == self.ctrl.hello.load(Acquire)
    }

    /// Requests sent since connecting.
    pub fn sent(&self) -> u64 {
        self.tag
    }

    /// Reads input from the console UART into `buf` (at most 256 bytes at
    /// a time): waits until the lines queued before it are printed, sends a
    /// `Read` for this client's window, waits for the server's answer (it
    /// comes when input arrives; only client 0 gets input) and copies the
    /// bytes the answer counts out of the window. Returns how many bytes
    /// were read (at least 1 unless `buf` is empty).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Every earlier request answered: the next response is this one.
        self.flush()?;
        if self.restarted()? {
            return Err(Error::Restarted);
        }
        let tag = self.tag;
        let n = buf.len().min(LINE);
        let w = self.window(tag);
        let win = BufRange::check(w.offset() as u64, n as u32, BUF_LEN).ok_or(Error::Protocol)?;
        self.read_async(n)?;
        let r = self.next_response()?;
        if r.status != Status::OK {
            return Err(Error::Refused(r.status.0));
        }
        if r.tag != tag || r.len as usize > n {
            return Err(Error::Protocol);
        }
        let got = BufRange::check(win.offset() as u64, r.len, BUF_LEN).ok_or(Error::Protocol)?;
        self.buf.copy_out(got, &mut buf[..n]).ok_or(Error::Protocol)
    }

    /// Sends a read request for up to `len` bytes of input and returns
    /// without waiting (the server answers when input arrives).
    pub fn read_async(&mut self, len: usize) -> Result<(), Error> {
        let w = self.window(self.tag);
        let n = len.min(LINE) as u32;
        let win = BufRange::check(w.offset() as u64, n, BUF_LEN).ok_or(Error::Protocol)?;
        let req = Request {
            opcode: Op::Read as u32,
            len: win.len() as u32,
            tag: self.tag,
            offset: win.offset() as u64,
            args: [0; 4],
        };
        self.tag += 1;
        self.client.send(&req).map_err(|_| Error::Protocol)?;
        ulib::wait::wake();
        Ok(())
    }
}

/// A line being written into its request's window of the shared buffer
/// ([`Console::write_line_with`]): bytes go straight where the server reads
/// them, each stored once (atomically: the server may read the window at
/// any time). Holds at most `LINE` (256) bytes; what does not fit is cut.
pub struct LineWriter<'a> {
    cells: &'a [AtomicU8],
    len: usize,
}

impl LineWriter<'_> {
    /// Appends `bytes` (as much as fits).
    pub fn push(&mut self, bytes: &[u8]) {
        let room = self.cells.get(self.len..).unwrap_or_default();
        for (cell, &b) in room.iter().zip(bytes) {
            cell.store(b, Relaxed);
        }
        self.len += bytes.len().min(room.len());
    }

    /// The window's bytes not yet written, to write in any order (a
    /// number is written last digit first); [`LineWriter::wrote`] then
    /// says how many of them the line takes.
    pub fn room(&self) -> &[AtomicU8] {
        self.cells.get(self.len..).unwrap_or_default()
    }

    /// The first `n` bytes of [`LineWriter::room`] are now the line's (as
    /// many as there are).
    pub fn wrote(&mut self, n: usize) {
        self.len += n.min(self.cells.len() - self.len);
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A line of at most [`SHORT`] bytes, written in the client's own memory
/// and sent in the request slot itself ([`Console::write_short_with`]).
/// What does not fit is cut.
pub struct ShortLine<'a> {
    bytes: &'a mut Words,
    len: usize,
}

/// A short line's bytes, 8-aligned, read as words with one load each (the
/// target has strict alignment: a byte array is read a byte at a time).
/// One per connection, reused line after line and never zeroed again: the
/// bytes past a line's end, sent with it, are the client's own earlier
/// ones, and the server ignores them (zeroing a fresh one each line cost
/// ~10 instructions, and left to itself the compiler merged it with the
/// line's first bytes into a `memset` call of ~40).
#[repr(C, align(8))]
struct Words([u8; SHORT]);

impl<'a> ShortLine<'a> {
    /// Appends `bytes` (as much as fits).
    pub fn push(&mut self, bytes: &[u8]) {
        let room = self.bytes.0.get_mut(self.len..).unwrap_or_default();
        let n = bytes.len().min(room.len());
        room[..n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    /// The bytes not yet written, to write in any order (a number is
    /// written last digit first); [`ShortLine::wrote`] then says how many
    /// of them the line takes.
    pub fn room(&mut self) -> &[Cell<u8>] {
        let room = self.bytes.0.get_mut(self.len..).unwrap_or_default();
        Cell::from_mut(room).as_slice_of_cells()
    }

    /// The first `n` bytes of [`ShortLine::room`] are now the line's (as
    /// many as there are).
    pub fn wrote(&mut self, n: usize) {
        self.len += n.min(SHORT - self.len);
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The line as the request's four argument words (byte `i` of the
    /// line is byte `i % 8` of word `i / 8`, counting from the least
    /// significant byte).
    #[inline(always)]
    fn words(&self) -> [u64; 4] {
        let w = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&self.bytes.0[8 * i..8 * i + 8]);
            u64::from_le_bytes(b)
        };
        [w(0), w(1), w(2), w(3)]
    }
}
