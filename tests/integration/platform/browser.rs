//! The console in a real browser: Debian's `chromium`, headless, driven over WebDriver by its
//! `chromedriver` (`apt-get install chromium chromium-driver`; scripts/test.sh installs them, and nothing
//! downloads a browser). Sign up → organization → instance (until it runs) → copy the snippet → the token
//! works over REST → rotate (the old token gets 401) → log out (the session no longer works), and the pages
//! fit a 375 px screen. With `REDISGATE_SCREENSHOTS=<dir>`, each page is saved there as a PNG
//! (docs/dashboard.md shows them).

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use redisgate_test_support::TestPlatform;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use super::{data, eventually};

/// `chromedriver` on a free loopback port, once it says it listens; killed on drop.
async fn chromedriver() -> (tokio::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver is missing: apt-get install chromium chromium-driver (scripts/test.sh does)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("started successfully") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(started, Ok(true), "chromedriver did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

async fn browser(port: u16) -> Client {
    let capabilities = serde_json::json!({"goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"],
    }});
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("chromedriver did not start chromium")
}

/// Saves the page as `<name>.png` when `REDISGATE_SCREENSHOTS` names a directory.
async fn screenshot(client: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("REDISGATE_SCREENSHOTS") {
        let png = client.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

async fn fill(client: &Client, id: &str, value: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn press(client: &Client, label: &str) {
    client
        .find(Locator::XPath(&format!("//button[normalize-space()='{label}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits up to 20 s for the element `locator` finds, and answers it.
async fn appears(client: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    let what = format!("{locator:?}");
    client.wait().at_most(Duration::from_secs(20)).for_element(locator).await.unwrap_or_else(|e| {
        panic!("no {what} after 20 s: {e}");
    })
}

/// Waits for the page that has the element `id` (the next page after a submit or a click).
async fn arrive(client: &Client, id: &str) {
    appears(client, Locator::Id(id)).await;
}

/// Runs `line` in the data page's command console and waits for `reply` in its output.
async fn run_in_console(client: &Client, line: &str, reply: &str) {
    fill(client, "cli-input", line).await;
    press(client, "Run").await;
    let output = format!("//pre[@id='cli-output' and contains(., '> {line}\n{reply}')]");
    appears(client, Locator::XPath(&output)).await;
}

/// Finds `key` with the data browser's scan and opens it, waiting for its type.
async fn open_key(client: &Client, key: &str, kind: &str) {
    fill(client, "scan-pattern", key).await;
    press(client, "Scan").await;
    let listed = format!("//ul[@id='keys']//button[text()='{key}']");
    appears(client, Locator::XPath(&listed)).await;
    client.find(Locator::XPath(&listed)).await.unwrap().click().await.unwrap();
    let typed = format!("//code[@id='value-type' and text()='{kind}']");
    appears(client, Locator::XPath(&typed)).await;
    appears(client, Locator::Css("#value-items tbody tr")).await;
}

/// The element whose accessible name (`aria-label`) is `label`: what a screen reader announces.
async fn labelled(client: &Client, label: &str) -> fantoccini::elements::Element {
    let css = format!("[aria-label='{label}']");
    appears(client, Locator::Css(&css)).await
}

async fn fill_labelled(client: &Client, label: &str, value: &str) {
    let field = labelled(client, label).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click_labelled(client: &Client, label: &str) {
    labelled(client, label).await.click().await.unwrap();
}

/// Waits for the data browser to report `message` (what it says once a change is made).
async fn status_is(client: &Client, message: &str) {
    let status = format!("//p[@id='value-status' and text()='{message}']");
    appears(client, Locator::XPath(&status)).await;
}

async fn text(client: &Client, id: &str) -> String {
    client.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

async fn path(client: &Client) -> String {
    client.current_url().await.unwrap().path().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium_from_sign_up_to_log_out() {
    let platform = TestPlatform::start().await;
    let (_driver, port) = chromedriver().await;
    let client = browser(port).await;

    client.goto(&platform.url()).await.unwrap();
    arrive(&client, "field-email").await;
    assert_eq!(path(&client).await, "/console/login", "a browser at / lands on the login page");
    screenshot(&client, "login").await;
    client.find(Locator::LinkText("No account yet? Sign up")).await.unwrap().click().await.unwrap();
    appears(&client, Locator::LinkText("Already have an account? Log in")).await;
    screenshot(&client, "signup").await;
    fill(&client, "field-email", "grace@example.com").await;
    fill(&client, "field-password", "correct horse 1").await;
    press(&client, "Sign up").await;
    arrive(&client, "field-slug").await;
    assert_eq!(path(&client).await, "/console/orgs");

    fill(&client, "field-name", "Acme").await;
    fill(&client, "field-slug", "acme").await;
    screenshot(&client, "organizations").await;
    press(&client, "Create organization").await;
    arrive(&client, "field-memory").await;
    let instances = path(&client).await;
    assert!(instances.ends_with("/instances"), "{instances}");

    fill(&client, "field-name", "browser-db").await;
    fill(&client, "field-memory", "16").await;
    press(&client, "Create instance").await;
    arrive(&client, "token").await;
    let token = text(&client, "token").await;
    assert!(token.starts_with("rgt_"), "{token}");
    screenshot(&client, "instance-created").await;
    // The one script runs under the CSP: the copy button answers, once the clipboard has (a promise, so
    // waited for; a button that keeps its label means console.js did not run).
    press(&client, "Copy snippet").await;
    appears(&client, Locator::XPath("//button[@data-copy and normalize-space()!='Copy snippet']")).await;
    assert!(text(&client, "snippet").await.contains(&token));

    let works = eventually(Duration::from_secs(20), || async {
        data(&platform, "browser-db", &token, "/set/k/v").await.0 == 200
    })
    .await;
    assert!(works, "the token shown does not open the instance");
    client.goto(&format!("{}{instances}", platform.url())).await.unwrap();
    assert!(client.find(Locator::Css("td .status.running")).await.is_ok(), "the list shows the instance running");
    screenshot(&client, "instances").await;
    client.find(Locator::LinkText("browser-db")).await.unwrap().click().await.unwrap();
    arrive(&client, "rest-url").await;
    assert!(client.find(Locator::Id("token")).await.is_err(), "a token is shown only once");
    screenshot(&client, "instance").await;

    // Backups: one taken from the page, shown done once the page is loaded again.
    client.find(Locator::LinkText("Backups")).await.unwrap().click().await.unwrap();
    arrive(&client, "no-backups").await;
    press(&client, "Back up now").await;
    arrive(&client, "backups").await;
    let backups_page = client.current_url().await.unwrap();
    let done = eventually(Duration::from_secs(10), || async {
        client.goto(backups_page.as_str()).await.unwrap();
        client.find(Locator::Css("#backups .status.done")).await.is_ok()
    })
    .await;
    assert!(done, "the backup is not shown done");
    screenshot(&client, "backups").await;
    client.find(Locator::LinkText("← browser-db")).await.unwrap().click().await.unwrap();
    arrive(&client, "rest-url").await;

    press(&client, "Rotate tokens").await;
    arrive(&client, "token").await;
    let rotated = text(&client, "token").await;
    assert_ne!(rotated, token);
    let revoked =
        eventually(Duration::from_secs(5), || async { data(&platform, "browser-db", &token, "/get/k").await.0 == 401 })
            .await;
    assert!(revoked, "the old token still works after the rotation");

    // The command console and the data browser, through the REST data plane with the page's own token.
    client.find(Locator::LinkText("Data browser and console")).await.unwrap().click().await.unwrap();
    arrive(&client, "cli-input").await;
    fill(&client, "cli-input", "SET greeting \"hello world\"").await;
    press(&client, "Run").await;
    appears(&client, Locator::XPath("//pre[@id='cli-output' and contains(., '\"OK\"')]")).await;
    fill(&client, "scan-pattern", "greet*").await;
    press(&client, "Scan").await;
    appears(&client, Locator::XPath("//ul[@id='keys']//button[text()='greeting']")).await;
    client.find(Locator::XPath("//ul[@id='keys']//button[text()='greeting']")).await.unwrap().click().await.unwrap();
    appears(&client, Locator::XPath("//code[@id='value-type' and text()='string']")).await;
    let editor = client.find(Locator::Id("value-text")).await.unwrap();
    assert_eq!(editor.prop("value").await.unwrap().as_deref(), Some("hello world"));
    editor.clear().await.unwrap();
    editor.send_keys("edited").await.unwrap();
    press(&client, "Save").await;
    appears(&client, Locator::XPath("//p[@id='value-status' and text()='Saved.']")).await;
    screenshot(&client, "data").await;
    assert_eq!(data(&platform, "browser-db", &rotated, "/get/greeting").await.1["result"], "edited");

    // A hash, edited one field at a time: a value changed, a field added, another removed.
    run_in_console(&client, "HSET profile name ada lang rust", "(integer) 2").await;
    open_key(&client, "profile", "hash").await;
    fill_labelled(&client, "Value of name", "grace").await;
    click_labelled(&client, "Save name").await;
    status_is(&client, "Saved.").await;
    assert_eq!(data(&platform, "browser-db", &rotated, "/hget/profile/name").await.1["result"], "grace");
    fill(&client, "value-add-0", "city").await;
    fill(&client, "value-add-1", "london").await;
    press(&client, "Add").await;
    status_is(&client, "Added.").await;
    click_labelled(&client, "Remove lang").await;
    status_is(&client, "Removed.").await;
    let (_, fields) = data(&platform, "browser-db", &rotated, "/hgetall/profile").await;
    assert_eq!(fields["result"], serde_json::json!(["name", "grace", "city", "london"]));
    screenshot(&client, "data-hash").await;
    // A list element removed by its index (one transaction), and a sorted set's score changed.
    run_in_console(&client, "RPUSH queue a b c", "(integer) 3").await;
    open_key(&client, "queue", "list").await;
    click_labelled(&client, "Remove 1").await;
    status_is(&client, "Removed.").await;
    let (_, list) = data(&platform, "browser-db", &rotated, "/lrange/queue/0/-1").await;
    assert_eq!(list["result"], serde_json::json!(["a", "c"]));
    run_in_console(&client, "ZADD board 1 ann 2 bob", "(integer) 2").await;
    open_key(&client, "board", "zset").await;
    fill_labelled(&client, "Score of ann", "5").await;
    click_labelled(&client, "Save ann").await;
    status_is(&client, "Saved.").await;
    assert_eq!(data(&platform, "browser-db", &rotated, "/zscore/board/ann").await.1["result"], "5");
    client.find(Locator::LinkText("← browser-db")).await.unwrap().click().await.unwrap();
    arrive(&client, "rest-url").await;

    // An API key: made with its scopes (its secret shown once, and it works on the API), then revoked.
    client.find(Locator::LinkText("← Acme")).await.unwrap().click().await.unwrap();
    arrive(&client, "field-memory").await;
    client.find(Locator::LinkText("API keys")).await.unwrap().click().await.unwrap();
    arrive(&client, "scope-instances-manage").await;
    fill(&client, "field-name", "ci").await;
    client.find(Locator::Id("scope-instances-manage")).await.unwrap().click().await.unwrap();
    press(&client, "Create key").await;
    arrive(&client, "key-secret").await;
    let secret = text(&client, "key-secret").await;
    screenshot(&client, "api-keys").await;
    let org_path = instances.trim_end_matches("/instances").trim_start_matches("/console/orgs/").to_owned();
    let listed = format!("/api/organizations/{org_path}/redis-instances");
    assert_eq!(platform.api("GET", &listed, Some(&secret), None).await.0, 200);
    client.find(Locator::Css("button[aria-label='Revoke ci']")).await.unwrap().click().await.unwrap();
    appears(&client, Locator::XPath("//p[text()='No API key.']")).await;
    assert_eq!(platform.api("GET", &listed, Some(&secret), None).await.0, 401, "a revoked key still works");
    client.find(Locator::LinkText("Members")).await.unwrap().click().await.unwrap();
    appears(&client, Locator::XPath("//td[text()='grace@example.com']")).await;
    screenshot(&client, "members").await;
    client.find(Locator::LinkText("Audit log")).await.unwrap().click().await.unwrap();
    appears(&client, Locator::XPath("//code[text()='api_key.revoke']")).await;
    screenshot(&client, "audit-log").await;
    client.back().await.unwrap();

    // 375 px wide: nothing overflows sideways.
    client.set_window_size(375, 800).await.unwrap();
    let fits =
        client.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await.unwrap();
    let wide = client
        .execute(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth).map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, serde_json::json!(true), "the page is wider than a 375 px screen: {wide}");
    screenshot(&client, "narrow").await;
    client.set_window_size(1200, 900).await.unwrap();

    press(&client, "Log out").await;
    // The login page's password field: the members page just left has an email field too.
    arrive(&client, "field-password").await;
    assert_eq!(path(&client).await, "/console/login");
    client.goto(&format!("{}/console/orgs", platform.url())).await.unwrap();
    arrive(&client, "field-email").await;
    assert_eq!(path(&client).await, "/console/login", "the session still opens pages after logging out");
    client.close().await.unwrap();
}
