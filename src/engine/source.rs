//! Inputs of `ragd ingest`: files, folders (walked recursively) and BEIR-style JSONL corpora
//! (one document per line with `_id`, `title`, `text`).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pipelines::Format;
use serde::Deserialize;

/// One document to ingest, before it is read.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDocument {
    /// Stable key of the input: the file path, or `<corpus path>#<_id>`.
    pub source: String,
    /// Name shown to people (file name or corpus title/id).
    pub name: String,
    pub content: SourceContent,
    pub metadata: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceContent {
    File {
        path: PathBuf,
        format: Format,
    },
    /// A line of a JSONL corpus (title and body are indexed as one document), read again when the
    /// document is prepared: a corpus of any size is never held in memory whole.
    CorpusLine {
        path: Arc<PathBuf>,
        /// Byte offset of the line in the file.
        offset: u64,
        /// Bytes of the line, without its newline.
        length: usize,
    },
}

impl SourceContent {
    /// Title and text of a corpus line; None for files.
    pub fn corpus_text(&self) -> Option<Result<(String, String), String>> {
        let SourceContent::CorpusLine { path, offset, length } = self else {
            return None;
        };
        Some(read_line_at(path, *offset, *length).and_then(|line| {
            let record: CorpusLine = serde_json::from_slice(&line).map_err(|e| {
                format!(
                    "{}: the corpus line changed since it was read: {e}",
                    path.display()
                )
            })?;
            Ok((record.title, record.text))
        }))
    }
}

fn read_line_at(path: &Path, offset: u64, length: usize) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut line = vec![0u8; length];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut line))
        .map_err(|e| format!("cannot read {} at byte {offset}: {e}", path.display()))?;
    Ok(line)
}

/// An input that was not taken, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedInput {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Deserialize)]
struct CorpusLine {
    #[serde(rename = "_id")]
    id: serde_json::Value,
    #[serde(default)]
    title: String,
    text: String,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// Expands `paths` into documents. Unsupported files are reported, not fatal; a path that does not
/// exist or a corpus line that is not valid JSON is an error naming the place.
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<SourceDocument>, Vec<SkippedInput>), String> {
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(format!("{} does not exist", path.display()));
        }
        if path.is_dir() {
            let mut files: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .follow_links(true)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.into_path())
                .collect();
            files.sort();
            for file in files {
                add_file(&file, &mut docs, &mut skipped)?;
            }
        } else {
            add_file(path, &mut docs, &mut skipped)?;
        }
    }
    Ok((docs, skipped))
}

fn add_file(
    path: &Path,
    docs: &mut Vec<SourceDocument>,
    skipped: &mut Vec<SkippedInput>,
) -> Result<(), String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "jsonl" {
        return read_corpus(path, docs);
    }
    match Format::from_extension(&ext) {
        Some(format) => docs.push(SourceDocument {
            source: path.display().to_string(),
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            content: SourceContent::File {
                path: path.to_path_buf(),
                format,
            },
            metadata: None,
        }),
        None => skipped.push(SkippedInput {
            path: path.to_path_buf(),
            reason: if ext.is_empty() {
                "no file extension".into()
            } else {
                format!("unsupported file type .{ext}")
            },
        }),
    }
    Ok(())
}

fn read_corpus(path: &Path, docs: &mut Vec<SourceDocument>) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let shared = Arc::new(path.to_path_buf());
    let mut reader = std::io::BufReader::new(file);
    let (mut offset, mut n, mut line) = (0u64, 0usize, Vec::new());
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?;
        if read == 0 {
            break;
        }
        n += 1;
        let start = offset;
        offset += read as u64;
        let content = line.strip_suffix(b"\n").unwrap_or(&line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: CorpusLine = serde_json::from_slice(content).map_err(|e| {
            format!(
                "{}: line {n}: not a corpus record with _id and text: {e}",
                path.display()
            )
        })?;
        let id = match record.id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let name = if record.title.trim().is_empty() {
            id.clone()
        } else {
            record.title
        };
        docs.push(SourceDocument {
            source: format!("{}#{id}", path.display()),
            name,
            content: SourceContent::CorpusLine {
                path: shared.clone(),
                offset: start,
                length: content.len(),
            },
            metadata: Some(
                record
                    .metadata
                    .unwrap_or_else(|| serde_json::json!({ "corpus_id": id })),
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_and_unsupported_files_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.md"), "# A").unwrap();
        std::fs::write(dir.path().join("sub/b.txt"), "b").unwrap();
        std::fs::write(dir.path().join("c.exe"), "x").unwrap();
        std::fs::write(dir.path().join(".hidden.md"), "x").unwrap();
        let (docs, skipped) = discover(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = docs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a.md", "b.txt"]);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].reason.contains(".exe"));
    }

    #[test]
    fn corpus_lines_become_documents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corpus.jsonl");
        std::fs::write(
            &path,
            "{\"_id\": \"4983\", \"title\": \"T\", \"text\": \"body\"}\n\n{\"_id\": 7, \"text\": \"x\"}\n",
        )
        .unwrap();
        let (docs, _) = discover(std::slice::from_ref(&path)).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].source, format!("{}#4983", path.display()));
        assert_eq!(
            docs[0].content.corpus_text(),
            Some(Ok(("T".to_string(), "body".to_string())))
        );
        assert_eq!(docs[1].name, "7");
        assert_eq!(
            docs[1].content.corpus_text(),
            Some(Ok((String::new(), "x".to_string())))
        );
        // A corpus rewritten after discovery is an error of that document, not a wrong text.
        std::fs::write(&path, "garbage").unwrap();
        let error = docs[1].content.corpus_text().unwrap().unwrap_err();
        assert!(error.contains("corpus.jsonl"), "{error}");
    }

    #[test]
    fn a_bad_corpus_line_names_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corpus.jsonl");
        std::fs::write(&path, "{\"_id\": \"1\", \"text\": \"ok\"}\n{not json}\n").unwrap();
        let err = discover(&[path]).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = discover(&[dir.path().join("missing")]).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }
}
