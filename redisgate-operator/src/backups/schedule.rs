//! Scheduled backups of an instance (`spec.backup`): each reconcile of a Ready instance creates a
//! `RedisHttpBackup` when the newest scheduled one is older than `everyHours`, and deletes the finished ones
//! beyond the newest `keepLast`. They carry the label [`LABEL_SCHEDULED_FOR`] (the instance), the annotation
//! [`SCHEDULED_AT`] (when, RFC 3339) and an owner reference to the instance, so they go with it; their files
//! stay in the store (a bucket lifecycle rule can expire those).

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Resource as _, ResourceExt as _};

use crate::context::Context;
use crate::crd::{BackupPhase, RedisHttpBackup, RedisHttpBackupSpec, RedisHttpInstance};
use crate::naming::{LABEL_MANAGED_BY, MANAGER};
use crate::{Error, Result};

/// The label naming the instance a scheduled backup is for.
pub const LABEL_SCHEDULED_FOR: &str = "redisgate.io/scheduled-for";
/// The annotation holding when a scheduled backup was made.
pub const SCHEDULED_AT: &str = "redisgate.io/scheduled-at";

/// Takes the instance's scheduled backup when it is due and prunes the old ones; answers how long until
/// the next is due (`None`: no schedule).
///
/// # Errors
/// API failures.
pub async fn run(instance: &RedisHttpInstance, ctx: &Context, now: Timestamp) -> Result<Option<Duration>> {
    let Some(schedule) = &instance.spec.backup else { return Ok(None) };
    let namespace = instance.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let name = instance.name_any();
    let api: Api<RedisHttpBackup> = Api::namespaced(ctx.client.clone(), &namespace);
    let selector = format!("{LABEL_SCHEDULED_FOR}={name}");
    let mut existing = api.list(&ListParams::default().labels(&selector)).await?.items;
    existing.sort_by_key(scheduled_at);
    let every = Duration::from_secs(u64::from(schedule.every_hours) * 3600);
    let since = existing
        .last()
        .and_then(scheduled_at)
        .map(|at| Duration::try_from(now.duration_since(at)).unwrap_or(Duration::ZERO));
    let due_in = since.map_or(Duration::ZERO, |since| every.saturating_sub(since));
    if due_in.is_zero() {
        let mut backup = RedisHttpBackup::new(
            &format!("{name}-{}", base36(now.as_second())),
            RedisHttpBackupSpec {
                instance: name.clone(),
                store: schedule.store.clone(),
                store_secret: schedule.store_secret.clone(),
            },
        );
        backup.metadata.namespace = Some(namespace.clone());
        backup.metadata.labels = Some(
            [(LABEL_SCHEDULED_FOR.to_owned(), name.clone()), (LABEL_MANAGED_BY.to_owned(), MANAGER.to_owned())].into(),
        );
        backup.metadata.annotations = Some([(SCHEDULED_AT.to_owned(), now.to_string())].into());
        backup.metadata.owner_references = instance.controller_owner_ref(&()).map(|owner| vec![owner]);
        match api.create(&PostParams::default(), &backup).await {
            Ok(created) => existing.push(created),
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(keep) = schedule.keep_last {
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let finished = |b: &&RedisHttpBackup| {
            matches!(b.status.as_ref().and_then(|s| s.phase), Some(BackupPhase::Completed | BackupPhase::Failed))
        };
        // The newest `keep` stay, whatever their phase; of the older ones, the finished go.
        let older = existing.len().saturating_sub(keep);
        for backup in existing.iter().take(older).filter(finished) {
            match api.delete(&backup.name_any(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Some(if due_in.is_zero() { every } else { due_in }))
}

fn scheduled_at(backup: &RedisHttpBackup) -> Option<Timestamp> {
    backup.annotations().get(SCHEDULED_AT)?.parse().ok()
}

/// `n` in base 36 (lower case): a short, growing suffix for backup names.
fn base36(mut n: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[usize::try_from(n.rem_euclid(36)).unwrap_or(0)]);
        n /= 36;
        if n <= 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base36_names_grow_with_time() {
        assert_eq!(super::base36(0), "0");
        assert_eq!(super::base36(35), "z");
        assert_eq!(super::base36(36), "10");
        assert!(super::base36(1_796_600_000).len() <= 7);
    }
}
