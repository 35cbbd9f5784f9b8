//! Reading an evaluation set in BEIR layout: `corpus.jsonl` (`_id`, `title`, `text`),
//! `queries.jsonl` or `queries-<split>.jsonl` (`_id`, `text`) and `qrels/<split>.tsv`
//! (`query-id`, `corpus-id`, `score`, with or without that header line).

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::metrics::Judgements;

/// A BEIR folder resolved to its files and one split's queries and judgements.
#[derive(Debug, Clone)]
pub struct BeirSet {
    pub corpus: PathBuf,
    pub split: String,
    /// Queries that have at least one relevant document, by id order.
    pub queries: Vec<Query>,
    /// Judgements per query id.
    pub qrels: HashMap<String, Judgements>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub id: String,
    pub text: String,
}

#[derive(Deserialize)]
struct QueryLine {
    #[serde(rename = "_id")]
    id: serde_json::Value,
    text: String,
}

/// Why an evaluation set cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BeirError {
    #[error("{0}")]
    Layout(String),
    #[error("{path}: line {line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl BeirSet {
    /// Reads `dir`. `split` picks `qrels/<split>.tsv`; without it the only qrels file is used
    /// (or `test` when there are several).
    pub fn open(dir: &Path, split: Option<&str>) -> Result<Self, BeirError> {
        let corpus = dir.join("corpus.jsonl");
        if !corpus.is_file() {
            return Err(BeirError::Layout(format!(
                "{} has no corpus.jsonl (expected BEIR layout)",
                dir.display()
            )));
        }
        let split = match split {
            Some(split) => split.to_string(),
            None => default_split(&dir.join("qrels"))?,
        };
        let qrels_path = dir.join("qrels").join(format!("{split}.tsv"));
        let qrels = read_qrels(&qrels_path)?;
        let queries_path = [format!("queries-{split}.jsonl"), "queries.jsonl".into()]
            .into_iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                BeirError::Layout(format!(
                    "{} has neither queries-{split}.jsonl nor queries.jsonl",
                    dir.display()
                ))
            })?;
        let mut queries: Vec<Query> = read_queries(&queries_path)?
            .into_iter()
            .filter(|q| qrels.get(&q.id).is_some_and(super::metrics::has_relevant))
            .collect();
        queries.sort_by(|a, b| natural_key(&a.id).cmp(&natural_key(&b.id)));
        if queries.is_empty() {
            return Err(BeirError::Layout(format!(
                "no query of {} has a relevant document in {}",
                queries_path.display(),
                qrels_path.display()
            )));
        }
        Ok(Self {
            corpus,
            split,
            queries,
            qrels,
        })
    }
}

/// Numeric ids sort as numbers, others as text after them.
fn natural_key(id: &str) -> (u8, u64, &str) {
    match id.parse::<u64>() {
        Ok(n) => (0, n, ""),
        Err(_) => (1, 0, id),
    }
}

fn default_split(qrels_dir: &Path) -> Result<String, BeirError> {
    let entries = std::fs::read_dir(qrels_dir).map_err(|source| BeirError::Io {
        path: qrels_dir.to_path_buf(),
        source,
    })?;
    let mut splits: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".tsv").map(str::to_owned)
        })
        .collect();
    splits.sort();
    match splits.as_slice() {
        [] => Err(BeirError::Layout(format!(
            "{} holds no .tsv file",
            qrels_dir.display()
        ))),
        [only] => Ok(only.clone()),
        several if several.iter().any(|s| s == "test") => Ok("test".into()),
        several => Err(BeirError::Layout(format!(
            "several splits in {} ({}): choose one with --split",
            qrels_dir.display(),
            several.join(", ")
        ))),
    }
}

fn lines(path: &Path) -> Result<impl Iterator<Item = (usize, std::io::Result<String>)>, BeirError> {
    let file = std::fs::File::open(path).map_err(|source| BeirError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line)))
}

fn line_error(path: &Path, line: usize, message: impl Into<String>) -> BeirError {
    BeirError::Line {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Reads a qrels TSV; a first line starting with `query-id` is a header.
pub fn read_qrels(path: &Path) -> Result<HashMap<String, Judgements>, BeirError> {
    let mut qrels: HashMap<String, Judgements> = HashMap::new();
    for (n, line) in lines(path)? {
        let line = line.map_err(|e| line_error(path, n, e.to_string()))?;
        let line = line.trim();
        if line.is_empty() || (n == 1 && line.starts_with("query-id")) {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [query, doc, score] = fields.as_slice() else {
            return Err(line_error(
                path,
                n,
                "expected query-id, corpus-id and score separated by tabs",
            ));
        };
        let score: i32 = score
            .trim()
            .parse()
            .map_err(|_| line_error(path, n, format!("score {score:?} is not an integer")))?;
        qrels
            .entry(query.trim().to_string())
            .or_default()
            .insert(doc.trim().to_string(), score);
    }
    Ok(qrels)
}

/// Reads queries JSONL; ids may be strings or numbers. A repeated id keeps its last text.
pub fn read_queries(path: &Path) -> Result<Vec<Query>, BeirError> {
    let mut queries = BTreeMap::new();
    for (n, line) in lines(path)? {
        let line = line.map_err(|e| line_error(path, n, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: QueryLine = serde_json::from_str(&line)
            .map_err(|e| line_error(path, n, format!("not a query record with _id and text: {e}")))?;
        let id = match record.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        queries.insert(id, record.text);
    }
    Ok(queries.into_iter().map(|(id, text)| Query { id, text }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_beir_folder_is_read_with_its_only_split() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"x\"}\n");
        write(
            dir.path(),
            "queries-train.jsonl",
            "{\"_id\": 10, \"text\": \"ten\"}\n{\"_id\": 2, \"text\": \"two\"}\n{\"_id\": 3, \"text\": \"unjudged\"}\n",
        );
        write(
            dir.path(),
            "qrels/train.tsv",
            "query-id\tcorpus-id\tscore\n2\td1\t1\n10\td1\t2\n10\td2\t0\n",
        );
        let set = BeirSet::open(dir.path(), None).unwrap();
        assert_eq!(set.split, "train");
        let ids: Vec<&str> = set.queries.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["2", "10"], "numeric order, unjudged query left out");
        assert_eq!(set.qrels["10"]["d1"], 2);
        assert_eq!(set.qrels["10"]["d2"], 0);
    }

    #[test]
    fn layout_problems_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = BeirSet::open(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("corpus.jsonl"), "{err}");
        write(dir.path(), "corpus.jsonl", "");
        write(dir.path(), "qrels/dev.tsv", "");
        write(dir.path(), "qrels/train.tsv", "q\td\tx\n");
        let err = BeirSet::open(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("--split"), "{err}");
        let err = BeirSet::open(dir.path(), Some("train")).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        write(dir.path(), "qrels/train.tsv", "q\td\t1\n");
        let err = BeirSet::open(dir.path(), Some("train")).unwrap_err();
        assert!(err.to_string().contains("queries"), "{err}");
    }
}
