//! The console's pages, rendered on the server (maud escapes every value). No inline script or style: the
//! Content-Security-Policy forbids them; `console.css` and `console.js` come from the console itself.

use std::collections::BTreeMap;

use maud::{html, Markup, DOCTYPE};
use redisgate_core::api;

use super::settings::LIMIT_LABELS;

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
                script src="/console/static/data.js" defer {}
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

/// A one-button form that POSTs to `action` (with the CSRF token): `label` shown, "`label` `what`" as its
/// accessible name, so a screen reader tells the rows' buttons apart.
fn danger_button(action: &str, csrf: &str, label: &str, what: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button.danger type="submit" aria-label={ (label) " " (what) } { (label) }
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
            p { a href="/console/invitations" { "Accept an invitation" } }
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

/// The links between an organization's pages.
fn org_nav(org: &api::Organization, here: &str) -> Markup {
    let base = format!("/console/orgs/{}", org.id);
    let links = [("instances", "Instances"), ("members", "Members"), ("keys", "API keys"), ("audit", "Audit log")];
    html! {
        nav.tabs aria-label="organization" {
            @for (path, label) in links {
                a href={ (base) "/" (path) } aria-current=[(path == here).then_some("page")] { (label) }
            }
        }
    }
}

/// `standalone`, `1 master + 2 replicas`, or `cluster: 3 shards × (1 master + 1 replica(s))`.
fn topology(topology: api::Topology) -> String {
    match topology {
        api::Topology::Standalone => "standalone".to_owned(),
        api::Topology::Replicated { replicas, .. } => format!("1 master + {replicas} replica(s)"),
        api::Topology::Cluster { shards, replicas_per_shard } => {
            format!("cluster: {shards} shards × (1 master + {replicas_per_shard} replica(s))")
        }
    }
}

/// An organization's instances and the form to create one.
pub fn instances(
    org: &api::Organization,
    items: &[(api::Instance, Option<u64>)],
    csrf: &str,
    problems: &Problems,
    name: &str,
) -> Markup {
    layout(
        &org.name,
        Some(csrf),
        &html! {
            h1 { (org.name) }
            (org_nav(org, "instances"))
            @if items.is_empty() {
                p { "No instance yet." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Memory" } th scope="col" { "Topology" } th scope="col" { "Commands today" } } }
                    tbody {
                        @for (i, today) in items {
                            tr {
                                td { a href={ "/console/orgs/" (org.id) "/instances/" (i.id) } { (i.name) } }
                                td { span class={ "status " (i.status) } { (i.status) } }
                                td { (i.max_memory >> 20) " MiB" }
                                td { (topology(i.topology)) }
                                td { @if let Some(today) = today { (today) } @else { "—" } }
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
                    label for="field-replicas" { "Replicas (0: a single server; in a cluster, of each shard)" }
                    input id="field-replicas" name="replicas" type="number" min="0" max="5" value="0" required;
                    @if let Some(error) = problems.of("topology") { p.field-error { (error) } }
                }
                div.field {
                    label for="field-min-replicas" { "Replicas that must confirm a write (0: none)" }
                    input id="field-min-replicas" name="min_replicas_to_write" type="number" min="0" max="5" value="0" required;
                }
                div.field {
                    label for="field-shards" { "Shards (0: not a cluster; 3 to 16: a Redis Cluster)" }
                    input id="field-shards" name="shards" type="number" min="0" max="16" value="0" required;
                }
                button type="submit" { "Create instance" }
            }
        },
    )
}

/// One instance: where to reach it, a snippet for `@upstash/redis`, its nodes, and its tokens when they were
/// just made (`secrets`: at creation and rotation, the one time they are shown).
pub fn instance(
    org: &api::Organization,
    i: &api::Instance,
    secrets: Option<&api::Secrets>,
    usage: Option<&api::Usage>,
    csrf: &str,
    problems: &Problems,
) -> Markup {
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
                dt { "Limits" } dd { (limits(&i.limits)) }
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
            p {
                a href={ "/console/orgs/" (org.id) "/instances/" (i.id) "/data" } { "Data browser and console" }
                " · "
                a href={ "/console/orgs/" (org.id) "/instances/" (i.id) "/backups" } { "Backups" }
            }
            h2 { "Use it from JavaScript" }
            pre { code id="snippet" { (snippet) } }
            button type="button" data-copy="snippet" { "Copy snippet" }
            @if !i.nodes.is_empty() {
                h2 { "Nodes" }
                table {
                    thead { tr { th scope="col" { "Address" } th scope="col" { "Role" } th scope="col" { "Health" } th scope="col" { "Lag" } th scope="col" { "Shard and slots" } } }
                    tbody {
                        @for node in &i.nodes {
                            tr {
                                td { code { (node.address) } }
                                td { (serde_json::to_value(node.role).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()) }
                                td { @if node.healthy { "healthy" } @else { strong { "down" } } }
                                td { @if let Some(lag) = node.lag_bytes { (lag) " B" } }
                                td { @if let Some(shard) = node.shard { (shard) " " (node.slots.join(", ")) } }
                            }
                        }
                    }
                }
            }
            @if let Some(usage) = usage {
                h2 { "Commands, last 7 days" }
                (usage_chart(usage))
            }
            h2 { "Credentials" }
            form.card method="post" action={ "/console/orgs/" (org.id) "/instances/" (i.id) "/rotate" } {
                input type="hidden" name="csrf" value=(csrf);
                p { "Rotating replaces both tokens; the old ones stop working within a second." }
                button type="submit" { "Rotate tokens" }
            }
            h2 #settings-title { "Settings" }
            (settings(org, i, csrf, problems))
            h2 { "Delete" }
            form.card method="post" action={ "/console/orgs/" (org.id) "/instances/" (i.id) "/delete" } {
                input type="hidden" name="csrf" value=(csrf);
                p { "Deleting stops the server and removes its data for good." }
                div.field {
                    label for="field-confirm" { "Type the instance's name to confirm" }
                    input id="field-confirm" name="confirm" type="text" required autocomplete="off";
                }
                button.danger type="submit" { "Delete instance" }
            }
        },
    )
}

/// The limits that apply (the instance's own, clamped to its plan's), each by its API name.
/// Memory, replicas (of a replicated instance) and every limit, in one form; an empty limit is none.
fn settings(org: &api::Organization, i: &api::Instance, csrf: &str, problems: &Problems) -> Markup {
    let set = serde_json::to_value(i.limits).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let error = |name: &str| problems.of(name).map(|e| html! { p.field-error id={ "field-" (name) "-error" } { (e) } });
    html! {
        (banner(problems))
        form.card method="post" action={ "/console/orgs/" (org.id) "/instances/" (i.id) "/settings" } aria-labelledby="settings-title" {
            input type="hidden" name="csrf" value=(csrf);
            div.field {
                label for="field-memory_mib" { "Memory (MiB)" }
                input id="field-memory_mib" name="memory_mib" type="number" min="1" max="65536" value=(i.max_memory >> 20) required;
                (error("max_memory").unwrap_or_default())
            }
            @if let api::Topology::Replicated { replicas, .. } = i.topology {
                div.field {
                    label for="field-replicas" { "Replicas" }
                    input id="field-replicas" name="replicas" type="number" min="1" max="5" value=(replicas) required;
                    (error("topology").unwrap_or_default())
                }
            }
            (limit_fields("Limits (empty: no limit)", &set, &LIMIT_LABELS, problems))
            button type="submit" { "Save settings" }
        }
    }
}

/// A fieldset of limit inputs (`labels`: field name and label), filled from `set`, each with its error.
fn limit_fields(
    legend: &str,
    set: &serde_json::Map<String, serde_json::Value>,
    labels: &[(&str, &str)],
    problems: &Problems,
) -> Markup {
    html! {
        fieldset {
            legend { (legend) }
            @for (name, label) in labels {
                @let id = format!("field-{name}");
                @let value = set.get(*name).map(ToString::to_string).unwrap_or_default();
                @let error = problems.of(name);
                div.field {
                    label for=(id) { (label) }
                    input id=(id) name=(name) type="number" min="1" value=(value)
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| format!("{id}-error"))];
                    @if let Some(error) = error { p.field-error id={ (id) "-error" } { (error) } }
                }
            }
        }
    }
}

fn limits(limits: &redisgate_core::limits::Limits) -> Markup {
    let set = serde_json::to_value(limits).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    html! {
        @if set.is_empty() {
            "none"
        } @else {
            ul.limits {
                @for (name, value) in &set { li { code { (name) } " " (value) } }
            }
        }
    }
}

/// Commands per day as bars, drawn on the server (SVG: no script, no library).
fn usage_chart(usage: &api::Usage) -> Markup {
    let (width, height, gap) = (560_u64, 160_u64, 8_u64);
    let days = usage.days.len().max(1) as u64;
    let bar = (width - gap * (days + 1)) / days;
    let top = usage.days.iter().map(|d| d.commands).max().unwrap_or(0).max(1);
    let label = format!("{} commands in the last {} days", usage.total, usage.days.len());
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (width) " " (height + 40) } role="img" aria-label=(label) {
                @for (n, day) in usage.days.iter().enumerate() {
                    @let h = (day.commands * height) / top;
                    @let x = gap + n as u64 * (bar + gap);
                    rect x=(x) y=(height - h) width=(bar) height=(h.max(1)) class="bar" {
                        title { (day.day) ": " (day.commands) " commands" }
                    }
                    text x=(x + bar / 2) y=(height + 16) text-anchor="middle" class="axis" { (day.day.format("%d %b")) }
                    text x=(x + bar / 2) y=(height + 34) text-anchor="middle" class="axis" { (day.commands) }
                }
            }
            figcaption { (label) }
        }
    }
}

/// The organization's API keys, the form to make one, and a new key's secret when one was just made.
pub fn keys(
    org: &api::Organization,
    items: &[api::ApiKey],
    instances: &[api::Instance],
    created: Option<&api::CreatedApiKey>,
    csrf: &str,
    problems: &Problems,
) -> Markup {
    layout(
        "API keys",
        Some(csrf),
        &html! {
            h1 { (org.name) }
            (org_nav(org, "keys"))
            @if let Some(created) = created {
                section.secrets aria-labelledby="key-title" {
                    h2 id="key-title" { "Key " (created.key.name) " (shown this once)" }
                    p { code id="key-secret" { (created.secret) } }
                }
            }
            @if items.is_empty() {
                p { "No API key." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Prefix" } th scope="col" { "Scopes" } th scope="col" { "Instance" } th scope="col" { "Limits" } th scope="col" { "Created" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for key in items {
                            tr {
                                td { (key.name) }
                                td { code { (key.prefix) } }
                                td { (key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                                td {
                                    @match key.instance_id.and_then(|id| instances.iter().find(|i| i.id == id)) {
                                        Some(i) => (i.name),
                                        None => @if key.instance_id.is_some() { "(deleted)" } @else { "all" },
                                    }
                                }
                                td { (limits(&key.limits)) }
                                td { (key.created_at.format("%Y-%m-%d %H:%M")) }
                                td {
                                    (danger_button(&format!("/console/orgs/{}/keys/{}/revoke", org.id, key.id), csrf, "Revoke", &key.name))
                                }
                            }
                        }
                    }
                }
            }
            h2 { "New API key" }
            (banner(problems))
            form.card method="post" action={ "/console/orgs/" (org.id) "/keys" } {
                input type="hidden" name="csrf" value=(csrf);
                (field("Name", "name", "text", "", problems, None))
                fieldset {
                    legend { "Scopes" }
                    @for (scope, what) in [(api::Scope::InstancesManage, "create and change instances"), (api::Scope::DataWrite, "read and write the data"), (api::Scope::DataRead, "read the data")] {
                        div.check {
                            input type="checkbox" id={ "scope-" (scope.as_str().replace(':', "-")) } name="scope" value=(scope);
                            label for={ "scope-" (scope.as_str().replace(':', "-")) } { code { (scope) } " — " (what) }
                        }
                    }
                    @if let Some(error) = problems.of("scopes") { p.field-error { (error) } }
                }
                div.field {
                    label for="field-instance" { "Instance" }
                    select id="field-instance" name="instance" {
                        option value="" { "every instance of the organization" }
                        @for i in instances { option value=(i.id) { "only " (i.name) } }
                    }
                }
                // A key's own limits apply on top of its instance's; daily quotas are the instance's alone.
                @let key_labels: Vec<(&str, &str)> =
                    LIMIT_LABELS.iter().copied().filter(|(name, _)| *name != "max_daily_requests").collect();
                (limit_fields("Limits of this key (empty: only the instance's)", &serde_json::Map::new(), &key_labels, problems))
                button type="submit" { "Create key" }
            }
        },
    )
}

/// The organization's members (with forms to change a role or remove one), and an invitation form; a new
/// invitation's code is shown once.
pub fn members(
    org: &api::Organization,
    items: &[api::Member],
    invited: Option<&api::CreatedInvitation>,
    csrf: &str,
    problems: &Problems,
) -> Markup {
    layout(
        "Members",
        Some(csrf),
        &html! {
            h1 { (org.name) }
            (org_nav(org, "members"))
            @if let Some(invited) = invited {
                section.secrets aria-labelledby="invite-title" {
                    h2 id="invite-title" { "Invitation for " (invited.invitation.email) " (shown this once)" }
                    p { "Give them this code; they accept it under Accept an invitation, logged in with that email." }
                    p { code id="invitation-code" { (invited.code) } }
                }
            }
            table {
                thead { tr { th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for m in items {
                        tr {
                            td { (m.email) }
                            td {
                                form.inline method="post" action={ "/console/orgs/" (org.id) "/members/" (m.user_id) "/role" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    label.visually-hidden for={ "role-" (m.user_id) } { "Role of " (m.email) }
                                    select id={ "role-" (m.user_id) } name="role" {
                                        @for role in api::Role::ALL { option value=(role) selected[*role == m.role] { (role) } }
                                    }
                                    button type="submit" aria-label={ "Change the role of " (m.email) } { "Change" }
                                }
                            }
                            td {
                                (danger_button(&format!("/console/orgs/{}/members/{}/remove", org.id, m.user_id), csrf, "Remove", &m.email))
                            }
                        }
                    }
                }
            }
            h2 { "Invite someone" }
            (banner(problems))
            form.card method="post" action={ "/console/orgs/" (org.id) "/members" } {
                input type="hidden" name="csrf" value=(csrf);
                (field("Email", "email", "email", "", problems, None))
                div.field {
                    label for="field-role" { "Role" }
                    select id="field-role" name="role" { @for role in api::Role::ALL { option value=(role) { (role) } } }
                }
                button type="submit" { "Invite" }
            }
        },
    )
}

/// The form that accepts an invitation's code.
pub fn accept(csrf: &str, problems: &Problems) -> Markup {
    layout(
        "Accept an invitation",
        Some(csrf),
        &html! {
            h1 { "Accept an invitation" }
            (banner(problems))
            form.card method="post" action="/console/invitations" {
                input type="hidden" name="csrf" value=(csrf);
                (field("Invitation code", "code", "text", "", problems, Some("off")))
                button type="submit" { "Join" }
            }
        },
    )
}

/// The organization's audit log, newest first.
pub fn audit(org: &api::Organization, entries: &[api::AuditEntry], csrf: &str) -> Markup {
    layout(
        "Audit log",
        Some(csrf),
        &html! {
            h1 { (org.name) }
            (org_nav(org, "audit"))
            table {
                thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Details" } } }
                tbody {
                    @for entry in entries {
                        tr {
                            td { (entry.created_at.format("%Y-%m-%d %H:%M:%S")) }
                            td { code { (entry.action) } }
                            td { (entry.target_type) @if let Some(id) = entry.target_id { " " code { (id.to_string()[..8]) } } }
                            td { code { (entry.details) } }
                        }
                    }
                }
            }
        },
    )
}

/// The page that asks again before deleting (the name typed did not match).
pub fn confirm_delete(org: &api::Organization, i: &api::Instance, csrf: &str) -> Markup {
    layout(
        "Delete",
        Some(csrf),
        &html! {
            h1 { "Delete " (i.name) "?" }
            p.error role="alert" { "The name typed does not match: nothing was deleted." }
            p { a href={ "/console/orgs/" (org.id) "/instances/" (i.id) } { "Back to " (i.name) } }
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

/// The data browser and command console of an instance (`data.js` does the work, through the REST data
/// plane with a short-lived token it asks `token_url` for).
pub fn data(org: &api::Organization, i: &api::Instance, csrf: &str) -> Markup {
    let token_url = format!("/console/orgs/{}/instances/{}/data-token", org.id, i.id);
    layout(
        &format!("{} data", i.name),
        Some(csrf),
        &html! {
            p { a href={ "/console/orgs/" (org.id) "/instances/" (i.id) } { "← " (i.name) } }
            h1 { (i.name) ": data" }
            div #data data-csrf=(csrf) data-token-url=(token_url) {
                section aria-labelledby="browser-title" {
                    h2 #browser-title { "Keys" }
                    form #scan.inline {
                        label for="scan-pattern" { "Pattern" }
                        input #scan-pattern type="text" value="*";
                        label for="scan-type" { "Type" }
                        select #scan-type {
                            option value="" { "any" }
                            @for t in ["string", "hash", "list", "set", "zset", "stream", "ReJSON-RL"] { option value=(t) { (t) } }
                        }
                        button type="submit" { "Scan" }
                    }
                    ul #keys.list {}
                    button #more type="button" hidden { "More" }
                }
                section #value.card hidden aria-labelledby="value-key" {
                    h2 { code #value-key {} }
                    p { "Type " code #value-type {} " · TTL " span #value-ttl {} }
                    div #value-whole {
                        label for="value-text" { "Value" }
                        textarea #value-text rows="8" {}
                        button #value-save type="button" { "Save" }
                    }
                    div #value-elements hidden {
                        p #value-count {}
                        table #value-items {}
                        h3 { "Add" }
                        form #value-add {}
                    }
                    div.actions {
                        label for="value-seconds" { "TTL (s, empty: none)" }
                        input #value-seconds type="number" min="1";
                        button #value-expire type="button" { "Set TTL" }
                        button #value-delete.danger type="button" { "Delete key" }
                    }
                    p #value-status role="status" {}
                }
                section aria-labelledby="cli-title" {
                    h2 #cli-title { "Console" }
                    pre #cli-output aria-live="polite" {}
                    form #cli.inline {
                        label for="cli-input" { "Command" }
                        input #cli-input type="text" autocomplete="off" spellcheck="false" placeholder="SET greeting hello";
                        button type="submit" { "Run" }
                    }
                }
            }
        },
    )
}
