//! An instance's backups in the console: the list (newest first, with size, keys and state), "Back up now",
//! a download link per backup, and a restore that asks for the instance's name again. Every action goes
//! through the management API's handlers, so roles, audit and errors are the API's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use redisgate_core::api;
use serde::Deserialize;
use uuid::Uuid;

use super::pages::layout;
use super::session::Session;
use super::{bad_csrf, failed, org_and_instance, page, Csrf};
use crate::api::backups;
use crate::api::extract::{ApiJson, ApiPath, Pagination};
use crate::api::Platform;
use crate::Error;

/// `GET …/instances/{id}/backups`.
pub(super) async fn list(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
) -> Response {
    match shown(&platform, &session, org, id).await {
        Ok((org, instance, items)) => page(StatusCode::OK, view(&org, &instance, &items, &session.csrf(), None)),
        Err(e) => failed("Backups", &e, &session),
    }
}

async fn shown(
    platform: &Platform,
    session: &Session,
    org: Uuid,
    id: Uuid,
) -> Result<(api::Organization, api::Instance, Vec<api::Backup>), Error> {
    let (found, instance) = org_and_instance(platform, session, org, id).await?;
    let principal = session.principal.clone();
    let listed =
        backups::list_backups(State(platform.clone()), principal, ApiPath((org, id)), Pagination::default()).await?;
    Ok((found, instance, listed.0.items))
}

/// `POST …/backups`: takes one, then shows the list (the new one `running`).
pub(super) async fn take(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
    axum::Form(form): axum::Form<Csrf>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let principal = session.principal.clone();
    match backups::create_backup(State(platform), principal, ApiPath((org, id))).await {
        Ok(_) => Redirect::to(&format!("/console/orgs/{org}/instances/{id}/backups")).into_response(),
        Err(e) => failed("Back up", &e, &session),
    }
}

#[derive(Deserialize)]
pub(super) struct Restore {
    csrf: String,
    backup_id: Uuid,
    confirm: String,
}

/// `POST …/backups/restore`: once the instance's name was typed again.
pub(super) async fn restore(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
    axum::Form(form): axum::Form<Restore>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let restored = async {
        let (found, instance, items) = shown(&platform, &session, org, id).await?;
        if form.confirm.trim() != instance.name {
            let notice = "The name typed does not match: nothing was restored.".to_owned();
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, found, instance, items, notice));
        }
        let principal = session.principal.clone();
        let body = ApiJson(api::RestoreRequest { backup_id: form.backup_id });
        let done = backups::restore(State(platform.clone()), principal, ApiPath((org, id)), body).await?;
        let notice = format!("Restored: {}.", keys_text(done.0.keys));
        let (found, instance, items) = shown(&platform, &session, org, id).await?;
        Ok::<_, Error>((StatusCode::OK, found, instance, items, notice))
    };
    match restored.await {
        Ok((status, org, instance, items, notice)) => {
            page(status, view(&org, &instance, &items, &session.csrf(), Some(&notice)))
        }
        Err(e) => failed("Restore", &e, &session),
    }
}

/// `GET …/backups/{backup}/rdb`: the file, streamed.
pub(super) async fn download(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id, backup)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Response {
    let principal = session.principal.clone();
    match backups::export_backup(State(platform), principal, ApiPath((org, id, backup))).await {
        Ok(file) => file,
        Err(e) => failed("Download", &e, &session),
    }
}

fn view(org: &api::Organization, i: &api::Instance, items: &[api::Backup], csrf: &str, notice: Option<&str>) -> Markup {
    let base = format!("/console/orgs/{}/instances/{}", org.id, i.id);
    layout(
        &format!("Backups of {}", i.name),
        Some(csrf),
        &html! {
            p { a href=(base) { "← " (i.name) } }
            h1 { "Backups of " (i.name) }
            @if let Some(notice) = notice { p.notice role="status" id="backup-notice" { (notice) } }
            form.actions method="post" action={ (base) "/backups" } {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Back up now" }
            }
            @if items.is_empty() {
                p id="no-backups" { "No backups yet." }
            } @else {
                table id="backups" {
                    thead { tr {
                        th scope="col" { "Taken (UTC)" } th scope="col" { "Trigger" } th scope="col" { "State" }
                        th scope="col" { "Size" } th scope="col" { "Keys" } th scope="col" { "File" }
                    } }
                    tbody {
                        @for b in items {
                            tr data-backup=(b.id) {
                                td { (b.created_at.format("%Y-%m-%d %H:%M:%S")) }
                                td { (b.trigger) }
                                td { span class={ "status " (b.state) } { (b.state) } @if let Some(e) = &b.error { " " small { (e) } } }
                                td { @if let Some(size) = b.size_bytes { (size_text(size)) } }
                                td { @if let Some(keys) = b.keys { (keys) } }
                                td { @if b.state == "done" { a href={ (base) "/backups/" (b.id) "/rdb" } download { "Download" } } }
                            }
                        }
                    }
                }
                @let done: Vec<&api::Backup> = items.iter().filter(|b| b.state == "done").collect();
                @if !done.is_empty() {
                    h2 { "Restore" }
                    form.card method="post" action={ (base) "/backups/restore" } {
                        input type="hidden" name="csrf" value=(csrf);
                        p { "Replaces all of " (i.name) "'s data with the backup. It does not answer while it loads." }
                        div.field {
                            label for="field-backup" { "Backup" }
                            select id="field-backup" name="backup_id" {
                                @for b in &done {
                                    option value=(b.id) {
                                        (b.created_at.format("%Y-%m-%d %H:%M:%S")) " · " (keys_text(u64::try_from(b.keys.unwrap_or(0)).unwrap_or(0)))
                                    }
                                }
                            }
                        }
                        div.field {
                            label for="field-restore-confirm" { "Type the instance's name to confirm" }
                            input id="field-restore-confirm" name="confirm" type="text" required autocomplete="off";
                        }
                        button.danger type="submit" { "Restore" }
                    }
                }
            }
        },
    )
}

/// `12.3 MiB`.
fn size_text(bytes: i64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "a size shown with one decimal")]
    let value = bytes as f64;
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", value / f64::from(1 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", value / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", value / 1024.0),
        b => format!("{b} B"),
    }
}

/// `1 key`, `12 keys`.
fn keys_text(keys: impl Into<u64>) -> String {
    match keys.into() {
        1 => "1 key".to_owned(),
        n => format!("{n} keys"),
    }
}
