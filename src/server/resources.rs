//! Resource operations of the reference server: create, read, list, replace, patch, delete.
//!
//! Plain functions over the store, shared by the HTTP handlers and by `/Bulk`. Each write runs in
//! one SQLite transaction holding the store lock, so the read-modify-write of a PATCH cannot
//! interleave with another request's.

use super::contract::{self, Contract};
use super::faults::Fault;
use super::limits;
use super::query_faults;
use super::resource_faults;
use super::store::{Record, StoreError, Tx};
use super::vendor_faults;
use super::AppState;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{
    AttrType, AttributeDef, Mutability, Resolved, ResourceType, ENTERPRISE_URN, PATCH_OP_URN,
};
use crate::scim::value::{self, fold, get_ci, remove_ci};
use crate::scim::{filter, patch, query, resource};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                ScimError::uniqueness("a resource with that unique value already exists")
            }
            other => {
                tracing::error!("{other}");
                ScimError::internal("internal storage error")
            }
        }
    }
}

/// What a request needs besides its body: where it came in, for building URIs.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub base_url: String,
}

/// Query parameters of a list or search request (RFC 7644 §3.4.2, §3.4.3).
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

/// Projection parameters for single-resource responses.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The weak ETag of a version (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an If-Match / If-None-Match header value names `version` (`*` names any).
pub fn etag_matches(header: &str, version: i64) -> bool {
    let current = version.to_string();
    header.split(',').map(str::trim).any(|tag| {
        tag == "*" || {
            let t = tag.strip_prefix("W/").unwrap_or(tag);
            t.trim_matches('"') == current
        }
    })
}

/// Whether `obj` has a non-empty string under `name` (any case).
fn has_text(obj: &Map<String, Value>, name: &str) -> bool {
    get_ci(obj, name)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// The attribute a PATCH operation's path points at (value filters and sub-attributes after a
/// `[` are ignored), for the PATCH faults.
fn op_target<'r>(rt: &'r ResourceType, op: &Value) -> Option<Resolved<'r>> {
    let path = op.get("path").and_then(Value::as_str)?;
    rt.resolve_str(path.split('[').next().unwrap_or(path).trim())
}

fn op_is(op: &Value, name: &str) -> bool {
    op.get("op")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case(name))
}

impl Ctx<'_> {
    fn faults_on(&self, f: Fault) -> bool {
        self.state.faults.on(f)
    }

    fn contract(&self) -> Contract {
        self.state.config.contract
    }

    pub fn location(&self, rt: &ResourceType, id: &str) -> String {
        if self.faults_on(Fault::LocationWrongBase) {
            let base = vendor_faults::wrong_base(&self.base_url, &self.state.config.base_path);
            return format!("{base}{}/{id}", rt.endpoint);
        }
        format!("{}{}/{}", self.base_url, rt.endpoint, id)
    }

    /// The unique key of a resource: folded userName for Users (group displayName under Asana).
    fn unique_key(&self, rt: &ResourceType, data: &Value) -> Option<String> {
        let attr = match (rt.name.as_str(), self.contract()) {
            ("User", _) => "userName",
            ("Group", Contract::Asana) => "displayName",
            _ => return None,
        };
        if (self.faults_on(Fault::DuplicateUsername) || self.faults_on(Fault::UniquenessRace))
            && rt.name == "User"
        {
            return None;
        }
        let v = data.get(attr)?.as_str()?;
        if self.faults_on(Fault::UsernameCaseSensitive) && rt.name == "User" {
            Some(v.to_string())
        } else if self.faults_on(Fault::NoPrecis) {
            // `no-precis`: a plain lower-cased key, without NFC or width mapping.
            Some(v.to_lowercase())
        } else {
            Some(fold(v))
        }
    }

    fn check_if_match(&self, if_match: Option<&str>, rec: &Record) -> ScimResult<()> {
        match if_match {
            Some(h) if !self.faults_on(Fault::IgnoreIfMatch) && !etag_matches(h, rec.version) => {
                Err(ScimError::new(
                    412,
                    None,
                    format!(
                        "If-Match {h} does not match the current version {}",
                        etag(rec.version)
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn next_version(&self, v: i64) -> i64 {
        if self.faults_on(Fault::VersionUnchanged) {
            v
        } else {
            v + 1
        }
    }

    /// Contract rules applied to every prepared (canonical) resource before it is stored.
    fn contract_rules(
        &self,
        rt: &ResourceType,
        data: &mut Value,
        existing: Option<&Value>,
    ) -> ScimResult<()> {
        if self.contract() != Contract::Asana {
            return Ok(());
        }
        contract::asana_restrict(&rt.name, data);
        if rt.name == "User" {
            if self.faults_on(Fault::AsanaFormattedRecomputed) {
                vendor_faults::formatted_from_parts(data);
            } else {
                contract::asana_apply_formatted(data);
            }
            if !self.faults_on(Fault::AsanaAnyDomain) {
                contract::asana_check_user(data, &self.state.config.domain)?;
            }
            if let Some(old) = existing {
                let was_active = old.get("active").and_then(Value::as_bool).unwrap_or(true);
                let now_active = data
                    .get("active")
                    .and_then(Value::as_bool)
                    .unwrap_or(was_active);
                if !was_active && now_active && !self.faults_on(Fault::AsanaReactivationAllowed) {
                    return Err(ScimError::invalid_value(
                        "a deprovisioned user cannot be reactivated (Asana contract)",
                    ));
                }
                // preferredLanguage is set only when the user is created.
                let map = data
                    .as_object_mut()
                    .ok_or_else(|| ScimError::internal("resource is not an object"))?;
                match old.get("preferredLanguage") {
                    _ if self.faults_on(Fault::AsanaPreferredLanguageUpdatable) => None,
                    Some(pl) => map.insert("preferredLanguage".into(), pl.clone()),
                    None => map.remove("preferredLanguage"),
                };
            }
        }
        Ok(())
    }

    /// Fills group members' type, $ref and display from the stored resources they point to, and
    /// refuses members that do not exist.
    fn resolve_members(
        &self,
        tx: &Tx<'_>,
        group_id: &str,
        data: &mut Value,
    ) -> ScimResult<Vec<String>> {
        let Some(members) = data.get_mut("members").and_then(Value::as_array_mut) else {
            return Ok(vec![]);
        };
        let mut ids = Vec::new();
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(members.len());
        for m in members.drain(..) {
            let Some(id) = m.get("value").and_then(Value::as_str).map(String::from) else {
                return Err(ScimError::invalid_value(
                    "every member needs a value (the member's id)",
                ));
            };
            if id == group_id {
                return Err(ScimError::invalid_value(
                    "a group cannot be a member of itself",
                ));
            }
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(target) = tx.get_any(&id)? else {
                return Err(ScimError::invalid_value(format!(
                    "member {id:?} is not the id of an existing User or Group"
                )));
            };
            // members.display is immutable (RFC 7643 §2.4, §4.2): a value the client set is kept;
            // the server fills it in only when none was sent.
            let sent_display = m
                .get("display")
                .filter(|d| d.as_str().is_some_and(|s| !s.is_empty()))
                .cloned();
            let (rt, display) = if target.rtype == "User" {
                let d = target
                    .data
                    .get("displayName")
                    .or_else(|| target.data.get("userName"))
                    .cloned();
                (&self.state.registry.user, d)
            } else {
                (
                    &self.state.registry.group,
                    target.data.get("displayName").cloned(),
                )
            };
            let mut entry = Map::new();
            entry.insert("value".into(), Value::String(id.clone()));
            entry.insert("$ref".into(), Value::String(self.location(rt, &id)));
            if let Some(d) = sent_display.or(display) {
                entry.insert("display".into(), d);
            }
            entry.insert("type".into(), Value::String(target.rtype.clone()));
            out.push(Value::Object(entry));
            ids.push(id);
        }
        *members = out;
        Ok(ids)
    }

    /// manager.displayName is readOnly (RFC 7643 §4.3): whatever the client sent is replaced by
    /// the manager's own displayName (or userName), or dropped when the manager is unknown.
    fn derive_manager(&self, tx: &Tx<'_>, data: &mut Value) -> ScimResult<()> {
        let Some(mgr) = data
            .get_mut(ENTERPRISE_URN)
            .and_then(|e| e.get_mut("manager"))
            .and_then(Value::as_object_mut)
        else {
            return Ok(());
        };
        mgr.remove("displayName");
        let Some(id) = mgr.get("value").and_then(Value::as_str).map(String::from) else {
            return Ok(());
        };
        if let Some(user) = tx.get("User", &id)? {
            if let Some(d) = user
                .data
                .get("displayName")
                .or_else(|| user.data.get("userName"))
            {
                mgr.insert("displayName".into(), d.clone());
            }
            if !mgr.contains_key("$ref") {
                let loc = self.location(&self.state.registry.user, &id);
                mgr.insert("$ref".into(), Value::String(loc));
            }
        }
        Ok(())
    }

    fn new_id(&self, tx: &Tx<'_>, body: &Value) -> ScimResult<String> {
        if self.faults_on(Fault::ReadOnlyHonoured) {
            if let Some(id) = body
                .as_object()
                .and_then(|o| get_ci(o, "id"))
                .and_then(Value::as_str)
            {
                return Ok(id.to_string());
            }
        }
        if self.faults_on(Fault::NumericId) {
            // Numeric ids need a counter; the row count plus one is unique while nothing is deleted,
            // which is all a fault demo needs.
            let n = tx.count("User")? + tx.count("Group")? + 1;
            return Ok(n.to_string());
        }
        Ok(uuid::Uuid::new_v4().to_string())
    }

    /// Whether a stored user already has the body's userName (folded); only the
    /// `uniqueness-race` fault checks this way instead of relying on the unique index.
    pub fn user_name_taken(&self, tx: &Tx<'_>, body: &Value) -> ScimResult<bool> {
        let Some(name) = body
            .as_object()
            .and_then(|o| crate::scim::value::get_ci(o, "userName"))
            .and_then(Value::as_str)
        else {
            return Ok(false);
        };
        let want = fold(name);
        Ok(tx.list("User")?.iter().any(|r| {
            r.data
                .get("userName")
                .and_then(Value::as_str)
                .is_some_and(|n| fold(n) == want)
        }))
    }

    pub fn create(&self, tx: &Tx<'_>, rt: &ResourceType, body: &Value) -> ScimResult<Record> {
        self.insert_new(tx, rt, body, None)
    }

    /// Faults that change what a create body says before the input rules see it.
    fn fault_create_body<'b>(&self, rt: &ResourceType, body: &'b Value) -> Cow<'b, Value> {
        if self.state.faults.is_empty() {
            return Cow::Borrowed(body);
        }
        let mut body = body.clone();
        if let Some(obj) = body.as_object_mut() {
            // `username-optional`: a server that makes up a userName rather than refusing.
            if rt.name == "User"
                && self.faults_on(Fault::UsernameOptional)
                && !has_text(obj, "userName")
            {
                remove_ci(obj, "userName");
                obj.insert(
                    "userName".into(),
                    Value::String(uuid::Uuid::new_v4().to_string()),
                );
            }
            // `group-displayname-optional`: the §8.7.1 sample schema's required: false, with a
            // default name so the stored group stays displayable.
            if rt.name == "Group"
                && self.faults_on(Fault::GroupDisplayNameOptional)
                && !has_text(obj, "displayName")
            {
                remove_ci(obj, "displayName");
                let name = format!("group-{}", uuid::Uuid::new_v4());
                obj.insert("displayName".into(), Value::String(name));
            }
            // `members-dropped-on-create`: servers that only take members through PATCH.
            if rt.name == "Group" && self.faults_on(Fault::MembersDroppedOnCreate) {
                remove_ci(obj, "members");
            }
            // `extension-dropped`: servers that only know the core schema.
            if rt.name == "User" && self.faults_on(Fault::ExtensionDropped) {
                remove_ci(obj, ENTERPRISE_URN);
            }
        }
        Cow::Owned(body)
    }

    /// Creates a resource under a new id, or under `id` (the `put-creates` upsert).
    pub(super) fn insert_new(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        body: &Value,
        id: Option<&str>,
    ) -> ScimResult<Record> {
        limits::check_resource_body(body)?;
        let body = self.fault_create_body(rt, body);
        let body = body.as_ref();
        // Resource-suite faults that misread the body; `sent` is what the client sent.
        let sent = body;
        let reread;
        let body = if self.state.faults.is_empty() {
            body
        } else {
            let mut b = body.clone();
            resource_faults::create_body(&self.state.faults, rt, &mut b)?;
            reread = b;
            &reread
        };
        vendor_faults::check_body(&self.state.faults, rt, body)?;
        let mut data = resource::prepare_create(rt, body)?;
        self.contract_rules(rt, &mut data, None)?;
        self.derive_manager(tx, &mut data)?;
        resource_faults::created(&self.state.faults, rt, sent, &mut data);
        resource_faults::canonical_emails(&self.state.faults, &mut data);
        let id = match id {
            Some(id) => id.to_string(),
            None => match resource_faults::natural_id(&self.state.faults, rt, body) {
                Some(natural) => natural,
                None => self.new_id(tx, body)?,
            },
        };
        if rt.name == "Group" {
            let ids = self.resolve_members(tx, &id, &mut data)?;
            tx.set_members(&id, &ids)?;
        }
        limits::check_stored(&data)?;
        let ts = now();
        let rec = Record {
            id,
            rtype: rt.name.clone(),
            unique_key: self.unique_key(rt, &data),
            version: 1,
            created: ts.clone(),
            last_modified: ts,
            data,
        };
        tx.insert(&rec)?;
        Ok(rec)
    }

    pub fn get(&self, tx: &Tx<'_>, rt: &ResourceType, id: &str) -> ScimResult<Record> {
        tx.get(&rt.name, id)?
            .ok_or_else(|| ScimError::not_found(format!("{} {id:?} not found", rt.name)))
    }

    /// Stores new data for an existing record: members resolved, version and lastModified bumped.
    pub fn store_update(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        rec: &Record,
        mut data: Value,
    ) -> ScimResult<Record> {
        // Every update path (PUT, PATCH, Bulk, member removal on delete) stores through here.
        resource_faults::canonical_emails(&self.state.faults, &mut data);
        limits::check_stored(&data)?;
        if rt.name == "Group" {
            let ids = self.resolve_members(tx, &rec.id, &mut data)?;
            tx.set_members(&rec.id, &ids)?;
        }
        let new = Record {
            id: rec.id.clone(),
            rtype: rec.rtype.clone(),
            unique_key: self.unique_key(rt, &data),
            version: self.next_version(rec.version),
            created: rec.created.clone(),
            last_modified: now(),
            data,
        };
        tx.update(&new)?;
        Ok(new)
    }

    pub fn replace(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<Record> {
        limits::check_resource_body(body)?;
        let rec = match self.get(tx, rt, id) {
            // `put-creates`: PUT as an upsert.
            Err(e) if e.status == 404 && self.faults_on(Fault::PutCreates) => {
                return self.insert_new(tx, rt, body, Some(id));
            }
            other => other?,
        };
        self.check_if_match(if_match, &rec)?;
        resource_faults::replace_request(&self.state.faults, &rec.data, body)?;
        // `username-optional`: a PUT without userName keeps the stored one instead of failing.
        let mut body = Cow::Borrowed(body);
        if rt.name == "User" && self.faults_on(Fault::UsernameOptional) {
            if let (Some(obj), Some(old)) = (body.as_object(), rec.data.get("userName")) {
                if !has_text(obj, "userName") {
                    let mut filled = obj.clone();
                    remove_ci(&mut filled, "userName");
                    filled.insert("userName".into(), old.clone());
                    body = Cow::Owned(Value::Object(filled));
                }
            }
        }
        let body = body.as_ref();
        // `immutable-create-only`: immutable values the stored resource lacks are dropped.
        let stripped;
        let body = if self.faults_on(Fault::ImmutableCreateOnly) {
            stripped = drop_unset_immutable(rt, &rec.data, body);
            &stripped
        } else {
            body
        };
        vendor_faults::check_body(&self.state.faults, rt, body)?;
        let mut data = if self.faults_on(Fault::PutMerges) {
            let mut merged = rec.data.clone();
            if let (Some(m), Some(b)) = (
                merged.as_object_mut(),
                resource::prepare_replace(rt, &rec.data, body)?.as_object(),
            ) {
                for (k, v) in b {
                    m.insert(k.clone(), v.clone());
                }
            }
            merged
        } else {
            resource::prepare_replace(rt, &rec.data, body)?
        };
        vendor_faults::after_update(&self.state.faults, rt, &rec.data, &mut data);
        self.contract_rules(rt, &mut data, Some(&rec.data))?;
        self.derive_manager(tx, &mut data)?;
        // `put-readonly-applied`: the readOnly `groups` of a PUT body is stored verbatim (and so
        // shown whenever the user belongs to no group).
        if self.faults_on(Fault::PutReadOnlyApplied) {
            let sent = body.as_object().and_then(|o| get_ci(o, "groups")).cloned();
            if let (Some(groups), Some(m)) = (sent, data.as_object_mut()) {
                m.insert("groups".into(), groups);
            }
        }
        let mut new = self.store_update(tx, rt, &rec, data)?;
        // `last-modified-from-client`: the body's meta.lastModified overwrites the time of change.
        if let Some(lm) = resource_faults::client_last_modified(&self.state.faults, body) {
            new.last_modified = lm;
            tx.update(&new)?;
        }
        Ok(new)
    }

    pub fn patch(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> ScimResult<Record> {
        limits::check_patch(body)?;
        let rec = self.get(tx, rt, id)?;
        self.check_if_match(if_match, &rec)?;
        resource_faults::patch_request(&self.state.faults, rt, body)?;
        // `asana-formatted-recomputed`: givenName/familyName lead, so PATCH may change them.
        if self.contract() == Contract::Asana
            && rt.name == "User"
            && !self.faults_on(Fault::AsanaFormattedRecomputed)
        {
            contract::asana_check_patch(body)?;
        }
        // `patch-envelope-lax`: a lenient reader that repairs the envelope and skips bad operations.
        let lax;
        let body = if self.faults_on(Fault::PatchEnvelopeLax) {
            match lax_envelope(body) {
                Some(b) => {
                    lax = b;
                    &lax
                }
                None => return Ok(rec),
            }
        } else {
            body
        };
        let effective = self.fault_patch_body(rt, &rec.data, body)?;
        let no_ops = |b: &Value| {
            b.get("Operations")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
        };
        // A fault (`patch-readonly-ignored`, `patch-add-single-ignored`) may have skipped every
        // operation: answer as if all went well. Without faults `effective` equals `body`.
        if no_ops(&effective) && !no_ops(body) {
            return Ok(rec);
        }
        // `immutable-changeable`: the operations see immutable attributes as readWrite.
        let mutable;
        let patch_rt = if self.faults_on(Fault::ImmutableChangeable) {
            mutable = all_mutable(rt);
            &mutable
        } else {
            rt
        };
        let mut data = patch::apply(patch_rt, &rec.data, &effective)?;
        self.fault_patch_result(rt, &rec.data, &effective, &mut data);
        if self.faults_on(Fault::PatchRemoveFilterAll) {
            data = self.remove_filter_all(rt, &rec.data, &effective, data);
        }
        vendor_faults::after_update(&self.state.faults, rt, &rec.data, &mut data);
        self.contract_rules(rt, &mut data, Some(&rec.data))?;
        self.derive_manager(tx, &mut data)?;
        // `patch-noop-bumps-version`: the write (and the version bump) happens even without change.
        if data == rec.data && !self.faults_on(Fault::PatchNoopBumpsVersion) {
            return Ok(rec);
        }
        self.store_update(tx, rt, &rec, data)
    }

    /// Faults that change how the PATCH request is read; `current` is the stored resource.
    fn fault_patch_body(
        &self,
        rt: &ResourceType,
        current: &Value,
        body: &Value,
    ) -> ScimResult<Value> {
        let mut body = body.clone();
        let Some(ops) = body
            .as_object_mut()
            .and_then(|o| o.get_mut("Operations"))
            .and_then(Value::as_array_mut)
        else {
            return Ok(body);
        };
        if self.faults_on(Fault::PatchOpCaseSensitive) {
            for op in ops.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(Value::String(s)) = op.get_mut("op") {
                    if s.chars().any(|c| c.is_ascii_uppercase()) {
                        *s = format!("unsupported-{s}");
                    }
                }
            }
        }
        // `patch-add-replaces`: add implemented as "set", so multi-valued values are overwritten.
        if self.faults_on(Fault::PatchAddReplaces) {
            for op in ops.iter_mut().filter(|op| op_is(op, "add")) {
                if let Some(o) = op.as_object_mut() {
                    o.insert("op".into(), Value::String("replace".into()));
                }
            }
        }
        // `patch-readonly-ignored`: operations aimed at readOnly attributes are dropped unseen.
        if self.faults_on(Fault::PatchReadOnlyIgnored) {
            ops.retain(|op| {
                !op_target(rt, op).is_some_and(|r| {
                    r.attr.mutability == Mutability::ReadOnly
                        || r.leaf().mutability == Mutability::ReadOnly
                })
            });
        }
        // `patch-replace-unset-notarget`: replace insists that its target already has a value.
        if self.faults_on(Fault::PatchReplaceUnsetNoTarget) {
            for op in ops.iter().filter(|op| op_is(op, "replace")) {
                if let Some(r) = op_target(rt, op) {
                    if value::top_value(current, &r).is_none() {
                        return Err(ScimError::no_target(format!(
                            "attribute '{}' has no value to replace",
                            r.attr.name
                        )));
                    }
                }
            }
        }
        self.fault_patch_ops(rt, current, ops)?;
        vendor_faults::patch_ops(&self.state.faults, rt, ops)?;
        Ok(body)
    }

    /// For `patch-not-atomic`: after a PATCH failed, store what the operations before the failing
    /// one did (in a transaction of its own, so the failed one's rollback does not undo it).
    pub fn patch_prefix(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        id: &str,
        body: &Value,
    ) -> ScimResult<()> {
        // A request refused for its size is not replayed operation by operation either (each
        // replay clones the whole body).
        if limits::check_patch(body).is_err() {
            return Ok(());
        }
        let rec = self.get(tx, rt, id)?;
        let ops = body
            .get("Operations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut current = rec.data.clone();
        for op in ops {
            let mut one = body.clone();
            if let Some(o) = one.as_object_mut() {
                o.insert("Operations".into(), Value::Array(vec![op]));
            }
            match patch::apply(rt, &current, &one) {
                Ok(next) => current = next,
                Err(_) => break,
            }
        }
        if current != rec.data {
            self.store_update(tx, rt, &rec, current)?;
        }
        Ok(())
    }

    /// For `patch-remove-filter-all`: a remove whose path has a value filter empties the attribute.
    fn remove_filter_all(&self, rt: &ResourceType, old: &Value, body: &Value, new: Value) -> Value {
        let mut out = new;
        let ops = body
            .get("Operations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for op in ops {
            let is_remove = op
                .get("op")
                .and_then(Value::as_str)
                .is_some_and(|o| o.eq_ignore_ascii_case("remove"));
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            if let (true, Some((attr, _))) = (is_remove, path.split_once('[')) {
                if let (Some(r), Some(map)) = (rt.resolve_str(attr), out.as_object_mut()) {
                    if r.extension.is_none() && old.get(&r.attr.name).is_some() {
                        map.remove(&r.attr.name);
                    }
                }
            }
        }
        out
    }

    pub fn delete(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        id: &str,
        if_match: Option<&str>,
    ) -> ScimResult<()> {
        let rec = self.get(tx, rt, id)?;
        self.check_if_match(if_match, &rec)?;
        // `asana-team-delete-allowed` and `asana-delete-erases` fall through to a plain delete.
        let asana_keeps = match rt.name.as_str() {
            "Group" => !self.faults_on(Fault::AsanaTeamDeleteAllowed),
            _ => !self.faults_on(Fault::AsanaDeleteErases),
        };
        if self.contract() == Contract::Asana && asana_keeps {
            if rt.name == "Group" {
                return Err(ScimError::new(
                    405,
                    None,
                    "teams cannot be deleted through SCIM (Asana contract)",
                ));
            }
            // Asana deprovisions ("zombifies") a user on DELETE instead of erasing it.
            let mut data = rec.data.clone();
            if let Some(m) = data.as_object_mut() {
                m.insert("active".into(), Value::Bool(false));
            }
            if data != rec.data {
                self.store_update(tx, rt, &rec, data)?;
            }
            return Ok(());
        }
        if self.faults_on(Fault::DeleteIgnored) {
            return Ok(());
        }
        // Remove the resource from every group that lists it (RFC 7644 §3.6: it must no longer
        // be returned, also not as a member).
        for gid in tx.groups_of(id)? {
            if let Some(group) = tx.get("Group", &gid)? {
                let mut data = group.data.clone();
                if let Some(members) = data.get_mut("members").and_then(Value::as_array_mut) {
                    members.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
                }
                self.store_update(tx, &self.state.registry.group, &group, data)?;
            }
        }
        tx.delete(id)?;
        Ok(())
    }

    /// The full representation of a stored resource: id, meta and derived attributes added,
    /// before projection.
    pub fn full(&self, tx: &Tx<'_>, rt: &ResourceType, rec: &Record) -> ScimResult<Value> {
        self.full_with(tx, rt, rec, true)
    }

    /// `full`, optionally without the derived `User.groups` (one query per user): list requests
    /// skip it while filtering and sorting unless the filter or sortBy mentions groups.
    fn full_with(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        rec: &Record,
        groups: bool,
    ) -> ScimResult<Value> {
        let mut out = Map::new();
        let id_value = if self.faults_on(Fault::NumericId) {
            rec.id
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(rec.id.clone()))
        } else {
            Value::String(rec.id.clone())
        };
        out.insert("id".into(), id_value);
        if let Some(data) = rec.data.as_object() {
            for (k, v) in data {
                out.insert(k.clone(), v.clone());
            }
        }
        if groups && rt.name == "User" && !self.faults_on(Fault::UserGroupsMissing) {
            let groups = self.user_groups(tx, &rec.id)?;
            if !groups.is_empty() {
                out.insert("groups".into(), Value::Array(groups));
            }
        }
        if !self.faults_on(Fault::NoMeta) {
            out.insert(
                "meta".into(),
                json!({
                    "resourceType": rt.name,
                    "created": rec.created,
                    "lastModified": rec.last_modified,
                    "location": self.location(rt, &rec.id),
                    "version": etag(rec.version),
                }),
            );
        }
        Ok(Value::Object(out))
    }

    /// User.groups (RFC 7643 §4.1.2): direct memberships, then groups reached through nested
    /// groups as "indirect".
    fn user_groups(&self, tx: &Tx<'_>, user_id: &str) -> ScimResult<Vec<Value>> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<(String, &str)> = tx
            .groups_of(user_id)?
            .into_iter()
            .map(|g| (g, "direct"))
            .collect();
        while let Some((gid, kind)) = queue.pop_front() {
            if !seen.insert(gid.clone()) {
                continue;
            }
            let Some(group) = tx.get("Group", &gid)? else {
                continue;
            };
            let mut entry = Map::new();
            entry.insert("value".into(), Value::String(gid.clone()));
            entry.insert(
                "$ref".into(),
                Value::String(self.location(&self.state.registry.group, &gid)),
            );
            if let Some(d) = group.data.get("displayName") {
                entry.insert("display".into(), d.clone());
            }
            entry.insert("type".into(), Value::String(kind.into()));
            out.push(Value::Object(entry));
            for parent in tx.groups_of(&gid)? {
                queue.push_back((parent, "indirect"));
            }
        }
        Ok(out)
    }

    /// Applies attributes / excludedAttributes (RFC 7644 §3.9) and the password fault.
    pub fn project(&self, rt: &ResourceType, full: &Value, rec: &Record, p: &Projection) -> Value {
        let mut out = if self.faults_on(Fault::AttributesIgnored) {
            query::project(rt, full, &[], &[])
        } else {
            query::project(rt, full, &p.attributes, &p.excluded)
        };
        if let Some(map) = out.as_object_mut() {
            if self.faults_on(Fault::ExcludedDropsAlways)
                && p.excluded.iter().any(|e| e.eq_ignore_ascii_case("id"))
            {
                map.remove("id");
            }
            if self.faults_on(Fault::PasswordReturned) {
                if let Some(pw) = rec.data.get("password") {
                    map.insert("password".into(), pw.clone());
                }
            }
        }
        resource_faults::rendered(&self.state.faults, rt, &mut out);
        out
    }

    /// One resource as a response body.
    pub fn render(
        &self,
        tx: &Tx<'_>,
        rt: &ResourceType,
        rec: &Record,
        p: &Projection,
    ) -> ScimResult<Value> {
        let full = self.full(tx, rt, rec)?;
        Ok(self.project(rt, &full, rec, p))
    }

    /// Filters, sorts and pages the resources of `types` (one type, or both for a root search).
    pub fn list(&self, tx: &Tx<'_>, types: &[&ResourceType], q: &ListQuery) -> ScimResult<Value> {
        if let Some(f) = &q.filter {
            limits::check_filter(f)?;
        }
        let parsed = match q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None => None,
            Some(_) if self.faults_on(Fault::FilterIgnored) => None,
            Some(f) => match filter::parse(f) {
                // The query-suite faults that misread a filter (see `query_faults`).
                Ok(p) => Some(query_faults::rewrite_filter(
                    &self.state.faults,
                    types[0],
                    p,
                )?),
                Err(_) if self.faults_on(Fault::InvalidFilterAccepted) => None,
                Err(e) => return Err(e),
            },
        };
        // `asana-unsupported-filter-ignored`: a filter outside the contract is dropped unseen.
        let parsed = match parsed {
            Some(f)
                if self.contract() == Contract::Asana
                    && self.faults_on(Fault::AsanaUnsupportedFilterIgnored)
                    && types
                        .iter()
                        .any(|rt| contract::asana_check_filter(&rt.name, &f).is_err()) =>
            {
                None
            }
            other => other,
        };
        let descending = match q.sort_order.as_deref() {
            None => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be \"ascending\" or \"descending\", not {o:?}"
                )))
            }
        };
        let mentions_groups =
            |s: Option<&str>| s.is_some_and(|s| s.to_ascii_lowercase().contains("groups"));
        let groups_needed =
            mentions_groups(q.filter.as_deref()) || mentions_groups(q.sort_by.as_deref());
        let mut matched: Vec<(Value, &ResourceType, Record)> = Vec::new();
        for rt in types {
            let retyped = query_faults::filter_type(&self.state.faults, rt);
            let eval_rt = if self.faults_on(Fault::FilterCaseSensitive) {
                &self.state.case_sensitive_types[if rt.name == "User" { 0 } else { 1 }]
            } else {
                retyped.as_ref().unwrap_or(rt)
            };
            if let Some(f) = &parsed {
                if self.contract() == Contract::Asana {
                    contract::asana_check_filter(&rt.name, f)?;
                }
                // `filter-boolean-order-silent`: `active gt true` matches nothing, no 400.
                if self.faults_on(Fault::FilterBooleanOrderSilent)
                    && query_faults::orders_boolean(rt, f)
                {
                    continue;
                }
                // A root query treats other types' attributes as unassigned (P-3.4.2.1-04);
                // `root-query-strict` validates against every type instead.
                if types.len() == 1 || self.faults_on(Fault::RootQueryStrict) {
                    filter::validate(eval_rt, f)?;
                }
            }
            let records = match parsed.as_ref().and_then(|f| self.index_lookup(rt, f)) {
                Some(key) => tx.by_key(&rt.name, &key)?,
                None => tx.list(&rt.name)?,
            };
            for rec in records {
                let full = self.full_with(tx, rt, &rec, groups_needed)?;
                let keep = match &parsed {
                    Some(f) if self.faults_on(Fault::FilterFirstValueOnly) => {
                        filter::matches(eval_rt, f, &query_faults::first_values_only(&full))?
                    }
                    Some(f) => match resource_faults::filter_view(&self.state.faults, &full) {
                        Some(view) => filter::matches(eval_rt, f, &view)?,
                        None => filter::matches(eval_rt, f, &full)?,
                    },
                    None => true,
                };
                if keep {
                    matched.push((full, rt, rec));
                }
            }
        }
        if let Some(sort_by) = q.sort_by.as_deref().filter(|s| !s.is_empty()) {
            if !self.faults_on(Fault::SortIgnored) {
                // Sorting goes through the SCIM core so caseExact and dateTime rules apply; the
                // resources are sorted together with their records by sorting an index.
                let rt = types[0];
                let mut keyed: Vec<Value> = matched
                    .iter()
                    .enumerate()
                    .map(|(i, (full, _, _))| {
                        let mut v = full.clone();
                        if self.faults_on(Fault::SortFirstValue) {
                            query_faults::drop_primary_flags(&mut v);
                        }
                        if let Some(m) = v.as_object_mut() {
                            m.insert("\u{0}idx".into(), Value::from(i));
                        }
                        v
                    })
                    .collect();
                // `sort-case-sensitive` sorts as if every string were caseExact.
                let sort_rt = if self.faults_on(Fault::SortCaseSensitive) {
                    &self.state.case_sensitive_types[if rt.name == "User" { 0 } else { 1 }]
                } else {
                    rt
                };
                query::sort(sort_rt, &mut keyed, sort_by, descending)?;
                if self.faults_on(Fault::SortMissingFirst) {
                    query_faults::missing_first(rt, &mut keyed, sort_by, descending);
                }
                let order: Vec<usize> = keyed
                    .iter()
                    .filter_map(|v| v.get("\u{0}idx").and_then(Value::as_u64))
                    .map(|i| i as usize)
                    .collect();
                let mut slots: Vec<Option<(Value, &ResourceType, Record)>> =
                    matched.into_iter().map(Some).collect();
                matched = order
                    .into_iter()
                    .filter_map(|i| slots.get_mut(i).and_then(Option::take))
                    .collect();
            }
        }
        let total = matched.len();
        if self.faults_on(Fault::PagingOutOfRangeRefused) {
            query_faults::check_paging(q.start_index, q.count, total)?;
        }
        let max = self.state.config.max_results;
        let (offset, len) = if self.faults_on(Fault::StartIndexZeroBased) {
            let start = q.start_index.unwrap_or(1).max(0);
            // Saturating: startIndex may be i64::MAX, and `+ 1` on it panicked in debug builds.
            let (_, len) = query::page(total, Some(start.saturating_add(1)), q.count, max);
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            (start.min(total), len.min(total.saturating_sub(start)))
        } else {
            query::page(total, q.start_index, q.count, max)
        };
        let (offset, len) = if self.faults_on(Fault::CountIgnored) {
            (offset, total - offset.min(total))
        } else {
            (offset, len)
        };
        let p = Projection {
            attributes: q.attributes.clone(),
            excluded: q.excluded.clone(),
        };
        let page: Vec<Value> = matched
            .iter()
            .skip(offset)
            .take(len)
            .map(|(full, rt, rec)| {
                if groups_needed || rt.name != "User" {
                    Ok(self.project(rt, full, rec, &p))
                } else {
                    Ok(self.project(rt, &self.full(tx, rt, rec)?, rec, &p))
                }
            })
            .collect::<ScimResult<_>>()?;
        let mut body = Map::new();
        if !self.faults_on(Fault::ListNoSchemas) {
            body.insert(
                "schemas".into(),
                json!([crate::scim::schema::LIST_RESPONSE_URN]),
            );
        }
        let total_results = if self.faults_on(Fault::TotalResultsPage) {
            page.len()
        } else {
            total
        };
        body.insert("totalResults".into(), Value::from(total_results));
        body.insert("startIndex".into(), Value::from(offset + 1));
        body.insert("itemsPerPage".into(), Value::from(page.len()));
        body.insert("Resources".into(), Value::Array(page));
        Ok(Value::Object(body))
    }

    /// `userName eq "x"` (alone or and-ed at the top) can use the unique index instead of a scan.
    /// The full filter is still evaluated on what the index returns.
    fn index_lookup(&self, rt: &ResourceType, f: &filter::Filter) -> Option<String> {
        if rt.name != "User"
            || self.faults_on(Fault::DuplicateUsername)
            || self.faults_on(Fault::UsernameCaseSensitive)
            || self.faults_on(Fault::FilterCaseSensitive)
        {
            return None;
        }
        // `no-precis`: the lookup key lower-cased only, as the stored keys are.
        let no_precis = self.faults_on(Fault::NoPrecis);
        filter::user_name_eq(f).map(|v| {
            if no_precis {
                v.to_lowercase()
            } else {
                fold(&v)
            }
        })
    }
}

// ---- Faults of the modify suites (PATCH, PUT): each reproduces one mistake real servers make. ----

/// `path` with its value filter cut out: `emails[type eq "work"].value` → `emails.value`.
fn without_filter(path: &str) -> String {
    match path.split_once('[') {
        Some((attr, rest)) => match rest.rsplit_once(']') {
            Some((_, after)) => format!("{attr}{after}"),
            None => attr.to_string(),
        },
        None => path.to_string(),
    }
}

/// Whether a PATCH operation has no path (its value is then an object of attributes).
fn pathless(op: &Value) -> bool {
    op.get("path")
        .and_then(Value::as_str)
        .is_none_or(|p| p.trim().is_empty())
}

/// Whether an attribute, or one of its sub-attributes, is immutable.
fn holds_immutable(def: &AttributeDef) -> bool {
    def.mutability == Mutability::Immutable
        || def
            .sub_attributes
            .iter()
            .any(|s| s.mutability == Mutability::Immutable)
}

/// Whether the stored resource holds a value (neither null nor `[]`) for the attribute.
fn has_value(stored: &Value, r: &Resolved<'_>) -> bool {
    value::top_value(stored, r).is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()))
}

/// `immutable-create-only` on PUT: the body without the immutable attributes (or those holding
/// immutable sub-attributes, like Group `members`) that the stored resource has no value for.
fn drop_unset_immutable(rt: &ResourceType, stored: &Value, body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(obj) = body.as_object_mut() {
        for def in rt.schema.attributes.iter().filter(|d| holds_immutable(d)) {
            let r = Resolved {
                extension: None,
                attr: def,
                sub: None,
            };
            if !has_value(stored, &r) {
                remove_ci(obj, &def.name);
            }
        }
    }
    body
}

/// `patch-envelope-lax`: the PATCH body with the PatchOp URN filled in and only well-formed
/// operations kept (known op; add and replace with a value). `None` when nothing is left: the
/// lenient server then answers success without changing anything.
fn lax_envelope(body: &Value) -> Option<Value> {
    let ops: Vec<Value> = body
        .get("Operations")
        .and_then(Value::as_array)
        .map(|ops| {
            ops.iter()
                .filter(|op| {
                    let known = ["add", "remove", "replace"].iter().any(|k| op_is(op, k));
                    let has_value = op.get("value").is_some_and(|v| !v.is_null());
                    known && (has_value || op_is(op, "remove"))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    (!ops.is_empty()).then(|| json!({"schemas": [PATCH_OP_URN], "Operations": ops}))
}

/// `immutable-changeable`: a copy of the resource type whose immutable attributes are readWrite,
/// as on a server that never enforces immutability.
fn all_mutable(rt: &ResourceType) -> ResourceType {
    fn loosen(defs: &mut [AttributeDef]) {
        for d in defs {
            if d.mutability == Mutability::Immutable {
                d.mutability = Mutability::ReadWrite;
            }
            loosen(&mut d.sub_attributes);
        }
    }
    let mut rt = rt.clone();
    loosen(&mut rt.schema.attributes);
    for (ext, _) in &mut rt.extensions {
        loosen(&mut ext.attributes);
    }
    rt
}

impl Ctx<'_> {
    /// Modify-suite faults that rewrite the PATCH operations before they run; `current` is the
    /// stored resource.
    fn fault_patch_ops(
        &self,
        rt: &ResourceType,
        current: &Value,
        ops: &mut Vec<Value>,
    ) -> ScimResult<()> {
        // `immutable-create-only`: setting an immutable attribute that has no value is refused.
        if self.faults_on(Fault::ImmutableCreateOnly) {
            for op in ops.iter().filter(|op| !op_is(op, "remove")) {
                let mut targets = Vec::new();
                match op.get("path").and_then(Value::as_str) {
                    Some(p) if !p.trim().is_empty() => {
                        targets.extend(rt.resolve_str(&without_filter(p)))
                    }
                    _ => {
                        if let Some(m) = op.get("value").and_then(Value::as_object) {
                            targets.extend(m.keys().filter_map(|k| rt.resolve_str(k)));
                        }
                    }
                }
                if let Some(r) = targets
                    .iter()
                    .find(|r| holds_immutable(r.attr) && !has_value(current, r))
                {
                    return Err(ScimError::mutability(format!(
                        "attribute '{}' is immutable: it is set when the resource is created",
                        r.attr.name
                    )));
                }
            }
        }
        // `patch-ops-reordered`: removes collected and run last (the sort is stable).
        if self.faults_on(Fault::PatchOpsReordered) {
            ops.sort_by_key(|op| op_is(op, "remove"));
        }
        // `patch-add-single-ignored`: add implemented only as "append to a multi-valued
        // attribute"; adds aimed at single-valued attributes (or sub-attributes) are dropped.
        if self.faults_on(Fault::PatchAddSingleIgnored) {
            let single = |path: &str| {
                rt.resolve_str(&without_filter(path))
                    .is_some_and(|r| !r.leaf().multi_valued)
            };
            ops.retain(|op| {
                !(op_is(op, "add") && op.get("path").and_then(Value::as_str).is_some_and(single))
            });
            for op in ops.iter_mut().filter(|op| op_is(op, "add") && pathless(op)) {
                if let Some(m) = op.get_mut("value").and_then(Value::as_object_mut) {
                    m.retain(|k, _| !single(k));
                }
            }
        }
        // `patch-remove-plain-ignored`: only value-filtered removes are implemented; a remove
        // with a plain path is acknowledged and dropped.
        if self.faults_on(Fault::PatchRemovePlainIgnored) {
            ops.retain(|op| {
                !(op_is(op, "remove")
                    && op
                        .get("path")
                        .and_then(Value::as_str)
                        .is_some_and(|p| !p.trim().is_empty() && !p.contains('[')))
            });
        }
        // `patch-replace-appends`: replace of a multi-valued attribute (or without a path) is
        // run as add, so new values join the old ones.
        if self.faults_on(Fault::PatchReplaceAppends) {
            for op in ops.iter_mut().filter(|op| op_is(op, "replace")) {
                let appends = pathless(op)
                    || op.get("path").and_then(Value::as_str).is_some_and(|p| {
                        !p.contains('[')
                            && rt
                                .resolve_str(p)
                                .is_some_and(|r| r.sub.is_none() && r.attr.multi_valued)
                    });
                if let (true, Some(o)) = (appends, op.as_object_mut()) {
                    o.insert("op".into(), Value::String("add".into()));
                }
            }
        }
        // `patch-replace-filter-ignored`: the value filter of a replace path is dropped, so the
        // operation hits every value of the attribute.
        if self.faults_on(Fault::PatchReplaceFilterIgnored) {
            for op in ops.iter_mut().filter(|op| op_is(op, "replace")) {
                if let Some(Value::String(p)) = op.get_mut("path") {
                    if p.contains('[') {
                        *p = without_filter(p);
                    }
                }
            }
        }
        // `patch-replace-complex-clears`: replace on a singular complex attribute, or on one of
        // its sub-attributes, rewritten as remove + add of the whole complex value.
        if self.faults_on(Fault::PatchReplaceComplexClears) {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops.drain(..) {
                let target = Some(&op)
                    .filter(|op| op_is(op, "replace"))
                    .and_then(|op| op.get("path").and_then(Value::as_str))
                    .filter(|p| !p.contains('['))
                    .and_then(|p| rt.resolve_str(p))
                    .filter(|r| r.attr.attr_type == AttrType::Complex && !r.attr.multi_valued);
                let Some(r) = target else {
                    out.push(op);
                    continue;
                };
                let value = op.get("value").cloned().unwrap_or(Value::Null);
                let whole = match r.sub {
                    Some(sub) => Value::Object(Map::from_iter([(sub.name.clone(), value)])),
                    None => value,
                };
                let path = match r.extension {
                    Some(urn) => format!("{urn}:{}", r.attr.name),
                    None => r.attr.name.clone(),
                };
                out.push(json!({"op": "remove", "path": path}));
                out.push(json!({"op": "add", "path": path, "value": whole}));
            }
            *ops = out;
        }
        Ok(())
    }

    /// Modify-suite faults that alter the result of a PATCH; `old` is the stored resource and
    /// `body` the request as run.
    fn fault_patch_result(&self, rt: &ResourceType, old: &Value, body: &Value, data: &mut Value) {
        let Some(map) = data.as_object_mut() else {
            return;
        };
        // `patch-schemas-stale`: schemas is not recomputed after the operations.
        if self.faults_on(Fault::PatchSchemasStale) {
            if let Some(s) = old.get("schemas") {
                map.insert("schemas".into(), s.clone());
            }
        }
        // `primary-not-cleared`: the value that was primary keeps its flag when another value is
        // marked primary.
        if self.faults_on(Fault::PrimaryNotCleared) {
            let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
            for (name, new) in map.iter_mut() {
                let (Some(items), Some(before)) = (
                    new.as_array_mut(),
                    old.get(name.as_str()).and_then(Value::as_array),
                ) else {
                    continue;
                };
                for b in before.iter().filter(|b| is_primary(b)) {
                    let same =
                        |i: &Value| i.get("value").is_some() && i.get("value") == b.get("value");
                    let other_marked = items.iter().any(|i| is_primary(i) && !same(i));
                    if let (true, Some(Value::Object(o))) =
                        (other_marked, items.iter_mut().find(|i| same(i)))
                    {
                        o.insert("primary".into(), Value::Bool(true));
                    }
                }
            }
        }
        // `patch-add-duplicates`: add appends values that are already present once more.
        if self.faults_on(Fault::PatchAddDuplicates) {
            let ops = body.get("Operations").and_then(Value::as_array);
            for op in ops.into_iter().flatten().filter(|op| op_is(op, "add")) {
                let Some(r) = op
                    .get("path")
                    .and_then(Value::as_str)
                    .filter(|p| !p.contains('['))
                    .and_then(|p| rt.resolve_str(p))
                    .filter(|r| r.extension.is_none() && r.sub.is_none() && r.attr.multi_valued)
                else {
                    continue;
                };
                let present: Vec<&str> = old
                    .get(&r.attr.name)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|i| i.get("value").and_then(Value::as_str))
                    .collect();
                let again: Vec<Value> = op
                    .get("value")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|v| {
                        v.get("value")
                            .and_then(Value::as_str)
                            .is_some_and(|s| present.iter().any(|p| p.eq_ignore_ascii_case(s)))
                    })
                    .cloned()
                    .collect();
                if let Some(Value::Array(items)) = map.get_mut(&r.attr.name) {
                    items.extend(again);
                }
            }
        }
    }
}
