//! The one error type of the HTTP APIs and its wire form, Dify's `{code, message, status}`.
//!
//! Every code has exactly one status, decided in `ErrorCode::status` with no wildcard arm, so a new
//! code does not compile until someone decides its status. Internal errors never show their text
//! to the client; it goes to the log instead.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::apps::AppError;
use crate::apps::llm::LlmError;
use crate::engine::EngineError;
use crate::store::StoreError;

/// Stable error codes of the wire contract (API.md A.9 and §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParam,
    Unauthorized,
    Forbidden,
    NotFound,
    DatasetNameDuplicate,
    DatasetInUse,
    ArchivedDocumentImmutable,
    DocumentIndexing,
    DocumentAlreadyFinished,
    InvalidAction,
    InvalidMetadata,
    DatasetNotInitialized,
    /// A workspace already has the most API keys of a type it may have.
    MaxKeysExceeded,
    NoFileUploaded,
    /// An upload whose part names no file (werkzeug-style code of Dify's `FilenameNotExistsError`).
    FilenameNotExists,
    /// An operation that needs vectors, on a keyword-only (economy) dataset.
    HighQualityDatasetOnly,
    TooManyFiles,
    FileTooLarge,
    UnsupportedFileType,
    MethodNotAllowed,
    PayloadTooLarge,
    RequestTimeout,
    /// A rerank or language model provider refused the configured credentials.
    ProviderNotInitialize,
    /// A rerank provider answered "too many requests".
    ProviderQuotaExceeded,
    /// A model provider refused or failed the request (Dify's code for a failed model call).
    CompletionRequestError,
    /// A chat route called with a key of an app of another mode.
    NotChatApp,
    /// A completion route called with a key of an app of another mode.
    NotCompletionApp,
    /// A rerank provider failed on its side, could not be reached, or answered nonsense.
    RerankProviderUnavailable,
    /// A rerank provider did not answer in time.
    RerankProviderTimeout,
    /// Console sign-in with a wrong e-mail address or password.
    AuthenticationFailed,
    /// Too many failed sign-ins for one address (Dify's `EmailPasswordLoginLimitError`).
    LoginLimit,
    /// Too many requests from one client, or a bounded resource is full: password hashing, the
    /// parse slots (parses the API triggers do not queue) (Dify's rate limit answer).
    TooManyRequests,
    /// `POST /setup` after setup was done.
    AlreadySetup,
    /// A console route before the first-run setup.
    NotSetup,
    /// `POST /setup` before the setup password was validated (Dify's `NotInitValidateError`).
    NotInitValidated,
    /// `POST /init` with a wrong setup password (Dify's `InitValidateFailedError`).
    InitValidateFailed,
    CurrentPasswordIncorrect,
    RepeatPasswordNotMatch,
    /// A member route aimed at the caller's own membership.
    CannotOperateSelf,
    AccountBanned,
    /// Werkzeug's plain `BadRequest`, which Dify raises for some refusals (e.g. suggested
    /// questions of an app that has them switched off).
    BadRequest,
    /// An external dataset's External Knowledge API failed, could not be reached, or answered
    /// nonsense.
    ExternalKnowledgeUnavailable,
    InternalServerError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParam => "invalid_param",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::DatasetNameDuplicate => "dataset_name_duplicate",
            ErrorCode::DatasetInUse => "dataset_in_use",
            ErrorCode::ArchivedDocumentImmutable => "archived_document_immutable",
            ErrorCode::DocumentIndexing => "document_indexing",
            ErrorCode::DocumentAlreadyFinished => "document_already_finished",
            ErrorCode::InvalidAction => "invalid_action",
            ErrorCode::InvalidMetadata => "invalid_metadata",
            ErrorCode::DatasetNotInitialized => "dataset_not_initialized",
            ErrorCode::MaxKeysExceeded => "max_keys_exceeded",
            ErrorCode::NoFileUploaded => "no_file_uploaded",
            ErrorCode::FilenameNotExists => "filename_not_exists_error",
            ErrorCode::HighQualityDatasetOnly => "high_quality_dataset_only",
            ErrorCode::TooManyFiles => "too_many_files",
            ErrorCode::FileTooLarge => "file_too_large",
            ErrorCode::UnsupportedFileType => "unsupported_file_type",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "request_entity_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::ProviderNotInitialize => "provider_not_initialize",
            ErrorCode::ProviderQuotaExceeded => "provider_quota_exceeded",
            ErrorCode::CompletionRequestError => "completion_request_error",
            ErrorCode::NotChatApp => "not_chat_app",
            ErrorCode::NotCompletionApp => "not_completion_app",
            ErrorCode::RerankProviderUnavailable => "rerank_provider_unavailable",
            ErrorCode::RerankProviderTimeout => "rerank_provider_timeout",
            ErrorCode::AuthenticationFailed => "authentication_failed",
            ErrorCode::LoginLimit => "email_code_login_limit",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::AlreadySetup => "already_setup",
            ErrorCode::NotSetup => "not_setup",
            ErrorCode::NotInitValidated => "not_init_validated",
            ErrorCode::InitValidateFailed => "init_validate_failed",
            ErrorCode::CurrentPasswordIncorrect => "current_password_incorrect",
            ErrorCode::RepeatPasswordNotMatch => "repeat_password_not_match",
            ErrorCode::CannotOperateSelf => "cannot_operate_self",
            ErrorCode::AccountBanned => "account_banned",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::ExternalKnowledgeUnavailable => "external_knowledge_unavailable",
            ErrorCode::InternalServerError => "internal_server_error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidParam
            | ErrorCode::DocumentIndexing
            | ErrorCode::DocumentAlreadyFinished
            | ErrorCode::InvalidAction
            | ErrorCode::InvalidMetadata
            | ErrorCode::DatasetNotInitialized
            | ErrorCode::MaxKeysExceeded
            | ErrorCode::NoFileUploaded
            | ErrorCode::FilenameNotExists
            | ErrorCode::HighQualityDatasetOnly
            | ErrorCode::TooManyFiles
            | ErrorCode::ProviderNotInitialize
            | ErrorCode::ProviderQuotaExceeded
            | ErrorCode::CompletionRequestError
            | ErrorCode::CurrentPasswordIncorrect
            | ErrorCode::RepeatPasswordNotMatch
            | ErrorCode::CannotOperateSelf
            | ErrorCode::AccountBanned
            | ErrorCode::BadRequest
            | ErrorCode::NotChatApp
            | ErrorCode::NotCompletionApp => StatusCode::BAD_REQUEST,
            ErrorCode::RerankProviderUnavailable | ErrorCode::ExternalKnowledgeUnavailable => {
                StatusCode::BAD_GATEWAY
            }
            ErrorCode::RerankProviderTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::Unauthorized
            | ErrorCode::AuthenticationFailed
            | ErrorCode::NotSetup
            | ErrorCode::NotInitValidated
            | ErrorCode::InitValidateFailed => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::ArchivedDocumentImmutable | ErrorCode::AlreadySetup => {
                StatusCode::FORBIDDEN
            }
            ErrorCode::LoginLimit | ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::DatasetNameDuplicate | ErrorCode::DatasetInUse => StatusCode::CONFLICT,
            ErrorCode::FileTooLarge | ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedFileType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ErrorCode {
    /// Dify's fixed message for codes whose exception has one (`description` of its
    /// `BaseHTTPException`, or werkzeug's text for its HTTP exceptions); None where the message
    /// says what went wrong in each case. Refused upload types add the reason after this text.
    pub fn dify_message(self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::DatasetNameDuplicate => {
                "The dataset name already exists. Please modify your dataset name."
            }
            ErrorCode::DatasetInUse => {
                "The dataset is being used by some apps. Please remove the dataset from the apps before deleting it."
            }
            ErrorCode::ArchivedDocumentImmutable => "The archived document is not editable.",
            ErrorCode::DocumentIndexing => "The document is being processed and cannot be edited.",
            ErrorCode::DocumentAlreadyFinished => {
                "The document has been processed. Please refresh the page or go to the document details."
            }
            ErrorCode::DatasetNotInitialized => {
                "The dataset is still being initialized or indexing. Please wait a moment."
            }
            ErrorCode::NoFileUploaded => "Please upload your file.",
            ErrorCode::FilenameNotExists => "The specified filename does not exist.",
            ErrorCode::HighQualityDatasetOnly => "Current operation only supports 'high-quality' datasets.",
            ErrorCode::TooManyFiles => "Only one file is allowed.",
            ErrorCode::UnsupportedFileType => "File type not allowed.",
            ErrorCode::MethodNotAllowed => "The method is not allowed for the requested URL.",
            ErrorCode::PayloadTooLarge => "The data value transmitted exceeds the capacity limit.",
            ErrorCode::RequestTimeout => {
                "The server closed the network connection because the browser didn't finish the request within the specified time."
            }
            ErrorCode::InternalServerError => {
                "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application."
            }
            _ => return None,
        })
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An error with Dify's fixed message for `code` (see [`ErrorCode::dify_message`]).
    pub fn of(code: ErrorCode) -> Self {
        Self::new(code, code.dify_message().unwrap_or_else(|| code.as_str()))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParam, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// A failure the client cannot fix: logged in full, answered without detail.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "internal error");
        Self::of(ErrorCode::InternalServerError)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = json!({ "code": self.code.as_str(), "message": self.message, "status": status.as_u16() });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::DuplicateDatasetName(_) => Self::of(ErrorCode::DatasetNameDuplicate),
            StoreError::DuplicateMetadataName { built_in: false, .. } => {
                Self::invalid("Metadata name already exists.")
            }
            StoreError::DuplicateMetadataName { built_in: true, .. } => {
                Self::invalid("Metadata name already exists in Built-in fields.")
            }
            StoreError::DuplicateTagName(_) => Self::invalid("Tag name already exists"),
            StoreError::DocumentNotFound(_) => Self::not_found("Document not found."),
            StoreError::DocFormMismatch => Self::invalid("doc_form is different from the dataset doc_form."),
            StoreError::MetadataNotFound(_) => Self::not_found("Metadata not found."),
            StoreError::DuplicateExternalApiName(_) => Self::new(
                ErrorCode::DatasetNameDuplicate,
                "The external knowledge API name already exists.",
            ),
            StoreError::ExternalApiNotFound => Self::not_found("External knowledge API not found."),
            StoreError::ExternalApiInUse(count) => Self::new(
                ErrorCode::DatasetInUse,
                format!("The external knowledge API is used by {count} knowledge bases; delete them first."),
            ),
            StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::Corrupt(_)
            | StoreError::UnsupportedUrl(_) => Self::internal(error),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::DatasetNotFound(_) => Self::not_found("Dataset not found."),
            EngineError::Input(message) => Self::invalid(message),
            EngineError::NotFound(message) => Self::not_found(message),
            EngineError::ArchivedDocument => Self::of(ErrorCode::ArchivedDocumentImmutable),
            EngineError::InvalidAction(message) => Self::new(ErrorCode::InvalidAction, message),
            EngineError::DocumentIndexing(message) => Self::new(ErrorCode::DocumentIndexing, message),
            EngineError::DatasetInUse => Self::of(ErrorCode::DatasetInUse),
            EngineError::DocumentAlreadyFinished => Self::of(ErrorCode::DocumentAlreadyFinished),
            EngineError::Rule(rule) => Self::invalid(rule.to_string()),
            EngineError::ModelMismatch { .. } | EngineError::UnknownModel(_) => {
                Self::invalid(error.to_string())
            }
            EngineError::Store(store) => store.into(),
            // Semantic or hybrid search of a keyword-only dataset.
            EngineError::Index(indexes::IndexError::NoVectorIndex) => {
                Self::of(ErrorCode::HighQualityDatasetOnly)
            }
            EngineError::Rerank(rerank) => rerank_error(rerank),
            EngineError::Busy(message) => Self::new(ErrorCode::TooManyRequests, message),
            EngineError::Index(_) | EngineError::Embed(_) | EngineError::Model(_) | EngineError::Task(_) => {
                Self::internal(error)
            }
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Input(message) => Self::invalid(message),
            AppError::ConversationNotFound => Self::not_found("Conversation Not Exists."),
            AppError::Forbidden(message) => Self::forbidden(message),
            AppError::Llm(llm) => llm.into(),
            AppError::Engine(engine) => engine.into(),
            AppError::Store(store) => store.into(),
        }
    }
}

/// A failed model call: refused credentials are `provider_not_initialize`, any other failure
/// Dify's `completion_request_error`, each with the provider's reason.
impl From<LlmError> for ApiError {
    fn from(error: LlmError) -> Self {
        let message = capitalized(&error.to_string());
        match error {
            LlmError::Auth(_) => Self::new(ErrorCode::ProviderNotInitialize, message),
            LlmError::Rejected(_)
            | LlmError::Blocked(_)
            | LlmError::RateLimited(_)
            | LlmError::Unavailable(_) => Self::new(ErrorCode::CompletionRequestError, message),
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A failed rerank: the provider's refusals are the client's to fix (4xx), its failures are not
/// (502, 504); a local model that fails is an internal error.
fn rerank_error(error: pipelines::RerankError) -> ApiError {
    use pipelines::RerankError;
    match &error {
        RerankError::Provider {
            status: Some(401 | 403),
            ..
        } => ApiError::new(
            ErrorCode::ProviderNotInitialize,
            format!("The rerank provider refused the configured credentials: {error}"),
        ),
        RerankError::Provider {
            status: Some(429), ..
        } => ApiError::new(
            ErrorCode::ProviderQuotaExceeded,
            format!("The rerank provider's quota is exhausted: {error}"),
        ),
        RerankError::Provider {
            status: Some(400..=499),
            ..
        } => ApiError::new(
            ErrorCode::CompletionRequestError,
            format!("The rerank provider refused the request: {error}"),
        ),
        RerankError::Provider { .. } => ApiError::new(
            ErrorCode::RerankProviderUnavailable,
            format!("The rerank provider is unavailable: {error}"),
        ),
        RerankError::Timeout(_) => ApiError::new(ErrorCode::RerankProviderTimeout, error.to_string()),
        RerankError::Load(_) | RerankError::Inference(_) => ApiError::internal(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unauthorized_carries_the_envelope_and_challenge() {
        let response = ApiError::unauthorized("Access token is invalid").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\""
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({"code": "unauthorized", "message": "Access token is invalid", "status": 401})
        );
    }

    #[test]
    fn rerank_provider_failures_map_to_client_and_gateway_errors() {
        use pipelines::RerankError;
        let provider = |status: Option<u16>| RerankError::Provider {
            status,
            message: "detail".into(),
        };
        for (error, code, http) in [
            (provider(Some(401)), "provider_not_initialize", 400),
            (provider(Some(403)), "provider_not_initialize", 400),
            (provider(Some(429)), "provider_quota_exceeded", 400),
            (provider(Some(404)), "completion_request_error", 400),
            (provider(Some(500)), "rerank_provider_unavailable", 502),
            (provider(None), "rerank_provider_unavailable", 502),
            (RerankError::Timeout(5), "rerank_provider_timeout", 504),
            (RerankError::Inference("x".into()), "internal_server_error", 500),
        ] {
            let api = ApiError::from(EngineError::Rerank(error));
            assert_eq!(api.code.as_str(), code);
            assert_eq!(api.code.status().as_u16(), http, "{code}");
        }
    }

    /// Every code with Dify's status, and Dify's message where Dify's exception has a fixed one.
    #[test]
    fn codes_statuses_and_messages_are_difys() {
        use ErrorCode::*;
        let table: &[(ErrorCode, &str, u16, Option<&str>)] = &[
            (InvalidParam, "invalid_param", 400, None),
            (Unauthorized, "unauthorized", 401, None),
            (Forbidden, "forbidden", 403, None),
            (NotFound, "not_found", 404, None),
            (
                DatasetNameDuplicate,
                "dataset_name_duplicate",
                409,
                Some("The dataset name already exists. Please modify your dataset name."),
            ),
            (
                DatasetInUse,
                "dataset_in_use",
                409,
                Some(
                    "The dataset is being used by some apps. Please remove the dataset from the apps before deleting it.",
                ),
            ),
            (
                ArchivedDocumentImmutable,
                "archived_document_immutable",
                403,
                Some("The archived document is not editable."),
            ),
            (
                DocumentIndexing,
                "document_indexing",
                400,
                Some("The document is being processed and cannot be edited."),
            ),
            (
                DocumentAlreadyFinished,
                "document_already_finished",
                400,
                Some(
                    "The document has been processed. Please refresh the page or go to the document details.",
                ),
            ),
            (InvalidAction, "invalid_action", 400, None),
            (InvalidMetadata, "invalid_metadata", 400, None),
            (
                DatasetNotInitialized,
                "dataset_not_initialized",
                400,
                Some("The dataset is still being initialized or indexing. Please wait a moment."),
            ),
            (MaxKeysExceeded, "max_keys_exceeded", 400, None),
            (
                NoFileUploaded,
                "no_file_uploaded",
                400,
                Some("Please upload your file."),
            ),
            (
                FilenameNotExists,
                "filename_not_exists_error",
                400,
                Some("The specified filename does not exist."),
            ),
            (
                HighQualityDatasetOnly,
                "high_quality_dataset_only",
                400,
                Some("Current operation only supports 'high-quality' datasets."),
            ),
            (
                TooManyFiles,
                "too_many_files",
                400,
                Some("Only one file is allowed."),
            ),
            (FileTooLarge, "file_too_large", 413, None),
            (
                UnsupportedFileType,
                "unsupported_file_type",
                415,
                Some("File type not allowed."),
            ),
            (
                MethodNotAllowed,
                "method_not_allowed",
                405,
                Some("The method is not allowed for the requested URL."),
            ),
            (
                PayloadTooLarge,
                "request_entity_too_large",
                413,
                Some("The data value transmitted exceeds the capacity limit."),
            ),
            (
                RequestTimeout,
                "request_timeout",
                408,
                Some(
                    "The server closed the network connection because the browser didn't finish the request within the specified time.",
                ),
            ),
            (ProviderNotInitialize, "provider_not_initialize", 400, None),
            (ProviderQuotaExceeded, "provider_quota_exceeded", 400, None),
            (CompletionRequestError, "completion_request_error", 400, None),
            (NotChatApp, "not_chat_app", 400, None),
            (NotCompletionApp, "not_completion_app", 400, None),
            (
                RerankProviderUnavailable,
                "rerank_provider_unavailable",
                502,
                None,
            ),
            (RerankProviderTimeout, "rerank_provider_timeout", 504, None),
            (
                ExternalKnowledgeUnavailable,
                "external_knowledge_unavailable",
                502,
                None,
            ),
            (AuthenticationFailed, "authentication_failed", 401, None),
            (LoginLimit, "email_code_login_limit", 429, None),
            (TooManyRequests, "too_many_requests", 429, None),
            (AlreadySetup, "already_setup", 403, None),
            (NotSetup, "not_setup", 401, None),
            (NotInitValidated, "not_init_validated", 401, None),
            (InitValidateFailed, "init_validate_failed", 401, None),
            (CurrentPasswordIncorrect, "current_password_incorrect", 400, None),
            (RepeatPasswordNotMatch, "repeat_password_not_match", 400, None),
            (CannotOperateSelf, "cannot_operate_self", 400, None),
            (AccountBanned, "account_banned", 400, None),
            (BadRequest, "bad_request", 400, None),
            (
                InternalServerError,
                "internal_server_error",
                500,
                Some(
                    "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
                ),
            ),
        ];
        for &(code, name, status, message) in table {
            assert_eq!(code.as_str(), name);
            assert_eq!(code.status().as_u16(), status, "{name}");
            assert_eq!(code.dify_message(), message, "{name}");
        }
        // A code added to the enum must be added to the table: the match below has no wildcard.
        for &(code, ..) in table {
            match code {
                InvalidParam
                | Unauthorized
                | Forbidden
                | NotFound
                | DatasetNameDuplicate
                | DatasetInUse
                | ArchivedDocumentImmutable
                | DocumentIndexing
                | DocumentAlreadyFinished
                | InvalidAction
                | InvalidMetadata
                | DatasetNotInitialized
                | MaxKeysExceeded
                | NoFileUploaded
                | FilenameNotExists
                | HighQualityDatasetOnly
                | TooManyFiles
                | FileTooLarge
                | UnsupportedFileType
                | MethodNotAllowed
                | PayloadTooLarge
                | RequestTimeout
                | ProviderNotInitialize
                | ProviderQuotaExceeded
                | CompletionRequestError
                | NotChatApp
                | NotCompletionApp
                | RerankProviderUnavailable
                | RerankProviderTimeout
                | ExternalKnowledgeUnavailable
                | AuthenticationFailed
                | LoginLimit
                | TooManyRequests
                | AlreadySetup
                | NotSetup
                | NotInitValidated
                | InitValidateFailed
                | CurrentPasswordIncorrect
                | RepeatPasswordNotMatch
                | CannotOperateSelf
                | AccountBanned
                | BadRequest
                | InternalServerError => {}
            }
        }
        assert_eq!(table.len(), 43);
        let economy = ApiError::from(EngineError::Index(indexes::IndexError::NoVectorIndex));
        assert_eq!(economy.code, HighQualityDatasetOnly);
        assert_eq!(
            ApiError::from(EngineError::ArchivedDocument).message,
            "The archived document is not editable."
        );
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let error = ApiError::internal("disk /srv/secret full");
        assert!(!error.message.contains("secret"));
        assert_eq!(error.code.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
