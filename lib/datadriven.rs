//! A small datadriven test runner, shared by the golden scenarios of both
//! replication cores (`lib/raft/tests/scripts.rs`,
//! `lib/sequencer/tests/scripts.rs`).
//!
//! A script is a text file whose expected output is the trace itself:
//!
//! ```text
//! # What the script proves (a comment block opens every script).
//!
//! campaign id=0
//! ----
//! n0->n1 t1 Vote last=i0/t0
//! ...
//! ```
//!
//! Each case is one command line (`name key=value key=a,b flag`), a `----`
//! line, and the expected output, which ends at the first blank line (so an
//! output never holds a blank line; an empty output is written `ok`).
//! Lines starting with `#` and blank lines between cases are kept as they
//! are. The runner hands each command to the script's harness, compares the
//! output with the expected text, and on a mismatch fails with a line diff
//! naming the file and the line of the command.
//!
//! `REWRITE=1` rewrites every script with the outputs produced instead of
//! comparing them: after a deliberate change, regenerate, then read the
//! diff of the scripts (`git diff -- '*testdata*'`) before committing it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::verdict::Verdict;

/// The environment variable that makes the runner rewrite the scripts.
pub const REWRITE_VAR: &str = "REWRITE";

/// The line between a command and its expected output.
const SEPARATOR: &str = "----";

/// The output written for a command that printed nothing.
const EMPTY_OUTPUT: &str = "ok";

/// How both cores' traces mark a message their node or member did not
/// handle: after its line, `(ignored: why)` or `(refused: why)`; in a
/// quiet trace's counts, `(ignored)` or `(refused)` after its kind. A
/// handled message is not marked.
pub fn verdict_marks(verdict: &Verdict) -> (String, &'static str) {
    match verdict {
        Verdict::Handled => (String::new(), ""),
        Verdict::Ignored(reason) => (format!(" (ignored: {reason})"), " (ignored)"),
        Verdict::Refused(why) => (format!(" (refused: {why})"), " (refused)"),
    }
}

/// One command of a script: its name and its arguments.
#[derive(Debug)]
pub struct Command {
    /// The first word of the line.
    pub name: String,
    /// `key=value` arguments in order; a bare word is a flag (no value).
    args: Vec<(String, Option<String>)>,
    /// Where the command is, `file:line`, for error messages.
    pub at: String,
}

impl Command {
    fn parse(line: &str, at: String) -> Command {
        let mut words = line.split_whitespace();
        let name = words
            .next()
            .expect("a command line is not blank")
            .to_string();
        let args = words
            .map(|word| match word.split_once('=') {
                Some((key, value)) => (key.to_string(), Some(value.to_string())),
                None => (word.to_string(), None),
            })
            .collect();
        Command { name, args, at }
    }

    /// Whether the bare word `key` was given.
    pub fn flag(&self, key: &str) -> bool {
        self.args
            .iter()
            .any(|(name, value)| name == key && value.is_none())
    }

    /// The value of `key=value`, if given.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(name, _)| name == key)
            .and_then(|(_, value)| value.as_deref())
    }

    /// The number given as `key=N`, if any.
    ///
    /// # Panics
    /// If the value is not a number (a broken script).
    pub fn number(&self, key: &str) -> Option<u64> {
        self.value(key).map(|value| self.parse_number(key, value))
    }

    /// The number given as `key=N`.
    ///
    /// # Panics
    /// If it is missing or not a number.
    pub fn required(&self, key: &str) -> u64 {
        self.number(key)
            .unwrap_or_else(|| panic!("{}: {} needs {key}=N", self.at, self.name))
    }

    /// The numbers given as `key=1,2,3` (none if the key is absent).
    pub fn numbers(&self, key: &str) -> Vec<u64> {
        self.value(key).map_or_else(Vec::new, |list| {
            list.split(',')
                .map(|value| self.parse_number(key, value))
                .collect()
        })
    }

    fn parse_number(&self, key: &str, value: &str) -> u64 {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{}: {key}={value} is not a number", self.at))
    }

    /// Panics naming the command: the script asked for something the
    /// harness does not know.
    pub fn unknown(&self) -> ! {
        panic!("{}: unknown command {:?}", self.at, self.name)
    }
}

/// A script, parsed: the lines kept as they are, and the cases.
enum Item {
    Verbatim(String),
    Case {
        command: String,
        line: usize,
        expected: Vec<String>,
    },
}

fn parse(text: &str) -> Vec<Item> {
    let lines: Vec<&str> = text.lines().collect();
    let mut items = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if line.trim().is_empty() || line.starts_with('#') {
            items.push(Item::Verbatim(line.to_string()));
            index += 1;
            continue;
        }
        let command = line.to_string();
        let separator = lines.get(index + 1).copied();
        assert_eq!(
            separator,
            Some(SEPARATOR),
            "line {}: a command is followed by {SEPARATOR}",
            index + 1
        );
        let start = index + 2;
        let mut end = start;
        while end < lines.len() && !lines[end].trim().is_empty() {
            end += 1;
        }
        let expected = lines[start..end].iter().map(|l| l.to_string()).collect();
        items.push(Item::Case {
            command,
            line: index + 1,
            expected,
        });
        index = end;
    }
    items
}

/// Turns a command's output into the lines of a case.
fn output_lines(output: &str) -> Vec<String> {
    let lines: Vec<String> = output.lines().map(|line| line.to_string()).collect();
    if lines.is_empty() {
        return vec![EMPTY_OUTPUT.to_string()];
    }
    assert!(
        lines.iter().all(|line| !line.trim().is_empty()),
        "an output holds no blank line (it would end the case):\n{output}"
    );
    lines
}

/// Runs one script with `execute` (a fresh harness per script). Returns
/// the mismatches, described; rewrites the file instead under `REWRITE=1`.
pub fn run_file(path: &Path, mut execute: impl FnMut(&Command) -> String) -> Vec<String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    assert!(
        text.starts_with('#'),
        "{}: a script opens with a comment saying what it proves",
        path.display()
    );
    let rewrite = std::env::var_os(REWRITE_VAR).is_some_and(|value| value != "0");
    let mut rewritten = String::new();
    let mut failures = Vec::new();
    for item in parse(&text) {
        match item {
            Item::Verbatim(line) => writeln!(rewritten, "{line}").expect("a String"),
            Item::Case {
                command,
                line,
                expected,
            } => {
                let at = format!("{}:{line}", shown_path(path));
                let actual = output_lines(&execute(&Command::parse(&command, at.clone())));
                if actual != expected {
                    failures.push(format!("{at}: {command}\n{}", diff(&expected, &actual)));
                }
                writeln!(rewritten, "{command}\n{SEPARATOR}").expect("a String");
                actual
                    .iter()
                    .for_each(|line| writeln!(rewritten, "{line}").expect("a String"));
            }
        }
    }
    if rewrite {
        std::fs::write(path, rewritten)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        return Vec::new();
    }
    failures
}

/// `path` from the crate root, as a failure names it.
fn shown_path(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The scripts (`*.txt`) of a folder under the crate root, in name order.
pub fn scripts(folder: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|error| panic!("{}: {error}", root.display()))
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no scripts in {}", root.display());
    paths
}

/// Runs every script of `folder`, each with a fresh harness from
/// `new_harness`, and fails once with every mismatch of every script.
pub fn run_folder<H>(
    folder: &str,
    new_harness: impl Fn() -> H,
    execute: impl Fn(&mut H, &Command) -> String,
) {
    let mut failures = Vec::new();
    for path in scripts(folder) {
        let mut harness = new_harness();
        failures.extend(run_file(&path, |command| execute(&mut harness, command)));
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ from their expected output (lines: - expected, + actual; \
         {REWRITE_VAR}=1 regenerates the scripts):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A line diff of two outputs: `-` expected only, `+` actual only, and
/// a few two-space context lines, from their longest common subsequence.
pub fn diff(expected: &[String], actual: &[String]) -> String {
    let (rows, columns) = (expected.len(), actual.len());
    // common[i][j]: the longest common subsequence of expected[i..], actual[j..].
    let mut common = vec![vec![0usize; columns + 1]; rows + 1];
    for i in (0..rows).rev() {
        for j in (0..columns).rev() {
            common[i][j] = if expected[i] == actual[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut marked = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < rows || j < columns {
        let (mark, line) = if i < rows && j < columns && expected[i] == actual[j] {
            i += 1;
            j += 1;
            (' ', &actual[j - 1])
        } else if i < rows && (j == columns || common[i + 1][j] >= common[i][j + 1]) {
            i += 1;
            ('-', &expected[i - 1])
        } else {
            j += 1;
            ('+', &actual[j - 1])
        };
        marked.push((mark, line));
    }
    with_context(&marked)
}

/// Context lines kept on each side of a change; farther ones are elided.
const DIFF_CONTEXT: usize = 3;

/// The marked lines near a change, with `...` for each run left out.
fn with_context(marked: &[(char, &String)]) -> String {
    let changed: Vec<usize> = (0..marked.len())
        .filter(|index| marked[*index].0 != ' ')
        .collect();
    let near = |index: usize| {
        changed
            .iter()
            .any(|change| change.abs_diff(index) <= DIFF_CONTEXT)
    };
    let mut lines = String::new();
    let mut elided = false;
    for (index, (mark, line)) in marked.iter().enumerate() {
        if near(index) {
            writeln!(lines, "{mark} {line}").expect("a String");
            elided = false;
        } else if !elided {
            lines.push_str("  ...\n");
            elided = true;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_diff_marks_what_is_missing_and_what_is_new() {
        let shown = diff(&lines("a\nb\nc"), &lines("a\nx\nc"));
        assert_eq!(shown, "  a\n- b\n+ x\n  c\n");
        let long = lines("1\n2\n3\n4\n5\n6\n7\n8\n9");
        let mut changed = long.clone();
        changed[7] = "eight".to_string();
        let shown = diff(&long, &changed);
        assert_eq!(shown, "  ...\n  5\n  6\n  7\n- 8\n+ eight\n  9\n");
    }

    #[test]
    fn a_script_parses_into_comments_and_cases() {
        let items = parse("# proves\n\ncmd a=1 b=2,3 flag\n----\nout 1\nout 2\n\nnext\n----\nok\n");
        let cases: Vec<(String, usize, Vec<String>)> = items
            .into_iter()
            .filter_map(|item| match item {
                Item::Case {
                    command,
                    line,
                    expected,
                } => Some((command, line, expected)),
                Item::Verbatim(_) => None,
            })
            .collect();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].1, 3);
        assert_eq!(cases[0].2, lines("out 1\nout 2"));
        let command = Command::parse(&cases[0].0, "x:3".to_string());
        assert_eq!(command.numbers("b"), vec![2, 3]);
        assert!(command.flag("flag") && !command.flag("a"));
        assert_eq!(command.number("a"), Some(1));
    }

    #[test]
    fn a_changed_expected_line_is_reported_with_its_place() {
        let folder = std::env::temp_dir().join(format!("datadriven-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("a temp folder");
        let path = folder.join("case.txt");
        std::fs::write(&path, "# proves\necho word=hi\n----\nhello\n").expect("written");
        let failures = run_file(&path, |command| {
            command.value("word").unwrap_or("").to_string()
        });
        std::fs::remove_dir_all(&folder).expect("removed");
        if std::env::var_os(REWRITE_VAR).is_some() {
            return;
        }
        assert_eq!(failures.len(), 1);
        assert!(failures[0].ends_with("case.txt:2: echo word=hi\n- hello\n+ hi\n"));
    }
}
