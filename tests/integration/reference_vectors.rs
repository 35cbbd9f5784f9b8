//! The int8 ONNX model must embed like the upstream fp32 model: vectors are compared with
//! reference vectors from a numpy forward pass of the safetensors weights
//! (scripts/reference_vectors.py, kept in pipelines/tests/fixtures).

use pipelines::embed::cosine;
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

#[test]
fn int8_model_matches_fp32_reference_vectors() {
    let text = std::fs::read_to_string(support::repo_path(
        "pipelines/tests/fixtures/reference_vectors.json",
    ))
    .unwrap();
    let reference: Reference = serde_json::from_str(&text).unwrap();
    let embedder = support::embedder();
    assert_eq!(embedder.dimension(), reference.dimension);
    let texts: Vec<&str> = reference.sentences.iter().map(|s| s.text.as_str()).collect();
    let vectors = embedder.embed_documents(&texts).unwrap();
    for (sentence, vector) in reference.sentences.iter().zip(&vectors) {
        let similarity = cosine(vector, &sentence.vector);
        assert!(similarity >= 0.99, "cosine {similarity} for {:?}", sentence.text);
    }
    // Queries go through the same path; one text alone must give the same vector as in a batch.
    let single = embedder.embed_query(texts[2]).unwrap();
    assert!(cosine(&single, &vectors[2]) > 0.9999);
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
