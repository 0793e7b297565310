//! Accounts an unkind user cannot bend (issue 18, items 6, 8 and 9): sessions end on logout and password
//! change, guessable passwords are refused, nobody is added to an organization without consent, API keys
//! expire and leave with the member who made them, the audit log is readable, the last owner stays.

use std::time::Duration;

use redisgate_test_support::TestPlatform;
use serde_json::{json, Value};

use super::{data, eventually};

async fn login(platform: &TestPlatform, email: &str, password: &str) -> (u16, Value) {
    platform.api("POST", "/api/auth/login", None, Some(json!({"email": email, "password": password}))).await
}

async fn me(platform: &TestPlatform, token: &str) -> u16 {
    platform.api("GET", "/api/me", Some(token), None).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_and_a_password_change_end_every_session() {
    let platform = TestPlatform::start().await;
    let laptop = platform.user("ada@example.com").await;
    let phone = login(&platform, "ada@example.com", "correct horse 1").await.1["token"].as_str().unwrap().to_owned();
    assert_eq!((me(&platform, &laptop).await, me(&platform, &phone).await), (200, 200));

    // Logging out on one device ends the other's session too.
    assert_eq!(platform.api("POST", "/api/auth/logout", Some(&phone), None).await.0, 204);
    assert_eq!((me(&platform, &laptop).await, me(&platform, &phone).await), (401, 401));

    // A password change needs the current password and a strong new one, and answers a new session.
    let session = login(&platform, "ada@example.com", "correct horse 1").await.1["token"].as_str().unwrap().to_owned();
    let other = login(&platform, "ada@example.com", "correct horse 1").await.1["token"].as_str().unwrap().to_owned();
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, reply) =
        platform.api("POST", "/api/auth/password", Some(&session), Some(change("wrong horse 1", "x"))).await;
    assert_eq!(status, 422, "the new password is checked first: {reply}");
    let strong = "plum orchard vinyl 7";
    let (status, reply) =
        platform.api("POST", "/api/auth/password", Some(&session), Some(change("wrong horse 1", strong))).await;
    assert_eq!((status, reply["error"].as_str()), (401, Some("the current password is wrong")), "{reply}");
    let (status, renewed) =
        platform.api("POST", "/api/auth/password", Some(&session), Some(change("correct horse 1", strong))).await;
    assert_eq!(status, 200, "{renewed}");
    let renewed = renewed["token"].as_str().unwrap();
    assert_eq!(
        (me(&platform, renewed).await, me(&platform, &session).await, me(&platform, &other).await),
        (200, 401, 401)
    );
    assert_eq!(login(&platform, "ada@example.com", "correct horse 1").await.0, 401);
    assert_eq!(login(&platform, "ada@example.com", strong).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessable_passwords_are_refused() {
    let platform = TestPlatform::start().await;
    for password in ["password12", "Password123!", "qwertyuiop1", "grace.hopper1906"] {
        let body = json!({"email": "grace.hopper@example.com", "password": password});
        let (status, reply) = platform.api("POST", "/api/auth/register", None, Some(body)).await;
        assert_eq!(status, 422, "{password}: {reply}");
        let problem = reply["fields"]["password"].as_str().unwrap_or_default();
        assert!(problem.contains("too easy to guess"), "{password}: {reply}");
    }
    let body = json!({"email": "grace.hopper@example.com", "password": "plum orchard vinyl 7"});
    assert_eq!(platform.api("POST", "/api/auth/register", None, Some(body)).await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_only_by_accepting_and_inviting_tells_nothing() {
    let platform = TestPlatform::start().await;
    let owner = platform.user("owner@example.com").await;
    let org = platform.organization(&owner, "consent").await;
    let bob = platform.user("bob@example.com").await;
    let mallory = platform.user("mallory@example.com").await;
    let invitations = format!("/api/organizations/{org}/invitations");

    // The answer for a registered email and for an unknown one has the same shape and status.
    let invite = |email: &str| json!({"email": email, "role": "admin"});
    let (known, for_bob) = platform.api("POST", &invitations, Some(&owner), Some(invite("bob@example.com"))).await;
    let (unknown, for_nobody) =
        platform.api("POST", &invitations, Some(&owner), Some(invite("nobody@example.com"))).await;
    assert_eq!((known, unknown), (201, 201));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&for_bob), keys(&for_nobody));
    assert!(for_bob["code"].as_str().unwrap().starts_with("rgi_"));
    // Bob is not a member until he accepts.
    let (_, members) = platform.api("GET", &format!("/api/organizations/{org}/members"), Some(&owner), None).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1);
    assert_eq!(platform.api("GET", &format!("/api/organizations/{org}"), Some(&bob), None).await.0, 404);

    // The code is Bob's alone: someone else holding it gets the answer of a code that does not exist.
    let code = json!({"code": for_bob["code"]});
    let (status, reply) = platform.api("POST", "/api/invitations/accept", Some(&mallory), Some(code.clone())).await;
    assert_eq!((status, reply["error"].as_str()), (404, Some("invitation not found")));
    let (status, joined) = platform.api("POST", "/api/invitations/accept", Some(&bob), Some(code.clone())).await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!((joined["slug"].as_str(), joined["role"].as_str()), (Some("consent"), Some("admin")));
    assert_eq!(platform.api("GET", &format!("/api/organizations/{org}"), Some(&bob), None).await.0, 200);
    // A code works once.
    assert_eq!(platform.api("POST", "/api/invitations/accept", Some(&bob), Some(code)).await.0, 404);

    // Pending invitations are listed, and a withdrawn one cannot be accepted.
    let (_, pending) = platform.api("GET", &invitations, Some(&owner), None).await;
    let pending = pending["items"].as_array().unwrap().clone();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["email"], "nobody@example.com");
    let id = pending[0]["id"].as_str().unwrap();
    assert_eq!(platform.api("DELETE", &format!("{invitations}/{id}"), Some(&owner), None).await.0, 204);
    let nobody = platform.user("nobody@example.com").await;
    let code = json!({"code": for_nobody["code"]});
    assert_eq!(platform.api("POST", "/api/invitations/accept", Some(&nobody), Some(code)).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_expire_and_leave_with_the_member_who_made_them() {
    let platform = TestPlatform::start().await;
    let owner = platform.user("owner@example.com").await;
    let org = platform.organization(&owner, "keys").await;
    platform.running_instance(&owner, &org, "keys-db").await;
    let admin = platform.user("admin@example.com").await;
    platform.join(&owner, &org, &admin, "admin@example.com", "admin").await;
    let admin_id = platform.api("GET", "/api/me", Some(&admin), None).await.1["user"]["id"].clone();
    let keys = format!("/api/organizations/{org}/api-keys");
    let key = async |token: &str, extra: Value| {
        let mut body = json!({"name": "k", "scopes": ["instances:manage", "data:write"]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (status, key) = platform.api("POST", &keys, Some(token), Some(body)).await;
        assert_eq!(status, 201, "{key}");
        key
    };

    // An expiry in the past is refused; one in the future is shown, and the key stops working after it.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let (status, reply) = platform
        .api("POST", &keys, Some(&owner), Some(json!({"name": "k", "scopes": ["data:read"], "expires_at": past})))
        .await;
    assert_eq!((status, reply["fields"]["expires_at"].as_str()), (422, Some("must be in the future")), "{reply}");
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let expiring = key(&owner, json!({"expires_at": soon.to_rfc3339()})).await;
    assert!(expiring["expires_at"].is_string(), "{expiring}");
    let expiring = expiring["secret"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "keys-db", &expiring, "/ping").await.0, 200);
    assert_eq!(me(&platform, &expiring).await, 200);
    assert!(eventually(Duration::from_secs(15), || async { me(&platform, &expiring).await == 401 }).await);
    // The data plane drops it at its next reload (at most 10 s).
    assert!(
        eventually(Duration::from_secs(15), || async { data(&platform, "keys-db", &expiring, "/ping").await.0 == 401 })
            .await
    );

    // The listing says who made a key; removing that member revokes it, and the owner's keys stay.
    let admins = key(&admin, json!({})).await;
    let owners = key(&owner, json!({})).await;
    let (_, listed) = platform.api("GET", &keys, Some(&owner), None).await;
    let made_by: Vec<&Value> = listed["items"].as_array().unwrap().iter().map(|k| &k["created_by"]).collect();
    assert!(made_by.contains(&&admin_id), "{listed}");
    let (admins, owners) = (admins["secret"].as_str().unwrap(), owners["secret"].as_str().unwrap());
    assert_eq!(data(&platform, "keys-db", admins, "/ping").await.0, 200);
    let admin_id = admin_id.as_str().unwrap();
    let removal =
        platform.api("DELETE", &format!("/api/organizations/{org}/members/{admin_id}"), Some(&owner), None).await;
    assert_eq!(removal.0, 204, "{removal:?}");
    assert_eq!(me(&platform, admins).await, 401);
    assert!(
        eventually(Duration::from_secs(2), || async { data(&platform, "keys-db", admins, "/ping").await.0 == 401 })
            .await
    );
    assert_eq!((me(&platform, owners).await, data(&platform, "keys-db", owners, "/ping").await.0), (200, 200));

    // The audit log tells what happened, newest first.
    let (status, log) = platform.api("GET", &format!("/api/organizations/{org}/audit-log"), Some(&owner), None).await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.first(), Some(&"member.remove"), "{actions:?}");
    assert_eq!(log["items"][0]["details"]["revoked_api_keys"], 1);
    for action in ["api_key.create", "member.join", "invitation.create", "instance.create", "organization.create"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_owners_removing_each_other_at_once_leave_one_owner() {
    let platform = TestPlatform::start().await;
    for round in 0..5 {
        let email = |who: &str| format!("{who}-{round}@example.com");
        let a = platform.user(&email("a")).await;
        let b = platform.user(&email("b")).await;
        let org = platform.organization(&a, &format!("owners-{round}")).await;
        platform.join(&a, &org, &b, &email("b"), "owner").await;
        let id = async |token: &str| platform.api("GET", "/api/me", Some(token), None).await.1["user"]["id"].clone();
        let (a_id, b_id) = (id(&a).await, id(&b).await);
        let platform = &platform;
        let remove = |token: &str, whom: &Value| {
            let path = format!("/api/organizations/{org}/members/{}", whom.as_str().unwrap());
            let token = token.to_owned();
            async move { platform.api("DELETE", &path, Some(&token), None).await }
        };
        let (first, second) = tokio::join!(remove(&a, &b_id), remove(&b, &a_id));
        // One removal wins; the other finds the last owner (409), or finds its caller already gone (404).
        let mut statuses = [first.0, second.0];
        statuses.sort_unstable();
        assert!(matches!(statuses, [204, 404 | 409]), "round {round}: {first:?} {second:?}");
        let survivor = if first.0 == 204 { &a } else { &b };
        let (_, members) =
            platform.api("GET", &format!("/api/organizations/{org}/members"), Some(survivor), None).await;
        let owners = members["items"].as_array().unwrap().iter().filter(|m| m["role"] == "owner").count();
        assert_eq!(owners, 1, "round {round}: {members}");
    }
}

/// A demotion revokes the keys the member made (issue 27, item 7): they cannot keep an admin's rights
/// through a key once they are a member; a promotion revokes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_members_api_keys_are_revoked() {
    let platform = TestPlatform::start().await;
    let owner = platform.user("owner@example.com").await;
    let org = platform.organization(&owner, "demote").await;
    platform.running_instance(&owner, &org, "demote-db").await;
    let admin = platform.user("admin@example.com").await;
    platform.join(&owner, &org, &admin, "admin@example.com", "member").await;
    let admin_id =
        platform.api("GET", "/api/me", Some(&admin), None).await.1["user"]["id"].as_str().unwrap().to_owned();
    let member = format!("/api/organizations/{org}/members/{admin_id}");
    let role = async |role: &str| {
        let (status, reply) = platform.api("PATCH", &member, Some(&owner), Some(json!({"role": role}))).await;
        assert_eq!(status, 200, "{reply}");
    };
    role("admin").await;
    let body = json!({"name": "k", "scopes": ["instances:manage", "data:write"]});
    let (status, key) =
        platform.api("POST", &format!("/api/organizations/{org}/api-keys"), Some(&admin), Some(body)).await;
    assert_eq!(status, 201, "{key}");
    let key = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(me(&platform, &key).await, 200);
    role("owner").await;
    assert_eq!(me(&platform, &key).await, 200, "a promotion revokes nothing");
    role("member").await;
    assert_eq!(me(&platform, &key).await, 401, "the demoted member's key is revoked");
    assert!(
        eventually(Duration::from_secs(2), || async { data(&platform, "demote-db", &key, "/ping").await.0 == 401 })
            .await
    );
    let (_, log) = platform.api("GET", &format!("/api/organizations/{org}/audit-log"), Some(&owner), None).await;
    assert_eq!(log["items"][0]["action"], "member.update");
    assert_eq!(log["items"][0]["details"]["revoked_api_keys"], 1, "{log}");
}
