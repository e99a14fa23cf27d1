//! SIGTERM and SIGINT end a server at once, with exit status 0, as a crash
//! would end it.
//!
//! Why a handler at all: a process that runs as PID 1 (a container without
//! an init, a Kubernetes pod) gets no default action for these signals: the
//! kernel drops them, so `podman stop` and a pod's termination would wait
//! their grace period and then kill -9. A process with a handler gets them.
//!
//! Why at once rather than a drain: every database replica puts what it
//! acknowledges on disk (fsync) before it acknowledges, so ending at once
//! loses nothing acknowledged (the chaos suite's kill -9 checks exactly
//! that, all the time), and a frontend's callers retry elsewhere under the
//! same request id. A drain would add a shutdown path to keep correct and
//! gain nothing.

/// The line written to stderr before the process ends.
const NOTE: &[u8] = b"stopping: terminated by a signal\n";

extern "C" fn end_at_once(_signal: libc::c_int) {
    // SAFETY: write(2) and _exit(2) are async-signal-safe, and NOTE is a
    // static buffer of the given length.
    unsafe {
        libc::write(2, NOTE.as_ptr().cast(), NOTE.len());
        libc::_exit(0);
    }
}

/// Installs the handler for SIGTERM and SIGINT.
pub fn end_on_termination_signals() {
    let handler = end_at_once as extern "C" fn(libc::c_int);
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler calls only async-signal-safe functions.
        // glibc's signal() keeps a handler installed (BSD semantics).
        unsafe {
            libc::signal(signal, handler as libc::sighandler_t);
        }
    }
}
