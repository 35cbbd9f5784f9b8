//! Console accounts: the first-run setup, accounts, workspace membership and roles, invitations,
//! refresh tokens and failed sign-ins. Password hashing and token signing happen above this
//! layer; here only their results are kept (hashes, never secrets).

use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now};

/// A member's role in a workspace, with Dify's names and permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Editor,
    Normal,
    DatasetOperator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Normal => "normal",
            Role::DatasetOperator => "dataset_operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "editor" => Role::Editor,
            "normal" => Role::Normal,
            "dataset_operator" => Role::DatasetOperator,
            _ => return None,
        })
    }

    /// Owners and admins manage members, the workspace and its model settings.
    pub fn is_admin_or_owner(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Owners, admins and editors create and change apps and datasets.
    pub fn is_editor(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Editor)
    }

    /// Editors, and dataset operators (who see knowledge only), create and change datasets.
    pub fn is_dataset_editor(self) -> bool {
        self.is_editor() || self == Role::DatasetOperator
    }

    /// Everyone but dataset operators may use apps.
    pub fn can_use_apps(self) -> bool {
        self != Role::DatasetOperator
    }
}

/// Account status: invited accounts stay `pending` until activated.
pub const ACCOUNT_PENDING: &str = "pending";
pub const ACCOUNT_ACTIVE: &str = "active";

/// A console account. The password hash stays inside the store layer's callers that check it.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub interface_language: String,
    pub interface_theme: String,
    pub timezone: String,
    pub status: String,
    pub current_tenant_id: Option<String>,
    pub last_login_at: Option<i64>,
    pub last_login_ip: Option<String>,
    pub last_active_at: Option<i64>,
    pub session_version: i64,
    pub created_at: i64,
}

const ACCOUNT_COLUMNS: &str = "id, name, email, password_hash, interface_language, interface_theme, \
    timezone, status, current_tenant_id, last_login_at, last_login_ip, last_active_at, \
    session_version, created_at";

fn account_from_row(row: &AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        interface_language: row.try_get("interface_language")?,
        interface_theme: row.try_get("interface_theme")?,
        timezone: row.try_get("timezone")?,
        status: row.try_get("status")?,
        current_tenant_id: row.try_get("current_tenant_id")?,
        last_login_at: row.try_get("last_login_at")?,
        last_login_ip: row.try_get("last_login_ip")?,
        last_active_at: row.try_get("last_active_at")?,
        session_version: row.try_get("session_version")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A workspace as one of its members sees it.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub status: String,
    pub created_at: i64,
    pub role: Role,
}

/// A member of a workspace, as the members list shows them.
#[derive(Debug, Clone)]
pub struct Member {
    pub account: Account,
    pub role: Role,
}

/// What an invitation did.
#[derive(Debug, Clone)]
pub enum Invited {
    /// A new (pending) account was made and added; `token` activates it.
    New { account_id: String, token: String },
    /// An existing account was added to the workspace; it signs in as before.
    Existing { account_id: String },
    /// The address is already a member.
    AlreadyMember,
}

/// An unused, unexpired invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub account_id: String,
    pub email: String,
}

/// Addresses compare case-insensitively, as people type them.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn role_from(value: &str) -> Result<Role, StoreError> {
    Role::parse(value).ok_or_else(|| StoreError::Corrupt(format!("unknown member role {value:?}")))
}

impl Store {
    /// When setup finished, if it did.
    pub async fn setup_at(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT setup_at FROM console_setup WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("setup_at")).transpose()?)
    }

    /// First-run setup: the first account, owner of the default workspace (which then holds
    /// what was made before setup, e.g. datasets of `ragd ingest`). `Ok(false)` when setup was
    /// already done: nothing changes then.
    pub async fn setup_console(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        language: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("SELECT id FROM console_setup WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            return Ok(false);
        }
        let ts = now();
        let account_id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO console_setup (id, version, setup_at) VALUES (1, $1, $2)")
            .bind(env!("CARGO_PKG_VERSION"))
            .bind(ts)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO accounts (id, name, email, password_hash, interface_language, status, \
             current_tenant_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&account_id)
        .bind(name)
        .bind(normalize_email(email))
        .bind(password_hash)
        .bind(language)
        .bind(ACCOUNT_ACTIVE)
        .bind(super::DEFAULT_TENANT)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE tenants SET name = $1 WHERE id = $2")
            .bind(format!("{name}'s Workspace"))
            .bind(super::DEFAULT_TENANT)
            .execute(&mut *tx)
            .await?;
        insert_member(&mut tx, super::DEFAULT_TENANT, &account_id, Role::Owner, None, ts).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(normalize_email(email))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Counts one sign-in attempt against the account, atomically: false (nothing counted)
    /// when its current window already holds `max` failures. A window starts at the first
    /// failure after the previous one ended, and lasts `window_secs`. A successful sign-in
    /// clears the count (`record_login`), so only failures stay counted.
    pub async fn reserve_login_attempt(
        &self,
        account_id: &str,
        max: u32,
        window_secs: i64,
    ) -> Result<bool, StoreError> {
        let ts = now();
        let done = sqlx::query(
            "UPDATE accounts SET \
             login_failures = CASE WHEN login_window_start < $1 THEN 1 ELSE login_failures + 1 END, \
             login_window_start = CASE WHEN login_window_start < $1 THEN $2 ELSE login_window_start END \
             WHERE id = $3 AND (login_window_start < $1 OR login_failures < $4)",
        )
        .bind(ts.saturating_sub(window_secs))
        .bind(ts)
        .bind(account_id)
        .bind(i64::from(max))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts one sign-in attempt from a client address, atomically (one upsert): false when
    /// the address is over `max` in its window. Windows that have passed are dropped first,
    /// so the table holds only clients seen within the last window.
    pub async fn reserve_client_attempt(
        &self,
        client: &str,
        max: u32,
        window_secs: i64,
    ) -> Result<bool, StoreError> {
        let ts = now();
        let cutoff = ts.saturating_sub(window_secs);
        sqlx::query("DELETE FROM login_throttle WHERE window_start < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO login_throttle (client, failures, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (client) DO UPDATE SET \
             failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
             window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END \
             RETURNING failures",
        )
        .bind(client)
        .bind(ts)
        .bind(cutoff)
        .fetch_one(&self.pool)
        .await?;
        Ok(failures <= i64::from(max))
    }

    /// Takes back an attempt counted for a client address that turned out to succeed.
    pub async fn release_client_attempt(&self, client: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE login_throttle SET failures = failures - 1 WHERE client = $1 AND failures > 0")
            .bind(client)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A successful sign-in: clears the failures and records when and from where.
    pub async fn record_login(&self, account_id: &str, ip: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET last_login_at = $1, last_login_ip = $2, last_active_at = $1, \
             login_failures = 0 WHERE id = $3",
        )
        .bind(now())
        .bind(ip)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the account active now, at most once a minute.
    pub async fn touch_account(&self, account: &Account) -> Result<(), StoreError> {
        let ts = now();
        if account.last_active_at.is_some_and(|t| ts - t < 60) {
            return Ok(());
        }
        sqlx::query("UPDATE accounts SET last_active_at = $1 WHERE id = $2")
            .bind(ts)
            .bind(&account.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Starts a server-side session for the account with its first refresh token; returns
    /// the session id, which access tokens carry.
    pub async fn create_session(
        &self,
        account_id: &str,
        refresh_token: &str,
        expires_at: i64,
    ) -> Result<String, StoreError> {
        let session_id = uuid::Uuid::new_v4().to_string();
        let ts = now();
        let mut tx = self.begin_write().await?;
        // Sessions and tokens that have run out go as new ones come.
        sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
            .bind(ts)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (id, account_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&session_id)
        .bind(account_id)
        .bind(expires_at)
        .bind(ts)
        .execute(&mut *tx)
        .await?;
        insert_refresh_token(&mut tx, account_id, &session_id, refresh_token, expires_at, ts).await?;
        tx.commit().await?;
        Ok(session_id)
    }

    /// Whether the session is live and the account's.
    pub async fn session_is_live(&self, session_id: &str, account_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS live FROM console_sessions WHERE id = $1 AND account_id = $2 AND expires_at >= $3",
        )
        .bind(session_id)
        .bind(account_id)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Uses up a refresh token: the account and live session it belonged to, if it was valid.
    /// One statement deletes and returns it, so of concurrent uses exactly one wins, on SQLite
    /// and PostgreSQL alike (a stolen, already used token is worthless).
    pub async fn take_refresh_token(&self, token: &str) -> Result<Option<(String, String)>, StoreError> {
        let ts = now();
        let row = sqlx::query(
            "DELETE FROM refresh_tokens WHERE token_hash = $1 RETURNING account_id, session_id, expires_at",
        )
        .bind(hash_token(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = row.try_get("expires_at")?;
        let account_id: String = row.try_get("account_id")?;
        let session_id: String = row.try_get("session_id")?;
        if expires_at < ts || !self.session_is_live(&session_id, &account_id).await? {
            return Ok(None);
        }
        Ok(Some((account_id, session_id)))
    }

    /// The next refresh token of a session, which lives as long as its newest token.
    pub async fn rotate_session(
        &self,
        account_id: &str,
        session_id: &str,
        refresh_token: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE console_sessions SET expires_at = $1 WHERE id = $2")
            .bind(expires_at)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        insert_refresh_token(&mut tx, account_id, session_id, refresh_token, expires_at, now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Signs a session out: it, and its refresh tokens, stop working.
    pub async fn end_session(&self, session_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM console_sessions WHERE id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Signs out the session a refresh token belongs to (what a client holding only that
    /// token can do).
    pub async fn end_session_of_refresh_token(&self, token: &str) -> Result<(), StoreError> {
        let session: Option<String> =
            sqlx::query_scalar("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
                .bind(hash_token(token))
                .fetch_optional(&self.pool)
                .await?;
        if let Some(session) = session {
            self.end_session(&session).await?;
        }
        Ok(())
    }

    /// Changes the password hash, and ends every session made before: sessions and refresh
    /// tokens go, and the session version moves on, so earlier access tokens stop counting.
    pub async fn change_password(&self, account_id: &str, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, session_version = session_version + 1 WHERE id = $2",
        )
        .bind(password_hash)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM console_sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets one of the account's plain profile fields (`name`, `interface_language`, ...).
    pub async fn update_account_field(
        &self,
        account_id: &str,
        field: AccountField,
        value: &str,
    ) -> Result<(), StoreError> {
        let sql = format!("UPDATE accounts SET {} = $1 WHERE id = $2", field.column());
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account's role in a workspace, if it is a member.
    pub async fn member_role(&self, tenant_id: &str, account_id: &str) -> Result<Option<Role>, StoreError> {
        let row = sqlx::query("SELECT role FROM tenant_members WHERE tenant_id = $1 AND account_id = $2")
            .bind(tenant_id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| role_from(&r.try_get::<String, _>("role")?))
            .transpose()
    }

    /// The owner of a workspace, if it has one (a workspace of dataset keys only has none).
    pub async fn workspace_owner(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT account_id FROM tenant_members WHERE tenant_id = $1 AND role = 'owner' \
             ORDER BY created_at LIMIT 1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Workspaces the account belongs to, oldest membership first.
    pub async fn workspaces_of(&self, account_id: &str) -> Result<Vec<Workspace>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, t.plan, t.status, t.created_at, m.role FROM tenant_members m \
             JOIN tenants t ON t.id = m.tenant_id WHERE m.account_id = $1 ORDER BY m.created_at, t.id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Workspace {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    plan: r.try_get("plan")?,
                    status: r.try_get("status")?,
                    created_at: r.try_get("created_at")?,
                    role: role_from(&r.try_get::<String, _>("role")?)?,
                })
            })
            .collect()
    }

    /// Makes the account work in `tenant_id` from now on; `false` if it is not a member.
    pub async fn switch_workspace(&self, account_id: &str, tenant_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET current_tenant_id = $1 WHERE id = $2 AND EXISTS \
             (SELECT 1 FROM tenant_members WHERE tenant_id = $1 AND account_id = $2)",
        )
        .bind(tenant_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A new workspace owned by the account, which switches to it.
    pub async fn create_workspace(&self, account_id: &str, name: &str) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        let ts = now();
        let tenant_id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant_id)
            .bind(name)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
        insert_member(&mut tx, &tenant_id, account_id, Role::Owner, None, ts).await?;
        sqlx::query("UPDATE accounts SET current_tenant_id = $1 WHERE id = $2")
            .bind(&tenant_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(tenant_id)
    }

    pub async fn rename_workspace(&self, tenant_id: &str, name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE tenants SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Members of a workspace: owner first, then by when they joined.
    pub async fn members(&self, tenant_id: &str) -> Result<Vec<Member>, StoreError> {
        let sql = format!(
            "SELECT {}, m.role AS member_role FROM tenant_members m JOIN accounts a ON a.id = m.account_id \
             WHERE m.tenant_id = $1 ORDER BY CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END, m.created_at, a.email",
            ACCOUNT_COLUMNS
                .split(", ")
                .map(|c| format!("a.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    account: account_from_row(r)?,
                    role: role_from(&r.try_get::<String, _>("member_role")?)?,
                })
            })
            .collect()
    }

    /// Invites `email` into the workspace with `role`. A new address gets a pending account and
    /// an activation token valid until `expires_at`.
    pub async fn invite_member(
        &self,
        tenant_id: &str,
        inviter: &str,
        email: &str,
        role: Role,
        expires_at: i64,
    ) -> Result<Invited, StoreError> {
        let email = normalize_email(email);
        let mut tx = self.begin_write().await?;
        let ts = now();
        let existing = sqlx::query("SELECT id, status FROM accounts WHERE email = $1")
            .bind(&email)
            .fetch_optional(&mut *tx)
            .await?;
        let outcome = match existing {
            Some(row) => {
                let account_id: String = row.try_get("id")?;
                let member =
                    sqlx::query("SELECT id FROM tenant_members WHERE tenant_id = $1 AND account_id = $2")
                        .bind(tenant_id)
                        .bind(&account_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if member.is_some() {
                    return Ok(Invited::AlreadyMember);
                }
                insert_member(&mut tx, tenant_id, &account_id, role, Some(inviter), ts).await?;
                let status: String = row.try_get("status")?;
                if status == ACCOUNT_PENDING {
                    // Invited elsewhere before and never activated: a token of this invitation
                    // only. Activating with it voids the others (see `activate_account`).
                    let token =
                        insert_invitation(&mut tx, tenant_id, &account_id, &email, inviter, expires_at, ts)
                            .await?;
                    Invited::New { account_id, token }
                } else {
                    Invited::Existing { account_id }
                }
            }
            None => {
                let account_id = uuid::Uuid::new_v4().to_string();
                let name = email.split('@').next().unwrap_or(&email).to_string();
                sqlx::query(
                    "INSERT INTO accounts (id, name, email, status, current_tenant_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&account_id)
                .bind(&name)
                .bind(&email)
                .bind(ACCOUNT_PENDING)
                .bind(tenant_id)
                .bind(ts)
                .execute(&mut *tx)
                .await?;
                insert_member(&mut tx, tenant_id, &account_id, role, Some(inviter), ts).await?;
                let token =
                    insert_invitation(&mut tx, tenant_id, &account_id, &email, inviter, expires_at, ts)
                        .await?;
                Invited::New { account_id, token }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The open invitation a token stands for (unused, unexpired, account still a member and
    /// still pending: an active account is never reached through a token).
    pub async fn invitation(&self, token: &str) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(
            "SELECT i.id, i.tenant_id, t.name AS tenant_name, i.account_id, i.email FROM member_invitations i \
             JOIN tenants t ON t.id = i.tenant_id \
             JOIN tenant_members m ON m.tenant_id = i.tenant_id AND m.account_id = i.account_id \
             JOIN accounts a ON a.id = i.account_id AND a.status = $3 \
             WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at >= $2",
        )
        .bind(hash_token(token))
        .bind(now())
        .bind(ACCOUNT_PENDING)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Invitation {
                id: r.try_get("id")?,
                tenant_id: r.try_get("tenant_id")?,
                tenant_name: r.try_get("tenant_name")?,
                account_id: r.try_get("account_id")?,
                email: r.try_get("email")?,
            })
        })
        .transpose()
    }

    /// Activates an invited account: sets its name and password and uses the invitation up, in
    /// one transaction that changes exactly one pending account. The account joins the
    /// invitation's workspace only: its other open invitations are voided with the memberships
    /// they made, so whoever holds one token (the inviter hands it on) gets no more than that
    /// inviter could grant. `false`, with nothing changed, if the invitation was used, voided or
    /// expired meanwhile or the account is no longer pending: a token never signs in an active
    /// account.
    pub async fn activate_account(
        &self,
        invitation: &Invitation,
        name: &str,
        password_hash: &str,
        language: &str,
        timezone: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let ts = now();
        let used = sqlx::query(
            "UPDATE member_invitations SET used_at = $1 WHERE id = $2 AND account_id = $3 \
             AND used_at IS NULL AND expires_at >= $1",
        )
        .bind(ts)
        .bind(&invitation.id)
        .bind(&invitation.account_id)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(false);
        }
        let activated = sqlx::query(
            "UPDATE accounts SET name = $1, password_hash = $2, interface_language = $3, timezone = $4, \
             status = $5, current_tenant_id = $6 WHERE id = $7 AND status = $8",
        )
        .bind(name)
        .bind(password_hash)
        .bind(language)
        .bind(timezone)
        .bind(ACCOUNT_ACTIVE)
        .bind(&invitation.tenant_id)
        .bind(&invitation.account_id)
        .bind(ACCOUNT_PENDING)
        .execute(&mut *tx)
        .await?;
        if activated.rows_affected() != 1 {
            // Dropping the transaction rolls the used invitation back too.
            return Ok(false);
        }
        // A pending account's memberships all came from invitations: only this one's stays.
        sqlx::query("DELETE FROM tenant_members WHERE account_id = $1 AND tenant_id <> $2")
            .bind(&invitation.account_id)
            .bind(&invitation.tenant_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM member_invitations WHERE account_id = $1 AND id <> $2")
            .bind(&invitation.account_id)
            .bind(&invitation.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Changes a member's role; `false` if the account is not a member.
    pub async fn update_member_role(
        &self,
        tenant_id: &str,
        account_id: &str,
        role: Role,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE tenant_members SET role = $1 WHERE tenant_id = $2 AND account_id = $3")
                .bind(role.as_str())
                .bind(tenant_id)
                .bind(account_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a member (and their open invitations to this workspace); `false` if not a member.
    pub async fn remove_member(&self, tenant_id: &str, account_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM tenant_members WHERE tenant_id = $1 AND account_id = $2")
            .bind(tenant_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM member_invitations WHERE tenant_id = $1 AND account_id = $2")
            .bind(tenant_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        // A former member is on no dataset's partial member list (a returning one starts afresh).
        sqlx::query("DELETE FROM dataset_permissions WHERE tenant_id = $1 AND account_id = $2")
            .bind(tenant_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        // Whoever was working in this workspace falls back to another of theirs on next request.
        sqlx::query("UPDATE accounts SET current_tenant_id = NULL WHERE id = $1 AND current_tenant_id = $2")
            .bind(account_id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Profile fields an account changes one at a time.
#[derive(Debug, Clone, Copy)]
pub enum AccountField {
    Name,
    InterfaceLanguage,
    InterfaceTheme,
    Timezone,
}

impl AccountField {
    fn column(self) -> &'static str {
        match self {
            AccountField::Name => "name",
            AccountField::InterfaceLanguage => "interface_language",
            AccountField::InterfaceTheme => "interface_theme",
            AccountField::Timezone => "timezone",
        }
    }
}

async fn insert_member(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: &str,
    account_id: &str,
    role: Role,
    invited_by: Option<&str>,
    ts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tenant_members (id, tenant_id, account_id, role, invited_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(tenant_id)
    .bind(account_id)
    .bind(role.as_str())
    .bind(invited_by)
    .bind(ts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_refresh_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: &str,
    session_id: &str,
    token: &str,
    expires_at: i64,
    ts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, account_id, session_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(token))
    .bind(account_id)
    .bind(session_id)
    .bind(expires_at)
    .bind(ts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a new invitation and returns its token (in clear, once).
async fn insert_invitation(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    tenant_id: &str,
    account_id: &str,
    email: &str,
    inviter: &str,
    expires_at: i64,
    ts: i64,
) -> Result<String, StoreError> {
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    sqlx::query(
        "INSERT INTO member_invitations (id, tenant_id, account_id, email, token_hash, created_by, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(tenant_id)
    .bind(account_id)
    .bind(email)
    .bind(hash_token(&token))
    .bind(inviter)
    .bind(expires_at)
    .bind(ts)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_grant_as_dify() {
        for role in [
            Role::Owner,
            Role::Admin,
            Role::Editor,
            Role::Normal,
            Role::DatasetOperator,
        ] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
        assert!(Role::Admin.is_admin_or_owner() && !Role::Editor.is_admin_or_owner());
        assert!(Role::Editor.is_editor() && !Role::DatasetOperator.is_editor());
        assert!(Role::DatasetOperator.is_dataset_editor() && !Role::Normal.is_dataset_editor());
        assert!(Role::Normal.can_use_apps() && !Role::DatasetOperator.can_use_apps());
    }

    #[test]
    fn emails_compare_case_insensitively() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
    }
}
