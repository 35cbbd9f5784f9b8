//! Reading the CSV files of a segment import: RFC 4180 fields (quotes, doubled quotes, commas
//! and line breaks inside quotes), any line ending, a UTF-8 byte-order mark ignored.

/// Splits CSV text into rows of fields. Blank lines are skipped.
pub fn rows(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    row.push(field);
    if row.iter().any(|f| !f.is_empty()) {
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_quotes_commas_and_line_breaks() {
        let text = "\u{feff}content,answer\r\n\"a, b\",\"say \"\"hi\"\"\"\n\nplain,\"two\nlines\"\nlast";
        assert_eq!(
            rows(text).unwrap(),
            vec![
                vec!["content", "answer"],
                vec!["a, b", "say \"hi\""],
                vec!["plain", "two\nlines"],
                vec!["last"],
            ]
        );
    }

    #[test]
    fn unclosed_quotes_are_refused() {
        assert!(rows("content\n\"open").is_err());
        assert!(rows("").unwrap().is_empty());
    }
}
