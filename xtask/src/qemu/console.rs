//! The console of a captured run: collected by a thread, with the case's
//! console input written when its trigger appears, and the network step
//! started when the ready lines have appeared (its `after` input written
//! when it is over).

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The network step's thread, if it started.
pub(super) type NetStep = Option<JoinHandle<Result<Vec<String>, String>>>;

/// Console input for [`watch_console`]: `input` goes to `stdin` once the
/// console shows `trigger` (none: only the network step's `after` input
/// is written).
pub(super) struct Feed<W> {
    pub(super) stdin: W,
    pub(super) trigger: Option<Vec<u8>>,
    pub(super) input: Vec<u8>,
}

/// Collects the console. With a `feed`, the first time the console
/// contains its `trigger` it writes its `input` to QEMU's stdin
/// (kept open until QEMU closes its stdout, so the serial backend never
/// sees end of file). With `net`, once the console contains every line of
/// its `ready`, it starts the network step on its own thread, which
/// writes the traffic's `after` input to `stdin` when it is over. Returns
/// the console, whether the trigger's input was written, and the network
/// step.
pub(super) fn watch_console<W: Write + Send + 'static>(
    mut pipe: impl Read + Send + 'static,
    feed: Option<Feed<W>>,
    net: Option<(
        qemu_tests::NetTraffic,
        crate::net::Ports,
        Option<crate::net::Guests>,
    )>,
) -> JoinHandle<(Vec<u8>, bool, NetStep)> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut sent = false;
        let (stdin, trigger, input) = match feed {
            Some(f) => (Some(f.stdin), f.trigger, f.input),
            None => (None, None, Vec::new()),
        };
        // Shared with the network step; held here until QEMU's stdout ends.
        let stdin = Arc::new(Mutex::new(stdin));
        let mut net = net;
        let mut step: NetStep = None;
        let mut chunk = [0u8; 4096];
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Search only where a new match can be: the new bytes and the
            // trigger's length before them.
            let from = bytes
                .len()
                .saturating_sub(trigger.as_ref().map_or(0, Vec::len));
            bytes.extend_from_slice(&chunk[..n]);
            if let Some(trigger) = trigger.as_ref().filter(|_| !sent) {
                if contains(&bytes[from..], trigger) {
                    sent = write_input(&stdin, &input);
                }
            }
            let ready =
                net.is_some_and(|(t, _, _)| t.ready.iter().all(|r| contains(&bytes, r.as_bytes())));
            if ready {
                if let Some((t, ports, wire)) = net.take() {
                    let stdin = stdin.clone();
                    step = Some(std::thread::spawn(move || {
                        // On the wire (a socket netdev) the host speaks
                        // raw frames; otherwise through QEMU's forwards.
                        let r = match wire {
                            Some(guests) => crate::wire::check(ports, guests, &t),
                            None => crate::net::check_echo(ports, &t),
                        };
                        if !t.after.is_empty() {
                            write_input(&stdin, t.after.as_bytes());
                        }
                        r
                    }));
                }
            }
        }
        drop(stdin);
        (bytes, sent, step)
    })
}

/// Writes `input` to QEMU's stdin, if it is a pipe; whether it went.
fn write_input<W: Write>(stdin: &Mutex<Option<W>>, input: &[u8]) -> bool {
    match stdin.lock().ok().as_deref_mut().and_then(Option::as_mut) {
        Some(w) => w.write_all(input).and_then(|()| w.flush()).is_ok(),
        None => false,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_fed_after_the_trigger_only() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        /// Hands out its text in 3-byte pieces (a trigger split across reads).
        struct Pieces(Vec<u8>);
        impl Read for Pieces {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(3).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let feed = |console: &str| {
            let sink = Sink::default();
            let h = watch_console(
                Pieces(console.as_bytes().to_vec()),
                Some(Feed {
                    stdin: sink.clone(),
                    trigger: Some(b"ready for input".to_vec()),
                    input: b"typed\r".to_vec(),
                }),
                None,
            );
            let (bytes, sent, net) = h.join().unwrap();
            assert!(net.is_none());
            assert_eq!(bytes, console.as_bytes());
            let written = sink.0.lock().unwrap().clone();
            (sent, written)
        };
        assert_eq!(
            feed("boot\nx: ready for input\nready for input\n"),
            (true, b"typed\r".to_vec())
        );
        assert_eq!(feed("boot\nx: ready for inpu\n"), (false, Vec::new()));
    }
}
