//! RBAC as the API server's authorizer applies it, reduced to what deploy/ uses, so that the fake API can
//! run the operator and the provisioner with exactly the rights the manifests give their service accounts.
//!
//! A subject's rights are the rules of every Role and ClusterRole bound to it: a RoleBinding grants its
//! role's rules in the binding's namespace only (for a ClusterRole too), a ClusterRoleBinding grants them in
//! every namespace and on cluster-scoped resources. A rule allows a request when its apiGroups, resources
//! (`plural` or `plural/subresource`), verbs and resourceNames (if any) all match, `*` matching anything.
//! Subjects: the ServiceAccount itself, the user `system:serviceaccount:<ns>:<name>`, and the groups every
//! service account is in.

use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_json::Value;

/// One request, as the authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
    /// `""` for the core group.
    pub group: String,
    /// The plural, with `/status` for the subresource.
    pub resource: String,
    /// `None` for cluster-scoped resources and requests across all namespaces.
    pub namespace: Option<String>,
    /// The object's name, for requests on one object.
    pub name: Option<String>,
}

/// A rule in force: where, and what it allows.
#[derive(Debug, Clone)]
pub struct Grant {
    /// `None`: in every namespace and cluster-wide (a ClusterRoleBinding).
    pub namespace: Option<String>,
    pub groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub names: Vec<String>,
}

/// The rights of one subject.
#[derive(Debug, Clone)]
pub struct Rbac {
    pub grants: Vec<Grant>,
}

/// Every YAML document under `deploy/`, with its file.
pub fn deploy_documents() -> Vec<(PathBuf, Value)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy"), &mut files);
    let mut documents = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = Value::deserialize(document).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if !value.is_null() {
                documents.push((file.clone(), value));
            }
        }
    }
    documents
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn matches(allowed: &[String], value: &str) -> bool {
    allowed.iter().any(|a| a == "*" || a == value)
}

impl Rbac {
    /// The rights `documents` give the ServiceAccount `namespace/name`.
    pub fn of_service_account(documents: &[(PathBuf, Value)], namespace: &str, name: &str) -> Self {
        let user = format!("system:serviceaccount:{namespace}:{name}");
        let groups = [
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{namespace}"),
            "system:authenticated".into(),
        ];
        let is_subject = |subject: &Value| match subject["kind"].as_str() {
            Some("ServiceAccount") => {
                subject["name"] == name && subject["namespace"].as_str().unwrap_or_default() == namespace
            }
            Some("User") => subject["name"] == user.as_str(),
            Some("Group") => groups.iter().any(|g| subject["name"] == g.as_str()),
            _ => false,
        };
        let role = |kind: &str, role_name: &str, role_namespace: Option<&str>| -> Vec<Value> {
            documents
                .iter()
                .map(|(_, d)| d)
                .filter(|d| d["kind"] == kind && d["metadata"]["name"] == role_name)
                .filter(|d| role_namespace.is_none_or(|ns| d["metadata"]["namespace"] == ns))
                .flat_map(|d| d["rules"].as_array().cloned().unwrap_or_default())
                .collect()
        };
        let mut grants = Vec::new();
        for (_, binding) in documents {
            let kind = binding["kind"].as_str().unwrap_or_default();
            if !matches!(kind, "RoleBinding" | "ClusterRoleBinding") {
                continue;
            }
            if !binding["subjects"].as_array().is_some_and(|s| s.iter().any(is_subject)) {
                continue;
            }
            let scope = (kind == "RoleBinding")
                .then(|| binding["metadata"]["namespace"].as_str().unwrap_or("default").to_owned());
            let role_kind = binding["roleRef"]["kind"].as_str().unwrap_or_default();
            let role_name = binding["roleRef"]["name"].as_str().unwrap_or_default();
            let rules = match role_kind {
                "Role" => role("Role", role_name, scope.as_deref()),
                "ClusterRole" => role("ClusterRole", role_name, None),
                _ => Vec::new(),
            };
            grants.extend(rules.iter().map(|rule| Grant {
                namespace: scope.clone(),
                groups: strings(&rule["apiGroups"]),
                resources: strings(&rule["resources"]),
                verbs: strings(&rule["verbs"]),
                names: strings(&rule["resourceNames"]),
            }));
        }
        Self { grants }
    }

    /// Whether some grant allows `access`.
    pub fn allows(&self, access: &Access) -> bool {
        self.grants.iter().any(|grant| {
            let place = match (&grant.namespace, &access.namespace) {
                (None, _) => true,
                (Some(granted), Some(asked)) => granted == asked,
                (Some(_), None) => false,
            };
            let name = grant.names.is_empty() || access.name.as_ref().is_some_and(|n| grant.names.contains(n));
            place
                && name
                && matches(&grant.groups, &access.group)
                && matches(&grant.resources, &access.resource)
                && matches(&grant.verbs, &access.verb)
        })
    }
}

impl Access {
    /// The access an API request asks for: `method`, `collection` (`api/v1/secrets`,
    /// `apis/<group>/<version>/<plural>`), and what the path names.
    pub fn of_request(
        method: &str,
        collection: &str,
        namespace: Option<&str>,
        name: Option<&str>,
        status: bool,
        watch: bool,
    ) -> Self {
        let parts: Vec<&str> = collection.split('/').collect();
        let (group, plural) = match parts.as_slice() {
            ["api", _, plural] => ("", *plural),
            ["apis", group, _, plural] => (*group, *plural),
            _ => ("?", "?"),
        };
        let verb = match (method, name.is_some()) {
            ("GET", true) => "get",
            ("GET", false) if watch => "watch",
            ("GET", false) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", true) => "delete",
            ("DELETE", false) => "deletecollection",
            _ => "?",
        };
        Self {
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource: if status { format!("{plural}/status") } else { plural.to_owned() },
            namespace: namespace.map(str::to_owned),
            name: name.map(str::to_owned),
        }
    }
}
