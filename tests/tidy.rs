//! Tidy: habits of the code that neither rustfmt nor clippy checks, after
//! TigerBeetle's `tidy.zig`. It reads the source and fails, naming
//! `file:line` for each finding, on
//! - a function longer than [`FUNCTION_LINES_MAX`] lines, counted from its
//!   `fn` line to its closing brace, inclusive;
//! - a line longer than [`LINE_COLUMNS_MAX`] characters (characters, not
//!   bytes: a name in Greek is as wide as one in English);
//! - a comment that points at an issue number (the word "issue" and a
//!   number, or a `#` and digits): a reader has the code, not the tracker,
//!   so a comment says what the issue said.
//!
//! The two limits hold for the code that ships: every .rs file under lib/
//! and bin/, and build.rs, but not test code (folders named `tests`, files
//! named `tests.rs`, `#[cfg(test)] mod name { ... }` blocks). The comment
//! rule holds for every .rs file, tests/ included.
//!
//! The checker is a small lexer, not a parser: it blanks out comments and
//! string and character literals, so that braces and `fn` inside them do
//! not count, and then finds each `fn` keyword that names a function and
//! matches its body's braces. Closures have no `fn`, so they never count on
//! their own; a nested function counts on its own and inside its parent.
//! The tests at the end check the checker on small sources.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The longest a function may be, from its `fn` line to its closing brace.
const FUNCTION_LINES_MAX: usize = 70;
/// The longest a line may be, in characters.
const LINE_COLUMNS_MAX: usize = 100;
/// Folders whose findings are listed but do not fail the test: none. A
/// folder written before a new rule may go here while it is brought up to
/// it, and comes off the list once it is.
const EXEMPT_FOLDERS: &[&str] = &[];

/// One broken habit, at a line of a file.
#[derive(Debug, PartialEq, Eq)]
struct Finding {
    path: String,
    line: usize,
    what: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.what)
    }
}

/// A function with a body, as the checker found it.
#[derive(Debug, PartialEq, Eq)]
struct Function {
    name: String,
    /// The line of its `fn` keyword, from 1.
    line: usize,
    /// Lines from the `fn` line to the closing brace, inclusive.
    lines: usize,
}

/// A source file, lexed.
struct Lexed {
    /// The text with every comment and every string or character literal
    /// blanked out (spaces; line breaks kept), so only code is left.
    code: Vec<char>,
    /// The line (from 1) of each character of `code`.
    line_of: Vec<usize>,
    /// Every comment with its line; a block comment once per line.
    comments: Vec<(usize, String)>,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn at(chars: &[char], i: usize) -> char {
    chars.get(i).copied().unwrap_or('\0')
}

fn lex(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut line_of = Vec::with_capacity(chars.len());
    let mut line = 1;
    for &c in &chars {
        line_of.push(line);
        if c == '\n' {
            line += 1;
        }
    }
    let mut code = chars.clone();
    let mut comments = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let Some((end, is_comment)) = literal_or_comment(&chars, i) else {
            i += 1;
            continue;
        };
        if is_comment {
            let text: String = chars[i..end].iter().collect();
            for (offset, part) in text.split('\n').enumerate() {
                comments.push((line_of[i] + offset, part.to_string()));
            }
        }
        for c in &mut code[i..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end;
    }
    Lexed {
        code,
        line_of,
        comments,
    }
}

/// If a comment or a literal starts at `i`: where it ends (exclusive) and
/// whether it is a comment. Lifetimes and labels (`'a`) are neither.
fn literal_or_comment(chars: &[char], i: usize) -> Option<(usize, bool)> {
    let token_start = i == 0 || !is_ident(chars[i - 1]);
    match (chars[i], at(chars, i + 1)) {
        ('/', '/') => {
            let end = (i..chars.len()).find(|&j| chars[j] == '\n');
            Some((end.unwrap_or(chars.len()), true))
        }
        ('/', '*') => Some((block_comment_end(chars, i), true)),
        ('"', _) => Some((string_end(chars, i), false)),
        ('\'', _) => char_literal_end(chars, i).map(|end| (end, false)),
        ('b' | 'c' | 'r', _) if token_start => prefixed_literal_end(chars, i).map(|e| (e, false)),
        _ => None,
    }
}

/// The end of a block comment at `i`; they nest.
fn block_comment_end(chars: &[char], i: usize) -> usize {
    let mut depth = 0;
    let mut j = i;
    while j < chars.len() {
        match (chars[j], at(chars, j + 1)) {
            ('/', '*') => {
                depth += 1;
                j += 2;
            }
            ('*', '/') => {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    chars.len()
}

/// The end of a string literal whose opening quote is at `i`.
fn string_end(chars: &[char], i: usize) -> usize {
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// The end of a character literal at `i` (`'x'`, `'\n'`, `'\u{1F600}'`),
/// or `None` for a lifetime or a label.
fn char_literal_end(chars: &[char], i: usize) -> Option<usize> {
    if at(chars, i + 1) == '\\' {
        let close = (i + 3..chars.len()).find(|&j| chars[j] == '\'')?;
        Some(close + 1)
    } else if at(chars, i + 2) == '\'' && at(chars, i + 1) != '\n' {
        Some(i + 3)
    } else {
        None
    }
}

/// The end of a literal with a prefix at `i`: `b"..."`, `c"..."`, `b'x'`,
/// or a raw string (`r"..."`, `r#"..."#`, `br##"..."##`). `None` when `i`
/// starts a name instead (`rest`, `r#type`).
fn prefixed_literal_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if chars[j] == 'b' || chars[j] == 'c' {
        j += 1;
        match at(chars, j) {
            '"' => return Some(string_end(chars, j)),
            '\'' if chars[i] == 'b' => return char_literal_end(chars, j),
            'r' => {}
            _ => return None,
        }
    }
    j += 1; // the `r`
    let hashes = (j..chars.len()).take_while(|&k| chars[k] == '#').count();
    j += hashes;
    if at(chars, j) != '"' {
        return None;
    }
    let mut k = j + 1;
    while k < chars.len() {
        if chars[k] == '"' && (1..=hashes).all(|h| at(chars, k + h) == '#') {
            return Some(k + 1 + hashes);
        }
        k += 1;
    }
    Some(chars.len())
}

/// The index just past the brace that closes the one at `open`.
fn matching_brace(code: &[char], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, &c) in code.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

fn skip_whitespace(code: &[char], mut i: usize) -> usize {
    while i < code.len() && code[i].is_whitespace() {
        i += 1;
    }
    i
}

fn word_at(code: &[char], i: usize, word: &str) -> bool {
    let len = word.chars().count();
    let before_ok = i == 0 || !is_ident(code[i - 1]);
    before_ok
        && word.chars().enumerate().all(|(k, c)| at(code, i + k) == c)
        && !is_ident(at(code, i + len))
}

/// Every function with a body: free functions, methods, trait methods with
/// a default body, nested functions, functions a macro defines (their name
/// may be a `$name`). Not function-pointer types (`fn(u32) -> u32`), not
/// bodiless declarations (`fn f(&self);`), not closures.
fn functions(lexed: &Lexed) -> Vec<Function> {
    let code = &lexed.code;
    let mut found = Vec::new();
    for i in 0..code.len() {
        if !word_at(code, i, "fn") {
            continue;
        }
        let name_start = skip_whitespace(code, i + 2);
        let first = at(code, name_start);
        if name_start == i + 2 || !(is_ident(first) || first == '$') || first.is_ascii_digit() {
            continue;
        }
        let name_end = (name_start + 1..code.len())
            .find(|&j| !is_ident(code[j]))
            .unwrap_or(code.len());
        let Some(open) = body_start(code, name_end) else {
            continue;
        };
        let close = matching_brace(code, open) - 1;
        let line = lexed.line_of[i];
        found.push(Function {
            name: code[name_start..name_end].iter().collect(),
            line,
            lines: lexed.line_of[close.min(code.len() - 1)] - line + 1,
        });
    }
    found
}

/// The opening brace of a function's body, searching from the end of its
/// name over generics, parameters, return type and `where` clause; `None`
/// if a `;` at the top level comes first (a declaration). Brackets are
/// tracked because `[u8; 4]` holds a `;`.
fn body_start(code: &[char], from: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (j, &c) in code.iter().enumerate().skip(from) {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '{' if depth == 0 => return Some(j),
            ';' if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// The lines (from 1, inclusive ranges) of `#[cfg(test)] mod name { ... }`
/// blocks, other attributes and `pub` between them allowed.
fn test_modules(lexed: &Lexed) -> Vec<(usize, usize)> {
    let code = &lexed.code;
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut ranges = Vec::new();
    for i in 0..code.len() {
        if !code[i..].starts_with(&marker) {
            continue;
        }
        let mut j = skip_whitespace(code, i + marker.len());
        while at(code, j) == '#' {
            let close = (j..code.len())
                .find(|&k| code[k] == ']')
                .unwrap_or(code.len());
            j = skip_whitespace(code, close + 1);
        }
        if word_at(code, j, "pub") {
            j = skip_whitespace(code, j + 3);
            if at(code, j) == '(' {
                let close = (j..code.len())
                    .find(|&k| code[k] == ')')
                    .unwrap_or(code.len());
                j = skip_whitespace(code, close + 1);
            }
        }
        if !word_at(code, j, "mod") {
            continue;
        }
        let name_end = (j + 3..code.len())
            .find(|&k| !is_ident(code[k]) && !code[k].is_whitespace())
            .unwrap_or(code.len());
        if at(code, name_end) == '{' {
            let close = matching_brace(code, name_end) - 1;
            let last = lexed.line_of[close.min(code.len() - 1)];
            ranges.push((lexed.line_of[i], last));
        }
    }
    ranges
}

/// The reason a comment points at an issue number, if it does: the word
/// "issue" (or "issues") and a number, an `issues/` or `pull/` link, or a
/// `#` and digits outside a code span (`` `#9` `` is code, not an issue).
fn issue_reference(comment: &str) -> Option<&'static str> {
    let chars: Vec<char> = comment.to_lowercase().chars().collect();
    let links: Vec<Vec<char>> = ["issues/", "pull/"].map(|l| l.chars().collect()).into();
    let mut in_code_span = false;
    for i in 0..chars.len() {
        if chars[i] == '`' {
            in_code_span = !in_code_span;
        }
        for word in ["issues", "issue"] {
            if word_at(&chars, i, word) {
                let mut j = skip_whitespace(&chars, i + word.len());
                if at(&chars, j) == '#' {
                    j += 1;
                }
                if at(&chars, j).is_ascii_digit() {
                    return Some("points at an issue number");
                }
            }
        }
        for link in &links {
            if chars[i..].starts_with(link) && at(&chars, i + link.len()).is_ascii_digit() {
                return Some("links to an issue or pull request");
            }
        }
        let before = if i == 0 { ' ' } else { chars[i - 1] };
        let starts_word = before.is_whitespace() || "([/".contains(before);
        if chars[i] == '#' && starts_word && !in_code_span && at(&chars, i + 1).is_ascii_digit() {
            return Some("points at an issue number (`#` and digits)");
        }
    }
    None
}

/// The findings in one file. `limits`: whether the function and line
/// limits apply (not to test files); the comment rule always does.
fn check_source(path: &str, text: &str, limits: bool) -> Vec<Finding> {
    let lexed = lex(text);
    let mut findings = Vec::new();
    let finding = |line: usize, what: String| Finding {
        path: path.to_string(),
        line,
        what,
    };
    for (line, comment) in &lexed.comments {
        if let Some(why) = issue_reference(comment) {
            findings.push(finding(*line, format!("a comment {why}: say what it said")));
        }
    }
    if limits {
        let tests = test_modules(&lexed);
        let in_tests = |line: usize| tests.iter().any(|&(a, b)| (a..=b).contains(&line));
        for function in functions(&lexed) {
            if function.lines > FUNCTION_LINES_MAX && !in_tests(function.line) {
                let what = format!(
                    "function `{}` is {} lines long (at most {FUNCTION_LINES_MAX})",
                    function.name, function.lines
                );
                findings.push(finding(function.line, what));
            }
        }
        for (index, line) in text.lines().enumerate() {
            let columns = line.chars().count();
            if columns > LINE_COLUMNS_MAX && !in_tests(index + 1) {
                let what = format!("line is {columns} columns long (at most {LINE_COLUMNS_MAX})");
                findings.push(finding(index + 1, what));
            }
        }
    }
    findings.sort_by_key(|f| f.line);
    findings
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Test code: in a folder named `tests` or in a file named `tests.rs`.
fn is_test_path(relative: &str) -> bool {
    relative
        .split('/')
        .any(|part| part == "tests" || part == "tests.rs")
}

fn is_exempt(relative: &str) -> bool {
    EXEMPT_FOLDERS
        .iter()
        .any(|folder| relative.starts_with(&format!("{folder}/")))
}

/// Every finding in the repository at `root`, and how many files were read.
fn check_tree(root: &Path) -> (Vec<Finding>, usize) {
    let mut files = vec![root.join("build.rs")];
    for folder in ["lib", "bin", "tests"] {
        rust_files(&root.join(folder), &mut files);
    }
    files.sort();
    let mut findings = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(root).expect("under the root");
        let relative = relative.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{relative}: {e}"));
        let ships = !relative.starts_with("tests/") && !is_test_path(&relative);
        findings.extend(check_source(&relative, &text, ships));
    }
    (findings, files.len())
}

/// Fails with every finding, one `file:line: what` a line.
fn assert_tidy(findings: &[Finding]) {
    let list: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
    assert!(
        findings.is_empty(),
        "tidy found {} thing(s) to fix:\n{}",
        findings.len(),
        list.join("\n")
    );
}

#[test]
fn the_code_keeps_its_limits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (findings, files) = check_tree(root);
    assert!(
        files > 100,
        "tidy read only {files} files: is the walk broken?"
    );
    let (exempt, binding): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(|f| is_exempt(&f.path));
    if !exempt.is_empty() {
        // Straight to stderr, past the test harness's capture, so that the
        // list shows on every run while the exemption lasts.
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "tidy: {} finding(s) in {EXEMPT_FOLDERS:?}, exempt for now:",
            exempt.len()
        );
        for finding in &exempt {
            let _ = writeln!(stderr, "  {finding}");
        }
    }
    assert_tidy(&binding);
}

// The checker, checked.

fn names_and_lengths(source: &str) -> Vec<(String, usize, usize)> {
    functions(&lex(source))
        .into_iter()
        .map(|f| (f.name, f.line, f.lines))
        .collect()
}

/// A function `name` of exactly `lines` lines.
fn function_of(name: &str, lines: usize) -> String {
    format!("fn {name}() {{\n{}}}\n", "    step();\n".repeat(lines - 2))
}

#[test]
fn a_function_counts_from_its_fn_line_to_its_closing_brace() {
    let source = "\
/// Docs and attributes do not count.
#[inline]
pub fn add(
    a: u32,
    b: u32,
) -> u32 {
    a + b
}
";
    assert_eq!(names_and_lengths(source), [("add".to_string(), 3, 6)]);
}

#[test]
fn methods_nested_functions_and_macro_functions_count_closures_do_not() {
    let source = r#"
impl Thing {
    pub(crate) async fn method<T>(&self, f: T) -> [u8; 2]
    where
        T: Fn(u32) -> [u8; 2],
    {
        let closure = |x: u32| {
            x + 1
        };
        fn nested() {}
        f(closure(1))
    }
}
trait Shape {
    fn area(&self) -> f64;
    fn twice(&self) -> f64 {
        2.0 * self.area()
    }
}
macro_rules! getter {
    ($name:ident) => {
        fn $name(&self) -> u32 { self.$name }
    };
}
type Handler = fn(&str) -> Result<(), String>;
const fn unit() {}
"#;
    assert_eq!(
        names_and_lengths(source),
        [
            ("method".to_string(), 3, 10),
            ("nested".to_string(), 10, 1),
            ("twice".to_string(), 16, 3),
            ("$name".to_string(), 22, 1),
            ("unit".to_string(), 26, 1),
        ]
    );
}

#[test]
fn braces_and_fn_in_comments_strings_and_characters_do_not_count() {
    let source = r##"fn tricky<'a>(s: &'a str) -> char {
    // } fn not_a_function() {
    /* { /* nested } */ fn also_not() { */
    let _ = "}\" fn in_a_string() {";
    let _ = r#"} "fn raw() {" }"#;
    let _ = b'}';
    let _ = '\'';
    let _ = '\u{7d}';
    '{'
}
fn after() {}
"##;
    assert_eq!(
        names_and_lengths(source),
        [("tricky".to_string(), 1, 10), ("after".to_string(), 11, 1)]
    );
}

#[test]
fn a_function_over_the_limit_is_found_and_one_at_it_is_not() {
    let source = function_of("at_limit", FUNCTION_LINES_MAX)
        + &function_of("over_limit", FUNCTION_LINES_MAX + 1);
    let findings = check_source("lib/x.rs", &source, true);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].line, FUNCTION_LINES_MAX + 1);
    assert!(
        findings[0].what.contains("`over_limit` is 71 lines"),
        "{findings:?}"
    );
}

#[test]
fn a_line_over_the_limit_is_found_counting_characters_not_bytes() {
    let at_limit = format!("// {}\n", "é".repeat(LINE_COLUMNS_MAX - 3));
    let over = format!("// {}\n", "e".repeat(LINE_COLUMNS_MAX - 2));
    let findings = check_source("lib/x.rs", &(at_limit + &over), true);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].line, 2);
    assert_eq!(
        findings[0].to_string(),
        "lib/x.rs:2: line is 101 columns long (at most 100)"
    );
}

#[test]
fn comments_that_point_at_issues_are_found() {
    for comment in [
        "// Fixed in issue 13.",
        "/// Issue #4: a full stop loses nothing.",
        "// as asked (#13)",
        "//! see https://github.com/o/r/issues/13",
        "/* the scenarios of issues 3 and 4 */",
    ] {
        let findings = check_source("tests/x.rs", comment, false);
        assert_eq!(findings.len(), 1, "{comment}: {findings:?}");
    }
    for fine in [
        "// `sequence #9 = 2/7` is how a Sequence prints.",
        "// Each member issues requests; number 13 is member 3's turn.",
        "let _ = \"issue 13\"; #[derive(Debug)]",
        "// a non-issue",
    ] {
        assert!(check_source("tests/x.rs", fine, false).is_empty(), "{fine}");
    }
}

#[test]
fn test_modules_are_held_to_the_comment_rule_only() {
    let source = format!(
        "fn shipped() {{}}\n\n#[cfg(test)]\n#[allow(clippy::all)]\nmod tests {{\n{}// {}\n\
         // issue 7\n}}\n",
        function_of("long_test", FUNCTION_LINES_MAX + 5),
        "x".repeat(LINE_COLUMNS_MAX)
    );
    let findings = check_source("lib/x.rs", &source, true);
    let lines: Vec<usize> = findings.iter().map(|f| f.line).collect();
    assert_eq!(lines, [FUNCTION_LINES_MAX + 12], "{findings:?}");
}

#[test]
fn test_files_are_told_apart_by_path() {
    assert!(is_test_path("lib/raft/tests/election.rs"));
    assert!(is_test_path("lib/customer/tests.rs"));
    assert!(!is_test_path("lib/customer/state.rs"));
    assert!(!is_test_path("lib/raft/tests_helpers.rs"));
    let chaos_exempt = EXEMPT_FOLDERS.contains(&"lib/chaos");
    assert_eq!(is_exempt("lib/chaos/models.rs"), chaos_exempt);
    assert!(!is_exempt("lib/chaos_extra/x.rs"));
}

#[test]
#[should_panic(expected = "tidy found 2 thing(s) to fix")]
fn a_source_that_breaks_the_habits_fails() {
    let source = function_of("too_long", FUNCTION_LINES_MAX + 4) + "// see issue 13\n";
    assert_tidy(&check_source("lib/bad.rs", &source, true));
}
