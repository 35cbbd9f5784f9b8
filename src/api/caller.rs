//! Who a dataset request acts for: a dataset API key (service API) or a console account. Handlers
//! that differ only in that are written once, generic over [`Caller`].

use axum::extract::FromRequestParts;

use super::auth::DatasetKey;
use super::extract::uuid_path;
use super::{ApiError, AppState, ErrorCode};
use crate::store::{Dataset, EXTERNAL_PROVIDER};

/// What a request wants to do with a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The workspace a request acts in, and whether it may touch a dataset of it.
pub trait Caller: FromRequestParts<AppState, Rejection = ApiError> + Send + Sync {
    fn tenant_id(&self) -> &str;

    /// The account acting, recorded as `created_by`; None for dataset keys, which act as the
    /// workspace owner.
    fn account_id(&self) -> Option<&str>;

    /// Refuses (403) a dataset of the caller's workspace that it may not read or change.
    fn check_dataset(&self, dataset: &Dataset, access: Access) -> Result<(), ApiError>;
}

impl Caller for DatasetKey {
    fn tenant_id(&self) -> &str {
        &self.0.tenant_id
    }

    fn account_id(&self) -> Option<&str> {
        None
    }

    /// A dataset key reaches every dataset of its workspace whose API access is on.
    fn check_dataset(&self, dataset: &Dataset, _access: Access) -> Result<(), ApiError> {
        if !dataset.enable_api {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "Dataset api access is not enabled.",
            ));
        }
        Ok(())
    }
}

/// The dataset named by a path id, looked up in the caller's workspace only (another
/// workspace's id is a 404), and checked for `access`.
pub async fn find_dataset<C: Caller>(
    state: &AppState,
    caller: &C,
    dataset_id: &str,
    access: Access,
) -> Result<Dataset, ApiError> {
    let id = uuid_path(dataset_id, "Dataset")?;
    let dataset = state
        .engine
        .store()
        .dataset(caller.tenant_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Dataset not found."))?;
    caller.check_dataset(&dataset, access)?;
    Ok(dataset)
}

/// [`find_dataset`] for the routes of documents, segments and uploads: an external dataset has
/// none (its knowledge lives behind its External Knowledge API), which is a 400 as in Dify.
pub async fn find_document_dataset<C: Caller>(
    state: &AppState,
    caller: &C,
    dataset_id: &str,
    access: Access,
) -> Result<Dataset, ApiError> {
    let dataset = find_dataset(state, caller, dataset_id, access).await?;
    if dataset.provider == EXTERNAL_PROVIDER {
        return Err(ApiError::invalid(
            "External knowledge bases do not support documents; their content is managed by the external knowledge API.",
        ));
    }
    Ok(dataset)
}
