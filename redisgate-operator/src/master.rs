//! Which node a replicated instance's Sentinels call the master, for the resource's `.status.master`.

use std::time::Duration;

use redis::IntoConnectionInfo as _;
use redisgate_core::provisioning::acl::ADMIN_USER;

use crate::tls_reload::{self, OperatorTls, Server};

/// How long the question may take (an unreachable Sentinel must not hold up a reconcile).
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// `host:port` of master `name` as the Sentinel `sentinel` names it, asked as the admin user
/// (`admin_password`), over TLS with `tls` for a TLS instance; `None` when it does not answer in time or
/// names none.
pub async fn named(sentinel: &Server, name: &str, admin_password: &str, tls: Option<&OperatorTls>) -> Option<String> {
    let login = redis::RedisConnectionInfo::default().set_username(ADMIN_USER).set_password(admin_password);
    let ask = async {
        let mut connection = match tls {
            Some(tls) => tls_reload::login(sentinel, tls, login).await.ok()?,
            None => {
                let (host, port) = sentinel.dial.rsplit_once(':')?;
                let address = redis::ConnectionAddr::Tcp(host.to_owned(), port.parse().ok()?);
                let info = address.into_connection_info().ok()?.set_redis_settings(login);
                redis::Client::open(info).ok()?.get_multiplexed_async_connection().await.ok()?
            }
        };
        let answer: Option<(String, u16)> =
            redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg(name).query_async(&mut connection).await.ok()?;
        answer.map(|(host, port)| format!("{host}:{port}"))
    };
    tokio::time::timeout(ASK_TIMEOUT, ask).await.ok().flatten()
}
