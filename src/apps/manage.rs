//! Creating apps and changing their model config: the checks the console and `ragd app create`
//! share.

use serde_json::Value;

use super::{AppConfig, AppError, AppMode};
use crate::engine::Engine;
use crate::store::{App, NewApp};

/// Longest app name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// What a new app is made of.
#[derive(Debug, Clone, Default)]
pub struct AppDraft {
    pub name: String,
    pub description: String,
    pub mode: String,
    pub icon_type: Option<String>,
    pub icon: Option<String>,
    pub icon_background: Option<String>,
    /// An easy-UI model config; None starts from the defaults.
    pub model_config: Option<Value>,
    pub created_by: Option<String>,
    /// The console account making the app; None (the CLI) may bind any dataset.
    pub viewer: Option<Viewer>,
}

/// A console account binding datasets: it may bind only the datasets the console shows it.
pub use crate::store::DatasetViewer as Viewer;

/// Checks an app name: trimmed, not empty, not too long.
pub fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::Input("name is required".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::Input(format!(
            "name must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

/// Creates an app in the workspace.
pub async fn create(engine: &Engine, tenant_id: &str, draft: AppDraft) -> Result<App, AppError> {
    let name = check_name(&draft.name)?;
    let mode = AppMode::parse(&draft.mode)?;
    let config = AppConfig::parse(draft.model_config.as_ref().unwrap_or(&AppConfig::default_json()))?;
    check_datasets(engine, tenant_id, &config, draft.viewer.as_ref(), &[]).await?;
    Ok(engine
        .store()
        .create_app(
            NewApp {
                tenant_id: tenant_id.to_string(),
                name,
                description: draft.description,
                mode: mode.as_str().to_string(),
                icon_type: draft.icon_type,
                icon: draft.icon,
                icon_background: draft.icon_background,
                model_config: config.json.clone(),
                created_by: draft.created_by,
            },
            &config.datasets.dataset_ids,
        )
        .await?)
}

/// Replaces an app's model config; false when the app does not exist. Datasets the app is
/// bound to already stay bound whoever saves (they were checked when bound); new ones must be
/// visible to `viewer`.
pub async fn set_model_config(
    engine: &Engine,
    tenant_id: &str,
    app_id: &str,
    model_config: &Value,
    viewer: Option<&Viewer>,
) -> Result<bool, AppError> {
    let config = AppConfig::parse(model_config)?;
    let bound = engine.store().app_dataset_ids(tenant_id, app_id).await?;
    check_datasets(engine, tenant_id, &config, viewer, &bound).await?;
    Ok(engine
        .store()
        .set_app_model_config(tenant_id, app_id, &config.json, &config.datasets.dataset_ids)
        .await?)
}

/// Every bound dataset must be one of the workspace's, and each newly bound one visible to
/// the viewer (the console's own rule, so an app cannot open a dataset its editor cannot).
async fn check_datasets(
    engine: &Engine,
    tenant_id: &str,
    config: &AppConfig,
    viewer: Option<&Viewer>,
    already_bound: &[String],
) -> Result<(), AppError> {
    for id in &config.datasets.dataset_ids {
        let Some(dataset) = engine.store().dataset(tenant_id, id).await? else {
            return Err(AppError::Input(format!("Dataset {id} does not exist.")));
        };

        if let Some(viewer) = viewer
            && !already_bound.contains(id)
            && !dataset.visible_to(viewer)
        {
            return Err(AppError::Forbidden(format!(
                "You do not have permission to access dataset {id}."
            )));
        }
    }
    Ok(())
}

/// Whether the viewer may run the app in the console's playground: every dataset it is bound
/// to must be one the viewer may see, or the playground would answer from a hidden dataset.
pub async fn check_playground(engine: &Engine, app: &App, viewer: &Viewer) -> Result<(), AppError> {
    // The config the app runs, which names the datasets retrieval will search.
    let config = AppConfig::parse(&app.model_config)?;
    for id in &config.datasets.dataset_ids {
        if let Some(dataset) = engine.store().dataset(&app.tenant_id, id).await?
            && !dataset.visible_to(viewer)
        {
            return Err(AppError::Forbidden(format!(
                "You do not have permission to access dataset {id}, which this app uses."
            )));
        }
    }
    Ok(())
}
