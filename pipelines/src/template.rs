//! Pipeline templates (`pipelines/templates/*.toml`): named presets of parser options, cleaning and
//! chunking that a dataset refers to by name.
//!
//! The files are compiled into the binary; a unit test proves each one parses and yields a valid
//! [`Chunker`](crate::chunk::Chunker), so loading them cannot fail at run time.

use serde::{Deserialize, Serialize};

use crate::chunk::ProcessRule;

/// A named preset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineTemplate {
    /// Stable name datasets refer to (`general`, `paragraph`, ...).
    pub name: String,
    /// One line for people choosing a template.
    pub description: String,
    /// Cleaning and chunking, in Dify's `process_rule` shape.
    pub process_rule: ProcessRule,
}

/// Shipped template sources, by file name.
const BUILTIN_SOURCES: &[(&str, &str)] = &[
    ("general.toml", include_str!("../templates/general.toml")),
    ("paragraph.toml", include_str!("../templates/paragraph.toml")),
    (
        "parent-child.toml",
        include_str!("../templates/parent-child.toml"),
    ),
    ("full-doc.toml", include_str!("../templates/full-doc.toml")),
];

/// Templates shipped inside the binary, from `pipelines/templates/`.
pub fn builtin_templates() -> Vec<PipelineTemplate> {
    BUILTIN_SOURCES
        .iter()
        .map(|(file, source)| {
            toml::from_str(source).unwrap_or_else(|e| {
                panic!("built-in template {file} is invalid (unit tests catch this): {e}")
            })
        })
        .collect()
}

/// The shipped template with this name.
pub fn builtin_template(name: &str) -> Option<PipelineTemplate> {
    builtin_templates().into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Chunker, ProcessMode};
    use crate::document::ParsedDocument;
    use crate::tokens::TokenCounter;

    #[test]
    fn every_template_parses_and_builds_a_chunker() {
        let templates = builtin_templates();
        assert_eq!(templates.len(), BUILTIN_SOURCES.len());
        let doc = ParsedDocument::from_text("A first paragraph.\n\nA second paragraph.");
        for template in &templates {
            let chunker = Chunker::new(&template.process_rule, TokenCounter::Characters, 254)
                .unwrap_or_else(|e| panic!("template {} is not a valid rule: {e}", template.name));
            assert!(
                !chunker.chunk(&doc).is_empty(),
                "template {} gives no chunks",
                template.name
            );
            assert!(!template.description.is_empty());
        }
    }

    #[test]
    fn names_are_unique_and_match_files() {
        for ((file, _), template) in BUILTIN_SOURCES.iter().zip(builtin_templates()) {
            assert_eq!(format!("{}.toml", template.name), *file);
        }
    }

    #[test]
    fn templates_mean_what_their_names_say() {
        let general = builtin_template("general").unwrap();
        assert_eq!(general.process_rule.mode, ProcessMode::Automatic);

        let paragraph = builtin_template("paragraph").unwrap();
        let segmentation = paragraph.process_rule.rules.unwrap().segmentation.unwrap();
        assert_eq!(
            (segmentation.separator.as_str(), segmentation.max_tokens),
            ("\n\n", Some(400))
        );

        let parent_child = builtin_template("parent-child").unwrap();
        let chunker = Chunker::new(&parent_child.process_rule, TokenCounter::Characters, 254).unwrap();
        assert!(chunker.is_hierarchical());
        let rules = parent_child.process_rule.rules.unwrap();
        assert_eq!(rules.segmentation.unwrap().max_tokens, Some(800));
        assert_eq!(rules.subchunk_segmentation.unwrap().max_tokens, Some(200));

        assert!(builtin_template("full-doc").is_some());
        assert!(builtin_template("no-such-template").is_none());
    }
}
