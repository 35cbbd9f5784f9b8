//! Annotations and annotation reply (Dify's `annotation_service.py` and
//! `features/annotation_reply`): curated question/answer pairs of an app; with reply on, a chat
//! query close enough to an annotated question (cosine similarity of the local model's vectors at
//! least the app's `score_threshold`) is answered with the annotation, without the model.
//!
//! Vectors live on the annotation rows: written with the annotation while reply is on, and made
//! for every annotation by the enable job. No HTTP here.

use std::sync::Arc;

use super::AppError;
use crate::engine::Engine;
use crate::store::{Annotation, AnnotationJob, AnnotationSetting, NewAnnotation};

/// Longest question and answer accepted (Dify's import limits).
pub const MAX_QUESTION_CHARS: usize = 2000;
pub const MAX_ANSWER_CHARS: usize = 10000;

/// What enabling annotation reply asks for.
#[derive(Debug, Clone)]
pub struct ReplySettings {
    pub score_threshold: f64,
    pub embedding_provider_name: String,
    pub embedding_model_name: String,
}

/// A matching annotation and its similarity to the query.
#[derive(Debug, Clone)]
pub struct Match {
    pub annotation: Annotation,
    pub score: f64,
}

/// A question and answer, checked.
pub fn check_pair(question: &str, answer: &str) -> Result<(), AppError> {
    if question.trim().is_empty() {
        return Err(AppError::Input("question is required".into()));
    }
    if answer.trim().is_empty() {
        return Err(AppError::Input("answer is required".into()));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(AppError::Input(format!(
            "question is too long: at most {MAX_QUESTION_CHARS} characters"
        )));
    }
    if answer.chars().count() > MAX_ANSWER_CHARS {
        return Err(AppError::Input(format!(
            "answer is too long: at most {MAX_ANSWER_CHARS} characters"
        )));
    }
    Ok(())
}

/// A text's vector under `model_id`. Questions and queries are both embedded as queries: they
/// are compared with each other, not with passages.
async fn embed(engine: &Engine, model_id: &str, text: &str) -> Result<Vec<f32>, AppError> {
    let embedder = engine.embedder_of(model_id).await?;
    Ok(engine.query_compute().embed_query(embedder, text).await?)
}

/// The vector a question gets now: one under the app's model while reply is on, else none.
async fn vector_if_enabled(
    engine: &Engine,
    app_id: &str,
    question: &str,
) -> Result<Option<(Vec<f32>, String)>, AppError> {
    match engine.store().annotation_setting(app_id).await? {
        Some(setting) => Ok(Some((
            embed(engine, &setting.model_id, question).await?,
            setting.model_id,
        ))),
        None => Ok(None),
    }
}

/// Creates an annotation of the app.
pub async fn create(
    engine: &Engine,
    tenant_id: &str,
    app_id: &str,
    question: &str,
    answer: &str,
    account_id: Option<&str>,
) -> Result<Annotation, AppError> {
    check_pair(question, answer)?;
    let embedding = vector_if_enabled(engine, app_id, question).await?;
    Ok(engine
        .store()
        .create_annotation(NewAnnotation {
            tenant_id: tenant_id.to_string(),
            app_id: app_id.to_string(),
            question: question.to_string(),
            content: answer.to_string(),
            account_id: account_id.map(str::to_string),
            embedding,
        })
        .await?)
}

/// Changes an annotation; None when the app has no such annotation.
pub async fn update(
    engine: &Engine,
    app_id: &str,
    id: &str,
    question: &str,
    answer: &str,
) -> Result<Option<Annotation>, AppError> {
    check_pair(question, answer)?;
    if engine.store().annotation(app_id, id).await?.is_none() {
        return Ok(None);
    }
    let embedding = vector_if_enabled(engine, app_id, question).await?;
    Ok(engine
        .store()
        .update_annotation(app_id, id, question, answer, embedding)
        .await?)
}

/// Starts turning reply on (or changing its model and threshold); the job embeds every
/// annotation the app's model has no vector of yet.
pub async fn enable(
    engine: Arc<Engine>,
    tenant_id: &str,
    app_id: &str,
    account_id: Option<&str>,
    settings: ReplySettings,
) -> Result<AnnotationJob, AppError> {
    check_threshold(settings.score_threshold)?;
    let (job, new) = engine
        .store()
        .start_annotation_job(tenant_id, app_id, "enable")
        .await?;
    if !new {
        return Ok(job);
    }
    let model_id = engine.annotation_model_id();
    let existing = engine.store().annotation_setting(app_id).await?;
    let setting = AnnotationSetting {
        id: existing
            .map(|s| s.id)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        app_id: app_id.to_string(),
        score_threshold: settings.score_threshold,
        embedding_provider_name: settings.embedding_provider_name,
        embedding_model_name: settings.embedding_model_name,
        model_id,
    };
    let tenant_id = tenant_id.to_string();
    let account_id = account_id.map(str::to_string);
    let job_id = job.id.clone();
    tokio::spawn(async move {
        let result = run_enable(&engine, &tenant_id, &setting, account_id.as_deref(), &job_id).await;
        let (status, message) = match &result {
            Ok(()) => ("completed", String::new()),
            Err(error) => {
                tracing::warn!(app_id = %setting.app_id, error = %error, "enabling annotation reply failed");
                ("error", error.to_string())
            }
        };
        if let Err(error) = engine.store().set_annotation_job(&job_id, status, &message).await {
            tracing::warn!(job_id = %job_id, error = %error, "annotation job status not saved");
        }
    });
    Ok(job)
}

async fn run_enable(
    engine: &Engine,
    tenant_id: &str,
    setting: &AnnotationSetting,
    account_id: Option<&str>,
    job_id: &str,
) -> Result<(), AppError> {
    let store = engine.store();
    store.set_annotation_job(job_id, "processing", "").await?;
    for (id, question) in store
        .annotations_to_embed(&setting.app_id, &setting.model_id)
        .await?
    {
        let vector = embed(engine, &setting.model_id, &question).await?;
        store
            .set_annotation_embedding(&setting.app_id, &id, &question, &vector, &setting.model_id)
            .await?;
    }
    // The setting goes in last: reply starts once every question has its vector.
    store
        .put_annotation_setting(tenant_id, setting, account_id)
        .await?;
    Ok(())
}

/// Turns reply off, as a job as Dify does (it is done at once: nothing is to be removed but the
/// setting).
pub async fn disable(engine: &Engine, tenant_id: &str, app_id: &str) -> Result<AnnotationJob, AppError> {
    let store = engine.store();
    let (job, new) = store.start_annotation_job(tenant_id, app_id, "disable").await?;
    if new {
        store.delete_annotation_setting(app_id).await?;
        store.set_annotation_job(&job.id, "completed", "").await?;
    }
    Ok(job)
}

/// Most rows one import may hold.
pub const MAX_IMPORT_RECORDS: usize = 1000;

/// The question/answer rows of an import CSV (Dify's template: a header row, then question and
/// answer in the first two columns; rows with an empty cell are skipped).
pub fn parse_import(bytes: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| AppError::Input("The CSV file must be UTF-8 text.".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rows = csv_rows(text)?;
    if rows.first().is_none_or(|header| header.len() < 2) {
        return Err(AppError::Input(
            "Invalid CSV format. The file must contain at least 2 columns (question and answer).".into(),
        ));
    }
    let mut pairs = Vec::new();
    for (index, row) in rows.iter().enumerate().skip(1) {
        let question = row.first().map(|q| q.trim()).unwrap_or("");
        let answer = row.get(1).map(|a| a.trim()).unwrap_or("");
        if question.is_empty() || answer.is_empty() {
            continue;
        }
        if pairs.len() == MAX_IMPORT_RECORDS {
            return Err(AppError::Input(format!(
                "The CSV file contains too many records. Maximum {MAX_IMPORT_RECORDS} records allowed per import."
            )));
        }
        let line = index + 1;
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(AppError::Input(format!(
                "Question at row {line} is too long. Maximum {MAX_QUESTION_CHARS} characters allowed."
            )));
        }
        if answer.chars().count() > MAX_ANSWER_CHARS {
            return Err(AppError::Input(format!(
                "Answer at row {line} is too long. Maximum {MAX_ANSWER_CHARS} characters allowed."
            )));
        }
        pairs.push((question.to_string(), answer.to_string()));
    }
    if pairs.is_empty() {
        return Err(AppError::Input(
            "The CSV file must contain at least 1 valid annotation record(s). Found 0 valid record(s)."
                .into(),
        ));
    }
    Ok(pairs)
}

/// RFC 4180 rows: comma-separated, fields in double quotes may hold commas, newlines and `""`.
fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, AppError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') | (false, '\r') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(AppError::Input(
            "Invalid CSV format: a quoted field is not closed.".into(),
        ));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// Starts importing rows as annotations (Dify's batch import job); the job is done when every
/// row is stored (and embedded, while reply is on).
pub async fn import(
    engine: Arc<Engine>,
    tenant_id: &str,
    app_id: &str,
    account_id: &str,
    pairs: Vec<(String, String)>,
) -> Result<AnnotationJob, AppError> {
    let (job, _) = engine
        .store()
        .start_annotation_job(tenant_id, app_id, "batch-import")
        .await?;
    let (tenant_id, app_id, account_id) = (tenant_id.to_string(), app_id.to_string(), account_id.to_string());
    let job_id = job.id.clone();
    tokio::spawn(async move {
        let mut result = engine
            .store()
            .set_annotation_job(&job_id, "processing", "")
            .await
            .map_err(AppError::from);
        for (question, answer) in &pairs {
            if result.is_err() {
                break;
            }
            result = create(&engine, &tenant_id, &app_id, question, answer, Some(&account_id))
                .await
                .map(|_| ());
        }
        let (status, message) = match &result {
            Ok(()) => ("completed", String::new()),
            Err(error) => {
                tracing::warn!(app_id = %app_id, error = %error, "annotation import failed");
                ("error", error.to_string())
            }
        };
        if let Err(error) = engine.store().set_annotation_job(&job_id, status, &message).await {
            tracing::warn!(job_id = %job_id, error = %error, "annotation job status not saved");
        }
    });
    Ok(job)
}

/// A threshold is a similarity: between 0 and 1.
pub fn check_threshold(score_threshold: f64) -> Result<(), AppError> {
    if !(0.0..=1.0).contains(&score_threshold) {
        return Err(AppError::Input("score_threshold must be between 0 and 1".into()));
    }
    Ok(())
}

/// The annotation answering `query`, if reply is on and one is close enough. A failure here is
/// logged and answered by the model instead (Dify does the same).
pub async fn find_reply(engine: &Engine, app_id: &str, query: &str) -> Option<Match> {
    match try_find_reply(engine, app_id, query).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(app_id = %app_id, error = %error, "annotation reply lookup failed");
            None
        }
    }
}

async fn try_find_reply(engine: &Engine, app_id: &str, query: &str) -> Result<Option<Match>, AppError> {
    let store = engine.store();
    let Some(setting) = store.annotation_setting(app_id).await? else {
        return Ok(None);
    };
    let vectors = store.annotation_vectors(app_id, &setting.model_id).await?;
    if vectors.is_empty() || query.trim().is_empty() {
        return Ok(None);
    }
    let target = embed(engine, &setting.model_id, query).await?;
    let best = vectors
        .iter()
        .map(|(id, vector)| (id, cosine(&target, vector)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((id, score)) = best else {
        return Ok(None);
    };
    // Dify treats a zero threshold as 1 (`score_threshold or 1`).
    let threshold = if setting.score_threshold > 0.0 {
        setting.score_threshold
    } else {
        1.0
    };
    if score < threshold {
        return Ok(None);
    }
    Ok(store
        .annotation(app_id, id)
        .await?
        .map(|annotation| Match { annotation, score }))
}

/// Cosine similarity; 0 for a zero or mismatched vector.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_is_one_for_parallel_and_zero_for_orthogonal() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-9);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn import_csv_rows_are_read_as_dify_writes_them() {
        let csv = "\u{feff}question,answer\r\n\"Steep, how long?\",\"Three \"\"short\"\" minutes\nat 80 °C\"\r\n\
                   ,no question\nWhat is oolong?,Half oxidised\n";
        let pairs = parse_import(csv.as_bytes()).unwrap();
        assert_eq!(
            pairs,
            [
                (
                    "Steep, how long?".to_string(),
                    "Three \"short\" minutes\nat 80 °C".to_string()
                ),
                ("What is oolong?".to_string(), "Half oxidised".to_string()),
            ]
        );
        assert!(parse_import(b"question\nonly one column\n").is_err());
        assert!(parse_import(b"question,answer\n").is_err());
        assert!(parse_import(b"question,answer\n\"open,x\n").is_err());
        assert!(parse_import(&[0xff, 0xfe]).is_err());
        let long = format!("q,a\n{},a\n", "x".repeat(MAX_QUESTION_CHARS + 1));
        assert!(parse_import(long.as_bytes()).is_err());
    }

    #[test]
    fn pairs_and_thresholds_are_checked() {
        assert!(check_pair("q", "a").is_ok());
        assert!(check_pair(" ", "a").is_err());
        assert!(check_pair("q", "").is_err());
        assert!(check_pair(&"q".repeat(MAX_QUESTION_CHARS + 1), "a").is_err());
        assert!(check_threshold(0.9).is_ok());
        assert!(check_threshold(1.5).is_err());
        assert!(check_threshold(f64::NAN).is_err());
    }
}
