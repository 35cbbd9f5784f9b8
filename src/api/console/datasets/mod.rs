//! The console's dataset side (API.md C, under `/console/api`): datasets, documents, segments,
//! uploaded files, hit testing, metadata and dataset API keys. Handlers that only differ from
//! the knowledge API's by who calls are the same functions, instantiated for [`ConsoleUser`].
//!
//! Every id is looked up in the caller's current workspace, so another workspace's ids are 404s.
//! Reads need membership and, for a dataset, Dify's dataset permission ([`Dataset::visible_to`]:
//! the owner sees all; a dataset operator the datasets it was given and its own; others those
//! shared with the team, their own and those whose partial member list names them); writes need
//! a dataset editor (owner, admin, editor or dataset operator); API keys are made and removed by
//! owners and admins. External datasets and their APIs are in `external`.

mod api_keys;
mod csv;
/// `dataset::related_apps` is where the apps side lists the apps that use a dataset.
pub(crate) mod dataset;
mod documents;
mod external;
mod files;
mod segments;
mod website;

use axum::Router;
use axum::routing::{get, patch, post};

use super::session::ConsoleUser;
use crate::api::caller::{Access, Caller};
use crate::api::knowledge::{
    documents as knowledge_documents, metadata, processing, retrieve, segments as knowledge_segments,
};
use crate::api::{ApiError, AppState};
use crate::store::Dataset;

impl Caller for ConsoleUser {
    fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    fn account_id(&self) -> Option<&str> {
        Some(&self.account_id)
    }

    fn check_dataset(&self, dataset: &Dataset, access: Access) -> Result<(), ApiError> {
        if access == Access::Write {
            self.require_dataset_editor()?;
        }
        if !may_see(self, dataset) {
            return Err(ApiError::forbidden(
                "You do not have permission to access this dataset.",
            ));
        }
        Ok(())
    }
}

/// Dify's dataset permission ([`Dataset::visible_to`]).
fn may_see(user: &ConsoleUser, dataset: &Dataset) -> bool {
    dataset.visible_to(&user.dataset_viewer())
}

pub fn routes() -> Router<AppState> {
    type U = ConsoleUser;
    Router::new()
        .route("/datasets", get(dataset::list).post(dataset::create))
        .route("/datasets/init", post(documents::init))
        .route("/datasets/process-rule", get(dataset::process_rule))
        .route("/datasets/retrieval-setting", get(dataset::retrieval_setting))
        .route(
            "/datasets/retrieval-setting/{vector_type}",
            get(dataset::retrieval_setting),
        )
        .route("/datasets/api-base-info", get(api_keys::api_base_info))
        .route("/datasets/indexing-estimate", post(documents::indexing_estimate))
        .route(
            "/datasets/api-keys",
            get(api_keys::list).post(api_keys::create),
        )
        .route(
            "/datasets/api-keys/{api_key_id}",
            axum::routing::delete(api_keys::delete),
        )
        .route("/datasets/metadata/built-in", get(dataset::built_in_fields))
        .route(
            "/datasets/external-knowledge-api",
            get(external::list).post(external::create),
        )
        .route(
            "/datasets/external-knowledge-api/{api_id}",
            get(external::get)
                .patch(external::update)
                .delete(external::delete),
        )
        .route(
            "/datasets/external-knowledge-api/{api_id}/use-check",
            get(external::use_check),
        )
        .route("/datasets/external", post(external::create_dataset))
        .route(
            "/datasets/{dataset_id}/external-hit-testing",
            post(external::hit_testing),
        )
        .route(
            "/datasets/batch_import_status/{job_id}",
            get(segments::import_status),
        )
        .route(
            "/datasets/{dataset_id}",
            get(dataset::get).patch(dataset::update).delete(dataset::delete),
        )
        .route("/datasets/{dataset_id}/use-check", get(dataset::use_check))
        .route(
            "/datasets/{dataset_id}/permission-part-users",
            get(dataset::permission_part_users),
        )
        .route("/datasets/{dataset_id}/related-apps", get(dataset::related))
        .route(
            "/datasets/{dataset_id}/indexing-status",
            get(dataset::indexing_status),
        )
        .route("/datasets/{dataset_id}/error-docs", get(dataset::error_docs))
        .route("/datasets/{dataset_id}/queries", get(dataset::queries))
        .route(
            "/datasets/{dataset_id}/hit-testing",
            post(retrieve::retrieve::<U>),
        )
        .route(
            "/datasets/{dataset_id}/api-keys/{status}",
            post(api_keys::set_api_status),
        )
        .route(
            "/datasets/{dataset_id}/documents",
            get(documents::list)
                .post(documents::create)
                .delete(documents::delete_batch),
        )
        .route(
            "/datasets/{dataset_id}/documents/status/{action}/batch",
            patch(documents::status_batch),
        )
        .route(
            "/datasets/{dataset_id}/documents/metadata",
            post(metadata::update_documents::<U>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}",
            get(knowledge_documents::get::<U>).delete(knowledge_documents::delete::<U>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/indexing-status",
            get(documents::document_indexing_status),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/indexing-estimate",
            get(documents::document_indexing_estimate),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/rename",
            post(documents::rename),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/processing/{action}",
            patch(documents::processing),
        )
        .route("/datasets/{dataset_id}/retry", post(processing::retry::<U>))
        .route(
            "/datasets/{dataset_id}/batch/{batch}/indexing-status",
            get(knowledge_documents::indexing_status::<U>),
        )
        .route(
            "/datasets/{dataset_id}/batch/{batch}/indexing-estimate",
            get(documents::batch_indexing_estimate),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments",
            get(segments::list).delete(segments::delete_batch),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segment",
            post(segments::create),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segment/{action}",
            patch(segments::set_enabled),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/batch_import",
            post(segments::batch_import),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/batch_import/{job_id}",
            get(segments::import_status_in_document),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}",
            patch(segments::update).delete(knowledge_segments::delete::<U>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks",
            get(knowledge_segments::list_child_chunks::<U>)
                .post(knowledge_segments::create_child_chunk::<U>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/segments/{segment_id}/child_chunks/{child_chunk_id}",
            patch(knowledge_segments::update_child_chunk::<U>)
                .delete(knowledge_segments::delete_child_chunk::<U>),
        )
        .route(
            "/datasets/{dataset_id}/metadata",
            get(metadata::list::<U>).post(metadata::create::<U>),
        )
        .route(
            "/datasets/{dataset_id}/metadata/built-in/{action}",
            post(metadata::built_in_action::<U>),
        )
        .route(
            "/datasets/{dataset_id}/metadata/{metadata_id}",
            patch(metadata::rename::<U>).delete(metadata::delete::<U>),
        )
        .route(
            "/datasets/{dataset_id}/documents/{document_id}/website-sync",
            get(website::sync_document_page).post(website::sync_document_page),
        )
        .route("/datasets/{dataset_id}/website-sync", post(website::sync_site))
        .route("/website/crawl", post(website::crawl))
        .route("/website/crawl/status/{job_id}", get(website::status))
        .route("/files/upload", get(files::limits).post(files::upload))
        .route("/files/support-type", get(files::support_type))
        .route("/files/{file_id}/preview", get(files::preview))
}
