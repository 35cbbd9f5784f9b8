//! The console's accounts, sessions, workspaces, members and model settings through HTTP.

use axum::http::StatusCode;
use ragd::store::Role;
use serde_json::json;

use crate::console_support::{Console, OWNER_EMAIL, PASSWORD};
use crate::knowledge_api::assert_error;

#[tokio::test]
async fn setup_happens_once_and_login_waits_for_it() {
    let console = Console::new().await;
    let (status, body) = console.anonymous("GET", "/console/api/setup", None).await;
    assert_eq!(
        (status, body["step"].as_str()),
        (StatusCode::OK, Some("not_started"))
    );
    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/login",
            Some(json!({"email": OWNER_EMAIL, "password": PASSWORD})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "not_setup");

    // Bad input is refused and sets nothing up.
    for bad in [
        json!({"email": "not-an-email", "name": "Owner", "password": PASSWORD}),
        json!({"email": OWNER_EMAIL, "name": "Owner", "password": "short1"}),
        json!({"email": OWNER_EMAIL, "name": "Owner", "password": "lettersonly"}),
        json!({"email": OWNER_EMAIL, "name": "", "password": PASSWORD}),
        json!({"email": OWNER_EMAIL, "name": "x".repeat(31), "password": PASSWORD}),
        json!({"email": OWNER_EMAIL, "password": PASSWORD}),
    ] {
        let (status, body) = console.anonymous("POST", "/console/api/setup", Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    assert_eq!(
        console.anonymous("GET", "/console/api/setup", None).await.1["step"],
        "not_started"
    );

    console.setup().await;
    let (_, body) = console.anonymous("GET", "/console/api/setup", None).await;
    assert_eq!(body["step"], "finished");
    assert!(
        body["setup_at"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{body}"
    );
    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/setup",
            Some(json!({"email": "intruder@example.com", "name": "Eve", "password": PASSWORD})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "already_setup");
    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/login",
            Some(json!({"email": "intruder@example.com", "password": PASSWORD})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "authentication_failed");

    // The owner works in the default workspace, where pre-setup data (ragd ingest) lives.
    let owner = console.login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(owner.tenant_id, ragd::store::DEFAULT_TENANT);
    let (_, body) = owner
        .call(&console, "POST", "/console/api/workspaces/current", None)
        .await;
    assert_eq!(
        (body["role"].as_str(), body["name"].as_str()),
        (Some("owner"), Some("Owner's Workspace"))
    );
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_address() {
    let console = Console::with_config(|c| c.console.login_max_failures = 3).await;
    console.setup().await;
    // Addresses are matched case-insensitively, for sign-in and for the lockout.
    console.login("Owner@Example.com", PASSWORD).await;
    for _ in 0..3 {
        let (status, body) = console
            .anonymous(
                "POST",
                "/console/api/login",
                Some(json!({"email": OWNER_EMAIL, "password": "wrong-pass1"})),
            )
            .await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "authentication_failed");
        assert_eq!(body["message"], "Invalid email or password.");
    }
    // Locked: even the right password is refused now.
    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/login",
            Some(json!({"email": "OWNER@example.com", "password": PASSWORD})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "email_code_login_limit",
    );
    // Other addresses are not locked by it.
    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/login",
            Some(json!({"email": "other@example.com", "password": "x"})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "authentication_failed");
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_and_bearer_sessions_do_not() {
    let console = Console::new().await;
    console.setup().await;
    let answer = console
        .send(
            "POST",
            "/console/api/login",
            &[],
            Some(json!({"email": OWNER_EMAIL, "password": PASSWORD})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["result"], "success");
    let cookies: Vec<&str> = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let find = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .copied()
            .unwrap()
    };
    assert!(find("access_token").contains("HttpOnly"));
    assert!(find("refresh_token").contains("HttpOnly"));
    assert!(
        !find("csrf_token").contains("HttpOnly"),
        "the page's script reads it"
    );

    let owner = console.login(OWNER_EMAIL, PASSWORD).await;
    let answer = owner
        .call_with_cookies(&console, "GET", "/console/api/account/profile", None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["email"], OWNER_EMAIL);

    // Cookie without the header, with a header that differs, or with another user's token: 401.
    let access = format!(
        "access_token={}; csrf_token={}",
        owner.access_token, owner.csrf_token
    );
    let answer = console
        .send(
            "GET",
            "/console/api/account/profile",
            &[("cookie", &access)],
            None,
        )
        .await;
    assert_error(
        answer.status,
        &answer.body,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let answer = console
        .send(
            "GET",
            "/console/api/account/profile",
            &[("cookie", &access), ("x-csrf-token", "forged")],
            None,
        )
        .await;
    assert_error(
        answer.status,
        &answer.body,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let editor = console.member(&owner, Role::Editor).await;
    let mixed = format!(
        "access_token={}; csrf_token={}",
        owner.access_token, editor.csrf_token
    );
    let answer = console
        .send(
            "GET",
            "/console/api/account/profile",
            &[("cookie", &mixed), ("x-csrf-token", &editor.csrf_token)],
            None,
        )
        .await;
    assert_error(
        answer.status,
        &answer.body,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );

    // No credentials, garbage, and a token signed by another server's key.
    let (status, body) = console
        .anonymous("GET", "/console/api/account/profile", None)
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let answer = console
        .send(
            "GET",
            "/console/api/account/profile",
            &[("authorization", "Bearer nonsense")],
            None,
        )
        .await;
    assert_error(
        answer.status,
        &answer.body,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let foreign = ragd::api::console::passport::Passport::new(b"another server").issue_access(
        &owner.account_id,
        0,
        "no-session",
        ragd::store::now(),
        3600,
    );
    let answer = console
        .send(
            "GET",
            "/console/api/account/profile",
            &[("authorization", &format!("Bearer {foreign}"))],
            None,
        )
        .await;
    assert_error(
        answer.status,
        &answer.body,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn expired_access_tokens_are_refused_and_refresh_tokens_work_once() {
    let console = Console::with_config(|c| c.console.access_token_minutes = 0).await;
    console.setup().await;
    let answer = console
        .send(
            "POST",
            "/console/api/login",
            &[],
            Some(json!({"email": OWNER_EMAIL, "password": PASSWORD})),
        )
        .await;
    let access = answer.body["data"]["access_token"].as_str().unwrap().to_string();
    let refresh = answer.body["data"]["refresh_token"].as_str().unwrap().to_string();
    let answer = console
        .send(
            "GET",
            "/console/api/account/profile",
            &[("authorization", &format!("Bearer {access}"))],
            None,
        )
        .await;
    assert_error(
        answer.status,
        &answer.body,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );

    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/refresh-token",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let renewed = body["data"]["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(renewed, refresh);
    // Used once: a replay is refused.
    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/refresh-token",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    // The cookie form works too, and logout revokes it.
    let cookie = format!("refresh_token={renewed}");
    let answer = console
        .send("POST", "/console/api/logout", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("access_token=;")),
        "logout clears the cookies"
    );
    let answer = console
        .send("POST", "/console/api/refresh-token", &[("cookie", &cookie)], None)
        .await;
    assert_error(
        answer.status,
        &answer.body,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn profile_and_password_changes() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/account/name",
            Some(json!({"name": "Ada Lovelace"})),
        )
        .await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("Ada Lovelace"))
    );
    for (path, bad) in [
        ("name", json!({"name": "x".repeat(31)})),
        ("interface-theme", json!({"interface_theme": "neon"})),
        ("interface-language", json!({"interface_language": "xx-XX"})),
        ("timezone", json!({"timezone": "Not a zone!"})),
    ] {
        let (status, body) = owner
            .call(
                &console,
                "POST",
                &format!("/console/api/account/{path}"),
                Some(bad),
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/account/interface-theme",
            Some(json!({"interface_theme": "dark"})),
        )
        .await;
    assert_eq!(
        (status, body["interface_theme"].as_str()),
        (StatusCode::OK, Some("dark"))
    );
    let (_, profile) = owner
        .call(&console, "GET", "/console/api/account/profile", None)
        .await;
    assert_eq!(profile["name"], "Ada Lovelace");
    assert_eq!(profile["is_password_set"], true);
    assert!(profile.get("password_hash").is_none());

    let change = |current: &str, new: &str, repeat: &str| json!({"password": current, "new_password": new, "repeat_new_password": repeat});
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/account/password",
            Some(change("wrong-pass1", "n3w-password", "n3w-password")),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "current_password_incorrect",
    );
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/account/password",
            Some(change(PASSWORD, "n3w-password", "other-pass1")),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "repeat_password_not_match",
    );
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/account/password",
            Some(change(PASSWORD, "weak", "weak")),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    // Nothing changed so far: the old password still signs in.
    let second = console.login(OWNER_EMAIL, PASSWORD).await;
    let (status, _) = owner
        .call(
            &console,
            "POST",
            "/console/api/account/password",
            Some(change(PASSWORD, "n3w-password", "n3w-password")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Every earlier session ends; the new password signs in, the old one does not.
    for session in [&owner, &second] {
        let (status, body) = session
            .call(&console, "GET", "/console/api/account/profile", None)
            .await;
        assert_error(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let (status, _) = console
        .anonymous(
            "POST",
            "/console/api/refresh-token",
            Some(json!({"refresh_token": second.refresh_token})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = console
        .anonymous(
            "POST",
            "/console/api/login",
            Some(json!({"email": OWNER_EMAIL, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    console.login(OWNER_EMAIL, "n3w-password").await;
}

#[tokio::test]
async fn members_are_invited_by_admins_and_re_roled_and_removed_by_the_owner_only() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let invite = |role: &str, email: &str| json!({"emails": [email], "role": role});
    let path = "/console/api/workspaces/current/members/invite-email";

    for bad in [
        invite("owner", "a@example.com"),
        invite("root", "a@example.com"),
        invite("editor", "nope"),
    ] {
        let (status, body) = owner.call(&console, "POST", path, Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, body) = owner
        .call(
            &console,
            "POST",
            path,
            Some(json!({"emails": ["ok@example.com", "bad"], "role": "editor"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (_, members) = owner
        .call(&console, "GET", "/console/api/workspaces/current/members", None)
        .await;
    assert_eq!(
        members["accounts"].as_array().unwrap().len(),
        1,
        "a refused batch invites nobody: {members}"
    );

    let (status, body) = owner
        .call(&console, "POST", path, Some(invite("editor", "Ed@Example.com")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result = &body["invitation_results"][0];
    assert_eq!(result["status"], "success");
    let token = result["token"].as_str().unwrap();
    assert!(result["url"].as_str().unwrap().contains("/activate?"), "{result}");
    let (_, check) = console
        .anonymous(
            "GET",
            &format!("/console/api/activate/check?token={token}&email=ed%40example.com"),
            None,
        )
        .await;
    assert_eq!(check["is_valid"], true, "{check}");
    assert_eq!(check["data"]["workspace_id"], owner.tenant_id);
    let (_, check) = console
        .anonymous("GET", "/console/api/activate/check?token=forged", None)
        .await;
    assert_eq!(check["is_valid"], false);

    // A pending account cannot sign in; inviting it again fails for that address only.
    let (status, _) = console
        .anonymous(
            "POST",
            "/console/api/login",
            Some(json!({"email": "ed@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, body) = owner
        .call(&console, "POST", path, Some(invite("normal", "ed@example.com")))
        .await;
    assert_eq!(body["invitation_results"][0]["status"], "failed", "{body}");

    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/activate",
            Some(json!({"token": token, "name": "Ed", "password": "weak"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, body) = console
        .anonymous(
            "POST",
            "/console/api/activate",
            Some(json!({"token": token, "name": "Ed", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = console
        .anonymous(
            "POST",
            "/console/api/activate",
            Some(json!({"token": token, "name": "Ed", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an invitation works once");
    let editor = console.login("ed@example.com", PASSWORD).await;
    assert_eq!(
        (editor.email.as_str(), editor.tenant_id.as_str()),
        ("ed@example.com", owner.tenant_id.as_str())
    );

    // Editors may not manage members.
    let (status, body) = editor
        .call(&console, "POST", path, Some(invite("normal", "x@example.com")))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let owner_role = format!(
        "/console/api/workspaces/current/members/{}/update-role",
        owner.account_id
    );
    let (status, body) = editor
        .call(&console, "PUT", &owner_role, Some(json!({"role": "normal"})))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");

    // Admins invite but do not re-role (Dify: only the owner does); the owner never re-roles
    // themselves.
    let admin = console.member(&owner, Role::Admin).await;
    let (status, body) = admin
        .call(&console, "PUT", &owner_role, Some(json!({"role": "normal"})))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner
        .call(&console, "PUT", &owner_role, Some(json!({"role": "editor"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "cannot_operate_self");
    let editor_role = format!(
        "/console/api/workspaces/current/members/{}/update-role",
        editor.account_id
    );
    let (status, body) = admin
        .call(&console, "PUT", &editor_role, Some(json!({"role": "normal"})))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner
        .call(&console, "PUT", &editor_role, Some(json!({"role": "owner"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let stranger = format!(
        "/console/api/workspaces/current/members/{}/update-role",
        uuid::Uuid::new_v4()
    );
    let (status, body) = owner
        .call(&console, "PUT", &stranger, Some(json!({"role": "normal"})))
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, _) = owner
        .call(
            &console,
            "PUT",
            &editor_role,
            Some(json!({"role": "dataset_operator"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = editor
        .call(&console, "POST", "/console/api/workspaces/current", None)
        .await;
    assert_eq!(body["role"], "dataset_operator");

    let (_, members) = owner
        .call(&console, "GET", "/console/api/workspaces/current/members", None)
        .await;
    let accounts = members["accounts"].as_array().unwrap();
    assert_eq!(accounts[0]["role"], "owner", "owner first: {members}");
    // Members who joined in the same second have no order between them.
    let mut roles: Vec<&str> = accounts.iter().map(|a| a["role"].as_str().unwrap()).collect();
    roles[1..].sort_unstable();
    assert_eq!(roles, ["owner", "admin", "dataset_operator"]);
    assert!(accounts.iter().all(|a| a["status"] == "active"));

    // Removal: the removed account belongs to no workspace any more and is refused.
    let remove = format!("/console/api/workspaces/current/members/{}", editor.account_id);
    let (status, body) = editor
        .call(
            &console,
            "DELETE",
            &format!("/console/api/workspaces/current/members/{}", admin.account_id),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = admin.call(&console, "DELETE", &remove, None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner.call(&console, "DELETE", &remove, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = editor
        .call(&console, "POST", "/console/api/workspaces/current", None)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner.call(&console, "DELETE", &remove, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn workspaces_are_created_listed_and_switched_between_members_only() {
    let console = Console::new().await;
    let owner = console.owner().await;
    let other = console.other_workspace().await;
    let (_, body) = other.call(&console, "GET", "/console/api/workspaces", None).await;
    let workspaces = body["workspaces"].as_array().unwrap();
    assert_eq!(workspaces.len(), 2, "{body}");
    let current: Vec<_> = workspaces.iter().filter(|w| w["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], other.tenant_id);
    let (_, body) = other
        .call(&console, "POST", "/console/api/workspaces/current", None)
        .await;
    assert_eq!(body["role"], "owner");

    // The owner of the first workspace cannot switch into the second one.
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/workspaces/switch",
            Some(json!({"tenant_id": other.tenant_id})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (_, body) = owner
        .call(&console, "POST", "/console/api/workspaces/current", None)
        .await;
    assert_eq!(body["id"], owner.tenant_id);
    // Its own members list does not show the other workspace's owner as owner.
    let (_, members) = other
        .call(&console, "GET", "/console/api/workspaces/current/members", None)
        .await;
    assert_eq!(members["accounts"].as_array().unwrap().len(), 1);

    // Switching back works for a member; renaming needs admin rights there.
    let (status, body) = other
        .call(
            &console,
            "POST",
            "/console/api/workspaces/switch",
            Some(json!({"tenant_id": owner.tenant_id})),
        )
        .await;
    assert_eq!(
        (status, body["new_tenant"]["role"].as_str()),
        (StatusCode::OK, Some("normal")),
        "{body}"
    );
    let (status, body) = other
        .call(
            &console,
            "POST",
            "/console/api/workspaces/info",
            Some(json!({"name": "Mine now"})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/workspaces/info",
            Some(json!({"name": "  "})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, body) = owner
        .call(
            &console,
            "POST",
            "/console/api/workspaces/info",
            Some(json!({"name": "Research"})),
        )
        .await;
    assert_eq!(
        (status, body["tenant"]["name"].as_str()),
        (StatusCode::OK, Some("Research"))
    );

    let closed = Console::with_config(|c| c.console.allow_workspace_creation = false).await;
    let owner = closed.owner().await;
    let (status, body) = owner
        .call(
            &closed,
            "POST",
            "/console/api/workspaces",
            Some(json!({"name": "More"})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn model_settings_seal_the_provider_key_and_only_admins_change_them() {
    // The model URLs below are on loopback, which only an operator's allow-list opens.
    let console =
        Console::with_config(|config| config.security.outbound_allow = vec!["127.0.0.1".parse().unwrap()])
            .await;
    let owner = console.owner().await;
    let path = "/console/api/workspaces/current/model-settings";
    let (status, body) = owner.call(&console, "GET", path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["llm"]["source"], "extractive");
    let embedding = body["embedding"]["model"].as_str().unwrap().to_string();
    assert_eq!(body["embedding"]["available"][0], embedding.as_str());

    let llm = json!({"llm": {
        "base_url": "http://127.0.0.1:9/v1/",
        "model": "qwen2.5-7b-instruct",
        "api_key": "sk-test-0123456789abcdef",
        "parameters": {"temperature": 0.2, "max_tokens": 512},
        "context_window": 8192,
    }});
    let editor = console.member(&owner, Role::Editor).await;
    let (status, body) = editor.call(&console, "POST", path, Some(llm.clone())).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");

    for bad in [
        json!({"llm": {"base_url": "ftp://x", "model": "m"}}),
        json!({"llm": {"base_url": "http://127.0.0.1:9/v1", "model": ""}}),
        json!({"llm": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "parameters": {"temperature": 9}}}),
        json!({"llm": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "parameters": {"seed_of_doom": 1}}}),
        json!({"llm": {"base_url": "http://127.0.0.1:9/v1", "model": "m", "context_window": 10}}),
        json!({"embedding_model": "text-embedding-3-large"}),
        json!({"rerank": {"provider": "cohere", "model": "rerank-v3"}}),
        json!({"unknown": true}),
    ] {
        let (status, body) = owner.call(&console, "POST", path, Some(bad.clone())).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (_, body) = owner.call(&console, "GET", path, None).await;
    assert_eq!(
        body["llm"]["source"], "extractive",
        "refused changes change nothing"
    );

    let (status, body) = owner.call(&console, "POST", path, Some(llm)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["llm"]["source"], "workspace");
    assert_eq!(body["llm"]["base_url"], "http://127.0.0.1:9/v1");
    assert_eq!(body["llm"]["api_key"], "sk-********cdef");
    assert!(!body.to_string().contains("0123456789abcdef"), "{body}");

    // At rest the key is sealed; the apps get it decrypted.
    let stored = console
        .engine
        .store()
        .model_settings(&owner.tenant_id)
        .await
        .unwrap();
    let sealed = stored.llm_api_key_sealed.unwrap();
    assert!(!sealed.contains("sk-test"));
    let state = ragd::api::AppState::new(console.engine.clone()).unwrap();
    let provider = ragd::api::console::model_settings::llm_provider(&state, &owner.tenant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(provider.api_key.as_deref(), Some("sk-test-0123456789abcdef"));
    assert_eq!(
        (provider.model.as_str(), provider.context_window),
        ("qwen2.5-7b-instruct", Some(8192))
    );
    assert_eq!(provider.parameters["temperature"], 0.2);
    assert!(
        !format!("{provider:?}").contains("0123456789abcdef"),
        "Debug hides the key"
    );

    // Leaving the key out keeps it; the other workspace sees none of it.
    let (_, body) = owner
        .call(
            &console,
            "POST",
            path,
            Some(json!({"llm": {"base_url": "http://127.0.0.1:9/v1", "model": "other"}})),
        )
        .await;
    assert_eq!(
        (
            body["llm"]["model"].as_str(),
            body["llm"]["api_key_set"].as_bool()
        ),
        (Some("other"), Some(true))
    );
    let other = console.other_workspace().await;
    let (_, body) = other.call(&console, "GET", path, None).await;
    assert_eq!(body["llm"]["source"], "extractive");
    assert!(
        ragd::api::console::model_settings::llm_provider(&state, &other.tenant_id)
            .await
            .unwrap()
            .is_none()
    );

    let (_, models) = owner
        .call(
            &console,
            "GET",
            "/console/api/workspaces/current/models/model-types/llm",
            None,
        )
        .await;
    assert_eq!(models["data"][0]["models"][0]["model"], "other", "{models}");
    let (_, models) = owner
        .call(
            &console,
            "GET",
            "/console/api/workspaces/current/models/model-types/text-embedding",
            None,
        )
        .await;
    assert_eq!(models["data"][0]["models"][0]["model"], embedding.as_str());
    let (_, default) = owner
        .call(
            &console,
            "GET",
            "/console/api/workspaces/current/default-model?model_type=llm",
            None,
        )
        .await;
    assert_eq!(default["data"]["model"], "other");
    let (status, body) = owner
        .call(
            &console,
            "GET",
            "/console/api/workspaces/current/default-model?model_type=vision",
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    // null clears.
    let (_, body) = owner
        .call(&console, "POST", path, Some(json!({"llm": null})))
        .await;
    assert_eq!(body["llm"]["source"], "extractive");
    assert!(
        console
            .engine
            .store()
            .model_settings(&owner.tenant_id)
            .await
            .unwrap()
            .llm_api_key_sealed
            .is_none()
    );
}
