//! Workspaces and their members: list, create, switch and rename workspaces; list, invite,
//! re-role and remove members. As in Dify, owners and admins invite; only the owner changes
//! roles and removes members; nobody changes the owner or their own membership here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use super::auth::check_email;
use crate::api::extract::{ApiJson, uuid_path};
use crate::api::{ApiError, AppState, ErrorCode};
use crate::store::{Invited, Role, Workspace, now};

fn workspace_view(workspace: &Workspace, current: bool) -> Value {
    json!({
        "id": workspace.id,
        "name": workspace.name,
        "plan": workspace.plan,
        "status": workspace.status,
        "created_at": workspace.created_at,
        "current": current,
    })
}

/// The caller's current workspace in Dify's `POST /workspaces/current` shape.
async fn current_view(state: &AppState, user: &ConsoleUser) -> Result<Value, ApiError> {
    let workspaces = state.engine.store().workspaces_of(&user.account_id).await?;
    let workspace = workspaces
        .iter()
        .find(|w| w.id == user.tenant_id)
        .ok_or_else(|| ApiError::not_found("Workspace not found."))?;
    Ok(json!({
        "id": workspace.id,
        "name": workspace.name,
        "plan": workspace.plan,
        "status": workspace.status,
        "created_at": workspace.created_at,
        "role": workspace.role.as_str(),
        "in_trial": null,
        "trial_end_reason": null,
        "custom_config": {},
    }))
}

pub async fn current(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>, ApiError> {
    Ok(Json(current_view(&state, &user).await?))
}

pub async fn list(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>, ApiError> {
    let workspaces = state.engine.store().workspaces_of(&user.account_id).await?;
    let data: Vec<Value> = workspaces
        .iter()
        .map(|w| workspace_view(w, w.id == user.tenant_id))
        .collect();
    Ok(Json(json!({ "workspaces": data })))
}

#[derive(Debug, Deserialize)]
pub struct NameBody {
    name: String,
}

fn check_workspace_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "Workspace name must be between 1 and 100 characters.",
        ));
    }
    Ok(name.to_string())
}

/// A new workspace owned by the caller, who switches to it (a ragd addition: Dify makes one
/// workspace per account at sign-up, which self-hosted ragd has no equivalent of).
pub async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Response, ApiError> {
    if !state.engine.config().console.allow_workspace_creation {
        return Err(ApiError::forbidden(
            "Creating workspaces is disabled on this server.",
        ));
    }
    let name = check_workspace_name(&body.name)?;
    let id = state
        .engine
        .store()
        .create_workspace(&user.account_id, &name)
        .await?;
    let user = ConsoleUser {
        tenant_id: id,
        role: Role::Owner,
        // Nothing is shared with an account in a workspace it just made.
        granted: Vec::new(),
        ..user
    };
    Ok((StatusCode::CREATED, Json(current_view(&state, &user).await?)).into_response())
}

/// Renames the current workspace (Dify's `POST /workspaces/info`).
pub async fn rename(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<Value>, ApiError> {
    user.require_admin()?;
    let name = check_workspace_name(&body.name)?;
    state
        .engine
        .store()
        .rename_workspace(&user.tenant_id, &name)
        .await?;
    Ok(Json(
        json!({"result": "success", "tenant": current_view(&state, &user).await?}),
    ))
}

#[derive(Debug, Deserialize)]
pub struct SwitchBody {
    tenant_id: String,
}

pub async fn switch(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<SwitchBody>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    // A workspace the caller is not in is answered like one that does not exist.
    if !store.switch_workspace(&user.account_id, &body.tenant_id).await? {
        return Err(ApiError::not_found("Workspace not found."));
    }
    let role = store
        .member_role(&body.tenant_id, &user.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace not found."))?;
    let user = ConsoleUser {
        tenant_id: body.tenant_id,
        role,
        granted: Vec::new(),
        ..user
    };
    Ok(Json(
        json!({"result": "success", "new_tenant": current_view(&state, &user).await?}),
    ))
}

pub async fn members(State(state): State<AppState>, user: ConsoleUser) -> Result<Json<Value>, ApiError> {
    let members = state.engine.store().members(&user.tenant_id).await?;
    let accounts: Vec<Value> = members
        .iter()
        .map(|m| {
            json!({
                "id": m.account.id,
                "name": m.account.name,
                "avatar": null,
                "avatar_url": null,
                "email": m.account.email,
                "last_login_at": m.account.last_login_at,
                "last_active_at": m.account.last_active_at,
                "created_at": m.account.created_at,
                "role": m.role.as_str(),
                "status": m.account.status,
            })
        })
        .collect();
    Ok(Json(json!({"result": "success", "accounts": accounts})))
}

#[derive(Debug, Deserialize)]
pub struct InviteBody {
    emails: Vec<String>,
    role: String,
    #[serde(default)]
    #[allow(dead_code)]
    language: Option<String>,
}

/// Most addresses one invitation request may carry.
const MAX_INVITES: usize = 20;

/// A role that may be given to a member: anything but owner.
fn assignable_role(role: &str) -> Result<Role, ApiError> {
    match Role::parse(role) {
        Some(Role::Owner) | None => Err(ApiError::invalid(
            "Invalid role: it must be one of admin, editor, normal, dataset_operator.",
        )),
        Some(role) => Ok(role),
    }
}

/// Invites addresses into the current workspace. There is no mail server: the answer carries
/// each new account's activation link (and its token) for the inviter to pass on.
pub async fn invite(
    State(state): State<AppState>,
    user: ConsoleUser,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<Json<Value>, ApiError> {
    user.require_admin()?;
    let role = assignable_role(&body.role)?;
    if body.emails.is_empty() || body.emails.len() > MAX_INVITES {
        return Err(ApiError::invalid(format!(
            "emails must hold 1 to {MAX_INVITES} addresses."
        )));
    }
    // Every address is checked before anyone is invited, so a typo changes nothing.
    let emails = body
        .emails
        .iter()
        .map(|e| check_email(e))
        .collect::<Result<Vec<_>, _>>()?;
    let config = state.engine.config();
    let base = config.server.files_base_url();
    let expires_at =
        now() + i64::try_from(config.console.invitation_hours.saturating_mul(3600)).unwrap_or(i64::MAX);
    let store = state.engine.store();
    let mut results = Vec::new();
    for email in emails {
        let outcome = store
            .invite_member(&user.tenant_id, &user.account_id, &email, role, expires_at)
            .await?;
        results.push(match outcome {
            Invited::New { token, .. } => {
                let query = serde_urlencoded_pairs(&[
                    ("workspace_id", user.tenant_id.as_str()),
                    ("email", email.as_str()),
                    ("token", token.as_str()),
                ]);
                json!({"status": "success", "email": email, "url": format!("{base}/activate?{query}"), "token": token})
            }
            Invited::Existing { .. } => {
                json!({"status": "success", "email": email, "url": format!("{base}/signin")})
            }
            Invited::AlreadyMember => json!({
                "status": "failed",
                "email": email,
                "message": "The account is already a member of this workspace.",
            }),
        });
    }
    Ok(Json(
        json!({"result": "success", "invitation_results": results, "tenant_id": user.tenant_id}),
    ))
}

/// `k=v&...` with values percent-encoded as a query string needs.
fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The member a route names, checked against what the caller may do to them: only the owner
/// re-roles or removes members (Dify's `check_member_permission`).
async fn target_member(
    state: &AppState,
    user: &ConsoleUser,
    member_id: &str,
) -> Result<(String, Role), ApiError> {
    user.require_owner()?;
    let member_id = uuid_path(member_id, "Member")?;
    if member_id == user.account_id {
        return Err(ApiError::new(
            ErrorCode::CannotOperateSelf,
            "You cannot change your own membership.",
        ));
    }
    let role = state
        .engine
        .store()
        .member_role(&user.tenant_id, &member_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Member not found."))?;
    if role == Role::Owner {
        return Err(ApiError::forbidden(
            "The workspace owner cannot be changed or removed.",
        ));
    }
    Ok((member_id, role))
}

#[derive(Debug, Deserialize)]
pub struct RoleBody {
    role: String,
}

pub async fn update_role(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(member_id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<Value>, ApiError> {
    let (member_id, _) = target_member(&state, &user, &member_id).await?;
    let role = assignable_role(&body.role)?;
    if !state
        .engine
        .store()
        .update_member_role(&user.tenant_id, &member_id, role)
        .await?
    {
        return Err(ApiError::not_found("Member not found."));
    }
    Ok(Json(json!({"result": "success"})))
}

pub async fn remove_member(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(member_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (member_id, _) = target_member(&state, &user, &member_id).await?;
    if !state
        .engine
        .store()
        .remove_member(&user.tenant_id, &member_id)
        .await?
    {
        return Err(ApiError::not_found("Member not found."));
    }
    Ok(Json(json!({"result": "success", "tenant_id": user.tenant_id})))
}
