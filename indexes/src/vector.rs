//! LanceDB vector table of one dataset generation.
//!
//! One table (`rows`) in a LanceDB database at `<generation dir>/vectors`, one Lance row per
//! [`IndexRow`]: `id`, `segment_id`, `document_id`, `enabled`, `vector`. Search is cosine
//! similarity with the filter applied as a LanceDB *prefilter* (before top-k). Writes are one
//! Arrow batch per call and one Lance commit (a table version) per call.
//!
//! Other processes may write the same table (`ragd worker` beside `ragd serve`): the connection
//! checks for a newer table version on every read (LanceDB's read consistency interval of
//! zero), so a search sees every committed write, whichever process made it. Writes are always
//! made against the latest version.
//!
//! Small tables are searched exactly (a flat scan is fast for the tens of thousands of chunks a
//! dataset usually has). From [`ANN_MIN_ROWS`] rows on, [`VectorStore::optimize`] builds an
//! IVF-HNSW-SQ index (LanceDB's recommended ANN index for this size), and searches re-rank its
//! candidates by exact distance (`refine_factor`). Rows added after the index was built are
//! flat-scanned beside it until the next `optimize` folds them in.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{
    Array, BooleanArray, FixedSizeListArray, Float32Array, RecordBatch, RecordBatchIterator,
    RecordBatchReader, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::database::CreateTableMode;
use lancedb::index::Index;
use lancedb::index::vector::IvfHnswSqIndexBuilder;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::table::OptimizeAction;
use lancedb::{DistanceType, Table};

use crate::error::vector_error;
use crate::{Filter, IndexError, IndexRow};

/// Name of the one table in each generation's LanceDB database.
const TABLE_NAME: &str = "rows";
/// Column LanceDB adds to vector search results.
const DISTANCE_COLUMN: &str = "_distance";
/// Rows from which `optimize` builds an ANN index; below it, exact search.
pub const ANN_MIN_ROWS: usize = 50_000;
/// Candidates per wanted hit that the ANN index hands to the exact re-ranking.
const REFINE_FACTOR: u32 = 4;

/// A row found by vector search.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    pub id: String,
    pub segment_id: String,
    pub document_id: String,
    /// Cosine similarity, `1 - cosine distance`, in -1..=1.
    pub similarity: f32,
}

/// The LanceDB table of one dataset generation.
pub struct VectorStore {
    table: Table,
    dimension: usize,
    schema: SchemaRef,
    /// Row count from which `optimize` builds the ANN index.
    ann_min_rows: usize,
}

impl VectorStore {
    /// Opens the table in `dir` (a LanceDB database directory), creating both if missing.
    ///
    /// Fails if an existing table holds vectors of another dimension: a generation belongs to one
    /// embedding model.
    pub async fn open(dir: &Path, dimension: usize) -> Result<Self, IndexError> {
        Self::open_with_ann_threshold(dir, dimension, ANN_MIN_ROWS).await
    }

    /// [`Self::open`] with the row count from which an ANN index is built.
    pub async fn open_with_ann_threshold(
        dir: &Path,
        dimension: usize,
        ann_min_rows: usize,
    ) -> Result<Self, IndexError> {
        if dimension == 0 || i32::try_from(dimension).is_err() {
            return Err(IndexError::Vector(format!(
                "invalid vector dimension {dimension}"
            )));
        }
        std::fs::create_dir_all(dir)?;
        let uri = dir
            .to_str()
            .ok_or_else(|| IndexError::Vector(format!("index path is not valid utf-8: {}", dir.display())))?;
        let db = lancedb::connect(uri)
            .read_consistency_interval(Duration::ZERO)
            .execute()
            .await
            .map_err(vector_error)?;
        let schema = table_schema(dimension);
        let table = db
            .create_empty_table(TABLE_NAME, schema.clone())
            .mode(CreateTableMode::exist_ok(|request| request))
            .execute()
            .await
            .map_err(vector_error)?;

        let existing = table.schema().await.map_err(vector_error)?;
        match existing.field_with_name("vector").map(|f| f.data_type().clone()) {
            Ok(DataType::FixedSizeList(_, size)) if size as usize == dimension => {}
            Ok(DataType::FixedSizeList(_, size)) => {
                return Err(IndexError::Vector(format!(
                    "the vector table holds {size}-dimensional vectors, not {dimension}"
                )));
            }
            other => {
                return Err(IndexError::Vector(format!(
                    "the vector table has no usable vector column ({other:?})"
                )));
            }
        }
        Ok(Self {
            table,
            dimension,
            schema,
            ann_min_rows,
        })
    }

    /// Dimension of every vector in this table.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Adds or replaces rows by `id`, in one batch and one commit.
    ///
    /// Every row must carry a vector of [`Self::dimension`] finite values; nothing is written
    /// otherwise. Ids must be unique within `rows` (LanceDB rejects a merge where two source rows
    /// match one target row); [`crate::DatasetIndex::upsert`] deduplicates.
    pub async fn upsert(&self, rows: &[IndexRow]) -> Result<(), IndexError> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = self.to_batch(rows)?;
        let reader: Box<dyn RecordBatchReader + Send> =
            Box::new(RecordBatchIterator::new(vec![Ok(batch)], self.schema.clone()));
        // merge_insert is one atomic commit: a concurrent search sees the old row or the new one,
        // never neither (delete-then-add would be two versions).
        let mut merge = self.table.merge_insert(&["id"]);
        merge.when_matched_update_all(None).when_not_matched_insert_all();
        merge.execute(reader).await.map_err(vector_error)?;
        Ok(())
    }

    /// Deletes these rows by id (one child chunk, not its whole segment).
    pub async fn delete_rows(&self, ids: &[String]) -> Result<(), IndexError> {
        self.delete_where("id", ids).await
    }

    /// Deletes the rows of these segments (parent segments delete their child rows too).
    pub async fn delete_segments(&self, segment_ids: &[String]) -> Result<(), IndexError> {
        self.delete_where("segment_id", segment_ids).await
    }

    /// Deletes every row of these documents.
    pub async fn delete_documents(&self, document_ids: &[String]) -> Result<(), IndexError> {
        self.delete_where("document_id", document_ids).await
    }

    /// Enables or disables the rows of these segments.
    pub async fn set_segments_enabled(
        &self,
        segment_ids: &[String],
        enabled: bool,
    ) -> Result<(), IndexError> {
        self.set_enabled_where("segment_id", segment_ids, enabled).await
    }

    /// Enables or disables every row of these documents.
    pub async fn set_documents_enabled(
        &self,
        document_ids: &[String],
        enabled: bool,
    ) -> Result<(), IndexError> {
        self.set_enabled_where("document_id", document_ids, enabled).await
    }

    /// The `limit` enabled rows nearest to `query` by cosine distance that pass `filter`.
    ///
    /// The filter is a LanceDB prefilter (the default; `postfilter()` is never called), so rows
    /// of other documents cannot crowd the wanted ones out of the top `limit`.
    ///
    /// With an ANN index (large tables), candidates come from the index and are re-ranked by
    /// exact cosine distance, so similarities are exact; without one the scan is exact.
    pub async fn search(
        &self,
        query: &[f32],
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<VectorHit>, IndexError> {
        self.search_with(query, limit, filter, false).await
    }

    /// [`Self::search`] by exact flat scan even when an ANN index exists: the ground truth that
    /// the index's recall is measured against.
    pub async fn search_exact(
        &self,
        query: &[f32],
        limit: usize,
        filter: &Filter,
    ) -> Result<Vec<VectorHit>, IndexError> {
        self.search_with(query, limit, filter, true).await
    }

    async fn search_with(
        &self,
        query: &[f32],
        limit: usize,
        filter: &Filter,
        exact: bool,
    ) -> Result<Vec<VectorHit>, IndexError> {
        if query.len() != self.dimension {
            return Err(IndexError::Dimension {
                expected: self.dimension,
                got: query.len(),
            });
        }
        if limit == 0 || filter.matches_nothing() {
            return Ok(Vec::new());
        }
        let mut predicate = String::from("enabled = true");
        if let Some(document_ids) = &filter.document_ids {
            predicate.push_str(" AND document_id IN ");
            predicate.push_str(&sql_string_list(document_ids));
        }
        let mut vector_query = self
            .table
            .query()
            .nearest_to(query)
            .map_err(vector_error)?
            .distance_type(DistanceType::Cosine);
        vector_query = if exact {
            vector_query.bypass_vector_index()
        } else {
            // Without an index this is a no-op; with one it makes the returned distances exact.
            vector_query.refine_factor(REFINE_FACTOR)
        };
        let batches: Vec<RecordBatch> = vector_query
            .only_if(predicate)
            // Naming `_distance` keeps the projection explicit (lance warns when it is implied).
            .select(Select::columns(&[
                "id",
                "segment_id",
                "document_id",
                DISTANCE_COLUMN,
            ]))
            .limit(limit)
            .execute()
            .await
            .map_err(vector_error)?
            .try_collect()
            .await
            .map_err(vector_error)?;

        let mut hits = Vec::with_capacity(limit);
        for batch in &batches {
            let ids = string_column(batch, "id")?;
            let segment_ids = string_column(batch, "segment_id")?;
            let document_ids = string_column(batch, "document_id")?;
            let distances = batch
                .column_by_name(DISTANCE_COLUMN)
                .and_then(|c| c.as_any().downcast_ref::<Float32Array>())
                .ok_or_else(|| IndexError::Vector("search result has no _distance".into()))?;
            for i in 0..batch.num_rows() {
                hits.push(VectorHit {
                    id: ids.value(i).to_owned(),
                    segment_id: segment_ids.value(i).to_owned(),
                    document_id: document_ids.value(i).to_owned(),
                    similarity: 1.0 - distances.value(i),
                });
            }
        }
        hits.sort_by(|a, b| crate::fusion::by_score_then_id(a.similarity, &a.id, b.similarity, &b.id));
        Ok(hits)
    }

    /// Compacts the small files every write leaves behind and prunes table versions older than
    /// LanceDB's default retention (7 days); run it on a schedule or after a bulk load, not per
    /// write.
    ///
    /// Also builds the ANN index once the table reaches the threshold (later calls fold new rows
    /// into it: `OptimizeAction::All` includes index optimisation).
    pub async fn optimize(&self) -> Result<(), IndexError> {
        self.table
            .optimize(OptimizeAction::All)
            .await
            .map_err(vector_error)?;
        if !self.has_ann_index().await? && self.count_rows().await? >= self.ann_min_rows {
            tracing::info!(
                rows = self.ann_min_rows,
                "building the ANN index of a vector table"
            );
            let builder = IvfHnswSqIndexBuilder::default().distance_type(DistanceType::Cosine);
            self.table
                .create_index(&["vector"], Index::IvfHnswSq(builder))
                .execute()
                .await
                .map_err(vector_error)?;
        }
        Ok(())
    }

    /// Whether the vector column has an ANN index.
    pub async fn has_ann_index(&self) -> Result<bool, IndexError> {
        let indices = self.table.list_indices().await.map_err(vector_error)?;
        Ok(indices.iter().any(|i| i.columns.iter().any(|c| c == "vector")))
    }

    /// Number of data fragments (files) in the table; each write adds some until `optimize`.
    pub async fn fragment_count(&self) -> Result<usize, IndexError> {
        Ok(self
            .table
            .stats()
            .await
            .map_err(vector_error)?
            .fragment_stats
            .num_fragments)
    }

    /// Number of rows, enabled or not.
    pub async fn count_rows(&self) -> Result<usize, IndexError> {
        self.table.count_rows(None).await.map_err(vector_error)
    }

    async fn delete_where(&self, column: &str, values: &[String]) -> Result<(), IndexError> {
        if values.is_empty() {
            return Ok(());
        }
        let predicate = format!("{column} IN {}", sql_string_list(values));
        self.table
            .delete(predicate.as_str())
            .await
            .map_err(vector_error)?;
        Ok(())
    }

    async fn set_enabled_where(
        &self,
        column: &str,
        values: &[String],
        enabled: bool,
    ) -> Result<(), IndexError> {
        if values.is_empty() {
            return Ok(());
        }
        // Only rows whose flag changes, so a no-op call writes no new version.
        let predicate = format!(
            "{column} IN {} AND enabled = {}",
            sql_string_list(values),
            !enabled
        );
        self.table
            .update()
            .only_if(predicate)
            .column("enabled", if enabled { "true" } else { "false" })
            .execute()
            .await
            .map_err(vector_error)?;
        Ok(())
    }

    fn to_batch(&self, rows: &[IndexRow]) -> Result<RecordBatch, IndexError> {
        let mut values = Vec::with_capacity(rows.len() * self.dimension);
        for row in rows {
            let vector = check_vector(row, self.dimension)?;
            values.extend_from_slice(vector);
        }
        let item = vector_item_field();
        let vectors = FixedSizeListArray::try_new(
            item,
            self.dimension as i32,
            Arc::new(Float32Array::from(values)),
            None,
        )
        .map_err(vector_error)?;
        let columns: Vec<Arc<dyn Array>> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.id.as_str()))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.segment_id.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.document_id.as_str()),
            )),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.enabled).collect::<Vec<_>>(),
            )),
            Arc::new(vectors),
        ];
        RecordBatch::try_new(self.schema.clone(), columns).map_err(vector_error)
    }
}

/// The row's vector, if it has `dimension` finite values.
pub(crate) fn check_vector(row: &IndexRow, dimension: usize) -> Result<&[f32], IndexError> {
    let vector = row.vector.as_deref().ok_or(IndexError::Dimension {
        expected: dimension,
        got: 0,
    })?;
    if vector.len() != dimension {
        return Err(IndexError::Dimension {
            expected: dimension,
            got: vector.len(),
        });
    }
    if vector.iter().any(|v| !v.is_finite()) {
        return Err(IndexError::Vector(format!(
            "row {} has a non-finite vector value",
            row.id
        )));
    }
    Ok(vector)
}

fn vector_item_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Float32, true))
}

fn table_schema(dimension: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("segment_id", DataType::Utf8, false),
        Field::new("document_id", DataType::Utf8, false),
        Field::new("enabled", DataType::Boolean, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(vector_item_field(), dimension as i32),
            false,
        ),
    ]))
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray, IndexError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| IndexError::Vector(format!("search result has no utf8 column {name}")))
}

/// `('a', 'b')` with every value a single-quoted SQL literal.
///
/// Lance parses filters with sqlparser's generic dialect, where the only escape inside a
/// single-quoted literal is a doubled quote (backslashes are plain characters), so doubling `'`
/// makes any string a literal and nothing else.
fn sql_string_list(values: &[String]) -> String {
    let mut out = String::with_capacity(values.iter().map(|v| v.len() + 4).sum::<usize>() + 2);
    out.push('(');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('\'');
        out.push_str(&value.replace('\'', "''"));
        out.push('\'');
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_string_list_quotes_and_escapes() {
        let values = vec!["a".to_owned(), "it's".to_owned(), "x\\".to_owned()];
        assert_eq!(sql_string_list(&values), "('a', 'it''s', 'x\\')");
    }

    fn row(id: &str, vector: Option<Vec<f32>>) -> IndexRow {
        IndexRow {
            id: id.into(),
            segment_id: id.into(),
            document_id: "d".into(),
            text: String::new(),
            keywords: Vec::new(),
            vector,
            enabled: true,
        }
    }

    #[test]
    fn check_vector_rejects_wrong_missing_and_non_finite_vectors() {
        assert!(check_vector(&row("a", Some(vec![1.0, 0.0])), 2).is_ok());
        assert!(matches!(
            check_vector(&row("a", Some(vec![1.0])), 2),
            Err(IndexError::Dimension { expected: 2, got: 1 })
        ));
        assert!(matches!(
            check_vector(&row("a", None), 2),
            Err(IndexError::Dimension { expected: 2, got: 0 })
        ));
        assert!(matches!(
            check_vector(&row("a", Some(vec![f32::NAN, 0.0])), 2),
            Err(IndexError::Vector(_))
        ));
    }
}
