//! Security of accounts and sessions (issue 19): invitations, role rules, dataset visibility
//! through apps, sign-in throttling, sessions and cookies, the setup token, the secret key and
//! the metrics endpoint. Each test is written from an attack and shows it no longer works.

use axum::http::StatusCode;
use ragd::store::Role;
use serde_json::{Value, json};

use crate::console_datasets::{create_dataset, uri};
use crate::console_support::{Console, PASSWORD, Session};
use crate::knowledge_api::assert_error;

const INVITE: &str = "/console/api/workspaces/current/members/invite-email";
const MEMBERS: &str = "/console/api/workspaces/current/members";

/// Invites `email` with `role` and returns its invitation result.
async fn invite(c: &Console, by: &Session, email: &str, role: &str) -> Value {
    let (status, body) = by
        .call(c, "POST", INVITE, Some(json!({"emails": [email], "role": role})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["invitation_results"][0].clone()
}

async fn activate(c: &Console, token: &str, password: &str) -> (StatusCode, Value) {
    c.anonymous(
        "POST",
        "/console/api/activate",
        Some(json!({"token": token, "name": "Someone", "password": password})),
    )
    .await
}

/// The addresses of a workspace's members, with their status.
async fn member_emails(c: &Console, owner: &Session) -> Vec<(String, String)> {
    let (status, body) = owner.call(c, "GET", MEMBERS, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// Hole 1: a member who re-invites a pending address into a workspace of their own must not get
// hold of the account's role in the first workspace.
#[tokio::test]
async fn an_invitation_from_another_workspace_cannot_take_over_a_pending_account() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let victim = "new.admin@example.com";
    let first = invite(&c, &owner, victim, "admin").await;
    let victim_token = first["token"].as_str().unwrap().to_string();

    // Mallory, a normal member, reads the pending address, makes a workspace and invites it.
    let mallory = c.other_workspace().await;
    let second = invite(&c, &mallory, victim, "normal").await;
    let mallory_password = "mallory-passw0rd";
    if let Some(token) = second["token"].as_str() {
        let (status, _) = activate(&c, token, mallory_password).await;
        if status == StatusCode::OK {
            // Whatever Mallory activated holds nothing in the owner's workspace.
            let taken = c.login(victim, mallory_password).await;
            let (_, list) = taken.call(&c, "GET", "/console/api/workspaces", None).await;
            let ids: Vec<&str> = list["workspaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["id"].as_str().unwrap())
                .collect();
            assert!(
                !ids.contains(&owner.tenant_id.as_str()),
                "Mallory's activation kept the admin role in the owner's workspace: {list}"
            );
            assert!(
                !member_emails(&c, &owner).await.iter().any(|(e, _)| e == victim),
                "the owner's workspace still lists the taken account"
            );
            // The owner's own invitation was voided by it: it neither checks nor activates.
            let (_, check) = c
                .anonymous(
                    "GET",
                    &format!("/console/api/activate/check?token={victim_token}"),
                    None,
                )
                .await;
            assert_eq!(check["is_valid"], false, "{check}");
            let (status, body) = activate(&c, &victim_token, PASSWORD).await;
            assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        }
    }
}

// Hole 1: a token kept from a second invitation must not sign in the account once it was
// activated through the first one (no password needed today).
#[tokio::test]
async fn a_kept_token_never_signs_in_an_active_account() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let email = "twice.invited@example.com";
    let first = invite(&c, &owner, email, "editor").await;
    let other = c.other_workspace().await;
    let second = invite(&c, &other, email, "normal").await;
    let first_token = first["token"].as_str().unwrap();
    let (status, body) = activate(&c, first_token, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    if let Some(kept) = second["token"].as_str() {
        let (status, body) = activate(&c, kept, "attacker-passw0rd").await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        assert!(body.get("data").is_none(), "no session for a kept token: {body}");
    }
    // The password set at activation is the one that works; the kept token changed nothing.
    c.login(email, PASSWORD).await;
    let (status, _) = c
        .anonymous(
            "POST",
            "/console/api/login",
            Some(json!({"email": email, "password": "attacker-passw0rd"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // And the activation kept only the invitation's own workspace.
    let emails: Vec<String> = member_emails(&c, &other)
        .await
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert!(!emails.contains(&email.to_string()), "{emails:?}");
}

// Hole 9: Dify's role rules: only the owner changes roles or removes members; app API keys
// are made and removed by admins and owners only.
#[tokio::test]
async fn only_the_owner_changes_roles_and_only_admins_make_app_keys() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let admin = c.member(&owner, Role::Admin).await;
    let editor = c.member(&owner, Role::Editor).await;
    let role_uri = format!("{MEMBERS}/{}/update-role", editor.account_id);
    let member_uri = format!("{MEMBERS}/{}", editor.account_id);

    let (status, body) = admin
        .call(&c, "PUT", &role_uri, Some(json!({"role": "admin"})))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = admin.call(&c, "DELETE", &member_uri, None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    // Admins still invite (Dify's "add" is owner or admin).
    let invited = invite(&c, &admin, "invited.by.admin@example.com", "normal").await;
    assert_eq!(invited["status"], "success", "{invited}");

    // Keys of an app: an editor makes the app but not its keys.
    let (status, app) = editor
        .call(
            &c,
            "POST",
            "/console/api/apps",
            Some(json!({"name": "Editor app", "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let keys = format!("/console/api/apps/{}/api-keys", app["id"].as_str().unwrap());
    let (status, body) = editor.call(&c, "POST", &keys, None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, key) = admin.call(&c, "POST", &keys, None).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key_uri = format!("{keys}/{}", key["id"].as_str().unwrap());
    let (status, body) = editor.call(&c, "DELETE", &key_uri, None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = editor.call(&c, "GET", &keys, None).await;
    assert_eq!(status, StatusCode::OK, "editors still see the key hints");

    // The owner does what the admin could not.
    let (status, body) = owner
        .call(&c, "PUT", &role_uri, Some(json!({"role": "normal"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = owner.call(&c, "DELETE", &member_uri, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = owner.call(&c, "DELETE", &key_uri, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

// Hole 6: an app must not reach a dataset its editor may not see, neither by binding it nor
// through the playground of an app someone else bound it to.
#[tokio::test]
async fn apps_only_bind_and_chat_with_datasets_their_editor_may_see() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let editor = c.member(&owner, Role::Editor).await;
    let private = create_dataset(&c, &owner, "owner only", "only_me").await;
    let shared = create_dataset(&c, &owner, "for the team", "all_team_members").await;
    let own = create_dataset(&c, &editor, "editor's own", "only_me").await;
    let (status, _) = editor
        .call(&c, "GET", &uri(&format!("/datasets/{private}")), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the console hides it");

    let bind = |ids: &[&str]| {
        let datasets: Vec<Value> = ids
            .iter()
            .map(|id| json!({"dataset": {"enabled": true, "id": id}}))
            .collect();
        json!({"dataset_configs": {"datasets": {"datasets": datasets}}})
    };
    let new_app = |s: Session, name: &'static str| {
        let c = &c;
        async move {
            let (status, app) = s
                .call(
                    c,
                    "POST",
                    "/console/api/apps",
                    Some(json!({"name": name, "mode": "chat"})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{app}");
            app["id"].as_str().unwrap().to_string()
        }
    };
    let editor_app = new_app(editor.clone(), "Editor app").await;
    let config = format!("/console/api/apps/{editor_app}/model-config");
    let (status, body) = editor
        .call(&c, "POST", &config, Some(bind(&[&shared, &private])))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (_, app) = editor
        .call(&c, "GET", &format!("/console/api/apps/{editor_app}"), None)
        .await;
    let bound = &app["model_config"]["dataset_configs"]["datasets"]["datasets"];
    assert!(
        bound.as_array().is_none_or(Vec::is_empty),
        "a refused config binds nothing: {bound}"
    );
    let (status, body) = editor
        .call(&c, "POST", &config, Some(bind(&[&shared, &own])))
        .await;
    assert_eq!(status, StatusCode::OK, "visible datasets bind: {body}");

    // The owner may bind the private dataset; the editor's playground then refuses the app.
    let owner_app = new_app(owner.clone(), "Owner app").await;
    let (status, body) = owner
        .call(
            &c,
            "POST",
            &format!("/console/api/apps/{owner_app}/model-config"),
            Some(bind(&[&private])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let question = json!({"inputs": {}, "query": "What is in it?", "response_mode": "blocking"});
    let chat = format!("/console/api/apps/{owner_app}/chat-messages");
    let (status, body) = editor.call(&c, "POST", &chat, Some(question.clone())).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner.call(&c, "POST", &chat, Some(question)).await;
    assert_eq!(status, StatusCode::OK, "the owner's playground works: {body}");
}

/// Applies the sections of a TOML snippet to a test config (the way an operator writes them).
fn with_toml(config: &mut ragd::config::Config, text: &str) {
    let parsed: ragd::config::Config = toml::from_str(text).expect("the config snippet parses");
    if text.contains("[server]") {
        let listen = config.server.listen;
        config.server = parsed.server;
        config.server.listen = listen;
    }
    if text.contains("[console]") {
        config.console = parsed.console;
    }
}

/// A sign-in as it reaches the server from `peer` (the TCP address), with extra headers.
async fn login_from(
    c: &Console,
    peer: Option<&str>,
    headers: &[(&str, &str)],
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder()
        .method("POST")
        .uri("/console/api/login")
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(peer) = peer {
        let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
        request = request.extension(axum::extract::ConnectInfo(addr));
    }
    let request = request
        .body(axum::body::Body::from(
            json!({"email": email, "password": password}).to_string(),
        ))
        .unwrap();
    let response = c.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

// Hole 7: password hashing is bounded; when every slot is busy, sign-in fails fast with 429
// instead of queueing Argon2 runs on the blocking pool.
#[tokio::test]
async fn password_hashing_is_bounded_and_sheds_load_with_429() {
    let c = Console::with_config(|config| {
        with_toml(
            config,
            "[console]\nlogin_hash_concurrency = 2\nlogin_max_failures = 1000\n",
        );
    })
    .await;
    c.setup().await;
    let attempts = (0..12).map(|_| login_from(&c, None, &[], crate::console_support::OWNER_EMAIL, PASSWORD));
    let answers = futures::future::join_all(attempts).await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let shed: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .map(|(_, b)| b)
        .collect();
    assert!(ok >= 1, "some sign-ins get through: {answers:?}");
    assert!(!shed.is_empty(), "a full hashing pool answers 429: {answers:?}");
    assert_eq!(ok + shed.len(), answers.len(), "{answers:?}");
    for body in shed {
        assert_error(
            StatusCode::TOO_MANY_REQUESTS,
            body,
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
        );
    }
}

// Hole 7: concurrent wrong passwords cannot all slip past the lockout (no read-then-write race).
#[tokio::test]
async fn failed_sign_ins_are_counted_atomically() {
    let c = Console::with_config(|config| config.console.login_max_failures = 3).await;
    c.setup().await;
    let attempts = (0..8).map(|_| {
        login_from(
            &c,
            None,
            &[],
            crate::console_support::OWNER_EMAIL,
            "wrong-passw0rd",
        )
    });
    let answers = futures::future::join_all(attempts).await;
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        checked <= 3,
        "{checked} passwords were tried although the limit is 3: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, _)| matches!(*s, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS)),
        "{answers:?}"
    );
    let (status, body) = login_from(&c, None, &[], crate::console_support::OWNER_EMAIL, PASSWORD).await;
    assert_error(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "email_code_login_limit",
    );
}

/// Rows of sign-in failure state in the console's SQLite database, whatever table holds them.
async fn failure_rows(c: &Console) -> i64 {
    use sqlx::{Connection, Row};
    let path = c.engine.config().data_dir.join("ragd.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut rows = 0;
    for table in ["login_failures", "login_throttle"] {
        let exists = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(table)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        if exists.is_some() {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            rows += row.get::<i64, _>("n");
        }
    }
    rows
}

// Hole 7: failures for addresses that have no account add no rows (they did, one per attempt,
// without bound); the lockout answers for them just as for a known address.
#[tokio::test]
async fn unknown_addresses_leave_no_rows_and_lock_alike() {
    let c = Console::with_config(|config| config.console.login_max_failures = 3).await;
    c.setup().await;
    for i in 0..10 {
        let (status, body) =
            login_from(&c, None, &[], &format!("nobody{i}@example.com"), "wrong-passw0rd").await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "authentication_failed");
    }
    assert_eq!(failure_rows(&c).await, 0, "unknown addresses must not add rows");
    for _ in 0..3 {
        let (status, _) = login_from(&c, None, &[], "ghost@example.com", "wrong-passw0rd").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_from(&c, None, &[], "ghost@example.com", "wrong-passw0rd").await;
    assert_error(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "email_code_login_limit",
    );
}

// Hole 7: one client cannot spray passwords over many addresses; X-Forwarded-For counts only
// when a configured proxy sends it.
#[tokio::test]
async fn sign_ins_are_throttled_per_client_address() {
    let c = Console::with_config(|config| {
        with_toml(
            config,
            "[server]\ntrusted_proxies = [\"10.0.0.1\"]\n[console]\nlogin_ip_max_failures = 4\n",
        );
    })
    .await;
    c.setup().await;
    let wrong = "wrong-passw0rd";
    // A direct client that forges X-Forwarded-For is still counted under its own address.
    for i in 0..4 {
        let forged = format!("203.0.113.{i}");
        let (status, _) = login_from(
            &c,
            Some("192.0.2.7"),
            &[("x-forwarded-for", &forged)],
            &format!("spray{i}@example.com"),
            wrong,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_from(
        &c,
        Some("192.0.2.7"),
        &[("x-forwarded-for", "203.0.113.99")],
        crate::console_support::OWNER_EMAIL,
        PASSWORD,
    )
    .await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    // Another client is not affected.
    let (status, _) = login_from(
        &c,
        Some("192.0.2.8"),
        &[],
        crate::console_support::OWNER_EMAIL,
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Behind the trusted proxy, the client is the address the proxy saw; a forged left part of
    // the header does not move the count elsewhere.
    for i in 0..4 {
        let (status, _) = login_from(
            &c,
            Some("10.0.0.1"),
            &[("x-forwarded-for", &format!("203.0.113.{i}, 198.51.100.1"))],
            &format!("proxied{i}@example.com"),
            wrong,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = login_from(
        &c,
        Some("10.0.0.1"),
        &[("x-forwarded-for", "198.51.100.1")],
        crate::console_support::OWNER_EMAIL,
        PASSWORD,
    )
    .await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let (status, _) = login_from(
        &c,
        Some("10.0.0.1"),
        &[("x-forwarded-for", "198.51.100.2")],
        crate::console_support::OWNER_EMAIL,
        PASSWORD,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "another client behind the same proxy signs in"
    );
}

/// A raw request: status, headers and body bytes.
async fn raw(
    c: &Console,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string())),
        None => request.body(axum::body::Body::empty()),
    }
    .unwrap();
    let response = c.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, headers, bytes.to_vec())
}

fn set_cookies(headers: &axum::http::HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The value of cookie `name` among Set-Cookie headers.
fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}

// Hole 9: signing out ends the access token too (not only the refresh token), for bearer
// clients and browsers alike, and a bearer client can revoke its refresh token.
#[tokio::test]
async fn signing_out_ends_the_access_token_and_the_refresh_token() {
    let c = Console::new().await;
    c.setup().await;
    // A bearer client signs out with its access token.
    let session = c.login(crate::console_support::OWNER_EMAIL, PASSWORD).await;
    let bearer = format!("Bearer {}", session.access_token);
    let (status, _, _) = raw(
        &c,
        "POST",
        "/console/api/logout",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = session
        .call(&c, "GET", "/console/api/account/profile", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the access token outlived sign-out: {body}"
    );
    let (status, _) = c
        .anonymous(
            "POST",
            "/console/api/refresh-token",
            Some(json!({"refresh_token": session.refresh_token})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session's refresh token went with it"
    );

    // A bearer client that holds only its refresh token revokes it in the body.
    let session = c.login(crate::console_support::OWNER_EMAIL, PASSWORD).await;
    let (status, _, _) = raw(
        &c,
        "POST",
        "/console/api/logout",
        &[],
        Some(json!({"refresh_token": session.refresh_token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .anonymous(
            "POST",
            "/console/api/refresh-token",
            Some(json!({"refresh_token": session.refresh_token})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked refresh token is refused"
    );
    let (status, _) = session
        .call(&c, "GET", "/console/api/account/profile", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "and so is its session's access token"
    );

    // A browser signs out with its cookies: the access cookie stops working even if kept.
    let session = c.login(crate::console_support::OWNER_EMAIL, PASSWORD).await;
    let cookie = format!(
        "access_token={}; refresh_token={}; csrf_token={}",
        session.access_token, session.refresh_token, session.csrf_token
    );
    let (status, _, _) = raw(&c, "POST", "/console/api/logout", &[("cookie", &cookie)], None).await;
    assert_eq!(status, StatusCode::OK);
    let answer = session
        .call_with_cookies(&c, "GET", "/console/api/account/profile", None)
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    // Other sessions of the account are not touched by one sign-out.
    let kept = c.login(crate::console_support::OWNER_EMAIL, PASSWORD).await;
    let other = c.login(crate::console_support::OWNER_EMAIL, PASSWORD).await;
    let bearer = format!("Bearer {}", other.access_token);
    raw(
        &c,
        "POST",
        "/console/api/logout",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    let (status, _) = kept.call(&c, "GET", "/console/api/account/profile", None).await;
    assert_eq!(status, StatusCode::OK);
}

// Hole 9: over https the session cookies are `Secure` and `__Host-`; plain http (local use, the
// browser tests) keeps plain cookies; X-Forwarded-Proto counts only from a trusted proxy.
#[tokio::test]
async fn cookies_are_secure_and_host_prefixed_when_served_over_https() {
    let login = json!({"email": crate::console_support::OWNER_EMAIL, "password": PASSWORD});
    let https = Console::with_config(|config| {
        with_toml(config, "[server]\npublic_url = \"https://kb.example.com\"\n");
    })
    .await;
    https.setup().await;
    let (status, headers, _) = raw(&https, "POST", "/console/api/login", &[], Some(login.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let cookies = set_cookies(&headers);
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(
            cookie.contains("Path=/") && !cookie.contains("Domain"),
            "{cookie}"
        );
    }
    // The browser sends them back under those names, and they work.
    let access = cookie_value(&cookies, "__Host-access_token").unwrap();
    let csrf = cookie_value(&cookies, "__Host-csrf_token").unwrap();
    let cookie = format!("__Host-access_token={access}; __Host-csrf_token={csrf}");
    let (status, _, _) = raw(
        &https,
        "GET",
        "/console/api/account/profile",
        &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, headers, _) = raw(
        &https,
        "POST",
        "/console/api/logout",
        &[("cookie", &cookie)],
        None,
    )
    .await;
    assert!(
        set_cookies(&headers)
            .iter()
            .all(|c| c.starts_with("__Host-") && c.contains("Max-Age=0")),
        "{:?}",
        set_cookies(&headers)
    );

    // Plain http: plain cookies, unless a trusted proxy says the client used https.
    let http = Console::with_config(|config| {
        with_toml(config, "[server]\ntrusted_proxies = [\"10.0.0.1\"]\n");
    })
    .await;
    http.setup().await;
    let (_, headers, _) = raw(&http, "POST", "/console/api/login", &[], Some(login.clone())).await;
    assert!(
        set_cookies(&headers)
            .iter()
            .all(|c| !c.starts_with("__Host-") && !c.contains("Secure")),
        "{:?}",
        set_cookies(&headers)
    );
    let proxied = |peer: &str| {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/console/api/login")
            .header("content-type", "application/json")
            .header("x-forwarded-proto", "https")
            .extension(axum::extract::ConnectInfo::<std::net::SocketAddr>(
                format!("{peer}:1234").parse().unwrap(),
            ))
            .body(axum::body::Body::from(login.to_string()))
            .unwrap();
        use tower::ServiceExt;
        http.app.clone().oneshot(request)
    };
    let from_proxy = proxied("10.0.0.1").await.unwrap();
    assert!(
        set_cookies(from_proxy.headers())
            .iter()
            .all(|c| c.starts_with("__Host-"))
    );
    let forged = proxied("192.0.2.9").await.unwrap();
    assert!(
        set_cookies(forged.headers())
            .iter()
            .all(|c| !c.starts_with("__Host-"))
    );
}

// Hole 9: with RAGD_INIT_PASSWORD (Dify's INIT_PASSWORD), setup needs the password first,
// validated through `/console/api/init`.
#[tokio::test]
async fn setup_needs_the_init_password_when_one_is_set() {
    let c = Console::with_config(|config| {
        with_toml(config, "[console]\ninit_password = \"let-me-in-42\"\n");
    })
    .await;
    let setup = json!({"email": crate::console_support::OWNER_EMAIL, "name": "Owner", "password": PASSWORD});
    let (status, body) = c
        .anonymous("POST", "/console/api/setup", Some(setup.clone()))
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "not_init_validated");
    let (status, body) = c.anonymous("GET", "/console/api/init", None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("not_started"))
    );
    let (status, body) = c
        .anonymous("POST", "/console/api/init", Some(json!({"password": "guess-1"})))
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "init_validate_failed");
    let (status, headers, _) = raw(
        &c,
        "POST",
        "/console/api/init",
        &[],
        Some(json!({"password": "let-me-in-42"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let cookies = set_cookies(&headers);
    let (name, value) = cookies[0].split(';').next().unwrap().split_once('=').unwrap();
    let cookie = format!("{name}={value}");
    let (status, _, body) = raw(
        &c,
        "POST",
        "/console/api/setup",
        &[("cookie", &cookie)],
        Some(setup),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let (_, body) = c.anonymous("GET", "/console/api/init", None).await;
    assert_eq!(body["status"], "finished");
}

// Hole 9: a secret key given by the operator must be at least 32 bytes; the server refuses to
// start with a shorter one.
#[tokio::test]
async fn a_short_secret_key_is_refused_at_startup() {
    let (engine, _dir) = crate::support::engine_with(|config| {
        config.secret_key = Some(ragd::config::Secret("too-short".into()));
    })
    .await;
    let refused = ragd::api::AppState::new(std::sync::Arc::new(engine));
    let error = refused.err().expect("a 9-byte secret key is refused");
    assert!(error.to_string().contains("32"), "{error}");
    let (engine, _dir) = crate::support::engine_with(|config| {
        config.secret_key = Some(ragd::config::Secret("k".repeat(32)));
    })
    .await;
    assert!(ragd::api::AppState::new(std::sync::Arc::new(engine)).is_ok());
}

// Hole 9: `/metrics` can be kept from the public: behind a bearer token, or on a listener of its
// own (then the API's listener does not serve it).
#[tokio::test]
async fn metrics_can_need_a_token_or_move_to_their_own_listener() {
    let c = Console::with_config(|config| {
        with_toml(config, "[server]\nmetrics_token = \"scrape-token-0123456789\"\n");
    })
    .await;
    let (status, _, body) = raw(&c, "GET", "/metrics", &[], None).await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, _, _) = raw(&c, "GET", "/metrics", &[("authorization", "Bearer wrong")], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = raw(
        &c,
        "GET",
        "/metrics",
        &[("authorization", "Bearer scrape-token-0123456789")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("ragd_http_requests"));

    let c = Console::with_config(|config| {
        with_toml(config, "[server]\nmetrics_listen = \"127.0.0.1:0\"\n");
    })
    .await;
    let (status, _, _) = raw(&c, "GET", "/metrics", &[], None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the API listener no longer serves metrics"
    );
    let metrics = ragd::api::metrics_router(ragd::api::AppState::new(c.engine.clone()).unwrap());
    use tower::ServiceExt;
    let response = metrics
        .oneshot(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

// Hole 9: a document name that looks like a path becomes a plain file name in a zip, so
// unpacking it cannot write outside the target directory.
#[tokio::test]
async fn zip_entries_are_plain_file_names() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let dataset = create_dataset(&c, &owner, "zips", "only_me").await;
    let (status, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let bearer = format!("Bearer {}", key["token"].as_str().unwrap());
    let mut ids = Vec::new();
    for name in [
        "../../../tmp/evil",
        "..\\..\\windows\\evil",
        "/etc/cron.d/evil",
        "..",
    ] {
        let (status, _, body) = raw(
            &c,
            "POST",
            &format!("/v1/datasets/{dataset}/document/create-by-text"),
            &[("authorization", &bearer)],
            Some(json!({"name": name, "text": "some text", "process_rule": {"mode": "automatic"}})),
        )
        .await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(body["document"]["id"].as_str().unwrap().to_string());
    }
    let (status, _, bytes) = raw(
        &c,
        "POST",
        &format!("/v1/datasets/{dataset}/documents/download-zip"),
        &[("authorization", &bearer)],
        Some(json!({"document_ids": ids})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names = Vec::new();
    for i in 0..archive.len() {
        names.push(archive.by_index(i).unwrap().name().to_string());
    }
    assert_eq!(names.len(), 4, "{names:?}");
    for name in &names {
        assert!(
            !name.contains('/') && !name.contains('\\') && name != ".." && name != "." && !name.is_empty(),
            "{names:?}"
        );
    }
}

/// A fresh PostgreSQL database for one test, or None when `RAGD_TEST_POSTGRES_URL` is unset.
async fn postgres_url() -> Option<String> {
    use sqlx::{Connection, Executor, PgConnection};
    let admin_url = std::env::var("RAGD_TEST_POSTGRES_URL").ok()?;
    let name = format!("ragd_security_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL answers");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}

// Hole 9: on PostgreSQL too, a refresh token rotates once however many requests race with it,
// and concurrent key creations cannot pass the per-app cap.
#[tokio::test]
async fn refresh_rotation_and_key_caps_hold_under_races_on_postgres() {
    let Some(url) = postgres_url().await else {
        eprintln!(
            "skipping refresh_rotation_and_key_caps_hold_under_races_on_postgres: set RAGD_TEST_POSTGRES_URL"
        );
        return;
    };
    let c = Console::with_config(|config| config.database_url = Some(url.clone())).await;
    let owner = c.owner().await;
    let refreshes = (0..12).map(|_| {
        c.anonymous(
            "POST",
            "/console/api/refresh-token",
            Some(json!({"refresh_token": owner.refresh_token})),
        )
    });
    let answers = futures::future::join_all(refreshes).await;
    let rotated = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(rotated, 1, "one refresh token, one new session: {answers:?}");

    let (status, app) = owner
        .call(
            &c,
            "POST",
            "/console/api/apps",
            Some(json!({"name": "Keys", "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let keys = format!("/console/api/apps/{}/api-keys", app["id"].as_str().unwrap());
    let creations = (0..16).map(|_| owner.call(&c, "POST", &keys, None));
    let answers = futures::future::join_all(creations).await;
    let created = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let (_, list) = owner.call(&c, "GET", &keys, None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), created);
    assert_eq!(created, 10, "the cap is 10: {answers:?}");
}
