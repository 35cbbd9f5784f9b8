//! The built-in extractive provider: with no language model configured, an app answers by quoting
//! the best retrieved passages, and says that this is what it does.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::{Completion, TokenSink, Usage, estimate_tokens};

/// The model name reported for extractive answers.
pub const MODEL: &str = "extractive";

/// Passages quoted at most.
const MAX_PASSAGES: usize = 3;
/// Characters quoted of one passage at most.
const MAX_PASSAGE_CHARS: usize = 600;

/// A passage that may be quoted: where it is from and its text.
#[derive(Debug, Clone)]
pub struct Passage {
    pub source: String,
    pub text: String,
}

/// The answer quoting `passages` (best first).
pub fn answer(passages: &[Passage]) -> String {
    if passages.is_empty() {
        return "No language model is configured for this app, and no passage of its knowledge matches \
                the question, so there is nothing to quote."
            .to_string();
    }
    let mut text = String::from(
        "No language model is configured for this app, so here are the most relevant passages \
         from its knowledge, quoted as found:",
    );
    for (i, passage) in passages.iter().take(MAX_PASSAGES).enumerate() {
        let quoted: String = passage.text.trim().chars().take(MAX_PASSAGE_CHARS).collect();
        let ellipsis = if passage.text.trim().chars().count() > MAX_PASSAGE_CHARS {
            "…"
        } else {
            ""
        };
        text.push_str(&format!(
            "\n\n[{}] {}:\n\"{quoted}{ellipsis}\"",
            i + 1,
            passage.source
        ));
    }
    text
}

/// Streams the extractive answer word by word, like a model would.
pub async fn stream(passages: &[Passage], tokens: &TokenSink, stop: &CancellationToken) -> Completion {
    let started = Instant::now();
    let full = answer(passages);
    let mut text = String::new();
    for piece in full.split_inclusive(' ') {
        if stop.is_cancelled() {
            break;
        }
        text.push_str(piece);
        let _ = tokens.send(piece.to_string()).await;
    }
    let prompt: u64 = passages.iter().map(|p| estimate_tokens(&p.text)).sum();
    Completion {
        usage: Usage {
            prompt_tokens: prompt,
            completion_tokens: estimate_tokens(&text),
            latency: started.elapsed().as_secs_f64(),
            time_to_first_token: Some(0.0),
        },
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_the_best_passages_and_says_so() {
        let passages: Vec<Passage> = (1..=5)
            .map(|i| Passage {
                source: format!("doc{i}.md"),
                text: format!("passage number {i}"),
            })
            .collect();
        let text = answer(&passages);
        assert!(text.starts_with("No language model is configured"));
        assert!(text.contains("[1] doc1.md:\n\"passage number 1\""));
        assert!(text.contains("[3] doc3.md"));
        assert!(!text.contains("doc4.md"), "at most three passages");
        assert!(answer(&[]).contains("nothing to quote"));
    }

    #[tokio::test]
    async fn streamed_pieces_join_to_the_answer() {
        let passages = vec![Passage {
            source: "tea.txt".into(),
            text: "Green tea is not oxidised.".into(),
        }];
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let completion = stream(&passages, &tx, &CancellationToken::new()).await;
        drop(tx);
        let mut joined = String::new();
        while let Some(piece) = rx.recv().await {
            joined.push_str(&piece);
        }
        assert_eq!(joined, completion.text);
        assert_eq!(completion.text, answer(&passages));
    }
}
