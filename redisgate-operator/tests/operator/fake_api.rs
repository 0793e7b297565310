//! An in-memory Kubernetes API server behind a `kube::Client` (kubernetes.md §3: kube-fake-client does not
//! follow kube 5, so we keep our own small fake, the idea of kube-rs/kube#1108).
//!
//! It is a `tower::Service` that parses API paths generically (`/api/v1/...`, `/apis/<group>/<version>/...`,
//! namespaced or not, the `status` subresource) and keeps JSON objects in a [`store::Store`]. It answers
//! GET, LIST (label and field selectors), WATCH (a streamed body of events from any resourceVersion, so
//! kube-runtime's `Controller` and `await_condition` run unchanged), POST, PATCH (apply and merge) and
//! DELETE (finalizers, cascading garbage collection). Tests can inject a failure for the next matching
//! request, read objects back, and play the kubelet (mark a StatefulSet ready). A client made with
//! [`FakeApi::client_as`] is authorized as the API server would: requests its [`Rbac`] does not allow are
//! answered 403 Forbidden and recorded in [`FakeApi::forbidden`].

mod rbac;
mod store;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Frame;
use serde_json::{json, Value};
use tokio::sync::broadcast;

pub use rbac::{deploy_documents, Access, Rbac};
pub use store::{Change, Key};
use store::{Refusal, Store};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The fake server; clone it freely (all clones share the store).
#[derive(Clone)]
pub struct FakeApi {
    state: Arc<State>,
}

struct State {
    store: Mutex<Store>,
    changes: broadcast::Sender<Change>,
    /// While `true`, every request fails with 503 and no watch stays open (see [`FakeApi::set_down`]).
    down: tokio::sync::watch::Sender<bool>,
    failures: Mutex<VecDeque<(String, String, u16)>>,
    requests: Mutex<Vec<String>>,
    /// The requests of clients made with [`FakeApi::client_as`] (a service account's).
    requests_as: Mutex<Vec<String>>,
    forbidden: Mutex<Vec<String>>,
    /// API groups served besides the built-in ones, for discovery: `group/version` → its `APIResourceList`.
    served: Mutex<Vec<(String, Value)>>,
}

/// A parsed request path.
#[derive(Debug)]
struct Target {
    collection: String,
    namespace: Option<String>,
    name: Option<String>,
    status: bool,
}

impl FakeApi {
    /// An empty server with the given namespaces.
    pub fn new(namespaces: &[&str]) -> Self {
        let (changes, _) = broadcast::channel(4096);
        let this = Self {
            state: Arc::new(State {
                store: Mutex::default(),
                changes,
                down: tokio::sync::watch::channel(false).0,
                failures: Mutex::default(),
                requests: Mutex::default(),
                requests_as: Mutex::default(),
                forbidden: Mutex::default(),
                served: Mutex::default(),
            }),
        };
        for namespace in namespaces {
            this.create_namespace(namespace);
        }
        this
    }

    /// Creates a namespace.
    pub fn create_namespace(&self, name: &str) {
        let key = Key { collection: "api/v1/namespaces".into(), namespace: String::new(), name: name.into() };
        let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        self.write(|store| store.create(&key, object)).unwrap();
    }

    /// A client talking to this server with every right (a cluster admin).
    pub fn client(&self) -> kube::Client {
        self.client_with(None)
    }

    /// A client talking to this server with the rights of `rbac` only.
    pub fn client_as(&self, rbac: Rbac) -> kube::Client {
        self.client_with(Some(Arc::new(rbac)))
    }

    fn client_with(&self, rbac: Option<Arc<Rbac>>) -> kube::Client {
        let this = self.clone();
        let service = tower::service_fn(move |request: Request<kube::client::Body>| {
            let (this, rbac) = (this.clone(), rbac.clone());
            async move { Ok::<_, Infallible>(this.handle(request, rbac.as_deref()).await) }
        });
        kube::Client::new(service, "default")
    }

    /// Serves `group_version` (`cert-manager.io/v1`) with `resources` (plural, kind) in discovery, as when its
    /// CRDs are installed (objects of any path are stored anyway).
    pub fn serve_group(&self, group_version: &str, resources: &[(&str, &str)]) {
        let resources: Vec<Value> = resources
            .iter()
            .map(|(plural, kind)| {
                json!({"name": plural, "singularName": "", "namespaced": true, "kind": kind,
                       "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]})
            })
            .collect();
        let list = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources});
        self.state.served.lock().unwrap().push((format!("/apis/{group_version}"), list));
    }

    /// Every request refused for want of a right so far, as `verb group/resource in namespace`.
    pub fn forbidden(&self) -> Vec<String> {
        self.state.forbidden.lock().unwrap().clone()
    }

    /// The next request whose method is `method` and whose path contains `path` fails with `code`.
    pub fn fail_next(&self, method: &str, path: &str, code: u16) {
        self.state.failures.lock().unwrap().push_back((method.into(), path.into(), code));
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The requests of the clients made with [`FakeApi::client_as`] only, as [`FakeApi::requests`].
    pub fn requests_as(&self) -> Vec<String> {
        self.state.requests_as.lock().unwrap().clone()
    }

    /// The stored object, if any.
    pub fn get(&self, collection: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = Key { collection: collection.into(), namespace: namespace.into(), name: name.into() };
        self.state.store.lock().unwrap().objects.get(&key).cloned()
    }

    /// Names of the stored objects of a collection in a namespace.
    pub fn names(&self, collection: &str, namespace: &str) -> Vec<String> {
        let store = self.state.store.lock().unwrap();
        store
            .objects
            .keys()
            .filter(|k| k.collection == collection && k.namespace == namespace)
            .map(|k| k.name.clone())
            .collect()
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.state.changes.subscribe()
    }

    /// Plays the StatefulSet controller and kubelet: the current generation has every pod it asks for ready.
    /// A StatefulSet deleted meanwhile (while its pod was starting) has nothing to mark.
    pub fn mark_statefulset_ready(&self, namespace: &str, name: &str) {
        let key =
            Key { collection: "apis/apps/v1/statefulsets".into(), namespace: namespace.into(), name: name.into() };
        let result = self.write(|store| {
            let mut object = store.objects.get(&key).cloned().ok_or((404, "NotFound", name.to_owned()))?;
            let n = object["spec"]["replicas"].as_i64().unwrap_or(1);
            object["status"] = json!({
                "observedGeneration": object["metadata"]["generation"],
                "replicas": n, "readyReplicas": n, "updatedReplicas": n, "currentReplicas": n,
                "currentRevision": "r", "updateRevision": "r",
            });
            store.update(&key, object)
        });
        if let Err(error) = result {
            assert_eq!(error.0, 404, "{error:?}");
        }
    }

    /// Plays the Job controller: the Job `name` ran to completion.
    pub fn mark_job_succeeded(&self, namespace: &str, name: &str) {
        let key = Key { collection: "apis/batch/v1/jobs".into(), namespace: namespace.into(), name: name.into() };
        self.write(|store| {
            let mut object = store.objects.get(&key).cloned().ok_or((404, "NotFound", name.to_owned()))?;
            object["status"] = json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]});
            store.update(&key, object)
        })
        .unwrap();
    }

    /// Plays the Job controller and the kubelet for a Job whose container ended: the Job `job` succeeded (or
    /// failed) and its pod's container terminated with `message` (what it wrote to `/dev/termination-log`).
    pub fn finish_job(&self, namespace: &str, job: &str, succeeded: bool, message: &str) {
        let key = Key { collection: "apis/batch/v1/jobs".into(), namespace: namespace.into(), name: job.into() };
        let pod = Key { collection: "api/v1/pods".into(), namespace: namespace.into(), name: format!("{job}-x1") };
        self.write(|store| {
            let mut object = store.objects.get(&key).cloned().ok_or((404, "NotFound", job.to_owned()))?;
            object["status"] = if succeeded {
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
            } else {
                json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True"}]})
            };
            store.update(&key, object)?;
            let terminated = json!({"exitCode": if succeeded { 0 } else { 1 }, "message": message});
            let created = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"labels": {"job-name": job}},
                "status": {"containerStatuses": [{"name": "backup", "state": {"terminated": terminated}}]},
            });
            store.create(&pod, created)
        })
        .unwrap();
    }

    /// An outage (`true`): open watches end and every request is answered 503 until it is over (`false`).
    pub fn set_down(&self, down: bool) {
        self.state.down.send_replace(down);
    }

    /// Deletes an object as `kubectl delete` would.
    pub fn delete(&self, collection: &str, namespace: &str, name: &str) {
        let key = Key { collection: collection.into(), namespace: namespace.into(), name: name.into() };
        self.write(|store| store.delete(&key)).unwrap();
    }

    /// Runs a write and broadcasts what it recorded.
    fn write(&self, op: impl FnOnce(&mut Store) -> Result<Value, Refusal>) -> Result<Value, Refusal> {
        let mut store = self.state.store.lock().unwrap_or_else(PoisonError::into_inner);
        let before = store.version;
        let result = op(&mut store);
        for change in store.history.iter().filter(|c| c.version > before) {
            let _ = self.state.changes.send(change.clone());
        }
        result
    }

    async fn handle(&self, request: Request<kube::client::Body>, rbac: Option<&Rbac>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let line = format!("{} {}?{query}", parts.method, parts.uri.path());
        if rbac.is_some() {
            self.state.requests_as.lock().unwrap().push(line.clone());
        }
        self.state.requests.lock().unwrap().push(line);
        if *self.state.down.borrow() {
            return refusal((503, "ServiceUnavailable", "the API server is down".into()));
        }
        let injected = {
            let mut failures = self.state.failures.lock().unwrap();
            let position = failures
                .iter()
                .position(|(m, p, _)| *m == parts.method.as_str() && parts.uri.path().contains(p.as_str()));
            position.and_then(|i| failures.remove(i))
        };
        if let Some((_, _, code)) = injected {
            return refusal((code, "InternalError", "injected failure".into()));
        }
        // Discovery (every authenticated user may read it: `system:discovery`).
        if parts.method == http::Method::GET {
            let served = self.state.served.lock().unwrap().iter().find(|(p, _)| p == parts.uri.path()).cloned();
            if let Some((_, list)) = served {
                return respond(200, &list);
            }
        }
        let Some(target) = parse_path(parts.uri.path()) else {
            return refusal((404, "NotFound", format!("no route {}", parts.uri.path())));
        };
        let params: Vec<(String, String)> = url_pairs(&query);
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if let Some(rbac) = rbac {
            let watch = matches!(param("watch").as_deref(), Some("true" | "1"));
            let access = Access::of_request(
                parts.method.as_str(),
                &target.collection,
                target.namespace.as_deref(),
                target.name.as_deref(),
                target.status,
                watch,
            );
            if !rbac.allows(&access) {
                let place = access.namespace.as_deref().map_or_else(|| "cluster-wide".into(), |n| format!("in {n}"));
                let group = if access.group.is_empty() { String::new() } else { format!("{}/", access.group) };
                let message = format!("{} {group}{} {place}", access.verb, access.resource);
                self.state.forbidden.lock().unwrap().push(message.clone());
                return refusal((403, "Forbidden", format!("forbidden: cannot {message}")));
            }
        }
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let content_type =
            parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let key = |name: &str| Key {
            collection: target.collection.clone(),
            namespace: target.namespace.clone().unwrap_or_default(),
            name: name.to_owned(),
        };
        let result = match (parts.method.as_str(), &target.name) {
            ("GET", None) if matches!(param("watch").as_deref(), Some("true" | "1")) => {
                return self.watch(&target, param("resourceVersion"), param("labelSelector"), param("fieldSelector"));
            }
            ("GET", None) => Ok(self.list(&target, param("labelSelector"), param("fieldSelector"))),
            ("GET", Some(name)) => {
                let store = self.state.store.lock().unwrap();
                store.objects.get(&key(name)).cloned().ok_or((404, "NotFound", format!("\"{name}\" not found")))
            }
            ("POST", None) => {
                let name = body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                return match self.write(|store| store.create(&key(&name), body)) {
                    Ok(object) => respond(201, &object),
                    Err(refused) => refusal(refused),
                };
            }
            ("PATCH", Some(name)) if content_type.starts_with("application/apply-patch") => {
                self.write(|store| store.apply(&key(name), body, target.status))
            }
            ("PATCH", Some(name)) if content_type.contains("merge-patch") => {
                self.write(|store| store.merge(&key(name), &body, target.status))
            }
            ("PATCH", Some(_)) => Err((415, "UnsupportedMediaType", content_type)),
            ("DELETE", Some(name)) => self.write(|store| store.delete(&key(name))),
            _ => Err((405, "MethodNotAllowed", line_of(&parts))),
        };
        match result {
            Ok(object) => respond(200, &object),
            Err(refused) => refusal(refused),
        }
    }

    fn list(&self, target: &Target, labels: Option<String>, fields: Option<String>) -> Value {
        let store = self.state.store.lock().unwrap();
        let items: Vec<Value> = store
            .objects
            .iter()
            .filter(|(k, o)| matches(target, k, o, labels.as_deref(), fields.as_deref()))
            .map(|(_, o)| o.clone())
            .collect();
        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": store.version.to_string()}, "items": items})
    }

    fn watch(
        &self,
        target: &Target,
        version: Option<String>,
        labels: Option<String>,
        fields: Option<String>,
    ) -> Response<Body> {
        let (backlog, receiver) = {
            let store = self.state.store.lock().unwrap();
            let backlog: Vec<Change> = match version.as_deref().and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0) {
                Some(from) => store.history.iter().filter(|c| c.version > from).cloned().collect(),
                None => store
                    .objects
                    .iter()
                    .map(|(k, o)| Change { version: 0, kind: "ADDED", key: k.clone(), object: o.clone() })
                    .collect(),
            };
            (backlog, self.state.changes.subscribe())
        };
        let target = Arc::new(target.clone_target());
        let filter = Arc::new((labels, fields));
        let keep = move |change: &Change| {
            matches(&target, &change.key, &change.object, filter.0.as_deref(), filter.1.as_deref())
        };
        let keep_live = keep.clone();
        let backlog = futures_util::stream::iter(backlog.into_iter().filter(move |c| keep(c)));
        let outage = self.state.down.subscribe();
        let live = futures_util::stream::unfold((receiver, outage), move |(mut receiver, mut outage)| {
            let keep = keep_live.clone();
            async move {
                loop {
                    let change = tokio::select! {
                        change = receiver.recv() => change,
                        _ = outage.wait_for(|down| *down) => return None,
                    };
                    match change {
                        Ok(change) if keep(&change) => return Some((change, (receiver, outage))),
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => {
                            return None
                        }
                    }
                }
            }
        });
        let frames = backlog.chain(live).map(|change| {
            let line = format!("{}\n", json!({"type": change.kind, "object": change.object}));
            Ok::<_, Infallible>(Frame::data(Bytes::from(line)))
        });
        let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
        response.headers_mut().insert("content-type", "application/json".parse().unwrap());
        response
    }
}

impl Target {
    fn clone_target(&self) -> Self {
        Self {
            collection: self.collection.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            status: self.status,
        }
    }
}

fn line_of(parts: &http::request::Parts) -> String {
    format!("{} {}", parts.method, parts.uri.path())
}

/// Whether an object in `key` is in the collection/namespace of `target` and matches the selectors.
fn matches(target: &Target, key: &Key, object: &Value, labels: Option<&str>, fields: Option<&str>) -> bool {
    if key.collection != target.collection || target.namespace.as_ref().is_some_and(|ns| *ns != key.namespace) {
        return false;
    }
    let pairs = |selector: Option<&str>| -> Vec<(String, String)> {
        selector
            .unwrap_or_default()
            .split(',')
            .filter_map(|pair| {
                pair.split_once('=')
                    .map(|(k, v)| (k.trim_end_matches('=').to_owned(), v.trim_start_matches('=').to_owned()))
            })
            .collect()
    };
    let labels_ok = pairs(labels).iter().all(|(k, v)| object["metadata"]["labels"][k].as_str() == Some(v));
    let fields_ok = pairs(fields).iter().all(|(k, v)| match k.as_str() {
        "metadata.name" => key.name == *v,
        "metadata.namespace" => key.namespace == *v,
        _ => false,
    });
    labels_ok && fields_ok
}

fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (prefix, rest) = match segments.first() {
        Some(&"api") => (segments.get(..2)?.join("/"), segments.get(2..)?),
        Some(&"apis") => (segments.get(..3)?.join("/"), segments.get(3..)?),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some((*ns).to_owned()), tail),
        _ => (None, rest),
    };
    let (plural, name, status) = match rest {
        [plural] => (*plural, None, false),
        [plural, name] => (*plural, Some((*name).to_owned()), false),
        [plural, name, "status"] => (*plural, Some((*name).to_owned()), true),
        _ => return None,
    };
    Some(Target { collection: format!("{prefix}/{plural}"), namespace, name, status })
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(hex.unwrap_or(b'%'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(code: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed_unsync());
    *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response
}

fn refusal((code, reason, message): Refusal) -> Response<Body> {
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code});
    respond(code, &status)
}
