//! Rewrites of a loaded PDF into forms pdf-extract 0.12 reads correctly. Each fixes a way valid
//! files lose text there:
//! - CID font widths given as ranges (`first last width` in `/W`, as Chrome, Skia and Google Docs
//!   write them) are skipped by pdf-extract, so those glyphs get width 0 and words fall apart into
//!   letters; the ranges are expanded into the list form it reads.
//! - A stream's `/Filter` or `/DecodeParms` given by reference is not followed, so its content
//!   stays compressed; they are made direct.
//! - Type0 fonts with a predefined Unicode CMap (`UniGB-UCS2-H`, `UniJIS-UTF16-H`, ...: Chinese,
//!   Japanese and Korean office files whose fonts are not embedded) make pdf-extract panic. Their
//!   codes are UTF-16 already, so they become `Identity-H` with a ToUnicode map of codes to
//!   themselves. Fonts with the predefined seven-bit two-byte CMaps (`H`/`V`: JIS X 0208,
//!   `GB-H`: GB 2312, `KSC-H`: KS X 1001; Adobe's CMap files are not bundled) become `Identity-H`
//!   too, with a ToUnicode map decoded from the national standard by its EUC form.
//! - Embedded TrueType CID fonts with `Identity-H` codes and no ToUnicode map (older PHP and Java
//!   generators, or a ToUnicode that is just a name) read as nothing; a ToUnicode map is made from
//!   the font file's own `cmap` table, or, for fonts of Adobe's CJK collections (non-embedded
//!   Japanese, Korean and Chinese fonts, CID-keyed CFF subsets), from the collection's table.
//! - A form XObject that draws itself, directly or through others, would recurse forever in
//!   pdf-extract; the `Do` that closes each cycle is dropped, so the rest of the page still reads.

use std::collections::{HashMap, HashSet};

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// Largest CID range expanded (the whole two-byte code space).
const MAX_WIDTH_RANGE: i64 = 0x1_0000;

/// Applies every rewrite to the document.
pub(super) fn apply(doc: &mut Document) {
    direct_stream_filters(doc);
    expand_cid_widths(doc);
    identity_for_unicode_cmaps(doc);
    to_unicode_from_font_files(doc);
    break_form_cycles(doc);
}

/// The object, or what it refers to.
fn resolved(doc: &Document, object: &Object) -> Option<Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok().cloned(),
        other => Some(other.clone()),
    }
}

fn direct_stream_filters(doc: &mut Document) {
    let mut updates = Vec::new();
    for (&id, object) in &doc.objects {
        let Object::Stream(stream) = object else { continue };
        for key in [b"Filter".as_slice(), b"DecodeParms".as_slice()] {
            if let Ok(Object::Reference(_)) = stream.dict.get(key)
                && let Some(value) = stream.dict.get(key).ok().and_then(|v| resolved(doc, v))
            {
                updates.push((id, key, value));
            }
        }
    }
    for (id, key, value) in updates {
        if let Some(Object::Stream(stream)) = doc.objects.get_mut(&id) {
            stream.dict.set(key, value);
        }
    }
}

fn expand_cid_widths(doc: &mut Document) {
    let mut updates = Vec::new();
    for (&id, object) in &doc.objects {
        let Object::Dictionary(dict) = object else {
            continue;
        };
        let subtype = dict.get(b"Subtype").and_then(Object::as_name).ok();
        if !matches!(subtype, Some(b"CIDFontType0" | b"CIDFontType2")) {
            continue;
        }
        let Some(Object::Array(widths)) = dict.get(b"W").ok().and_then(|w| resolved(doc, w)) else {
            continue;
        };
        if let Some(listed) = listed_widths(doc, &widths) {
            updates.push((id, listed));
        }
    }
    for (id, listed) in updates {
        if let Some(Object::Dictionary(dict)) = doc.objects.get_mut(&id) {
            dict.set("W", Object::Array(listed));
        }
    }
}

fn number(doc: &Document, object: &Object) -> Option<f64> {
    match resolved(doc, object)? {
        Object::Integer(value) => Some(value as f64),
        Object::Real(value) => Some(f64::from(value)),
        _ => None,
    }
}

/// `/W` in the `cid [w1 w2 ...]` form only, with direct numbers; None if it already is.
fn listed_widths(doc: &Document, widths: &[Object]) -> Option<Vec<Object>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < widths.len() {
        let first = number(doc, &widths[i])? as i64;
        match resolved(doc, &widths[i + 1])? {
            Object::Array(list) => {
                let list: Vec<Object> = list
                    .iter()
                    .map(|w| match w {
                        Object::Reference(_) => Object::Real(number(doc, w).unwrap_or(0.0) as f32),
                        direct => direct.clone(),
                    })
                    .collect();
                out.push(Object::Integer(first));
                out.push(Object::Array(list));
                i += 2;
            }
            last => {
                let last = number(doc, &last)? as i64;
                let width = number(doc, widths.get(i + 2)?)?;
                let count = (last - first + 1).clamp(0, MAX_WIDTH_RANGE);
                out.push(Object::Integer(first));
                out.push(Object::Array(vec![Object::Real(width as f32); count as usize]));
                i += 3;
            }
        }
    }
    (out != widths).then_some(out)
}

/// True for the names of Adobe's predefined CMaps whose codes are UCS-2 or UTF-16BE.
fn is_unicode_cmap(name: &[u8]) -> bool {
    name.starts_with(b"Uni")
        && [b"-UCS2-H".as_slice(), b"-UCS2-V", b"-UTF16-H", b"-UTF16-V"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// A ToUnicode CMap mapping every two-byte code to the same UTF-16 value (surrogates left out:
/// pairs of them are not single codes).
fn identity_to_unicode() -> Vec<u8> {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
         /CMapName /Ragd-UTF16-Identity def /CMapType 2 def\n\
         1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
    );
    let rows: Vec<u8> = (0..=0xFF_u8)
        .filter(|high| !(0xD8..=0xDF).contains(high))
        .collect();
    for block in rows.chunks(100) {
        cmap.push_str(&format!("{} beginbfrange\n", block.len()));
        for high in block {
            cmap.push_str(&format!("<{high:02X}00> <{high:02X}FF> <{high:02X}00>\n"));
        }
        cmap.push_str("endbfrange\n");
    }
    cmap.push_str("endcmap CMapName currentdict /CMap defineresource pop end end\n");
    cmap.into_bytes()
}

/// The legacy encoding whose bytes are a predefined seven-bit two-byte CMap's codes with the high
/// bit set (the EUC form of the same national standard).
fn seven_bit_cmap_encoding(name: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    match name {
        b"H" | b"V" => Some(encoding_rs::EUC_JP),
        b"GB-H" | b"GB-V" => Some(encoding_rs::GBK),
        b"KSC-H" | b"KSC-V" => Some(encoding_rs::EUC_KR),
        _ => None,
    }
}

/// Code -> character for every code 0x2121..=0x7E7E of a seven-bit CMap that decodes to one
/// character.
fn seven_bit_to_unicode(encoding: &'static encoding_rs::Encoding) -> Vec<(u32, char)> {
    let mut map = Vec::new();
    for high in 0x21..=0x7E_u8 {
        for low in 0x21..=0x7E_u8 {
            let bytes = [high | 0x80, low | 0x80];
            let (text, malformed) = encoding.decode_without_bom_handling(&bytes);
            let mut chars = text.chars();
            if let (false, Some(c), None) = (malformed, chars.next(), chars.next()) {
                map.push(((u32::from(high) << 8) | u32::from(low), c));
            }
        }
    }
    map
}

/// The ToUnicode map a Type0 font gets when its predefined CMap becomes `Identity-H`.
enum CodeMap {
    /// Codes are UTF-16 already.
    Unicode,
    /// Codes are a national standard's seven-bit form.
    SevenBit(&'static encoding_rs::Encoding),
}

fn identity_for_unicode_cmaps(doc: &mut Document) {
    let fonts: Vec<(lopdf::ObjectId, bool, CodeMap)> = doc
        .objects
        .iter()
        .filter_map(|(&id, object)| {
            let dict = object.as_dict().ok()?;
            if dict.get(b"Subtype").and_then(Object::as_name).ok()? != b"Type0" {
                return None;
            }
            let encoding = dict.get(b"Encoding").and_then(Object::as_name).ok()?;
            let map = if is_unicode_cmap(encoding) {
                CodeMap::Unicode
            } else {
                CodeMap::SevenBit(seven_bit_cmap_encoding(encoding)?)
            };
            Some((id, encoding.ends_with(b"V"), map))
        })
        .collect();
    let mut maps: HashMap<&'static str, ObjectId> = HashMap::new();
    for (id, vertical, map) in fonts {
        let to_unicode = *maps
            .entry(match map {
                CodeMap::Unicode => "unicode",
                CodeMap::SevenBit(encoding) => encoding.name(),
            })
            .or_insert_with(|| {
                let cmap = match map {
                    CodeMap::Unicode => identity_to_unicode(),
                    CodeMap::SevenBit(encoding) => to_unicode_cmap(&seven_bit_to_unicode(encoding)),
                };
                doc.add_object(Stream::new(Dictionary::new(), cmap))
            });
        let descendant = doc
            .get_dictionary(id)
            .ok()
            .and_then(|font| font.get(b"DescendantFonts").ok())
            .and_then(|d| resolved(doc, d))
            .and_then(|d| d.as_array().ok()?.first()?.as_reference().ok());
        if let Ok(font) = doc.get_dictionary_mut(id) {
            let identity = if vertical { "Identity-V" } else { "Identity-H" };
            font.set("Encoding", Object::Name(identity.as_bytes().to_vec()));
            if !font.has(b"ToUnicode") {
                font.set("ToUnicode", to_unicode);
            }
        }
        // Widths are listed by CID, which no longer matches the codes: the default width is
        // closer than the wrong glyph's.
        if let Some(descendant) = descendant
            && let Ok(cid_font) = doc.get_dictionary_mut(descendant)
        {
            cid_font.remove(b"W");
        }
    }
}

/// Most glyphs a font's made-up ToUnicode map lists.
const MAX_MAPPED_GLYPHS: usize = 0x1_0000;

fn to_unicode_from_font_files(doc: &mut Document) {
    let mut maps = Vec::new();
    let mut bad_to_unicode = Vec::new();
    for (&id, object) in &doc.objects {
        let Ok(font) = object.as_dict() else { continue };
        if font.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Type0") {
            continue;
        }
        // A ToUnicode that is not a stream (`/Identity-H` is common) maps nothing, and pdf-extract
        // panics on most such values: treat it as missing.
        let to_unicode = font.get(b"ToUnicode").ok().and_then(|t| resolved(doc, t));
        if to_unicode.is_some() && !matches!(to_unicode, Some(Object::Stream(_))) {
            bad_to_unicode.push(id);
        } else if to_unicode.is_some() {
            continue;
        }
        if !matches!(
            font.get(b"Encoding").and_then(Object::as_name).ok(),
            Some(b"Identity-H" | b"Identity-V")
        ) {
            continue;
        }
        if let Some(map) = cid_to_unicode(doc, font).or_else(|| collection_to_unicode(doc, font)) {
            maps.push((id, map));
        }
    }
    for id in bad_to_unicode {
        if let Ok(font) = doc.get_dictionary_mut(id) {
            font.remove(b"ToUnicode");
        }
    }
    for (id, map) in maps {
        let to_unicode = doc.add_object(Stream::new(Dictionary::new(), to_unicode_cmap(&map)));
        if let Ok(font) = doc.get_dictionary_mut(id) {
            font.set("ToUnicode", to_unicode);
        }
    }
}

/// CID -> character for a Type0 font whose descendant embeds a TrueType file with a Unicode
/// `cmap`, through its `CIDToGIDMap` (identity when absent).
fn cid_to_unicode(doc: &Document, font: &Dictionary) -> Option<Vec<(u32, char)>> {
    let descendants = resolved(doc, font.get(b"DescendantFonts").ok()?)?;
    let cid_font = resolved(doc, descendants.as_array().ok()?.first()?)?;
    let cid_font = cid_font.as_dict().ok()?;
    let descriptor = resolved(doc, cid_font.get(b"FontDescriptor").ok()?)?;
    let file = resolved(doc, descriptor.as_dict().ok()?.get(b"FontFile2").ok()?)?;
    let file = file.as_stream().ok()?;
    let data = file
        .decompressed_content()
        .unwrap_or_else(|_| file.content.clone());
    let glyph_chars = glyph_to_char(&data)?;
    let cid_to_gid = match cid_font.get(b"CIDToGIDMap").ok().and_then(|m| resolved(doc, m)) {
        Some(Object::Stream(map)) => Some(map.decompressed_content().unwrap_or_else(|_| map.content.clone())),
        _ => None,
    };
    let mut map: Vec<(u32, char)> = match cid_to_gid {
        None => glyph_chars.iter().map(|(&gid, &c)| (u32::from(gid), c)).collect(),
        Some(table) => table
            .chunks_exact(2)
            .enumerate()
            .filter_map(|(cid, gid)| {
                let gid = u16::from_be_bytes([gid[0], gid[1]]);
                Some((u32::try_from(cid).ok()?, *glyph_chars.get(&gid)?))
            })
            .collect(),
    };
    map.sort_unstable();
    map.truncate(MAX_MAPPED_GLYPHS);
    (!map.is_empty()).then_some(map)
}

/// CID -> character of Adobe's CJK character collections, 3 bytes little-endian per CID
/// (`cid_tables/README.md`).
fn collection_table(ordering: &[u8]) -> Option<&'static [u8]> {
    match ordering {
        b"Japan1" => Some(include_bytes!("cid_tables/Japan1.bin")),
        b"Korea1" => Some(include_bytes!("cid_tables/Korea1.bin")),
        b"GB1" => Some(include_bytes!("cid_tables/GB1.bin")),
        b"CNS1" => Some(include_bytes!("cid_tables/CNS1.bin")),
        _ => None,
    }
}

/// CID -> character for a Type0 font whose CIDs are those of one of Adobe's CJK collections
/// (`/CIDSystemInfo` Adobe-Japan1, -Korea1, -GB1 or -CNS1), as non-embedded Japanese, Korean and
/// Chinese fonts and CID-keyed CFF subsets without a ToUnicode map have them: poppler reads these
/// through the same tables.
fn collection_to_unicode(doc: &Document, font: &Dictionary) -> Option<Vec<(u32, char)>> {
    let descendants = resolved(doc, font.get(b"DescendantFonts").ok()?)?;
    let cid_font = resolved(doc, descendants.as_array().ok()?.first()?)?;
    let info = resolved(doc, cid_font.as_dict().ok()?.get(b"CIDSystemInfo").ok()?)?;
    let info = info.as_dict().ok()?;
    let text = |key: &[u8]| match resolved(doc, info.get(key).ok()?)? {
        Object::String(bytes, _) => Some(bytes),
        _ => None,
    };
    if text(b"Registry")? != b"Adobe" {
        return None;
    }
    let table = collection_table(&text(b"Ordering")?)?;
    let map: Vec<(u32, char)> = table
        .chunks_exact(3)
        .enumerate()
        .filter_map(|(cid, bytes)| {
            let c = char::from_u32(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0]))?;
            (c != '\0').then_some((u32::try_from(cid).ok()?, c))
        })
        .collect();
    (!map.is_empty()).then_some(map)
}

/// Glyph id -> the lowest character the font's Unicode `cmap` subtables map to it.
fn glyph_to_char(font_file: &[u8]) -> Option<HashMap<u16, char>> {
    let face = ttf_parser::RawFace::parse(font_file, 0).ok()?;
    let cmap = ttf_parser::cmap::Table::parse(face.table(ttf_parser::Tag::from_bytes(b"cmap"))?)?;
    let mut glyphs: HashMap<u16, char> = HashMap::new();
    for subtable in cmap.subtables.into_iter().filter(|s| s.is_unicode()) {
        subtable.codepoints(|code_point| {
            if let (Some(glyph), Some(c)) = (subtable.glyph_index(code_point), char::from_u32(code_point))
                && glyph.0 != 0
                && !c.is_control()
            {
                glyphs
                    .entry(glyph.0)
                    .and_modify(|known| *known = (*known).min(c))
                    .or_insert(c);
            }
        });
    }
    (!glyphs.is_empty()).then_some(glyphs)
}

/// A ToUnicode CMap for two-byte codes listing each code's character (`map` sorted by code): runs
/// of consecutive codes with consecutive characters as ranges, the rest one by one.
fn to_unicode_cmap(map: &[(u32, char)]) -> Vec<u8> {
    let mut ranges: Vec<(u32, u32, char)> = Vec::new();
    let mut singles: Vec<(u32, char)> = Vec::new();
    let mut i = 0;
    while i < map.len() {
        let (first, c) = map[i];
        let mut last = i;
        // A range stays within one high byte of code and within the Basic Multilingual Plane.
        while last + 1 < map.len()
            && map[last + 1].0 == map[last].0 + 1
            && map[last + 1].0 >> 8 == first >> 8
            && u32::from(map[last + 1].1) == u32::from(map[last].1) + 1
            && u32::from(map[last + 1].1) <= 0xFFFF
        {
            last += 1;
        }
        if last > i {
            ranges.push((first, map[last].0, c));
        } else {
            singles.push((first, c));
        }
        i = last + 1;
    }
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
         /CMapName /Ragd-FontFile def /CMapType 2 def\n\
         1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
    );
    for block in ranges.chunks(100) {
        cmap.push_str(&format!("{} beginbfrange\n", block.len()));
        for (first, last, c) in block {
            cmap.push_str(&format!("<{first:04X}> <{last:04X}> <{:04X}>\n", u32::from(*c)));
        }
        cmap.push_str("endbfrange\n");
    }
    for block in singles.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", block.len()));
        for (code, c) in block {
            let utf16: String = c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            cmap.push_str(&format!("<{code:04X}> <{utf16}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap CMapName currentdict /CMap defineresource pop end end\n");
    cmap.into_bytes()
}

/// The forms each form draws: `(name in its resources, form id)` for every `Do`.
fn form_graph(doc: &Document) -> HashMap<ObjectId, Vec<(Vec<u8>, ObjectId)>> {
    let mut graph = HashMap::new();
    for (&id, object) in &doc.objects {
        let Object::Stream(stream) = object else { continue };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            continue;
        }
        let Some(xobjects) = stream
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|r| resolved(doc, r))
            .and_then(|r| {
                r.as_dict()
                    .ok()?
                    .get(b"XObject")
                    .ok()
                    .and_then(|x| resolved(doc, x))
            })
        else {
            continue;
        };
        let Ok(xobjects) = xobjects.as_dict() else {
            continue;
        };
        let content = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        if !content.windows(2).any(|w| w == b"Do") {
            continue;
        }
        let Ok(decoded) = Content::decode(&content) else {
            continue;
        };
        let edges: Vec<(Vec<u8>, ObjectId)> = decoded
            .operations
            .iter()
            .filter(|op| op.operator == "Do")
            .filter_map(|op| {
                let name = op.operands.first()?.as_name().ok()?;
                let target = xobjects.get(name).ok()?.as_reference().ok()?;
                Some((name.to_vec(), target))
            })
            .collect();
        if !edges.is_empty() {
            graph.insert(id, edges);
        }
    }
    graph
}

/// The `(form, name)` uses that close a cycle, found by depth-first search.
fn cycle_closing_uses(graph: &HashMap<ObjectId, Vec<(Vec<u8>, ObjectId)>>) -> Vec<(ObjectId, Vec<u8>)> {
    let mut closing = Vec::new();
    let mut done: HashSet<ObjectId> = HashSet::new();
    let mut roots: Vec<&ObjectId> = graph.keys().collect();
    roots.sort();
    for &root in roots {
        if done.contains(&root) {
            continue;
        }
        // Iterative, so a long chain of forms cannot overflow the stack here either.
        let mut path: Vec<(ObjectId, usize)> = vec![(root, 0)];
        let mut on_path: HashSet<ObjectId> = HashSet::from([root]);
        while let Some((form, next)) = path.last_mut() {
            let form = *form;
            let edges = graph.get(&form).map(Vec::as_slice).unwrap_or_default();
            let Some((name, target)) = edges.get(*next) else {
                path.pop();
                on_path.remove(&form);
                done.insert(form);
                continue;
            };
            *next += 1;
            if on_path.contains(target) {
                closing.push((form, name.clone()));
            } else if !done.contains(target) {
                path.push((*target, 0));
                on_path.insert(*target);
            }
        }
    }
    closing
}

fn break_form_cycles(doc: &mut Document) {
    let graph = form_graph(doc);
    if graph.is_empty() {
        return;
    }
    for (form, name) in cycle_closing_uses(&graph) {
        let Some(Object::Stream(stream)) = doc.objects.get_mut(&form) else {
            continue;
        };
        let content = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        let Ok(mut decoded) = Content::decode(&content) else {
            continue;
        };
        decoded.operations.retain(|op| {
            !(op.operator == "Do"
                && op.operands.first().and_then(|n| n.as_name().ok()) == Some(name.as_slice()))
        });
        if let Ok(encoded) = decoded.encode() {
            stream.set_plain_content(encoded);
        }
    }
}

#[cfg(test)]
mod tests {
    use lopdf::dictionary;

    use super::*;

    #[test]
    fn width_ranges_become_lists() {
        let doc = Document::new();
        let widths = vec![
            1.into(),
            Object::Array(vec![500.into(), 600.into()]),
            10.into(),
            12.into(),
            Object::Real(250.5),
        ];
        let listed = listed_widths(&doc, &widths).unwrap();
        assert_eq!(
            listed,
            vec![
                1.into(),
                Object::Array(vec![500.into(), 600.into()]),
                10.into(),
                Object::Array(vec![Object::Real(250.5); 3]),
            ]
        );
        // Already in list form: nothing to do.
        assert_eq!(listed_widths(&doc, &listed), None);
    }

    #[test]
    fn cycles_lose_only_their_closing_use() {
        let (a, b, c) = ((1, 0), (2, 0), (3, 0));
        // a draws b and c, b draws a (a cycle), c draws c (a loop).
        let graph = HashMap::from([
            (a, vec![(b"B".to_vec(), b), (b"C".to_vec(), c)]),
            (b, vec![(b"A".to_vec(), a)]),
            (c, vec![(b"C".to_vec(), c)]),
        ]);
        let mut closing = cycle_closing_uses(&graph);
        closing.sort();
        assert_eq!(closing, vec![(b, b"A".to_vec()), (c, b"C".to_vec())]);
        let acyclic = HashMap::from([(a, vec![(b"B".to_vec(), b)]), (b, vec![(b"C".to_vec(), c)])]);
        assert!(cycle_closing_uses(&acyclic).is_empty());
    }

    #[test]
    fn unicode_cmap_names_are_recognised() {
        assert!(is_unicode_cmap(b"UniGB-UCS2-H"));
        assert!(is_unicode_cmap(b"UniJIS-UTF16-V"));
        assert!(!is_unicode_cmap(b"Identity-H"));
        assert!(!is_unicode_cmap(b"90ms-RKSJ-H"));
        assert!(seven_bit_cmap_encoding(b"90ms-RKSJ-H").is_none());
        let cmap = adobe_cmap_parser::get_unicode_map(&identity_to_unicode()).unwrap();
        assert_eq!(cmap.get(&0x4E2D), Some(&vec![0x4E, 0x2D]));
        assert_eq!(cmap.get(&0x0041), Some(&vec![0x00, 0x41]));
        assert_eq!(cmap.get(&0xD800), None);
    }

    #[test]
    fn seven_bit_cmaps_decode_through_their_euc_form() {
        let jis: HashMap<u32, char> = seven_bit_to_unicode(encoding_rs::EUC_JP).into_iter().collect();
        // JIS X 0208 row 4 is hiragana: 0x2422 is あ.
        assert_eq!(jis.get(&0x2422), Some(&'あ'));
        assert_eq!(jis.get(&0x3021), Some(&'亜'));
        let gb: HashMap<u32, char> = seven_bit_to_unicode(encoding_rs::GBK).into_iter().collect();
        assert_eq!(gb.get(&0x5650), Some(&'中'));
        let ksc: HashMap<u32, char> = seven_bit_to_unicode(encoding_rs::EUC_KR).into_iter().collect();
        assert_eq!(ksc.get(&0x3021), Some(&'가'));
        // The map is read back by the CMap parser pdf-extract uses.
        let cmap = to_unicode_cmap(&seven_bit_to_unicode(encoding_rs::EUC_JP));
        let parsed = adobe_cmap_parser::get_unicode_map(&cmap).unwrap();
        assert_eq!(parsed.get(&0x2422), Some(&vec![0x30, 0x42]));
    }

    #[test]
    fn runs_become_ranges_in_made_up_maps() {
        let map = [
            (0x10, 'a'),
            (0x11, 'b'),
            (0x12, 'c'),
            (0x13, 'x'),
            (0xFF, 'd'),
            (0x100, 'e'),
        ];
        let cmap = to_unicode_cmap(&map);
        let text = String::from_utf8(cmap.clone()).unwrap();
        assert!(text.contains("1 beginbfrange\n<0010> <0012> <0061>\n"), "{text}");
        let parsed = adobe_cmap_parser::get_unicode_map(&cmap).unwrap();
        for (code, c) in map {
            assert_eq!(parsed.get(&code), Some(&vec![0, c as u8]), "{code:#x}");
        }
    }

    #[test]
    fn adobe_collections_map_cids_to_characters() {
        let mut doc = Document::new();
        let info = dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Japan1"),
            "Supplement" => 2,
        };
        let descendant = doc.add_object(dictionary! { "Subtype" => "CIDFontType0", "CIDSystemInfo" => info });
        let font = dictionary! { "Subtype" => "Type0", "Encoding" => "Identity-V", "DescendantFonts" => vec![descendant.into()] };
        let map = collection_to_unicode(&doc, &font).unwrap();
        let find = |cid: u32| map.iter().find(|(c, _)| *c == cid).map(|(_, ch)| *ch);
        // Adobe-Japan1: CID 34 is 'A', 843 is hiragana あ, 1125 is 亜.
        assert_eq!(find(34), Some('A'));
        assert_eq!(find(843), Some('あ'));
        assert_eq!(find(1125), Some('亜'));
    }

    #[test]
    fn made_up_to_unicode_maps_parse() {
        let cmap = to_unicode_cmap(&[(3, ' '), (36, 'A'), (0x1234, '\u{1F600}')]);
        let parsed = adobe_cmap_parser::get_unicode_map(&cmap).unwrap();
        assert_eq!(parsed.get(&36), Some(&vec![0x00, 0x41]));
        assert_eq!(parsed.get(&0x1234), Some(&vec![0xD8, 0x3D, 0xDE, 0x00]));
    }

    #[test]
    fn referenced_filters_become_direct() {
        let mut doc = Document::new();
        let filter = doc.add_object(Object::Name(b"FlateDecode".to_vec()));
        let stream = doc.add_object(lopdf::Stream::new(dictionary! { "Filter" => filter }, vec![]));
        apply(&mut doc);
        let dict = &doc.get_object(stream).unwrap().as_stream().unwrap().dict;
        assert_eq!(
            dict.get(b"Filter").unwrap(),
            &Object::Name(b"FlateDecode".to_vec())
        );
    }
}
