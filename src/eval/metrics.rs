//! Ranking metrics as BEIR reports them (pytrec_eval / trec_eval definitions): nDCG@k with the
//! graded relevance as gain, recall@k, MRR@k and hit rate@1 (MRR@1).
//!
//! Every function takes one query's ranking (document ids, best first, no repeats) and its
//! judgements (document id -> relevance). Documents missing from the judgements, or judged 0 or
//! less, are not relevant. A query with no relevant document has no defined score; callers leave
//! such queries out (as BEIR does), and the functions return 0 for them.

use std::collections::HashMap;

/// Relevance judgements of one query: document id -> graded relevance (> 0 is relevant).
pub type Judgements = HashMap<String, i32>;

fn gain(judgements: &Judgements, id: &str) -> f64 {
    judgements.get(id).copied().filter(|r| *r > 0).unwrap_or(0) as f64
}

/// Discount of rank `rank` (1-based): `1 / log2(rank + 1)`.
fn discount(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// Normalised discounted cumulative gain over the first `k` ranks.
///
/// `DCG@k = Σ_{i=1..k} rel_i / log2(i + 1)`, divided by the DCG of the ideal ranking (every
/// relevant document, most relevant first). trec_eval uses the relevance itself as gain, not
/// `2^rel - 1`; for binary judgements the two agree.
pub fn ndcg_at(ranking: &[String], judgements: &Judgements, k: usize) -> f64 {
    let dcg: f64 = ranking
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| gain(judgements, id) * discount(i + 1))
        .sum();
    let mut ideal: Vec<f64> = judgements
        .values()
        .filter(|r| **r > 0)
        .map(|r| *r as f64)
        .collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| g * discount(i + 1))
        .sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Share of the relevant documents found in the first `k` ranks.
pub fn recall_at(ranking: &[String], judgements: &Judgements, k: usize) -> f64 {
    let relevant = judgements.values().filter(|r| **r > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranking
        .iter()
        .take(k)
        .filter(|id| gain(judgements, id) > 0.0)
        .count();
    found as f64 / relevant as f64
}

/// Reciprocal rank of the first relevant document within the first `k` ranks, 0 if none.
pub fn mrr_at(ranking: &[String], judgements: &Judgements, k: usize) -> f64 {
    ranking
        .iter()
        .take(k)
        .position(|id| gain(judgements, id) > 0.0)
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// Whether a query can be scored: it has at least one relevant document.
pub fn has_relevant(judgements: &Judgements) -> bool {
    judgements.values().any(|r| *r > 0)
}

/// One query's scores. `page_ndcg_at_10` scores what a client of the retrieve API sees: the
/// documents of the first page of segments (`top_k` 10), each once, in the order its first
/// segment appears, so several segments of one document leave fewer documents on the page.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueryScores {
    pub ndcg_at_5: f64,
    pub ndcg_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
    pub hit_at_1: f64,
    pub page_ndcg_at_10: f64,
}

impl QueryScores {
    /// Scores of one query: `ranking` is the deep document ranking, `page` the documents of the
    /// first page of segments.
    pub fn of(ranking: &[String], page: &[String], judgements: &Judgements) -> Self {
        QueryScores {
            ndcg_at_5: ndcg_at(ranking, judgements, 5),
            ndcg_at_10: ndcg_at(ranking, judgements, 10),
            recall_at_100: recall_at(ranking, judgements, 100),
            mrr_at_10: mrr_at(ranking, judgements, 10),
            hit_at_1: mrr_at(ranking, judgements, 1),
            page_ndcg_at_10: ndcg_at(page, judgements, 10),
        }
    }
}

/// The mean of the reported metrics over a set of queries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub ndcg_at_5: f64,
    pub ndcg_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
    pub hit_at_1: f64,
    pub page_ndcg_at_10: f64,
    /// Queries averaged.
    pub queries: usize,
}

/// Accumulates per-query metrics into [`Scores`].
#[derive(Debug, Default)]
pub struct ScoreSum {
    sum: QueryScores,
    queries: usize,
}

impl ScoreSum {
    /// Adds one query's ranking (deep, and its first page); queries without a relevant document
    /// are ignored.
    pub fn add(&mut self, ranking: &[String], page: &[String], judgements: &Judgements) {
        if !has_relevant(judgements) {
            return;
        }
        self.add_scores(&QueryScores::of(ranking, page, judgements));
    }

    /// Adds one query's scores.
    pub fn add_scores(&mut self, q: &QueryScores) {
        self.sum.ndcg_at_5 += q.ndcg_at_5;
        self.sum.ndcg_at_10 += q.ndcg_at_10;
        self.sum.recall_at_100 += q.recall_at_100;
        self.sum.mrr_at_10 += q.mrr_at_10;
        self.sum.hit_at_1 += q.hit_at_1;
        self.sum.page_ndcg_at_10 += q.page_ndcg_at_10;
        self.queries += 1;
    }

    pub fn mean(&self) -> Scores {
        let n = self.queries.max(1) as f64;
        Scores {
            ndcg_at_5: self.sum.ndcg_at_5 / n,
            ndcg_at_10: self.sum.ndcg_at_10 / n,
            recall_at_100: self.sum.recall_at_100 / n,
            mrr_at_10: self.sum.mrr_at_10 / n,
            hit_at_1: self.sum.hit_at_1 / n,
            page_ndcg_at_10: self.sum.page_ndcg_at_10 / n,
            queries: self.queries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    fn judged(pairs: &[(&str, i32)]) -> Judgements {
        pairs.iter().map(|(id, r)| ((*id).to_owned(), *r)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn ndcg_of_a_perfect_ranking_is_one() {
        let j = judged(&[("a", 2), ("b", 1)]);
        assert!(close(ndcg_at(&ranking(&["a", "b", "x"]), &j, 10), 1.0));
    }

    #[test]
    fn ndcg_hand_computed_binary() {
        // One relevant document at rank 3: DCG = 1/log2(4) = 0.5, IDCG = 1.
        let j = judged(&[("a", 1)]);
        assert!(close(ndcg_at(&ranking(&["x", "y", "a"]), &j, 10), 0.5));
        // Two relevant at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5);
        // IDCG = 1 + 1/log2(3).
        let j = judged(&[("a", 1), ("b", 1)]);
        let got = ndcg_at(&ranking(&["x", "a", "y", "b"]), &j, 10);
        let want = (1.0 / 3f64.log2() + 1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!(close(got, want), "{got} != {want}");
        assert!((got - 0.650_921).abs() < 1e-6, "{got}");
    }

    #[test]
    fn ndcg_hand_computed_graded() {
        // Relevances a=2, b=1; ranking b, a: DCG = 1 + 2/log2(3) = 2.261860;
        // IDCG = 2 + 1/log2(3) = 2.630930; nDCG = 0.859719.
        let j = judged(&[("a", 2), ("b", 1)]);
        let got = ndcg_at(&ranking(&["b", "a"]), &j, 10);
        assert!((got - 0.859_719).abs() < 1e-6, "{got}");
    }

    #[test]
    fn ndcg_cuts_at_k_and_ignores_non_relevant_judgements() {
        let j = judged(&[("a", 1), ("z", 0), ("n", -1)]);
        let late: Vec<String> = (0..10).map(|i| format!("x{i}")).chain(["a".into()]).collect();
        assert_eq!(ndcg_at(&late, &j, 10), 0.0);
        // Judged-0 and negative documents count as non-relevant, also for the ideal ranking.
        assert!(close(ndcg_at(&ranking(&["z", "a"]), &j, 10), 1.0 / 3f64.log2()));
        assert_eq!(ndcg_at(&ranking(&["a"]), &judged(&[("a", 0)]), 10), 0.0);
    }

    #[test]
    fn recall_counts_relevant_found_within_k() {
        let j = judged(&[("a", 1), ("b", 2), ("c", 1), ("d", 0)]);
        assert!(close(
            recall_at(&ranking(&["a", "d", "x", "b"]), &j, 100),
            2.0 / 3.0
        ));
        assert!(close(
            recall_at(&ranking(&["a", "d", "x", "b"]), &j, 2),
            1.0 / 3.0
        ));
        assert_eq!(recall_at(&ranking(&["a"]), &judged(&[]), 100), 0.0);
    }

    #[test]
    fn mrr_is_the_reciprocal_rank_of_the_first_hit() {
        let j = judged(&[("a", 1), ("b", 1)]);
        assert!(close(mrr_at(&ranking(&["x", "y", "b", "a"]), &j, 10), 1.0 / 3.0));
        assert!(close(mrr_at(&ranking(&["a"]), &j, 10), 1.0));
        assert_eq!(mrr_at(&ranking(&["x", "y", "a"]), &j, 2), 0.0);
        assert_eq!(mrr_at(&[], &j, 10), 0.0);
    }

    #[test]
    fn score_sum_averages_and_skips_unjudged_queries() {
        let mut sum = ScoreSum::default();
        sum.add(&ranking(&["a"]), &ranking(&["a"]), &judged(&[("a", 1)])); // 1, 1, 1
        // recall 0.5, mrr 0.5, no hit at 1; the first page found nothing
        sum.add(
            &ranking(&["x", "b"]),
            &ranking(&["x"]),
            &judged(&[("b", 1), ("c", 1)]),
        );
        // no relevant document: skipped
        sum.add(&ranking(&["a"]), &ranking(&["a"]), &judged(&[("a", 0)]));
        let scores = sum.mean();
        assert_eq!(scores.queries, 2);
        assert!(close(scores.recall_at_100, 0.75));
        assert!(close(scores.mrr_at_10, 0.75));
        assert!(close(scores.hit_at_1, 0.5));
        assert!(close(scores.page_ndcg_at_10, 0.5));
        // second query: DCG = 1/log2(3), IDCG = 1 + 1/log2(3)
        let second = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!(close(scores.ndcg_at_10, (1.0 + second) / 2.0));
        assert_eq!(ScoreSum::default().mean(), Scores::default());
    }
}
