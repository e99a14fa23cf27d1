//! Why a chaos run could not be carried out (as opposed to the anomalies it
//! finds, which are its results).

use std::fmt;

/// A chaos run's failure to run.
#[derive(Debug)]
pub enum ChaosError {
    /// A bad command line.
    Usage(String),
    /// The cluster or the clients could not be set up.
    Setup(String),
    /// The cluster stopped working in a way the run cannot go on from.
    Cluster(String),
}

impl fmt::Display for ChaosError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChaosError::Usage(why) => write!(f, "usage: {why}"),
            ChaosError::Setup(why) => write!(f, "setup failed: {why}"),
            ChaosError::Cluster(why) => write!(f, "cluster failed: {why}"),
        }
    }
}

impl std::error::Error for ChaosError {}
