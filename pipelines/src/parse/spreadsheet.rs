//! Spreadsheets (xlsx, xls) through calamine: one section per sheet, in workbook order, starting
//! with a `# Sheet name` heading. The first non-empty row is the header row; every following row is
//! a Markdown table row; columns and rows that are empty throughout are dropped. Dates come out as
//! ISO 8601, numbers as Excel shows them by default (15 significant digits).
//!
//! Memory is bounded before calamine sees the file:
//! - xlsx: the package is unpacked through the bounded [`Archive`] reader into a new, uncompressed
//!   package holding only the parts calamine reads (so calamine cannot be zip-bombed), with the
//!   shared-string count hint neutralised (calamine reserves memory from it). Cells are then
//!   streamed, never materialised as a dense range.
//! - xls: calamine builds a dense range per sheet from the cells' bounding box and reserves memory
//!   from the sheet's declared dimensions; [`check_xls_dimensions`] scans the BIFF records first and
//!   refuses files whose ranges would be huge ([`ParseError::SpreadsheetTooLarge`]), since a failed
//!   allocation aborts the process instead of panicking.
//!
//! Output is capped at [`MAX_CELLS`] non-empty cells and [`MAX_TABLE_AREA`] rendered cells per
//! workbook, [`MAX_COLUMNS`] columns per sheet; what is left out is said in a note, not dropped
//! silently.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::sync::LazyLock;

use calamine::{Data, DataRef, ExcelDateTime, Reader, Xls, XlsError, Xlsx, XlsxError};
use regex::bytes::Regex;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::archive::{Archive, ArchiveLimits};
use super::detect::ContentKind;
use super::{CancelFlag, Format, ParseError, ooxml, table};
use crate::document::{ParsedDocument, Section};

/// Most non-empty cells read from one workbook.
pub const MAX_CELLS: usize = 1_000_000;
/// Most rendered cells (rows x columns, empty ones included) per workbook.
pub const MAX_TABLE_AREA: usize = 4_000_000;
/// Most columns rendered per sheet.
pub const MAX_COLUMNS: usize = 512;
/// Most cells the dense ranges of a legacy workbook may span (about 32 bytes each in calamine).
pub const MAX_XLS_RANGE_CELLS: u64 = 10_000_000;

/// Parses a workbook, whatever its extension says: xlsx content in a `.xls` file parses as xlsx,
/// and a legacy workbook in a `.xlsx` file as xls.
pub(super) fn parse(
    bytes: &[u8],
    format: Format,
    limits: &ArchiveLimits,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    let name = if format == Format::Xls { "xls" } else { "xlsx" };
    match ContentKind::detect(bytes) {
        ContentKind::Zip => parse_xlsx(bytes, limits, cancel),
        ContentKind::Ole if is_legacy_workbook(bytes) => parse_xls(bytes, cancel),
        ContentKind::Ole => Err(ooxml::not_a_package(bytes, name)),
        other => Err(ParseError::Malformed {
            format: name,
            detail: format!("it is not a spreadsheet but {}", other.describe()),
        }),
    }
}

/// An OLE file with a `Workbook` (BIFF8) or `Book` (BIFF5) stream.
fn is_legacy_workbook(bytes: &[u8]) -> bool {
    workbook_stream_name(bytes).is_some()
}

fn workbook_stream_name(bytes: &[u8]) -> Option<String> {
    let file = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
    file.read_root_storage()
        .map(|entry| entry.name().to_string())
        .find(|name| name.eq_ignore_ascii_case("workbook") || name.eq_ignore_ascii_case("book"))
}

/// Uncompressed hint of calamine's shared-string table size: `uniqueCount="N"`.
static UNIQUE_COUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"uniqueCount\s*=\s*["'][0-9]*["']"#).expect("valid regex"));

fn parse_xlsx(
    bytes: &[u8],
    limits: &ArchiveLimits,
    cancel: &CancelFlag,
) -> Result<ParsedDocument, ParseError> {
    let mut archive = Archive::open(bytes, "xlsx", limits)?;
    let workbook_part = ooxml::main_part(&mut archive, "xl/workbook.xml")?;
    let title = ooxml::core_title(&mut archive)?;
    let package = repack_for_calamine(&mut archive, &workbook_part)?;
    let mut workbook = Xlsx::new(Cursor::new(package)).map_err(xlsx_error)?;
    let mut writer = WorkbookWriter::default();
    for sheet_name in workbook.sheet_names() {
        if cancel.is_cancelled() {
            return Err(ParseError::Timeout(std::time::Duration::ZERO));
        }
        let mut cells = match workbook.worksheet_cells_reader(&sheet_name) {
            Ok(cells) => cells,
            // Chart sheets and dialog sheets have no cells.
            Err(XlsxError::NotAWorksheet(_) | XlsxError::WorksheetNotFound(_)) => continue,
            Err(error) => return Err(xlsx_error(error)),
        };
        let mut sheet = Sheet::default();
        loop {
            match cells.next_cell() {
                Ok(Some(cell)) => {
                    let (row, column) = cell.get_position();
                    if !writer.add(&mut sheet, row, column, format_value_ref(cell.get_value())) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    // A damaged sheet keeps the cells read before the damage.
                    tracing::debug!(%error, sheet = %sheet_name, "xlsx sheet ended early");
                    break;
                }
            }
        }
        writer.finish_sheet(&sheet_name, sheet);
    }
    Ok(ParsedDocument {
        title,
        sections: writer.sections,
    })
}

/// Copies the parts calamine reads into a new stored (uncompressed) zip, through the bounded
/// reader: content types, package relationships, the workbook and its relationships, and the
/// worksheets, shared strings, styles and theme it points to (with their own relationships).
/// Images, drawings, pivot caches and the like are never unpacked.
fn repack_for_calamine(archive: &mut Archive<'_>, workbook_part: &str) -> Result<Vec<u8>, ParseError> {
    let folder = workbook_part.rsplit_once('/').map_or("", |(folder, _)| folder);
    // calamine looks for shared strings and styles at fixed names beside the workbook.
    let shared_strings_default = format!("{folder}/sharedStrings.xml");
    let mut parts = vec![
        "[Content_Types].xml".to_string(),
        "_rels/.rels".to_string(),
        workbook_part.to_string(),
        rels_part(workbook_part),
        shared_strings_default.clone(),
        format!("{folder}/styles.xml"),
    ];
    let mut shared_strings = vec![shared_strings_default];
    for rel in ooxml::relationships(archive, workbook_part)? {
        let wanted = ["worksheet", "sharedStrings", "styles", "theme"]
            .iter()
            .any(|kind| rel.is(kind));
        if wanted && !rel.external {
            if rel.is("sharedStrings") {
                shared_strings.push(rel.target.clone());
            }
            parts.push(rels_part(&rel.target));
            parts.push(rel.target);
        }
    }
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    let write_error = |error: &dyn std::fmt::Display| ParseError::Malformed {
        format: "xlsx",
        detail: format!("cannot prepare the workbook: {error}"),
    };
    let mut written = std::collections::HashSet::new();
    for name in parts {
        if !written.insert(name.to_lowercase()) {
            continue;
        }
        let Some(mut data) = archive.read(&name)? else {
            continue;
        };
        if shared_strings.iter().any(|part| part.eq_ignore_ascii_case(&name)) {
            data = UNIQUE_COUNT
                .replacen(&data, 1, &b"uniqueCount=\"0\""[..])
                .into_owned();
        }
        writer
            .start_file(name.as_str(), options)
            .map_err(|e| write_error(&e))?;
        writer.write_all(&data).map_err(|e| write_error(&e))?;
    }
    Ok(writer.finish().map_err(|e| write_error(&e))?.into_inner())
}

/// `xl/worksheets/sheet1.xml` -> `xl/worksheets/_rels/sheet1.xml.rels`.
fn rels_part(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((folder, name)) => format!("{folder}/_rels/{name}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

fn xlsx_error(error: XlsxError) -> ParseError {
    match error {
        XlsxError::Password => ParseError::Encrypted,
        other => ParseError::Malformed {
            format: "xlsx",
            detail: other.to_string(),
        },
    }
}

fn parse_xls(bytes: &[u8], cancel: &CancelFlag) -> Result<ParsedDocument, ParseError> {
    check_xls_dimensions(bytes)?;
    let mut workbook = Xls::new(Cursor::new(bytes)).map_err(xls_error)?;
    let mut writer = WorkbookWriter::default();
    for sheet_name in workbook.sheet_names() {
        if cancel.is_cancelled() {
            return Err(ParseError::Timeout(std::time::Duration::ZERO));
        }
        let range = match workbook.worksheet_range(&sheet_name) {
            Ok(range) => range,
            Err(XlsError::WorksheetNotFound(_)) => continue,
            Err(error) => return Err(xls_error(error)),
        };
        let (top, left) = range.start().unwrap_or((0, 0));
        let mut sheet = Sheet::default();
        for (row, column, value) in range.used_cells() {
            let (Ok(row), Ok(column)) = (u32::try_from(row), u32::try_from(column)) else {
                continue;
            };
            if !writer.add(&mut sheet, top + row, left + column, format_value(value)) {
                break;
            }
        }
        writer.finish_sheet(&sheet_name, sheet);
    }
    Ok(ParsedDocument {
        title: None,
        sections: writer.sections,
    })
}

fn xls_error(error: XlsError) -> ParseError {
    match error {
        XlsError::Password => ParseError::Encrypted,
        other => ParseError::Malformed {
            format: "xls",
            detail: other.to_string(),
        },
    }
}

/// Refuses legacy workbooks with a truncated BOF record, a MULRK record whose columns run backwards,
/// sheets that start past the end of the workbook stream, or that would make calamine allocate
/// more than [`MAX_XLS_RANGE_CELLS`] cells: it reserves the area of each sheet's DIMENSIONS record
/// and keeps a dense range over each sheet's cell (and formula) bounding box. The BIFF records are
/// walked the way calamine walks them.
fn check_xls_dimensions(bytes: &[u8]) -> Result<(), ParseError> {
    let Some(stream_name) = workbook_stream_name(bytes) else {
        return Ok(());
    };
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| xls_malformed(&e))?;
    let mut stream = Vec::new();
    file.open_stream(format!("/{stream_name}"))
        .and_then(|mut s| s.read_to_end(&mut stream))
        .map_err(|e| xls_malformed(&e))?;
    // calamine reads a BOF record's version from its first two bytes without checking its length
    // (and panics).
    if biff_records(&stream).any(|(kind, data)| kind == 0x0809 && data.len() < 2) {
        return Err(xls_malformed(&"a BOF record is truncated"));
    }
    let sheet_offsets: Vec<usize> = biff_records(&stream)
        .filter(|(kind, data)| *kind == 0x0085 && data.len() >= 4)
        .map(|(_, data)| u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize)
        .collect();
    let mut total = 0_u64;
    for offset in sheet_offsets {
        // calamine slices the stream at each sheet's offset without checking it (and panics).
        let Some(sheet) = stream.get(offset..).filter(|sheet| !sheet.is_empty()) else {
            return Err(xls_malformed(&format!(
                "a sheet starts at byte {offset}, past the end of the {}-byte workbook stream",
                stream.len()
            )));
        };
        let mut cells = BoundingBox::default();
        let mut formulas = BoundingBox::default();
        let mut seen_bof = false;
        let mut substreams = 0_usize;
        for (kind, data) in biff_records(sheet) {
            if substreams > 0 {
                match kind {
                    0x0809 => substreams += 1,
                    0x000A => substreams -= 1,
                    _ => {}
                }
                continue;
            }
            let position = || (data.len() >= 4).then(|| (u32::from(le16(data, 0)), u32::from(le16(data, 2))));
            match kind {
                0x0809 if seen_bof => substreams += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                0x0200 => {
                    let reserved = declared_dimension_cells(data);
                    if reserved > MAX_XLS_RANGE_CELLS {
                        return Err(ParseError::SpreadsheetTooLarge {
                            cells: reserved,
                            limit: MAX_XLS_RANGE_CELLS,
                        });
                    }
                }
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => {
                    if let Some((row, column)) = position() {
                        cells.add(row, column);
                    }
                }
                0x0006 => {
                    if let Some((row, column)) = position() {
                        cells.add(row, column);
                        formulas.add(row, column);
                    }
                }
                0x00BD if data.len() >= 6 => {
                    // calamine computes `last - first + 1` in 16 bits (and panics on overflow).
                    if le16(data, data.len() - 2) < le16(data, 2) {
                        return Err(xls_malformed(&"a MULRK record ends before its first column"));
                    }
                    let row = u32::from(le16(data, 0));
                    cells.add(row, u32::from(le16(data, 2)));
                    cells.add(row, u32::from(le16(data, data.len() - 2)));
                }
                _ => {}
            }
        }
        total = total.saturating_add(cells.area()).saturating_add(formulas.area());
        if total > MAX_XLS_RANGE_CELLS {
            return Err(ParseError::SpreadsheetTooLarge {
                cells: total,
                limit: MAX_XLS_RANGE_CELLS,
            });
        }
    }
    Ok(())
}

fn xls_malformed(error: &dyn std::fmt::Display) -> ParseError {
    ParseError::Malformed {
        format: "xls",
        detail: error.to_string(),
    }
}

fn le16(data: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([data[at], data[at + 1]])
}

fn le32(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// BIFF records `(type, data)` of a stream, CONTINUE records folded into their predecessor (as
/// calamine's record iterator does), stopping at the first truncated record.
fn biff_records(mut stream: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if stream.len() < 4 {
            return None;
        }
        let kind = le16(stream, 0);
        let len = usize::from(le16(stream, 2));
        let data = stream.get(4..4 + len)?;
        stream = &stream[4 + len..];
        while stream.len() > 4 && le16(stream, 0) == 0x003C {
            let len = usize::from(le16(stream, 2));
            stream = stream.get(4 + len..)?;
        }
        Some((kind, data))
    })
}

/// The number of cells calamine reserves for a DIMENSIONS record, computed with calamine's own
/// (wrapping, in release builds) 32-bit arithmetic.
fn declared_dimension_cells(data: &[u8]) -> u64 {
    let (first_row, last_row, mut first_col, last_col) = match data.len() {
        10 => (
            u32::from(le16(data, 0)),
            u32::from(le16(data, 2)),
            u32::from(le16(data, 4)),
            u32::from(le16(data, 6)),
        ),
        14 | 16 => (
            le32(data, 0),
            le32(data, 4),
            u32::from(le16(data, 8)),
            u32::from(le16(data, 10)),
        ),
        _ => return 0,
    };
    if 0xFF < first_col || last_col < first_col {
        first_col = 0;
    }
    let (start, end) = if last_row >= 1 && last_col >= 1 {
        ((first_row, first_col), (last_row - 1, last_col - 1))
    } else {
        ((first_row, first_col), (first_row, first_col))
    };
    let rows = u64::from(end.0.wrapping_sub(start.0).wrapping_add(1));
    let cols = u64::from(end.1.wrapping_sub(start.1).wrapping_add(1));
    rows.saturating_mul(cols)
}

/// Smallest rectangle around some cells.
#[derive(Debug, Default)]
struct BoundingBox(Option<(u32, u32, u32, u32)>);

impl BoundingBox {
    fn add(&mut self, row: u32, column: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, column, column),
            Some((top, bottom, left, right)) => {
                (top.min(row), bottom.max(row), left.min(column), right.max(column))
            }
        });
    }

    fn area(&self) -> u64 {
        self.0.map_or(0, |(top, bottom, left, right)| {
            u64::from(bottom - top + 1) * u64::from(right - left + 1)
        })
    }
}

/// Non-empty cells of one sheet, by row.
#[derive(Debug, Default)]
struct Sheet {
    rows: BTreeMap<u32, Vec<(u32, String)>>,
}

/// Collects sheets into sections within the workbook-wide caps.
#[derive(Debug, Default)]
struct WorkbookWriter {
    sections: Vec<Section>,
    cells: usize,
    area: usize,
    /// Set once a cap was hit; later cells and sheets are left out.
    truncated: bool,
}

impl WorkbookWriter {
    /// Adds a cell; false once the workbook's cell budget is spent.
    fn add(&mut self, sheet: &mut Sheet, row: u32, column: u32, text: String) -> bool {
        if self.truncated {
            return false;
        }
        let text = table::clean_cell(&text);
        if text.is_empty() {
            return true;
        }
        if self.cells >= MAX_CELLS {
            self.truncated = true;
            return false;
        }
        self.cells += 1;
        sheet.rows.entry(row).or_default().push((column, text));
        true
    }

    fn finish_sheet(&mut self, name: &str, sheet: Sheet) {
        if sheet.rows.is_empty() {
            return;
        }
        let mut columns: Vec<u32> = sheet.rows.values().flatten().map(|(column, _)| *column).collect();
        columns.sort_unstable();
        columns.dedup();
        let mut notes = Vec::new();
        if columns.len() > MAX_COLUMNS {
            notes.push(format!(
                "{} more columns are not shown (the limit is {MAX_COLUMNS} per sheet)",
                columns.len() - MAX_COLUMNS
            ));
            columns.truncate(MAX_COLUMNS);
        }
        let area_left = MAX_TABLE_AREA.saturating_sub(self.area);
        let max_rows = area_left / columns.len().max(1);
        let mut out = format!("# {}\n\n", sheet_heading(name));
        for (index, row) in sheet.rows.values().enumerate() {
            if index >= max_rows {
                notes.push(format!(
                    "{} more rows are not shown (the workbook is larger than ragd reads)",
                    sheet.rows.len() - index
                ));
                self.truncated = true;
                break;
            }
            // Cells sorted by column, walked alongside the column list: linear per row.
            let mut cells: Vec<&(u32, String)> = row.iter().collect();
            cells.sort_by_key(|(column, _)| *column);
            let mut cells = cells.into_iter().peekable();
            out.push('|');
            for column in &columns {
                out.push(' ');
                while cells.next_if(|(c, _)| c < column).is_some() {}
                if let Some((_, text)) = cells.next_if(|(c, _)| c == column) {
                    out.push_str(text);
                }
                out.push_str(" |");
            }
            out.push('\n');
            if index == 0 {
                out.push('|');
                out.push_str(&" --- |".repeat(columns.len()));
                out.push('\n');
            }
            self.area += columns.len();
        }
        if self.truncated && notes.is_empty() {
            notes.push("more cells are not shown (the workbook is larger than ragd reads)".to_string());
        }
        for note in notes {
            tracing::warn!(sheet = %name, %note, "spreadsheet truncated");
            out.push_str(&format!("\n_{note}_\n"));
        }
        self.sections.push(Section {
            text: out.trim_end().to_string(),
            page: None,
        });
    }
}

/// A sheet name on one line.
fn sheet_heading(name: &str) -> String {
    let name = super::xml::collapse_whitespace(name);
    if name.is_empty() {
        "Sheet".to_string()
    } else {
        name
    }
}

fn format_value_ref(value: &DataRef<'_>) -> String {
    match value {
        DataRef::SharedString(text) => (*text).to_string(),
        DataRef::String(text) => text.clone(),
        DataRef::Int(v) => v.to_string(),
        DataRef::Float(v) => format_float(*v),
        DataRef::Bool(v) => if *v { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(v) => format_datetime(v),
        DataRef::DateTimeIso(v) | DataRef::DurationIso(v) => v.clone(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

fn format_value(value: &Data) -> String {
    match value {
        Data::String(text) => text.clone(),
        Data::Int(v) => v.to_string(),
        Data::Float(v) => format_float(*v),
        Data::Bool(v) => if *v { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(v) => format_datetime(v),
        Data::DateTimeIso(v) | Data::DurationIso(v) => v.clone(),
        Data::Error(e) => e.to_string(),
        Data::Empty => String::new(),
    }
}

/// Integers without a fraction, others rounded to 15 significant digits as Excel displays them
/// (`0.1 + 0.2` shows as `0.3`).
fn format_float(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let rounded: f64 = format!("{value:.14e}").parse().unwrap_or(value);
    rounded.to_string()
}

/// ISO 8601: `2024-03-01`, `2024-03-01 14:30:00`, `14:30:00` for a time of day, `[h]:mm:ss` for
/// durations.
fn format_datetime(value: &ExcelDateTime) -> String {
    if value.is_duration() {
        let seconds = (value.as_f64() * 86_400.0).round() as i64;
        let sign = if seconds < 0 { "-" } else { "" };
        let seconds = seconds.abs();
        return format!(
            "{sign}{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
    let (year, month, day, hour, minute, second, _) = value.to_ymd_hms_milli();
    let serial = value.as_f64();
    if (0.0..1.0).contains(&serial) {
        return format!("{hour:02}:{minute:02}:{second:02}");
    }
    if hour == 0 && minute == 0 && second == 0 {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
    }
}

#[cfg(test)]
mod tests {
    use calamine::ExcelDateTimeType;

    use super::super::archive::tests::zip_of;
    use super::*;

    #[test]
    fn floats_and_dates_are_formatted_for_people() {
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(0.1 + 0.2), "0.3");
        assert_eq!(format_float(-12.5), "-12.5");
        assert_eq!(format_float(1e20), "100000000000000000000");
        let date = |serial: f64, kind| ExcelDateTime::new(serial, kind, false);
        assert_eq!(
            format_datetime(&date(45352.0, ExcelDateTimeType::DateTime)),
            "2024-03-01"
        );
        assert_eq!(
            format_datetime(&date(45352.6041666667, ExcelDateTimeType::DateTime)),
            "2024-03-01 14:30:00"
        );
        assert_eq!(
            format_datetime(&date(0.5, ExcelDateTimeType::DateTime)),
            "12:00:00"
        );
        assert_eq!(
            format_datetime(&date(1.5, ExcelDateTimeType::TimeDelta)),
            "36:00:00"
        );
    }

    #[test]
    fn dimension_reservations_follow_calamine_arithmetic() {
        let biff8 = |rf: u32, rl: u32, cf: u16, cl: u16| {
            let mut data = Vec::new();
            data.extend(rf.to_le_bytes());
            data.extend(rl.to_le_bytes());
            data.extend(cf.to_le_bytes());
            data.extend(cl.to_le_bytes());
            data.extend([0, 0]);
            data
        };
        assert_eq!(declared_dimension_cells(&biff8(0, 10, 0, 3)), 30);
        assert_eq!(declared_dimension_cells(&biff8(0, 0, 0, 0)), 1);
        // Last row before first row wraps around in calamine: refuse-worthy.
        assert!(declared_dimension_cells(&biff8(10, 5, 0, 3)) > MAX_XLS_RANGE_CELLS);
        assert!(declared_dimension_cells(&biff8(0, u32::MAX, 0, 255)) > MAX_XLS_RANGE_CELLS);
        assert_eq!(declared_dimension_cells(&[0; 7]), 0);
    }

    #[test]
    fn biff_records_fold_continue_records_and_stop_at_truncation() {
        let mut stream = Vec::new();
        for (kind, data) in [(0x0809_u16, &b"ab"[..]), (0x003C, b"c"), (0x0203, b"xyz")] {
            stream.extend(kind.to_le_bytes());
            stream.extend(u16::try_from(data.len()).unwrap().to_le_bytes());
            stream.extend(data);
        }
        stream.extend([0x0A, 0x00, 0x09]);
        let records: Vec<(u16, &[u8])> = biff_records(&stream).collect();
        assert_eq!(records, vec![(0x0809, &b"ab"[..]), (0x0203, &b"xyz"[..])]);
    }

    #[test]
    fn sheet_rendering_drops_empty_columns_and_caps_columns() {
        let mut writer = WorkbookWriter::default();
        let mut sheet = Sheet::default();
        for (row, column, text) in [
            (2, 1, "Name"),
            (2, 3, "Qty"),
            (3, 1, "apple"),
            (3, 3, "3"),
            (5, 3, "7"),
        ] {
            assert!(writer.add(&mut sheet, row, column, text.to_string()));
        }
        writer.finish_sheet("Stock  list", sheet);
        assert_eq!(
            writer.sections[0].text,
            "# Stock list\n\n| Name | Qty |\n| --- | --- |\n| apple | 3 |\n|  | 7 |"
        );
        let mut wide = Sheet::default();
        for column in 0..(MAX_COLUMNS as u32 + 3) {
            writer.add(&mut wide, 0, column, "h".to_string());
        }
        writer.finish_sheet("Wide", wide);
        assert!(
            writer.sections[1]
                .text
                .ends_with("_3 more columns are not shown (the limit is 512 per sheet)_")
        );
    }

    #[test]
    fn wide_sheets_render_in_linear_time() {
        let started = std::time::Instant::now();
        let mut writer = WorkbookWriter::default();
        let mut sheet = Sheet::default();
        for row in 0..400 {
            // Cells arrive in reverse column order, as a hostile file may send them.
            for column in (0..512).rev() {
                writer.add(&mut sheet, row, column, format!("r{row}c{column}"));
            }
        }
        writer.finish_sheet("Wide", sheet);
        let text = &writer.sections[0].text;
        assert!(text.contains("| r1c0 | r1c1 | r1c2 |"), "{}", &text[..200]);
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    }

    #[test]
    fn text_is_not_a_spreadsheet() {
        let error = parse(
            b"a,b\n1,2",
            Format::Xlsx,
            &ArchiveLimits::default(),
            &CancelFlag::default(),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("not a spreadsheet but text"),
            "{error}"
        );
    }

    #[test]
    fn shared_string_count_hint_is_neutralised_before_calamine() {
        let content_types = br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#;
        let rels = br#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
        let workbook = br#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
        let workbook_rels = br#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
        // A hostile count: calamine would try to reserve this many strings and abort.
        let shared = br#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="999999999999999"><si><t>Name</t></si><si><t>apple</t></si></sst>"#;
        let sheet = br#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>"#;
        let bytes = zip_of(&[
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", rels),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", workbook_rels),
            ("xl/sharedStrings.xml", shared),
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/media/image1.png", b"\x89PNG not read"),
        ]);
        let doc = parse(
            &bytes,
            Format::Xlsx,
            &ArchiveLimits::default(),
            &CancelFlag::default(),
        )
        .unwrap();
        assert_eq!(doc.sections.len(), 1);
        assert_eq!(
            doc.sections[0].text,
            "# Data\n\n| Name |  |\n| --- | --- |\n| apple |  |\n|  | 1 |"
        );
    }
}
