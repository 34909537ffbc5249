//! SQLite storage for the reference server.
//!
//! One connection behind a mutex: every request's read-modify-write runs inside one transaction
//! while holding it, which is what makes concurrent member adds lose nothing and two racing
//! creates of one userName end in exactly one 201. WAL mode with `synchronous=NORMAL` makes each
//! commit reach the operating system before the server answers, so an acknowledged write survives
//! `kill -9` of the server (power-loss durability needs `--sync full`).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// Storage failures. `Conflict` is a unique-index violation; everything else is internal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a resource with that unique value already exists")]
    Conflict,
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// One stored resource. `data` holds the resource without `meta` and without derived attributes.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub rtype: String,
    /// Case-folded unique key (userName for Users; displayName under a contract that wants unique
    /// group names), `None` when the type has no unique attribute.
    pub unique_key: Option<String>,
    pub version: i64,
    pub created: String,
    pub last_modified: String,
    pub data: Value,
}

/// How hard a commit is pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncMode {
    /// WAL + synchronous=NORMAL: survives a killed process, not a power cut.
    Normal,
    /// WAL + synchronous=FULL: every commit is fsynced.
    Full,
}

pub struct Store {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS resources (
    id            TEXT PRIMARY KEY,
    rtype         TEXT NOT NULL,
    unique_key    TEXT,
    version       INTEGER NOT NULL,
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    data          TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_unique ON resources(rtype, unique_key)
    WHERE unique_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_key ON resources(rtype, unique_key);
CREATE TABLE IF NOT EXISTS memberships (
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX IF NOT EXISTS memberships_member ON memberships(member_id);
";

impl Store {
    /// Opens (creating if needed) a database file, or a private in-memory one when `path` is None.
    pub fn open(path: Option<&Path>, sync: SyncMode) -> Result<Self, StoreError> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        if path.is_some() {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            let level = match sync {
                SyncMode::Normal => "NORMAL",
                SyncMode::Full => "FULL",
            };
            conn.pragma_update(None, "synchronous", level)?;
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written transaction behind (SQLite
        // rolls back an unfinished one), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` inside one immediate transaction; commits if it returns Ok, rolls back otherwise.
    pub fn transact<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&Tx(&tx))?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs read-only work without a write transaction.
    pub fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(StoreError::from)?;
        f(&Tx(&tx))
    }
}

/// Operations available inside a transaction.
pub struct Tx<'a>(&'a Transaction<'a>);

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Record, String)> {
    let data: String = row.get(6)?;
    Ok((
        Record {
            id: row.get(0)?,
            rtype: row.get(1)?,
            unique_key: row.get(2)?,
            version: row.get(3)?,
            created: row.get(4)?,
            last_modified: row.get(5)?,
            data: Value::Null,
        },
        data,
    ))
}

fn decode(parts: (Record, String)) -> Result<Record, StoreError> {
    let (mut rec, data) = parts;
    rec.data = serde_json::from_str(&data)
        .map_err(|e| StoreError::Corrupt(format!("resource {}: {e}", rec.id)))?;
    Ok(rec)
}

const COLUMNS: &str = "id, rtype, unique_key, version, created, last_modified, data";

impl Tx<'_> {
    pub fn get(&self, rtype: &str, id: &str) -> Result<Option<Record>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resources WHERE rtype = ?1 AND id = ?2");
        let row = self
            .0
            .query_row(&sql, params![rtype, id], row_to_record)
            .optional()?;
        row.map(decode).transpose()
    }

    /// Any resource by id, whatever its type (for resolving group members).
    pub fn get_any(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resources WHERE id = ?1");
        let row = self
            .0
            .query_row(&sql, params![id], row_to_record)
            .optional()?;
        row.map(decode).transpose()
    }

    /// Every resource of a type, in creation order (stable across pages).
    pub fn list(&self, rtype: &str) -> Result<Vec<Record>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM resources WHERE rtype = ?1 ORDER BY rowid");
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![rtype], row_to_record)?;
        rows.map(|r| decode(r?)).collect()
    }

    /// Resources of a type whose unique key equals `key` (an index lookup for `userName eq`).
    pub fn by_key(&self, rtype: &str, key: &str) -> Result<Vec<Record>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM resources WHERE rtype = ?1 AND unique_key = ?2 ORDER BY rowid"
        );
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![rtype, key], row_to_record)?;
        rows.map(|r| decode(r?)).collect()
    }

    pub fn insert(&self, rec: &Record) -> Result<(), StoreError> {
        let data = rec.data.to_string();
        let res = self.0.execute(
            "INSERT INTO resources (id, rtype, unique_key, version, created, last_modified, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                rec.id,
                rec.rtype,
                rec.unique_key,
                rec.version,
                rec.created,
                rec.last_modified,
                data
            ],
        );
        map_conflict(res)?;
        Ok(())
    }

    pub fn update(&self, rec: &Record) -> Result<(), StoreError> {
        let data = rec.data.to_string();
        let res = self.0.execute(
            "UPDATE resources SET unique_key = ?2, version = ?3, last_modified = ?4, data = ?5
             WHERE id = ?1",
            params![rec.id, rec.unique_key, rec.version, rec.last_modified, data],
        );
        map_conflict(res)?;
        Ok(())
    }

    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let n = self
            .0
            .execute("DELETE FROM resources WHERE id = ?1", params![id])?;
        self.0
            .execute("DELETE FROM memberships WHERE group_id = ?1", params![id])?;
        Ok(n > 0)
    }

    /// Replaces the membership rows of a group (mirrors its `members` for `User.groups`).
    pub fn set_members(&self, group_id: &str, member_ids: &[String]) -> Result<(), StoreError> {
        self.0.execute(
            "DELETE FROM memberships WHERE group_id = ?1",
            params![group_id],
        )?;
        let mut stmt = self.0.prepare_cached(
            "INSERT OR IGNORE INTO memberships (group_id, member_id) VALUES (?1, ?2)",
        )?;
        for m in member_ids {
            stmt.execute(params![group_id, m])?;
        }
        Ok(())
    }

    /// Ids of the groups that list `member_id` directly.
    pub fn groups_of(&self, member_id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT m.group_id FROM memberships m JOIN resources r ON r.id = m.group_id
             WHERE m.member_id = ?1 ORDER BY r.rowid",
        )?;
        let rows = stmt.query_map(params![member_id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn count(&self, rtype: &str) -> Result<usize, StoreError> {
        let n: i64 = self.0.query_row(
            "SELECT COUNT(*) FROM resources WHERE rtype = ?1",
            params![rtype],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

fn map_conflict(res: rusqlite::Result<usize>) -> Result<usize, StoreError> {
    match res {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict)
        }
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(id: &str, key: &str) -> Record {
        Record {
            id: id.into(),
            rtype: "User".into(),
            unique_key: Some(key.into()),
            version: 1,
            created: "2026-01-01T00:00:00Z".into(),
            last_modified: "2026-01-01T00:00:00Z".into(),
            data: json!({"userName": key}),
        }
    }

    #[test]
    fn unique_key_conflicts_and_rollback() {
        let store = Store::open(None, SyncMode::Normal).unwrap();
        store.transact(|tx| tx.insert(&rec("a", "bob"))).unwrap();
        let err = store
            .transact(|tx| tx.insert(&rec("b", "bob")))
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict));
        // A failing closure rolls back what it wrote before failing.
        let _ = store.transact(|tx| {
            tx.insert(&rec("c", "carol"))?;
            tx.insert(&rec("d", "bob"))
        });
        assert!(store.read(|tx| tx.get("User", "c")).unwrap().is_none());
        assert_eq!(store.read(|tx| tx.count("User")).unwrap(), 1);
    }
}
