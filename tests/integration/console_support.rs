//! Console test support: a router over a fresh data dir, the first admin's session, invited
//! members with a given role, and an account working in a second workspace.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use ragd::api::{AppState, router};
use ragd::engine::Engine;
use ragd::store::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support;

pub(crate) const OWNER_EMAIL: &str = "owner@example.com";
pub(crate) const PASSWORD: &str = "s3cret-passw0rd";

pub(crate) struct Console {
    pub(crate) app: axum::Router,
    pub(crate) engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

/// A signed-in console account.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) csrf_token: String,
    pub(crate) account_id: String,
    pub(crate) email: String,
    pub(crate) tenant_id: String,
}

/// A response: status, headers and JSON body (`Null` when empty).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Console {
    pub(crate) async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub(crate) async fn with_config(edit: impl FnOnce(&mut ragd::config::Config)) -> Self {
        let (engine, dir) = support::engine_with(edit).await;
        let engine = Arc::new(engine);
        Self {
            app: router(AppState::new(engine.clone()).unwrap()),
            engine,
            _dir: dir,
        }
    }

    /// Sends a request with the given headers and JSON body.
    pub(crate) async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// An anonymous JSON request.
    pub(crate) async fn anonymous(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let answer = self.send(method, uri, &[], body).await;
        (answer.status, answer.body)
    }

    /// Runs the first-run setup for the owner (once per console).
    pub(crate) async fn setup(&self) {
        let (status, body) = self
            .anonymous(
                "POST",
                "/console/api/setup",
                Some(json!({"email": OWNER_EMAIL, "name": "Owner", "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Signs in; panics unless it succeeds.
    pub(crate) async fn login(&self, email: &str, password: &str) -> Session {
        let answer = self
            .send(
                "POST",
                "/console/api/login",
                &[],
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        self.session_from(&answer.body, email).await
    }

    async fn session_from(&self, body: &Value, email: &str) -> Session {
        let data = &body["data"];
        let mut session = Session {
            access_token: data["access_token"].as_str().unwrap().to_string(),
            refresh_token: data["refresh_token"].as_str().unwrap().to_string(),
            csrf_token: data["csrf_token"].as_str().unwrap().to_string(),
            account_id: String::new(),
            email: email.to_string(),
            tenant_id: String::new(),
        };
        let (status, profile) = session
            .call(self, "GET", "/console/api/account/profile", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{profile}");
        session.account_id = profile["id"].as_str().unwrap().to_string();
        session.refresh_workspace(self).await;
        session
    }

    /// The first admin: sets up the console and signs in.
    pub(crate) async fn owner(&self) -> Session {
        if self.anonymous("GET", "/console/api/setup", None).await.1["step"] != "finished" {
            self.setup().await;
        }
        self.login(OWNER_EMAIL, PASSWORD).await
    }

    /// A new account invited by `by` with `role`, activated and signed in.
    pub(crate) async fn member(&self, by: &Session, role: Role) -> Session {
        let email = format!("{}-{}@example.com", role.as_str(), uuid::Uuid::new_v4().simple());
        let (status, body) = by
            .call(
                self,
                "POST",
                "/console/api/workspaces/current/members/invite-email",
                Some(json!({"emails": [email], "role": role.as_str()})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["invitation_results"][0]["token"]
            .as_str()
            .unwrap()
            .to_string();
        let answer = self
            .send(
                "POST",
                "/console/api/activate",
                &[],
                Some(json!({"token": token, "name": role.as_str(), "password": PASSWORD})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        self.session_from(&answer.body, &email).await
    }

    /// An account (invited by the owner, then) working in a workspace of its own.
    pub(crate) async fn other_workspace(&self) -> Session {
        let owner = self.owner().await;
        let mut other = self.member(&owner, Role::Normal).await;
        let (status, body) = other
            .call(
                self,
                "POST",
                "/console/api/workspaces",
                Some(json!({"name": "Other workspace"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        other.refresh_workspace(self).await;
        assert_ne!(other.tenant_id, owner.tenant_id);
        other
    }
}

impl Session {
    /// A JSON request with this session's bearer token.
    pub(crate) async fn call(
        &self,
        console: &Console,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {}", self.access_token);
        let answer = console.send(method, uri, &[("authorization", &auth)], body).await;
        (answer.status, answer.body)
    }

    /// A JSON request the way the browser sends it: cookies plus the CSRF header.
    pub(crate) async fn call_with_cookies(
        &self,
        console: &Console,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> Answer {
        let cookies = format!(
            "access_token={}; csrf_token={}",
            self.access_token, self.csrf_token
        );
        console
            .send(
                method,
                uri,
                &[("cookie", &cookies), ("x-csrf-token", &self.csrf_token)],
                body,
            )
            .await
    }

    /// Re-reads the current workspace.
    pub(crate) async fn refresh_workspace(&mut self, console: &Console) {
        let (status, body) = self
            .call(console, "POST", "/console/api/workspaces/current", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.tenant_id = body["id"].as_str().unwrap().to_string();
    }
}

impl Session {
    /// `POST /console/api/files/upload`: one multipart `file`, with `source` (e.g. `datasets`)
    /// as a form field when given.
    pub(crate) async fn upload(
        &self,
        console: &Console,
        name: &str,
        bytes: &[u8],
        source: Option<&str>,
    ) -> (StatusCode, Value) {
        self.multipart(console, &[(name, bytes)], source).await
    }

    /// `POST /console/api/files/upload` with any number of `file` parts (none, or several).
    pub(crate) async fn upload_parts(
        &self,
        console: &Console,
        files: &[(&str, &[u8])],
    ) -> (StatusCode, Value) {
        self.multipart(console, files, None).await
    }

    async fn multipart(
        &self,
        console: &Console,
        files: &[(&str, &[u8])],
        source: Option<&str>,
    ) -> (StatusCode, Value) {
        let boundary = "console-upload-boundary";
        let mut body = Vec::new();
        if let Some(source) = source {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\n{source}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = Request::builder()
            .method("POST")
            .uri("/console/api/files/upload")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.access_token))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        let response = console.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}
