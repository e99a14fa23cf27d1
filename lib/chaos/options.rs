//! The chaos binary's command line.

use std::path::PathBuf;
use std::time::Duration;

use super::ChaosError;

/// How to use the binary.
pub const USAGE: &str = "\
usage: chaos [--seed N] [--minutes M] [--sellers S] [--buyers B]
             [--dir DIR] [--keep] [--bin-dir DIR] [--first-anomaly] [--hosts]
       chaos --time-checker [--ops N] [--seed N]

Starts its own cluster (5 product-DB and 5 customer-DB replicas, 2 seller
and 2 buyer servers, the financial service) on a loopback address of its
own, runs S sellers and B buyers against it while a nemesis crashes, pauses
and restarts processes and drops UDP datagrams for M minutes (default 2),
restarts the whole cluster from its data folders, checks the history, and
prints a summary. Exit status: 0 no anomaly and every object decided,
1 anomalies, 2 the run failed, 3 some object undecided (skipped, or the
checker ran out of budget): a timeout is never a pass.

  --seed N       seed of the fault schedule and the clients (default: time)
  --minutes M    minutes of faults, a decimal (default 2)
  --sellers S    seller accounts, each with two sessions (default 2)
  --buyers B     buyer accounts, each with a writer and a reader (default 3)
  --dir DIR      where the cluster file, data and logs go (default: a new
                 folder under the system's temp folder, removed after)
  --keep         keep that folder
  --bin-dir DIR  where the cluster's binaries are (default: next to chaos)
  --first-anomaly  stop checking at the first object found not
                 linearizable (the rest are listed as not checked)
  --hosts        run on the network-namespace hosts of scripts/hosts.sh
                 (needs root, ip and iptables; the hosts must be down):
                 every process on the host conf/hosts.json gives it (5
                 product-DB and 5 customer-DB replicas, 4 seller and 4
                 buyer servers, the financial service), the clients on the
                 client host; besides the faults above, the nemesis cuts off
                 the product-DB leader's host, a customer-DB member's host,
                 two hosts from three (hosts.sh partition), and makes every
                 host lose packets (hosts.sh loss); at the end every
                 replica's digest must agree; hosts.sh down on every path
  --time-checker times the linearizability checker on generated histories
                 of one item (--ops operations, default 10000, from 10
                 concurrent clients): one linearizable, one with a stale
                 read; no cluster is started";

/// A run's settings.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    /// Seed of everything random.
    pub seed: u64,
    /// How long the nemesis strikes.
    pub duration: Duration,
    /// Seller accounts.
    pub sellers: usize,
    /// Buyer accounts.
    pub buyers: usize,
    /// Where the run's files go; `None`: a fresh temp folder.
    pub dir: Option<PathBuf>,
    /// Keep the folder afterwards.
    pub keep: bool,
    /// Where the binaries are; `None`: next to the current executable.
    pub bin_dir: Option<PathBuf>,
    /// Stop checking at the first object found not linearizable.
    pub first_anomaly: bool,
    /// Run on the network-namespace hosts of scripts/hosts.sh.
    pub hosts: bool,
}

impl Default for ChaosOptions {
    fn default() -> Self {
        ChaosOptions {
            seed: 1,
            duration: Duration::from_secs(120),
            sellers: 2,
            buyers: 3,
            dir: None,
            keep: false,
            bin_dir: None,
            first_anomaly: false,
            hosts: false,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run with these options.
    Run(ChaosOptions),
    /// Time the checker on generated histories of `ops` operations.
    TimeChecker { ops: usize, seed: u64 },
    /// Print the usage.
    Help,
}

/// Parses the arguments after the program name.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, ChaosError> {
    let mut options = ChaosOptions {
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs()),
        ..ChaosOptions::default()
    };
    let mut time_checker = false;
    let mut ops = 10_000usize;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| ChaosError::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--seed" => options.seed = number(&value("--seed")?, "--seed")?,
            "--minutes" => {
                let text = value("--minutes")?;
                let minutes: f64 = text
                    .parse()
                    .ok()
                    .filter(|m: &f64| m.is_finite() && *m > 0.0 && *m <= 24.0 * 60.0)
                    .ok_or_else(|| {
                        ChaosError::Usage(format!(
                            "--minutes takes a number of minutes above 0, at most a day, not {text:?}"
                        ))
                    })?;
                options.duration = Duration::from_secs_f64(minutes * 60.0);
            }
            "--sellers" => options.sellers = count(&value("--sellers")?, "--sellers")?,
            "--buyers" => options.buyers = count(&value("--buyers")?, "--buyers")?,
            "--dir" => options.dir = Some(PathBuf::from(value("--dir")?)),
            "--keep" => options.keep = true,
            "--bin-dir" => options.bin_dir = Some(PathBuf::from(value("--bin-dir")?)),
            "--first-anomaly" => options.first_anomaly = true,
            "--hosts" => options.hosts = true,
            "--time-checker" => time_checker = true,
            "--ops" => {
                let text = value("--ops")?;
                ops = match text.parse::<usize>() {
                    Ok(n) if (1..=1_000_000).contains(&n) => n,
                    _ => {
                        return Err(ChaosError::Usage(format!(
                            "--ops takes a count from 1 to 1000000, not {text:?}"
                        )))
                    }
                };
            }
            other => return Err(ChaosError::Usage(format!("unknown argument {other:?}"))),
        }
    }
    if time_checker {
        return Ok(Command::TimeChecker {
            ops,
            seed: options.seed,
        });
    }
    Ok(Command::Run(options))
}

fn number(text: &str, name: &str) -> Result<u64, ChaosError> {
    text.parse()
        .map_err(|_| ChaosError::Usage(format!("{name} takes a whole number, not {text:?}")))
}

fn count(text: &str, name: &str) -> Result<usize, ChaosError> {
    match text.parse::<usize>() {
        Ok(n) if (1..=50).contains(&n) => Ok(n),
        _ => Err(ChaosError::Usage(format!(
            "{name} takes a count from 1 to 50, not {text:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, ChaosError> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn reads_every_option() {
        let Ok(Command::Run(options)) = parse(&[
            "--seed",
            "9",
            "--minutes",
            "0.5",
            "--sellers",
            "3",
            "--buyers",
            "4",
            "--keep",
            "--hosts",
        ]) else {
            panic!("valid arguments");
        };
        assert_eq!(options.seed, 9);
        assert_eq!(options.duration, Duration::from_secs(30));
        assert_eq!(
            (options.sellers, options.buyers, options.keep),
            (3, 4, true)
        );
        assert!(options.hosts);
        let Ok(Command::Run(options)) = parse(&[]) else {
            panic!("no arguments are valid");
        };
        assert!(!options.hosts, "loopback unless asked");
    }

    #[test]
    fn refuses_bad_values_with_a_reason() {
        for (args, expected) in [
            (&["--minutes", "-1"][..], "--minutes"),
            (&["--minutes", "NaN"][..], "--minutes"),
            (&["--seed", "x"][..], "--seed"),
            (&["--buyers", "0"][..], "--buyers"),
            (&["--seed"][..], "needs a value"),
            (&["--frobnicate"][..], "unknown argument"),
        ] {
            match parse(args) {
                Err(ChaosError::Usage(why)) => assert!(why.contains(expected), "{why}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }
}
