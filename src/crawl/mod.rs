//! Website import: a same-site crawler that turns pages into documents.
//!
//! A crawl starts at one URL (and the site's sitemap when asked), follows links that stay on the
//! same site (scheme, host and port) up to a link depth and a page limit, honours robots.txt
//! (the group for `ragd`, else `*`), and fetches every page through the outbound guard with a
//! timeout and a size bound. A page that fails is reported with the reason and the crawl goes
//! on. Crawls run in the background ([`job`]); their pages wait in SQL until documents are made
//! of them, and a re-sync compares a new crawl with a dataset's documents ([`sync`]).

pub mod fetch;
pub mod job;
pub mod options;
pub mod page;
pub mod robots;
pub mod sync;

use std::collections::{HashSet, VecDeque};

use pipelines::ParseLimits;
use regex::Regex;
use reqwest::Url;
use tokio::sync::mpsc;

pub use self::fetch::Failure;
pub use self::options::CrawlOptions;
pub use self::page::Page;
use self::robots::Robots;
use crate::outbound::Outbound;

/// Sitemaps read for one crawl (an index's children count).
const MAX_SITEMAPS: usize = 5;

/// What a crawl reports as it goes.
#[derive(Debug)]
pub enum Event {
    /// URLs found so far (capped at the limit).
    Discovered(usize),
    /// A page imported, or why not.
    Page {
        url: String,
        result: Result<Page, Failure>,
    },
}

/// How a crawl ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Stopped at the page limit with links left unvisited.
    pub limit_reached: bool,
}

/// Settings of the crawler that are not the request's.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_page_bytes: usize,
    pub parse: ParseLimits,
}

/// Crawls from `start`, sending events as pages are read. Stops early when `events` is closed.
pub async fn crawl(
    client: &Outbound,
    start: &Url,
    options: &CrawlOptions,
    limits: &Limits,
    events: mpsc::Sender<Event>,
) -> Summary {
    let compile =
        |list: &[String]| -> Vec<Regex> { list.iter().filter_map(|p| options::compile(p).ok()).collect() };
    let (includes, excludes) = (compile(&options.includes), compile(&options.excludes));
    let wanted = |url: &Url| {
        let path = url.path();
        (includes.is_empty() || includes.iter().any(|r| r.is_match(path)))
            && !excludes.iter().any(|r| r.is_match(path))
    };
    let robots = read_robots(client, start, limits).await;
    let mut seen: HashSet<String> = HashSet::from([start.to_string()]);
    let mut queue: VecDeque<(Url, usize)> = VecDeque::from([(start.clone(), 0)]);
    if options.use_sitemap && options.crawl_sub_pages && options.max_depth > 0 {
        for url in sitemap_urls(client, start, &robots, limits).await {
            if fetch::same_site(start, &url) && wanted(&url) && seen.insert(url.to_string()) {
                queue.push_back((url, 1));
            }
        }
    }
    let limit = if options.crawl_sub_pages { options.limit } else { 1 };
    let (mut imported, mut failed) = (0usize, 0usize);
    let mut limit_reached = false;
    let report = |seen: usize| Event::Discovered(seen.min(limit));
    if events.send(report(seen.len())).await.is_err() {
        return Summary { limit_reached };
    }
    while let Some((url, depth)) = queue.pop_front() {
        if imported >= limit {
            limit_reached = true;
            break;
        }
        // Failures are bounded too, so a site of broken links cannot keep a crawl going.
        if failed >= limit.max(10) {
            break;
        }
        let result = visit(client, &url, &robots, options, limits).await;
        let (page_url, result) = match result {
            Ok((page, links)) => {
                imported += 1;
                if depth < options.max_depth && options.crawl_sub_pages {
                    for link in links {
                        if fetch::same_site(start, &link) && wanted(&link) && seen.insert(link.to_string()) {
                            queue.push_back((link, depth + 1));
                        }
                    }
                }
                // A redirect may land on a page seen under its own URL: import it once.
                if page.url != url.as_str() && !seen.insert(page.url.clone()) {
                    imported -= 1;
                    continue;
                }
                (page.url.clone(), Ok(page))
            }
            Err(failure) => {
                failed += 1;
                (url.to_string(), Err(failure))
            }
        };
        if events.send(report(seen.len())).await.is_err()
            || events
                .send(Event::Page {
                    url: page_url,
                    result,
                })
                .await
                .is_err()
        {
            break;
        }
    }
    Summary { limit_reached }
}

async fn visit(
    client: &Outbound,
    url: &Url,
    robots: &Robots,
    options: &CrawlOptions,
    limits: &Limits,
) -> Result<(Page, Vec<Url>), Failure> {
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    if !robots.allows(&target) {
        return Err(Failure::Failed("disallowed by the site's robots.txt".into()));
    }
    let fetched = fetch::fetch(client, url, limits.max_page_bytes).await?;
    let parse = limits.parse.clone();
    let only_main = options.only_main_content;
    tokio::task::spawn_blocking(move || {
        page::read(
            &fetched.url,
            &fetched.content_type,
            &fetched.body,
            only_main,
            &parse,
        )
    })
    .await
    .map_err(|e| Failure::Failed(format!("cannot read the page: {e}")))?
    .map_err(Failure::Failed)
}

/// The site's robots.txt; none (or one that cannot be read) allows everything.
async fn read_robots(client: &Outbound, start: &Url, limits: &Limits) -> Robots {
    let Ok(url) = start.join("/robots.txt") else {
        return Robots::default();
    };
    match fetch::fetch(client, &url, limits.max_page_bytes).await {
        Ok(fetched) => Robots::parse(&String::from_utf8_lossy(&fetched.body), fetch::AGENT_TOKEN),
        Err(_) => Robots::default(),
    }
}

/// Page URLs of the site's sitemaps: those robots.txt names, else `/sitemap.xml`; a sitemap
/// index is followed one level down.
async fn sitemap_urls(client: &Outbound, start: &Url, robots: &Robots, limits: &Limits) -> Vec<Url> {
    let mut sitemaps: VecDeque<Url> = robots
        .sitemaps
        .iter()
        .filter_map(|s| start.join(s).ok())
        .filter(|s| fetch::same_site(start, s))
        .collect();
    if sitemaps.is_empty()
        && let Ok(default) = start.join("/sitemap.xml")
    {
        sitemaps.push_back(default);
    }
    let mut pages = Vec::new();
    let mut read = 0;
    while let Some(sitemap) = sitemaps.pop_front() {
        if read >= MAX_SITEMAPS {
            break;
        }
        read += 1;
        let Ok(fetched) = fetch::fetch(client, &sitemap, limits.max_page_bytes).await else {
            continue;
        };
        let text = String::from_utf8_lossy(&fetched.body);
        let is_index = text.contains("<sitemapindex");
        for loc in locations(&text) {
            let Ok(url) = start.join(&loc) else { continue };
            if is_index {
                if fetch::same_site(start, &url) {
                    sitemaps.push_back(url);
                }
            } else {
                pages.push(url);
            }
        }
    }
    pages
}

/// The `<loc>` values of a sitemap.
fn locations(xml: &str) -> Vec<String> {
    static LOC: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"(?s)<loc>\s*(.*?)\s*</loc>").expect("valid regex"));
    LOC.captures_iter(xml)
        .map(|c| c[1].replace("&amp;", "&"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_locations_are_read() {
        let xml =
            "<urlset><url><loc> http://a.test/x?a=1&amp;b=2 </loc></url><url><loc>/y</loc></url></urlset>";
        assert_eq!(locations(xml), ["http://a.test/x?a=1&b=2", "/y"]);
    }
}
