//! The multi-instance config file: what is accepted, and what stops the process at start.

use redisgate_gateway::config::DirectoryConfig;
use redisgate_gateway::directory::Directory;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::upstream::UpstreamOptions;

fn load(text: &str) -> Result<Box<dyn Directory>, String> {
    DirectoryConfig::from_toml(text, &UpstreamOptions::default())
        .and_then(|config| config.build(&Meters::default()))
        .map(|d| Box::new(d) as Box<dyn Directory>)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_valid_file_serves_every_instance() {
    let directory = load(
        r#"
        domain = "redis.example.com"
        [[instance]]
        name = "cache"
        redis_url = "redis://127.0.0.1:6379"
        token = "t1"
        readonly_token = "r1"
        [[instance]]
        name = "queue-2"
        redis_url = "redis://127.0.0.1:6380/1"
        token = "t2"
        "#,
    )
    .unwrap();
    assert_eq!(directory.get("cache").unwrap().name(), "cache");
    assert!(directory.get("queue-2").is_some());
    assert!(directory.default_instance().is_none(), "with several instances a request must name one");
    assert_eq!(directory.domain(), Some("redis.example.com"));
    let cache = directory.get("cache").unwrap();
    assert!(cache.authorize(b"t1").is_some() && cache.authorize(b"r1").is_some());
    assert!(cache.authorize(b"t2").is_none());
}

#[tokio::test]
async fn invalid_files_are_refused_with_the_reason() {
    let instance = |name: &str, url: &str, token: &str| {
        format!("[[instance]]\nname = \"{name}\"\nredis_url = \"{url}\"\ntoken = \"{token}\"\n")
    };
    let ok = "redis://127.0.0.1:6379";
    for (text, reason) in [
        (String::new(), "declares no [[instance]]"),
        ("[[instance]]\nname = \"a\"\n".to_owned(), "invalid config file"),
        (format!("{}bogus = 1\n", instance("a", ok, "t")), "unknown field"),
        (instance("Bad_Name", ok, "t"), "must be 1-63 characters"),
        (instance("a", "http://nope", "t"), "invalid Redis URL"),
        (instance("a", ok, ""), "tokens must be non-empty"),
        (instance("a", ok, "t") + &instance("a", ok, "u"), "declared twice"),
        (instance("a", ok, "t") + &instance("b", ok, "t"), "reuses a token"),
    ] {
        let error = load(&text).err().unwrap_or_else(|| panic!("accepted: {text}"));
        assert!(error.contains(reason), "{error:?} should mention {reason:?}");
    }
}
