//! Website crawls and their pages, and the website documents of a dataset.

use sqlx::Row;

use super::{Store, StoreError, get_bool, now};

/// Days a finished crawl is kept (its pages are only needed until documents are made of them).
const CRAWL_RETENTION_SECS: i64 = 7 * 24 * 3600;

/// A crawl as its status route reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CrawlRow {
    pub id: String,
    pub tenant_id: String,
    /// The dataset a re-sync compares with; None for an import crawl.
    pub dataset_id: Option<String>,
    pub url: String,
    /// The checked options (JSON).
    pub options: String,
    pub status: String,
    pub total: i64,
    pub completed: i64,
    pub limit_reached: bool,
    /// A re-sync's counts (JSON).
    pub sync: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One page a crawl visited.
#[derive(Debug, Clone, PartialEq)]
pub struct CrawlPage {
    pub url: String,
    /// `ok`, `gone` (404/410) or `failed`.
    pub outcome: String,
    pub title: String,
    pub description: String,
    pub content: Option<String>,
    pub content_hash: Option<String>,
    pub error: Option<String>,
}

/// A dataset's document made from a web page.
#[derive(Debug, Clone, PartialEq)]
pub struct WebsiteDocument {
    pub id: String,
    pub url: String,
    pub content_hash: String,
    pub indexing_status: String,
    pub archived: bool,
    pub data_source_info: Option<String>,
}

impl Store {
    /// Records a new crawl (active); finished crawls older than a week are dropped.
    pub async fn create_crawl(
        &self,
        id: &str,
        tenant_id: &str,
        dataset_id: Option<&str>,
        url: &str,
        options: &str,
    ) -> Result<(), StoreError> {
        let ts = now();
        sqlx::query("DELETE FROM website_crawls WHERE created_at < $1 AND status <> 'active'")
            .bind(ts - CRAWL_RETENTION_SECS)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO website_crawls (id, tenant_id, dataset_id, url, options, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(dataset_id)
        .bind(url)
        .bind(options)
        .bind(ts)
        .bind(ts)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_crawl_total(&self, id: &str, total: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE website_crawls SET total = $1, updated_at = $2 WHERE id = $3")
            .bind(total)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds a visited page; an imported one counts as completed.
    pub async fn add_crawl_page(&self, id: &str, position: i64, page: &CrawlPage) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO website_crawl_pages (crawl_id, position, url, outcome, title, description, content, \
             content_hash, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(position)
        .bind(&page.url)
        .bind(&page.outcome)
        .bind(&page.title)
        .bind(&page.description)
        .bind(&page.content)
        .bind(&page.content_hash)
        .bind(&page.error)
        .execute(&mut *tx)
        .await?;
        if page.outcome == "ok" {
            sqlx::query(
                "UPDATE website_crawls SET completed = completed + 1, \
                 total = CASE WHEN total < completed + 1 THEN completed + 1 ELSE total END, updated_at = $1 WHERE id = $2",
            )
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends a crawl: `completed` (total becomes the pages imported) or `failed`.
    pub async fn finish_crawl(
        &self,
        id: &str,
        status: &str,
        limit_reached: bool,
        error: Option<&str>,
        sync: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE website_crawls SET status = $1, limit_reached = $2, error = $3, sync = $4, \
             total = CASE WHEN $5 = 'completed' THEN completed ELSE total END, updated_at = $6 WHERE id = $7",
        )
        .bind(status)
        .bind(limit_reached)
        .bind(error)
        .bind(sync)
        .bind(status)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A crawl of the workspace.
    pub async fn crawl(&self, tenant_id: &str, id: &str) -> Result<Option<CrawlRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id, dataset_id, url, options, status, total, completed, \
             CAST(limit_reached AS INTEGER) AS limit_reached, sync, error, created_at, updated_at \
             FROM website_crawls WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(CrawlRow {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                dataset_id: row.try_get("dataset_id")?,
                url: row.try_get("url")?,
                options: row.try_get("options")?,
                status: row.try_get("status")?,
                total: row.try_get("total")?,
                completed: row.try_get("completed")?,
                limit_reached: get_bool(&row, "limit_reached")?,
                sync: row.try_get("sync")?,
                error: row.try_get("error")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// The pages a crawl visited, in order.
    pub async fn crawl_pages(&self, id: &str) -> Result<Vec<CrawlPage>, StoreError> {
        let rows = sqlx::query(
            "SELECT url, outcome, title, description, content, content_hash, error \
             FROM website_crawl_pages WHERE crawl_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CrawlPage {
                    url: row.try_get("url")?,
                    outcome: row.try_get("outcome")?,
                    title: row.try_get("title")?,
                    description: row.try_get("description")?,
                    content: row.try_get("content")?,
                    content_hash: row.try_get("content_hash")?,
                    error: row.try_get("error")?,
                })
            })
            .collect()
    }

    /// Crawls of a workspace (any status).
    pub async fn crawl_count(&self, tenant_id: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM website_crawls WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// A dataset's documents made from web pages.
    pub async fn website_documents(&self, dataset_id: &str) -> Result<Vec<WebsiteDocument>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, source, content_hash, indexing_status, CAST(archived AS INTEGER) AS archived, \
             data_source_info FROM documents WHERE dataset_id = $1 AND data_source_type = 'website_crawl' \
             ORDER BY position",
        )
        .bind(dataset_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WebsiteDocument {
                    id: row.try_get("id")?,
                    url: row.try_get("source")?,
                    content_hash: row.try_get("content_hash")?,
                    indexing_status: row.try_get("indexing_status")?,
                    archived: get_bool(row, "archived")?,
                    data_source_info: row.try_get("data_source_info")?,
                })
            })
            .collect()
    }
}
