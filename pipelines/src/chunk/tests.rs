//! Chunker tests: validation messages, each mode's behaviour, and property tests (sizes, coverage,
//! overlap, parent-child containment) with both the character counter and the real tokenizer.

use proptest::prelude::*;

use super::split::Span;
use super::*;
use crate::document::Section;
use crate::tokens::tests::fixture_counter;

fn rule(mode: ProcessMode, rules: Option<Rules>) -> ProcessRule {
    ProcessRule { mode, rules }
}

fn segmentation(separator: &str, max_tokens: Option<usize>, chunk_overlap: usize) -> Segmentation {
    Segmentation {
        separator: separator.to_string(),
        max_tokens,
        chunk_overlap,
    }
}

fn custom(separator: &str, max_tokens: usize, overlap: usize) -> ProcessRule {
    rule(
        ProcessMode::Custom,
        Some(Rules {
            pre_processing_rules: vec![PreProcessingRule {
                id: "remove_extra_spaces".to_string(),
                enabled: true,
            }],
            segmentation: Some(segmentation(separator, Some(max_tokens), overlap)),
            parent_mode: None,
            subchunk_segmentation: None,
        }),
    )
}

fn hierarchical(parent_mode: ParentMode, parent: Segmentation, child: Segmentation) -> ProcessRule {
    rule(
        ProcessMode::Hierarchical,
        Some(Rules {
            pre_processing_rules: vec![],
            segmentation: Some(parent),
            parent_mode: Some(parent_mode),
            subchunk_segmentation: Some(child),
        }),
    )
}

fn automatic() -> ProcessRule {
    rule(ProcessMode::Automatic, None)
}

fn chunker(rule: &ProcessRule) -> Chunker {
    Chunker::new(rule, TokenCounter::Characters, usize::MAX).expect("valid rule")
}

fn error_of(rule: &ProcessRule) -> String {
    match Chunker::new(rule, TokenCounter::Characters, usize::MAX) {
        Ok(_) => panic!("rule should be refused: {rule:?}"),
        Err(RuleError::Invalid(message)) => message,
    }
}

fn texts(chunks: &[Chunk]) -> Vec<&str> {
    chunks.iter().map(|chunk| chunk.text.as_str()).collect()
}

fn words(n: usize) -> String {
    (0..n)
        .map(|i| format!("word{}", i % 97))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- validation ----------------------------------------------------------------------------

#[test]
fn custom_rule_requires_rules_and_segmentation() {
    assert_eq!(
        error_of(&rule(ProcessMode::Custom, None)),
        "Process rule rules is required"
    );
    let no_segmentation = rule(
        ProcessMode::Custom,
        Some(Rules {
            pre_processing_rules: vec![],
            segmentation: None,
            parent_mode: None,
            subchunk_segmentation: None,
        }),
    );
    assert_eq!(
        error_of(&no_segmentation),
        "Process rule segmentation is required"
    );
}

#[test]
fn custom_rule_requires_separator_and_max_tokens() {
    assert_eq!(
        error_of(&custom("", 100, 0)),
        "Process rule segmentation separator is required"
    );
    let mut missing = custom("\n", 100, 0);
    if let Some(rules) = missing.rules.as_mut() {
        rules.segmentation = Some(segmentation("\n", None, 0));
    }
    assert_eq!(
        error_of(&missing),
        "Process rule segmentation max_tokens is required"
    );
    assert_eq!(
        error_of(&custom("\n", 0, 0)),
        "Process rule segmentation max_tokens is required"
    );
}

#[test]
fn custom_rule_length_and_overlap_limits() {
    let length = "Custom segment length should be between 50 and 4000.";
    assert_eq!(error_of(&custom("\n", 49, 0)), length);
    assert_eq!(error_of(&custom("\n", 4001, 0)), length);
    assert!(Chunker::new(&custom("\n", 50, 0), TokenCounter::Characters, 10).is_ok());
    // Custom sizes may exceed the model window: the user chose them.
    assert!(Chunker::new(&custom("\n", 4000, 3999), TokenCounter::Characters, 254).is_ok());
    let overlap = "Custom segment overlap must be less than max_tokens";
    assert_eq!(error_of(&custom("\n", 100, 100)), overlap);
    assert_eq!(error_of(&custom("\n", 100, 150)), overlap);
}

#[test]
fn hierarchical_rule_validation() {
    let child = segmentation("\n", Some(100), 0);
    let no_child = rule(
        ProcessMode::Hierarchical,
        Some(Rules {
            pre_processing_rules: vec![],
            segmentation: Some(segmentation("\n\n", Some(500), 0)),
            parent_mode: Some(ParentMode::Paragraph),
            subchunk_segmentation: None,
        }),
    );
    assert_eq!(error_of(&no_child), "No subchunk segmentation found in rules.");
    // Paragraph parents need max_tokens; full-doc parents do not.
    let paragraph = hierarchical(
        ParentMode::Paragraph,
        segmentation("\n\n", None, 0),
        child.clone(),
    );
    assert_eq!(
        error_of(&paragraph),
        "Process rule segmentation max_tokens is required"
    );
    let full_doc = hierarchical(ParentMode::FullDoc, segmentation("\n\n", None, 0), child.clone());
    assert!(chunker(&full_doc).is_hierarchical());
    let small_child = hierarchical(
        ParentMode::FullDoc,
        segmentation("\n\n", None, 0),
        segmentation("\n", Some(20), 0),
    );
    assert_eq!(
        error_of(&small_child),
        "Custom segment length should be between 50 and 4000."
    );
    let no_separator = hierarchical(
        ParentMode::FullDoc,
        segmentation("\n\n", None, 0),
        segmentation("", Some(100), 0),
    );
    assert_eq!(
        error_of(&no_separator),
        "Process rule segmentation separator is required"
    );
}

#[test]
fn process_rule_from_json_follows_dify() {
    let error = ProcessRule::from_json(&serde_json::json!({"mode": "fancy"})).unwrap_err();
    assert_eq!(
        error,
        RuleError::Invalid("Process rule mode is invalid".to_string())
    );
    let error = ProcessRule::from_json(&serde_json::json!({})).unwrap_err();
    assert_eq!(
        error,
        RuleError::Invalid("Process rule mode is invalid".to_string())
    );
    // Automatic discards rules, even invalid ones.
    let parsed =
        ProcessRule::from_json(&serde_json::json!({"mode": "automatic", "rules": {"x": 1}})).unwrap();
    assert_eq!(parsed, automatic());
    let parsed = ProcessRule::from_json(&serde_json::json!({
        "mode": "custom",
        "rules": {
            "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": true}],
            "segmentation": {"separator": "\\n", "max_tokens": 100}
        }
    }))
    .unwrap();
    assert_eq!(parsed.mode, ProcessMode::Custom);
    let segmentation = parsed.rules.unwrap().segmentation.unwrap();
    assert_eq!(segmentation.separator, "\\n");
    assert_eq!(segmentation.chunk_overlap, 0);
    let error = ProcessRule::from_json(&serde_json::json!({"mode": "custom", "rules": {"segmentation": 5}}))
        .unwrap_err();
    assert!(matches!(&error, RuleError::Invalid(m) if m.starts_with("Process rule rules is invalid")));
}

#[test]
fn dify_automatic_defaults_deserialize() {
    // The stored automatic rule uses `delimiter`.
    let parsed: Segmentation = serde_json::from_value(
        serde_json::json!({"delimiter": "\n", "max_tokens": 500, "chunk_overlap": 50}),
    )
    .unwrap();
    assert_eq!(parsed, segmentation("\n", Some(500), 50));
}

// ---- automatic ---------------------------------------------------------------------------

#[test]
fn automatic_is_capped_at_the_model_window() {
    let text = words(400);
    let doc = ParsedDocument::from_text(text.clone());
    let capped = Chunker::new(&automatic(), TokenCounter::Characters, 254).unwrap();
    let chunks = capped.chunk(&doc);
    assert!(chunks.len() > 5);
    assert!(chunks.iter().all(|chunk| chunk.tokens <= 254));
    assert!(
        chunks.iter().any(|chunk| chunk.tokens > 200),
        "chunks should fill the window"
    );
    assert_eq!(
        capped.plan,
        Plan::Automatic {
            max_tokens: 254,
            overlap: 25
        }
    );
    // Without a smaller window, Dify's 500/50 apply.
    assert_eq!(
        chunker(&automatic()).plan,
        Plan::Automatic {
            max_tokens: 500,
            overlap: 50
        }
    );
}

#[test]
fn automatic_ignores_rules_and_removes_extra_spaces_only() {
    let mut with_rules = automatic();
    with_rules.rules = custom("|", 60, 0).rules;
    let chunker = chunker(&with_rules);
    assert_eq!(
        chunker.cleaner,
        Cleaner {
            remove_extra_spaces: true,
            remove_urls_emails: false
        }
    );
    let chunks = chunker.chunk(&ParsedDocument::from_text(
        "a   b | c\n\n\n\nhttps://x.example.com",
    ));
    assert_eq!(texts(&chunks), ["a b | c\n\nhttps://x.example.com"]);
}

#[test]
fn automatic_with_real_tokenizer_fits_the_window() {
    let counter = fixture_counter();
    let chunker = Chunker::new(&automatic(), counter.clone(), 254).unwrap();
    let paragraph = "Retrieval-augmented generation combines a search index with a language model. \
                     The knowledge base stores segments; each segment is embedded and indexed. ";
    let text = (0..40)
        .map(|i| format!("Section {i}. {paragraph}"))
        .collect::<Vec<_>>()
        .join("\n\n");
    let chunks = chunker.chunk(&ParsedDocument::from_text(text));
    assert!(chunks.len() > 3);
    for chunk in &chunks {
        assert!(chunk.tokens <= 254, "{} tokens", chunk.tokens);
        assert_eq!(chunk.tokens, counter.count(&chunk.text));
    }
}

// ---- custom ------------------------------------------------------------------------------

#[test]
fn custom_escaped_newline_separator_splits_lines() {
    let chunker = chunker(&custom("\\n", 100, 0));
    let chunks = chunker.chunk(&ParsedDocument::from_text("line one\nline two\n\nline three"));
    assert_eq!(texts(&chunks), ["line one", "line two", "line three"]);
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk.children.is_empty() && chunk.page.is_none())
    );
    assert!(!chunker.is_hierarchical());
}

#[test]
fn custom_keeps_each_separated_piece_as_its_own_segment() {
    let chunker = chunker(&custom("###", 200, 0));
    let text = "Q: what is ragd?\nA: a knowledge base.###Q: does it speak Dify?\nA: yes.###";
    let chunks = chunker.chunk(&ParsedDocument::from_text(text));
    assert_eq!(
        texts(&chunks),
        [
            "Q: what is ragd?\nA: a knowledge base.",
            "Q: does it speak Dify?\nA: yes."
        ]
    );
    assert_eq!(chunks[0].tokens, chunks[0].text.chars().count());
}

#[test]
fn custom_splits_long_pieces_with_overlap() {
    let chunker = chunker(&custom("\n\n", 60, 20));
    let long = words(60);
    let chunks = chunker.chunk(&ParsedDocument::from_text(format!("intro\n\n{long}\n\noutro")));
    assert_eq!(chunks.first().map(|c| c.text.as_str()), Some("intro"));
    assert_eq!(chunks.last().map(|c| c.text.as_str()), Some("outro"));
    let middle = &chunks[1..chunks.len() - 1];
    assert!(middle.len() > 3);
    for pair in middle.windows(2) {
        let last_word = pair[0].text.split(' ').next_back().unwrap();
        assert!(pair[1].text.contains(last_word), "no overlap between {pair:?}");
    }
    assert!(chunks.iter().all(|chunk| chunk.tokens <= 60));
}

#[test]
fn custom_applies_pre_processing_rules() {
    let mut rule = custom("\n\n", 100, 0);
    if let Some(rules) = rule.rules.as_mut() {
        rules.pre_processing_rules.push(PreProcessingRule {
            id: "remove_urls_emails".to_string(),
            enabled: true,
        });
    }
    let chunks = chunker(&rule).chunk(&ParsedDocument::from_text(
        "mail me@example.com  or visit https://example.com\n\n\n\n[docs](https://docs.example.com)",
    ));
    assert_eq!(
        texts(&chunks),
        ["mail or visit", "[docs](https://docs.example.com)"]
    );
}

#[test]
fn chunks_stay_within_their_page() {
    let doc = ParsedDocument {
        title: None,
        sections: vec![
            Section {
                text: "page one text".to_string(),
                page: Some(1),
            },
            Section {
                text: "  \n ".to_string(),
                page: Some(2),
            },
            Section {
                text: "page three first\n\npage three second".to_string(),
                page: Some(3),
            },
        ],
    };
    let chunks = chunker(&custom("\n\n", 100, 0)).chunk(&doc);
    assert_eq!(
        texts(&chunks),
        ["page one text", "page three first", "page three second"]
    );
    let pages: Vec<Option<u32>> = chunks.iter().map(|chunk| chunk.page).collect();
    assert_eq!(pages, [Some(1), Some(3), Some(3)]);
    // Chunks never run across a page break, even when they would fit together.
    let automatic = chunker(&automatic()).chunk(&doc);
    assert_eq!(
        texts(&automatic),
        ["page one text", "page three first\n\npage three second"]
    );
    let pages: Vec<Option<u32>> = automatic.iter().map(|chunk| chunk.page).collect();
    assert_eq!(pages, [Some(1), Some(3)]);
}

#[test]
fn empty_documents_give_no_chunks() {
    for rule in [automatic(), custom("\n", 100, 0)] {
        let chunker = chunker(&rule);
        assert!(chunker.chunk(&ParsedDocument::default()).is_empty());
        assert!(
            chunker
                .chunk(&ParsedDocument::from_text(" \n\n\t \u{0} "))
                .is_empty()
        );
    }
}

#[test]
fn markdown_documents_split_at_headings() {
    let section = |title: &str| format!("## {title}\n\n{}", words(12));
    let text = ["Alpha", "Beta", "Gamma"].map(section).join("\n\n");
    let chunks = chunker(&custom("\n\n\n", 120, 0)).chunk(&ParsedDocument::from_text(text));
    assert_eq!(chunks.len(), 3, "{chunks:#?}");
    assert!(chunks.iter().all(|chunk| chunk.text.starts_with("## ")));
}

// ---- hierarchical ------------------------------------------------------------------------

#[test]
fn paragraph_parents_with_children() {
    let rule = hierarchical(
        ParentMode::Paragraph,
        segmentation("\n\n", Some(200), 0),
        segmentation("\\n", Some(50), 0),
    );
    let chunker = chunker(&rule);
    assert!(chunker.is_hierarchical());
    let doc =
        ParsedDocument::from_text("first parent line one\nfirst parent line two\n\nsecond parent only line");
    let chunks = chunker.chunk(&doc);
    assert_eq!(
        texts(&chunks),
        [
            "first parent line one\nfirst parent line two",
            "second parent only line"
        ]
    );
    let children: Vec<Vec<&str>> = chunks
        .iter()
        .map(|chunk| chunk.children.iter().map(|child| child.text.as_str()).collect())
        .collect();
    assert_eq!(
        children,
        [
            vec!["first parent line one", "first parent line two"],
            vec!["second parent only line"]
        ]
    );
    assert_eq!(chunks[0].children[0].tokens, "first parent line one".len());
}

#[test]
fn full_doc_is_one_parent_across_pages() {
    let rule = hierarchical(
        ParentMode::FullDoc,
        segmentation("\n\n", None, 0),
        segmentation("\n\n", Some(60), 0),
    );
    let doc = ParsedDocument {
        title: None,
        sections: vec![
            Section {
                text: "page one para\n\nmore".to_string(),
                page: Some(1),
            },
            Section {
                text: "page two para".to_string(),
                page: Some(2),
            },
        ],
    };
    let chunks = chunker(&rule).chunk(&doc);
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "page one para\n\nmore\n\npage two para");
    assert_eq!(chunks[0].page, Some(1));
    let children: Vec<&str> = chunks[0].children.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(children, ["page one para", "more", "page two para"]);
}

#[test]
fn full_doc_beyond_the_parent_limit_is_split_not_truncated() {
    let rule = hierarchical(
        ParentMode::FullDoc,
        segmentation("\n\n", None, 0),
        segmentation("\n\n", Some(1000), 0),
    );
    let text = words(3000); // ~20,000 characters
    let chunks = chunker(&rule).chunk(&ParsedDocument::from_text(text.clone()));
    assert!(chunks.len() >= 2);
    assert!(chunks.iter().all(|chunk| chunk.tokens <= FULL_DOC_MAX_TOKENS));
    let rejoined: String = chunks
        .iter()
        .map(|chunk| chunk.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(rejoined, text);
}

// ---- properties --------------------------------------------------------------------------

/// Text mixing words, punctuation, CJK, newlines and Markdown headings.
fn document_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        6 => "[a-z]{1,9}",
        3 => Just(" ".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("\n\n".to_string()),
        1 => Just(". ".to_string()),
        1 => Just("。".to_string()),
        1 => Just("|".to_string()),
        1 => "[一-龥]{1,4}",
        1 => Just("\n## Heading\n".to_string()),
        1 => Just("   \t ".to_string()),
    ];
    prop::collection::vec(token, 0..600).prop_map(|tokens| tokens.concat())
}

fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n\n".to_string()),
        Just("\\n".to_string()),
        Just("。".to_string()),
        Just("|".to_string()),
        Just("zzz".to_string()),
    ]
}

/// Byte positions of non-whitespace characters.
fn non_whitespace(text: &str, range: std::ops::Range<usize>) -> Vec<usize> {
    text[range.clone()]
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .map(|(i, _)| range.start + i)
        .collect()
}

/// Checks the invariants of `spans` cut from `text` with `max_tokens`, `overlap` and `separator`.
fn check_spans(
    text: &str,
    spans: &[Span],
    separator: Option<&str>,
    max_tokens: usize,
    overlap: usize,
    counter: &TokenCounter,
) -> Result<(), TestCaseError> {
    for span in spans {
        let chunk = &text[span.start..span.end];
        prop_assert!(!chunk.trim().is_empty(), "empty chunk");
        prop_assert_eq!(chunk, chunk.trim(), "untrimmed chunk");
        let tokens = counter.count(chunk);
        prop_assert!(
            tokens <= max_tokens,
            "chunk of {} tokens > {}: {:?}",
            tokens,
            max_tokens,
            chunk
        );
    }
    for pair in spans.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        prop_assert!(
            a.start < b.start && a.end < b.end,
            "chunks out of order: {:?} {:?}",
            a,
            b
        );
        if b.start < a.end {
            prop_assert!(
                a.forced && b.forced && a.piece == b.piece,
                "overlap outside a forced split"
            );
            let shared = counter.count(&text[b.start..a.end]);
            prop_assert!(shared <= overlap, "overlap of {} tokens > {}", shared, overlap);
        }
    }
    // Coverage: every non-whitespace character outside separators is in some chunk, in order.
    let mut expected = Vec::new();
    let mut last = 0;
    if let Some(separator) = separator {
        for (index, _) in text.match_indices(separator) {
            expected.extend(non_whitespace(text, last..index));
            last = index + separator.len();
        }
    }
    expected.extend(non_whitespace(text, last..text.len()));
    let mut covered = Vec::new();
    let mut covered_to = 0;
    for span in spans {
        let from = span.start.max(covered_to);
        if from < span.end {
            covered.extend(non_whitespace(text, from..span.end));
        }
        covered_to = covered_to.max(span.end);
    }
    prop_assert_eq!(covered, expected, "chunks do not cover the text");
    Ok(())
}

fn check_custom(
    text: &str,
    separator: &str,
    max_tokens: usize,
    overlap: usize,
    counter: &TokenCounter,
) -> Result<(), TestCaseError> {
    let chunker = Chunker::new(&custom(separator, max_tokens, overlap), counter.clone(), 254).unwrap();
    let doc = ParsedDocument::from_text(text);
    let prepared = chunker.prepare(&doc);
    let spans = chunker.spans(&prepared.text);
    let unescaped = separator.replace("\\n", "\n");
    check_spans(
        &prepared.text,
        &spans,
        Some(&unescaped),
        max_tokens,
        overlap,
        counter,
    )?;
    let chunks = chunker.chunk(&doc);
    prop_assert_eq!(chunks.len(), spans.len());
    for (chunk, span) in chunks.iter().zip(&spans) {
        prop_assert_eq!(chunk.text.as_str(), &prepared.text[span.start..span.end]);
        prop_assert_eq!(chunk.tokens, counter.count(&chunk.text));
    }
    Ok(())
}

fn check_automatic(text: &str, window: usize, counter: &TokenCounter) -> Result<(), TestCaseError> {
    let chunker = Chunker::new(&automatic(), counter.clone(), window).unwrap();
    let Plan::Automatic { max_tokens, overlap } = chunker.plan else {
        return Err(TestCaseError::fail("automatic rule must plan an automatic split"));
    };
    let prepared = chunker.prepare(&ParsedDocument::from_text(text));
    let spans = chunker.spans(&prepared.text);
    check_spans(&prepared.text, &spans, None, max_tokens, overlap, counter)
}

/// Words-only text: the split is forced at word level, where overlap can always be honoured.
fn check_forced_overlap(
    text: &str,
    max_tokens: usize,
    overlap: usize,
    counter: &TokenCounter,
) -> Result<(), TestCaseError> {
    let chunker = Chunker::new(&custom("\n\n", max_tokens, overlap), counter.clone(), 254).unwrap();
    let spans = chunker.spans(text);
    for pair in spans.windows(2) {
        prop_assert!(
            pair[1].start < pair[0].end,
            "consecutive chunks do not overlap: {:?}",
            pair
        );
    }
    Ok(())
}

fn check_hierarchical(
    text: &str,
    parent_max: usize,
    child_max: usize,
    child_overlap: usize,
    counter: &TokenCounter,
) -> Result<(), TestCaseError> {
    for parent_mode in [ParentMode::Paragraph, ParentMode::FullDoc] {
        let rule = hierarchical(
            parent_mode,
            segmentation("\n\n", Some(parent_max), 0),
            segmentation("\\n", Some(child_max), child_overlap),
        );
        let chunker = Chunker::new(&rule, counter.clone(), 254).unwrap();
        let chunks = chunker.chunk(&ParsedDocument::from_text(text));
        if parent_mode == ParentMode::FullDoc {
            prop_assert!(chunks.len() <= 1);
        }
        for chunk in &chunks {
            if parent_mode == ParentMode::Paragraph {
                prop_assert!(chunk.tokens <= parent_max);
            }
            prop_assert!(!chunk.children.is_empty(), "parent without children");
            for child in &chunk.children {
                prop_assert!(chunk.text.contains(&child.text), "child not in parent");
                prop_assert!(child.tokens <= child_max);
                prop_assert_eq!(child.tokens, counter.count(&child.text));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn prop_custom_characters(
        text in document_text(),
        separator in separator(),
        max_tokens in 50usize..300,
        overlap_percent in 0usize..60,
    ) {
        check_custom(&text, &separator, max_tokens, max_tokens * overlap_percent / 100, &TokenCounter::Characters)?;
    }

    #[test]
    fn prop_automatic_characters(text in document_text(), window in 50usize..600) {
        check_automatic(&text, window, &TokenCounter::Characters)?;
    }

    #[test]
    fn prop_forced_split_overlaps_characters(
        words in prop::collection::vec("[a-z]{1,8}", 50..300),
        max_tokens in 50usize..120,
        overlap in 10usize..40,
    ) {
        check_forced_overlap(&words.join(" "), max_tokens, overlap, &TokenCounter::Characters)?;
    }

    #[test]
    fn prop_hierarchical_characters(
        text in document_text(),
        parent_max in 100usize..600,
        child_max in 50usize..100,
        child_overlap in 0usize..30,
    ) {
        check_hierarchical(&text, parent_max, child_max, child_overlap, &TokenCounter::Characters)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn prop_custom_tokenizer(
        text in document_text(),
        separator in separator(),
        max_tokens in 50usize..200,
        overlap_percent in 0usize..60,
    ) {
        check_custom(&text, &separator, max_tokens, max_tokens * overlap_percent / 100, &fixture_counter())?;
    }

    #[test]
    fn prop_automatic_tokenizer(text in document_text(), window in 50usize..300) {
        check_automatic(&text, window, &fixture_counter())?;
    }

    #[test]
    fn prop_forced_split_overlaps_tokenizer(
        words in prop::collection::vec(
            prop::sample::select(vec!["search", "index", "chunk", "token", "model", "vector", "page", "query"]),
            100..400,
        ),
        max_tokens in 50usize..120,
        overlap in 5usize..40,
    ) {
        check_forced_overlap(&words.join(" "), max_tokens, overlap, &fixture_counter())?;
    }

    #[test]
    fn prop_hierarchical_tokenizer(
        text in document_text(),
        parent_max in 100usize..400,
        child_max in 50usize..100,
    ) {
        check_hierarchical(&text, parent_max, child_max, 10, &fixture_counter())?;
    }
}
