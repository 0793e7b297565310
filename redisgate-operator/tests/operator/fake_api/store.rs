//! The fake API server's object store: what a real API server does to objects, reduced to what the
//! operator and the provisioner rely on.
//!
//! - create: 409 when the name is taken, 404 when the namespace does not exist; sets uid,
//!   resourceVersion, generation and creationTimestamp.
//! - server-side apply with one field manager: every top-level field but `metadata` and `status` is
//!   replaced by the applied one (a single manager owns all of them, so fields it stops sending go),
//!   labels and annotations are merged, owner references and finalizers replaced when sent; on the
//!   status subresource only `status` changes. An apply that changes nothing writes nothing (no new
//!   resourceVersion), as on a real server.
//! - merge patch (RFC 7386), `generation` bumped when `spec` changes.
//! - delete: with finalizers only `deletionTimestamp` is set; otherwise the object goes, and the garbage
//!   collector's job is done at once: objects whose owner references name its uid go too (cascading), and
//!   an object created for owners that are all gone goes at once.
//! - every write is recorded with its resourceVersion, so a watch can start at any version.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// Where an object lives: `collection` is e.g. `apis/apps/v1/statefulsets`, `namespace` is empty for
/// cluster-scoped objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub collection: String,
    pub namespace: String,
    pub name: String,
}

/// One recorded change.
#[derive(Debug, Clone)]
pub struct Change {
    pub version: u64,
    pub kind: &'static str,
    pub key: Key,
    pub object: Value,
}

/// Why a write was refused: HTTP code, reason, message.
pub type Refusal = (u16, &'static str, String);

#[derive(Default)]
pub struct Store {
    pub objects: BTreeMap<Key, Value>,
    pub version: u64,
    pub history: Vec<Change>,
}

impl Store {
    fn record(&mut self, kind: &'static str, key: &Key, object: &Value) -> u64 {
        self.version += 1;
        self.history.push(Change { version: self.version, kind, key: key.clone(), object: object.clone() });
        self.version
    }

    fn namespace_exists(&self, key: &Key) -> bool {
        key.namespace.is_empty()
            || self.objects.contains_key(&Key {
                collection: "api/v1/namespaces".into(),
                namespace: String::new(),
                name: key.namespace.clone(),
            })
    }

    pub fn create(&mut self, key: &Key, mut object: Value) -> Result<Value, Refusal> {
        if self.objects.contains_key(key) {
            return Err((409, "AlreadyExists", format!("{} \"{}\" already exists", key.collection, key.name)));
        }
        if !self.namespace_exists(key) {
            return Err((404, "NotFound", format!("namespaces \"{}\" not found", key.namespace)));
        }
        let meta = metadata(&mut object);
        meta.insert("name".into(), json!(key.name));
        if !key.namespace.is_empty() {
            meta.insert("namespace".into(), json!(key.namespace));
        }
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("generation".into(), json!(1));
        meta.insert("creationTimestamp".into(), json!("2025-01-01T00:00:00Z"));
        meta.remove("resourceVersion");
        let version = self.record("ADDED", key, &Value::Null);
        metadata(&mut object).insert("resourceVersion".into(), json!(version.to_string()));
        let created = self.finish(key, object, version)?;
        if self.orphaned(&created) {
            // Created for an owner that is already gone (a reconcile that raced a deletion): the garbage
            // collector removes it, as on a real cluster.
            let _ = self.delete(key);
        }
        Ok(created)
    }

    /// Whether `object` names owners and none of them exists any more.
    fn orphaned(&self, object: &Value) -> bool {
        let Some(owners) = object["metadata"]["ownerReferences"].as_array().filter(|o| !o.is_empty()) else {
            return false;
        };
        !owners.iter().any(|owner| self.objects.values().any(|o| o["metadata"]["uid"] == owner["uid"]))
    }

    /// Stores `object` as the new state of `key` and fixes up the recorded change.
    fn finish(&mut self, key: &Key, object: Value, version: u64) -> Result<Value, Refusal> {
        if let Some(change) = self.history.iter_mut().rev().find(|c| c.version == version) {
            change.object = object.clone();
        }
        self.objects.insert(key.clone(), object.clone());
        Ok(object)
    }

    /// Replaces `key` with `updated` (derived from the stored object) unless nothing changed.
    pub fn update(&mut self, key: &Key, mut updated: Value) -> Result<Value, Refusal> {
        let old = self.objects.get(key).cloned().ok_or((404, "NotFound", format!("{} not found", key.name)))?;
        if comparable(&old) == comparable(&updated) {
            return Ok(old);
        }
        if old.get("spec") != updated.get("spec") {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            metadata(&mut updated).insert("generation".into(), json!(generation));
        }
        let version = self.record("MODIFIED", key, &Value::Null);
        metadata(&mut updated).insert("resourceVersion".into(), json!(version.to_string()));
        self.finish(key, updated, version)
    }

    pub fn apply(&mut self, key: &Key, applied: Value, status: bool) -> Result<Value, Refusal> {
        let Some(mut updated) = self.objects.get(key).cloned() else {
            if status {
                return Err((404, "NotFound", format!("{} not found", key.name)));
            }
            return self.create(key, applied);
        };
        if status {
            updated["status"] = applied.get("status").cloned().unwrap_or(Value::Null);
            return self.update(key, updated);
        }
        let target = updated.as_object_mut().expect("objects are JSON objects");
        target.retain(|k, _| k == "metadata" || k == "status" || applied.get(k).is_some());
        for (field, value) in applied.as_object().into_iter().flatten() {
            if field == "metadata" {
                merge_metadata(metadata(&mut updated), value);
            } else if field != "status" {
                updated[field.as_str()] = value.clone();
            }
        }
        self.update(key, updated)
    }

    pub fn merge(&mut self, key: &Key, patch: &Value, status: bool) -> Result<Value, Refusal> {
        let old = self.objects.get(key).cloned().ok_or((404, "NotFound", format!("{} not found", key.name)))?;
        let mut updated = old.clone();
        merge_patch(&mut updated, patch);
        if status {
            let mut only_status = old;
            only_status["status"] = updated.get("status").cloned().unwrap_or(Value::Null);
            updated = only_status;
        }
        self.update(key, updated)
    }

    pub fn delete(&mut self, key: &Key) -> Result<Value, Refusal> {
        let object = self.objects.get(key).cloned().ok_or((404, "NotFound", format!("{} not found", key.name)))?;
        let finalizers = object["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        if finalizers {
            let mut marked = object;
            metadata(&mut marked).insert("deletionTimestamp".into(), json!("2025-01-01T00:00:01Z"));
            return self.update(key, marked);
        }
        self.objects.remove(key);
        let version = self.record("DELETED", key, &object);
        let mut deleted = object.clone();
        metadata(&mut deleted).insert("resourceVersion".into(), json!(version.to_string()));
        self.history.last_mut().expect("just recorded").object = deleted;
        // The garbage collector: dependents of the deleted object go too.
        let uid = object["metadata"]["uid"].clone();
        let dependents: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, o)| {
                o["metadata"]["ownerReferences"].as_array().is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for dependent in dependents {
            let _ = self.delete(&dependent);
        }
        Ok(object)
    }
}

fn metadata(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"].as_object_mut().expect("just made an object")
}

fn merge_metadata(target: &mut Map<String, Value>, applied: &Value) {
    for map in ["labels", "annotations"] {
        if let Some(values) = applied.get(map).and_then(Value::as_object) {
            let entry = target.entry(map).or_insert_with(|| json!({}));
            for (k, v) in values {
                entry[k] = v.clone();
            }
        }
    }
    for list in ["ownerReferences", "finalizers"] {
        if let Some(value) = applied.get(list) {
            target.insert(list.into(), value.clone());
        }
    }
}

/// RFC 7386.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let map = target.as_object_mut().expect("just made an object");
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The object without the fields a write always changes.
fn comparable(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("managedFields");
    }
    copy
}
