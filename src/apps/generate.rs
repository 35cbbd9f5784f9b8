//! One answer of an app: checks made before anything streams (inputs, conversation, attached
//! files), then, in a task of its own, retrieval, prompt assembly, the model call streamed as
//! events, and the message stored once the answer is complete. A failure stores nothing.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::config::{AppConfig, AppMode};
use super::llm::{self, ChatRequest, Completion, Provider, RetryPolicy, Usage};
use super::prompt::{self, ContextPiece, PromptParts, Turn};
use super::retrieval::{self, Asker, RetrievedChunk};
use super::{AppError, annotations, tasks};
use crate::engine::Engine;
use crate::store::{App, Conversation, EndUser, NewAnnotationHit, NewConversation, NewMessage, PageStart};

/// Turns of a conversation read back as memory (those that fit the budget are sent).
const MEMORY_TURNS: u32 = 20;
/// Tokens kept for the answer when the app sets no `max_tokens`.
const DEFAULT_ANSWER_TOKENS: u32 = 512;

/// A document the caller attached, parsed.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub upload_file_id: String,
    pub name: String,
    pub text: String,
}

/// What to answer.
pub struct GenerationRequest {
    pub tenant_id: String,
    pub app: App,
    pub mode: AppMode,
    pub config: AppConfig,
    pub end_user: EndUser,
    pub query: String,
    pub inputs: Map<String, Value>,
    /// An existing conversation to continue (chat apps).
    pub conversation_id: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Dify's `retriever_from` of the citations: `api` through the service API, `dev` in the playground.
    pub retriever_from: String,
    pub auto_generate_name: bool,
    pub provider: Provider,
    pub retry: RetryPolicy,
    /// The External Knowledge APIs of the app's external datasets, by dataset id.
    pub external_sources: std::collections::HashMap<String, retrieval::ExternalSource>,
}

/// An answer under way: its ids, and its events in order.
pub struct Generation {
    pub task_id: String,
    pub message_id: String,
    pub conversation_id: String,
    pub created_at: i64,
    pub mode: AppMode,
    pub events: mpsc::Receiver<GenerationEvent>,
}

/// What a generation reports.
#[derive(Debug)]
pub enum GenerationEvent {
    /// The next piece of the answer.
    Answer(String),
    /// The answer is complete (or was stopped) and stored.
    End(Outcome),
    /// No answer; nothing was stored.
    Failed(AppError),
}

/// A finished answer.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub answer: String,
    /// Dify's LLMUsage.
    pub usage: Value,
    /// Citations, when the app shows them (`retriever_resource.enabled`).
    pub retriever_resources: Option<Vec<Value>>,
    /// Dify's `annotation_reply` metadata when an annotation answered instead of the model.
    pub annotation_reply: Option<Value>,
}

/// Checks the request and starts the answer; errors here are the caller's (nothing started).
pub async fn start(engine: Arc<Engine>, request: GenerationRequest) -> Result<Generation, AppError> {
    let store = engine.store();
    let existing: Option<Conversation> = match &request.conversation_id {
        Some(id) => Some(
            store
                .conversation(&request.app.id, &request.end_user.id, id)
                .await?
                .ok_or(AppError::ConversationNotFound)?,
        ),
        None => None,
    };
    // A conversation keeps the inputs it started with (Dify ignores later ones).
    let inputs = match &existing {
        Some(conversation) => conversation.inputs.as_object().cloned().unwrap_or_default(),
        None => prompt::check_inputs(&request.config.user_input_form, &request.inputs)?,
    };
    if request.mode == AppMode::Chat && request.query.trim().is_empty() {
        return Err(AppError::Input("query is required".into()));
    }
    let history = match &existing {
        Some(conversation) => store
            .list_messages(&conversation.id, &PageStart::Start, MEMORY_TURNS)
            .await?
            .map(|(messages, _)| messages)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let parent_message_id = history.last().map(|m| m.id.clone());
    let turns: Vec<Turn> = history
        .into_iter()
        .filter(|m| m.status == "normal")
        .map(|m| Turn {
            query: m.query,
            answer: m.answer,
        })
        .collect();
    let conversation_id = existing
        .as_ref()
        .map(|c| c.id.clone())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let new_conversation = existing.is_none().then(|| NewConversation {
        id: conversation_id.clone(),
        mode: request.mode.as_str().to_string(),
        name: conversation_name(&request.query, request.auto_generate_name),
        inputs: Value::Object(inputs.clone()),
        introduction: prompt::fill_variables(&request.config.opening_statement, &inputs),
    });
    let task_id = uuid::Uuid::new_v4().to_string();
    let message_id = uuid::Uuid::now_v7().to_string();
    let created_at = crate::store::now();
    let guard = tasks::register(&task_id, &request.app.id, &request.end_user.id);
    let (events, receiver) = mpsc::channel(64);
    let run = Run {
        engine,
        request,
        inputs,
        turns,
        parent_message_id,
        conversation_id: conversation_id.clone(),
        new_conversation,
        message_id: message_id.clone(),
        created_at,
    };
    let mode = run.request.mode;
    tokio::spawn(async move {
        let outcome = run.execute(&events, &guard.stop).await;
        let last = match outcome {
            Ok(outcome) => GenerationEvent::End(outcome),
            Err(error) => {
                tracing::warn!(app_id = %run.request.app.id, error = %error, "app answer failed");
                GenerationEvent::Failed(error)
            }
        };
        let _ = events.send(last).await;
        drop(guard);
    });
    Ok(Generation {
        task_id,
        message_id,
        conversation_id,
        created_at,
        mode,
        events: receiver,
    })
}

/// A new conversation's name: the start of its first question (Dify asks a model for one; a
/// name from the question needs none).
fn conversation_name(query: &str, auto_generate: bool) -> String {
    let query = query.trim();
    if !auto_generate || query.is_empty() {
        return "New conversation".to_string();
    }
    let name: String = query.chars().take(40).collect();
    if query.chars().count() > 40 {
        format!("{}…", name.trim_end())
    } else {
        name
    }
}

struct Run {
    engine: Arc<Engine>,
    request: GenerationRequest,
    inputs: Map<String, Value>,
    turns: Vec<Turn>,
    parent_message_id: Option<String>,
    conversation_id: String,
    new_conversation: Option<NewConversation>,
    message_id: String,
    created_at: i64,
}

impl Run {
    async fn execute(
        &self,
        events: &mpsc::Sender<GenerationEvent>,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<Outcome, AppError> {
        let request = &self.request;
        // Annotation reply comes first, as in Dify's chat runner (its completion runner has none).
        if request.mode == AppMode::Chat
            && !request.query.trim().is_empty()
            && let Some(found) = annotations::find_reply(&self.engine, &request.app.id, &request.query).await
        {
            return self.reply_with_annotation(found, events).await;
        }
        let config = &request.config;
        let instructions = prompt::fill_variables(&config.pre_prompt, &self.inputs);
        // Completion apps retrieve for their query, or the input named as the retrieval query.
        let retrieval_query = match (&config.dataset_query_variable, request.mode) {
            (Some(variable), AppMode::Completion) if request.query.trim().is_empty() => self
                .inputs
                .get(variable)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            _ => request.query.clone(),
        };
        let chunks = retrieval::retrieve(
            &self.engine,
            &request.tenant_id,
            &config.datasets,
            &retrieval_query,
            Asker {
                app_id: &request.app.id,
                end_user_id: &request.end_user.id,
            },
            &request.external_sources,
        )
        .await?;
        let context: Vec<ContextPiece> = chunks
            .iter()
            .map(|c| ContextPiece {
                source: c.document_name.clone(),
                text: c.content.clone(),
            })
            .collect();
        let attachments: Vec<ContextPiece> = request
            .attachments
            .iter()
            .map(|a| ContextPiece {
                source: format!("attached document {}", a.name),
                text: a.text.clone(),
            })
            .collect();
        let (user_text, instructions) = match request.mode {
            AppMode::Chat => (request.query.clone(), instructions),
            // A completion app's prompt is its filled pre-prompt, followed by the query if any.
            AppMode::Completion => {
                let text = [instructions.trim(), request.query.trim()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                if text.is_empty() {
                    return Err(AppError::Input(
                        "The prompt is empty: configure a pre_prompt or send a query".into(),
                    ));
                }
                (text, String::new())
            }
        };
        let answer_tokens = answer_tokens(config, &request.provider);
        let built = prompt::assemble(&PromptParts {
            instructions: &instructions,
            context: &context,
            attachments: &attachments,
            history: &self.turns,
            query: &user_text,
            context_window: request.provider.context_window(),
            answer_tokens,
        });
        let cited: Vec<&RetrievedChunk> = chunks.iter().take(built.context_used).collect();
        let (tokens, mut pieces) = mpsc::channel::<String>(64);
        let forward = async {
            while let Some(piece) = pieces.recv().await {
                // The client may have gone; the answer is still finished and stored.
                let _ = events.send(GenerationEvent::Answer(piece)).await;
            }
        };
        let ask = async {
            let completion = match &request.provider {
                Provider::OpenAi(settings) => {
                    let chat = ChatRequest {
                        model: config.model.name.clone(),
                        messages: built.messages.clone(),
                        parameters: config.model.completion_params.clone(),
                    };
                    llm::openai::stream_chat(settings, &chat, request.retry, &tokens, stop).await
                }
                Provider::Extractive => {
                    let passages: Vec<llm::extractive::Passage> = attachments
                        .iter()
                        .chain(context.iter().take(built.context_used))
                        .map(|p| llm::extractive::Passage {
                            source: p.source.clone(),
                            text: p.text.clone(),
                        })
                        .collect();
                    Ok(llm::extractive::stream(&passages, &tokens, stop).await)
                }
            };
            drop(tokens);
            completion
        };
        let (completion, ()) = tokio::join!(ask, forward);
        let completion: Completion = completion?;
        let usage = usage_json(&completion.usage);
        let resources: Vec<Value> = cited
            .iter()
            .enumerate()
            .map(|(i, chunk)| retrieval::resource(chunk, i + 1, &request.retriever_from))
            .collect();
        let stored_resources: Vec<Value> = if config.show_retriever_resources {
            resources
                .iter()
                .map(|item| {
                    let mut item = item.clone();
                    item["id"] = json!(uuid::Uuid::new_v4().to_string());
                    item["message_id"] = json!(self.message_id);
                    item["created_at"] = json!(self.created_at);
                    item
                })
                .collect()
        } else {
            Vec::new()
        };
        let (model_provider, model_id) = request.provider.names(&config.model.name);
        let files: Vec<Value> = request
            .attachments
            .iter()
            .map(|a| {
                json!({"id": a.upload_file_id, "type": "document", "filename": a.name,
                       "transfer_method": "local_file", "belongs_to": "user", "url": null})
            })
            .collect();
        if completion.text.is_empty() && stop.is_cancelled() {
            // Stopped before the first token: there is no answer to keep.
            return Ok(Outcome {
                answer: String::new(),
                usage,
                retriever_resources: config.show_retriever_resources.then_some(resources),
                annotation_reply: None,
            });
        }
        let saved = self
            .engine
            .store()
            .save_message(
                &NewMessage {
                    id: self.message_id.clone(),
                    tenant_id: request.tenant_id.clone(),
                    app_id: request.app.id.clone(),
                    conversation_id: self.conversation_id.clone(),
                    parent_message_id: self.parent_message_id.clone(),
                    end_user_id: request.end_user.id.clone(),
                    inputs: Value::Object(self.inputs.clone()),
                    query: request.query.clone(),
                    answer: completion.text.clone(),
                    files: Value::Array(files),
                    retriever_resources: Value::Array(stored_resources),
                    model_provider: Some(model_provider),
                    model_id: Some(model_id),
                    message_tokens: completion.usage.prompt_tokens as i64,
                    answer_tokens: completion.usage.completion_tokens as i64,
                    provider_response_latency: completion.usage.latency,
                    annotation_id: None,
                    created_at: self.created_at,
                },
                self.new_conversation.as_ref(),
            )
            .await?;
        if !saved {
            return Err(AppError::ConversationNotFound);
        }
        Ok(Outcome {
            answer: completion.text,
            usage,
            retriever_resources: config.show_retriever_resources.then_some(resources),
            annotation_reply: None,
        })
    }

    /// Answers with an annotation (Dify's `direct_output`): its answer streamed a character at
    /// a time, stored as the message with no tokens used, and the hit recorded.
    async fn reply_with_annotation(
        &self,
        found: annotations::Match,
        events: &mpsc::Sender<GenerationEvent>,
    ) -> Result<Outcome, AppError> {
        let request = &self.request;
        let answer = found.annotation.content.clone();
        for piece in answer.chars() {
            let _ = events.send(GenerationEvent::Answer(piece.to_string())).await;
        }
        let usage = Usage {
            prompt_tokens: 0,
            completion_tokens: 0,
            latency: 0.0,
            time_to_first_token: None,
        };
        let (model_provider, model_id) = request.provider.names(&request.config.model.name);
        let saved = self
            .engine
            .store()
            .save_message(
                &NewMessage {
                    id: self.message_id.clone(),
                    tenant_id: request.tenant_id.clone(),
                    app_id: request.app.id.clone(),
                    conversation_id: self.conversation_id.clone(),
                    parent_message_id: self.parent_message_id.clone(),
                    end_user_id: request.end_user.id.clone(),
                    inputs: Value::Object(self.inputs.clone()),
                    query: request.query.clone(),
                    answer: answer.clone(),
                    files: json!([]),
                    retriever_resources: json!([]),
                    model_provider: Some(model_provider),
                    model_id: Some(model_id),
                    message_tokens: 0,
                    answer_tokens: 0,
                    provider_response_latency: 0.0,
                    annotation_id: Some(found.annotation.id.clone()),
                    created_at: self.created_at,
                },
                self.new_conversation.as_ref(),
            )
            .await?;
        if !saved {
            return Err(AppError::ConversationNotFound);
        }
        // Dify: `api` for the service API and web apps, `console` for the debugger.
        let source = if request.retriever_from == "dev" {
            "console"
        } else {
            "api"
        };
        self.engine
            .store()
            .record_annotation_hit(&NewAnnotationHit {
                tenant_id: request.tenant_id.clone(),
                app_id: request.app.id.clone(),
                annotation: found.annotation.clone(),
                source: source.to_string(),
                question: request.query.clone(),
                account_id: Some(request.end_user.id.clone()),
                score: found.score,
                message_id: self.message_id.clone(),
            })
            .await?;
        let account_name = match &found.annotation.account_id {
            Some(id) => self.engine.store().account(id).await?.map(|a| a.name),
            None => None,
        };
        Ok(Outcome {
            answer,
            usage: usage_json(&usage),
            retriever_resources: None,
            annotation_reply: Some(json!({
                "id": found.annotation.id,
                "account": {
                    "id": found.annotation.account_id,
                    "name": account_name.unwrap_or_else(|| "Dify user".to_string()),
                },
            })),
        })
    }
}

/// Tokens kept for the answer: the app's `max_tokens`, else the provider's, else a default.
fn answer_tokens(config: &AppConfig, provider: &Provider) -> u32 {
    let from = |params: &Map<String, Value>| params.get("max_tokens").and_then(Value::as_u64);
    let provider_default = match provider {
        Provider::OpenAi(settings) => from(&settings.parameters),
        Provider::Extractive => None,
    };
    from(&config.model.completion_params)
        .or(provider_default)
        .map(|t| t.min(u64::from(u32::MAX)) as u32)
        .unwrap_or(DEFAULT_ANSWER_TOKENS)
}

/// Dify's LLMUsage: prices are decimal strings, ragd does not price tokens.
pub fn usage_json(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "prompt_unit_price": "0",
        "prompt_price_unit": "0",
        "prompt_price": "0",
        "completion_tokens": usage.completion_tokens,
        "completion_unit_price": "0",
        "completion_price_unit": "0",
        "completion_price": "0",
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "total_price": "0",
        "currency": "USD",
        "latency": usage.latency,
        "time_to_first_token": usage.time_to_first_token,
        "time_to_generate": usage.time_to_first_token.map(|first| (usage.latency - first).max(0.0)),
    })
}

/// Reads and parses documents the caller attached (`files` of type `document`, uploaded through
/// `/files/upload` by this end user of this app); anything else is refused before the answer
/// starts. Each file counts once; at most `apps.message_files_limit` files, and their text is
/// cut to `apps.attachment_chars` each and `apps.attachments_total_chars` together.
pub async fn resolve_attachments(
    engine: &Engine,
    tenant_id: &str,
    end_user_id: &str,
    files: &[Value],
) -> Result<Vec<Attachment>, AppError> {
    let caps = &engine.config().apps;
    let mut wanted: Vec<&str> = Vec::new();
    for file in files {
        let kind = file["type"].as_str().unwrap_or("");
        if kind != "document" {
            return Err(AppError::Input(format!(
                "File type {kind:?} is not supported: this app reads attached documents only"
            )));
        }
        if file["transfer_method"].as_str() != Some("local_file") {
            return Err(AppError::Input(
                "Only local_file documents are supported: upload the file through /files/upload first".into(),
            ));
        }
        let id = file["upload_file_id"]
            .as_str()
            .ok_or_else(|| AppError::Input("upload_file_id is required for local_file".into()))?;
        if !wanted.contains(&id) {
            wanted.push(id);
        }
        if wanted.len() > caps.message_files_limit {
            return Err(AppError::Input(format!(
                "Too many files: a message may attach at most {}",
                caps.message_files_limit
            )));
        }
    }
    let mut attachments = Vec::new();
    let mut budget = caps.attachments_total_chars;
    for id in wanted {
        // End users belong to one app, so a file of this end user is a file of this app.
        let stored = engine
            .store()
            .upload_file(id)
            .await?
            .filter(|f| f.tenant_id == tenant_id && f.created_by.as_deref() == Some(end_user_id))
            .ok_or_else(|| AppError::Input(format!("File {id} not found")))?;
        let format = pipelines::Format::from_extension(&stored.file.extension).ok_or_else(|| {
            AppError::Input(format!(
                "File {} cannot be read as a document (.{} is not a document format)",
                stored.file.name, stored.file.extension
            ))
        })?;
        let path = engine.file_store().join(&stored.file.storage_key);
        let name = stored.file.name.clone();
        let limits = engine.parse_limits();
        let parsed = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path)
                .map_err(|e| AppError::Input(format!("File {name} cannot be read: {e}")))?;
            // A full parse pool answers 429 rather than queueing the chat request.
            pipelines::parse::try_parse_guarded(bytes, format, &limits).map_err(|e| match e {
                pipelines::ParseError::Busy => {
                    AppError::Engine(crate::engine::EngineError::Busy(e.to_string()))
                }
                other => AppError::Input(format!("File {name} cannot be read: {other}")),
            })
        })
        .await
        .map_err(|e| AppError::Engine(crate::engine::EngineError::Task(e.to_string())))??;
        let text = cut(parsed.full_text(), caps.attachment_chars.min(budget));
        budget -= text.chars().count();
        attachments.push(Attachment {
            upload_file_id: stored.file.id.clone(),
            name: stored.file.name.clone(),
            text,
        });
    }
    Ok(attachments)
}

/// The first `chars` characters of `text`.
fn cut(mut text: String, chars: usize) -> String {
    if let Some((end, _)) = text.char_indices().nth(chars) {
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_names_come_from_the_question() {
        assert_eq!(
            conversation_name("  What is green tea? ", true),
            "What is green tea?"
        );
        assert_eq!(conversation_name("hello", false), "New conversation");
        let long = "word ".repeat(20);
        let name = conversation_name(&long, true);
        assert!(name.ends_with('…') && name.chars().count() <= 41, "{name}");
    }

    #[test]
    fn texts_are_cut_at_character_boundaries() {
        assert_eq!(cut("héllo wörld".into(), 7), "héllo w");
        assert_eq!(cut("short".into(), 10), "short");
        assert_eq!(cut("abc".into(), 0), "");
    }

    #[test]
    fn usage_has_dify_fields() {
        let usage = usage_json(&Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            latency: 1.5,
            time_to_first_token: Some(0.5),
        });
        assert_eq!(usage["total_tokens"], 15);
        assert_eq!(usage["total_price"], "0");
        assert_eq!(usage["currency"], "USD");
        assert_eq!(usage["time_to_generate"], 1.0);
    }
}
