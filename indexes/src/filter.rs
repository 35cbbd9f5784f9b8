//! Filters pushed down into both indexes, applied before top-k.

/// Restricts a search; `None` fields do not filter. Disabled rows are always excluded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only rows of these documents (the caller resolves metadata conditions to document ids).
    pub document_ids: Option<Vec<String>>,
}
