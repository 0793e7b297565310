//! Status from observations: the conditions `Ready`, `Progressing` and `Degraded` (each stamped with the
//! generation it describes), the phase, the endpoint and the Secret reference.
//!
//! `lastTransitionTime` only moves when a condition's status flips, so a reconcile that observes nothing new
//! writes an identical status, which the API server treats as a no-op.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::crd::{
    CertificateStatus, Phase, RedisHttpInstance, RedisHttpInstanceStatus, SecretRef, StatusEndpoint, TokenDigests,
};

/// What the cluster reports about the workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// The pod runs the current template and passes its readiness probe.
    pub ready: bool,
    /// For people: what is still happening.
    pub message: String,
}

/// Reads a StatefulSet's status (None: not created yet).
#[must_use]
pub fn rollout(statefulset: Option<&StatefulSet>) -> Rollout {
    let Some(statefulset) = statefulset else {
        return Rollout { ready: false, message: "the StatefulSet is being created".to_owned() };
    };
    let Some(status) = &statefulset.status else {
        return Rollout { ready: false, message: "waiting for the StatefulSet controller".to_owned() };
    };
    let current = status.observed_generation.is_some() && status.observed_generation == statefulset.metadata.generation;
    let revision_done = match (&status.current_revision, &status.update_revision) {
        (Some(current), Some(update)) => current == update,
        _ => true,
    };
    // Every pod the spec asks for (one for a standalone instance; the master, its replicas, or the three
    // Sentinels otherwise).
    let wanted = statefulset.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(1);
    let ready = status.ready_replicas.unwrap_or(0) >= wanted && status.updated_replicas.unwrap_or(0) >= wanted;
    let message = if !current {
        "waiting for the StatefulSet controller to observe the new spec"
    } else if !revision_done || status.updated_replicas.unwrap_or(0) < wanted {
        "rolling out the new pod template"
    } else if !ready {
        "waiting for the Redis pods to pass their readiness probe"
    } else {
        "Redis is running and answers an authenticated PING"
    };
    Rollout { ready: current && revision_done && ready, message: message.to_owned() }
}

impl Rollout {
    /// Both rollouts together: the data pods' and `what` (a replicated instance's Sentinels, a cluster's
    /// bootstrap Job).
    #[must_use]
    pub fn and(self, what: &str, other: Self) -> Self {
        match (self.ready, other.ready) {
            (true, true) | (false, _) => self,
            (true, false) => Self { ready: false, message: format!("{what}: {}", other.message) },
        }
    }
}

/// Reads a cluster's bootstrap Job: ready once it succeeded.
#[must_use]
pub fn job(job: &Job) -> Rollout {
    let name = job.metadata.name.clone().unwrap_or_default();
    let status = job.status.clone().unwrap_or_default();
    if status.succeeded.unwrap_or(0) > 0 {
        return Rollout { ready: true, message: format!("formed by Job {name}") };
    }
    let failed = status.conditions.iter().flatten().find(|c| c.type_ == "Failed" && c.status == "True");
    let message = match failed {
        Some(c) => format!(
            "Job {name} failed ({}); see its logs, and delete it to run it again",
            c.message.clone().unwrap_or_else(|| c.reason.clone().unwrap_or_default())
        ),
        None => format!("Job {name} is forming the cluster"),
    };
    Rollout { ready: false, message }
}

/// What a reconcile observed besides the rollout, for the status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// A replicated instance's master (`host:port`), as its Sentinels name it.
    pub master: Option<String>,
    /// The digests of the instance's REST tokens (none for the control plane's instances).
    pub token_digests: Option<TokenDigests>,
    /// A TLS instance's server certificate and whether its servers present it.
    pub certificate: Option<CertificateStatus>,
}

/// The status after a successful apply.
#[must_use]
pub fn applied(
    instance: &RedisHttpInstance,
    rollout: &Rollout,
    endpoint: StatusEndpoint,
    secret: SecretRef,
    observed: Observed,
) -> RedisHttpInstanceStatus {
    let (ready, reason) = if rollout.ready { ("True", "Available") } else { ("False", "RollingOut") };
    let progressing = if rollout.ready { "False" } else { "True" };
    let conditions = vec![
        condition(instance, "Ready", ready, reason, &rollout.message),
        condition(instance, "Progressing", progressing, reason, &rollout.message),
        condition(instance, "Degraded", "False", "AsExpected", "the spec is valid and applied"),
    ];
    RedisHttpInstanceStatus {
        phase: Some(if rollout.ready { Phase::Ready } else { Phase::Progressing }),
        conditions,
        endpoint: Some(endpoint),
        secret_ref: Some(secret),
        observed_generation: instance.metadata.generation,
        master: observed.master,
        token_digests: observed.token_digests,
        certificate: observed.certificate,
    }
}

/// The status when the spec cannot be applied (`reason` in CamelCase); endpoint and Secret stay as reported.
#[must_use]
pub fn degraded(instance: &RedisHttpInstance, reason: &str, message: &str) -> RedisHttpInstanceStatus {
    let previous = instance.status.clone().unwrap_or_default();
    RedisHttpInstanceStatus {
        phase: Some(Phase::Degraded),
        conditions: vec![
            condition(instance, "Ready", "False", reason, message),
            condition(instance, "Progressing", "False", reason, message),
            condition(instance, "Degraded", "True", reason, message),
        ],
        endpoint: previous.endpoint,
        secret_ref: previous.secret_ref,
        observed_generation: instance.metadata.generation,
        master: previous.master,
        token_digests: previous.token_digests,
        certificate: previous.certificate,
    }
}

/// A condition that keeps the previous `lastTransitionTime` when its status did not change.
fn condition(instance: &RedisHttpInstance, type_: &str, status: &str, reason: &str, message: &str) -> Condition {
    let previous = instance.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == type_));
    let last_transition_time = match previous {
        Some(previous) if previous.status == status => previous.last_transition_time.clone(),
        _ => Time(Timestamp::now()),
    };
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: instance.metadata.generation,
        last_transition_time,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::StatefulSetStatus;

    use super::*;
    use crate::crd::RedisHttpInstanceSpec;

    fn instance() -> RedisHttpInstance {
        let spec: RedisHttpInstanceSpec = serde_json::from_value(serde_json::json!({"memory": "64Mi"})).unwrap();
        let mut instance = RedisHttpInstance::new("cache", spec);
        instance.metadata.generation = Some(3);
        instance
    }

    fn statefulset(ready: i32, observed: i64) -> StatefulSet {
        let mut sts = StatefulSet::default();
        sts.metadata.generation = Some(2);
        sts.status = Some(StatefulSetStatus {
            observed_generation: Some(observed),
            ready_replicas: Some(ready),
            updated_replicas: Some(1),
            replicas: 1,
            ..StatefulSetStatus::default()
        });
        sts
    }

    #[test]
    fn ready_only_when_the_current_generation_is_ready() {
        assert!(!rollout(None).ready);
        assert!(!rollout(Some(&statefulset(0, 2))).ready);
        assert!(!rollout(Some(&statefulset(1, 1))).ready);
        assert!(rollout(Some(&statefulset(1, 2))).ready);
    }

    #[test]
    fn transition_times_move_only_on_a_flip() {
        let endpoint = StatusEndpoint { host: "h".into(), port: 6379 };
        let secret = SecretRef { name: "s".into(), key: "password".into() };
        let mut instance = instance();
        let waiting = Rollout { ready: false, message: "m".into() };
        let first = applied(&instance, &waiting, endpoint.clone(), secret.clone(), Observed::default());
        assert_eq!(first.phase, Some(Phase::Progressing));
        assert!(first.conditions.iter().all(|c| c.observed_generation == Some(3)));
        instance.status = Some(first.clone());
        assert_eq!(applied(&instance, &waiting, endpoint.clone(), secret.clone(), Observed::default()), first);
        let ready =
            applied(&instance, &Rollout { ready: true, message: "m".into() }, endpoint, secret, Observed::default());
        assert_eq!(ready.phase, Some(Phase::Ready));
        let time = |s: &RedisHttpInstanceStatus, t: &str| {
            s.conditions.iter().find(|c| c.type_ == t).unwrap().last_transition_time.clone()
        };
        assert_eq!(time(&ready, "Degraded"), time(&first, "Degraded"));
        instance.status = Some(ready);
        assert!(instance.is_ready());
        assert_eq!(degraded(&instance, "InvalidSpec", "bad").phase, Some(Phase::Degraded));
    }
}
