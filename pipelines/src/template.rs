//! Pipeline templates (`pipelines/templates/*.toml`): named presets of parser options, cleaning and
//! chunking that a dataset refers to by name.

use serde::{Deserialize, Serialize};

use crate::chunk::ProcessRule;

/// A named preset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineTemplate {
    pub name: String,
    pub description: String,
    pub process_rule: ProcessRule,
}

/// Templates shipped inside the binary, from `pipelines/templates/`.
pub fn builtin_templates() -> Vec<PipelineTemplate> {
    unimplemented!()
}

/// The shipped template with this name.
pub fn builtin_template(name: &str) -> Option<PipelineTemplate> {
    builtin_templates().into_iter().find(|t| t.name == name)
}
