//! [`Queues`]: the two channels every driver has, made in one place with
//! their bounds: the core thread's inbox (peer messages, ticks, client
//! requests) and the apply queue from the core to the apply thread.

use crossbeam_channel::{bounded, Receiver, Sender};

/// The core inbox carrying `E`s and the apply queue carrying `T`s, both
/// bounded; each thread takes the end it needs.
pub struct Queues<E, T> {
    /// The core inbox: every producer holds a clone of the sender.
    pub core: (Sender<E>, Receiver<E>),
    /// The apply queue: the core sends, the apply thread receives.
    pub apply: (Sender<T>, Receiver<T>),
}

impl<E, T> Queues<E, T> {
    /// An inbox of `core_max` events and an apply queue of `apply_max` tasks.
    pub fn new(core_max: usize, apply_max: usize) -> Queues<E, T> {
        Queues {
            core: bounded(core_max),
            apply: bounded(apply_max),
        }
    }
}
