//! Dify's pre-processing rules (`clean_processor.py`).

use serde::{Deserialize, Serialize};

/// One pre-processing rule as Dify sends it: `{id, enabled}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreProcessingRule {
    pub id: String,
    pub enabled: bool,
}

/// Applies the always-on cleanups plus the enabled rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaner {
    pub remove_extra_spaces: bool,
    pub remove_urls_emails: bool,
}

impl Cleaner {
    /// Builds a cleaner from Dify's rule list (unknown ids and `remove_stopwords` are ignored).
    pub fn from_rules(rules: &[PreProcessingRule]) -> Self {
        let _ = rules;
        unimplemented!()
    }

    pub fn clean(&self, text: &str) -> String {
        let _ = text;
        unimplemented!()
    }
}
