//! tantivy BM25 index of one dataset generation.
