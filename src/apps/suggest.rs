//! Suggested questions after an answer (Dify's `suggested_questions_after_answer` feature): the
//! model is shown the last turns of the conversation and asked for the three questions the user
//! most likely asks next, as a JSON array.
//!
//! As in Dify, a model that fails or answers something else gives no suggestions rather than an
//! error; the extractive provider (no model configured) gives none either, since quoting passages
//! cannot predict questions.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::llm::{self, ChatMessage, ChatRequest, Provider, RetryPolicy};

/// Turns of the conversation the model sees (Dify's memory window for this prompt).
pub const HISTORY_TURNS: u32 = 3;

/// Dify's instruction for the feature, kept word for word so answers look alike.
const INSTRUCTION: &str = "Please help me predict the three most likely questions that human would ask, \
and keeping each question under 20 characters.\n\
MAKE SURE your output is the SAME language as the Assistant's latest response. \n\
The output must be an array in JSON format following the specified schema:\n\
[\"question1\",\"question2\",\"question3\"]\n";

/// Characters of each answer shown to the model (long answers are cut; the latest words matter
/// least for predicting the next question).
const MAX_ANSWER_CHARS: usize = 2000;

/// Up to three next questions for a conversation's latest turns (oldest first).
pub async fn suggested_questions(
    provider: &Provider,
    model: &str,
    turns: &[(String, String)],
    retry: RetryPolicy,
) -> Vec<String> {
    let Provider::OpenAi(settings) = provider else {
        return Vec::new();
    };
    let request = ChatRequest {
        model: model.to_string(),
        messages: vec![ChatMessage {
            role: "user",
            content: prompt(turns),
        }],
        parameters: serde_json::Map::from_iter([
            ("max_tokens".to_string(), Value::from(256)),
            ("temperature".to_string(), Value::from(0)),
        ]),
    };
    // The answer is read whole; the token stream is drained and dropped.
    let (tokens, mut drained) = tokio::sync::mpsc::channel(64);
    let drain = tokio::spawn(async move { while drained.recv().await.is_some() {} });
    let answer =
        llm::openai::stream_chat(settings, &request, retry, &tokens, &CancellationToken::new()).await;
    drop(tokens);
    let _ = drain.await;
    match answer {
        Ok(completion) => parse_questions(&completion.text),
        Err(error) => {
            tracing::warn!(%error, "no suggested questions: the model failed");
            Vec::new()
        }
    }
}

/// The conversation as `Human:`/`Assistant:` lines, then the instruction.
fn prompt(turns: &[(String, String)]) -> String {
    let mut text = String::new();
    for (query, answer) in turns {
        let answer: String = answer.chars().take(MAX_ANSWER_CHARS).collect();
        text.push_str(&format!("Human: {query}\nAssistant: {answer}\n"));
    }
    text.push('\n');
    text.push_str(INSTRUCTION);
    text
}

/// The first JSON array of strings in the model's answer (models often wrap it in prose or a
/// code fence), at most three non-empty questions.
fn parse_questions(answer: &str) -> Vec<String> {
    let Some(start) = answer.find('[') else {
        return Vec::new();
    };
    let Some(end) = answer.rfind(']').filter(|&end| end > start) else {
        return Vec::new();
    };
    match serde_json::from_str::<Vec<Value>>(&answer[start..=end]) {
        Ok(items) => items
            .into_iter()
            .filter_map(|item| item.as_str().map(|s| s.trim().to_string()))
            .filter(|question| !question.is_empty())
            .take(3)
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_is_found_in_prose_and_fences() {
        assert_eq!(
            parse_questions("Sure!\n```json\n[\"What is oolong?\", \"How is it dried?\"]\n```"),
            ["What is oolong?", "How is it dried?"]
        );
        assert_eq!(
            parse_questions("[\"a\", \"b\", \"c\", \"d\", \" \", 3]"),
            ["a", "b", "c"]
        );
        assert!(parse_questions("no questions here").is_empty());
        assert!(parse_questions("[not json]").is_empty());
        assert!(parse_questions("] backwards [").is_empty());
    }

    #[test]
    fn the_prompt_shows_the_turns_then_the_instruction() {
        let text = prompt(&[("What is green tea?".into(), "Steamed leaves.".into())]);
        assert!(text.starts_with("Human: What is green tea?\nAssistant: Steamed leaves.\n"));
        assert!(text.ends_with("[\"question1\",\"question2\",\"question3\"]\n"));
    }

    #[tokio::test]
    async fn the_extractive_provider_suggests_nothing() {
        let turns = [("q".to_string(), "a".to_string())];
        let questions = suggested_questions(&Provider::Extractive, "", &turns, RetryPolicy::default()).await;
        assert!(questions.is_empty());
    }
}
