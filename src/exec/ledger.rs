//! The cleanup ledger: every resource the run creates is journaled on disk the moment the
//! server confirms it, and marked when it is deleted. Whatever the run does not get to delete
//! (a crash, a second Ctrl-C) is in the file for `scimtest cleanup --ledger FILE`.
//!
//! Format: JSON lines, `{"created": URL}` and `{"deleted": URL}`. Only URLs the target itself
//! returned for resources this run created are ever written, so cleanup can never touch
//! anything else. No credentials are written.

use super::http::Target;
use crate::suite::model::Auth;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Passes over what is left to delete (the first plus retries of temporary failures).
const CLEANUP_PASSES: u32 = 8;
/// Marks a failure worth another pass (5xx, 429, no answer).
const RETRYABLE: &str = "(temporary) ";

pub struct Ledger {
    path: PathBuf,
    /// Appends, and the journal's length (where the next line starts).
    file: Mutex<(std::fs::File, u64)>,
    /// Reads journal lines back (duplicate checks, cleanup).
    reader: Mutex<std::fs::File>,
    /// What was created, in creation order, as places in the journal rather than URLs: a load
    /// run creates hundreds of thousands of resources, and the memory per resource is what
    /// keeps the run's peak memory flat (16 bytes in the list plus the index, not the URL).
    entries: Mutex<Entries>,
}

/// One created resource: where its `created` line is in the journal, and whether it is gone.
#[derive(Clone, Copy)]
struct Entry {
    offset: u64,
    len: u32,
    deleted: bool,
}

#[derive(Default)]
struct Entries {
    list: Vec<Entry>,
    /// URL hash → place in `list` of the first URL with that hash.
    index: std::collections::HashMap<u64, u32>,
    /// Further URLs whose hash was taken (practically never; kept so a collision is never a
    /// resource forgotten).
    collisions: Vec<(u64, u32)>,
}

impl Entries {
    fn places(&self, h: u64) -> impl Iterator<Item = usize> + '_ {
        self.index
            .get(&h)
            .copied()
            .into_iter()
            .chain(
                self.collisions
                    .iter()
                    .filter(move |(x, _)| *x == h)
                    .map(|(_, i)| *i),
            )
            .map(|i| i as usize)
    }

    fn push(&mut self, h: u64, entry: Entry) {
        let i = self.list.len() as u32;
        match self.index.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => self.collisions.push((h, i)),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        self.list.push(entry);
    }
}

fn hash(url: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    url.hash(&mut h);
    h.finish()
}

#[derive(Debug, Default, Clone)]
pub struct CleanupOutcome {
    pub created: usize,
    pub deleted: usize,
    pub left_behind: Vec<String>,
}

impl Ledger {
    /// Creates (truncating) the ledger file.
    pub fn create(path: &Path) -> std::io::Result<Ledger> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(path)?;
        Ok(Ledger {
            path: path.to_path_buf(),
            file: Mutex::new((file, 0)),
            reader: Mutex::new(std::fs::File::open(path)?),
            entries: Mutex::new(Entries::default()),
        })
    }

    /// Reopens an existing ledger (for `scimtest cleanup`), appending to it.
    pub fn open(path: &Path) -> std::io::Result<Ledger> {
        let text = std::fs::read_to_string(path)?;
        let len = text.len() as u64;
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        let ledger = Ledger {
            path: path.to_path_buf(),
            file: Mutex::new((file, len)),
            reader: Mutex::new(std::fs::File::open(path)?),
            entries: Mutex::new(Entries::default()),
        };
        let mut offset = 0u64;
        for line in text.split_inclusive('\n') {
            let at = offset;
            offset += line.len() as u64;
            let Ok(v) = serde_json::from_str::<Value>(line.trim_end()) else {
                continue;
            };
            if let Some(u) = v.get("created").and_then(Value::as_str) {
                let mut e = ledger.lock_entries();
                if ledger.find(&e, u).is_none() {
                    let entry = Entry {
                        offset: at,
                        len: line.len() as u32,
                        deleted: false,
                    };
                    e.push(hash(u), entry);
                }
            } else if let Some(u) = v.get("deleted").and_then(Value::as_str) {
                let mut e = ledger.lock_entries();
                if let Some(i) = ledger.find(&e, u) {
                    e.list[i].deleted = true;
                }
            }
        }
        Ok(ledger)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The URL of a `created` line.
    fn read_url(&self, e: Entry) -> Option<String> {
        use std::io::{Read, Seek, SeekFrom};
        let mut buf = vec![0u8; e.len as usize];
        let mut r = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        r.seek(SeekFrom::Start(e.offset)).ok()?;
        r.read_exact(&mut buf).ok()?;
        let v: Value = serde_json::from_slice(&buf).ok()?;
        v.get("created").and_then(Value::as_str).map(String::from)
    }

    /// The place of `url` in the list, if it was recorded as created.
    fn find(&self, e: &Entries, url: &str) -> Option<usize> {
        e.places(hash(url))
            .find(|&i| self.read_url(e.list[i]).as_deref() == Some(url))
    }

    /// Appends one line; where it starts and how long it is.
    fn append(&self, line: Value) -> (u64, u32) {
        // One write per line (formatted first), before the run goes on, so a crash right after
        // a create still leaves the URL on disk.
        let mut text = line.to_string();
        text.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let at = f.1;
        if f.0.write_all(text.as_bytes()).is_ok() {
            f.1 += text.len() as u64;
        }
        (at, text.len() as u32)
    }

    pub fn record_created(&self, url: &str) {
        let mut e = self.lock_entries();
        if self.find(&e, url).is_some() {
            return;
        }
        let (offset, len) = self.append(json!({ "created": url }));
        e.push(
            hash(url),
            Entry {
                offset,
                len,
                deleted: false,
            },
        );
    }

    pub fn record_deleted(&self, url: &str) {
        let mut e = self.lock_entries();
        if let Some(i) = self.find(&e, url) {
            if !e.list[i].deleted {
                e.list[i].deleted = true;
                drop(e);
                self.append(json!({ "deleted": url }));
            }
        }
    }

    /// URLs created and not yet deleted, newest first (groups made of users go before them).
    pub fn pending(&self) -> Vec<String> {
        let entries: Vec<Entry> = {
            let e = self.lock_entries();
            e.list
                .iter()
                .rev()
                .filter(|x| !x.deleted)
                .copied()
                .collect()
        };
        entries
            .into_iter()
            .filter_map(|x| self.read_url(x))
            .collect()
    }

    /// How many resources are recorded as created and not yet deleted.
    pub fn pending_count(&self) -> usize {
        self.lock_entries()
            .list
            .iter()
            .filter(|x| !x.deleted)
            .count()
    }

    pub fn created(&self) -> usize {
        self.lock_entries().list.len()
    }
}

/// What a cleanup pass deletes: a journal entry (first pass) or a URL that failed before.
enum Todo {
    Entry(Entry),
    Url(String),
}

impl Ledger {
    /// Deletes everything pending, `concurrency` at a time. A 404 counts as deleted (a test
    /// already removed it). `progress` is called after each resource.
    pub async fn cleanup(
        &self,
        target: &Target,
        concurrency: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> CleanupOutcome {
        let total = self.pending_count();
        let mut left: BTreeMap<String, String> = BTreeMap::new();
        let mut done = 0usize;
        // A server under load answers some deletes with 5xx or 429: those are tried again, a
        // few passes with a growing pause; any other answer is final. The first pass reads the
        // URLs from the journal a chunk at a time, so cleanup's memory stays flat too.
        for pass in 0..CLEANUP_PASSES {
            let todo: Vec<Todo> = if pass == 0 {
                let e = self.lock_entries();
                e.list
                    .iter()
                    .rev()
                    .filter(|x| !x.deleted)
                    .map(|x| Todo::Entry(*x))
                    .collect()
            } else {
                left.iter()
                    .filter(|(_, why)| why.starts_with(RETRYABLE))
                    .map(|(u, _)| Todo::Url(u.clone()))
                    .collect()
            };
            if todo.is_empty() {
                break;
            }
            if pass > 0 {
                tokio::time::sleep(std::time::Duration::from_millis((100u64 << pass).min(2000)))
                    .await;
            }
            for chunk in todo.chunks(concurrency.max(1)) {
                let pending: Vec<String> = chunk
                    .iter()
                    .filter_map(|t| match t {
                        Todo::Entry(e) => self.read_url(*e),
                        Todo::Url(u) => Some(u.clone()),
                    })
                    .collect();
                let futs = pending.iter().map(|u| async move {
                    let r = match target.url(u) {
                        Ok(url) => target
                            .send("DELETE", url, &BTreeMap::new(), None, Auth::Default)
                            .await
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e),
                    };
                    (u.clone(), r)
                });
                for (u, r) in futures::future::join_all(futs).await {
                    match r {
                        Ok(resp) if (200..300).contains(&resp.status) || resp.status == 404 => {
                            left.remove(&u);
                            self.record_deleted(&u);
                            done += 1;
                            progress(done, total);
                        }
                        Ok(resp) if resp.status >= 500 || resp.status == 429 => {
                            left.insert(u, format!("{RETRYABLE}DELETE answered {}", resp.status));
                        }
                        Ok(resp) => {
                            left.insert(u, format!("DELETE answered {}", resp.status));
                        }
                        Err(e) => {
                            left.insert(u, format!("{RETRYABLE}{e}"));
                        }
                    }
                }
            }
        }
        let left: BTreeMap<String, String> = left
            .into_iter()
            .map(|(u, why)| (u, why.trim_start_matches(RETRYABLE).to_string()))
            .collect();
        let created = self.created();
        let pending_after = self.pending();
        CleanupOutcome {
            created,
            deleted: created - pending_after.len(),
            left_behind: pending_after
                .into_iter()
                .map(|u| match left.get(&u) {
                    Some(why) => format!("{u} ({why})"),
                    None => u,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_round_trips_and_a_hash_collision_forgets_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.jsonl");
        let l = Ledger::create(&path).expect("ledger");
        for i in 0..100 {
            l.record_created(&format!("http://x/Users/{i}"));
        }
        l.record_created("http://x/Users/5"); // twice: kept once
        l.record_deleted("http://x/Users/7");
        l.record_deleted("http://x/Users/unknown");
        assert_eq!((l.created(), l.pending_count()), (100, 99));
        // Two URLs forced onto one hash: both are remembered and told apart.
        {
            let mut e = l.lock_entries();
            let (offset, len) = l.append(json!({"created": "http://x/Groups/a"}));
            e.push(
                42,
                Entry {
                    offset,
                    len,
                    deleted: false,
                },
            );
            let (offset, len) = l.append(json!({"created": "http://x/Groups/b"}));
            e.push(
                42,
                Entry {
                    offset,
                    len,
                    deleted: false,
                },
            );
            let found: Vec<String> = e.places(42).filter_map(|i| l.read_url(e.list[i])).collect();
            assert_eq!(found, ["http://x/Groups/a", "http://x/Groups/b"]);
        }
        let pending = l.pending();
        assert_eq!(pending.len(), 101);
        assert_eq!(pending[0], "http://x/Groups/b", "newest first");
        assert!(!pending.contains(&"http://x/Users/7".to_string()));
        // Reopened from disk: the same state.
        drop(l);
        let r = Ledger::open(&path).expect("reopen");
        assert_eq!((r.created(), r.pending_count()), (102, 101));
        assert!(!r.pending().contains(&"http://x/Users/7".to_string()));
    }
}
