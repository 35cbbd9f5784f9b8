//! Filters pushed down into both indexes, applied before top-k.
//!
//! Each store translates a [`Filter`] into its own language (a LanceDB SQL prefilter, tantivy
//! `Must` clauses); nothing here filters result lists after the fact, because a post-filter
//! would return fewer than top-k hits when the best rows belong to other documents.

/// Restricts a search; `None` fields do not filter. Disabled rows are always excluded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only rows of these documents (the caller resolves metadata conditions to document ids).
    pub document_ids: Option<Vec<String>>,
}

impl Filter {
    /// True when the filter can match no row at all (an empty document id set), so a search can
    /// answer without touching either index.
    pub fn matches_nothing(&self) -> bool {
        self.document_ids.as_ref().is_some_and(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_empty_document_set_matches_nothing() {
        assert!(!Filter::default().matches_nothing());
        assert!(
            Filter {
                document_ids: Some(vec![])
            }
            .matches_nothing()
        );
        assert!(
            !Filter {
                document_ids: Some(vec!["d".into()])
            }
            .matches_nothing()
        );
    }
}
