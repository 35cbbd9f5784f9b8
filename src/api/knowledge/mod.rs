//! The knowledge (dataset) service API, `/v1/datasets/...` (API.md section A).

mod datasets;
mod documents;
mod retrieve;
mod views;

use axum::Router;
use axum::routing::{get, post};

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
        .route("/datasets/{dataset_id}/retrieve", post(retrieve::retrieve))
        .route("/datasets/{dataset_id}/hit-testing", post(retrieve::retrieve))
}
