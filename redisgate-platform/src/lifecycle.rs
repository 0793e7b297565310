//! Instance state transitions: pending → provisioning → running, or failed; deleting → gone.
//!
//! Work runs as tasks on the platform's runtime (where the provisioner lives), so an API request only
//! records the intent and returns. A failed provisioning leaves a `failed` row and nothing running; a
//! restarted platform resumes every instance from its recorded state.

use std::sync::Arc;

use redisgate_core::provisioning::Target;
use redisgate_core::store::Instance;
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
}

impl Lifecycle {
    /// A lifecycle whose tasks run on the current runtime, using `pool` (which must belong to it).
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(pool: Pool, provisioner: Arc<dyn Provisioner>) -> Self {
        Self { pool, provisioner, handle: Handle::current() }
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
                match instance.status.as_str() {
                    "running" | "provisioning" => this.bring_up(instance.id, true).await,
                    "pending" => this.bring_up(instance.id, false).await,
                    "deleting" => this.tear_down(instance.id).await,
                    _ => {}
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    }

    async fn bring_up(&self, id: Uuid, adopt: bool) {
        let Ok(mut conn) = self.pool.get().await else {
            tracing::error!(%id, "cannot provision: database unavailable");
            return;
        };
        let Ok(Some(instance)) = Instance::find(&mut conn, id).await else {
            return;
        };
        let (target, spec) = (instance.target(), instance.spec());
        if !adopt || instance.status == "failed" {
            let _ = Instance::set_status(&mut conn, id, "provisioning", None, None).await;
        }
        let result = if adopt {
            // A data directory that is gone (or never was) is provisioned afresh.
            match self.provisioner.adopt(target, spec.clone()).await {
                Ok(endpoint) => Ok(endpoint),
                Err(e) if instance.status == "provisioning" || instance.status == "failed" => {
                    tracing::info!(%id, error = %e, "nothing to adopt; provisioning afresh");
                    let _ = self.provisioner.delete(target).await;
                    self.provisioner.create(target, spec).await
                }
                Err(e) => Err(e),
            }
        } else {
            self.provisioner.create(target, spec).await
        };
        redisgate_gateway::metrics::METRICS.provisioned(if result.is_ok() { "running" } else { "failed" });
        let update = match &result {
            Ok(endpoint) => Instance::set_status(&mut conn, id, "running", None, Some(&endpoint.address)).await,
            Err(e) => {
                tracing::warn!(%id, error = %e, "provisioning failed");
                Instance::set_status(&mut conn, id, "failed", Some(e), None).await
            }
        };
        // The row may have been deleted meanwhile (or the update failed): then stop what was started.
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
                let _ = Instance::set_status(&mut conn, id, "failed", Some(&e), None).await;
            }
            return;
        }
        if let Ok(mut conn) = self.pool.get().await {
            let _ = Instance::delete(&mut conn, id).await;
        }
    }
}
