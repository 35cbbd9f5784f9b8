//! Dify's dataset permissions: `only_me`, `all_team_members` and `partial_members` with its
//! member list, the dataset operator limited to the datasets it was given, and the service API's
//! list with `include_all` — one visibility rule for opening and listing.

use axum::http::StatusCode;
use ragd::store::Role;
use serde_json::{Value, json};

use crate::console_datasets::{create_dataset, uri};
use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;

fn members(ids: &[&str]) -> Value {
    Value::Array(
        ids.iter()
            .map(|id| json!({"user_id": id, "role": "normal"}))
            .collect(),
    )
}

async fn create_partial(c: &Console, s: &Session, name: &str, ids: &[&str]) -> Value {
    let (status, body) = s
        .call(
            c,
            "POST",
            &uri("/datasets"),
            Some(json!({"name": name, "permission": "partial_members", "partial_member_list": members(ids)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Names of the datasets a console list shows.
async fn listed(c: &Console, s: &Session, query: &str) -> Vec<String> {
    let (status, list) = s
        .call(c, "GET", &uri(&format!("/datasets?limit=100{query}")), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut names: Vec<String> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// An account that works only in a workspace of its own (invited, then removed from the owner's).
async fn stranger(c: &Console, owner: &Session) -> Session {
    let other = c.other_workspace().await;
    let (status, body) = owner
        .call(
            c,
            "DELETE",
            &uri(&format!("/workspaces/current/members/{}", other.account_id)),
            None,
        )
        .await;
    assert!(status.is_success(), "{body}");
    other
}

async fn status_of(c: &Console, s: &Session, dataset: &str) -> StatusCode {
    s.call(c, "GET", &uri(&format!("/datasets/{dataset}")), None)
        .await
        .0
}

#[tokio::test]
async fn partial_members_reach_a_dataset_and_no_one_else_does() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let author = c.member(&owner, Role::Editor).await;
    let listed_member = c.member(&owner, Role::Normal).await;
    let outsider = c.member(&owner, Role::Editor).await;

    let created = create_partial(&c, &author, "shared", &[&listed_member.account_id]).await;
    assert_eq!(created["permission"], "partial_members");
    assert_eq!(created["partial_member_list"], json!([listed_member.account_id]));
    let id = created["id"].as_str().unwrap().to_string();

    assert_eq!(status_of(&c, &listed_member, &id).await, StatusCode::OK);
    assert_eq!(status_of(&c, &author, &id).await, StatusCode::OK, "the creator");
    assert_eq!(
        status_of(&c, &owner, &id).await,
        StatusCode::OK,
        "the owner opens every dataset"
    );
    assert_eq!(status_of(&c, &outsider, &id).await, StatusCode::FORBIDDEN);
    assert_eq!(listed(&c, &listed_member, "").await, vec!["shared"]);
    assert!(listed(&c, &outsider, "").await.is_empty());
    // The owner's list without include_all is what a member would see (Dify).
    assert!(listed(&c, &owner, "").await.is_empty());
    assert_eq!(listed(&c, &owner, "&include_all=true").await, vec!["shared"]);
    let (status, hit) = outsider
        .call(
            &c,
            "POST",
            &uri(&format!("/datasets/{id}/hit-testing")),
            Some(json!({"query": "q"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{hit}");

    let part_users = uri(&format!("/datasets/{id}/permission-part-users"));
    let (status, users) = author.call(&c, "GET", &part_users, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users, json!({"data": [listed_member.account_id]}));
    let (status, _) = outsider.call(&c, "GET", &part_users, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad lists are refused and change nothing: not a list, not a member id, someone of another
    // workspace.
    let other = stranger(&c, &owner).await;
    for list in [
        json!("nope"),
        json!([{"id": outsider.account_id}]),
        json!([{"user_id": "not-a-uuid"}]),
        json!([{"user_id": uuid::Uuid::new_v4().to_string()}]),
        members(&[&outsider.account_id, &other.account_id]),
    ] {
        let (status, body) = author
            .call(
                &c,
                "PATCH",
                &uri(&format!("/datasets/{id}")),
                Some(
                    json!({"permission": "partial_members", "partial_member_list": list, "name": "renamed"}),
                ),
            )
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (_, users) = author.call(&c, "GET", &part_users, None).await;
    assert_eq!(users, json!({"data": [listed_member.account_id]}));
    let (_, detail) = author
        .call(&c, "GET", &uri(&format!("/datasets/{id}")), None)
        .await;
    assert_eq!(detail["name"], "shared", "a refused change changes nothing");

    // The list is replaced as a whole.
    let (status, body) = author
        .call(
            &c,
            "PATCH",
            &uri(&format!("/datasets/{id}")),
            Some(json!({"permission": "partial_members", "partial_member_list": members(&[&outsider.account_id])})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["partial_member_list"], json!([outsider.account_id]));
    assert_eq!(status_of(&c, &outsider, &id).await, StatusCode::OK);
    assert_eq!(status_of(&c, &listed_member, &id).await, StatusCode::FORBIDDEN);

    // Another permission clears the list.
    let (status, body) = author
        .call(
            &c,
            "PATCH",
            &uri(&format!("/datasets/{id}")),
            Some(json!({"permission": "only_me"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["partial_member_list"], json!([]));
    let (_, users) = author.call(&c, "GET", &part_users, None).await;
    assert_eq!(users, json!({"data": []}));
    assert_eq!(status_of(&c, &outsider, &id).await, StatusCode::FORBIDDEN);

    // A member removed from the workspace leaves every list.
    let (status, body) = author
        .call(
            &c,
            "PATCH",
            &uri(&format!("/datasets/{id}")),
            Some(json!({"permission": "partial_members", "partial_member_list": members(&[&outsider.account_id])})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = owner
        .call(
            &c,
            "DELETE",
            &uri(&format!("/workspaces/current/members/{}", outsider.account_id)),
            None,
        )
        .await;
    assert!(status.is_success());
    let (_, users) = author.call(&c, "GET", &part_users, None).await;
    assert_eq!(users, json!({"data": []}));
}

#[tokio::test]
async fn a_dataset_operator_reaches_only_the_datasets_it_was_given() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let operator = c.member(&owner, Role::DatasetOperator).await;
    let team = create_dataset(&c, &owner, "team", "all_team_members").await;
    let given = create_partial(&c, &owner, "given", &[&operator.account_id]).await;
    let given = given["id"].as_str().unwrap().to_string();

    assert_eq!(listed(&c, &operator, "").await, vec!["given"]);
    assert_eq!(status_of(&c, &operator, &given).await, StatusCode::OK);
    assert_eq!(status_of(&c, &operator, &team).await, StatusCode::FORBIDDEN);

    // It changes the dataset, not who may see it (Dify's DatasetPermissionService).
    let path = uri(&format!("/datasets/{given}"));
    let (status, body) = operator
        .call(
            &c,
            "PATCH",
            &path,
            Some(json!({"permission": "all_team_members"})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = operator
        .call(
            &c,
            "PATCH",
            &path,
            Some(json!({"permission": "partial_members", "partial_member_list": members(&[&owner.account_id])})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = operator
        .call(&c, "PATCH", &path, Some(json!({"permission": "partial_members"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, body) = operator
        .call(
            &c,
            "PATCH",
            &path,
            Some(json!({"permission": "partial_members", "partial_member_list": members(&[&operator.account_id]),
                "description": "kept"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["description"], "kept");
    assert_eq!(body["permission"], "partial_members");

    // Its own datasets are its own.
    let own = create_dataset(&c, &operator, "own", "only_me").await;
    assert_eq!(status_of(&c, &operator, &own).await, StatusCode::OK);
    assert_eq!(listed(&c, &operator, "").await, vec!["given", "own"]);
}

#[tokio::test]
async fn the_service_api_lists_what_the_owner_would_see_unless_include_all() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let editor = c.member(&owner, Role::Editor).await;
    create_dataset(&c, &owner, "owner-private", "only_me").await;
    create_dataset(&c, &owner, "team", "all_team_members").await;
    create_dataset(&c, &editor, "editor-private", "only_me").await;
    create_partial(&c, &editor, "editor-shared-with-owner", &[&owner.account_id]).await;
    create_partial(&c, &editor, "editor-partial", &[&editor.account_id]).await;
    let (status, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let service = Session {
        access_token: key["token"].as_str().unwrap().to_string(),
        ..owner.clone()
    };
    let names = |list: &Value| {
        let mut names: Vec<String> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let (status, list) = service.call(&c, "GET", "/v1/datasets?limit=100", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        names(&list),
        vec!["editor-shared-with-owner", "owner-private", "team"]
    );
    assert_eq!(list["total"], 3);
    let (_, list) = service
        .call(&c, "GET", "/v1/datasets?limit=100&include_all=true", None)
        .await;
    assert_eq!(list["total"], 5, "{list}");
    let (status, body) = service
        .call(&c, "GET", "/v1/datasets?include_all=maybe", None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");

    // Created through the service API with a member list.
    let (status, created) = service
        .call(
            &c,
            "POST",
            "/v1/datasets",
            Some(json!({"name": "via-key", "permission": "partial_members",
                "partial_member_list": members(&[&editor.account_id])})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["partial_member_list"], json!([editor.account_id]));
    let other = stranger(&c, &owner).await;
    let (status, body) = service
        .call(
            &c,
            "POST",
            "/v1/datasets",
            Some(json!({"name": "refused", "permission": "partial_members",
                "partial_member_list": members(&[&other.account_id])})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let (_, list) = service
        .call(&c, "GET", "/v1/datasets?limit=100&include_all=true", None)
        .await;
    assert_eq!(list["total"], 6, "nothing made by the refused request: {list}");
    assert_eq!(
        status_of(&c, &editor, created["id"].as_str().unwrap()).await,
        StatusCode::OK
    );
}
