//! The operational and file parts of the knowledge API: /metrics, request ids, size limits and
//! timeouts in the error envelope, upload checks, signed downloads and zips, the query log, and
//! the OpenAPI document checked against the router.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures::StreamExt;
use ragd::engine::IngestOptions;
use ragd::store::{DEFAULT_TENANT, QuerySource};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::knowledge_api::{Api, assert_error};
use crate::support;

/// A response's status, headers and body bytes.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 26)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A GET without an API key (metrics, signed links).
    async fn get_anonymous(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    /// A JSON request with the API key, whatever the answer's body is.
    async fn send_json(&self, method: &str, uri: &str, body: Value) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    /// Documents, upload rows, stored files and queued jobs: what a refused upload must not add.
    async fn footprint(&self, dataset_id: &str) -> (i64, i64, usize, i64) {
        let (_, list) = self
            .call("GET", &format!("/v1/datasets/{dataset_id}/documents"), None)
            .await;
        let store = self.engine.store();
        let files = store.count_upload_files(DEFAULT_TENANT).await.unwrap();
        let on_disk = walkdir::WalkDir::new(self.engine.file_store())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .count();
        let queued = store.queue_depth().await.unwrap().waiting;
        (list["total"].as_i64().unwrap(), files, on_disk, queued)
    }
}

/// Parses Prometheus text into `series -> value` (series written exactly as exposed).
fn parse_metrics(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

async fn scrape(api: &Api) -> HashMap<String, f64> {
    let answer = api.get_anonymous("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header("content-type"),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    parse_metrics(std::str::from_utf8(&answer.body).unwrap())
}

fn metric(metrics: &HashMap<String, f64>, series: &str) -> f64 {
    *metrics
        .get(series)
        .unwrap_or_else(|| panic!("no series {series}; have {:#?}", metrics.keys()))
}

#[tokio::test]
async fn metrics_count_routes_documents_and_embedding_and_retrievals_are_logged() {
    let api = Api::new().await;
    api.start_workers();
    let embedded_before = scrape(&api).await;
    let chunks_before = metric(&embedded_before, "ragd_embedded_chunks_total");
    let tokens_before = metric(&embedded_before, "ragd_embedded_tokens_total");

    let id = api.create_dataset("observed").await;
    let other = api.create_dataset("unobserved").await;
    let text = std::fs::read_to_string(support::repo_path("datasets/demo/tea.txt")).unwrap();
    let (status, created) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(
                json!({"name": "tea", "text": text, "indexing_technique": "high_quality",
                        "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    api.wait_until_indexed(&id, created["batch"].as_str().unwrap())
        .await;
    let document = created["document"]["id"].as_str().unwrap();
    let (_, detail) = api
        .call("GET", &format!("/v1/datasets/{id}/documents/{document}"), None)
        .await;
    let segments = detail["segment_count"].as_f64().unwrap();
    assert!(segments >= 1.0, "{detail}");
    // What the model read: each segment's text, counted by its tokenizer.
    let (_, listed) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{document}/segments?limit=100"),
            None,
        )
        .await;
    let counter = support::embedder().token_counter();
    let tokens = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| counter.count(s["content"].as_str().unwrap()) as f64)
        .sum::<f64>();
    assert!(tokens > 0.0, "{listed}");

    for dataset in [&id, &other] {
        let (status, _) = api.call("GET", &format!("/v1/datasets/{dataset}"), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = api.call("GET", "/v1/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .call("GET", "/v1/datasets/00000000-0000-0000-0000-00000000dead", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Retrievals are logged (failed ones are not).
    for (route, query) in [
        ("retrieve", "green tea"),
        ("hit-testing", "oolong"),
        ("retrieve", "matcha"),
    ] {
        let (status, answer) = api
            .call(
                "POST",
                &format!("/v1/datasets/{id}/{route}"),
                Some(json!({"query": query})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, _) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/retrieve"),
            Some(json!({"query": " "})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (logged, total) = api
        .engine
        .store()
        .dataset_queries(DEFAULT_TENANT, &id, 1, 10)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        logged.iter().map(|q| q.content.as_str()).collect::<Vec<_>>(),
        ["matcha", "oolong", "green tea"]
    );
    assert!(logged.iter().all(|q| q.source == QuerySource::HitTesting));
    let (_, other_total) = api
        .engine
        .store()
        .dataset_queries(DEFAULT_TENANT, &other, 1, 10)
        .await
        .unwrap();
    assert_eq!(other_total, 0);

    let metrics = scrape(&api).await;
    let series = |method: &str, route: &str, status: u16| {
        format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"")
    };
    let by_template = series("GET", "/v1/datasets/{dataset_id}", 200);
    assert_eq!(
        metric(&metrics, &format!("ragd_http_requests_total{{{by_template}}}")),
        2.0,
        "two datasets, one route template"
    );
    assert_eq!(
        metric(
            &metrics,
            &format!("ragd_http_request_duration_seconds_count{{{by_template}}}")
        ),
        2.0
    );
    let inf_bucket = metrics
        .iter()
        .find(|(series, _)| {
            series.starts_with("ragd_http_request_duration_seconds_bucket{")
                && series.contains(&by_template)
                && series.contains("le=\"+Inf\"")
        })
        .map(|(_, value)| *value);
    assert_eq!(inf_bucket, Some(2.0), "{metrics:?}");
    assert_eq!(
        metric(
            &metrics,
            &format!(
                "ragd_http_requests_total{{{}}}",
                series("GET", "/v1/datasets/{dataset_id}", 404)
            )
        ),
        1.0
    );
    assert_eq!(
        metric(
            &metrics,
            &format!("ragd_http_requests_total{{{}}}", series("GET", "unmatched", 404))
        ),
        1.0
    );
    assert_eq!(
        metric(
            &metrics,
            &format!(
                "ragd_http_requests_total{{{}}}",
                series("POST", "/v1/datasets/{dataset_id}/retrieve", 200)
            )
        ),
        2.0
    );
    assert_eq!(
        metric(
            &metrics,
            &format!(
                "ragd_http_requests_total{{{}}}",
                series("POST", "/v1/datasets/{dataset_id}/retrieve", 400)
            )
        ),
        1.0
    );
    assert_eq!(
        metric(
            &metrics,
            &format!("ragd_http_requests_total{{{}}}", series("GET", "/metrics", 200))
        ),
        1.0,
        "the first scrape counts in the second"
    );
    let text: String = metrics.keys().cloned().collect();
    assert!(!text.contains(&id), "raw paths never become labels");

    assert_eq!(metric(&metrics, "ragd_documents{status=\"completed\"}"), 1.0);
    assert_eq!(metric(&metrics, "ragd_indexing_queue_depth"), 0.0);
    assert_eq!(metric(&metrics, "ragd_indexing_jobs_processing"), 0.0);
    // Embedding counters are per process, and other tests embed concurrently: at least ours.
    assert!(metric(&metrics, "ragd_embedded_chunks_total") - chunks_before >= segments);
    assert!(metric(&metrics, "ragd_embedded_tokens_total") - tokens_before >= tokens);
    assert!(metric(&metrics, "ragd_embedding_seconds_total") > 0.0);

    // A new document waiting for a worker shows in the queue and the status counts.
    let (status, _) = api
        .call(
            "POST",
            &format!("/v1/datasets/{other}/document/create-by-text"),
            Some(
                json!({"name": "queued", "text": "steeped leaves", "indexing_technique": "high_quality",
                        "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // The status counts and the queue depth are two reads; a worker may claim the job between
    // them, so the check is repeated until one scrape sees both at the same moment.
    let mut seen = Vec::new();
    for _ in 0..50 {
        let metrics = scrape(&api).await;
        let waiting = metrics
            .get("ragd_documents{status=\"waiting\"}")
            .copied()
            .unwrap_or(0.0);
        let busy = ["parsing", "splitting", "indexing", "completed"]
            .iter()
            .map(|s| {
                metrics
                    .get(&format!("ragd_documents{{status=\"{s}\"}}"))
                    .copied()
                    .unwrap_or(0.0)
            })
            .sum::<f64>();
        let depth = metric(&metrics, "ragd_indexing_queue_depth");
        if waiting + busy == 2.0 && waiting == depth {
            return;
        }
        seen.push((waiting, busy, depth));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("a waiting document is a waiting job; (waiting, busy, queue depth) seen: {seen:?}");
}

/// Spans and events a test subscriber saw: (span name, request_id) and (event message, request_id
/// of the enclosing request span).
#[derive(Default, Clone)]
struct Seen {
    spans: Arc<Mutex<Vec<(String, String)>>>,
    events: Arc<Mutex<Vec<(String, String)>>>,
}

struct Fields(Vec<(String, String)>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_string(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

impl<S> tracing_subscriber::Layer<S> for Seen
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields(Vec::new());
        attrs.record(&mut fields);
        let request_id = fields
            .0
            .iter()
            .find(|(name, _)| name == "request_id")
            .map(|(_, value)| value.clone());
        if let Some(request_id) = &request_id {
            self.spans
                .lock()
                .unwrap()
                .push((attrs.metadata().name().to_string(), request_id.clone()));
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(RequestId(request_id.clone()));
            }
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let message = fields
            .0
            .iter()
            .find(|(name, _)| name == "message")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        let request_id = ctx.event_scope(event).and_then(|scope| {
            scope
                .from_root()
                .find_map(|span| span.extensions().get::<RequestId>().map(|r| r.0.clone()))
        });
        if let Some(request_id) = request_id {
            self.events.lock().unwrap().push((message, request_id));
        }
    }
}

struct RequestId(String);

#[tokio::test]
async fn request_ids_reach_the_log_spans_and_the_response() {
    use tracing_subscriber::layer::SubscriberExt;
    let api = Api::new().await;
    let seen = Seen::default();
    // This test's thread (and its one-thread runtime) logs to `seen`, whatever else is installed.
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(seen.clone()));

    let request = Request::get("/v1/datasets")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.key))
        .header("x-request-id", "trace-me-42")
        .body(Body::empty())
        .unwrap();
    let answer = api.send(request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("x-request-id"), "trace-me-42", "kept when given");

    let generated = api.get_anonymous("/v1/no-such-thing").await;
    assert_eq!(generated.status, StatusCode::NOT_FOUND);
    let new_id = generated.header("x-request-id").to_string();
    assert!(
        uuid::Uuid::parse_str(&new_id).is_ok(),
        "made when missing: {new_id}"
    );

    let spans = seen.spans.lock().unwrap().clone();
    assert!(
        spans.contains(&("request".to_string(), "trace-me-42".to_string())),
        "{spans:?}"
    );
    assert!(
        spans.contains(&("request".to_string(), new_id.clone())),
        "{spans:?}"
    );
    let events = seen.events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|(message, id)| message.contains("finished processing request") && id == "trace-me-42"),
        "the response log line carries the id: {events:?}"
    );
}

/// A request body that sends `first` and then never ends.
fn stalled_body(first: impl Into<axum::body::Bytes>) -> Body {
    let chunks =
        futures::stream::iter([Ok::<_, std::io::Error>(first.into())]).chain(futures::stream::pending());
    Body::from_stream(chunks)
}

#[tokio::test]
async fn limits_and_timeouts_answer_in_the_error_envelope() {
    let api = Api::with_config(|config| {
        config.upload.file_size_limit_mb = 1;
        config.server.request_timeout_secs = 1;
    })
    .await;
    let id = api.create_dataset("limits").await;
    let before = api.footprint(&id).await;

    // One byte over the configured limit: 413 file_too_large, nothing kept.
    let over = vec![b'a'; 1024 * 1024 + 1];
    for uri in [
        format!("/v1/datasets/{id}/document/create-by-file"),
        format!("/v1/datasets/{id}/document/create_by_file"),
    ] {
        let (status, body) = api
            .multipart(
                &uri,
                ("big.txt", &over),
                Some(json!({"indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}})),
            )
            .await;
        assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large");
        assert!(body["message"].as_str().unwrap().contains("1 MB"), "{body}");
    }
    // Exactly the limit is accepted.
    let (status, body) = api
        .multipart(
            &format!("/v1/datasets/{id}/document/create-by-file"),
            ("fits.txt", &over[1..]),
            Some(json!({"indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after_one = api.footprint(&id).await;
    assert_eq!(
        after_one,
        (before.0 + 1, before.1 + 1, before.2 + 1, before.3 + 1),
        "only the accepted upload left anything"
    );

    // The size is counted as the bytes arrive: an upload that passed the limit is refused at
    // once, even though its client has not finished sending.
    let mut head =
        b"--stalled\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\n\r\n".to_vec();
    head.extend_from_slice(&over);
    let request = Request::post(format!("/v1/datasets/{id}/document/create-by-file"))
        .header(header::AUTHORIZATION, format!("Bearer {}", api.key))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=stalled")
        .body(stalled_body(head))
        .unwrap();
    let answer = api.send(request).await;
    assert_error(
        answer.status,
        &answer.json(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
    );

    // A JSON body past the body limit.
    let answer = api
        .send_json(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            json!({"name": "huge", "text": "x".repeat(3 * 1024 * 1024)}),
        )
        .await;
    assert_error(
        answer.status,
        &answer.json(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_entity_too_large",
    );

    // A client that stops sending: 408 in the envelope, with the request id.
    let request = Request::post(format!("/v1/datasets/{id}/document/create-by-file"))
        .header(header::AUTHORIZATION, format!("Bearer {}", api.key))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=stalled")
        .body(stalled_body(
            &b"--stalled\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.txt\"\r\n\r\nsome"
                [..],
        ))
        .unwrap();
    let started = std::time::Instant::now();
    let answer = api.send(request).await;
    assert_error(
        answer.status,
        &answer.json(),
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(!answer.header("x-request-id").is_empty());
    assert_eq!(
        api.footprint(&id).await,
        after_one,
        "the stalled upload left nothing"
    );

    // A wrong method on a known path is 405 in the envelope.
    let answer = api.send_json("DELETE", "/v1/datasets", json!({})).await;
    assert_error(
        answer.status,
        &answer.json(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

#[tokio::test]
async fn refused_uploads_store_and_queue_nothing() {
    let api = Api::with_config(|config| {
        config.upload.blocked_extensions = vec!["csv".into()];
    })
    .await;
    let id = api.create_dataset("uploads").await;
    let data = json!({"indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}});
    let (status, created) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(json!({"name": "existing", "text": "a document to update", "indexing_technique": "high_quality",
                        "process_rule": {"mode": "automatic"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let doc = created["document"]["id"].as_str().unwrap().to_string();
    let before = api.footprint(&id).await;

    let refusals: [(&str, &[u8], StatusCode, &str, &str); 8] = [
        (
            "what?.txt",
            b"text",
            StatusCode::BAD_REQUEST,
            "invalid_param",
            "not allowed in file names",
        ),
        (
            "a:b.txt",
            b"text",
            StatusCode::BAD_REQUEST,
            "invalid_param",
            "not allowed in file names",
        ),
        (
            "..",
            b"text",
            StatusCode::BAD_REQUEST,
            "invalid_param",
            "not a valid file name",
        ),
        (
            "table.csv",
            b"a,b\n1,2\n",
            StatusCode::BAD_REQUEST,
            "invalid_param",
            "security reasons",
        ),
        (
            "photo.png",
            b"\x89PNG\r\n\x1a\n",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            ".png is not supported",
        ),
        (
            "README",
            b"plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            "no extension",
        ),
        (
            "report.pdf",
            b"PK\x03\x04 a zip, not a pdf",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            "zip archive",
        ),
        (
            "book.docx",
            b"%PDF-1.7\n",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
            "does not match",
        ),
    ];
    let create = [
        ("POST", format!("/v1/datasets/{id}/document/create-by-file")),
        ("POST", format!("/v1/datasets/{id}/document/create_by_file")),
    ];
    let update = [
        (
            "POST",
            format!("/v1/datasets/{id}/documents/{doc}/update-by-file"),
        ),
        (
            "POST",
            format!("/v1/datasets/{id}/documents/{doc}/update_by_file"),
        ),
        ("PATCH", format!("/v1/datasets/{id}/documents/{doc}")),
    ];
    for (method, uri) in create.iter().chain(update.iter()) {
        for (name, bytes, status, code, says) in &refusals {
            let (got, body) = api
                .multipart_with(method, uri, Some((name, bytes)), Some(data.clone()))
                .await;
            assert_error(got, &body, *status, code);
            assert!(
                body["message"].as_str().unwrap().contains(says),
                "{method} {uri} {name}: {body}"
            );
        }
    }
    assert_eq!(api.footprint(&id).await, before, "nothing stored or queued");
    let (_, unchanged) = api
        .call("GET", &format!("/v1/datasets/{id}/documents/{doc}"), None)
        .await;
    assert_eq!(unchanged["name"], "existing");

    // Long names are cut to 200 characters, keeping the extension.
    let long = format!("{}.md", "n".repeat(300));
    let (status, answer) = api
        .multipart(
            &format!("/v1/datasets/{id}/document/create-by-file"),
            (&long, b"# Title\n\nbody"),
            Some(data.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let stored = answer["document"]["name"].as_str().unwrap();
    assert_eq!(stored.chars().count(), 200);
    assert!(stored.ends_with("n.md"));
    assert_eq!(
        answer["document"]["data_source_detail_dict"]["upload_file"]["name"],
        stored
    );
}

/// The path and query of a signed link, to send to the router.
fn local_part(url: &str, base: &str) -> String {
    url.strip_prefix(base)
        .unwrap_or_else(|| panic!("{url} does not start with {base}"))
        .to_string()
}

/// The secret key of the signed-link test (32 bytes at least, as configured keys must be).
const SIGNING_KEY: &str = "test-signing-key-of-32-bytes-len";

#[tokio::test]
async fn signed_links_download_files_and_zips() {
    const BASE: &str = "https://kb.example.org";
    let api = Api::with_config(|config| {
        config.server.files_url = Some(format!("{BASE}/"));
        config.secret_key = Some(ragd::config::Secret(SIGNING_KEY.into()));
    })
    .await;
    let id = api.create_dataset("files").await;
    let other = api.create_dataset("elsewhere").await;
    let data = json!({"indexing_technique": "high_quality", "process_rule": {"mode": "automatic"}});
    let upload = |dataset: String, name: &'static str, bytes: &'static [u8]| {
        let data = data.clone();
        let api = &api;
        async move {
            let (status, answer) = api
                .multipart(
                    &format!("/v1/datasets/{dataset}/document/create-by-file"),
                    (name, bytes),
                    Some(data),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer["document"]["id"].as_str().unwrap().to_string()
        }
    };
    let notes = upload(id.clone(), "notes.md", b"# Notes\n\nfirst").await;
    let notes_again = upload(id.clone(), "notes.md", b"# Notes\n\nsecond").await;
    let page = upload(id.clone(), "page 1.html", b"<html><body>Hi</body></html>").await;
    let foreign = upload(other.clone(), "foreign.md", b"# elsewhere").await;
    let (_, by_text) = api
        .call(
            "POST",
            &format!("/v1/datasets/{id}/document/create-by-text"),
            Some(
                json!({"name": "typed", "text": "typed words", "indexing_technique": "high_quality",
                        "process_rule": {"mode": "automatic"}}),
            ),
        )
        .await;
    let by_text = by_text["document"]["id"].as_str().unwrap().to_string();
    // A document ingested from the command line has no uploaded file.
    api.engine
        .ingest(IngestOptions {
            tenant_id: DEFAULT_TENANT.into(),
            dataset: "files".into(),
            paths: vec![support::repo_path("datasets/demo/tea.txt")],
            template: None,
            economy: false,
            doc_language: None,
            embedding_model: None,
            progress: false,
        })
        .await
        .unwrap();
    let (_, list) = api
        .call("GET", &format!("/v1/datasets/{id}/documents?keyword=tea"), None)
        .await;
    let ingested = list["data"][0]["id"].as_str().unwrap().to_string();

    // download: a signed attachment link that serves the bytes.
    let (status, answer) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{notes}/download"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let url = answer["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{BASE}/files/")), "{url}");
    assert!(url.contains("/file-preview?timestamp="), "{url}");
    assert!(url.ends_with("&as_attachment=true"), "{url}");
    let file = api.get_anonymous(&local_part(url, BASE)).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, b"# Notes\n\nfirst");
    assert_eq!(file.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(file.header("content-length"), "14");
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename*=UTF-8''notes.md"
    );

    // upload-file (legacy): the file object with an inline link and a download link.
    let (status, object) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{page}/upload-file"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{object}");
    assert_eq!(object["name"], "page 1.html");
    assert_eq!(object["extension"], "html");
    assert_eq!(object["mime_type"], "text/html");
    assert_eq!(object["size"], 28);
    assert!(object["created_at"].is_f64());
    let inline_url = object["url"].as_str().unwrap();
    let download_url = object["download_url"].as_str().unwrap();
    assert!(download_url.ends_with("&as_attachment=true"), "{download_url}");
    assert_ne!(
        download_url,
        format!("{inline_url}&as_attachment=true"),
        "a download link has its own signature"
    );
    // HTML could run script on this origin: even its inline link downloads opaque bytes.
    let inline = api.get_anonymous(&local_part(inline_url, BASE)).await;
    assert_eq!(inline.status, StatusCode::OK);
    assert_eq!(
        inline.header("content-disposition"),
        "attachment; filename*=UTF-8''page%201.html"
    );
    assert_eq!(inline.header("content-type"), "application/octet-stream");
    let attached = api
        .get_anonymous(&local_part(object["download_url"].as_str().unwrap(), BASE))
        .await;
    assert!(attached.header("content-disposition").starts_with("attachment;"));

    // Tampered, moved to another file, or expired links are refused.
    let path = local_part(url, BASE);
    let sign_at = path.find("sign=").unwrap() + "sign=".len();
    let mut tampered = path.clone();
    let flipped = if &path[sign_at..sign_at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(sign_at..sign_at + 1, flipped);
    let (_, page_object) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{page}/upload-file"),
            None,
        )
        .await;
    let page_file = page_object["id"].as_str().unwrap();
    let notes_file = path.split('/').nth(2).unwrap().to_string();
    let moved = path.replace(&notes_file, page_file);
    // Links are signed with the file-link key derived from the secret key.
    let file_key = ragd::api::keys::derive(SIGNING_KEY.as_bytes(), ragd::api::keys::Purpose::FileLinks);
    let signer = ragd::api::signing::FileSigner::new(file_key.to_vec(), BASE, 300);
    let expired = signer.signed_url_at(&notes_file, true, ragd::store::now() - 301);
    let fresh = signer.signed_url_at(&notes_file, true, ragd::store::now() - 60);
    let other_key = ragd::api::signing::FileSigner::new(b"guessed".to_vec(), BASE, 300).signed_url_at(
        &notes_file,
        true,
        ragd::store::now(),
    );
    for refused in [
        tampered,
        moved,
        local_part(&expired, BASE),
        local_part(&other_key, BASE),
    ] {
        let answer = api.get_anonymous(&refused).await;
        assert_error(answer.status, &answer.json(), StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(
        api.get_anonymous(&local_part(&fresh, BASE)).await.status,
        StatusCode::OK
    );
    let unsigned = api
        .get_anonymous(&format!("/files/{notes_file}/file-preview"))
        .await;
    assert_error(
        unsigned.status,
        &unsigned.json(),
        StatusCode::BAD_REQUEST,
        "invalid_param",
    );
    let gone = signer.signed_url_at("0b5b4bd6-5a3c-4a8e-9a55-2d9b6f4f0000", false, ragd::store::now());
    let answer = api.get_anonymous(&local_part(&gone, BASE)).await;
    assert_error(answer.status, &answer.json(), StatusCode::NOT_FOUND, "not_found");

    // Another dataset's document, an unknown one, or one without a file: 404.
    for (dataset, document) in [
        (&id, &foreign),
        (&other, &notes),
        (&id, &"00000000-0000-0000-0000-000000000bad".to_string()),
    ] {
        for route in ["download", "upload-file"] {
            let (status, body) = api
                .call(
                    "GET",
                    &format!("/v1/datasets/{dataset}/documents/{document}/{route}"),
                    None,
                )
                .await;
            assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
        }
    }
    let (status, body) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{ingested}/download"),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert!(
        body["message"].as_str().unwrap().contains("has no uploaded file"),
        "{body}"
    );
    // A document created by text keeps its text as a .txt upload, as in Dify.
    let (status, answer) = api
        .call(
            "GET",
            &format!("/v1/datasets/{id}/documents/{by_text}/download"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let typed = api
        .get_anonymous(&local_part(answer["url"].as_str().unwrap(), BASE))
        .await;
    assert_eq!(typed.body, b"typed words");
    assert_eq!(
        typed.header("content-disposition"),
        "attachment; filename*=UTF-8''typed"
    );

    // download-zip: every file once, names made unique.
    let zip_uri = format!("/v1/datasets/{id}/documents/download-zip");
    let answer = api
        .send_json(
            "POST",
            &zip_uri,
            json!({"document_ids": [notes, notes_again, page, notes]}),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), "application/zip");
    assert!(answer.header("content-disposition").starts_with("attachment"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(answer.body.clone())).unwrap();
    let mut names: Vec<String> = archive.file_names().map(str::to_string).collect();
    names.sort();
    assert_eq!(names, ["notes (1).md", "notes.md", "page 1.html"]);
    let mut second = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("notes (1).md").unwrap(), &mut second).unwrap();
    assert_eq!(second, "# Notes\n\nsecond");
    assert_eq!(
        std::fs::read_dir(api.engine.config().data_dir.join("tmp"))
            .unwrap()
            .count(),
        0,
        "no zip left on disk"
    );
    let too_many: Vec<String> = (0..101)
        .map(|n| format!("00000000-0000-0000-0000-{n:012}"))
        .collect();
    for (body, status, code) in [
        (
            json!({"document_ids": []}),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            json!({"document_ids": too_many}),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "invalid_param"),
        (
            json!({"document_ids": [notes, foreign]}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"document_ids": [notes, ingested]}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        let answer = api.send_json("POST", &zip_uri, body.clone()).await;
        assert_error(answer.status, &answer.json(), status, code);
    }
}

/// `(METHOD, /path)` of every `.route(...)` call in a router source file, paths prefixed.
fn routes_in_source(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        let call = &rest[at + ".route(".len()..];
        // The call's text up to its closing parenthesis.
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("balanced .route( call");
        let body = &call[..end];
        let path = body.split('"').nth(1).expect("a path literal");
        for method in ["get", "post", "put", "patch", "delete"] {
            let called = body.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0 || matches!(body.as_bytes()[i - 1], b'.' | b' ' | b'\n' | b'(' | b',' | b':')
            });
            if called {
                routes.insert((method.to_uppercase(), format!("{prefix}{path}")));
            }
        }
        rest = &call[end..];
    }
    routes
}

/// The `(METHOD, /path)` operations a served OpenAPI document describes, after checking that
/// it is OpenAPI 3, that every operation documents its answers and has a unique operation id,
/// and that every `$ref` names a schema the document holds.
async fn documented_operations(api: &Api, uri: &str) -> BTreeSet<(String, String)> {
    let answer = api.get_anonymous(uri).await;
    assert_eq!(answer.status, StatusCode::OK, "{uri}");
    assert_eq!(answer.header("content-type"), "application/json");
    let document = answer.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            assert!(
                operation["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its answers"
            );
            if let Some(id) = operation["operationId"].as_str() {
                assert!(
                    operation_ids.insert(id.to_string()),
                    "operationId {id} is used twice"
                );
            }
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let name = reference.split('"').next().unwrap();
        let name = name
            .strip_prefix("#/components/schemas/")
            .expect("a local schema $ref");
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{uri}: $ref to a missing schema {name}"
        );
    }
    documented
}

/// Both ways: every registered route is documented and every documented operation registered;
/// then the router answers each documented operation (no fallback 404, no 405).
async fn assert_documents_router(
    api: &Api,
    file: &str,
    documented: &BTreeSet<(String, String)>,
    registered: &BTreeSet<(String, String)>,
) {
    let undocumented: Vec<_> = registered.difference(documented).collect();
    let unrouted: Vec<_> = documented.difference(registered).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from {file}: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented in {file} but not registered: {unrouted:?}"
    );
    for (method, path) in documented {
        let uri = path
            .split('/')
            .map(|segment| match segment {
                s if s.starts_with('{') && s.ends_with("_id}") => "00000000-0000-0000-0000-000000000001",
                s if s.starts_with('{') => "x",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let request = Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let answer = api.send(request).await;
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        if answer.status == StatusCode::NOT_FOUND {
            assert_ne!(
                answer.json()["message"],
                ragd::api::NOT_FOUND_MESSAGE,
                "{method} {uri} is not routed"
            );
        }
    }
}

#[tokio::test]
async fn openapi_lists_exactly_the_routes_the_router_serves() {
    let api = Api::new().await;
    let documented = documented_operations(&api, "/v1/openapi.json").await;
    let top = std::fs::read_to_string(support::repo_path("src/api/mod.rs")).unwrap();
    let knowledge = std::fs::read_to_string(support::repo_path("src/api/knowledge/mod.rs")).unwrap();
    let app = std::fs::read_to_string(support::repo_path("src/api/app/mod.rs")).unwrap();
    let external = std::fs::read_to_string(support::repo_path("src/api/external/mod.rs")).unwrap();
    assert!(
        top.contains(".nest(\"/external\", external::routes())"),
        "the External Knowledge API is nested under /external as this test assumes"
    );
    assert!(
        top.contains(".nest(\"/v1\", knowledge::routes().merge(app::routes()))"),
        "the knowledge and app routes are nested under /v1 as this test assumes"
    );
    let mut registered = routes_in_source(&top, "");
    registered.extend(routes_in_source(&knowledge, "/v1"));
    registered.extend(routes_in_source(&app, "/v1"));
    registered.extend(routes_in_source(&external, "/external"));
    assert!(registered.len() > 40, "{registered:?}");
    assert_documents_router(&api, "src/api/openapi.json", &documented, &registered).await;
}

#[tokio::test]
async fn console_openapi_lists_exactly_the_routes_the_console_router_serves() {
    let api = Api::new().await;
    let documented = documented_operations(&api, "/console/api/openapi.json").await;
    let top = std::fs::read_to_string(support::repo_path("src/api/mod.rs")).unwrap();
    let console = std::fs::read_to_string(support::repo_path("src/api/console/mod.rs")).unwrap();
    let datasets = std::fs::read_to_string(support::repo_path("src/api/console/datasets/mod.rs")).unwrap();
    let apps = std::fs::read_to_string(support::repo_path("src/api/console/apps/mod.rs")).unwrap();
    assert!(
        top.contains(".nest(\"/console/api\", console::routes())")
            && console.contains(".merge(datasets::routes())")
            && console.contains(".merge(apps::routes())"),
        "the console routes are nested and merged as this test assumes"
    );
    let mut registered = BTreeSet::new();
    for source in [&console, &datasets, &apps] {
        registered.extend(routes_in_source(source, "/console/api"));
    }
    assert!(registered.len() > 90, "{registered:?}");
    assert_documents_router(&api, "src/api/console/openapi.json", &documented, &registered).await;
}
