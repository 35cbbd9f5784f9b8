//! A fetched page turned into what is imported: title, description, clean text (the pipelines'
//! HTML parser), and the same-site links to follow.

use pipelines::{Format, ParseLimits};
use reqwest::Url;
use scraper::{Html, Selector};
use sha2::{Digest, Sha256};

/// What a page gives the import.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub url: String,
    pub title: String,
    pub description: String,
    /// Markdown-like text, headed by the title: the document's content.
    pub content: String,
    /// sha256 of `content`: a re-sync compares it with the document's.
    pub content_hash: String,
}

/// Hex sha256 of a text, as the file store hashes files.
pub fn content_hash(content: &str) -> String {
    hex::encode(Sha256::digest(content.as_bytes()))
}

/// Reads a page; CPU-bound (run it off the async threads). Returns the page and its links.
pub fn read(
    url: &Url,
    content_type: &str,
    body: &[u8],
    only_main_content: bool,
    limits: &ParseLimits,
) -> Result<(Page, Vec<Url>), String> {
    let is_html = content_type.is_empty()
        || content_type.starts_with("text/html")
        || content_type.starts_with("application/xhtml");
    if !is_html && !content_type.starts_with("text/plain") {
        return Err(format!("not a web page ({content_type})"));
    }
    let (description, links, main) = if is_html {
        scan(url, body, only_main_content)
    } else {
        (String::new(), Vec::new(), None)
    };
    let format = if is_html { Format::Html } else { Format::Text };
    let parsed = pipelines::parse::parse_guarded(body.to_vec(), format, limits)
        .map_err(|e| format!("cannot read the page: {e}"))?;
    let text = match main {
        Some(main) => pipelines::parse::parse_guarded(main.into_bytes(), Format::Html, limits)
            .map_err(|e| format!("cannot read the page: {e}"))?
            .full_text(),
        None => parsed.full_text(),
    };
    let title = parsed
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| url.to_string());
    let content = format!("# {title}\n\n{}", text.trim());
    let page = Page {
        url: url.to_string(),
        content_hash: content_hash(&content),
        title,
        description,
        content,
    };
    Ok((page, links))
}

/// Description, links (resolved, without fragments) and the main content's HTML if asked for.
fn scan(url: &Url, body: &[u8], only_main_content: bool) -> (String, Vec<Url>, Option<String>) {
    let html = Html::parse_document(&String::from_utf8_lossy(body));
    let selector = |s: &str| Selector::parse(s).expect("valid selector");
    let description = html
        .select(&selector("meta[name=description]"))
        .next()
        .and_then(|m| m.value().attr("content"))
        .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let base = html
        .select(&selector("base[href]"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| url.join(href).ok())
        .unwrap_or_else(|| url.clone());
    let links = html
        .select(&selector("a[href]"))
        .filter_map(|a| a.value().attr("href"))
        .filter_map(|href| base.join(href.trim()).ok())
        .filter(|link| matches!(link.scheme(), "http" | "https"))
        .map(|mut link| {
            link.set_fragment(None);
            link
        })
        .collect();
    let main = only_main_content
        .then(|| html.select(&selector("main, article, [role=main]")).next())
        .flatten()
        .map(|element| element.html());
    (description, links, main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gives_its_title_text_description_and_links() {
        let url = Url::parse("http://site.test/docs/a").unwrap();
        let body =
            br#"<html><head><title>Green tea</title><meta name="description" content="All  about tea"></head>
            <body><nav><a href="/nav">Nav</a></nav><main><h1>Tea</h1><p>Sencha is steamed.</p>
            <a href="b#part">B</a> <a href="mailto:x@y">mail</a> <a href="https://other.test/">out</a></main>
            <aside>Side note</aside></body></html>"#;
        let (page, links) = read(
            &url,
            "text/html; charset=utf-8",
            body,
            false,
            &ParseLimits::default(),
        )
        .unwrap();
        assert_eq!(page.title, "Green tea");
        assert_eq!(page.description, "All about tea");
        assert!(page.content.starts_with("# Green tea\n\n"));
        assert!(page.content.contains("Sencha is steamed."));
        assert!(page.content.contains("Side note"));
        let links: Vec<String> = links.iter().map(Url::to_string).collect();
        assert_eq!(
            links,
            [
                "http://site.test/nav",
                "http://site.test/docs/b",
                "https://other.test/"
            ]
        );
        let (main, _) = read(&url, "text/html", body, true, &ParseLimits::default()).unwrap();
        assert!(main.content.contains("Sencha") && !main.content.contains("Side note"));
        assert_eq!(page.content_hash, content_hash(&page.content));
        assert!(read(&url, "image/png", b"x", false, &ParseLimits::default()).is_err());
    }
}
