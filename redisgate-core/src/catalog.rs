//! What a gateway serves, as plain data: each instance's name, its Redis URL (password included), the
//! digests of the tokens that open it with what each may do, and its limits. A directory fed from outside
//! the gateway (the Kubernetes one: `redisgate_operator::catalog`) hands the gateway a new [`Catalog`] on
//! every change, and the gateway rebuilds its snapshot from it.

use crate::auth::TokenHash;
use crate::limits::Limits;
use crate::protocol::Access;
use crate::provisioning::ClientTls;

/// Every instance a gateway serves.
pub type Catalog = Vec<Entry>;

/// One instance a gateway serves.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name requests address it by (`<name>.<domain>` or `/db/<name>`).
    pub name: String,
    /// Its Redis (`redis://`, `redis+sentinel://`, `redis+cluster://`), with the gateway user's password.
    pub url: String,
    /// The digests of the tokens that open it, and what each may do.
    pub credentials: Vec<(TokenHash, Access)>,
    /// What the gateway enforces for it.
    pub limits: Limits,
    /// The TLS material of its connection, when it has its own.
    pub tls: Option<ClientTls>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("tokens", &self.credentials.len())
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}
