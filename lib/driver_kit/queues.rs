//! [`Queues`]: the two channels every driver has, made in one place with
//! their bounds: the core thread's inbox (ticks, client requests, the
//! other threads' reports) and the apply queue from the core to the apply
//! thread; and the core's doorbell, which every producer of the inbox
//! rings, since both cores sleep on their socket and the doorbell
//! (`core_wake.rs`).

use std::io;
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};

use super::core_wake::{CoreInbox, CoreWake};

/// The core inbox carrying `E`s and the apply queue carrying `T`s, both
/// bounded, and the core's doorbell; each thread takes the end it needs.
pub struct Queues<E, T> {
    /// The core inbox: producers take [`Queues::core_inbox`], which rings
    /// the doorbell; the core keeps the receiver.
    pub core: (Sender<E>, Receiver<E>),
    /// The apply queue: the core sends, the apply thread receives.
    pub apply: (Sender<T>, Receiver<T>),
    /// The doorbell the core sleeps on.
    pub(crate) wake: Arc<CoreWake>,
}

impl<E, T> Queues<E, T> {
    /// An inbox of `core_max` events, an apply queue of `apply_max` tasks,
    /// and a doorbell (an eventfd, which the system may refuse).
    pub fn new(core_max: usize, apply_max: usize) -> io::Result<Queues<E, T>> {
        Ok(Queues {
            core: bounded(core_max),
            apply: bounded(apply_max),
            wake: Arc::new(CoreWake::new()?),
        })
    }

    /// A producer's end of the core inbox: it rings the doorbell.
    pub(crate) fn core_inbox(&self) -> CoreInbox<E> {
        CoreInbox::new(self.core.0.clone(), Arc::clone(&self.wake))
    }
}
