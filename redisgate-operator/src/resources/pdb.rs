//! PodDisruptionBudgets of a replicated instance: a drain (a node upgrade, an autoscaler's scale-down) may
//! take at most one data pod and one Sentinel at a time, so a master and a quorum of Sentinels always remain.

use std::collections::BTreeMap;

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Desired;
use crate::naming::{selector_labels, sentinel_selector_labels};

fn budget(desired: &Desired, name: &str, selector: BTreeMap<String, String>) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: desired.meta(name),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector { match_labels: Some(selector), ..LabelSelector::default() }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

/// At most one data pod down at a time.
#[must_use]
pub fn data(desired: &Desired) -> PodDisruptionBudget {
    budget(desired, &desired.names.instance, selector_labels(&desired.names.instance))
}

/// At most one Sentinel down at a time (two of three keep the quorum).
#[must_use]
pub fn sentinels(desired: &Desired) -> PodDisruptionBudget {
    budget(desired, &desired.names.sentinel, sentinel_selector_labels(&desired.names.instance))
}
