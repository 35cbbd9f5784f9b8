//! Plain text of one PDF page from the glyphs pdf-extract reports, in reading order.
//!
//! Layout heuristics as pdf-extract's `PlainTextOutput` (a new line when the baseline moves, a space
//! where a glyph starts right of where the previous one ended), computed from the text matrix
//! directly so rotated text does not produce NaN sizes. Unlike `PlainTextOutput`, gaps inside one
//! string count too: there they come from character and word spacing (`Tc`, `Tw`), which producers
//! use to space letters and words apart, and poppler reads them as spaces as well. On top of that:
//! - glyphs drawn twice at almost the same place (fake bold) are kept once;
//! - a line holding right-to-left letters is put in visual order (by x) and then in logical order
//!   with the Unicode bidi algorithm, whatever order the producer drew its glyphs in;
//! - ligatures and Arabic presentation forms become plain letters (NFKC), so words match searches.

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};
use unicode_bidi::{BidiClass, BidiInfo, Level, bidi_class};
use unicode_normalization::UnicodeNormalization;

/// One glyph of the current line.
struct Glyph {
    text: String,
    /// Position along the baseline direction.
    x: f64,
    /// Position across it, growing downwards.
    y: f64,
    end: f64,
    size: f64,
    /// Which text-showing string of the page drew it.
    string: usize,
    /// Starts a string drawn well back to the left of where the line had got to, on the same
    /// baseline: separate text laid over the line (an annotation, a stamp), not the next letter.
    jumps_back: bool,
}

/// Collects a page's glyphs line by line.
pub(super) struct PageText {
    text: String,
    line: Vec<Glyph>,
    last_end: f64,
    last_y: f64,
    starts_string: bool,
    /// Text-showing strings seen so far.
    strings: usize,
}

/// Gap, in font sizes, between one glyph's end and the next one's start that reads as a space.
const SPACE_GAP: f64 = 0.1;
/// A string drawn this far (in font sizes) above or below the one before it on the same line,
/// like a raised repeat of a word, is a word of its own; the small shifts of sub- and
/// superscripts (`H2O`, `x2`) stay joined.
const RISE_BREAK: f64 = 0.45;
/// How far back, in font sizes, a string must start from the line's end to be separate text.
const BACK_JUMP: f64 = 1.0;
/// How close, in font sizes, a repeated glyph must be to count as drawn twice.
const OVERPRINT_DISTANCE: f64 = 0.1;
/// How many recent glyphs of a line are checked for overprinting.
const OVERPRINT_WINDOW: usize = 8;

impl PageText {
    pub(super) fn new() -> Self {
        Self {
            text: String::new(),
            line: Vec::new(),
            last_end: 100_000.0,
            last_y: 0.0,
            starts_string: false,
            strings: 0,
        }
    }

    /// The page's text.
    pub(super) fn finish(mut self) -> String {
        self.flush_line();
        self.text
    }

    /// True if the same glyph was just drawn at (nearly) the same place by another string: fake
    /// bold draws each glyph or word two or more times with a small offset. Glyphs of one string
    /// never count: with a font that lacks widths they all sit at the string's start.
    fn overprinted(&self, text: &str, x: f64, y: f64, size: f64) -> bool {
        let near = size * OVERPRINT_DISTANCE;
        !text.trim().is_empty()
            && self.line.iter().rev().take(OVERPRINT_WINDOW).any(|g| {
                g.string != self.strings && g.text == text && (g.x - x).abs() < near && (g.y - y).abs() < near
            })
    }

    /// Appends the current line to the text.
    fn flush_line(&mut self) {
        let mut line = std::mem::take(&mut self.line);
        if line.is_empty() {
            return;
        }
        if line.iter().any(|g| g.text.chars().any(is_right_to_left)) {
            self.text.push_str(&right_to_left_line(&mut line));
        } else {
            self.text.push_str(&join_glyphs(&line, false));
        }
    }
}

/// The glyphs' text with spaces where they are apart. `split_scripts`: also between a left-to-right
/// and a right-to-left letter that touch (no word mixes Latin and Arabic or Hebrew letters, but
/// overlapping glyphs of two words can touch once sorted by position).
fn join_glyphs(line: &[Glyph], split_scripts: bool) -> String {
    let mut out = String::new();
    let mut previous: Option<&Glyph> = None;
    for glyph in line {
        if let Some(previous) = previous
            && (glyph.jumps_back
                || glyph.x > previous.end + glyph.size * SPACE_GAP
                || glyph.string != previous.string
                    && (glyph.y - previous.y).abs() > glyph.size.max(previous.size) * RISE_BREAK
                || split_scripts && scripts_meet(&out, &glyph.text))
            && !out.ends_with(' ')
            && !glyph.text.starts_with(' ')
        {
            out.push(' ');
        }
        out.push_str(&glyph.text);
        previous = Some(glyph);
    }
    out
}

/// A glyph's position in the frame of its own baseline: `(along, across, scale)`, where `along`
/// grows in the writing direction, `across` grows downwards from it (device y for upright text,
/// whose page height offset cancels out in differences), and `scale` is the text rendering
/// matrix's length along the baseline. Rotated text (a landscape slide, a sideways label) then
/// reads like upright text: upright positions would put its every glyph on one x.
fn baseline_position(trm: &Transform) -> (f64, f64, f64) {
    let scale = trm.m11.hypot(trm.m12);
    let (dx, dy) = if scale > 0.0 && scale.is_finite() {
        (trm.m11 / scale, trm.m12 / scale)
    } else {
        (1.0, 0.0)
    };
    let (px, py) = (trm.m31, trm.m32);
    (px * dx + py * dy, px * dy - py * dx, scale)
}

/// True if `before` ends with a left-to-right letter and `after` starts with a right-to-left one,
/// or the other way round.
fn scripts_meet(before: &str, after: &str) -> bool {
    let (Some(last), Some(first)) = (before.chars().next_back(), after.chars().next()) else {
        return false;
    };
    let left_to_right = |c: char| bidi_class(c) == BidiClass::L;
    left_to_right(last) && is_right_to_left(first) || is_right_to_left(last) && left_to_right(first)
}

fn is_right_to_left(c: char) -> bool {
    matches!(bidi_class(c), BidiClass::R | BidiClass::AL)
}

/// A line with right-to-left letters in logical order. The glyphs are first put in visual order
/// (left to right on the page); running the bidi algorithm over that visual string and reordering
/// it gives back the logical order, because the reordering of a line reverses its runs and is its
/// own inverse for text without explicit embeddings.
fn right_to_left_line(line: &mut [Glyph]) -> String {
    line.sort_by(|a, b| a.x.total_cmp(&b.x));
    for glyph in line.iter_mut() {
        glyph.jumps_back = false;
    }
    let visual = join_glyphs(line, true);
    let right_to_left = visual.chars().filter(|&c| is_right_to_left(c)).count();
    let left_to_right = visual.chars().filter(|&c| bidi_class(c) == BidiClass::L).count();
    let base = if right_to_left >= left_to_right {
        Level::rtl()
    } else {
        Level::ltr()
    };
    let info = BidiInfo::new(&visual, Some(base));
    info.paragraphs
        .iter()
        .map(|paragraph| info.reorder_line(paragraph, paragraph.range.clone()).into_owned())
        .collect()
}

/// Letters for typographic ligatures (U+FB00..U+FB4F) and Arabic presentation forms
/// (U+FB50..U+FDFF, U+FE70..U+FEFF), so "ﬁle" matches "file" and joined Arabic forms match typed
/// Arabic.
fn plain_letters(text: &str) -> String {
    if text
        .chars()
        .any(|c| matches!(c, '\u{FB00}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}'))
    {
        text.nfkc().collect()
    } else {
        text.to_string()
    }
}

impl OutputDev for PageText {
    fn begin_page(
        &mut self,
        _page_num: u32,
        _media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        let (x, y, scale) = baseline_position(trm);
        let size = font_size * (trm.m11 * trm.m22 - trm.m12 * trm.m21).abs().sqrt();
        // The advance along the baseline: the text rendering matrix's first row carries the
        // horizontal scaling (`Tz`) as well as the text and page transforms.
        let end = x + width * font_size * scale;
        if self.starts_string {
            let mut breaks = "";
            if (y - self.last_y).abs() > size * 1.5 {
                breaks = "\n\n";
            } else if (y - self.last_y).abs() > size * 0.5
                && (x < self.last_end || char.chars().any(is_right_to_left))
            {
                // A baseline lower and back to the left starts a new line; moving right as well
                // is a superscript or subscript, except in right-to-left text, whose next line
                // starts at the right.
                breaks = "\n";
            }
            // Nothing to break from before the page's first glyph.
            if !(breaks.is_empty() || self.text.is_empty() && self.line.is_empty()) {
                self.flush_line();
                self.text.push_str(breaks);
            }
        }
        let jumps_back = self.starts_string
            && !self.line.is_empty()
            && (y - self.last_y).abs() <= size * 0.5
            && x < self.last_end - size * BACK_JUMP;
        let text = plain_letters(char);
        if !self.overprinted(&text, x, y, size) {
            self.line.push(Glyph {
                text,
                x,
                y,
                end,
                size,
                string: self.strings,
                jumps_back,
            });
        }
        self.starts_string = false;
        self.last_y = y;
        self.last_end = end;
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        self.starts_string = true;
        self.strings += 1;
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds glyphs `(text, x, y, width)` at font size 10 with an identity matrix, each its own
    /// string.
    fn page(glyphs: &[(String, f64, f64, f64)]) -> String {
        let mut page = PageText::new();
        for (text, x, y, width) in glyphs {
            page.begin_word().unwrap();
            let trm = Transform::row_major(1.0, 0.0, 0.0, 1.0, *x, *y);
            page.output_character(&trm, *width, 0.0, 10.0, text).unwrap();
        }
        page.finish()
    }

    /// The letters of `text` on one baseline, `step` apart from `x` on (negative: leftwards).
    fn run(text: &str, x: f64, step: f64) -> Vec<(String, f64, f64, f64)> {
        text.chars()
            .enumerate()
            .map(|(i, c)| (c.to_string(), x + i as f64 * step, 100.0, 0.6))
            .collect()
    }

    #[test]
    fn strings_raised_far_are_words_of_their_own_and_scripts_stay_joined() {
        // "ab" then, touching it, a string raised half a font size: a word of its own.
        let mut raised = run("ab", 0.0, 5.0);
        raised.push(("c".to_string(), 10.6, 95.0, 0.6));
        assert_eq!(page(&raised), "ab c");
        // A subscript shifted a fifth of a font size stays in its word.
        let mut subscript = run("H", 0.0, 5.0);
        subscript.push(("2".to_string(), 5.6, 102.0, 0.6));
        subscript.push(("O".to_string(), 11.2, 100.0, 0.6));
        assert_eq!(page(&subscript), "H2O");
    }

    #[test]
    fn gaps_are_spaces_and_baselines_are_lines() {
        let mut glyphs = run("ab", 0.0, 5.0);
        glyphs.extend(run("c", 20.0, 5.0));
        glyphs.push(("d".to_string(), 0.0, 90.0, 0.5));
        assert_eq!(page(&glyphs), "ab c\nd");
    }

    #[test]
    fn letters_spaced_apart_within_one_string_are_words() {
        // `10 Tc (Hi you) Tj` at 10 pt: every glyph 0.6 em wide, then 1 em of character spacing.
        let mut page = PageText::new();
        page.begin_word().unwrap();
        for (i, c) in "Hi you".chars().enumerate() {
            let trm = Transform::row_major(1.0, 0.0, 0.0, 1.0, i as f64 * 16.0, 100.0);
            page.output_character(&trm, 0.6, 10.0, 10.0, &c.to_string())
                .unwrap();
        }
        assert_eq!(page.finish(), "H i y o u");
        // Kerned tight or spaced a little: still one word.
        let mut page = PageText::new();
        page.begin_word().unwrap();
        for (i, c) in "tight".chars().enumerate() {
            let trm = Transform::row_major(1.0, 0.0, 0.0, 1.0, i as f64 * 6.5, 100.0);
            page.output_character(&trm, 0.6, 0.5, 10.0, &c.to_string())
                .unwrap();
        }
        assert_eq!(page.finish(), "tight");
    }

    #[test]
    fn rotated_text_reads_like_upright_text() {
        // A page turned a quarter: the baseline runs down the page, lines step to the right.
        let mut page = PageText::new();
        for (line, word) in ["Class", "seen"].iter().enumerate() {
            for (i, c) in word.chars().enumerate() {
                page.begin_word().unwrap();
                let (x, y) = (100.0 + line as f64 * 14.0, 700.0 - i as f64 * 6.0);
                let trm = Transform::row_major(0.0, -1.0, 1.0, 0.0, x, y);
                page.output_character(&trm, 0.6, 0.0, 10.0, &c.to_string())
                    .unwrap();
            }
        }
        // Repeated letters are not taken for fake bold, and each line stays one word.
        assert_eq!(page.finish(), "Class\nseen");
    }

    #[test]
    fn text_laid_back_over_a_line_is_a_separate_word() {
        // "file" ends at x = 36; a stamp's "PDF" is then drawn from x = 0 on the same baseline.
        let mut glyphs = run("file", 12.0, 6.0);
        glyphs.extend(run("PDF", 0.0, 6.0));
        assert_eq!(page(&glyphs), "file PDF");
    }

    #[test]
    fn overprinted_glyphs_are_kept_once() {
        // Fake bold: every glyph drawn twice, a fraction of a point apart.
        let mut glyphs = Vec::new();
        for (i, c) in "boo".chars().enumerate() {
            glyphs.extend(run(&c.to_string(), i as f64 * 5.0, 1.0));
            glyphs.extend(run(&c.to_string(), i as f64 * 5.0 + 0.3, 1.0));
        }
        assert_eq!(page(&glyphs), "boo");
    }

    #[test]
    fn glyphs_of_one_string_are_never_overprints() {
        // A font without widths puts every glyph of a string at its start: "book" must stay.
        let mut page = PageText::new();
        page.begin_word().unwrap();
        for c in ["b", "o", "o", "k"] {
            let trm = Transform::row_major(1.0, 0.0, 0.0, 1.0, 0.0, 100.0);
            page.output_character(&trm, 0.0, 0.0, 10.0, c).unwrap();
        }
        assert_eq!(page.finish(), "book");
    }

    #[test]
    fn right_to_left_lines_come_out_in_logical_order() {
        // "שלום" drawn in visual order: its last letter leftmost.
        assert_eq!(page(&run("םולש", 0.0, 6.0)), "שלום");
        // The same word drawn in logical order, right to left on the page.
        assert_eq!(page(&run("שלום", 30.0, -6.0)), "שלום");
        // A number and a Latin word inside a Hebrew line keep their own direction.
        let mut glyphs = run("ragd", 0.0, 6.0);
        glyphs.extend(run("לש", 30.0, 6.0));
        glyphs.extend(run("2", 48.0, 6.0));
        glyphs.extend(run("הסרג", 60.0, 6.0));
        assert_eq!(page(&glyphs), "גרסה 2 של ragd");
        // A Hebrew word whose glyphs overlap a Latin one's end still comes out as its own word.
        let mut glyphs = run("ragd", 0.0, 6.0);
        glyphs.extend(run("לש", 22.0, 6.0));
        assert_eq!(page(&glyphs), "ragd של");
    }

    #[test]
    fn arabic_presentation_forms_and_ligatures_become_letters() {
        assert_eq!(plain_letters("\u{FB01}le"), "file");
        assert_eq!(plain_letters("\u{FEE3}"), "\u{0645}");
        assert_eq!(plain_letters("plain"), "plain");
    }
}
