//! Splitting a command line into words: spaces separate words; double
//! quotes group words with spaces ("Blue lamp"); inside quotes, `\"` and
//! `\\` stand for a quote and a backslash.

/// The words of `line`, or why it cannot be split.
pub fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                read_quoted(&mut chars, &mut word)?;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn read_quoted(chars: &mut std::str::Chars<'_>, word: &mut String) -> Result<(), String> {
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok(()),
            '\\' => match chars.next() {
                Some(escaped @ ('"' | '\\')) => word.push(escaped),
                Some(other) => {
                    word.push('\\');
                    word.push(other);
                }
                None => break,
            },
            c => word.push(c),
        }
    }
    Err("unterminated quote".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_spaces_and_keeps_quoted_groups() {
        assert_eq!(
            split_line("put \"Blue lamp\" 3 new 12.50 2 light").unwrap(),
            vec!["put", "Blue lamp", "3", "new", "12.50", "2", "light"]
        );
        assert_eq!(split_line("  a   b  ").unwrap(), vec!["a", "b"]);
        assert_eq!(
            split_line(r#"x "say \"hi\"" "" y"#).unwrap(),
            vec!["x", "say \"hi\"", "", "y"]
        );
        assert!(split_line("").unwrap().is_empty());
    }

    #[test]
    fn refuses_an_open_quote() {
        assert!(split_line("put \"Blue lamp").is_err());
    }
}
