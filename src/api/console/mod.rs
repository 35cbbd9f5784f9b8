//! The console API, `/console/api/...` (API.md section C): what the web console and Dify's
//! console clients call. Sign-in and sessions, accounts, workspaces and members, and model
//! settings live here; knowledge bases and apps have their own sub-routers.

mod account;
mod apps;
mod auth;
mod datasets;
pub mod model_settings;
pub mod passport;
pub mod session;
mod tags;
pub mod throttle;
mod workspaces;

use axum::Router;
use axum::routing::{get, post, put};

use super::AppState;
use super::sealing::Sealer;
pub use session::ConsoleUser;

/// What console sessions depend on: the keys of session tokens and stored secrets (derived
/// from the secret key), the sign-in guard, and the proxies whose forwarding headers count.
pub struct ConsoleKeys {
    pub passport: passport::Passport,
    pub sealer: Sealer,
    pub guard: throttle::LoginGuard,
    pub proxies: super::client::TrustedProxies,
}

impl ConsoleKeys {
    /// Fails on a malformed `server.trusted_proxies`.
    pub fn new(secret_key: &[u8], config: &crate::config::Config) -> Result<Self, String> {
        Ok(Self {
            passport: passport::Passport::new(&crate::api::keys::derive(
                secret_key,
                crate::api::keys::Purpose::Sessions,
            )),
            sealer: Sealer::new(secret_key),
            guard: throttle::LoginGuard::new(config.console.login_hash_concurrency),
            proxies: super::client::TrustedProxies::parse(&config.server.trusted_proxies)?,
        })
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::api::openapi::console_document))
        .route("/setup", get(auth::setup_status).post(auth::setup))
        .route("/init", get(auth::init_status).post(auth::init_validate))
        .route("/login", post(auth::login))
        .route("/logout", get(auth::logout).post(auth::logout))
        .route("/refresh-token", post(auth::refresh))
        .route("/activate/check", get(auth::activation_check))
        .route("/activate", post(auth::activate))
        .route("/system-features", get(auth::system_features))
        .route("/features", get(auth::features))
        .route("/account/profile", get(account::profile))
        .route("/account/name", post(account::name))
        .route("/account/password", post(account::password))
        .route("/account/interface-language", post(account::interface_language))
        .route("/account/interface-theme", post(account::interface_theme))
        .route("/account/timezone", post(account::timezone))
        .route("/workspaces", get(workspaces::list).post(workspaces::create))
        .route(
            "/workspaces/current",
            get(workspaces::current).post(workspaces::current),
        )
        .route("/workspaces/info", post(workspaces::rename))
        .route("/workspaces/switch", post(workspaces::switch))
        .route("/workspaces/current/members", get(workspaces::members))
        .route(
            "/workspaces/current/members/invite-email",
            post(workspaces::invite),
        )
        .route(
            "/workspaces/current/members/{member_id}/update-role",
            put(workspaces::update_role),
        )
        .route(
            "/workspaces/current/members/{member_id}",
            axum::routing::delete(workspaces::remove_member),
        )
        .route(
            "/workspaces/current/model-settings",
            get(model_settings::get).post(model_settings::update),
        )
        .route(
            "/workspaces/current/models/model-types/{model_type}",
            get(model_settings::models_of_type),
        )
        .route(
            "/workspaces/current/default-model",
            get(model_settings::default_model),
        )
        .route("/tags", get(tags::list).post(tags::create))
        .route(
            "/tags/{tag_id}",
            axum::routing::patch(tags::rename).delete(tags::delete),
        )
        .route("/tag-bindings/create", post(tags::bind))
        .route("/tag-bindings/remove", post(tags::unbind))
        .merge(datasets::routes())
        .merge(apps::routes())
}
