//! The knowledge (dataset) service API, `/v1/datasets/...` (API.md section A).

mod datasets;
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
        .route("/datasets/{dataset_id}/retrieve", post(retrieve::retrieve))
        .route("/datasets/{dataset_id}/hit-testing", post(retrieve::retrieve))
}
