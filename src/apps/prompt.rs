//! Prompt assembly: the caller's inputs checked against the app's form, `{{variables}}` filled into
//! the pre-prompt, and retrieved context plus recent conversation turns fitted into the model's
//! context budget.

use serde_json::{Map, Value};

use super::AppError;
use super::config::InputField;
use super::llm::{ChatMessage, estimate_tokens};

/// Checks `inputs` against the form the way Dify does and keeps only the form's variables
/// (missing optional ones become empty strings).
pub fn check_inputs(
    form: &[InputField],
    inputs: &Map<String, Value>,
) -> Result<Map<String, Value>, AppError> {
    let mut checked = Map::new();
    for field in form {
        let variable = &field.variable;
        let value = inputs.get(variable).filter(|v| !v.is_null());
        let empty = match value {
            None => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if empty {
            if field.required {
                return Err(AppError::Input(format!("{variable} is required in input form")));
            }
            checked.insert(
                variable.clone(),
                Value::String(field.default.clone().unwrap_or_default()),
            );
            continue;
        }
        let value = value.expect("checked non-empty above");
        let value = match field.kind.as_str() {
            "number" => match value {
                Value::Number(_) => value.clone(),
                Value::String(s) if s.trim().parse::<f64>().is_ok() => value.clone(),
                _ => {
                    return Err(AppError::Input(format!(
                        "{variable} in input form must be a valid number"
                    )));
                }
            },
            _ => {
                let Value::String(text) = value else {
                    return Err(AppError::Input(format!(
                        "{variable} in input form must be a string"
                    )));
                };
                if field.kind == "select" && !field.options.contains(text) {
                    return Err(AppError::Input(format!(
                        "{variable} in input form must be one of the following: {:?}",
                        field.options
                    )));
                }
                if let Some(max) = field.max_length
                    && text.chars().count() > max
                {
                    return Err(AppError::Input(format!(
                        "{variable} in input form must be less than {max} characters"
                    )));
                }
                value.clone()
            }
        };
        checked.insert(variable.clone(), value);
    }
    Ok(checked)
}

/// Replaces each `{{name}}` whose name is an input with its value; other text stays as written
/// (Dify's PromptTemplateParser).
pub fn fill_variables(template: &str, inputs: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end)
                if super::config::valid_variable(&after[..end]) && inputs.contains_key(&after[..end]) =>
            {
                match &inputs[&after[..end]] {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A piece of context offered to the model, best first.
#[derive(Debug, Clone)]
pub struct ContextPiece {
    pub source: String,
    pub text: String,
}

/// One earlier exchange of the conversation, oldest first.
#[derive(Debug, Clone)]
pub struct Turn {
    pub query: String,
    pub answer: String,
}

/// Everything the prompt is made from.
#[derive(Debug, Clone)]
pub struct PromptParts<'a> {
    /// The pre-prompt with its variables filled.
    pub instructions: &'a str,
    /// Retrieved chunks, best first.
    pub context: &'a [ContextPiece],
    /// Attached documents, in order.
    pub attachments: &'a [ContextPiece],
    /// Earlier turns, oldest first (empty for completion apps).
    pub history: &'a [Turn],
    pub query: &'a str,
    /// Tokens the model reads and writes at most.
    pub context_window: u32,
    /// Tokens kept free for the answer.
    pub answer_tokens: u32,
}

/// The assembled messages, and how many of the retrieved pieces (best first) made it in.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub messages: Vec<ChatMessage>,
    pub context_used: usize,
    pub turns_used: usize,
}

/// Per-message framing tokens of the chat format.
const MESSAGE_OVERHEAD: u64 = 4;
/// Share of the free budget that retrieved context may take; the rest stays for recent turns.
const CONTEXT_SHARE: f64 = 0.7;

const CONTEXT_INSTRUCTIONS: &str = "Use the following context, taken from the knowledge base, inside \
<context></context> XML tags, to answer.\n\n<context>\n";
const CONTEXT_RULES: &str = "\n</context>\n\nWhen you answer:\n- If the context does not hold the answer, \
say that you don't know.\n- If the question is unclear, ask for clarification.\n- Answer in the language of \
the question.";

/// Assembles the messages: a system message with the context and the instructions, the turns that
/// fit (most recent kept first), and the query. Context and turns shrink to fit the budget; the
/// instructions and the query are always sent.
pub fn assemble(parts: &PromptParts<'_>) -> Prompt {
    let window = u64::from(parts.context_window);
    let reserved = u64::from(parts.answer_tokens);
    let fixed = estimate_tokens(parts.instructions)
        + estimate_tokens(parts.query)
        + estimate_tokens(CONTEXT_INSTRUCTIONS)
        + estimate_tokens(CONTEXT_RULES)
        + 3 * MESSAGE_OVERHEAD;
    let mut free = window.saturating_sub(reserved).saturating_sub(fixed);
    let mut context_budget = (free as f64 * CONTEXT_SHARE) as u64;
    let mut context = String::new();
    let mut context_used: usize = 0;
    // Attachments first: the caller sent them for this question.
    for piece in parts.attachments.iter().chain(parts.context.iter()) {
        let block = format!("[{}]\n{}\n\n", piece.source, piece.text.trim());
        let cost = estimate_tokens(&block);
        if cost > context_budget {
            break;
        }
        context_budget -= cost;
        free -= cost;
        context.push_str(&block);
        context_used += 1;
    }
    let context_used = context_used.saturating_sub(parts.attachments.len());
    let mut turns: Vec<&Turn> = Vec::new();
    for turn in parts.history.iter().rev() {
        let cost = estimate_tokens(&turn.query) + estimate_tokens(&turn.answer) + 2 * MESSAGE_OVERHEAD;
        if cost > free {
            break;
        }
        free -= cost;
        turns.push(turn);
    }
    turns.reverse();
    let mut system = String::new();
    if !context.is_empty() {
        system.push_str(CONTEXT_INSTRUCTIONS);
        system.push_str(context.trim_end());
        system.push_str(CONTEXT_RULES);
    }
    if !parts.instructions.trim().is_empty() {
        if !system.is_empty() {
            system.push_str("\n\n");
        }
        system.push_str(parts.instructions.trim());
    }
    let mut messages = Vec::new();
    if !system.is_empty() {
        messages.push(ChatMessage {
            role: "system",
            content: system,
        });
    }
    for turn in &turns {
        messages.push(ChatMessage {
            role: "user",
            content: turn.query.clone(),
        });
        messages.push(ChatMessage {
            role: "assistant",
            content: turn.answer.clone(),
        });
    }
    messages.push(ChatMessage {
        role: "user",
        content: parts.query.to_string(),
    });
    Prompt {
        messages,
        context_used,
        turns_used: turns.len(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(kind: &str, variable: &str, required: bool) -> InputField {
        InputField {
            kind: kind.into(),
            variable: variable.into(),
            label: variable.into(),
            required,
            max_length: Some(5),
            options: vec!["a".into(), "b".into()],
            default: None,
        }
    }

    #[test]
    fn inputs_are_checked_like_dify() {
        let form = vec![field("text-input", "name", true), field("select", "kind", false)];
        let ok = check_inputs(&form, json!({"name": "Ann", "extra": 1}).as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(ok), json!({"name": "Ann", "kind": ""}));
        let error = |inputs: Value| match check_inputs(&form, inputs.as_object().unwrap()) {
            Err(AppError::Input(message)) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(error(json!({})), "name is required in input form");
        assert_eq!(error(json!({"name": 3})), "name in input form must be a string");
        assert_eq!(
            error(json!({"name": "toolong"})),
            "name in input form must be less than 5 characters"
        );
        assert!(error(json!({"name": "x", "kind": "c"})).contains("must be one of the following"));
    }

    #[test]
    fn variables_fill_and_unknown_braces_stay() {
        let inputs = json!({"topic": "tea", "n": 3}).as_object().unwrap().clone();
        assert_eq!(
            fill_variables("About {{topic}} in {{n}} lines; {{other}} {{ bad", &inputs),
            "About tea in 3 lines; {{other}} {{ bad"
        );
    }

    #[test]
    fn context_and_history_shrink_to_the_budget() {
        let context: Vec<ContextPiece> = (0..50)
            .map(|i| ContextPiece {
                source: format!("doc{i}"),
                text: "x".repeat(400),
            })
            .collect();
        let history: Vec<Turn> = (0..50)
            .map(|i| Turn {
                query: format!("question {i} {}", "q".repeat(200)),
                answer: "a".repeat(200),
            })
            .collect();
        let prompt = assemble(&PromptParts {
            instructions: "Be brief.",
            context: &context,
            attachments: &[],
            history: &history,
            query: "What now?",
            context_window: 4096,
            answer_tokens: 512,
        });
        assert!(prompt.context_used > 0 && prompt.context_used < 50);
        assert!(prompt.turns_used > 0 && prompt.turns_used < 50);
        let total: u64 = prompt
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content) + 4)
            .sum();
        assert!(total + 512 <= 4096, "{total}");
        // The most recent turns are the ones kept, in order, and the query comes last.
        let last_turn = &prompt.messages[prompt.messages.len() - 3];
        assert!(last_turn.content.starts_with("question 49 "));
        assert_eq!(prompt.messages.last().unwrap().content, "What now?");
        assert!(prompt.messages[0].content.contains("[doc0]"));
        assert!(prompt.messages[0].content.ends_with("Be brief."));
    }
}
