//! Enabling, disabling, archiving and un-archiving documents (the knowledge API's status
//! actions). The indexes are brought in line by the engine after these rows change.

use std::fmt;
use std::str::FromStr;

use super::{Store, StoreError, now};

/// A status action on documents (Dify's `enable`, `disable`, `archive`, `un_archive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentAction {
    Enable,
    Disable,
    Archive,
    UnArchive,
}

impl DocumentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentAction::Enable => "enable",
            DocumentAction::Disable => "disable",
            DocumentAction::Archive => "archive",
            DocumentAction::UnArchive => "un_archive",
        }
    }

    /// The `(enabled, archived)` flags of a document after this action.
    pub fn apply(self, enabled: bool, archived: bool) -> (bool, bool) {
        match self {
            DocumentAction::Enable => (true, archived),
            DocumentAction::Disable => (false, archived),
            DocumentAction::Archive => (enabled, true),
            DocumentAction::UnArchive => (enabled, false),
        }
    }
}

impl fmt::Display for DocumentAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The action name that was not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid action: {0}")]
pub struct UnknownAction(pub String);

impl FromStr for DocumentAction {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "enable" => DocumentAction::Enable,
            "disable" => DocumentAction::Disable,
            "archive" => DocumentAction::Archive,
            "un_archive" => DocumentAction::UnArchive,
            other => return Err(UnknownAction(other.to_string())),
        })
    }
}

impl Store {
    /// Applies `action` to these documents of a dataset in one transaction. Each update is
    /// guarded by the current flag, so documents already in the wanted state are not touched.
    pub async fn apply_document_action(
        &self,
        dataset_id: &str,
        document_ids: &[String],
        action: DocumentAction,
    ) -> Result<(), StoreError> {
        let sql = match action {
            DocumentAction::Enable => {
                "UPDATE documents SET enabled = TRUE, disabled_at = NULL, updated_at = $1 \
                 WHERE dataset_id = $2 AND id = $3 AND enabled = FALSE"
            }
            DocumentAction::Disable => {
                "UPDATE documents SET enabled = FALSE, disabled_at = $1, updated_at = $1 \
                 WHERE dataset_id = $2 AND id = $3 AND enabled = TRUE"
            }
            DocumentAction::Archive => {
                "UPDATE documents SET archived = TRUE, updated_at = $1 \
                 WHERE dataset_id = $2 AND id = $3 AND archived = FALSE"
            }
            DocumentAction::UnArchive => {
                "UPDATE documents SET archived = FALSE, updated_at = $1 \
                 WHERE dataset_id = $2 AND id = $3 AND archived = TRUE"
            }
        };
        let ts = now();
        let mut tx = self.begin_write().await?;
        for id in document_ids {
            sqlx::query(sql)
                .bind(ts)
                .bind(dataset_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_unknown_ones_are_named() {
        for action in [
            DocumentAction::Enable,
            DocumentAction::Disable,
            DocumentAction::Archive,
            DocumentAction::UnArchive,
        ] {
            assert_eq!(action.to_string().parse::<DocumentAction>().unwrap(), action);
        }
        let error = "unarchive".parse::<DocumentAction>().unwrap_err();
        assert_eq!(error.to_string(), "Invalid action: unarchive");
    }

    #[test]
    fn actions_change_only_their_own_flag() {
        assert_eq!(DocumentAction::Enable.apply(false, true), (true, true));
        assert_eq!(DocumentAction::Disable.apply(true, false), (false, false));
        assert_eq!(DocumentAction::Archive.apply(false, false), (false, true));
        assert_eq!(DocumentAction::UnArchive.apply(true, true), (true, false));
    }
}
