//! One page fetched through the outbound guard: redirects are followed by hand, each hop checked
//! again and kept on the site; bodies are bounded; every failure says why.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION, USER_AGENT};
use reqwest::{Method, StatusCode, Url};

use crate::outbound::{Outbound, ReadError, error_chain, read_limited, refusal};

/// The product token robots.txt groups are matched against.
pub const AGENT_TOKEN: &str = "ragd";
/// Time one request may take, body included.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest page body read.
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Redirect hops followed for one page.
const MAX_REDIRECTS: usize = 5;

/// Why a page was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 404 or 410: the page is not there (a re-sync removes its document).
    Gone(u16),
    /// Anything else: an error status, the guard's refusal, a timeout, a size or type the
    /// crawler does not take. A re-sync keeps the page's document.
    Failed(String),
}

impl Failure {
    pub fn reason(&self) -> String {
        match self {
            Failure::Gone(status) => format!("HTTP {status}: the page does not exist"),
            Failure::Failed(reason) => reason.clone(),
        }
    }
}

/// A page's answer.
#[derive(Debug)]
pub struct Fetched {
    /// Where the page was found, after redirects.
    pub url: Url,
    pub content_type: String,
    pub body: Vec<u8>,
}

fn user_agent() -> String {
    format!("{AGENT_TOKEN}/{} (website import)", env!("CARGO_PKG_VERSION"))
}

/// Whether two URLs are on the same site (scheme, host and port).
pub fn same_site(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// Fetches `url`, following same-site redirects.
pub async fn fetch(client: &Outbound, url: &Url, max_bytes: usize) -> Result<Fetched, Failure> {
    let mut current = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let request = client
            .request(Method::GET, current.as_str())
            .map_err(|e| Failure::Failed(format!("refused by the outbound guard: {e}")))?;
        let response = request
            .header(USER_AGENT, user_agent())
            .timeout(PAGE_TIMEOUT)
            .send()
            .await
            .map_err(|e| send_failure(&e))?;
        let status = response.status();
        if status.is_redirection() {
            let next = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| current.join(l).ok())
                .ok_or_else(|| {
                    Failure::Failed(format!("HTTP {}: redirect without a location", status.as_u16()))
                })?;
            if !same_site(url, &next) {
                return Err(Failure::Failed(format!("redirects off the site, to {next}")));
            }
            current = next;
            continue;
        }
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Err(Failure::Gone(status.as_u16()));
        }
        if !status.is_success() {
            return Err(Failure::Failed(format!("HTTP {}", status.as_u16())));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = read_limited(response, max_bytes).await.map_err(|e| match e {
            ReadError::TooLarge(limit) => Failure::Failed(format!("the page is larger than {limit} bytes")),
            ReadError::Transport(e) => send_failure(&e),
        })?;
        return Ok(Fetched {
            url: current,
            content_type,
            body,
        });
    }
    Err(Failure::Failed(format!("more than {MAX_REDIRECTS} redirects")))
}

fn send_failure(error: &reqwest::Error) -> Failure {
    if let Some(refused) = refusal(error) {
        return Failure::Failed(format!("refused by the outbound guard: {refused}"));
    }
    if error.is_timeout() {
        return Failure::Failed(format!("no answer within {}s", PAGE_TIMEOUT.as_secs()));
    }
    Failure::Failed(format!("cannot fetch the page: {}", error_chain(error)))
}
