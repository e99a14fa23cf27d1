//! The kernel's receive buffer of a socket its owner reads itself
//! (`Receiving::Caller`). With a receiver thread, datagrams that arrive
//! while the consumer is busy wait in a channel of `INBOUND_QUEUE_MAX`; read
//! by the caller, they wait in the socket, whose default buffer (about
//! 200 KiB on Linux) holds a few hundred small datagrams: less than a core
//! held up by a slow fsync may need. So the buffer is asked to be as large
//! as the channel was, at most; the kernel caps the request at
//! `net.core.rmem_max` without an error, and a refusal only leaves the
//! default (the protocols retransmit what overflows).

use std::io;
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

/// Bytes asked for: 4 MiB, room for thousands of the datagrams a flush
/// sends (a few hundred bytes each), as the channel had.
pub(super) const RECEIVE_SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// Asks the kernel for a receive buffer of `bytes` on `socket`.
pub(super) fn enlarge_receive_buffer(socket: &UdpSocket, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    set_int_option(socket.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, value)
}

/// Sets a socket option whose value is a C `int` (`setsockopt(2)`): the one
/// place this crate does it (the REST server turns Nagle off with it too).
pub fn set_int_option(
    socket: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the descriptor is borrowed, so open for the whole call; the
    // option value is a live c_int whose size is given.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive_buffer_bytes(socket: &UdpSocket) -> libc::c_int {
        let mut value: libc::c_int = 0;
        let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: reads a c_int option into a live c_int of the given size.
        let result = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut value as *mut libc::c_int).cast(),
                &mut length,
            )
        };
        assert_eq!(result, 0, "getsockopt");
        value
    }

    #[test]
    fn the_buffer_grows_as_far_as_the_kernel_allows() {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let before = receive_buffer_bytes(&socket);
        enlarge_receive_buffer(&socket, RECEIVE_SOCKET_BUFFER_BYTES).expect("asked");
        let after = receive_buffer_bytes(&socket);
        // Capped by net.core.rmem_max, which may be the default already.
        let rmem_max: i64 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        if rmem_max > i64::from(before) {
            assert!(after > before, "{after} should exceed {before}");
        } else {
            assert!(after >= before);
        }
    }
}
