//! One storage suite, run on every metadata backend: SQLite always, PostgreSQL when
//! `RAGD_TEST_POSTGRES_URL` names a server (`.ci/run` sets it). Each run gets a fresh database.

use ragd::store::{
    CompletedDocument, Completion, DEFAULT_TENANT, DatasetChanges, DocumentMetadataUpdate, DocumentSelection,
    JobKind, JobStatus, MetadataType, NewApiDocument, NewChildChunk, NewDataset, NewDatasetQuery, NewSegment,
    ProcessingOutcome, QuerySource, Stage, Store, StoreError, TokenType, UploadFile,
};
use serde_json::json;

#[tokio::test]
async fn storage_suite_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("ragd.db").display()))
        .await
        .unwrap();
    suite(&store).await;
    // Reopening applies no migration twice and keeps the data.
    store.close().await;
    let reopened = Store::open(&format!("sqlite://{}", dir.path().join("ragd.db").display()))
        .await
        .unwrap();
    assert!(
        reopened
            .dataset_by_name(DEFAULT_TENANT, "Renamed")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn storage_suite_postgres() {
    let Ok(admin_url) = std::env::var("RAGD_TEST_POSTGRES_URL") else {
        eprintln!(
            "skipping storage_suite_postgres: set RAGD_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
        );
        return;
    };
    let database = postgres::TestDatabase::create(&admin_url).await;
    let store = Store::open(&database.url).await.expect("open PostgreSQL store");
    assert_eq!(store.backend(), ragd::store::Backend::Postgres);
    suite(&store).await;
    store.close().await;
    // Migrations are recorded: opening again applies none and keeps the data.
    let reopened = Store::open(&database.url).await.unwrap();
    assert!(
        reopened
            .dataset_by_name(DEFAULT_TENANT, "Renamed")
            .await
            .unwrap()
            .is_some()
    );
    reopened.close().await;
    database.drop().await;
}

async fn suite(store: &Store) {
    datasets(store).await;
    documents_jobs_and_segments(store).await;
    indexing_control(store).await;
    metadata_and_tags(store).await;
    api_tokens(store).await;
    queries_files_and_stats(store).await;
    accounts(store).await;
    annotations_and_logs(store).await;
    permissions_tags_and_external(store).await;
}

/// Partial member lists and the visibility rule in SQL, app tags, external knowledge APIs and
/// their datasets.
async fn permissions_tags_and_external(store: &Store) {
    use ragd::store::{
        DatasetListFilter, DatasetViewer, ExternalApiFields, Invited, ListVisibility, NewApp,
        NewExternalDataset, Role,
    };
    let owner = store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let expires = ragd::store::now() + 3600;
    let Invited::New {
        account_id: member, ..
    } = store
        .invite_member(
            DEFAULT_TENANT,
            &owner.id,
            "pat@example.com",
            Role::Normal,
            expires,
        )
        .await
        .unwrap()
    else {
        panic!("a new member");
    };
    let new = |name: &str, permission: &str, created_by: &str| NewDataset {
        tenant_id: DEFAULT_TENANT.into(),
        name: name.into(),
        embedding_model: None,
        embedding_dimension: None,
        doc_form: "text_model".into(),
        process_rule: json!({"mode": "automatic"}),
        description: String::new(),
        indexing_technique: None,
        permission: permission.into(),
        retrieval_model: None,
        created_by: Some(created_by.into()),
    };
    let shared = store
        .create_dataset(new("perm-shared", "partial_members", &owner.id))
        .await
        .unwrap();
    let hidden = store
        .create_dataset(new("perm-hidden", "partial_members", &owner.id))
        .await
        .unwrap();
    let private = store
        .create_dataset(new("perm-private", "only_me", &owner.id))
        .await
        .unwrap();
    store
        .set_partial_members(DEFAULT_TENANT, &shared.id, &[member.clone(), member.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.partial_members(DEFAULT_TENANT, &shared.id).await.unwrap(),
        vec![member.clone()]
    );
    let granted = store.granted_datasets(DEFAULT_TENANT, &member).await.unwrap();
    assert_eq!(granted, vec![shared.id.clone()]);
    let names = |datasets: Vec<ragd::store::Dataset>| {
        let mut names: Vec<String> = datasets
            .into_iter()
            .map(|d| d.name)
            .filter(|n| n.starts_with("perm-"))
            .collect();
        names.sort();
        names
    };
    let list = |viewer: DatasetViewer, as_member: bool| DatasetListFilter {
        visibility: Some(ListVisibility {
            viewer,
            keyless_own: false,
            as_member,
        }),
        ..DatasetListFilter::default()
    };
    let reader = DatasetViewer {
        account_id: member.clone(),
        role: Role::Normal,
        granted: granted.clone(),
    };
    for dataset in [&shared, &hidden, &private] {
        assert_eq!(
            dataset.visible_to(&reader),
            dataset.id == shared.id,
            "{}",
            dataset.name
        );
    }
    let (seen, _) = store
        .filtered_datasets(DEFAULT_TENANT, &list(reader.clone(), true), 1, 100)
        .await
        .unwrap();
    assert_eq!(names(seen), vec!["perm-shared"]);
    let operator = DatasetViewer {
        role: Role::DatasetOperator,
        ..reader.clone()
    };
    let (seen, _) = store
        .filtered_datasets(DEFAULT_TENANT, &list(operator, true), 1, 100)
        .await
        .unwrap();
    assert_eq!(names(seen), vec!["perm-shared"]);
    let as_owner = DatasetViewer {
        account_id: owner.id.clone(),
        role: Role::Owner,
        granted: Vec::new(),
    };
    let (seen, _) = store
        .filtered_datasets(DEFAULT_TENANT, &list(as_owner.clone(), false), 1, 100)
        .await
        .unwrap();
    assert_eq!(names(seen), vec!["perm-hidden", "perm-private", "perm-shared"]);
    // Another permission clears the list; a removed member leaves every list.
    store
        .update_dataset(
            DEFAULT_TENANT,
            &hidden.id,
            DatasetChanges {
                partial_members: Some(vec![member.clone()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .granted_datasets(DEFAULT_TENANT, &member)
            .await
            .unwrap()
            .len(),
        2
    );
    store
        .update_dataset(
            DEFAULT_TENANT,
            &hidden.id,
            DatasetChanges {
                permission: Some("all_team_members".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .partial_members(DEFAULT_TENANT, &hidden.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.remove_member(DEFAULT_TENANT, &member).await.unwrap());
    assert!(
        store
            .granted_datasets(DEFAULT_TENANT, &member)
            .await
            .unwrap()
            .is_empty()
    );

    // App tags filter the app list; deleting the app drops its bindings.
    let app = |name: &str| NewApp {
        tenant_id: DEFAULT_TENANT.into(),
        name: name.into(),
        description: String::new(),
        mode: "chat".into(),
        icon_type: None,
        icon: None,
        icon_background: None,
        model_config: json!({}),
        created_by: Some(owner.id.clone()),
    };
    let tagged = store.create_app(app("tagged"), &[]).await.unwrap();
    store.create_app(app("plain"), &[]).await.unwrap();
    let tag = store
        .create_tag(DEFAULT_TENANT, ragd::store::APP_TAG, "ops")
        .await
        .unwrap();
    assert_eq!(
        store.tag_kind(DEFAULT_TENANT, &tag.id).await.unwrap().as_deref(),
        Some("app")
    );
    assert_eq!(store.tag_kind("another-tenant", &tag.id).await.unwrap(), None);
    store
        .bind_tags(DEFAULT_TENANT, std::slice::from_ref(&tag.id), &tagged.id)
        .await
        .unwrap();
    let (apps, total) = store
        .list_apps(DEFAULT_TENANT, None, None, std::slice::from_ref(&tag.id), 1, 20)
        .await
        .unwrap();
    assert_eq!((apps.len(), total), (1, 1));
    assert_eq!(apps[0].id, tagged.id);
    assert!(store.delete_app(DEFAULT_TENANT, &tagged.id).await.unwrap());
    assert_eq!(
        store.tags(DEFAULT_TENANT, "app", None).await.unwrap()[0].binding_count,
        0
    );

    // External knowledge: an API, a dataset reading it, the API in use until the dataset goes.
    let fields = ExternalApiFields {
        name: "Notes".into(),
        description: String::new(),
        endpoint: "https://kb.example.com/api".into(),
        api_key_sealed: "sealed".into(),
    };
    let api = store
        .create_external_api(DEFAULT_TENANT, Some(&owner.id), &fields)
        .await
        .unwrap();
    assert!(matches!(
        store.create_external_api(DEFAULT_TENANT, None, &fields).await,
        Err(StoreError::DuplicateExternalApiName(_))
    ));
    let (apis, total) = store
        .external_apis(DEFAULT_TENANT, Some("not"), 1, 20)
        .await
        .unwrap();
    assert_eq!((apis.len(), total), (1, 1));
    assert!(
        store
            .external_api("another-tenant", &api.id)
            .await
            .unwrap()
            .is_none()
    );
    let external = NewExternalDataset {
        tenant_id: DEFAULT_TENANT.into(),
        name: "perm-external".into(),
        description: String::new(),
        created_by: Some(owner.id.clone()),
        api_id: api.id.clone(),
        knowledge_id: "kb-1".into(),
        retrieval_model: json!({"top_k": 2}),
    };
    assert!(matches!(
        store
            .create_external_dataset(NewExternalDataset {
                tenant_id: "another-tenant".into(),
                ..external.clone()
            })
            .await,
        Err(StoreError::ExternalApiNotFound)
    ));
    let dataset = store.create_external_dataset(external).await.unwrap();
    assert_eq!(dataset.provider, "external");
    let binding = store
        .external_binding(DEFAULT_TENANT, &dataset.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (binding.api_id.as_str(), binding.knowledge_id.as_str()),
        (api.id.as_str(), "kb-1")
    );
    store
        .set_external_retrieval_model(DEFAULT_TENANT, &dataset.id, &json!({"top_k": 5}))
        .await
        .unwrap();
    assert_eq!(
        store
            .external_binding(DEFAULT_TENANT, &dataset.id)
            .await
            .unwrap()
            .unwrap()
            .retrieval_model["top_k"],
        5
    );
    assert_eq!(
        store
            .external_api_datasets(DEFAULT_TENANT, &api.id)
            .await
            .unwrap(),
        vec![(dataset.id.clone(), "perm-external".to_string())]
    );
    assert!(matches!(
        store.delete_external_api(DEFAULT_TENANT, &api.id).await,
        Err(StoreError::ExternalApiInUse(1))
    ));
    assert!(store.delete_dataset(DEFAULT_TENANT, &dataset.id).await.unwrap());
    assert!(
        store
            .external_binding(DEFAULT_TENANT, &dataset.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.delete_external_api(DEFAULT_TENANT, &api.id).await.unwrap());
    assert!(!store.delete_external_api(DEFAULT_TENANT, &api.id).await.unwrap());
}

/// Console accounts: setup once, invitations, activation, roles, refresh tokens, model settings.
async fn accounts(store: &Store) {
    use ragd::store::{Invited, Role, StoredModelSettings};
    assert!(store.setup_at().await.unwrap().is_none());
    assert!(
        store
            .setup_console("Owner@Example.com", "Owner", "hash-1", "en-US")
            .await
            .unwrap()
    );
    assert!(
        !store
            .setup_console("x@example.com", "X", "hash-2", "en-US")
            .await
            .unwrap(),
        "setup runs once"
    );
    let owner = store
        .account_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.member_role(DEFAULT_TENANT, &owner.id).await.unwrap(),
        Some(Role::Owner)
    );

    let expires = ragd::store::now() + 3600;
    let Invited::New { account_id, token } = store
        .invite_member(DEFAULT_TENANT, &owner.id, "ed@example.com", Role::Editor, expires)
        .await
        .unwrap()
    else {
        panic!("a new address makes a pending account");
    };
    assert!(matches!(
        store
            .invite_member(DEFAULT_TENANT, &owner.id, "ED@example.com", Role::Normal, expires)
            .await
            .unwrap(),
        Invited::AlreadyMember
    ));
    let invitation = store.invitation(&token).await.unwrap().unwrap();
    assert_eq!(invitation.account_id, account_id);
    assert!(
        store
            .activate_account(&invitation, "Ed", "hash-3", "en-US", "UTC")
            .await
            .unwrap()
    );
    assert!(
        !store
            .activate_account(&invitation, "Ed", "hash-4", "en-US", "UTC")
            .await
            .unwrap(),
        "once"
    );
    assert!(store.invitation(&token).await.unwrap().is_none());
    let ed = store.account(&account_id).await.unwrap().unwrap();
    assert_eq!(
        (ed.status.as_str(), ed.password_hash.as_deref()),
        ("active", Some("hash-3"))
    );

    let other = store.create_workspace(&ed.id, "Ed's own").await.unwrap();
    assert_eq!(store.workspaces_of(&ed.id).await.unwrap().len(), 2);
    assert!(
        !store.switch_workspace(&owner.id, &other).await.unwrap(),
        "not a member there"
    );
    assert!(
        store
            .update_member_role(DEFAULT_TENANT, &ed.id, Role::DatasetOperator)
            .await
            .unwrap()
    );
    let members = store.members(DEFAULT_TENANT).await.unwrap();
    assert_eq!(
        members.iter().map(|m| m.role).collect::<Vec<_>>(),
        [Role::Owner, Role::DatasetOperator]
    );
    assert!(store.remove_member(DEFAULT_TENANT, &ed.id).await.unwrap());
    assert!(!store.remove_member(DEFAULT_TENANT, &ed.id).await.unwrap());

    let session = store
        .create_session(&owner.id, "refresh-1", expires)
        .await
        .unwrap();
    assert!(store.session_is_live(&session, &owner.id).await.unwrap());
    assert!(!store.session_is_live(&session, "someone else").await.unwrap());
    assert_eq!(
        store.take_refresh_token("refresh-1").await.unwrap(),
        Some((owner.id.clone(), session.clone()))
    );
    assert_eq!(
        store.take_refresh_token("refresh-1").await.unwrap(),
        None,
        "used once"
    );
    store
        .rotate_session(&owner.id, &session, "refresh-2", expires)
        .await
        .unwrap();
    store.end_session_of_refresh_token("refresh-2").await.unwrap();
    assert!(!store.session_is_live(&session, &owner.id).await.unwrap());
    assert_eq!(
        store.take_refresh_token("refresh-2").await.unwrap(),
        None,
        "signed out"
    );
    let session = store
        .create_session(&owner.id, "refresh-3", expires)
        .await
        .unwrap();
    store.change_password(&owner.id, "hash-5").await.unwrap();
    assert_eq!(
        store.take_refresh_token("refresh-3").await.unwrap(),
        None,
        "a new password ends sessions"
    );
    assert!(!store.session_is_live(&session, &owner.id).await.unwrap());
    assert_eq!(
        store.account(&owner.id).await.unwrap().unwrap().session_version,
        owner.session_version + 1
    );

    // Sign-in attempts are counted in one statement on each backend: two pass, the third is
    // refused; a success clears the count.
    for expected in [true, true, false] {
        assert_eq!(
            store.reserve_login_attempt(&owner.id, 2, 900).await.unwrap(),
            expected
        );
    }
    store.record_login(&owner.id, Some("10.0.0.1")).await.unwrap();
    assert!(store.reserve_login_attempt(&owner.id, 2, 900).await.unwrap());
    assert!(
        store.reserve_login_attempt(&owner.id, 2, -1).await.unwrap(),
        "a passed window starts over"
    );
    for expected in [true, true, false] {
        assert_eq!(
            store.reserve_client_attempt("10.0.0.1", 2, 900).await.unwrap(),
            expected
        );
    }
    store.release_client_attempt("10.0.0.1").await.unwrap();
    store.release_client_attempt("10.0.0.1").await.unwrap();
    assert!(store.reserve_client_attempt("10.0.0.1", 2, 900).await.unwrap());
    assert!(store.reserve_client_attempt("10.0.0.2", 2, 900).await.unwrap());

    let settings = StoredModelSettings {
        llm_base_url: Some("http://127.0.0.1:9/v1".into()),
        llm_model: Some("m".into()),
        llm_api_key_sealed: Some("sealed".into()),
        llm_parameters: Some(json!({"temperature": 0.1})),
        llm_context_window: Some(8192),
        ..StoredModelSettings::default()
    };
    store
        .save_model_settings(DEFAULT_TENANT, &owner.id, &settings)
        .await
        .unwrap();
    let read = store.model_settings(DEFAULT_TENANT).await.unwrap();
    assert_eq!(
        StoredModelSettings {
            updated_at: None,
            ..read
        },
        settings
    );
    assert_eq!(
        store.model_settings(&other).await.unwrap(),
        StoredModelSettings::default()
    );
}

fn new_dataset(name: &str) -> NewDataset {
    NewDataset {
        tenant_id: DEFAULT_TENANT.into(),
        name: name.into(),
        embedding_model: Some("all-minilm-l6-v2".into()),
        embedding_dimension: Some(384),
        doc_form: "text_model".into(),
        process_rule: json!({"mode": "automatic"}),
        description: "about bees".into(),
        indexing_technique: Some("high_quality".into()),
        permission: "only_me".into(),
        retrieval_model: None,
        created_by: None,
    }
}

async fn datasets(store: &Store) {
    let bees = store.create_dataset(new_dataset("Bees")).await.unwrap();
    assert_eq!(bees.name, "Bees");
    assert_eq!(bees.embedding_dimension, Some(384));
    assert!(bees.enable_api, "BOOLEAN columns read back on every backend");
    assert_eq!(bees.process_rule, json!({"mode": "automatic"}));

    let duplicate = store.create_dataset(new_dataset("Bees")).await;
    assert!(matches!(duplicate, Err(StoreError::DuplicateDatasetName(name)) if name == "Bees"));

    for name in ["Wasps", "Ants 50%_off"] {
        store.create_dataset(new_dataset(name)).await.unwrap();
    }
    // Keyword search is case-insensitive on both backends and treats % and _ literally.
    let (found, total) = store
        .list_datasets(DEFAULT_TENANT, Some("bEE"), 1, 20)
        .await
        .unwrap();
    assert_eq!((found.len(), total), (1, 1));
    let (found, _) = store
        .list_datasets(DEFAULT_TENANT, Some("%_"), 1, 20)
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["Ants 50%_off"]
    );
    let (page, total) = store.list_datasets(DEFAULT_TENANT, None, 2, 2).await.unwrap();
    assert_eq!((page.len(), total), (1, 3));

    let renamed = store
        .update_dataset(
            DEFAULT_TENANT,
            &bees.id,
            DatasetChanges {
                name: Some("Renamed".into()),
                retrieval_model: Some(json!({"search_method": "hybrid_search", "top_k": 4})),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "Renamed");
    assert_eq!(renamed.description, "about bees", "fields not sent stay");
    assert_eq!(renamed.retrieval_model.unwrap()["top_k"], 4);
    let clash = store
        .update_dataset(
            DEFAULT_TENANT,
            &bees.id,
            DatasetChanges {
                name: Some("Wasps".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(clash, Err(StoreError::DuplicateDatasetName(_))));
    assert!(store.dataset("another-tenant", &bees.id).await.unwrap().is_none());

    let wasps = store
        .dataset_by_name(DEFAULT_TENANT, "Wasps")
        .await
        .unwrap()
        .unwrap();
    assert!(store.delete_dataset(DEFAULT_TENANT, &wasps.id).await.unwrap());
    assert!(!store.delete_dataset(DEFAULT_TENANT, &wasps.id).await.unwrap());
}

fn upload(name: &str) -> UploadFile {
    UploadFile {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.into(),
        size: 42,
        extension: "txt".into(),
        mime_type: "text/plain".into(),
        hash: "abc".into(),
        storage_key: format!("upload/{name}"),
        created_at: 0,
    }
}

async fn documents_jobs_and_segments(store: &Store) {
    let dataset = store
        .dataset_by_name(DEFAULT_TENANT, "Renamed")
        .await
        .unwrap()
        .unwrap();
    let mut ids = Vec::new();
    for name in ["hive.txt", "comb.txt"] {
        let document = store
            .create_api_document(NewApiDocument {
                tenant_id: DEFAULT_TENANT.into(),
                dataset_id: dataset.id.clone(),
                name: name.into(),
                batch: "batch-1".into(),
                doc_form: "text_model".into(),
                doc_language: "English".into(),
                process_rule: json!({"mode": "automatic"}),
                file: upload(name),
            })
            .await
            .unwrap();
        assert_eq!(document.indexing_status, "waiting");
        assert!(document.enabled && !document.archived && !document.is_paused);
        assert_eq!(document.file.as_ref().unwrap().name, name);
        ids.push(document.id);
    }
    let batch = store.batch_documents(&dataset.id, "batch-1").await.unwrap();
    assert_eq!(batch.iter().map(|d| d.position).collect::<Vec<_>>(), [1, 2]);
    let (listed, total) = store
        .filtered_documents(
            &dataset.id,
            Some("HIVE"),
            None,
            ragd::store::DocumentSort::CreatedAt { descending: true },
            1,
            20,
        )
        .await
        .unwrap();
    assert_eq!((listed.len(), total), (1, 1));

    // The queue: two workers never hold the same job, leases are guarded by holder.
    assert_eq!(store.pending_jobs().await.unwrap(), 2);
    let first = store.claim_job("worker-a", 60).await.unwrap().unwrap();
    let second = store.claim_job("worker-b", 60).await.unwrap().unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(first.attempts, 1);
    assert!(store.claim_job("worker-c", 60).await.unwrap().is_none());
    assert!(store.renew_lease(&first.id, "worker-a", 60).await.unwrap());
    assert!(!store.renew_lease(&first.id, "worker-b", 60).await.unwrap());

    // A job whose lease ran out is claimable again, and the old holder can no longer finish it.
    store
        .requeue_job(&second.id, "worker-b", "model busy")
        .await
        .unwrap();
    let again = store.claim_job("worker-b", -1).await.unwrap().unwrap();
    assert_eq!((again.id.as_str(), again.attempts), (second.id.as_str(), 2));
    let stolen = store.claim_job("worker-c", 60).await.unwrap().unwrap();
    assert_eq!(stolen.id, second.id);
    assert!(
        !store
            .finish_job(&second.id, "worker-b", JobStatus::Succeeded, None)
            .await
            .unwrap()
    );

    // The first document goes through its stages and completes with segments and child chunks.
    let doc = &first.document_id;
    for stage in [Stage::Parsing, Stage::Splitting, Stage::Indexing] {
        store.set_document_stage(doc, stage).await.unwrap();
    }
    let segments: Vec<NewSegment> = (0..3)
        .map(|i| NewSegment {
            id: format!("{doc}-s{i}"),
            position: i + 1,
            content: format!("segment number {i} about honey"),
            tokens: 6,
            page: Some(i as u32),
            keywords: Vec::new(),
        })
        .collect();
    let children = vec![NewChildChunk {
        id: format!("{doc}-c0"),
        segment_id: segments[0].id.clone(),
        position: 1,
        content: "segment number 0".into(),
    }];
    store
        .complete_documents(
            DEFAULT_TENANT,
            &dataset.id,
            &[CompletedDocument {
                document_id: doc.clone(),
                word_count: 15,
                tokens: 18,
                segments: segments.clone(),
                children,
            }],
        )
        .await
        .unwrap();
    assert!(
        store
            .finish_job(&first.id, "worker-a", JobStatus::Succeeded, None)
            .await
            .unwrap()
    );
    let completed = store.api_document(&dataset.id, doc).await.unwrap().unwrap();
    assert_eq!(completed.indexing_status, "completed");
    assert!(completed.processing_started_at.is_some() && completed.splitting_completed_at.is_some());
    assert_eq!((completed.segment_count, completed.completed_segments), (3, 3));
    assert_eq!(completed.word_count, 15);

    let hit_ids: Vec<String> = segments.iter().map(|s| s.id.clone()).collect();
    store
        .increment_hit_counts(&dataset.id, &hit_ids[..2])
        .await
        .unwrap();
    let hits = store.segments_for_hits(&dataset.id, &hit_ids).await.unwrap();
    assert_eq!(hits.len(), 3);
    let hit = &hits[&hit_ids[0]];
    assert_eq!((hit.hit_count, hit.page, hit.enabled), (1, Some(0), true));
    assert_eq!(hit.document_name, completed.name);
    assert_eq!(store.count_segments(&dataset.id).await.unwrap(), 3);
    let counted = store.api_document(&dataset.id, doc).await.unwrap().unwrap();
    assert_eq!(
        counted.hit_count, 2,
        "hit counts sum over the document's segments"
    );
    let counts = store.dataset_counts(&dataset.id).await.unwrap();
    assert_eq!(
        (counts.documents, counts.available_documents, counts.words),
        (2, 1, 15)
    );

    // A failed job marks its document failed in the same transaction.
    assert!(
        store
            .finish_job(&second.id, "worker-c", JobStatus::Failed, Some("file is damaged"))
            .await
            .unwrap()
    );
    let failed = store
        .api_document(&dataset.id, &second.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.indexing_status, "error");
    assert_eq!(failed.error.as_deref(), Some("file is damaged"));
    assert!(failed.stopped_at.is_some());
    assert_eq!(store.pending_jobs().await.unwrap(), 0);

    // An index rebuild walks segments in id order from a recorded cursor and switches atomically.
    let run = store
        .start_reindex(DEFAULT_TENANT, &dataset.id, 2, Some(("model-b", 8)), false)
        .await
        .unwrap();
    let page = store
        .segment_sources_after(&dataset.id, &run.cursor, 2)
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    assert!(page[0].id < page[1].id && page.iter().all(|s| s.enabled));
    let with_child = page
        .iter()
        .chain(
            store
                .segment_sources_after(&dataset.id, &page[1].id, 10)
                .await
                .unwrap()
                .iter(),
        )
        .find(|s| !s.children.is_empty())
        .cloned();
    assert_eq!(with_child.map(|s| s.children.len()), Some(1));
    store.advance_reindex(&dataset.id, &page[1].id, 2).await.unwrap();
    let resumed = store.reindex_run(&dataset.id).await.unwrap().unwrap();
    assert_eq!(
        (resumed.cursor.as_str(), resumed.rows_written),
        (page[1].id.as_str(), 2)
    );
    assert_eq!(
        store
            .segment_sources_after(&dataset.id, &resumed.cursor, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .segment_sources_changed_since(&dataset.id, 0)
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(store.finish_reindex(&resumed).await.unwrap());
    assert!(
        !store.finish_reindex(&resumed).await.unwrap(),
        "a finished run switches once"
    );
    let switched = store.dataset(DEFAULT_TENANT, &dataset.id).await.unwrap().unwrap();
    assert_eq!(
        (
            switched.index_generation,
            switched.embedding_model.as_deref(),
            switched.embedding_dimension
        ),
        (2, Some("model-b"), Some(8))
    );

    // A re-chunk stages new segments beside the live ones; the switch swaps them in.
    let run = store
        .start_reindex(DEFAULT_TENANT, &dataset.id, 3, Some(("model-b", 8)), true)
        .await
        .unwrap();
    assert!(run.rechunk && run.document_cursor.is_empty());
    let sources = store
        .rechunk_sources_after(&dataset.id, &run.document_cursor, 10)
        .await
        .unwrap();
    assert_eq!(
        sources.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [doc.as_str()]
    );
    assert!(sources[0].file.is_some() && sources[0].visible);
    let rechunked = CompletedDocument {
        document_id: doc.clone(),
        word_count: 15,
        tokens: 0,
        segments: (0..5)
            .map(|i| NewSegment {
                id: format!("{doc}-r{i}"),
                position: i + 1,
                content: format!("smaller piece {i}"),
                tokens: 2,
                page: None,
                keywords: Vec::new(),
            })
            .collect(),
        children: vec![NewChildChunk {
            id: format!("{doc}-rc0"),
            segment_id: format!("{doc}-r0"),
            position: 1,
            content: "smaller".into(),
        }],
    };
    // A replayed page replaces what it staged before.
    for _ in 0..2 {
        store
            .stage_rechunk(
                &run,
                DEFAULT_TENANT,
                std::slice::from_ref(doc),
                std::slice::from_ref(&rechunked),
                doc,
                5,
            )
            .await
            .unwrap();
    }
    assert_eq!(store.count_staged(&dataset.id).await.unwrap(), (1, 5));
    let resumed = store.reindex_run(&dataset.id).await.unwrap().unwrap();
    assert_eq!(resumed.document_cursor, *doc);
    assert_eq!(
        store.count_segments(&dataset.id).await.unwrap(),
        3,
        "live segments serve meanwhile"
    );
    assert!(store.finish_rechunk(&resumed).await.unwrap());
    assert!(
        !store.finish_rechunk(&resumed).await.unwrap(),
        "a finished run switches once"
    );
    assert_eq!(store.count_segments(&dataset.id).await.unwrap(), 5);
    assert_eq!(store.count_staged(&dataset.id).await.unwrap(), (0, 0));
    let after = store.api_document(&dataset.id, doc).await.unwrap().unwrap();
    assert_eq!(after.tokens, 10);
    let sources = store.document_segment_sources(doc, 0).await.unwrap();
    assert_eq!(sources[0].children.len(), 1);
    assert_eq!(
        store
            .dataset(DEFAULT_TENANT, &dataset.id)
            .await
            .unwrap()
            .unwrap()
            .index_generation,
        3
    );

    // Deleting a document removes its segments (cascade) and jobs.
    store.delete_api_document(&dataset.id, doc).await.unwrap();
    assert!(store.api_document(&dataset.id, doc).await.unwrap().is_none());
    assert_eq!(store.count_segments(&dataset.id).await.unwrap(), 0);
}

fn api_document(dataset_id: &str, name: &str, doc_form: &str, rule: serde_json::Value) -> NewApiDocument {
    NewApiDocument {
        tenant_id: DEFAULT_TENANT.into(),
        dataset_id: dataset_id.into(),
        name: name.into(),
        batch: "batch-control".into(),
        doc_form: doc_form.into(),
        doc_language: "English".into(),
        process_rule: rule,
        file: upload(name),
    }
}

fn one_segment(document_id: &str, content: &str) -> CompletedDocument {
    CompletedDocument {
        document_id: document_id.into(),
        word_count: content.len(),
        tokens: 3,
        segments: vec![NewSegment {
            id: uuid::Uuid::new_v4().to_string(),
            position: 1,
            content: content.into(),
            tokens: 3,
            page: None,
            keywords: Vec::new(),
        }],
        children: Vec::new(),
    }
}

/// Pause, resume, retry, guarded completion, the first document's doc_form and switching a
/// dataset between keyword-only and vector indexing.
async fn indexing_control(store: &Store) {
    let mut economy = new_dataset("Control");
    economy.embedding_model = None;
    economy.embedding_dimension = None;
    economy.indexing_technique = Some("economy".into());
    let dataset = store.create_dataset(economy).await.unwrap();
    let ds = dataset.id.clone();

    // The first document sets the dataset's doc_form and latest rule; another form is refused.
    let rule = json!({"mode": "hierarchical", "rules": {"parent_mode": "full-doc",
        "subchunk_segmentation": {"separator": "\n", "max_tokens": 60}}});
    let first = store
        .create_api_document(api_document(&ds, "first.txt", "hierarchical_model", rule.clone()))
        .await
        .unwrap();
    let now = store.dataset(DEFAULT_TENANT, &ds).await.unwrap().unwrap();
    assert_eq!(now.doc_form, "hierarchical_model");
    assert_eq!(now.process_rule, rule);
    let refused = store
        .create_api_document(api_document(
            &ds,
            "plain.txt",
            "text_model",
            json!({"mode": "automatic"}),
        ))
        .await;
    assert!(matches!(refused, Err(StoreError::DocFormMismatch)), "{refused:?}");
    let second = store
        .create_api_document(api_document(
            &ds,
            "second.txt",
            "hierarchical_model",
            rule.clone(),
        ))
        .await
        .unwrap();
    let (listed, total) = store
        .filtered_documents(
            &ds,
            None,
            None,
            ragd::store::DocumentSort::CreatedAt { descending: true },
            1,
            20,
        )
        .await
        .unwrap();
    assert_eq!((listed.len(), total), (2, 2), "the refused document left nothing");

    // Pause: the waiting job is set aside and no worker gets it; pausing twice is fine.
    assert_eq!(
        store.pause_document(&ds, &first.id).await.unwrap(),
        ProcessingOutcome::Done
    );
    assert_eq!(
        store.pause_document(&ds, &first.id).await.unwrap(),
        ProcessingOutcome::Done
    );
    assert!(store.document_paused(&first.id).await.unwrap());
    let paused = store.api_document(&ds, &first.id).await.unwrap().unwrap();
    assert!(paused.is_paused && paused.paused_at.is_some());
    let job = store.claim_job("worker-a", 60).await.unwrap().unwrap();
    assert_eq!(job.document_id, second.id, "the paused document's job is skipped");
    assert_eq!(job.kind, JobKind::IndexDocument);
    assert!(store.claim_job("worker-b", 60).await.unwrap().is_none());
    assert_eq!(
        store
            .pause_document(&ds, "00000000-0000-0000-0000-00000000dead")
            .await
            .unwrap(),
        ProcessingOutcome::NotFound
    );
    assert_eq!(
        store.resume_document(&ds, &second.id).await.unwrap(),
        ProcessingOutcome::WrongState,
        "not paused"
    );

    // A worker holding the other job: paused meanwhile, its result is not recorded; parked, the
    // job waits for the resume and the attempt is not counted.
    store
        .set_document_stage(&second.id, Stage::Parsing)
        .await
        .unwrap();
    assert_eq!(
        store.pause_document(&ds, &second.id).await.unwrap(),
        ProcessingOutcome::Done
    );
    let refused = store
        .complete_indexed_document(DEFAULT_TENANT, &ds, &one_segment(&second.id, "late"), None)
        .await
        .unwrap();
    assert_eq!(refused, Completion::Paused);
    assert!(store.park_job(&job.id, "worker-a").await.unwrap());
    assert!(
        !store.park_job(&job.id, "worker-a").await.unwrap(),
        "no longer held"
    );
    assert!(store.claim_job("worker-b", 60).await.unwrap().is_none());
    assert_eq!(
        store.resume_document(&ds, &second.id).await.unwrap(),
        ProcessingOutcome::Done
    );
    let again = store.claim_job("worker-b", 60).await.unwrap().unwrap();
    assert_eq!((again.id.as_str(), again.attempts), (job.id.as_str(), 1));
    // Resumed while a worker still held it: parking queues it at once.
    assert!(store.park_job(&again.id, "worker-b").await.unwrap());
    let again = store.claim_job("worker-b", 60).await.unwrap().unwrap();
    assert_eq!(again.id, job.id);

    // Completion is guarded by the embedding model the job indexed with.
    let refused = store
        .complete_indexed_document(
            DEFAULT_TENANT,
            &ds,
            &one_segment(&second.id, "x"),
            Some("some-model"),
        )
        .await
        .unwrap();
    assert_eq!(refused, Completion::ModelChanged);
    for content in ["old words", "new words"] {
        let done = store
            .complete_indexed_document(DEFAULT_TENANT, &ds, &one_segment(&second.id, content), None)
            .await
            .unwrap();
        assert_eq!(done, Completion::Completed);
    }
    let completed = store.api_document(&ds, &second.id).await.unwrap().unwrap();
    assert_eq!(completed.indexing_status, "completed");
    assert_eq!(
        completed.segment_count, 1,
        "a second completion replaces the segments"
    );
    assert!(completed.indexing_latency.is_some_and(|l| l >= 0.0));
    let sources = store.document_segment_sources(&second.id, 0).await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].content, "new words");
    assert!(
        store
            .document_segment_sources(&second.id, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .finish_job(&again.id, "worker-b", JobStatus::Succeeded, None)
            .await
            .unwrap()
    );

    // economy -> high_quality: completed documents go back to indexing with an embedding job.
    let stale = store.dataset(DEFAULT_TENANT, &ds).await.unwrap().unwrap();
    let switched = store
        .switch_indexing_technique(&stale, "high_quality", Some(("model-x", 8)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(switched.embedding_model.as_deref(), Some("model-x"));
    assert_eq!(switched.embedding_dimension, Some(8));
    assert!(
        store
            .switch_indexing_technique(&stale, "high_quality", Some(("model-x", 8)))
            .await
            .unwrap()
            .is_none(),
        "a switch from a state the dataset has left is refused"
    );
    let reembedding = store.api_document(&ds, &second.id).await.unwrap().unwrap();
    assert_eq!(reembedding.indexing_status, "indexing");
    let embed = store.claim_job("worker-a", 60).await.unwrap().unwrap();
    assert_eq!(
        (embed.kind, embed.document_id.as_str()),
        (JobKind::EmbedSegments, second.id.as_str())
    );
    // It fails; a retry queues the same kind of work again.
    assert!(
        store
            .finish_job(&embed.id, "worker-a", JobStatus::Failed, Some("model gone"))
            .await
            .unwrap()
    );
    let retried = store
        .retry_documents(DEFAULT_TENANT, &ds, &[second.id.clone(), first.id.clone()])
        .await
        .unwrap();
    assert_eq!(
        retried,
        std::slice::from_ref(&second.id),
        "only failed documents are retried"
    );
    let waiting = store.api_document(&ds, &second.id).await.unwrap().unwrap();
    assert_eq!(
        (waiting.indexing_status.as_str(), waiting.error.as_deref()),
        ("waiting", None)
    );
    let embed = store.claim_job("worker-a", 60).await.unwrap().unwrap();
    assert_eq!(embed.kind, JobKind::EmbedSegments);
    assert_eq!(
        store
            .complete_embedded_document(&ds, &second.id, Some("model-x"))
            .await
            .unwrap(),
        Completion::Completed
    );
    assert_eq!(
        store
            .api_document(&ds, &second.id)
            .await
            .unwrap()
            .unwrap()
            .segment_count,
        1,
        "embedding keeps the segments"
    );
    assert!(
        store
            .finish_job(&embed.id, "worker-a", JobStatus::Succeeded, None)
            .await
            .unwrap()
    );
    // And back: no jobs, the model is cleared.
    let back = store
        .switch_indexing_technique(&switched, "economy", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.indexing_technique.as_deref(), back.embedding_model),
        (Some("economy"), None)
    );
    assert!(store.claim_job("worker-a", 60).await.unwrap().is_none());
    // The paused first document still waits for its resume; clean up.
    assert!(store.document_paused(&first.id).await.unwrap());
    assert!(store.delete_dataset(DEFAULT_TENANT, &ds).await.unwrap());
}

async fn metadata_and_tags(store: &Store) {
    let dataset = store
        .dataset_by_name(DEFAULT_TENANT, "Renamed")
        .await
        .unwrap()
        .unwrap();
    let (documents, _) = store
        .filtered_documents(
            &dataset.id,
            None,
            None,
            ragd::store::DocumentSort::CreatedAt { descending: true },
            1,
            20,
        )
        .await
        .unwrap();
    let document = documents[0].id.clone();

    let author = store
        .create_metadata_field(DEFAULT_TENANT, &dataset.id, "author", MetadataType::String)
        .await
        .unwrap();
    let year = store
        .create_metadata_field(DEFAULT_TENANT, &dataset.id, "year", MetadataType::Number)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_metadata_field(DEFAULT_TENANT, &dataset.id, "author", MetadataType::String)
            .await,
        Err(StoreError::DuplicateMetadataName { .. })
    ));
    store
        .update_documents_metadata(
            DEFAULT_TENANT,
            &dataset.id,
            &[DocumentMetadataUpdate {
                document_id: document.clone(),
                values: vec![(author.id.clone(), json!("Ada")), (year.id.clone(), json!(1843))],
                partial: false,
            }],
        )
        .await
        .unwrap();
    store
        .rename_metadata_field(DEFAULT_TENANT, &dataset.id, &author.id, "writer")
        .await
        .unwrap()
        .unwrap();
    store
        .set_built_in_field_enabled(DEFAULT_TENANT, &dataset.id, true)
        .await
        .unwrap();
    let schema = store.metadata_schema(DEFAULT_TENANT, &dataset.id).await.unwrap();
    assert!(
        schema.built_in_field_enabled,
        "BOOLEAN read back on every backend"
    );
    assert_eq!(
        schema.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["writer", "year"]
    );
    let values = store
        .documents_metadata(
            DEFAULT_TENANT,
            &dataset.id,
            DocumentSelection::Ids(std::slice::from_ref(&document)),
        )
        .await
        .unwrap();
    assert_eq!(
        values[0].1["writer"], "Ada",
        "renames move the values: {values:?}"
    );
    assert_eq!(values[0].1["year"], 1843);
    assert_eq!(values[0].1["document_name"], documents[0].name, "built-in values");
    assert!(
        store
            .delete_metadata_field(DEFAULT_TENANT, &dataset.id, &year.id)
            .await
            .unwrap()
    );
    let counts = store
        .metadata_value_counts(DEFAULT_TENANT, &dataset.id)
        .await
        .unwrap();
    assert_eq!(
        counts
            .get(&author.id)
            .copied()
            .or_else(|| counts.get("writer").copied()),
        Some(1)
    );

    let tag = store
        .create_tag(DEFAULT_TENANT, "knowledge", "Biology")
        .await
        .unwrap();
    assert!(matches!(
        store.create_tag(DEFAULT_TENANT, "knowledge", "Biology").await,
        Err(StoreError::DuplicateTagName(_))
    ));
    store
        .bind_tags(DEFAULT_TENANT, std::slice::from_ref(&tag.id), &dataset.id)
        .await
        .unwrap();
    let bound = store
        .target_tags(DEFAULT_TENANT, "knowledge", &dataset.id)
        .await
        .unwrap();
    assert_eq!((bound[0].name.as_str(), bound[0].binding_count), ("Biology", 1));
    let filter = ragd::store::DatasetListFilter {
        tag_ids: vec![tag.id.clone()],
        ..Default::default()
    };
    let (tagged, total) = store
        .filtered_datasets(DEFAULT_TENANT, &filter, 1, 20)
        .await
        .unwrap();
    assert_eq!((tagged[0].id.as_str(), total), (dataset.id.as_str(), 1));
    let listed = store
        .tags(DEFAULT_TENANT, "knowledge", Some("bio"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

async fn api_tokens(store: &Store) {
    let key = store
        .create_api_token(DEFAULT_TENANT, TokenType::Dataset, None)
        .await
        .unwrap();
    let token = store
        .verify_api_token(&key, TokenType::Dataset)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.tenant_id, DEFAULT_TENANT);
    assert!(
        store
            .verify_api_token(&key, TokenType::App)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .verify_api_token("dataset-wrong", TokenType::Dataset)
            .await
            .unwrap()
            .is_none()
    );
}

mod postgres {
    use sqlx::{Connection, Executor, PgConnection};

    /// A database created for one test run on a PostgreSQL server, dropped at the end.
    pub struct TestDatabase {
        admin_url: String,
        name: String,
        pub url: String,
    }

    impl TestDatabase {
        pub async fn create(admin_url: &str) -> Self {
            let name = format!("ragd_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::connect(admin_url)
                .await
                .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap();
            let base = admin_url
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(admin_url);
            Self {
                admin_url: admin_url.to_string(),
                url: format!("{base}/{name}"),
                name,
            }
        }

        pub async fn drop(self) {
            if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
                let _ = admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    )))
                    .await;
            }
        }
    }
}

/// The query log, uploaded files by id, and the counts `/metrics` reads.
async fn queries_files_and_stats(store: &Store) {
    let asked = store.create_dataset(new_dataset("Asked")).await.unwrap();
    let other = store.create_dataset(new_dataset("Other")).await.unwrap();
    let record = |dataset_id: &str, content: &str, source: QuerySource| {
        let (dataset_id, content) = (dataset_id.to_string(), content.to_string());
        async move {
            store
                .record_dataset_query(NewDatasetQuery {
                    tenant_id: DEFAULT_TENANT,
                    dataset_id: &dataset_id,
                    content: &content,
                    source,
                    source_app_id: None,
                    created_by_role: "account",
                    created_by: "owner-id",
                })
                .await
                .unwrap();
        }
    };
    record(&asked.id, "first question", QuerySource::HitTesting).await;
    record(&other.id, "elsewhere", QuerySource::HitTesting).await;
    record(&asked.id, "second question", QuerySource::App).await;
    record(&asked.id, "third question", QuerySource::HitTesting).await;
    let (latest, total) = store
        .dataset_queries(DEFAULT_TENANT, &asked.id, 1, 2)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        latest.iter().map(|q| q.content.as_str()).collect::<Vec<_>>(),
        ["third question", "second question"],
        "newest first, even within one second"
    );
    assert_eq!(latest[1].source, QuerySource::App);
    assert_eq!(latest[0].source, QuerySource::HitTesting);
    assert_eq!(
        (latest[0].created_by_role.as_str(), latest[0].created_by.as_str()),
        ("account", "owner-id")
    );
    assert!(latest[0].created_at > 0 && latest[0].dataset_id == asked.id);
    let (rest, _) = store
        .dataset_queries(DEFAULT_TENANT, &asked.id, 2, 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].content, "first question");
    let (foreign, total) = store
        .dataset_queries("another-tenant", &asked.id, 1, 20)
        .await
        .unwrap();
    assert!(foreign.is_empty() && total == 0, "scoped by workspace");

    // Files by id, and the counts a scrape reads.
    let statuses_before = store.document_status_counts().await.unwrap();
    let waiting_before = statuses_before
        .iter()
        .find(|(status, _)| status == "waiting")
        .map_or(0, |(_, n)| *n);
    let queue_before = store.queue_depth().await.unwrap();
    let files_before = store.count_upload_files(DEFAULT_TENANT).await.unwrap();
    let file = upload("asked.txt");
    let document = store
        .create_api_document(NewApiDocument {
            tenant_id: DEFAULT_TENANT.into(),
            dataset_id: asked.id.clone(),
            name: "asked.txt".into(),
            batch: "batch-q".into(),
            doc_form: "text_model".into(),
            doc_language: "English".into(),
            process_rule: json!({"mode": "automatic"}),
            file: file.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.count_upload_files(DEFAULT_TENANT).await.unwrap(),
        files_before + 1
    );
    let stored = store.upload_file(&file.id).await.unwrap().unwrap();
    assert_eq!(stored.tenant_id, DEFAULT_TENANT);
    assert_eq!(
        (
            stored.file.name.as_str(),
            stored.file.size,
            stored.file.storage_key.as_str()
        ),
        ("asked.txt", 42, "upload/asked.txt")
    );
    assert!(store.upload_file("no-such-file").await.unwrap().is_none());

    let statuses = store.document_status_counts().await.unwrap();
    let waiting = statuses
        .iter()
        .find(|(status, _)| status == "waiting")
        .map_or(0, |(_, n)| *n);
    assert_eq!(waiting, waiting_before + 1, "{statuses:?}");
    let queue = store.queue_depth().await.unwrap();
    assert_eq!(queue.waiting, queue_before.waiting + 1);
    // A held job counts as processing; once its lease runs out it is waiting again.
    let job = store.claim_job("stats-worker", 60).await.unwrap().unwrap();
    let held = store.queue_depth().await.unwrap();
    assert_eq!(
        (held.waiting, held.processing),
        (queue.waiting - 1, queue.processing + 1)
    );
    store
        .requeue_job(&job.id, "stats-worker", "try later")
        .await
        .unwrap();
    let expired = store.claim_job("stats-worker", -1).await.unwrap().unwrap();
    assert_eq!(expired.id, job.id);
    let lapsed = store.queue_depth().await.unwrap();
    assert_eq!(
        (lapsed.waiting, lapsed.processing),
        (queue.waiting, queue.processing)
    );
    assert_eq!(document.dataset_id, asked.id);

    // Deleting a dataset takes its query log with it.
    assert!(store.delete_dataset(DEFAULT_TENANT, &asked.id).await.unwrap());
    let (_, total) = store
        .dataset_queries(DEFAULT_TENANT, &asked.id, 1, 20)
        .await
        .unwrap();
    assert_eq!(total, 0);
    let (_, total) = store
        .dataset_queries(DEFAULT_TENANT, &other.id, 1, 20)
        .await
        .unwrap();
    assert_eq!(total, 1);
}

/// Annotations, their vectors, reply setting, hits and jobs, and the console's logs of an app.
async fn annotations_and_logs(store: &Store) {
    use ragd::store::{
        AnnotationSetting, AnnotationStatus, ConversationOrder, LogFilter, NewAnnotation, NewAnnotationHit,
        NewApp, NewConversation, NewMessage,
    };
    let new_app = |name: &str| NewApp {
        tenant_id: DEFAULT_TENANT.into(),
        name: name.into(),
        description: String::new(),
        mode: "chat".into(),
        icon_type: None,
        icon: None,
        icon_background: None,
        model_config: json!({}),
        created_by: None,
    };
    let app = store.create_app(new_app("annotated"), &[]).await.unwrap();
    let other = store.create_app(new_app("other"), &[]).await.unwrap();
    let annotate = |question: &str, answer: &str, embedding: Option<(Vec<f32>, String)>| NewAnnotation {
        tenant_id: DEFAULT_TENANT.into(),
        app_id: app.id.clone(),
        question: question.into(),
        content: answer.into(),
        account_id: Some("acc".into()),
        embedding,
    };
    let first = store
        .create_annotation(annotate("How long to steep?", "3 min (100%_sure)", None))
        .await
        .unwrap();
    let second = store
        .create_annotation(annotate(
            "What is oolong?",
            "Half oxidised",
            Some((vec![0.5, 0.5], "m1".into())),
        ))
        .await
        .unwrap();
    let (page, total) = store.list_annotations(&app.id, "", 1, 1).await.unwrap();
    assert_eq!(
        (page[0].id.as_str(), total),
        (second.id.as_str(), 2),
        "newest first"
    );
    let (found, total) = store.list_annotations(&app.id, "STEEP", 1, 20).await.unwrap();
    assert_eq!((found.len(), total), (1, 1));
    let (found, _) = store.list_annotations(&app.id, "100%_", 1, 20).await.unwrap();
    assert_eq!(found.len(), 1, "LIKE wildcards match literally");
    let (found, _) = store.list_annotations(&app.id, "0%s", 1, 20).await.unwrap();
    assert!(found.is_empty());
    assert_eq!(store.list_annotations(&other.id, "", 1, 20).await.unwrap().1, 0);
    assert!(store.annotation(&other.id, &first.id).await.unwrap().is_none());

    // Vectors: what a model lacks, stored unless the question changed meanwhile.
    let todo = store.annotations_to_embed(&app.id, "m1").await.unwrap();
    assert_eq!(todo, vec![(first.id.clone(), "How long to steep?".to_string())]);
    store
        .set_annotation_embedding(&app.id, &first.id, "stale question", &[1.0, 0.0], "m1")
        .await
        .unwrap();
    assert_eq!(store.annotations_to_embed(&app.id, "m1").await.unwrap().len(), 1);
    store
        .set_annotation_embedding(&app.id, &first.id, "How long to steep?", &[1.0, 0.0], "m1")
        .await
        .unwrap();
    let mut vectors = store.annotation_vectors(&app.id, "m1").await.unwrap();
    vectors.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(vectors.len(), 2);
    assert!(vectors.contains(&(first.id.clone(), vec![1.0, 0.0])));
    assert_eq!(store.annotations_to_embed(&app.id, "m2").await.unwrap().len(), 2);
    let updated = store
        .update_annotation(&app.id, &first.id, "How long?", "Three minutes", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.question.as_str(), updated.content.as_str()),
        ("How long?", "Three minutes")
    );
    assert_eq!(
        store.annotation_vectors(&app.id, "m1").await.unwrap().len(),
        1,
        "a changed question loses its vector"
    );
    assert!(
        store
            .update_annotation(&other.id, &first.id, "q", "a", None)
            .await
            .unwrap()
            .is_none()
    );

    // Reply setting: on, threshold changed, off.
    assert_eq!(store.annotation_setting(&app.id).await.unwrap(), None);
    let setting = AnnotationSetting {
        id: "7f1c0d9e-0000-4000-8000-000000000001".into(),
        app_id: app.id.clone(),
        score_threshold: 0.8,
        embedding_provider_name: "openai".into(),
        embedding_model_name: "text-embedding-3-small".into(),
        model_id: "m1".into(),
    };
    store
        .put_annotation_setting(DEFAULT_TENANT, &setting, Some("acc"))
        .await
        .unwrap();
    store
        .put_annotation_setting(
            DEFAULT_TENANT,
            &AnnotationSetting {
                score_threshold: 0.85,
                ..setting.clone()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .annotation_setting(&app.id)
            .await
            .unwrap()
            .unwrap()
            .score_threshold,
        0.85
    );
    let changed = store
        .set_annotation_threshold(&app.id, &setting.id, 0.9, "acc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.score_threshold, 0.9);
    assert!(
        store
            .set_annotation_threshold(&other.id, &setting.id, 0.1, "acc")
            .await
            .unwrap()
            .is_none()
    );
    store.delete_annotation_setting(&app.id).await.unwrap();
    assert_eq!(store.annotation_setting(&app.id).await.unwrap(), None);

    // Jobs: a second request while one runs gets the running one.
    let (job, new) = store
        .start_annotation_job(DEFAULT_TENANT, &app.id, "enable")
        .await
        .unwrap();
    assert!(new && job.status == "waiting");
    let (same, new) = store
        .start_annotation_job(DEFAULT_TENANT, &app.id, "enable")
        .await
        .unwrap();
    assert!(!new && same.id == job.id && same.status == "processing");
    store
        .set_annotation_job(&job.id, "error", "model missing")
        .await
        .unwrap();
    let read = store
        .annotation_job(&app.id, "enable", &job.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.status.as_str(), read.error_msg.as_str()),
        ("error", "model missing")
    );
    assert!(
        store
            .annotation_job(&app.id, "disable", &job.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .annotation_job(&other.id, "enable", &job.id)
            .await
            .unwrap()
            .is_none()
    );

    // A conversation whose answer came from an annotation, as logs show it.
    let user = store.end_user(DEFAULT_TENANT, &app.id, "ann").await.unwrap();
    let conversation_id = "7f1c0d9e-0000-4000-8000-0000000000c1".to_string();
    let message_id = "7f1c0d9e-0000-4000-8000-0000000000d1".to_string();
    let saved = store
        .save_message(
            &NewMessage {
                id: message_id.clone(),
                tenant_id: DEFAULT_TENANT.into(),
                app_id: app.id.clone(),
                conversation_id: conversation_id.clone(),
                parent_message_id: None,
                end_user_id: user.id.clone(),
                inputs: json!({}),
                query: "how long?".into(),
                answer: "Three minutes".into(),
                files: json!([]),
                retriever_resources: json!([]),
                model_provider: None,
                model_id: None,
                message_tokens: 0,
                answer_tokens: 0,
                provider_response_latency: 0.0,
                annotation_id: Some(first.id.clone()),
                created_at: 1_700_000_000,
            },
            Some(&NewConversation {
                id: conversation_id.clone(),
                mode: "chat".into(),
                name: "Steeping".into(),
                inputs: json!({}),
                introduction: String::new(),
            }),
        )
        .await
        .unwrap();
    assert!(saved);
    let stored = store.message(&app.id, &message_id).await.unwrap().unwrap();
    assert_eq!(stored.annotation_id.as_deref(), Some(first.id.as_str()));
    store
        .record_annotation_hit(&NewAnnotationHit {
            tenant_id: DEFAULT_TENANT.into(),
            app_id: app.id.clone(),
            annotation: updated.clone(),
            source: "api".into(),
            question: "how long?".into(),
            account_id: Some(user.id.clone()),
            score: 0.97,
            message_id: message_id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .annotation(&app.id, &first.id)
            .await
            .unwrap()
            .unwrap()
            .hit_count,
        1
    );
    let (hits, total) = store.annotation_hits(&app.id, &first.id, 1, 20).await.unwrap();
    assert_eq!(
        (total, hits[0].score, hits[0].annotation_content.as_str()),
        (1, 0.97, "Three minutes")
    );
    assert_eq!(
        store
            .annotation_hits(&other.id, &first.id, 1, 20)
            .await
            .unwrap()
            .1,
        0
    );
    let by_message = store
        .hits_of_messages(&app.id, std::slice::from_ref(&message_id))
        .await
        .unwrap();
    assert_eq!(by_message[&message_id].annotation_id, first.id);

    let filter = |keyword: &str, start: Option<i64>, annotation: AnnotationStatus| LogFilter {
        mode: "chat".into(),
        keyword: keyword.into(),
        start,
        end: None,
        annotation,
        order: ConversationOrder::UpdatedDesc,
        page: 1,
        limit: 20,
    };
    let (logs, total) = store
        .conversation_logs(&app.id, &filter("", None, AnnotationStatus::All))
        .await
        .unwrap();
    assert_eq!(total, 1);
    let log = &logs[0];
    assert_eq!(
        (log.message_count, log.end_user_session_id.as_deref()),
        (1, Some("ann"))
    );
    assert_eq!(
        log.first_message.as_ref().map(|m| m.query.as_str()),
        Some("how long?")
    );
    for (keyword, start, status, expected) in [
        ("THREE", None, AnnotationStatus::All, 1),
        ("steeping", None, AnnotationStatus::All, 1),
        ("oolong", None, AnnotationStatus::All, 0),
        ("", Some(1_800_000_000), AnnotationStatus::All, 0),
        ("", Some(1_600_000_000), AnnotationStatus::NotAnnotated, 1),
        ("", None, AnnotationStatus::Annotated, 0),
    ] {
        let (_, total) = store
            .conversation_logs(&app.id, &filter(keyword, start, status))
            .await
            .unwrap();
        assert_eq!(total, expected, "{keyword:?} {start:?} {status:?}");
    }
    assert_eq!(
        store
            .conversation_logs(&other.id, &filter("", None, AnnotationStatus::All))
            .await
            .unwrap()
            .1,
        0
    );
    assert!(
        store
            .conversation_log(&other.id, &conversation_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .conversation_log(&app.id, &conversation_id)
            .await
            .unwrap()
            .is_some()
    );

    // Deleting an annotation takes its hits; deleting the app takes the rest.
    assert!(store.delete_annotation(&app.id, &first.id).await.unwrap());
    assert!(!store.delete_annotation(&app.id, &first.id).await.unwrap());
    assert_eq!(
        store.annotation_hits(&app.id, &first.id, 1, 20).await.unwrap().1,
        0
    );
    assert!(!store.delete_annotation(&other.id, &second.id).await.unwrap());
    assert!(store.delete_app(DEFAULT_TENANT, &app.id).await.unwrap());
    assert!(store.annotation(&app.id, &second.id).await.unwrap().is_none());
}
