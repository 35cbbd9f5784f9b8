//! The apps runtime: a chat or completion app's config, retrieval across its datasets, prompt
//! assembly within the model's context budget, the LLM call, and the stored conversation.
//! No HTTP here: `api::app` and `api::console::apps` shape requests and answers around it.

pub mod annotations;
pub mod config;
pub mod generate;
pub mod llm;
pub mod manage;
pub mod prompt;
pub mod retrieval;
pub mod suggest;
pub mod tasks;

pub use config::{AppConfig, AppMode};
pub use generate::{Generation, GenerationEvent, GenerationRequest, Outcome, start};

use crate::engine::EngineError;
use crate::store::StoreError;

/// Why an app request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request or the config is wrong (Dify's ValueError, `invalid_param`).
    #[error("{0}")]
    Input(String),
    #[error("conversation not found")]
    ConversationNotFound,
    /// The caller may not reach something the request names (a dataset hidden from them).
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Llm(#[from] llm::LlmError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
