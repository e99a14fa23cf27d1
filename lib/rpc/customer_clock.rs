//! What a customer-DB replica writes into each request it receives (its
//! clock reading, its index, a login's token), and the thread that puts a
//! bare clock reading into the log when the replica has put nothing there
//! for a while, so the time the replicas agree on moves on even at a
//! replica no client talks to (`crate::customer` `clock.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::customer::{CustomerCommand, CustomerRequest, CustomerState, CLOCK_READING_EVERY};
use crate::market::{RequestId, SessionToken};
use crate::replication::Replicator;

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
        self.last_reading_ms.fetch_max(now_ms, Ordering::Relaxed);
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
