//! Tags in the console (Dify's `console/tag/tags.py`): knowledge and app tags, bindings to
//! datasets and apps, tags on their views, lists filtered by `tag_ids`, one store shared with
//! the knowledge API's dataset tags, and workspaces that never see each other's tags.

use axum::http::StatusCode;
use ragd::store::Role;
use serde_json::{Value, json};

use crate::console_datasets::{create_dataset, uri};
use crate::console_support::{Console, Session};
use crate::knowledge_api::assert_error;

async fn create_tag(c: &Console, s: &Session, name: &str, kind: &str) -> String {
    let (status, tag) = s
        .call(
            c,
            "POST",
            &uri("/tags"),
            Some(json!({"name": name, "type": kind})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tag}");
    assert_eq!(tag["type"], kind);
    assert_eq!(tag["binding_count"], "0");
    tag["id"].as_str().unwrap().to_string()
}

async fn create_app(c: &Console, s: &Session, name: &str) -> String {
    let (status, app) = s
        .call(
            c,
            "POST",
            &uri("/apps"),
            Some(json!({"name": name, "mode": "chat"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    app["id"].as_str().unwrap().to_string()
}

async fn tags(c: &Console, s: &Session, query: &str) -> Value {
    let (status, tags) = s.call(c, "GET", &uri(&format!("/tags{query}")), None).await;
    assert_eq!(status, StatusCode::OK, "{tags}");
    tags
}

fn names(list: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    names
}

async fn bind(c: &Console, s: &Session, tag_ids: &[&str], target: &str, kind: &str) -> (StatusCode, Value) {
    s.call(
        c,
        "POST",
        &uri("/tag-bindings/create"),
        Some(json!({"tag_ids": tag_ids, "target_id": target, "type": kind})),
    )
    .await
}

#[tokio::test]
async fn tags_are_made_bound_shown_and_filtered_through_the_console() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let green = create_tag(&c, &owner, "green", "knowledge").await;
    let black = create_tag(&c, &owner, "black", "knowledge").await;
    let support = create_tag(&c, &owner, "support", "app").await;
    assert_eq!(
        names(&tags(&c, &owner, "?type=knowledge").await),
        vec!["black", "green"]
    );
    assert_eq!(names(&tags(&c, &owner, "?type=app").await), vec!["support"]);
    assert_eq!(
        names(&tags(&c, &owner, "?type=knowledge&keyword=GRE").await),
        vec!["green"]
    );
    assert_eq!(tags(&c, &owner, "").await, json!([]), "no type, no tags (Dify)");

    // Bad input: 400, nothing made.
    for body in [
        json!({"name": "", "type": "knowledge"}),
        json!({"name": "x".repeat(51), "type": "knowledge"}),
        json!({"name": "ok", "type": "workflow"}),
        json!({"name": "ok"}),
    ] {
        let (status, answer) = owner.call(&c, "POST", &uri("/tags"), Some(body)).await;
        assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    }
    let (status, answer) = owner.call(&c, "GET", &uri("/tags?type=workflow"), None).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri("/tags"),
            Some(json!({"name": "green", "type": "knowledge"})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(
        tags(&c, &owner, "?type=knowledge")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let tea = create_dataset(&c, &owner, "tea", "all_team_members").await;
    let coffee = create_dataset(&c, &owner, "coffee", "all_team_members").await;
    let helper = create_app(&c, &owner, "helper").await;
    let other_app = create_app(&c, &owner, "other").await;

    let (status, answer) = bind(&c, &owner, &[&green, &black], &tea, "knowledge").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"result": "success"}));
    let (status, _) = bind(&c, &owner, &[&black], &coffee, "knowledge").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = bind(&c, &owner, &[&support], &helper, "app").await;
    assert_eq!(status, StatusCode::OK);

    // A tag of the other type, an unknown tag or target, a bad type: refused, nothing bound.
    let (status, answer) = bind(&c, &owner, &[&support], &coffee, "knowledge").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = bind(&c, &owner, &[&green], &helper, "knowledge").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an app is no dataset: {answer}");
    let (status, answer) = bind(
        &c,
        &owner,
        &[&green],
        &uuid::Uuid::new_v4().to_string(),
        "knowledge",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = bind(&c, &owner, &[], &tea, "knowledge").await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = bind(&c, &owner, &[&green], &tea, "bogus").await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri("/tag-bindings/create"),
            Some(json!({"tag_ids": [green], "type": "knowledge"})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");

    // Shown on the views, counted on the tags, and the lists filter by them.
    let (_, detail) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{tea}")), None)
        .await;
    let mut shown: Vec<&str> = detail["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    shown.sort();
    assert_eq!(shown, vec!["black", "green"]);
    let (_, app) = owner
        .call(&c, "GET", &uri(&format!("/apps/{helper}")), None)
        .await;
    assert_eq!(
        app["tags"],
        json!([{"id": support, "name": "support", "type": "app"}])
    );
    let listed = tags(&c, &owner, "?type=knowledge").await;
    let black_count = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "black")
        .unwrap()["binding_count"]
        .clone();
    assert_eq!(black_count, "2");
    let (_, list) = owner
        .call(&c, "GET", &uri(&format!("/datasets?tag_ids={green}")), None)
        .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["data"][0]["id"], tea.as_str());
    let (_, list) = owner
        .call(&c, "GET", &uri(&format!("/datasets?tag_ids={black}")), None)
        .await;
    assert_eq!(list["total"], 2, "{list}");
    let (_, list) = owner
        .call(&c, "GET", &uri(&format!("/apps?tag_ids={support}")), None)
        .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["data"][0]["id"], helper.as_str());
    let (_, list) = owner
        .call(&c, "GET", &uri(&format!("/apps?tag_ids={green}")), None)
        .await;
    assert_eq!(list["total"], 0, "a knowledge tag matches no app: {list}");
    let (_, list) = owner.call(&c, "GET", &uri("/apps"), None).await;
    assert_eq!(list["total"], 2, "{list}");
    let _ = other_app;

    // The knowledge API shares the store: the console's tag is its tag.
    let (status, key) = owner.call(&c, "POST", &uri("/datasets/api-keys"), None).await;
    assert_eq!(status, StatusCode::OK);
    let service = Session {
        access_token: key["token"].as_str().unwrap().to_string(),
        ..owner.clone()
    };
    let (_, v1_tags) = service
        .call(&c, "GET", &format!("/v1/datasets/{tea}/tags"), None)
        .await;
    assert_eq!(v1_tags["total"], 2, "{v1_tags}");

    // Rename, unbind, delete.
    let (status, renamed) = owner
        .call(
            &c,
            "PATCH",
            &uri(&format!("/tags/{green}")),
            Some(json!({"name": "matcha"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "matcha");
    assert_eq!(renamed["binding_count"], "1");
    let (status, answer) = owner
        .call(
            &c,
            "PATCH",
            &uri(&format!("/tags/{green}")),
            Some(json!({"name": ""})),
        )
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri("/tag-bindings/remove"),
            Some(json!({"tag_id": black, "target_id": tea, "type": "knowledge"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, detail) = owner
        .call(&c, "GET", &uri(&format!("/datasets/{tea}")), None)
        .await;
    assert_eq!(detail["tags"].as_array().unwrap().len(), 1, "{detail}");
    let (status, _) = owner
        .call(&c, "DELETE", &uri(&format!("/tags/{support}")), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, app) = owner
        .call(&c, "GET", &uri(&format!("/apps/{helper}")), None)
        .await;
    assert_eq!(app["tags"], json!([]));
    let (status, _) = owner
        .call(&c, "DELETE", &uri(&format!("/tags/{support}")), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tags_follow_roles_permissions_and_workspaces() {
    let c = Console::new().await;
    let owner = c.owner().await;
    let tag = create_tag(&c, &owner, "green", "knowledge").await;
    let app_tag = create_tag(&c, &owner, "ops", "app").await;
    let private = create_dataset(&c, &owner, "private", "only_me").await;
    let app = create_app(&c, &owner, "helper").await;

    // A normal member reads tags but changes none; an editor may not tag a dataset it cannot see.
    let normal = c.member(&owner, Role::Normal).await;
    assert_eq!(
        tags(&c, &normal, "?type=knowledge")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, _) = normal
        .call(
            &c,
            "POST",
            &uri("/tags"),
            Some(json!({"name": "mine", "type": "knowledge"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let editor = c.member(&owner, Role::Editor).await;
    let (status, _) = bind(&c, &editor, &[&tag], &private, "knowledge").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let operator = c.member(&owner, Role::DatasetOperator).await;
    let (status, _) = bind(&c, &operator, &[&app_tag], &app, "app").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "dataset operators do not touch apps"
    );
    let (status, _) = operator
        .call(&c, "DELETE", &uri(&format!("/tags/{tag}")), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Dify: only editors delete tags");

    // Another workspace sees none of it and changes none of it.
    let other = c.other_workspace().await;
    assert_eq!(tags(&c, &other, "?type=knowledge").await, json!([]));
    assert_eq!(tags(&c, &other, "?type=app").await, json!([]));
    let (status, _) = other
        .call(
            &c,
            "PATCH",
            &uri(&format!("/tags/{tag}")),
            Some(json!({"name": "taken"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .call(&c, "DELETE", &uri(&format!("/tags/{tag}")), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let own = create_dataset(&c, &other, "own", "only_me").await;
    let (status, _) = bind(&c, &other, &[&tag], &own, "knowledge").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a tag of another workspace");
    let own_tag = create_tag(&c, &other, "green", "knowledge").await;
    let (status, _) = bind(&c, &other, &[&own_tag], &private, "knowledge").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a dataset of another workspace");
    let (status, _) = bind(&c, &other, &[&own_tag], &app, "app").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = other
        .call(
            &c,
            "POST",
            &uri("/tag-bindings/remove"),
            Some(json!({"tag_id": tag, "target_id": private, "type": "knowledge"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed = tags(&c, &owner, "?type=knowledge").await;
    assert_eq!(
        listed,
        json!([{"id": tag, "name": "green", "type": "knowledge", "binding_count": "0"}])
    );
}
