//! The source of a gateway that reads its instances from Kubernetes (`--directory kubernetes`): a
//! kube-runtime reflector over the `RedisHttpInstance` resources of the watched namespaces, turned into a
//! [`Catalog`] on every change and handed to the gateway's workers through a `watch` channel.
//!
//! - An instance is served once the operator reports it Ready and its status carries the digests of its
//!   tokens (`status.tokenDigests`; the control plane's instances have none and are not served here). It
//!   stays served while it rolls out a change of its spec (not Ready meanwhile), until it is deleted.
//! - Its Redis password comes from the Secret its status names, and a TLS instance's CA and the gateway's
//!   client certificate from the namespace's `redisgate-gateway-tls`, each read by name (`get`): the only
//!   Secrets this reads. They are read again every [`SECRET_REFRESH`] (a user may change a password).
//! - Names: every instance is `<name>.<namespace>`; it is also `<name>` when no other watched namespace has
//!   an instance of that name.
//! - The hot path never waits on the API server. Nothing is published until every watch has listed once,
//!   so a gateway started while the API server is down stays not ready; a watch that is lost re-lists with
//!   backoff while the last catalog keeps serving, and a catalog whose Secrets cannot be read (the API
//!   server failing) is not published (the last one stays). An instance whose Secret is missing or unusable
//!   is left out alone.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, StreamExt as _};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt as _};
use kube::{Api, Client, ResourceExt as _};
use redisgate_core::auth::TokenHash;
use redisgate_core::catalog::{Catalog, Entry};
use redisgate_core::protocol::Access;
use tokio::sync::watch;

use crate::crd::RedisHttpInstance;
use crate::provisioner::{endpoint, password_secret, ConnectAddress};
use crate::resources::tls::GATEWAY_SECRET;
use crate::{Error, Result};

/// How often the Secrets are read again.
pub const SECRET_REFRESH: Duration = Duration::from_secs(30);

/// The latest catalog (`None` until every watch has listed once).
pub type Feed = watch::Receiver<Option<Arc<Catalog>>>;

/// Starts watching `namespaces` (all, when empty) through `client`. Returns the feed and the future that
/// keeps it current (spawn it; it runs until dropped). `connect` maps a status endpoint's `host:port` to the
/// address to dial (tests, port-forwarding); by default it is dialled as it is.
pub fn watch(
    client: Client,
    namespaces: &[String],
    connect: Option<ConnectAddress>,
) -> (Feed, impl Future<Output = ()> + Send + 'static) {
    let scopes: Vec<Option<String>> =
        if namespaces.is_empty() { vec![None] } else { namespaces.iter().cloned().map(Some).collect() };
    let (sender, feed) = watch::channel(None);
    let mut stores = Vec::new();
    let mut listed = Vec::new();
    let mut events = Vec::new();
    for scope in scopes {
        let api: Api<RedisHttpInstance> = match &scope {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        };
        let (store, writer) = reflector::store();
        let done = Arc::new(AtomicBool::new(false));
        let mark = Arc::clone(&done);
        let changes = reflector::reflector(writer, watcher::watcher(api, watcher::Config::default()).default_backoff())
            .map(move |event| match event {
                Ok(watcher::Event::InitDone) => mark.store(true, Ordering::Release),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "watching RedisHttpInstances failed; serving the last catalog"),
            });
        events.push(changes.boxed());
        stores.push(store);
        listed.push(done);
    }
    let source = Source { client, stores, connect, secrets: HashMap::new(), served: HashSet::new() };
    let run = source.run(stream::select_all(events), listed, sender);
    (feed, run)
}

/// What the watch keeps between changes.
struct Source {
    client: Client,
    stores: Vec<Store<RedisHttpInstance>>,
    connect: Option<ConnectAddress>,
    /// The Secrets read by name since the last refresh, by (namespace, name): the password Secrets, and the
    /// gateway's client certificate for TLS instances.
    secrets: HashMap<(String, String), Arc<Secret>>,
    /// The instances (namespace, name) served so far: one stays served while it is not Ready again, as
    /// while its pods roll out after a change of its spec.
    served: HashSet<(String, String)>,
}

impl Source {
    async fn run(
        mut self,
        mut events: impl stream::Stream<Item = ()> + Unpin,
        listed: Vec<Arc<AtomicBool>>,
        sender: watch::Sender<Option<Arc<Catalog>>>,
    ) {
        let mut refresh = tokio::time::interval(SECRET_REFRESH);
        loop {
            tokio::select! {
                event = events.next() => if event.is_none() { return },
                _ = refresh.tick() => self.secrets.clear(),
            }
            if !listed.iter().all(|l| l.load(Ordering::Acquire)) {
                continue;
            }
            match self.catalog().await {
                Ok(catalog) => {
                    sender.send_if_modified(|current| {
                        let changed = current.as_deref() != Some(&catalog);
                        if changed {
                            *current = Some(Arc::new(catalog));
                        }
                        changed
                    });
                }
                Err(error) => tracing::warn!(%error, "cannot read a password; serving the last catalog"),
            }
        }
    }

    /// Every ready instance with digests, by its names.
    async fn catalog(&mut self) -> Result<Catalog> {
        let key = |i: &RedisHttpInstance| (i.namespace().unwrap_or_default(), i.name_any());
        let instances: Vec<Arc<RedisHttpInstance>> = self
            .stores
            .iter()
            .flat_map(Store::state)
            .filter(|i| i.is_ready() || self.served.contains(&key(i)))
            .filter(|i| i.status.as_ref().is_some_and(|s| s.token_digests.is_some()))
            .collect();
        self.served = instances.iter().map(|i| key(i)).collect();
        let mut count: HashMap<String, usize> = HashMap::new();
        for instance in &instances {
            *count.entry(instance.name_any()).or_default() += 1;
        }
        let mut catalog = Vec::new();
        for instance in instances {
            let entry = match self.entry(&instance).await {
                Ok(Some(entry)) => entry,
                Ok(None) => continue,
                // This instance's Secret is gone or unusable: it alone is left out, the others stay current.
                Err(error) if error.is_status(404) || matches!(error, Error::SecretInvalid(_)) => {
                    tracing::warn!(instance = %instance.name_any(), %error, "not served: its Secret cannot be used");
                    continue;
                }
                Err(error) => return Err(error),
            };
            let name = instance.name_any();
            if count[&name] == 1 {
                catalog.push(Entry { name, ..entry.clone() });
            }
            catalog.push(entry);
        }
        catalog.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(catalog)
    }

    /// `instance` as `<name>.<namespace>`; `None` when its status lacks what is needed.
    async fn entry(&mut self, instance: &RedisHttpInstance) -> Result<Option<Entry>> {
        let (Some(namespace), Some(status)) = (instance.namespace(), instance.status.as_ref()) else {
            return Ok(None);
        };
        let Some(digests) = &status.token_digests else { return Ok(None) };
        if status.endpoint.is_none() || status.secret_ref.is_none() {
            return Ok(None);
        }
        let password = self.secret(&namespace, &password_secret(instance)?).await?;
        let tls = if instance.spec.tls.enabled { Some(self.secret(&namespace, GATEWAY_SECRET).await?) } else { None };
        let endpoint = endpoint(instance, &password, tls.as_deref(), self.connect.as_ref())?;
        let credentials = [(&digests.full, Access::Full), (&digests.readonly, Access::ReadOnly)]
            .into_iter()
            .filter_map(|(hex, access)| Some((TokenHash::from_bytes(&decode_hex(hex)?)?, access)))
            .collect();
        Ok(Some(Entry {
            name: format!("{}.{namespace}", instance.name_any()),
            url: endpoint.url,
            credentials,
            limits: instance.spec.limits.limits(),
            tls: endpoint.tls,
        }))
    }

    /// The Secret `name` of `namespace`, read by name (`get`) unless read since the last refresh.
    async fn secret(&mut self, namespace: &str, name: &str) -> Result<Arc<Secret>> {
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(secret) = self.secrets.get(&key) {
            return Ok(Arc::clone(secret));
        }
        let read = Arc::new(Api::<Secret>::namespaced(self.client.clone(), namespace).get(name).await?);
        self.secrets.insert(key, Arc::clone(&read));
        Ok(read)
    }
}

/// The bytes of a hex string, or `None`.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digests_decode_and_anything_else_is_refused() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
    }
}
