//! Markdown tables, shared by the formats that carry tables (docx, pptx, spreadsheets, CSV).

/// Renders `rows` as a Markdown table whose first row is the header row. Rows are padded to the
/// widest row; columns that are empty in every row are dropped; rows that are entirely empty are
/// skipped. Returns an empty string when nothing is left.
pub(super) fn markdown_table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| clean_cell(cell)).collect::<Vec<_>>())
        .filter(|row| row.iter().any(|cell| !cell.is_empty()))
        .collect();
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let used: Vec<usize> = (0..width)
        .filter(|&column| {
            rows.iter()
                .any(|row| row.get(column).is_some_and(|cell| !cell.is_empty()))
        })
        .collect();
    if used.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for (index, row) in rows.iter().enumerate() {
        out.push('|');
        for &column in &used {
            out.push(' ');
            out.push_str(row.get(column).map_or("", String::as_str));
            out.push_str(" |");
        }
        out.push('\n');
        if index == 0 {
            out.push('|');
            out.push_str(&" --- |".repeat(used.len()));
            out.push('\n');
        }
    }
    out.pop();
    out
}

/// One cell's text on one line: whitespace collapsed, `|` escaped.
pub(super) fn clean_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.contains('|') {
        out = out.replace('|', "\\|");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(data: &[&[&str]]) -> Vec<Vec<String>> {
        data.iter()
            .map(|row| row.iter().map(ToString::to_string).collect())
            .collect()
    }

    #[test]
    fn header_separator_padding_and_escaping() {
        let table = markdown_table(&rows(&[&["Name", "Size"], &["a|b", "1\nMB"], &["c"]]));
        assert_eq!(
            table,
            "| Name | Size |\n| --- | --- |\n| a\\|b | 1 MB |\n| c |  |"
        );
    }

    #[test]
    fn empty_rows_and_columns_are_dropped() {
        let table = markdown_table(&rows(&[
            &["", "", ""],
            &["", "h1", "", "h2"],
            &["", "x", "", ""],
            &[" "],
        ]));
        assert_eq!(table, "| h1 | h2 |\n| --- | --- |\n| x |  |");
        assert_eq!(markdown_table(&rows(&[&["", " "]])), "");
        assert_eq!(markdown_table(&[]), "");
    }
}
