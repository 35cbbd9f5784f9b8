//! An app's easy-UI model config (Dify's `app_model_configs`, API.md C): parsed, checked, filled
//! with Dify's defaults, and turned back into the JSON the console shows.

use serde_json::{Map, Value, json};

use super::AppError;
use crate::engine::{MAX_TOP_K, MetadataFilter};
use crate::rerank::RerankModel;

/// The modes ragd runs; Dify's other modes are refused with a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppMode {
    Chat,
    Completion,
}

impl AppMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AppMode::Chat => "chat",
            AppMode::Completion => "completion",
        }
    }

    /// The mode Dify names `text`, or the error a request naming it gets.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match text {
            "chat" => Ok(AppMode::Chat),
            "completion" => Ok(AppMode::Completion),
            "agent-chat" | "advanced-chat" | "workflow" | "agent" => Err(AppError::Input(format!(
                "App mode {text} is not supported by this server: only chat and completion apps can be created."
            ))),
            other => Err(AppError::Input(format!(
                "Invalid app mode {other:?}: expected chat or completion."
            ))),
        }
    }
}

/// One field of `user_input_form`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputField {
    /// `text-input`, `paragraph`, `select` or `number`.
    pub kind: String,
    pub variable: String,
    pub label: String,
    pub required: bool,
    pub max_length: Option<usize>,
    pub options: Vec<String>,
    pub default: Option<String>,
}

/// How the app's bound datasets are searched and their results combined (`dataset_configs`).
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSettings {
    /// Enabled datasets, in configured order, without repeats.
    pub dataset_ids: Vec<String>,
    pub top_k: usize,
    /// Counts only when `score_threshold_enabled`.
    pub score_threshold: Option<f32>,
    /// A rerank model rescoring the merged results (`reranking_enabled` in `reranking_model` mode).
    pub rerank: Option<RerankModel>,
    /// `(vector, keyword)` weights rescoring the merged results (`weighted_score` mode).
    pub weights: Option<(f32, f32)>,
    /// Conditions applied in every dataset (`metadata_filtering_mode` manual).
    pub metadata_filter: Option<MetadataFilter>,
}

/// The model an app asks and its parameters (`model`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    pub provider: String,
    pub name: String,
    pub completion_params: Map<String, Value>,
}

/// A checked model config.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub model: ModelSettings,
    pub pre_prompt: String,
    pub user_input_form: Vec<InputField>,
    pub opening_statement: String,
    pub suggested_questions: Vec<String>,
    /// Whether answers show the chunks they cite (`retriever_resource.enabled`).
    pub show_retriever_resources: bool,
    /// The input whose value is the retrieval query of completion apps.
    pub dataset_query_variable: Option<String>,
    pub datasets: DatasetSettings,
    /// The config as stored and shown: the given JSON with Dify's defaults filled in.
    pub json: Value,
}

/// Dify's default `dataset_configs.top_k`.
pub const DEFAULT_TOP_K: usize = 4;

impl AppConfig {
    /// The config of a new app: no model chosen (the workspace default), no datasets.
    pub fn default_json() -> Value {
        json!({
            "model": {"provider": "", "name": "", "mode": "chat", "completion_params": {}},
            "pre_prompt": "",
            "user_input_form": [],
            "opening_statement": "",
            "suggested_questions": [],
            "suggested_questions_after_answer": {"enabled": false},
            "speech_to_text": {"enabled": false},
            "text_to_speech": {"enabled": false},
            "retriever_resource": {"enabled": true},
            "more_like_this": {"enabled": false},
            "sensitive_word_avoidance": {"enabled": false},
            "annotation_reply": {"enabled": false},
            "dataset_query_variable": "",
            "agent_mode": {"enabled": false, "tools": []},
            "file_upload": {"enabled": false},
            "dataset_configs": {
                "retrieval_model": "multiple",
                "top_k": DEFAULT_TOP_K,
                "score_threshold": null,
                "score_threshold_enabled": false,
                "reranking_enabled": false,
                "datasets": {"datasets": []},
            },
        })
    }

    /// Parses and checks a model config sent by the console (or stored earlier).
    pub fn parse(value: &Value) -> Result<AppConfig, AppError> {
        let given = value
            .as_object()
            .ok_or_else(|| AppError::Input("model config must be a JSON object".into()))?;
        let mut json = Self::default_json();
        let merged = json.as_object_mut().expect("default config is an object");
        for (key, value) in given {
            match (merged.get_mut(key), value) {
                (_, Value::Null) => {}
                // dataset_configs merges field by field, so a partial one keeps the defaults.
                (Some(Value::Object(default)), Value::Object(fields)) if key == "dataset_configs" => {
                    for (field, value) in fields {
                        default.insert(field.clone(), value.clone());
                    }
                }
                _ => {
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
        let model = parse_model(&merged["model"])?;
        let pre_prompt = string_field(merged, "pre_prompt")?;
        let user_input_form = parse_input_form(&merged["user_input_form"])?;
        let opening_statement = string_field(merged, "opening_statement")?;
        let suggested_questions = match &merged["suggested_questions"] {
            Value::Array(items) => items
                .iter()
                .map(|q| {
                    q.as_str().map(str::to_string).ok_or_else(|| {
                        AppError::Input("suggested_questions must be a list of strings".into())
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(AppError::Input(
                    "suggested_questions must be a list of strings".into(),
                ));
            }
        };
        let show_retriever_resources = merged["retriever_resource"]["enabled"].as_bool().unwrap_or(true);
        let dataset_query_variable = merged["dataset_query_variable"]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let datasets = parse_dataset_configs(&merged["dataset_configs"])?;
        Ok(AppConfig {
            model,
            pre_prompt,
            user_input_form,
            opening_statement,
            suggested_questions,
            show_retriever_resources,
            dataset_query_variable,
            datasets,
            json,
        })
    }

    /// Whether the app suggests next questions after each answer.
    pub fn suggests_questions(&self) -> bool {
        self.json["suggested_questions_after_answer"]["enabled"] == true
    }

    /// Dify's `/parameters` answer for this config.
    pub fn parameters(&self, file_size_limit_mb: u64) -> Value {
        let feature = |key: &str| {
            self.json
                .get(key)
                .cloned()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({"enabled": false}))
        };
        json!({
            "opening_statement": self.opening_statement,
            "suggested_questions": self.suggested_questions,
            "suggested_questions_after_answer": feature("suggested_questions_after_answer"),
            "speech_to_text": feature("speech_to_text"),
            "text_to_speech": feature("text_to_speech"),
            "retriever_resource": {"enabled": self.show_retriever_resources},
            "annotation_reply": feature("annotation_reply"),
            "more_like_this": feature("more_like_this"),
            "sensitive_word_avoidance": feature("sensitive_word_avoidance"),
            "user_input_form": self.json["user_input_form"],
            "file_upload": feature("file_upload"),
            "system_parameters": {
                "file_size_limit": file_size_limit_mb,
                "image_file_size_limit": 10,
                "audio_file_size_limit": 50,
                "video_file_size_limit": 100,
                "workflow_file_upload_limit": 10,
            },
        })
    }
}

fn string_field(object: &Map<String, Value>, key: &str) -> Result<String, AppError> {
    match object.get(key) {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(AppError::Input(format!("{key} must be a string"))),
    }
}

fn parse_model(value: &Value) -> Result<ModelSettings, AppError> {
    let object = value
        .as_object()
        .ok_or_else(|| AppError::Input("model must be an object".into()))?;
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let completion_params = match object.get("completion_params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params.clone(),
        Some(_) => {
            return Err(AppError::Input(
                "model.completion_params must be an object".into(),
            ));
        }
    };
    if let Some(mode) = object.get("mode").and_then(Value::as_str)
        && !matches!(mode, "chat" | "completion")
    {
        return Err(AppError::Input(format!(
            "model.mode must be chat or completion, not {mode:?}"
        )));
    }
    Ok(ModelSettings {
        provider: text("provider"),
        name: text("name"),
        completion_params,
    })
}

/// Dify's form: a list of one-key objects, `{"text-input": {variable, label, required, ...}}`.
fn parse_input_form(value: &Value) -> Result<Vec<InputField>, AppError> {
    let items = value
        .as_array()
        .ok_or_else(|| AppError::Input("user_input_form must be a list".into()))?;
    let mut fields = Vec::new();
    for item in items {
        let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else {
            return Err(AppError::Input(
                "user_input_form items must be objects like {\"text-input\": {...}}".into(),
            ));
        };
        if !matches!(kind.as_str(), "text-input" | "paragraph" | "select" | "number") {
            return Err(AppError::Input(format!(
                "user_input_form type {kind:?} is not supported: use text-input, paragraph, select or number"
            )));
        }
        let variable = body["variable"].as_str().unwrap_or("").trim().to_string();
        if !valid_variable(&variable) {
            return Err(AppError::Input(format!(
                "user_input_form variable {variable:?} must start with a letter or _ and hold at most 30 letters, digits or _"
            )));
        }
        if fields.iter().any(|f: &InputField| f.variable == variable) {
            return Err(AppError::Input(format!(
                "user_input_form variable {variable} is repeated"
            )));
        }
        fields.push(InputField {
            kind: kind.clone(),
            label: body["label"].as_str().unwrap_or(&variable).to_string(),
            required: body["required"].as_bool().unwrap_or(false),
            max_length: body["max_length"].as_u64().map(|n| n as usize),
            options: body["options"]
                .as_array()
                .map(|o| o.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            default: body["default"].as_str().map(str::to_string),
            variable,
        });
    }
    Ok(fields)
}

/// Dify's variable names: what `{{name}}` in a prompt can refer to.
pub fn valid_variable(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 30
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_dataset_configs(value: &Value) -> Result<DatasetSettings, AppError> {
    let bad = |what: &str| AppError::Input(format!("dataset_configs.{what}"));
    if !value.is_object() {
        return Err(bad("must be an object"));
    }
    let mut dataset_ids = Vec::new();
    if let Some(items) = value["datasets"]["datasets"].as_array() {
        for item in items {
            let dataset = &item["dataset"];
            if !dataset["enabled"].as_bool().unwrap_or(true) {
                continue;
            }
            let id = dataset["id"]
                .as_str()
                .and_then(|id| uuid::Uuid::parse_str(id).ok())
                .ok_or_else(|| bad("datasets.datasets[].dataset.id must be a dataset id"))?
                .to_string();
            if !dataset_ids.contains(&id) {
                dataset_ids.push(id);
            }
        }
    }
    let top_k = match &value["top_k"] {
        Value::Null => DEFAULT_TOP_K,
        v => v
            .as_u64()
            .map(|k| k as usize)
            .filter(|k| (1..=MAX_TOP_K).contains(k))
            .ok_or_else(|| bad(&format!("top_k must be between 1 and {MAX_TOP_K}")))?,
    };
    let score_threshold = match value["score_threshold_enabled"].as_bool().unwrap_or(false) {
        true => Some(
            value["score_threshold"]
                .as_f64()
                .ok_or_else(|| bad("score_threshold must be a number when score_threshold_enabled"))?
                as f32,
        ),
        false => None,
    };
    let reranking_enabled = value["reranking_enabled"].as_bool().unwrap_or(false);
    let mode = value["reranking_mode"].as_str().unwrap_or("reranking_model");
    let mut rerank = None;
    let mut weights = None;
    if reranking_enabled {
        match mode {
            "reranking_model" => {
                // Dify's UI sends reranking_enabled with an empty model; like Dify, that reranks nothing.
                let name = value["reranking_model"]["reranking_model_name"]
                    .as_str()
                    .unwrap_or("");
                if !name.trim().is_empty() {
                    rerank = Some(RerankModel {
                        provider: value["reranking_model"]["reranking_provider_name"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        model: name.to_string(),
                    });
                }
            }
            "weighted_score" => {
                let vector = value["weights"]["vector_setting"]["vector_weight"]
                    .as_f64()
                    .unwrap_or(0.7) as f32;
                let keyword = value["weights"]["keyword_setting"]["keyword_weight"]
                    .as_f64()
                    .map(|w| w as f32)
                    .unwrap_or(1.0 - vector);
                if !(0.0..=1.0).contains(&vector)
                    || !(0.0..=1.0).contains(&keyword)
                    || vector + keyword <= 0.0
                {
                    return Err(bad("weights must be between 0 and 1"));
                }
                weights = Some((vector, keyword));
            }
            other => {
                return Err(bad(&format!(
                    "reranking_mode {other:?} is not reranking_model or weighted_score"
                )));
            }
        }
    }
    let metadata_filter = match value["metadata_filtering_mode"].as_str().unwrap_or("disabled") {
        "disabled" => None,
        "manual" => MetadataFilter::from_json(Some(&value["metadata_filtering_conditions"]))
            .map_err(|e| AppError::Input(format!("dataset_configs.metadata_filtering_conditions: {e}")))?,
        "automatic" => {
            return Err(bad(
                "metadata_filtering_mode automatic needs a metadata model, which this server does not run; use manual",
            ));
        }
        other => {
            return Err(bad(&format!(
                "metadata_filtering_mode {other:?} is not disabled or manual"
            )));
        }
    };
    Ok(DatasetSettings {
        dataset_ids,
        top_k,
        score_threshold,
        rerank,
        weights,
        metadata_filter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_a_sparse_config() {
        let config = AppConfig::parse(&json!({"pre_prompt": "You answer about {{topic}}."})).unwrap();
        assert_eq!(config.datasets.top_k, DEFAULT_TOP_K);
        assert!(config.show_retriever_resources);
        assert_eq!(config.json["dataset_configs"]["retrieval_model"], "multiple");
        assert_eq!(config.pre_prompt, "You answer about {{topic}}.");
    }

    #[test]
    fn dataset_configs_resolve() {
        let a = "6c1f3a52-7d1e-4d7c-9a8e-2f7b1c0d9e11";
        let b = "0b7d6c2e-1f4a-4e5b-8c3d-9a2e1f0b7c44";
        let config = AppConfig::parse(&json!({"dataset_configs": {
            "top_k": 3, "score_threshold_enabled": true, "score_threshold": 0.4,
            "reranking_enabled": true, "reranking_mode": "weighted_score",
            "weights": {"vector_setting": {"vector_weight": 0.6}, "keyword_setting": {"keyword_weight": 0.4}},
            "datasets": {"datasets": [
                {"dataset": {"enabled": true, "id": a}},
                {"dataset": {"enabled": false, "id": b}},
                {"dataset": {"enabled": true, "id": a}},
            ]},
        }}))
        .unwrap();
        assert_eq!(config.datasets.dataset_ids, [a]);
        assert_eq!(config.datasets.top_k, 3);
        assert_eq!(config.datasets.score_threshold, Some(0.4));
        assert_eq!(config.datasets.weights, Some((0.6, 0.4)));
        assert_eq!(config.datasets.rerank, None);
    }

    #[test]
    fn bad_configs_are_refused() {
        for bad in [
            json!({"dataset_configs": {"top_k": 0}}),
            json!({"dataset_configs": {"datasets": {"datasets": [{"dataset": {"id": "nope"}}]}}}),
            json!({"dataset_configs": {"metadata_filtering_mode": "automatic"}}),
            json!({"user_input_form": [{"file": {"variable": "x"}}]}),
            json!({"user_input_form": [{"text-input": {"variable": "1x"}}]}),
            json!({"model": {"mode": "embedding"}}),
            json!({"pre_prompt": 3}),
        ] {
            assert!(AppConfig::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_dify_modes_get_a_clear_error() {
        assert_eq!(AppMode::parse("chat").unwrap(), AppMode::Chat);
        let AppError::Input(message) = AppMode::parse("workflow").unwrap_err() else {
            panic!("not an input error")
        };
        assert!(message.contains("only chat and completion"), "{message}");
    }
}
