//! The bomb corpus against a running server (security suite): each hostile document, uploaded
//! through the knowledge API to a `ragd serve` child process, fails with its message stored on the
//! document (or is defused), the server keeps answering, and the server's peak resident memory
//! grows by less than [`PEAK_RSS_GROWTH_BOUND`] while it parses each one (VmHWM of the child, reset
//! before each bomb). Then, in process: the console's file preview refuses a bomb with a 4xx, and
//! the parses the API triggers answer 429 when the parse pool is full instead of queueing.

#[path = "../../pipelines/tests/support/bombs.rs"]
mod bombs;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::console_datasets::uri;
use crate::console_support::Console;
use crate::knowledge_api::assert_error;

/// The stated bound on the server's peak resident memory growth for one bomb: the default
/// decompression budget (200 MiB) plus working room. Unbounded, the PDF bombs ask for 8 GiB each.
const PEAK_RSS_GROWTH_BOUND: u64 = 512 << 20;

/// A `ragd serve` process on its own port, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data_dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(data_dir.join("serve.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ragd"))
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "serve",
                "--workers",
                "1",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env_remove("DATABASE_URL")
            .env_remove("RAGD_DATABASE_URL")
            .env_remove("RAGD_CONFIG")
            .env(
                "RAGD_SECRET_KEY",
                "bomb-suite-secret-key-0123456789abcdef0123456789abcdef",
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ragd serve starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of the server's /proc status, in bytes.
    fn status_bytes(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("server is alive");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .unwrap_or_else(|| panic!("no {field} in the server's status"))
    }

    /// Resets the server's peak resident size to its current one (Linux 4.0+).
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").expect("reset VmHWM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dataset_key(data_dir: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ragd"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["api-key", "create"])
        .env_remove("DATABASE_URL")
        .env_remove("RAGD_DATABASE_URL")
        .env_remove("RAGD_CONFIG")
        .output()
        .expect("ragd api-key create runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    async fn json(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn upload(&self, dataset: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
        let boundary = "bomb-suite-boundary";
        let data = json!({"indexing_technique": "economy", "process_rule": {"mode": "automatic"}});
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n{data}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .http
            .post(format!(
                "{}/v1/datasets/{dataset}/document/create-by-file",
                self.base
            ))
            .bearer_auth(&self.key)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn bombs_fail_one_by_one_while_the_server_stays_small_and_answering() {
    let dir = tempfile::tempdir().unwrap();
    let key = dataset_key(dir.path());
    let server = Server::start(dir.path());
    let client = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        key,
    };
    // Up within 30 s (a cold start opens the database and runs migrations).
    let started = Instant::now();
    loop {
        if let Ok(response) = client
            .http
            .get(format!("{}/v1/datasets", client.base))
            .bearer_auth(&client.key)
            .send()
            .await
            && response.status().is_success()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "ragd serve did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, dataset) = client
        .json(
            reqwest::Method::POST,
            "/v1/datasets",
            Some(json!({"name": "bombs", "indexing_technique": "economy"})),
        )
        .await;
    assert_eq!(status, 200, "{dataset}");
    let dataset = dataset["id"].as_str().unwrap().to_string();

    // A plain document first, so what the first indexing loads (the tokenizer, the model) is in
    // the baseline rather than in the first bomb's growth.
    let (status, _) = client
        .upload(
            &dataset,
            "plain.txt",
            b"Green tea is steamed, black tea is oxidised.",
        )
        .await;
    assert_eq!(status, 200);
    wait_until_finished(&client, &dataset, "plain.txt").await;

    let mut report = Vec::new();
    for bomb in bombs::corpus() {
        server.reset_peak();
        let before = server.status_bytes("VmRSS:");
        let started = Instant::now();
        let (status, created) = client.upload(&dataset, bomb.name, &bomb.bytes).await;
        assert_eq!(status, 200, "{}: {created}", bomb.name);
        let batch = created["batch"].as_str().unwrap().to_string();
        let item = loop {
            let (status, body) = client
                .json(
                    reqwest::Method::GET,
                    &format!("/v1/datasets/{dataset}/documents/{batch}/indexing-status"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let item = body["data"][0].clone();
            if item["indexing_status"] == "completed" || item["indexing_status"] == "error" {
                break item;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} ({}) did not finish: {item}",
                bomb.name,
                bomb.attack
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let elapsed = started.elapsed();
        let growth = server.status_bytes("VmHWM:").saturating_sub(before);
        let outcome = item["error"].as_str().map_or_else(
            || format!("indexed ({})", item["indexing_status"]),
            |error| format!("error: {error}"),
        );
        report.push(format!(
            "{:<16} peak +{:>4} MiB  {:>7.2?}  {outcome}",
            bomb.name,
            growth >> 20,
            elapsed
        ));
        assert!(
            growth < PEAK_RSS_GROWTH_BOUND,
            "{} ({}): the server's peak RSS grew by {} MiB",
            bomb.name,
            bomb.attack,
            growth >> 20
        );
        let expected_error = match bomb.name {
            "flate-bomb.pdf" | "objstm-bomb.pdf" => Some("possible decompression bomb"),
            "zip-bomb.docx" => Some("possible zip bomb"),
            "pages.pdf" => Some("document has 100000 pages, the limit is 2000"),
            "nested.json" => Some("recursion limit"),
            _ => None,
        };
        if let Some(expected) = expected_error {
            assert_eq!(item["indexing_status"], "error", "{}: {item}", bomb.name);
            let error = item["error"].as_str().unwrap_or_default();
            assert!(error.contains(expected), "{}: {error}", bomb.name);
        }
        // The server keeps answering after each one.
        let (status, _) = client.json(reqwest::Method::GET, "/v1/datasets", None).await;
        assert_eq!(status, 200, "after {}", bomb.name);
    }
    println!("{}", report.join("\n"));
}

/// Waits (up to 60 s) until the dataset's document `name` has finished indexing.
async fn wait_until_finished(client: &Client, dataset: &str, name: &str) {
    let started = Instant::now();
    loop {
        let (status, list) = client
            .json(
                reqwest::Method::GET,
                &format!("/v1/datasets/{dataset}/documents"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{list}");
        let finished = list["data"].as_array().unwrap().iter().any(|doc| {
            doc["name"] == name
                && (doc["indexing_status"] == "completed" || doc["indexing_status"] == "error")
        });
        if finished {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} did not finish: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A PDF whose only page inflates to 1 GiB, as a console upload.
async fn upload_bomb(c: &Console, s: &crate::console_support::Session) -> String {
    let (status, file) = s
        .upload(c, "bomb.pdf", &bombs::pdf_flate_bomb(1 << 30), Some("datasets"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    file["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn console_preview_refuses_a_bomb_and_answers_429_when_the_parse_pool_is_full() {
    let c = Console::with_config(|config| config.ingest.parse_concurrency = Some(1)).await;
    let owner = c.owner().await;
    let id = upload_bomb(&c, &owner).await;
    let preview = uri(&format!("/files/{id}/preview"));

    let (status, answer) = owner.call(&c, "GET", &preview, None).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("possible decompression bomb"), "{message}");
    assert_eq!(c.engine.parse_pool().busy(), 0, "the slot was given back");

    // Every slot taken (an indexing run, or parsers still winding down): the preview does not
    // queue behind them.
    let held = c.engine.parse_pool().try_acquire().expect("the only slot");
    let (status, answer) = owner.call(&c, "GET", &preview, None).await;
    assert_error(
        status,
        &answer,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );

    // The indexing estimate is an API-triggered parse too.
    let (status, answer) = owner
        .call(
            &c,
            "POST",
            &uri("/datasets/indexing-estimate"),
            Some(json!({
                "info_list": {"data_source_type": "upload_file", "file_info_list": {"file_ids": [id]}},
                "indexing_technique": "high_quality",
                "process_rule": {"mode": "automatic"},
                "doc_form": "text_model",
            })),
        )
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
    drop(held);

    let (status, answer) = owner.call(&c, "GET", &preview, None).await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
}

/// `POST /v1/files/upload` of `bytes` as `name` with an app key; returns the file's id.
async fn upload_app_file(apps: &crate::apps_api::AppsApi, key: &str, name: &str, bytes: &[u8]) -> String {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    let boundary = "bomb-app-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nann\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method("POST")
        .uri("/v1/files/upload")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let response = apps.api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let file: Value = serde_json::from_slice(&bytes).unwrap();
    file["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn chat_attachments_refuse_a_bomb_and_answer_429_when_the_parse_pool_is_full() {
    let stub = crate::openai_stub::OpenAiStub::start().await;
    let apps = crate::apps_api::AppsApi::new(Some(&stub)).await;
    let key = apps.app("chat", crate::apps_api::tea_config()).await;
    let file = upload_app_file(&apps, &key, "bomb.pdf", &bombs::pdf_flate_bomb(1 << 30)).await;
    let message = json!({"query": "What does it say?", "inputs": {"audience": "x"}, "user": "ann",
        "files": [{"type": "document", "transfer_method": "local_file", "upload_file_id": file}]});

    let (status, answer) = apps
        .call(&key, "POST", "/v1/chat-messages", Some(message.clone()))
        .await;
    assert_error(status, &answer, StatusCode::BAD_REQUEST, "invalid_param");
    let text = answer["message"].as_str().unwrap();
    assert!(text.contains("possible decompression bomb"), "{text}");
    assert!(stub.requests().is_empty(), "nothing reached the model");

    let pool = apps.api.engine.parse_pool();
    let held: Vec<_> = std::iter::from_fn(|| pool.try_acquire()).collect();
    assert_eq!(held.len(), pool.slots());
    let (status, answer) = apps.call(&key, "POST", "/v1/chat-messages", Some(message)).await;
    assert_error(
        status,
        &answer,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
    drop(held);
    assert_eq!(pool.busy(), 0);
}
