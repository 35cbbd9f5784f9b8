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
}

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
    check_datasets(engine, tenant_id, &config).await?;
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

/// Replaces an app's model config; false when the app does not exist.
pub async fn set_model_config(
    engine: &Engine,
    tenant_id: &str,
    app_id: &str,
    model_config: &Value,
) -> Result<bool, AppError> {
    let config = AppConfig::parse(model_config)?;
    check_datasets(engine, tenant_id, &config).await?;
    Ok(engine
        .store()
        .set_app_model_config(tenant_id, app_id, &config.json, &config.datasets.dataset_ids)
        .await?)
}

/// Every bound dataset must be one of the workspace's.
async fn check_datasets(engine: &Engine, tenant_id: &str, config: &AppConfig) -> Result<(), AppError> {
    for id in &config.datasets.dataset_ids {
        if engine.store().dataset(tenant_id, id).await?.is_none() {
            return Err(AppError::Input(format!("Dataset {id} does not exist.")));
        }
    }
    Ok(())
}
