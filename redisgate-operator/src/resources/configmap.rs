//! The ConfigMap with redis.conf (password digests, no password; see [`crate::redis_conf`]); for a
//! replicated instance the Sentinels' configuration and both start scripts; for a cluster the node's start
//! script and the bootstrap Job's.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use redisgate_core::provisioning::Credentials;

use super::Desired;
use crate::redis_conf::cluster::{self, CLUSTER_BOOTSTRAP, START_CLUSTER};
use crate::redis_conf::{self, SENTINEL_CONF, START_DATA, START_SENTINEL};

/// The ConfigMap mounted at `/etc/redis`, holding `conf` ([`crate::redis_conf::with_users`]).
#[must_use]
pub fn build(desired: &Desired, conf: &str) -> ConfigMap {
    ConfigMap {
        metadata: desired.meta(&desired.names.config),
        data: Some(BTreeMap::from([("redis.conf".to_owned(), conf.to_owned())])),
        ..ConfigMap::default()
    }
}

/// As [`build`], plus for a replicated instance the Sentinels' part of their configuration (users of
/// `credentials`, by digest) and the start scripts, and for a cluster its two scripts.
#[must_use]
pub fn build_for(desired: &Desired, conf: &str, credentials: &Credentials) -> ConfigMap {
    let mut map = build(desired, conf);
    let topology = &desired.instance.spec.topology;
    let data = map.data.get_or_insert_with(BTreeMap::new);
    if topology.is_replicated() {
        let tls = desired.instance.spec.tls.enabled;
        data.insert(SENTINEL_CONF.to_owned(), redis_conf::sentinel_conf(credentials, tls));
        data.insert(START_DATA.to_owned(), redis_conf::start_data_script(tls));
        data.insert(START_SENTINEL.to_owned(), redis_conf::start_sentinel_script(&desired.names.instance, tls));
    } else if topology.is_cluster() {
        let tls = desired.instance.spec.tls.enabled;
        data.insert(START_CLUSTER.to_owned(), cluster::start_cluster_script(tls));
        data.insert(CLUSTER_BOOTSTRAP.to_owned(), cluster::bootstrap_script(tls));
    }
    map
}

/// What the pods depend on in `map`, for their checksum annotation (every file, in key order).
#[must_use]
pub fn contents(map: &ConfigMap) -> String {
    map.data.iter().flatten().map(|(key, value)| format!("{key}\0{value}\0")).collect()
}
