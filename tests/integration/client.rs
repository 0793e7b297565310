//! `redisgate-client`'s management client against the real platform (PostgreSQL, local provisioner, gateway).
//! Here rather than in the client's own tests, which then compile neither diesel nor the platform.

use std::num::{NonZeroU32, NonZeroU64};
use std::time::Duration;

use redisgate_client::management::{InstanceStatus, Limits, Management, NewApiKey, NewInstance, Scope};
use redisgate_client::{Client, Error};
use redisgate_test_support::{eventually, TestPlatform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_to_delete_through_the_client() {
    let platform = TestPlatform::start().await;
    let api = Management::new(platform.url()).unwrap();
    let user = api.register("ada@example.com", "correct horse 1").await.unwrap();
    assert_eq!(user.email, "ada@example.com");
    assert!(
        matches!(api.register("bad", "x").await, Err(Error::Validation { fields }) if fields.contains_key("email"))
    );
    assert!(matches!(api.login("ada@example.com", "wrong horse 1").await, Err(Error::Auth(_))));
    assert!(matches!(api.organizations().await, Err(Error::Auth(_))), "no session yet");
    let api = api.login("ada@example.com", "correct horse 1").await.unwrap();
    assert_eq!(api.me().await.unwrap().user.unwrap().email, "ada@example.com");

    let org = api.create_organization("Acme", "acme").await.unwrap();
    assert!(matches!(api.create_organization("Again", "acme").await, Err(Error::Http { status: 409, .. })));
    assert_eq!(api.organizations().await.unwrap().len(), 1);
    let created = api.create_instance(org.id, &NewInstance::new("client-db", 16 << 20, "7.2")).await.unwrap();
    let running = api.wait_until_running(org.id, created.instance.id, Duration::from_secs(15)).await.unwrap();
    assert_eq!(running.status, InstanceStatus::Running);
    assert_eq!(api.instances(org.id).await.unwrap().len(), 1);
    let credentials = api.credentials(org.id, created.instance.id).await.unwrap();
    assert_eq!(credentials.tokens.len(), 2);

    let redis = Client::new(&credentials.rest_url_path, &created.credentials.token).unwrap();
    redis.set::<()>("k", "v").await.unwrap();
    let rotated = api.rotate(org.id, created.instance.id).await.unwrap();
    let fresh = Client::new(&rotated.rest_url_path, &rotated.token).unwrap();
    assert_eq!(fresh.get::<String>("k").await.unwrap(), "v");

    let key = api.create_api_key(org.id, "ci", &[Scope::DataRead], Some(created.instance.id)).await.unwrap();
    assert!(key.secret.starts_with("rgk_"));
    let listed = api.api_keys(org.id).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&key.key), "a listed key is the created one without its secret");
    api.revoke_api_key(org.id, key.key.id).await.unwrap();
    assert!(matches!(api.revoke_api_key(org.id, key.key.id).await, Err(Error::Http { status: 404, .. })));

    let deleting = api.delete_instance(org.id, created.instance.id).await.unwrap();
    assert_eq!(deleting.status, InstanceStatus::Deleting);
    let gone = eventually(Duration::from_secs(10), || async {
        matches!(api.instance(org.id, created.instance.id).await, Err(Error::Http { status: 404, .. }))
    });
    assert!(gone.await, "the deleted instance is still there");
    api.delete_organization(org.id).await.unwrap();
    assert!(api.organizations().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_usage_through_the_client() {
    let platform = TestPlatform::start().await;
    let api = Management::new(platform.url()).unwrap();
    api.register("lim@example.com", "correct horse 1").await.unwrap();
    let api = api.login("lim@example.com", "correct horse 1").await.unwrap();
    let org = api.create_organization("Limited", "limited").await.unwrap();
    let limits = Limits {
        max_requests_per_second: NonZeroU32::new(1000),
        max_key_size: NonZeroU64::new(1024),
        ..Limits::default()
    };
    let created = api
        .create_instance(org.id, &NewInstance::new("limited-db", 16 << 20, "7.2").with_limits(limits))
        .await
        .unwrap();
    assert_eq!(created.instance.limits, limits);
    let running = api.wait_until_running(org.id, created.instance.id, Duration::from_secs(15)).await.unwrap();
    assert_eq!(running.limits, limits);

    let redis = Client::new(&created.credentials.rest_url_path, &created.credentials.token).unwrap();
    redis.set::<()>("k", "v").await.unwrap();
    let (_, _): (i64, i64) = redis.pipeline().incr("n", 1).incr("n", 1).query().await.unwrap();
    let sent = 3;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let usage = loop {
        let usage = api.usage(org.id, created.instance.id, 7).await.unwrap();
        if usage.total >= sent {
            break usage;
        }
        assert!(tokio::time::Instant::now() < deadline, "usage never reached {sent}: {usage:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(usage.instance_id, created.instance.id);
    assert_eq!(usage.days.len(), 7);
    assert_eq!(usage.days.iter().map(|d| d.commands).sum::<u64>(), usage.total);
    assert!(matches!(
        api.usage(org.id, created.instance.id, 0).await,
        Err(Error::Validation { .. } | Error::Http { .. })
    ));

    let replaced = Limits { max_daily_requests: NonZeroU64::new(10_000), ..Limits::default() };
    let changed = api.set_instance_limits(org.id, created.instance.id, &replaced).await.unwrap();
    assert_eq!(changed.limits, replaced, "a PATCH replaces the limits entirely");
    let cleared = api.set_instance_limits(org.id, created.instance.id, &Limits::unlimited()).await.unwrap();
    assert!(cleared.limits.is_unlimited());
    assert!(api.instance(org.id, created.instance.id).await.unwrap().limits.is_unlimited());

    let key_limits = Limits { max_concurrent_connections: NonZeroU32::new(4), ..Limits::default() };
    let key = NewApiKey::new("slow", [Scope::DataRead]).for_instance(created.instance.id).with_limits(key_limits);
    let key = api.create_api_key_with(org.id, &key).await.unwrap();
    assert_eq!(key.key.limits, key_limits);
    assert_eq!(api.api_keys(org.id).await.unwrap()[0].limits, key_limits);
    let daily = NewApiKey::new("daily", [Scope::DataRead]).with_limits(replaced);
    assert!(matches!(api.create_api_key_with(org.id, &daily).await, Err(Error::Validation { .. })));
}
