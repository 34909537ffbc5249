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
    file: Mutex<std::fs::File>,
    /// URL → deleted? in creation order, with an index so a load run's tens of thousands of
    /// resources journal in constant time each.
    entries: Mutex<Entries>,
}

/// Each URL is held once, shared by the list and the index (a load run keeps tens of
/// thousands).
#[derive(Default)]
struct Entries {
    list: Vec<(std::sync::Arc<str>, bool)>,
    index: std::collections::HashMap<std::sync::Arc<str>, usize>,
}

impl Entries {
    /// Adds `url` unless known; whether it was new.
    fn add(&mut self, url: &str) -> bool {
        if self.index.contains_key(url) {
            return false;
        }
        let url: std::sync::Arc<str> = url.into();
        self.index.insert(url.clone(), self.list.len());
        self.list.push((url, false));
        true
    }

    /// Marks `url` deleted; whether it was known and not yet deleted.
    fn delete(&mut self, url: &str) -> bool {
        match self.index.get(url) {
            Some(&i) if !self.list[i].1 => {
                self.list[i].1 = true;
                true
            }
            _ => false,
        }
    }
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
            file: Mutex::new(file),
            entries: Mutex::new(Entries::default()),
        })
    }

    /// Reopens an existing ledger (for `scimtest cleanup`), appending to it.
    pub fn open(path: &Path) -> std::io::Result<Ledger> {
        let text = std::fs::read_to_string(path)?;
        let mut entries = Entries::default();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if let Some(u) = v.get("created").and_then(Value::as_str) {
                entries.add(u);
            } else if let Some(u) = v.get("deleted").and_then(Value::as_str) {
                entries.delete(u);
            }
        }
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        Ok(Ledger {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            entries: Mutex::new(entries),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, line: Value) {
        // One write per line (formatted first), before the run goes on, so a crash right after
        // a create still leaves the URL on disk.
        let mut text = line.to_string();
        text.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = f.write_all(text.as_bytes());
    }

    pub fn record_created(&self, url: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !entries.add(url) {
            return;
        }
        drop(entries);
        self.append(json!({ "created": url }));
    }

    pub fn record_deleted(&self, url: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.delete(url) {
            drop(entries);
            self.append(json!({ "deleted": url }));
        }
    }

    /// URLs created and not yet deleted, newest first (groups made of users go before them).
    pub fn pending(&self) -> Vec<String> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .list
            .iter()
            .rev()
            .filter(|(_, d)| !d)
            .map(|(u, _)| u.to_string())
            .collect()
    }

    pub fn created(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .list
            .len()
    }

    /// Deletes everything pending, `concurrency` at a time. A 404 counts as deleted (a test
    /// already removed it). `progress` is called after each resource.
    pub async fn cleanup(
        &self,
        target: &Target,
        concurrency: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> CleanupOutcome {
        let total = self.pending().len();
        let mut left: BTreeMap<String, String> = BTreeMap::new();
        let mut done = 0usize;
        // A server under load answers some deletes with 5xx or 429: those are tried again, a
        // few passes with a growing pause; any other answer is final.
        for pass in 0..CLEANUP_PASSES {
            let pending: Vec<String> = self
                .pending()
                .into_iter()
                .filter(|u| pass == 0 || left.get(u).is_some_and(|why| why.starts_with(RETRYABLE)))
                .collect();
            if pending.is_empty() {
                break;
            }
            if pass > 0 {
                tokio::time::sleep(std::time::Duration::from_millis((100u64 << pass).min(2000)))
                    .await;
            }
            for chunk in pending.chunks(concurrency.max(1)) {
                let futs = chunk.iter().map(|u| async move {
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
