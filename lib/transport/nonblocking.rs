//! One datagram handed to the kernel from the caller's thread, never
//! blocking it: `sendto` with `MSG_DONTWAIT`. The socket itself stays in
//! blocking mode, which its receiver thread relies on (the flag is per
//! call, `O_NONBLOCK` would be per socket).
//!
//! Why: handing each datagram to the "udp-sender" thread costs a wake-up
//! and a context switch per send, and on a loaded machine those cost more
//! than the send itself (profile of a customer-DB replica under load: the
//! sender thread spent most of its time waking up and yielding).

use std::io;
use std::mem::size_of;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// What became of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sent {
    /// The kernel took the datagram.
    Taken,
    /// The socket's send buffer is full: sending would block.
    WouldBlock,
}

/// Sends `bytes` to `address` now if the kernel can take it without waiting.
pub(super) fn send_to(socket: &UdpSocket, bytes: &[u8], address: SocketAddr) -> io::Result<Sent> {
    let result = match address {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_in is plain old data; all-zero is valid.
            let mut raw: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            raw.sin_family = libc::AF_INET as libc::sa_family_t;
            raw.sin_port = v4.port().to_be();
            raw.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            raw_send(
                socket,
                bytes,
                (&raw as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>(),
            )
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_in6 is plain old data; all-zero is valid.
            let mut raw: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            raw.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            raw.sin6_port = v6.port().to_be();
            raw.sin6_addr.s6_addr = v6.ip().octets();
            raw.sin6_flowinfo = v6.flowinfo();
            raw.sin6_scope_id = v6.scope_id();
            raw_send(
                socket,
                bytes,
                (&raw as *const libc::sockaddr_in6).cast(),
                size_of::<libc::sockaddr_in6>(),
            )
        }
    };
    match result {
        Ok(()) => Ok(Sent::Taken),
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(Sent::WouldBlock),
        Err(error) => Err(error),
    }
}

/// Takes the next datagram waiting on `socket` into `buffer` if there is
/// one, without blocking: its length, or `None` when none waits. (The
/// sender's address is not asked for: a datagram names its sender inside,
/// see envelope.rs.)
pub(super) fn receive(socket: &UdpSocket, buffer: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: the descriptor is the socket's, open for the whole call; the
    // buffer is live and writable for the length given.
    let received = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if received >= 0 {
        return Ok(Some(received as usize));
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(error)
    }
}

fn raw_send(
    socket: &UdpSocket,
    bytes: &[u8],
    address: *const libc::sockaddr,
    address_len: usize,
) -> io::Result<()> {
    // SAFETY: the descriptor is the socket's, open for the whole call; the
    // buffer and the address point at live memory of the lengths given.
    let sent = unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT,
            address,
            address_len as libc::socklen_t,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_arrives_whole_over_ipv4_and_ipv6() {
        for local in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(receiver) = UdpSocket::bind(local) else {
                continue; // no IPv6 loopback on this machine
            };
            let sender = UdpSocket::bind(local).expect("bind");
            let address = receiver.local_addr().expect("address");
            assert_eq!(
                send_to(&sender, b"hello", address).expect("send"),
                Sent::Taken
            );
            let mut buffer = [0u8; 16];
            let (length, from) = receiver.recv_from(&mut buffer).expect("receive");
            assert_eq!(&buffer[..length], b"hello");
            assert_eq!(from, sender.local_addr().expect("address"));
        }
    }

    #[test]
    fn receiving_takes_what_waits_and_never_blocks() {
        let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let sender = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut buffer = [0u8; 16];
        assert_eq!(receive(&receiver, &mut buffer).expect("receive"), None);
        let address = receiver.local_addr().expect("address");
        send_to(&sender, b"one", address).expect("send");
        send_to(&sender, b"", address).expect("send");
        let mut next = || loop {
            if let Some(bytes) = receive(&receiver, &mut buffer).expect("receive") {
                return bytes;
            }
            std::thread::yield_now();
        };
        assert_eq!(next(), 3);
        assert_eq!(next(), 0, "an empty datagram is a datagram");
        assert_eq!(&buffer[..3], b"one", "the empty one wrote nothing");
        assert_eq!(receive(&receiver, &mut buffer).expect("receive"), None);
    }
}
