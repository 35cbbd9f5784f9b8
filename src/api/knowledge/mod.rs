//! The knowledge (dataset) service API, `/v1/datasets/...` (API.md section A).

mod datasets;
mod documents;
mod downloads;
mod metadata;
pub(crate) mod models;
mod processing;
mod retrieve;
mod segments;
mod tags;
pub(super) mod uploads;
mod views;

use axum::Router;
use axum::routing::{get, patch, post};

use super::AppState;

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
            get(documents::get)
                .patch(documents::update_by_file)
                .delete(documents::delete),
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
            get(documents::indexing_status),
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
            patch(processing::pause),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/processing/resume",
            patch(processing::resume),
        )
        .route("/datasets/{dataset_id}/retry", post(processing::retry))
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments",
            get(segments::list).post(segments::create),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}",
            get(segments::get)
                .post(segments::update)
                .delete(segments::delete),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks",
            get(segments::list_child_chunks).post(segments::create_child_chunk),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}",
            patch(segments::update_child_chunk).delete(segments::delete_child_chunk),
        )
        .route("/datasets/{dataset_id}/retrieve", post(retrieve::retrieve))
        .route("/datasets/{dataset_id}/hit-testing", post(retrieve::retrieve))
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
        .route("/datasets/{dataset_id}/tags", get(tags::dataset_tags))
        .route(
            "/datasets/{dataset_id}/metadata",
            get(metadata::list).post(metadata::create),
        )
        .route(
            "/datasets/{dataset_id}/metadata/built-in",
            get(metadata::built_in_fields),
        )
        .route(
            "/datasets/{dataset_id}/metadata/built-in/{action}",
            post(metadata::built_in_action),
        )
        .route(
            "/datasets/{dataset_id}/metadata/{metadata_id}",
            patch(metadata::rename).delete(metadata::delete),
        )
        .route(
            "/datasets/{dataset_id}/documents/metadata",
            post(metadata::update_documents),
        )
        .route(
            "/workspaces/current/models/model-types/{model_type}",
            get(models::by_type),
        )
}
