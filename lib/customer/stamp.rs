//! What a customer-DB replica writes into each request it receives (its
//! clock reading, its index, a login's token), and the thread that puts a
//! bare clock reading into the log when the replica has put nothing there
//! for a while, so the time the replicas agree on moves on even at a
//! replica no client talks to (`clock.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::market::{RequestId, SessionToken};
use crate::replication::Replicator;

use super::clock::CLOCK_READING_EVERY;
use super::{CustomerCommand, CustomerRequest, CustomerState};

/// The stamp of one customer-DB replica.
pub struct CustomerStamp {
    replica: u16,
    /// When this replica last read its clock into a request, ms since the
    /// epoch.
    last_reading_ms: AtomicU64,
}

impl CustomerStamp {
    /// The stamp of replica `replica`.
    pub fn new(replica: u16) -> CustomerStamp {
        CustomerStamp {
            replica,
            last_reading_ms: AtomicU64::new(0),
        }
    }

    /// Reads the clock once and draws a login's session token, and writes
    /// both into the request with this replica's index: every replica then
    /// applies the same values, which keeps them identical.
    pub fn stamp(&self, request: &mut CustomerRequest) {
        let now_ms = wall_clock_ms();
        request.now_ms = now_ms;
        request.read_by = Some(self.replica);
        if let CustomerCommand::Login { token, .. } = &mut request.command {
            *token = SessionToken(format!("{:032x}", rand::random::<u128>()));
        }
        // A query is answered from the state and never reaches the log
        // (unless it renews a session): its reading moves no agreed time,
        // so it must not hold back this replica's clock readings.
        if !request.command.is_query() {
            self.last_reading_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }

    /// How long since this replica last stamped a request.
    fn since_last_reading(&self) -> Duration {
        let last = self.last_reading_ms.load(Ordering::Relaxed);
        Duration::from_millis(wall_clock_ms().saturating_sub(last))
    }
}

/// Starts the thread `clock-readings`: every `CLOCK_READING_EVERY / 2` it
/// submits a `ClockReading` if the replica stamped nothing for
/// `CLOCK_READING_EVERY`. A reading that cannot be ordered (the replica is
/// outside the view) is simply lost; the next one follows.
pub fn start_clock_readings(
    replicator: Arc<dyn Replicator<CustomerState>>,
    stamp: Arc<CustomerStamp>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("clock-readings".into())
        .spawn(move || loop {
            std::thread::sleep(CLOCK_READING_EVERY / 2);
            if stamp.since_last_reading() < CLOCK_READING_EVERY {
                continue;
            }
            let mut request = CustomerRequest {
                request_id: RequestId("clock-reading".into()),
                now_ms: 0,
                read_by: None,
                command: CustomerCommand::ClockReading,
            };
            stamp.stamp(&mut request);
            replicator.submit(request, Box::new(|_| {}));
        })
        .map(drop)
}

fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Role;

    fn request(command: CustomerCommand) -> CustomerRequest {
        CustomerRequest {
            request_id: RequestId("r".into()),
            now_ms: 0,
            read_by: None,
            command,
        }
    }

    #[test]
    fn only_what_reaches_the_log_counts_as_a_clock_reading() {
        // A replica that receives only queries (answered from its state,
        // not logged) must still put clock readings into the log; one that
        // receives writes need not.
        let stamp = CustomerStamp::new(2);
        let session = SessionToken("t".into());
        let mut query = request(CustomerCommand::Touch {
            role: Role::Buyer,
            session: session.clone(),
        });
        stamp.stamp(&mut query);
        assert_eq!(query.read_by, Some(2));
        assert!(
            stamp.since_last_reading() >= CLOCK_READING_EVERY,
            "a query is no reading"
        );
        let mut write = request(CustomerCommand::CartSave { session });
        stamp.stamp(&mut write);
        assert!(
            stamp.since_last_reading() < CLOCK_READING_EVERY,
            "a write is one"
        );
    }
}
