//! Instance state transitions (the states and which moves are allowed: [`InstanceStatus`]): pending →
//! provisioning → running, or failed; deleting → gone.
//!
//! Work runs as tasks on the platform's runtime (where the provisioner lives), so an API request only
//! records the intent and returns. A failed provisioning leaves a `failed` row and nothing running; a
//! restarted platform resumes every instance from its recorded state.

use std::sync::Arc;

use redisgate_core::provisioning::status::{Next, Resume};
use redisgate_core::provisioning::{Failover, InstanceStatus, Target};
use redisgate_core::store::{AuditEntry, Instance};
use redisgate_gateway::metrics::Metrics;
use tokio::runtime::Handle;
use uuid::Uuid;

use super::Pool;
use crate::provisioner::Provisioner;

/// Drives instances through their states.
#[derive(Clone)]
pub struct Lifecycle {
    pool: Pool,
    provisioner: Arc<dyn Provisioner>,
    handle: Handle,
    metrics: Arc<Metrics>,
}

impl Lifecycle {
    /// A lifecycle whose tasks run on the current runtime, using `pool` (which must belong to it), counting
    /// outcomes in `metrics`.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(pool: Pool, provisioner: Arc<dyn Provisioner>, metrics: Arc<Metrics>) -> Self {
        Self { pool, provisioner, handle: Handle::current(), metrics }
    }

    /// The provisioner (the directory asks it for endpoints).
    #[must_use]
    pub fn provisioner(&self) -> &Arc<dyn Provisioner> {
        &self.provisioner
    }

    /// Starts provisioning a `pending` instance in the background.
    pub fn provision(&self, id: Uuid) {
        let this = self.clone();
        self.handle.spawn(async move { this.bring_up(id, false).await });
    }

    /// Brings a `running` instance whose server is gone (or a `failed` one) back, in the background.
    pub fn provision_again(&self, id: Uuid) {
        let this = self.clone();
        self.handle.spawn(async move { this.bring_up(id, true).await });
    }

    /// Deletes an instance in the background: the server first, then the row.
    pub fn delete(&self, id: Uuid) {
        let this = self.clone();
        self.handle.spawn(async move { this.tear_down(id).await });
    }

    /// After a platform start: re-adopt running instances, finish interrupted work. Waits for all of it.
    pub async fn resume(&self) {
        let listed = match self.pool.get().await {
            Ok(mut conn) => Instance::all(&mut conn).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let instances = match listed {
            Ok(instances) => instances,
            Err(e) => {
                tracing::error!(error = %e, "cannot resume instances: database unavailable");
                return;
            }
        };
        let mut tasks = Vec::new();
        for instance in instances {
            let this = self.clone();
            tasks.push(self.handle.spawn(async move {
                match instance.status.on_resume() {
                    Resume::Adopt => this.bring_up(instance.id, true).await,
                    Resume::Create => this.bring_up(instance.id, false).await,
                    Resume::Delete => this.tear_down(instance.id).await,
                    Resume::Leave => {}
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Writes every failover the provisioner reports to the audit log (`instance.failover`, no actor: the
    /// instance's Sentinels acted), until the runtime stops.
    pub fn record_failovers(&self) {
        let this = self.clone();
        self.handle.spawn(async move {
            loop {
                let failover = this.provisioner.next_failover().await;
                if let Err(e) = this.record(&failover).await {
                    tracing::error!(instance = %failover.instance, error = %e, "cannot audit a failover");
                }
            }
        });
    }

    async fn record(&self, failover: &Failover) -> crate::Result<()> {
        tracing::warn!(
            instance = %failover.instance, old = %failover.old_master, new = %failover.new_master, "the master moved"
        );
        let mut conn = self.pool.get().await?;
        let Some(instance) = Instance::find(&mut conn, failover.instance).await? else {
            return Ok(());
        };
        AuditEntry {
            organization_id: Some(instance.organization_id),
            actor_user_id: None,
            actor_api_key_id: None,
            action: "instance.failover",
            target_type: "instance",
            target_id: Some(instance.id),
            details: serde_json::json!({"old_master": failover.old_master, "new_master": failover.new_master}),
        }
        .insert(&mut conn)
        .await?;
        Ok(())
    }

    /// Starts (or, with `adopt`, re-adopts) the instance's server and records the outcome. What a failure
    /// leads to (retry, start afresh, failed, or nothing) is [`InstanceStatus::after_failure`]'s decision.
    async fn bring_up(&self, id: Uuid, adopt: bool) {
        let Ok(mut conn) = self.pool.get().await else {
            tracing::error!(%id, "cannot provision: database unavailable");
            return;
        };
        let Ok(Some(instance)) = Instance::find(&mut conn, id).await else {
            return;
        };
        let (target, spec, recorded) = (instance.target(), instance.spec(), instance.status);
        if !adopt || recorded == InstanceStatus::Failed {
            let _ = Instance::set_status(&mut conn, id, InstanceStatus::Provisioning, None, None).await;
        }
        let mut adopt = adopt;
        let mut attempt = 1;
        let result = loop {
            let result = if adopt {
                self.provisioner.adopt(target, spec.clone()).await
            } else {
                self.provisioner.create(target, spec.clone()).await
            };
            let Err(error) = result else { break result };
            match recorded.after_failure(&error, attempt) {
                Next::Retry(wait) => {
                    tracing::info!(%id, error = %error, attempt, "provisioning failed; trying again");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Next::Recreate if adopt => {
                    tracing::info!(%id, error = %error, "nothing to adopt; provisioning afresh");
                    let _ = self.provisioner.delete(target).await;
                    adopt = false;
                }
                Next::Keep => {
                    tracing::warn!(%id, error = %error, "the instance's server could not be checked; it stays running");
                    return;
                }
                Next::Recreate | Next::Fail => break Err(error),
            }
        };
        self.metrics.provisioned(if result.is_ok() { "running" } else { "failed" });
        let update = match &result {
            Ok(endpoint) => {
                Instance::set_status(&mut conn, id, InstanceStatus::Running, None, Some(&endpoint.address)).await
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "provisioning failed");
                Instance::set_status(&mut conn, id, InstanceStatus::Failed, Some(&e.public_message()), None).await
            }
        };
        // The row may have been deleted (or be being deleted) meanwhile, or the update failed: then stop what
        // was started.
        if result.is_ok() && !matches!(update, Ok(Some(_))) {
            let _ = self.provisioner.delete(target).await;
        }
    }

    async fn tear_down(&self, id: Uuid) {
        let organization_id = match self.pool.get().await {
            Ok(mut conn) => Instance::find(&mut conn, id).await.ok().flatten().map(|i| i.organization_id),
            Err(_) => None,
        };
        let Some(organization_id) = organization_id else {
            tracing::error!(%id, "cannot delete: the instance's row is unreadable");
            return;
        };
        if let Err(e) = self.provisioner.delete(Target { id, organization_id }).await {
            tracing::error!(%id, error = %e, "deleting the instance's server failed");
            if let Ok(mut conn) = self.pool.get().await {
                let _ =
                    Instance::set_status(&mut conn, id, InstanceStatus::Failed, Some(&e.public_message()), None).await;
            }
            return;
        }
        if let Ok(mut conn) = self.pool.get().await {
            let _ = Instance::delete(&mut conn, id).await;
        }
    }
}
