//! The bench's command line (documented in the module doc of
//! [`crate::bench`] and in docs/EVALUATION.md) and the options it gives.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::config::{Component, CLUSTER_FILE_DEFAULT};

use super::scale::ScaleOptions;
use super::scenario::Scenario;
use super::BenchError;

/// Usage text of `bench --help`.
pub const USAGE: &str = "\
usage: bench [--config conf/local.json] [--loads 1+1,10+10,100+100] [--calls 1000]
             [--scenarios A,B,C,D,E] [--out docs/evaluation] [--no-start]
             [--ramp-ms 10] [--kill-at 0.33]
  --loads      sellers+buyers per run, comma-separated
  --calls      load calls per client (setup and logout come on top)
  --scenarios  A all healthy; B kill a seller-server and a buyer-server in use;
               C kill a product-DB follower; D kill the product-DB leader;
               E kill a customer-DB member in use (it stays down)
  --out        folder for report.md, *.csv and *.svg
  --no-start   do not start the cluster (scripts/run.sh) when it is not up
  --ramp-ms    pause between two client threads' starts
  --kill-at    share of the run's calls after which B-E kill (0..1)
       bench --scale [--sizes 10000,100000] [--samples 200] [--config ...]
             [--out docs/evaluation/scale] [--no-start] [--lag 2000]
             [--lifecycle product-db,customer-db | --no-lifecycle]
  --scale      instead of the scenarios: grow the catalogue and the buyer
               accounts to each size and time get-item, searches (selective,
               broad, paged), a seller's list, login and purchase at each,
               then each database's snapshot size and time and the restart
               and catch-up time of one replica (docs/EVALUATION.md, Scale)
  --sizes      sizes (items, and accounts, the run puts up), ascending
  --samples    timed calls per operation and size
  --lag        writes a replica misses while down, for the catch-up time
  --lifecycle  the databases whose snapshot, restart and catch-up are measured
  --no-lifecycle  no snapshot, restart or catch-up figures (no replica killed)";

/// Most items `--scale` puts up (the product DB holds at most `ITEMS_MAX`).
const SCALE_SIZE_MAX: usize = crate::product::ITEMS_MAX;
/// Most timed calls per operation and size.
const SAMPLES_MAX: usize = 100_000;
/// Most writes a replica misses for the catch-up figure.
const LAG_MAX: usize = 1_000_000;

/// Most calls per client (keeps catalogue keywords within 8 characters).
const CALLS_MAX: usize = 100_000;
/// Most clients of one role.
const CLIENTS_MAX: usize = 1000;

/// How many sellers and buyers run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Load {
    /// Seller clients.
    pub sellers: usize,
    /// Buyer clients.
    pub buyers: usize,
}

impl Load {
    /// Every client.
    pub fn clients(self) -> usize {
        self.sellers + self.buyers
    }
}

impl fmt::Display for Load {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.sellers, self.buyers)
    }
}

impl FromStr for Load {
    type Err = BenchError;
    fn from_str(text: &str) -> Result<Self, BenchError> {
        let bad = || {
            BenchError::Usage(format!(
                "a load is sellers+buyers, e.g. 10+10; got {text:?}"
            ))
        };
        let (sellers, buyers) = text.trim().split_once('+').ok_or_else(bad)?;
        let load = Load {
            sellers: sellers.trim().parse().map_err(|_| bad())?,
            buyers: buyers.trim().parse().map_err(|_| bad())?,
        };
        if load.clients() == 0 || load.sellers > CLIENTS_MAX || load.buyers > CLIENTS_MAX {
            return Err(BenchError::Usage(format!(
                "a load has 1..={CLIENTS_MAX} clients of each role, got {load}"
            )));
        }
        if load.buyers > 0 && load.sellers == 0 {
            return Err(BenchError::Usage(format!(
                "buyers need at least one seller to put the catalogue, got {load}"
            )));
        }
        Ok(load)
    }
}

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchOptions {
    /// The cluster file.
    pub config: PathBuf,
    /// The loads, run in order within each scenario.
    pub loads: Vec<Load>,
    /// Load calls per client.
    pub calls: usize,
    /// The scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Where the report goes.
    pub out: PathBuf,
    /// Start the cluster with scripts/run.sh if it is not up.
    pub start_cluster: bool,
    /// Pause between two client threads' starts.
    pub ramp: Duration,
    /// Share of a run's calls after which a scenario kills.
    pub kill_at: f64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            config: PathBuf::from(CLUSTER_FILE_DEFAULT),
            loads: vec![
                Load {
                    sellers: 1,
                    buyers: 1,
                },
                Load {
                    sellers: 10,
                    buyers: 10,
                },
                Load {
                    sellers: 100,
                    buyers: 100,
                },
            ],
            calls: 1000,
            scenarios: Scenario::ALL.to_vec(),
            out: PathBuf::from("docs/evaluation"),
            start_cluster: true,
            ramp: Duration::from_millis(10),
            kill_at: 1.0 / 3.0,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// Run the bench.
    Run(BenchOptions),
    /// Run the scale measurement (`--scale`).
    Scale(ScaleOptions),
}

fn list<T: FromStr<Err = BenchError>>(text: &str) -> Result<Vec<T>, BenchError> {
    let items = text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<T>, _>>()?;
    if items.is_empty() {
        return Err(BenchError::Usage(format!("an empty list: {text:?}")));
    }
    Ok(items)
}

/// The databases of `--lifecycle`, each once.
fn databases(text: &str) -> Result<Vec<Component>, BenchError> {
    let mut databases: Vec<Component> = Vec::new();
    for name in text.split(',') {
        let database = match name.parse() {
            Ok(database @ (Component::ProductDb | Component::CustomerDb)) => database,
            _ => {
                return Err(BenchError::Usage(format!(
                    "--lifecycle: no database {name:?}"
                )))
            }
        };
        if !databases.contains(&database) {
            databases.push(database);
        }
    }
    Ok(databases)
}

fn number<T: FromStr>(flag: &str, text: &str) -> Result<T, BenchError> {
    text.trim()
        .parse()
        .map_err(|_| BenchError::Usage(format!("{flag} takes a number, got {text:?}")))
}

/// Refuses scale options out of their ranges.
fn check_scale(scale: &ScaleOptions) -> Result<(), BenchError> {
    let sizes = &scale.sizes;
    if sizes.is_empty()
        || sizes.windows(2).any(|pair| pair[0] >= pair[1])
        || sizes[0] == 0
        || sizes[sizes.len() - 1] > SCALE_SIZE_MAX
    {
        return Err(BenchError::Usage(format!(
            "--sizes must be ascending sizes 1..={SCALE_SIZE_MAX}"
        )));
    }
    if scale.samples == 0 || scale.samples > SAMPLES_MAX {
        return Err(BenchError::Usage(format!(
            "--samples must be 1..={SAMPLES_MAX}"
        )));
    }
    if scale.lag == 0 || scale.lag > LAG_MAX {
        return Err(BenchError::Usage(format!("--lag must be 1..={LAG_MAX}")));
    }
    Ok(())
}

/// Parses the arguments (without the program name). Flags take their value
/// as the next argument or after `=`; a later flag overrides an earlier one.
pub fn parse_args(arguments: impl IntoIterator<Item = String>) -> Result<Command, BenchError> {
    let mut options = BenchOptions::default();
    let mut scale_mode = false;
    let mut scale = ScaleOptions {
        config: PathBuf::new(),
        sizes: vec![10_000, 100_000],
        samples: 200,
        out: PathBuf::from("docs/evaluation/scale"),
        start_cluster: true,
        lifecycle: vec![Component::ProductDb, Component::CustomerDb],
        lag: 2000,
    };
    let mut out_given = false;
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        let (flag, inline) = match argument.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (argument.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| arguments.next())
                .ok_or_else(|| BenchError::Usage(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--no-start" => options.start_cluster = false,
            "--config" => options.config = PathBuf::from(value()?),
            "--out" => {
                options.out = PathBuf::from(value()?);
                out_given = true;
            }
            "--scale" => scale_mode = true,
            "--lag" => scale.lag = number("--lag", &value()?)?,
            "--lifecycle" => scale.lifecycle = databases(&value()?)?,
            "--no-lifecycle" => scale.lifecycle = Vec::new(),
            "--sizes" => {
                scale.sizes = value()?
                    .split(',')
                    .map(|size| number("--sizes", size))
                    .collect::<Result<_, _>>()?
            }
            "--samples" => scale.samples = number("--samples", &value()?)?,
            "--loads" => options.loads = list(&value()?)?,
            "--scenarios" => options.scenarios = list(&value()?)?,
            "--calls" => options.calls = number("--calls", &value()?)?,
            "--ramp-ms" => options.ramp = Duration::from_millis(number("--ramp-ms", &value()?)?),
            "--kill-at" => options.kill_at = number("--kill-at", &value()?)?,
            _ => {
                return Err(BenchError::Usage(format!(
                    "unknown argument {argument:?}\n{USAGE}"
                )))
            }
        }
    }
    let scale = scale_mode.then_some(scale);
    checked_command(options, scale, out_given)
}

/// The command the parsed flags make, once every value is checked against
/// its limits. `scale` is `Some` when `--scale` was given; it takes the
/// cluster file, `--no-start` and, if `out_given`, `--out` from `options`.
fn checked_command(
    options: BenchOptions,
    scale: Option<ScaleOptions>,
    out_given: bool,
) -> Result<Command, BenchError> {
    if options.calls == 0 || options.calls > CALLS_MAX {
        return Err(BenchError::Usage(format!(
            "--calls must be 1..={CALLS_MAX}"
        )));
    }
    if !(options.kill_at > 0.0 && options.kill_at < 1.0) {
        return Err(BenchError::Usage(
            "--kill-at must be between 0 and 1".into(),
        ));
    }
    if let Some(mut scale) = scale {
        scale.config = options.config;
        scale.start_cluster = options.start_cluster;
        if out_given {
            scale.out = options.out;
        }
        check_scale(&scale)?;
        return Ok(Command::Scale(scale));
    }
    Ok(Command::Run(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, BenchError> {
        parse_args(line.split_whitespace().map(String::from))
    }

    #[test]
    fn reads_every_flag() {
        let Command::Run(o) = parse(
            "--config c.json --loads 1+1,2+3 --calls=20 --scenarios a,B --out x --no-start --ramp-ms 5 --kill-at 0.5",
        )
        .unwrap() else {
            panic!("not a run")
        };
        assert_eq!(o.config, PathBuf::from("c.json"));
        assert_eq!(
            o.loads,
            vec![
                Load {
                    sellers: 1,
                    buyers: 1
                },
                Load {
                    sellers: 2,
                    buyers: 3
                }
            ]
        );
        assert_eq!(o.calls, 20);
        assert_eq!(o.scenarios, vec![Scenario::A, Scenario::B]);
        assert_eq!(o.out, PathBuf::from("x"));
        assert!(!o.start_cluster);
        assert_eq!(o.ramp, Duration::from_millis(5));
        assert_eq!(o.kill_at, 0.5);
        assert_eq!(parse("--help").unwrap(), Command::Help);
        assert_eq!(parse("").unwrap(), Command::Run(BenchOptions::default()));
    }

    #[test]
    fn reads_the_scale_mode() {
        let Command::Scale(scale) =
            parse("--scale --sizes 100,2000 --samples 5 --no-start").unwrap()
        else {
            panic!("not a scale run")
        };
        assert_eq!(scale.sizes, vec![100, 2000]);
        assert_eq!(scale.samples, 5);
        assert_eq!(scale.out, PathBuf::from("docs/evaluation/scale"));
        assert!(!scale.start_cluster);
        let both = vec![Component::ProductDb, Component::CustomerDb];
        assert_eq!(scale.lifecycle, both);
        assert_eq!(scale.lag, 2000);
        let Command::Scale(scale) = parse("--scale --lag=50 --no-lifecycle").unwrap() else {
            panic!("not a scale run")
        };
        assert_eq!((scale.lag, scale.lifecycle), (50, vec![]));
        let Command::Scale(scale) = parse("--scale --lifecycle product-db").unwrap() else {
            panic!("not a scale run")
        };
        assert_eq!(scale.lifecycle, vec![Component::ProductDb]);
        for line in [
            "--scale --sizes 2000,100",
            "--scale --sizes 0",
            "--scale --sizes 2000000",
            "--scale --samples 0",
            "--scale --sizes x",
            "--scale --lag 0",
            "--scale --lag x",
            "--scale --lifecycle buyer-server",
            "--scale --lifecycle product-db,",
        ] {
            assert!(parse(line).is_err(), "{line}");
        }
    }

    #[test]
    fn refuses_nonsense() {
        for line in [
            "--calls 0",
            "--calls x",
            "--loads 0+0",
            "--loads 0+5",
            "--loads 3",
            "--scenarios F",
            "--scenarios ,",
            "--kill-at 1.5",
            "--colour red",
            "--out",
        ] {
            assert!(parse(line).is_err(), "{line}");
        }
    }
}
