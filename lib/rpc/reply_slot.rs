//! A one-shot hand-over of a command's result from the thread that applied
//! it to the gRPC completion queue that answers the call.
//!
//! Why the answer is sent from the completion queue, and not by dropping
//! the future that `UnarySink::success` returns on the applying thread:
//! once the handler has returned, that future holds the call's last
//! reference, and gRPC's core cancels a server call whose last reference
//! goes before the call is closed. The client then got CANCELLED for a
//! command that was applied (a few in 10,000 calls; the chaos suite saw
//! dozens a minute). Instead the handler spawns, on its completion queue,
//! a future that waits here for the result, sends it, and lives until gRPC
//! reports it sent. This is grpcio's own executor, not a further runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    sender_gone: bool,
    waker: Option<Waker>,
}

/// Where the applying thread puts the result (once).
pub(super) struct ResultSender<T>(Arc<Mutex<Slot<T>>>);

/// Resolves to the result, or to `None` if the sender was dropped unused.
pub(super) struct ResultReceiver<T>(Arc<Mutex<Slot<T>>>);

/// A connected pair.
pub(super) fn reply_slot<T>() -> (ResultSender<T>, ResultReceiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        sender_gone: false,
        waker: None,
    }));
    (ResultSender(slot.clone()), ResultReceiver(slot))
}

fn lock<T>(slot: &Mutex<Slot<T>>) -> MutexGuard<'_, Slot<T>> {
    // Nothing panics while holding the lock; a poisoned slot still holds
    // consistent data.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> ResultSender<T> {
    /// Hands `value` over and wakes the receiver.
    pub(super) fn send(self, value: T) {
        lock(&self.0).value = Some(value);
        // Drop wakes the receiver.
    }
}

impl<T> Drop for ResultSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = lock(&self.0);
            slot.sender_gone = true;
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for ResultReceiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = lock(&self.0);
        if let Some(value) = slot.value.take() {
            return Poll::Ready(Some(value));
        }
        if slot.sender_gone {
            return Poll::Ready(None);
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_arrives_across_threads() {
        let (sender, receiver) = reply_slot();
        let applying = std::thread::spawn(move || sender.send(7));
        assert_eq!(futures_executor::block_on(receiver), Some(7));
        applying.join().unwrap();
    }

    #[test]
    fn a_dropped_sender_resolves_to_none() {
        let (sender, receiver) = reply_slot::<u32>();
        drop(sender);
        assert_eq!(futures_executor::block_on(receiver), None);
    }
}
