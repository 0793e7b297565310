//! The web console over plain HTTP: the session cookie's flags, the security headers, CSRF and cross-site
//! refusals, tokens shown once, and a logout that ends the session on the server. (`browser.rs` drives the
//! same pages in Chromium.)

use std::time::Duration;

use redisgate_test_support::TestPlatform;
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;

use super::{data, eventually};

/// A client that does not follow redirects (their targets are asserted).
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// POSTs a form as a same-origin browser would.
async fn form(platform: &TestPlatform, path: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> reqwest::Response {
    let body: String = pairs
        .iter()
        .map(|(k, v)| {
            format!("{k}={}", v.replace('%', "%25").replace('&', "%26").replace('+', "%2B").replace(' ', "+"))
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut request = client()
        .post(format!("{}{path}", platform.url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, platform.url())
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn get(platform: &TestPlatform, path: &str, cookie: &str) -> reqwest::Response {
    client().get(format!("{}{path}", platform.url())).header(COOKIE, cookie).send().await.unwrap()
}

/// `rg_session=…` from a response's `Set-Cookie`.
fn session_cookie(headers: &HeaderMap) -> String {
    let set = headers[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// The value of the hidden `csrf` input on a page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

/// The text of the element with `id`.
fn text_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    html[at..].split_once('>').unwrap().1.split('<').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_guards_its_session_and_shows_tokens_once() {
    let platform = TestPlatform::start().await;
    // A browser asking for / is sent to the console; the console sends it to the login page.
    let root = client().get(platform.url()).header("accept", "text/html").send().await.unwrap();
    assert_eq!((root.status().as_u16(), root.headers()[LOCATION].to_str().unwrap()), (303, "/console/"));
    let index = client().get(format!("{}/console/", platform.url())).send().await.unwrap();
    assert_eq!(index.headers()[LOCATION], "/console/login");

    // Sign up: the session cookie is HttpOnly, SameSite=Strict and scoped to the console.
    let weak = form(&platform, "/console/signup", None, &[("email", "ada@example.com"), ("password", "short")]).await;
    assert_eq!(weak.status(), 422);
    assert!(weak.text().await.unwrap().contains("field-password-error"), "the error sits next to its field");
    let signed =
        form(&platform, "/console/signup", None, &[("email", "ada@example.com"), ("password", "correct horse 1")])
            .await;
    assert_eq!((signed.status().as_u16(), signed.headers()[LOCATION].to_str().unwrap()), (303, "/console/orgs"));
    let set = signed.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(flag), "{flag} missing from {set}");
    }
    let cookie = session_cookie(signed.headers());

    let orgs = get(&platform, "/console/orgs", &cookie).await;
    assert_eq!(orgs.status(), 200);
    let policy = orgs.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(orgs.headers()["x-frame-options"], "DENY");
    let token = csrf(&orgs.text().await.unwrap());

    // A change needs the session's CSRF token, and comes from the console's own origin.
    let forged =
        form(&platform, "/console/orgs", Some(&cookie), &[("csrf", "0"), ("name", "x"), ("slug", "forged")]).await;
    assert_eq!(forged.status(), 403);
    let cross = client()
        .post(format!("{}/console/orgs", platform.url()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, "https://evil.example")
        .header(COOKIE, &cookie)
        .body(format!("csrf={token}&name=x&slug=cross"))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403, "a cross-site form is refused even with the right token");
    let fetched = client()
        .post(format!("{}/console/orgs", platform.url()))
        .header("sec-fetch-site", "cross-site")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(COOKIE, &cookie)
        .body(format!("csrf={token}&name=x&slug=fetched"))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 403);
    let listed = get(&platform, "/console/orgs", &cookie).await.text().await.unwrap();
    assert!(!listed.contains("forged") && !listed.contains("cross") && !listed.contains("fetched"), "{listed}");

    let created =
        form(&platform, "/console/orgs", Some(&cookie), &[("csrf", &token), ("name", "Acme"), ("slug", "acme")]).await;
    assert_eq!(created.status(), 303);
    let instances = created.headers()[LOCATION].to_str().unwrap().to_owned();
    let made = form(
        &platform,
        &instances,
        Some(&cookie),
        &[("csrf", &token), ("name", "console-db"), ("memory_mib", "16"), ("replicas", "0")],
    )
    .await;
    assert_eq!(made.status(), 201);
    let page = made.text().await.unwrap();
    let first = text_of(&page, "token");
    assert!(first.starts_with("rgt_"), "{first}");
    assert!(text_of(&page, "snippet").contains("@upstash/redis"));
    let running = eventually(Duration::from_secs(15), || async {
        data(&platform, "console-db", &first, "/set/k/v").await.0 == 200
    })
    .await;
    assert!(running, "the token shown works on the data plane");

    // Shown once: the instance's page carries no token; a rotation shows new ones and the old one stops.
    let listed = get(&platform, &instances, &cookie).await.text().await.unwrap();
    assert!(listed.contains("Commands today") && listed.contains("console-db"), "{listed}");
    let link = listed
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.contains("/instances/"))
        .unwrap()
        .to_owned();
    let shown = get(&platform, &link, &cookie).await.text().await.unwrap();
    assert!(!shown.contains(&first) && !shown.contains("id=\"token\""));
    let rotated = form(&platform, &format!("{link}/rotate"), Some(&cookie), &[("csrf", &token)]).await;
    assert_eq!(rotated.status(), 200);
    let second = text_of(&rotated.text().await.unwrap(), "token");
    assert_ne!(second, first);
    let revoked =
        eventually(Duration::from_secs(5), || async { data(&platform, "console-db", &first, "/get/k").await.0 == 401 })
            .await;
    assert!(revoked, "the old token still works");

    // Logging out ends the session on the server: the same cookie no longer opens a page.
    let out = form(&platform, "/console/logout", Some(&cookie), &[("csrf", &token)]).await;
    assert_eq!(out.headers()[LOCATION], "/console/login");
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let after = get(&platform, "/console/orgs", &cookie).await;
    assert_eq!((after.status().as_u16(), after.headers()[LOCATION].to_str().unwrap()), (303, "/console/login"));
}

/// Logs in through the console; returns the session cookie and the CSRF token of its pages.
async fn console_login(platform: &TestPlatform, email: &str) -> (String, String) {
    let done = form(platform, "/console/login", None, &[("email", email), ("password", "correct horse 1")]).await;
    assert_eq!(done.status(), 303, "{email} could not log in");
    let cookie = session_cookie(done.headers());
    let token = csrf(&get(platform, "/console/orgs", &cookie).await.text().await.unwrap());
    (cookie, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_audit_settings_and_delete_follow_the_roles_of_the_api() {
    let platform = TestPlatform::start().await;
    let owner = platform.user("owner@example.com").await;
    let org = platform.organization(&owner, "roles").await;
    let created = platform.running_instance(&owner, &org, "roles-db").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let member = platform.user("member@example.com").await;
    platform.join(&owner, &org, &member, "member@example.com", "member").await;
    let base = format!("/console/orgs/{org}");

    let (cookie, token) = console_login(&platform, "owner@example.com").await;
    // An API key: the secret shown once works on the API, and stops when revoked.
    let made = form(
        &platform,
        &format!("{base}/keys"),
        Some(&cookie),
        &[("csrf", &token), ("name", "ci"), ("scope", "instances:manage"), ("scope", "data:read"), ("instance", &id)],
    )
    .await;
    assert_eq!(made.status(), 201);
    let page = made.text().await.unwrap();
    let secret = text_of(&page, "key-secret");
    assert!(secret.starts_with("rgk_"), "{secret}");
    let (status, _) =
        platform.api("GET", &format!("/api/organizations/{org}/redis-instances"), Some(&secret), None).await;
    assert_eq!(status, 200);
    let listed = get(&platform, &format!("{base}/keys"), &cookie).await.text().await.unwrap();
    assert!(!listed.contains(&secret), "a key's secret is shown once");
    // A key with limits of its own: kept by the API; a bad limit is named next to its field.
    let limited =
        [("csrf", token.as_str()), ("name", "slow"), ("scope", "data:read"), ("max_requests_per_second", "2")];
    assert_eq!(form(&platform, &format!("{base}/keys"), Some(&cookie), &limited).await.status(), 201);
    let (_, keys) = platform.api("GET", &format!("/api/organizations/{org}/api-keys"), Some(&owner), None).await;
    let slow = keys["items"].as_array().unwrap().iter().find(|k| k["name"] == "slow").unwrap().clone();
    assert_eq!(slow["limits"], serde_json::json!({"max_requests_per_second": 2}));
    let bad = [("csrf", token.as_str()), ("name", "bad"), ("scope", "data:read"), ("max_key_size", "-1")];
    let refused = form(&platform, &format!("{base}/keys"), Some(&cookie), &bad).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("id=\"field-max_key_size-error\""), "no error next to the field");
    assert!(listed.contains("<td>roles-db</td>"), "the key is limited to the instance chosen: {listed}");
    let revoke = listed
        .split("action=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|a| a.ends_with("/revoke"))
        .unwrap()
        .to_owned();
    assert_eq!(form(&platform, &revoke, Some(&cookie), &[("csrf", &token)]).await.status(), 303);
    let (status, _) =
        platform.api("GET", &format!("/api/organizations/{org}/redis-instances"), Some(&secret), None).await;
    assert_eq!(status, 401, "a revoked key still works");

    // The audit log shows what was done, the usage chart is drawn, the settings apply.
    let audit = get(&platform, &format!("{base}/audit"), &cookie).await.text().await.unwrap();
    for action in ["instance.create", "api_key.create", "api_key.revoke"] {
        assert!(audit.contains(action), "{action} missing from the audit page");
    }
    let instance = format!("{base}/instances/{id}");
    let shown = get(&platform, &instance, &cookie).await.text().await.unwrap();
    assert!(shown.contains("<svg") && shown.contains("commands in the last 7 days"), "no usage chart");
    assert!(shown.contains("<dt>Limits</dt>"), "the limits are shown");
    let settings = format!("{instance}/settings");
    let saved = [("csrf", token.as_str()), ("memory_mib", "32"), ("max_daily_requests", "5000"), ("max_key_size", "")];
    assert_eq!(form(&platform, &settings, Some(&cookie), &saved).await.status(), 303);
    let shown = get(&platform, &instance, &cookie).await.text().await.unwrap();
    assert!(shown.contains("32 MiB") && shown.contains("value=\"5000\""), "the settings were not applied");
    let (code, body) =
        platform.api("GET", &format!("/api/organizations/{org}/redis-instances/{id}"), Some(&owner), None).await;
    assert_eq!((code, body["limits"].clone()), (200, serde_json::json!({"max_daily_requests": 5000})));
    // A bad limit is named next to its field, and nothing changes.
    let bad =
        form(&platform, &settings, Some(&cookie), &[("csrf", &token), ("memory_mib", "16"), ("max_key_size", "0")])
            .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("id=\"field-max_key_size-error\""), "no error next to the field");
    assert!(
        get(&platform, &instance, &cookie).await.text().await.unwrap().contains("32 MiB"),
        "a refused form changed the size"
    );

    // A member sees the instances, but may not delete one nor see the keys: the API's roles hold.
    let (member_cookie, member_token) = console_login(&platform, "member@example.com").await;
    assert_eq!(get(&platform, &instance, &member_cookie).await.status(), 200);
    assert_eq!(get(&platform, &format!("{base}/keys"), &member_cookie).await.status(), 403);
    let refused = form(
        &platform,
        &format!("{instance}/delete"),
        Some(&member_cookie),
        &[("csrf", &member_token), ("confirm", "roles-db")],
    )
    .await;
    assert_eq!(refused.status(), 403);
    let rotate = form(&platform, &format!("{instance}/rotate"), Some(&member_cookie), &[("csrf", &member_token)]).await;
    assert_eq!(rotate.status(), 403);
    let member_settings = [("csrf", member_token.as_str()), ("memory_mib", "64")];
    assert_eq!(form(&platform, &settings, Some(&member_cookie), &member_settings).await.status(), 403);

    // The data page's token: only with the session's CSRF header; read-only for a member, full for an owner;
    // a rotation ends it with the instance's other tokens.
    let data_token = |cookie: String, csrf: Option<String>| {
        let mut request = client()
            .post(format!("{}{instance}/data-token", platform.url()))
            .header(ORIGIN, platform.url())
            .header(COOKIE, cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        async move { request.send().await.unwrap() }
    };
    assert_eq!(data_token(cookie.clone(), None).await.status(), 403);
    let read =
        data_token(member_cookie.clone(), Some(member_token.clone())).await.json::<serde_json::Value>().await.unwrap();
    let read = read["token"].as_str().unwrap().to_owned();
    // A new token works once the gateway's directory has it (it reloads on the change, within a second).
    let works = |token: String| {
        let platform = &platform;
        async move {
            eventually(Duration::from_secs(2), || async { data(platform, "roles-db", &token, "/get/k").await.0 == 200 })
                .await
        }
    };
    assert!(works(read.clone()).await, "a member's data token does not read");
    assert_eq!(data(&platform, "roles-db", &read, "/set/k/v").await.0, 400, "a member's token writes");
    let full = data_token(cookie.clone(), Some(token.clone())).await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(full["url"], "/db/roles-db");
    let full = full["token"].as_str().unwrap().to_owned();
    assert!(works(full.clone()).await, "an owner's data token does not work");
    assert_eq!(data(&platform, "roles-db", &full, "/set/k/v").await.0, 200);
    assert_eq!(form(&platform, &format!("{instance}/rotate"), Some(&cookie), &[("csrf", &token)]).await.status(), 200);
    let ended =
        eventually(Duration::from_secs(5), || async { data(&platform, "roles-db", &full, "/get/k").await.0 == 401 })
            .await;
    assert!(ended, "the console's token outlived a rotation");
    // The next console token deletes the tokens that have stopped working (rotated ones, earlier pages').
    data_token(cookie.clone(), Some(token.clone())).await.error_for_status().unwrap();
    let ended_rows = {
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
        use redisgate_core::store::schema::instance_tokens::dsl::{instance_tokens, revoked_at};
        let mut conn = diesel_async::AsyncPgConnection::establish(platform.database().url()).await.unwrap();
        let ended = instance_tokens.filter(revoked_at.le(diesel::dsl::now));
        ended.count().get_result::<i64>(&mut conn).await.unwrap()
    };
    assert_eq!(ended_rows, 0, "ended tokens are kept");

    // Deleting asks for the name; the wrong one deletes nothing.
    let wrong =
        form(&platform, &format!("{instance}/delete"), Some(&cookie), &[("csrf", &token), ("confirm", "other")]).await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(platform.wait_status(&owner, &org, &id, "running").await, "running");
    let deleted =
        form(&platform, &format!("{instance}/delete"), Some(&cookie), &[("csrf", &token), ("confirm", "roles-db")])
            .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(platform.wait_status(&owner, &org, &id, "gone").await, "gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_invited_promoted_and_removed_in_the_console() {
    let platform = TestPlatform::start().await;
    let owner = platform.user("boss@example.com").await;
    let org = platform.organization(&owner, "team").await;
    platform.user("newcomer@example.com").await;
    let (cookie, token) = console_login(&platform, "boss@example.com").await;
    let members = format!("/console/orgs/{org}/members");

    let invited = form(
        &platform,
        &members,
        Some(&cookie),
        &[("csrf", &token), ("email", "newcomer@example.com"), ("role", "member")],
    )
    .await;
    assert_eq!(invited.status(), 201);
    let code = text_of(&invited.text().await.unwrap(), "invitation-code");
    assert!(!get(&platform, &members, &cookie).await.text().await.unwrap().contains(&code), "a code is shown once");

    let (their_cookie, their_token) = console_login(&platform, "newcomer@example.com").await;
    let wrong =
        form(&platform, "/console/invitations", Some(&their_cookie), &[("csrf", &their_token), ("code", "nope")]).await;
    assert!(wrong.status().is_client_error());
    let joined =
        form(&platform, "/console/invitations", Some(&their_cookie), &[("csrf", &their_token), ("code", &code)]).await;
    assert_eq!(joined.status(), 303);
    let keys = format!("/console/orgs/{org}/keys");
    assert_eq!(get(&platform, &keys, &their_cookie).await.status(), 403, "a member does not see the keys");

    // Promoted to admin, they do; removed, they see nothing of the organization.
    let listed = get(&platform, &members, &cookie).await.text().await.unwrap();
    // The newcomer's row: the first role form after their email.
    let row = &listed[listed.find("newcomer@example.com").unwrap()..];
    let role_form = row.split("action=\"").nth(1).unwrap().split('"').next().unwrap();
    let newcomer = role_form.split('/').nth(5).unwrap().to_owned();
    let promote = format!("/console/orgs/{org}/members/{newcomer}/role");
    assert_eq!(form(&platform, &promote, Some(&cookie), &[("csrf", &token), ("role", "admin")]).await.status(), 303);
    assert_eq!(get(&platform, &keys, &their_cookie).await.status(), 200);
    let remove = format!("/console/orgs/{org}/members/{newcomer}/remove");
    assert_eq!(form(&platform, &remove, Some(&cookie), &[("csrf", &token)]).await.status(), 303);
    assert_eq!(get(&platform, &format!("/console/orgs/{org}/instances"), &their_cookie).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_is_created_in_the_console_and_shown_shard_by_shard() {
    let platform = TestPlatform::start().await;
    let owner = platform.user("shards@example.com").await;
    let org = platform.organization(&owner, "console-shards").await;
    let (cookie, token) = console_login(&platform, "shards@example.com").await;
    let made = form(
        &platform,
        &format!("/console/orgs/{org}/instances"),
        Some(&cookie),
        &[("csrf", &token), ("name", "console-cluster"), ("memory_mib", "16"), ("replicas", "0"), ("shards", "3")],
    )
    .await;
    assert_eq!(made.status(), 201);
    let page = made.text().await.unwrap();
    assert!(page.contains("cluster: 3 shards"), "{page}");
    let secret = text_of(&page, "token");
    let running = eventually(Duration::from_secs(30), || async {
        data(&platform, "console-cluster", &secret, "/set/k/v").await.0 == 200
    })
    .await;
    assert!(running, "the cluster serves");
    let (_, listed) =
        platform.api("GET", &format!("/api/organizations/{org}/redis-instances"), Some(&owner), None).await;
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let shown = get(&platform, &format!("/console/orgs/{org}/instances/{id}"), &cookie).await.text().await.unwrap();
    for slots in ["0 0-5460", "1 5461-10921", "2 10922-16383"] {
        assert!(shown.contains(slots), "the nodes table shows shard and slots {slots}: {shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_are_taken_listed_downloaded_and_restored_in_the_console() {
    use redis::AsyncCommands as _;
    let platform = TestPlatform::start().await;
    let owner = platform.user("keeper@example.com").await;
    let org = platform.organization(&owner, "keeper").await;
    let created = platform.running_instance(&owner, &org, "kept-db").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    platform.admin_connection(&id).await.set::<_, _, ()>("k", "before").await.unwrap();
    let (cookie, token) = console_login(&platform, "keeper@example.com").await;
    let base = format!("/console/orgs/{org}/instances/{id}");
    let backups = format!("{base}/backups");
    assert!(get(&platform, &base, &cookie).await.text().await.unwrap().contains(&format!("href=\"{backups}\"")));
    assert!(get(&platform, &backups, &cookie).await.text().await.unwrap().contains("No backups yet."));

    let taken = form(&platform, &backups, Some(&cookie), &[("csrf", &token)]).await;
    assert_eq!((taken.status().as_u16(), taken.headers()[LOCATION].to_str().unwrap()), (303, backups.as_str()));
    let api = format!("/api/organizations/{org}/redis-instances/{id}/backups");
    let done = eventually(Duration::from_secs(10), || async {
        platform.api("GET", &api, Some(&owner), None).await.1["items"][0]["state"] == "done"
    });
    assert!(done.await, "the backup did not finish");
    let (_, list) = platform.api("GET", &api, Some(&owner), None).await;
    let backup = list["items"][0]["id"].as_str().unwrap().to_owned();
    let shown = get(&platform, &backups, &cookie).await.text().await.unwrap();
    assert!(shown.contains(&backup) && shown.contains("Download"), "{shown}");
    let file = get(&platform, &format!("{backups}/{backup}/rdb"), &cookie).await;
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"REDIS"));

    platform.admin_connection(&id).await.set::<_, _, ()>("k", "after").await.unwrap();
    let restore = format!("{backups}/restore");
    let wrong = [("csrf", token.as_str()), ("backup_id", backup.as_str()), ("confirm", "other")];
    let refused = form(&platform, &restore, Some(&cookie), &wrong).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("nothing was restored"));
    assert_eq!(platform.admin_connection(&id).await.get::<_, String>("k").await.unwrap(), "after");
    let right = [("csrf", token.as_str()), ("backup_id", backup.as_str()), ("confirm", "kept-db")];
    let restored = form(&platform, &restore, Some(&cookie), &right).await;
    assert_eq!(restored.status(), 200);
    assert_eq!(text_of(&restored.text().await.unwrap(), "backup-notice"), "Restored: 1 key.");
    assert_eq!(platform.admin_connection(&id).await.get::<_, String>("k").await.unwrap(), "before");

    // A member sees the list but may not take one.
    let member = platform.user("looker@example.com").await;
    platform.join(&owner, &org, &member, "looker@example.com", "member").await;
    let (member_cookie, member_token) = console_login(&platform, "looker@example.com").await;
    assert_eq!(get(&platform, &backups, &member_cookie).await.status(), 200);
    assert_eq!(form(&platform, &backups, Some(&member_cookie), &[("csrf", &member_token)]).await.status(), 403);
}
