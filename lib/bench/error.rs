//! What can stop a bench: a bad command line, a cluster that is not (or no
//! longer) healthy, a kill or restart that failed, or an output file that
//! could not be written. Failed *calls* are not errors of the bench: they
//! are counted in the report.

use std::fmt;
use std::path::PathBuf;

/// Why the bench stopped.
#[derive(Debug)]
pub enum BenchError {
    /// The command line or the options make no sense; the text says why.
    Usage(String),
    /// The cluster file could not be read.
    Config(String),
    /// The cluster is not in the state a scenario needs (a process is down,
    /// no replica to kill); the text says what.
    Cluster(String),
    /// Killing, restarting or starting a process failed.
    Control(String),
    /// An output file could not be written.
    Write(PathBuf, std::io::Error),
    /// A chart could not be drawn.
    Chart(PathBuf, String),
    /// The bench ran to the end but some calls failed (their count): the
    /// report is written, and the exit status says so.
    CallsFailed(u64),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Usage(m) => write!(f, "{m}"),
            BenchError::Config(m) => write!(f, "cluster file: {m}"),
            BenchError::Cluster(m) => write!(f, "cluster: {m}"),
            BenchError::Control(m) => write!(f, "process control: {m}"),
            BenchError::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
            BenchError::Chart(path, m) => write!(f, "cannot draw {}: {m}", path.display()),
            BenchError::CallsFailed(n) => write!(f, "{n} calls failed (see the report)"),
        }
    }
}

impl std::error::Error for BenchError {}
