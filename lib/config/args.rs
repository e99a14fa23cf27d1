use std::fmt;
use std::path::PathBuf;

use super::cluster::CLUSTER_FILE_DEFAULT;

/// The flags the binaries share: `--config FILE`, `--index N`, `--json`,
/// `--list`, `--serve` and `--help`. Each binary takes the ones it needs; the rest are refused
/// with a message naming them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// The cluster file.
    pub config: PathBuf,
    /// Which replica or frontend this process is (`--index`).
    pub index: Option<usize>,
    /// Print JSON instead of text (`--json`).
    pub json: bool,
    /// `--list` was given (cluster-status: print the processes, ask none).
    pub list: bool,
    /// `--serve ADDRESS` (cluster-status: serve the live view there).
    pub serve: Option<std::net::SocketAddr>,
    /// `--help` was given.
    pub help: bool,
}

/// A command line that could not be understood.
#[derive(Debug, PartialEq, Eq)]
pub struct ArgsError(pub String);

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgsError {}

impl Args {
    /// Parses `arguments` (without the program name). `allowed` lists the
    /// flags this binary accepts, e.g. `&["--config", "--index"]`.
    pub fn parse<I>(arguments: I, allowed: &[&str]) -> Result<Args, ArgsError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut args = Args {
            config: PathBuf::from(CLUSTER_FILE_DEFAULT),
            index: None,
            json: false,
            list: false,
            serve: None,
            help: false,
        };
        let mut arguments = arguments.into_iter();
        while let Some(argument) = arguments.next() {
            let (flag, inline_value) = match argument.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_string(), Some(value.to_string()))
                }
                _ => (argument.clone(), None),
            };
            if flag == "--help" || flag == "-h" {
                args.help = true;
                continue;
            }
            if !allowed.contains(&flag.as_str()) {
                return Err(ArgsError(format!("unknown argument {argument:?}")));
            }
            let mut value = || {
                inline_value
                    .clone()
                    .or_else(|| arguments.next())
                    .ok_or_else(|| ArgsError(format!("{flag} needs a value")))
            };
            match flag.as_str() {
                "--config" => args.config = PathBuf::from(value()?),
                "--index" => {
                    let text = value()?;
                    let index = text.parse().map_err(|_| {
                        ArgsError(format!("--index must be a number, got {text:?}"))
                    })?;
                    args.index = Some(index);
                }
                "--json" => args.json = true,
                "--list" => args.list = true,
                "--serve" => {
                    let text = value()?;
                    let address = text.parse().map_err(|_| {
                        ArgsError(format!(
                            "--serve takes an address like 127.0.0.1:8080, got {text:?}"
                        ))
                    })?;
                    args.serve = Some(address);
                }
                _ => return Err(ArgsError(format!("unknown argument {argument:?}"))),
            }
        }
        Ok(args)
    }

    /// The `--index` value, required by servers.
    pub fn require_index(&self) -> Result<usize, ArgsError> {
        self.index
            .ok_or_else(|| ArgsError("--index N is required".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, ArgsError> {
        Args::parse(
            line.split_whitespace().map(String::from),
            &["--config", "--index", "--json"],
        )
    }

    #[test]
    fn reads_flags_in_both_spellings() {
        let args = parse("--config conf/x.json --index=3 --json").unwrap();
        assert_eq!(args.config, PathBuf::from("conf/x.json"));
        assert_eq!(args.index, Some(3));
        assert!(args.json);
        assert_eq!(
            parse("").unwrap().config,
            PathBuf::from(CLUSTER_FILE_DEFAULT)
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert!(parse("--index x").is_err());
        assert!(parse("--index").is_err());
        assert!(parse("--colour red").is_err());
        assert!(parse("stray").is_err());
        assert!(Args::parse(vec!["--json".to_string()], &["--config"]).is_err());
        assert!(parse("").unwrap().require_index().is_err());
    }
}
