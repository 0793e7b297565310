//! The console's pages, rendered on the server (maud escapes every value). No inline script or style: the
//! Content-Security-Policy forbids them; `console.css` and `console.js` come from the console itself.

use std::collections::BTreeMap;

use maud::{html, Markup, DOCTYPE};
use redisgate_core::api;

/// What a form shows after a refusal: an error per field, and one for the whole form.
#[derive(Debug, Default)]
pub struct Problems {
    /// By field name.
    pub fields: BTreeMap<String, String>,
    /// Not about one field.
    pub general: Option<String>,
}

impl Problems {
    fn of(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// The page around `body`; `csrf` present when signed in (the header's log-out button needs it).
pub fn layout(title: &str, csrf: Option<&str>, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · RedisGate" }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/console.js" defer {}
            }
            body {
                header {
                    a.brand href="/console/" { "RedisGate" }
                    @if let Some(csrf) = csrf {
                        nav aria-label="main" {
                            a href="/console/orgs" { "Organizations" }
                            form method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn banner(problems: &Problems) -> Markup {
    html! {
        @if let Some(message) = &problems.general {
            p.error role="alert" { (message) }
        }
    }
}

/// A labelled input with its error under it.
fn field(label: &str, name: &str, kind: &str, value: &str, problems: &Problems, extra: Option<&str>) -> Markup {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let error = problems.of(name);
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type=(kind) value=(value) required
                autocomplete=[extra]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())];
            @if let Some(error) = error {
                p.field-error id=(error_id) { (error) }
            }
        }
    }
}

/// Log in, or sign up (`signup`).
pub fn account_form(signup: bool, email: &str, problems: &Problems) -> Markup {
    let (title, action, other, other_label) = if signup {
        ("Sign up", "/console/signup", "/console/login", "Already have an account? Log in")
    } else {
        ("Log in", "/console/login", "/console/signup", "No account yet? Sign up")
    };
    let password_hint = if signup { "new-password" } else { "current-password" };
    layout(
        title,
        None,
        &html! {
            h1 { (title) }
            (banner(problems))
            form.card method="post" action=(action) {
                (field("Email", "email", "email", email, problems, Some("email")))
                (field("Password", "password", "password", "", problems, Some(password_hint)))
                button type="submit" { (title) }
            }
            p { a href=(other) { (other_label) } }
        },
    )
}

/// The user's organizations and a form to create one.
pub fn organizations(orgs: &[api::Organization], csrf: &str, problems: &Problems, name: &str) -> Markup {
    layout(
        "Organizations",
        Some(csrf),
        &html! {
            h1 { "Organizations" }
            @if orgs.is_empty() {
                p { "You belong to no organization yet. Create one to run instances." }
            } @else {
                ul.list {
                    @for org in orgs {
                        li {
                            a href={ "/console/orgs/" (org.id) "/instances" } { (org.name) }
                            " "
                            span.muted { (org.slug) @if let Some(role) = &org.role { " · " (role) } }
                        }
                    }
                }
            }
            h2 { "New organization" }
            (banner(problems))
            form.card method="post" action="/console/orgs" {
                input type="hidden" name="csrf" value=(csrf);
                (field("Name", "name", "text", name, problems, None))
                (field("Slug (a-z, 0-9, -)", "slug", "text", "", problems, None))
                button type="submit" { "Create organization" }
            }
        },
    )
}

/// `standalone`, or `1 master + 2 replicas`.
fn topology(topology: api::Topology) -> String {
    match topology {
        api::Topology::Standalone => "standalone".to_owned(),
        api::Topology::Replicated { replicas, .. } => format!("1 master + {replicas} replica(s)"),
    }
}

/// An organization's instances and the form to create one.
pub fn instances(
    org: &api::Organization,
    items: &[api::Instance],
    csrf: &str,
    problems: &Problems,
    name: &str,
) -> Markup {
    layout(
        &org.name,
        Some(csrf),
        &html! {
            h1 { (org.name) ": instances" }
            @if items.is_empty() {
                p { "No instance yet." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Memory" } th scope="col" { "Topology" } } }
                    tbody {
                        @for i in items {
                            tr {
                                td { a href={ "/console/orgs/" (org.id) "/instances/" (i.id) } { (i.name) } }
                                td { span class={ "status " (i.status) } { (i.status) } }
                                td { (i.max_memory >> 20) " MiB" }
                                td { (topology(i.topology)) }
                            }
                        }
                    }
                }
            }
            h2 { "New instance" }
            (banner(problems))
            form.card method="post" action={ "/console/orgs/" (org.id) "/instances" } {
                input type="hidden" name="csrf" value=(csrf);
                (field("Name (a-z, 0-9, -; 3 to 40 characters)", "name", "text", name, problems, None))
                div.field {
                    label for="field-memory" { "Memory (MiB)" }
                    input id="field-memory" name="memory_mib" type="number" min="1" max="65536" value="64" required;
                    @if let Some(error) = problems.of("max_memory") { p.field-error { (error) } }
                }
                div.field {
                    label for="field-replicas" { "Replicas (0: a single server)" }
                    input id="field-replicas" name="replicas" type="number" min="0" max="5" value="0" required;
                    @if let Some(error) = problems.of("topology") { p.field-error { (error) } }
                }
                button type="submit" { "Create instance" }
            }
        },
    )
}

/// One instance: where to reach it, a snippet for `@upstash/redis`, its nodes, and its tokens when they were
/// just made (`secrets`: at creation and rotation, the one time they are shown).
pub fn instance(org: &api::Organization, i: &api::Instance, secrets: Option<&api::Secrets>, csrf: &str) -> Markup {
    let token = secrets.map_or("process.env.UPSTASH_REDIS_REST_TOKEN", |s| s.token.as_str());
    let token = if secrets.is_some() { format!("\"{token}\"") } else { token.to_owned() };
    let snippet = format!(
        "import {{ Redis }} from \"@upstash/redis\";\n\nconst redis = new Redis({{\n  url: \"{}\",\n  token: {token},\n}});\nawait redis.set(\"greeting\", \"hello\");",
        i.rest_url
    );
    layout(
        &i.name,
        Some(csrf),
        &html! {
            p { a href={ "/console/orgs/" (org.id) "/instances" } { "← " (org.name) } }
            h1 { (i.name) }
            dl.facts {
                dt { "Status" } dd { span class={ "status " (i.status) } id="instance-status" { (i.status) } }
                @if let Some(message) = &i.status_message { dt { "Message" } dd { (message) } }
                dt { "Memory" } dd { (i.max_memory >> 20) " MiB" }
                dt { "Topology" } dd { (topology(i.topology)) }
                dt { "REST URL" } dd { code id="rest-url" { (i.rest_url) } }
            }
            @if let Some(secrets) = secrets {
                section.secrets aria-labelledby="secrets-title" {
                    h2 id="secrets-title" { "Tokens (shown this once)" }
                    p { "Copy them now: only their digests are kept." }
                    dl.facts {
                        dt { "Token" } dd { code id="token" { (secrets.token) } }
                        dt { "Read-only token" } dd { code id="readonly-token" { (secrets.readonly_token) } }
                    }
                }
            }
            h2 { "Use it from JavaScript" }
            pre { code id="snippet" { (snippet) } }
            button type="button" data-copy="snippet" { "Copy snippet" }
            @if !i.nodes.is_empty() {
                h2 { "Nodes" }
                table {
                    thead { tr { th scope="col" { "Address" } th scope="col" { "Role" } th scope="col" { "Health" } th scope="col" { "Lag" } } }
                    tbody {
                        @for node in &i.nodes {
                            tr {
                                td { code { (node.address) } }
                                td { (serde_json::to_value(node.role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                                td { @if node.healthy { "healthy" } @else { strong { "down" } } }
                                td { @if let Some(lag) = node.lag_bytes { (lag) " B" } }
                            }
                        }
                    }
                }
            }
            h2 { "Credentials" }
            form.card method="post" action={ "/console/orgs/" (org.id) "/instances/" (i.id) "/rotate" } {
                input type="hidden" name="csrf" value=(csrf);
                p { "Rotating replaces both tokens; the old ones stop working within a second." }
                button type="submit" { "Rotate tokens" }
            }
        },
    )
}

/// A page that only says what went wrong.
pub fn failure(title: &str, message: &str, csrf: Option<&str>) -> Markup {
    layout(
        title,
        csrf,
        &html! { h1 { (title) } p.error role="alert" { (message) } p { a href="/console/" { "Back" } } },
    )
}
