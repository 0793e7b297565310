//! The ConfigMap with redis.conf (password digests, no password; see [`crate::redis_conf`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::Desired;

/// The ConfigMap mounted at `/etc/redis`, holding `conf` ([`crate::redis_conf::with_users`]).
#[must_use]
pub fn build(desired: &Desired, conf: &str) -> ConfigMap {
    ConfigMap {
        metadata: desired.meta(&desired.names.config),
        data: Some(BTreeMap::from([("redis.conf".to_owned(), conf.to_owned())])),
        ..ConfigMap::default()
    }
}
