//! The data-plane client in a few lines. Point it at any instance:
//!
//! ```text
//! REDISGATE_REST_URL=http://127.0.0.1:8080/db/my-redis REDISGATE_REST_TOKEN=rgt_... \
//!     cargo run -p redisgate-client --example basic
//! ```

use futures_util::StreamExt as _;
use redisgate_client::Client;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis = Client::from_env()?;
    redis.set::<()>("greeting", "hello").await?;
    let greeting: String = redis.get("greeting").await?;
    println!("greeting = {greeting}");

    let (visits, _): (i64, ()) = redis.transaction().incr("visits", 1).expire("visits", 3600).query().await?;
    println!("visits = {visits}");

    let mut news = redis.subscribe("news").await?;
    redis.publish::<i64>("news", "RedisGate speaks Rust").await?;
    if let Some(message) = news.next().await {
        let message = message?;
        println!("{}: {}", message.channel, message.payload);
    }
    Ok(())
}
