//! The ConfigMap with redis.conf (no password in it; see [`crate::redis_conf`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::Desired;

/// The ConfigMap mounted at `/etc/redis`.
#[must_use]
pub fn build(desired: &Desired) -> ConfigMap {
    ConfigMap {
        metadata: desired.meta(&desired.names.config),
        data: Some(BTreeMap::from([("redis.conf".to_owned(), desired.conf.clone())])),
        ..ConfigMap::default()
    }
}
