//! The knowledge (dataset) service API, `/v1/datasets/...` (API.md section A).

pub(crate) mod datasets;
pub(crate) mod documents;
mod downloads;
pub(crate) mod external;
pub(crate) mod metadata;
pub(crate) mod models;
pub(crate) mod processing;
pub(crate) mod retrieve;
pub(crate) mod segments;
pub(crate) mod tags;
pub(crate) mod uploads;
pub(crate) mod views;

use axum::Router;
use axum::routing::{get, patch, post};

use super::AppState;
use super::auth::DatasetKey;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/datasets", get(datasets::list).post(datasets::create))
        .route(
            "/datasets/{dataset_id}",
            get(datasets::get)
                .patch(datasets::update)
                .delete(datasets::delete),
        )
        .route(
            "/datasets/{dataset_id}/document/create-by-text",
            post(documents::create_by_text),
        )
        .route(
            "/datasets/{dataset_id}/document/create_by_text",
            post(documents::create_by_text),
        )
        .route(
            "/datasets/{dataset_id}/document/create-by-file",
            post(documents::create_by_file),
        )
        .route(
            "/datasets/{dataset_id}/document/create_by_file",
            post(documents::create_by_file),
        )
        .route("/datasets/{dataset_id}/documents", get(documents::list))
        .route(
            "/datasets/{dataset_id}/documents/{document_id}",
            get(documents::get::<DatasetKey>)
                .patch(documents::update_by_file)
                .delete(documents::delete::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/update-by-text",
            post(documents::update_by_text),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/update_by_text",
            post(documents::update_by_text),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/update-by-file",
            post(documents::update_by_file),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/update_by_file",
            post(documents::update_by_file),
        )
        .route(
            "/datasets/{dataset_id}/documents/{batch}/indexing-status",
            get(documents::indexing_status::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/download",
            get(downloads::download),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/upload-file",
            get(downloads::upload_file),
        )
        .route(
            "/datasets/{dataset_id}/documents/download-zip",
            post(downloads::download_zip),
        )
        .route(
            "/datasets/{dataset_id}/documents/status/{action}",
            patch(segments::document_status),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/processing/pause",
            patch(processing::pause::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/processing/resume",
            patch(processing::resume::<DatasetKey>),
        )
        .route("/datasets/{dataset_id}/retry", post(processing::retry::<DatasetKey>))
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments",
            get(segments::list).post(segments::create),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}",
            get(segments::get::<DatasetKey>)
                .post(segments::update::<DatasetKey>)
                .delete(segments::delete::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks",
            get(segments::list_child_chunks::<DatasetKey>).post(segments::create_child_chunk::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}",
            patch(segments::update_child_chunk::<DatasetKey>).delete(segments::delete_child_chunk::<DatasetKey>),
        )
        .route("/datasets/{dataset_id}/retrieve", post(retrieve::retrieve::<DatasetKey>))
        .route("/datasets/{dataset_id}/hit-testing", post(retrieve::retrieve::<DatasetKey>))
        // Static segments win over `{dataset_id}` in axum's router, so `/datasets/tags` is
        // never taken for a dataset id (the tests check it).
        .route(
            "/datasets/tags",
            get(tags::list)
                .post(tags::create)
                .patch(tags::update)
                .delete(tags::delete),
        )
        .route("/datasets/tags/binding", post(tags::bind))
        .route("/datasets/tags/unbinding", post(tags::unbind))
        // dify-dataset-sdk 0.6.3 asks with POST.
        .route("/datasets/{dataset_id}/tags", get(tags::dataset_tags).post(tags::dataset_tags))
        .route(
            "/datasets/{dataset_id}/metadata",
            get(metadata::list::<DatasetKey>).post(metadata::create::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/metadata/built-in",
            get(metadata::built_in_fields::<DatasetKey>),
        )
        // dify-knowledge-sdk 0.2.0 switches built-in fields with DELETE; Dify routes only POST.
        .route(
            "/datasets/{dataset_id}/metadata/built-in/{action}",
            post(metadata::built_in_action::<DatasetKey>).delete(metadata::built_in_action::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/metadata/{metadata_id}",
            patch(metadata::rename::<DatasetKey>).delete(metadata::delete::<DatasetKey>),
        )
        .route(
            "/datasets/{dataset_id}/documents/metadata",
            post(metadata::update_documents::<DatasetKey>),
        )
        .route(
            "/workspaces/current/models/model-types/{model_type}",
            get(models::by_type),
        )
}
