//! How a driver's core thread sleeps and who wakes it (both drivers: the
//! sequencer's core and Raft's). The core reads its peers' datagrams from
//! the socket itself (`UdpTransport::receive_now`, `Receiving::Caller`), so
//! it sleeps in `poll(2)` on two descriptors: the socket, which the kernel
//! makes readable when a datagram arrives, and an eventfd, the doorbell,
//! which every other thread rings after it puts an event in the core's
//! inbox ([`CoreInbox`]).
//!
//! Why: a receiver thread between the socket and the core cost a wake-up
//! and a channel hand-off per datagram, and on this machine a wake-up is
//! the dearest thing a thread does (docs/EVALUATION.md, session 13). Now a
//! datagram wakes the core directly.
//!
//! The doorbell is rung only while the core is asleep or about to be
//! (`asleep`), so a busy core costs its producers no system call. No ring
//! is lost: the core sets `asleep` and then looks at the inbox once more;
//! a producer puts its event in and then looks at `asleep` (both with a
//! sequentially consistent fence between), so at least one of the two sees
//! the other. The eventfd stays readable until the core reads it, so a ring
//! between the core's last look and its `poll` ends the `poll` at once.
//! The core never sleeps longer than a tick either, so even a bug here
//! would slow the replica down, never stop it.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{select, Receiver, SendError, Sender, TrySendError};

/// The core thread's doorbell.
#[derive(Debug)]
pub(crate) struct CoreWake {
    bell: OwnedFd,
    asleep: AtomicBool,
}

impl CoreWake {
    /// A doorbell nobody has rung.
    pub(crate) fn new() -> io::Result<CoreWake> {
        // SAFETY: eventfd takes no pointers; a negative result is an error.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let bell = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(CoreWake {
            bell,
            asleep: AtomicBool::new(false),
        })
    }

    /// Wakes the core if it sleeps (or is about to); call after putting
    /// something in its inbox.
    pub(crate) fn ring(&self) {
        fence(Ordering::SeqCst);
        if self.asleep.load(Ordering::SeqCst) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
            // It fails only if the counter would overflow, which leaves it
            // readable: the core wakes either way.
            let _ = unsafe {
                libc::write(
                    self.bell.as_raw_fd(),
                    (&one as *const u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
        }
    }

    /// Sleeps until `socket` is readable, the bell rings, or `timeout`
    /// passes, unless `inbox` holds something already. Spurious returns
    /// are fine: the caller looks at everything again.
    pub(crate) fn sleep<E>(&self, inbox: &Receiver<E>, socket: BorrowedFd<'_>, timeout: Duration) {
        self.asleep.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if inbox.is_empty() {
            let mut fds = [poll_in(socket.as_raw_fd()), poll_in(self.bell.as_raw_fd())];
            // Rounded up: a tick a little late is fine, a busy loop of
            // zero-length polls is not.
            let millis = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            // SAFETY: `fds` is a live array of two pollfd, its length given.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
        }
        self.asleep.store(false, Ordering::SeqCst);
        self.clear();
    }

    /// Reads the bell's counter back to zero (it is non-blocking, so this
    /// returns at once when nobody rang).
    fn clear(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own eventfd.
        let _ = unsafe {
            libc::read(
                self.bell.as_raw_fd(),
                (&mut count as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}

fn poll_in(fd: i32) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// A producer's end of the core's inbox: it rings the doorbell after each
/// event it puts in.
pub(crate) struct CoreInbox<E> {
    sender: Sender<E>,
    wake: Arc<CoreWake>,
}

impl<E> Clone for CoreInbox<E> {
    fn clone(&self) -> Self {
        CoreInbox {
            sender: self.sender.clone(),
            wake: Arc::clone(&self.wake),
        }
    }
}

impl<E> CoreInbox<E> {
    /// The inbox behind `sender`, whose core sleeps on `wake`.
    pub(crate) fn new(sender: Sender<E>, wake: Arc<CoreWake>) -> CoreInbox<E> {
        CoreInbox { sender, wake }
    }

    /// Puts `event` in without blocking, and wakes the core.
    pub(crate) fn try_send(&self, event: E) -> Result<(), TrySendError<E>> {
        self.sender.try_send(event)?;
        self.wake.ring();
        Ok(())
    }

    /// Puts `event` in, waiting for room unless `stop` disconnects first;
    /// wakes the core.
    pub(crate) fn send_unless_stopped(&self, event: E, stop: &Receiver<()>) -> Result<(), ()> {
        let sent: Result<(), SendError<E>> = select! {
            send(self.sender, event) -> sent => sent,
            recv(stop) -> _ => return Err(()),
        };
        sent.map_err(|_| ())?;
        self.wake.ring();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsFd;
    use std::thread;
    use std::time::Instant;

    use crossbeam_channel::bounded;

    use super::*;

    /// Far longer than any wake-up takes: a sleep this long means the
    /// wake-up was lost.
    const LOST: Duration = Duration::from_secs(20);

    #[test]
    fn an_event_put_in_while_the_core_sleeps_wakes_it() {
        let wake = Arc::new(CoreWake::new().expect("an eventfd"));
        let (sender, inbox) = bounded::<u32>(4);
        let producer = CoreInbox::new(sender, Arc::clone(&wake));
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a socket");
        for round in 0..200 {
            let producer = producer.clone();
            let put = thread::spawn(move || producer.try_send(round).expect("room"));
            let started = Instant::now();
            while inbox.is_empty() {
                assert!(started.elapsed() < LOST, "round {round}: no wake-up");
                wake.sleep(&inbox, socket.as_fd(), LOST);
            }
            assert!(
                started.elapsed() < LOST,
                "round {round}: slept through the ring"
            );
            assert_eq!(inbox.try_recv(), Ok(round));
            put.join().expect("the producer");
        }
    }

    #[test]
    fn a_datagram_wakes_the_core_and_a_quiet_one_sleeps_its_timeout() {
        let wake = CoreWake::new().expect("an eventfd");
        let (_sender, inbox) = bounded::<u32>(1);
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a socket");
        let started = Instant::now();
        wake.sleep(&inbox, socket.as_fd(), Duration::from_millis(30));
        assert!(
            started.elapsed() >= Duration::from_millis(30),
            "slept its timeout"
        );
        let peer = UdpSocket::bind("127.0.0.1:0").expect("a socket");
        peer.send_to(b"x", socket.local_addr().expect("an address"))
            .expect("sent");
        let started = Instant::now();
        wake.sleep(&inbox, socket.as_fd(), LOST);
        assert!(started.elapsed() < LOST, "the datagram woke it");
    }

    #[test]
    fn a_ring_while_awake_costs_nothing_and_a_full_inbox_keeps_the_event() {
        let wake = Arc::new(CoreWake::new().expect("an eventfd"));
        let (sender, inbox) = bounded::<u32>(1);
        let producer = CoreInbox::new(sender, Arc::clone(&wake));
        producer.try_send(1).expect("room");
        // Not asleep: nothing was written to the bell.
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from the test's eventfd.
        let read = unsafe { libc::read(wake.bell.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        assert_eq!(read, -1, "the bell was not rung");
        assert_eq!(producer.try_send(2), Err(TrySendError::Full(2)));
        assert_eq!(inbox.try_recv(), Ok(1));
    }
}
