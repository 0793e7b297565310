//! The web console at `/console/`: pages rendered on the server ([`pages`]) over the management API's own
//! handlers, so a page obeys exactly the API's rules (validation, roles, plans, throttles) and writes the same
//! audit entries. Sessions, CSRF and the security headers are in [`session`].
//!
//! It covers signing up, logging in and out, organizations, and instances: list, create (memory, replicas),
//! their page (REST URL, an `@upstash/redis` snippet with a copy button, nodes, usage), the tokens shown once
//! at creation and rotation, and their settings ([`settings`]). Members, API keys and the audit log are in
//! [`organization`], the data browser and command console in [`data`], backups (take, download, restore) in
//! [`backups`]. `GET /` sends a browser (an `Accept: text/html` request
//! without credentials) here; every other request to `/` is the data plane's.

mod backups;
mod data;
mod organization;
mod pages;
pub mod session;
mod settings;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Extension, Form, Router};
use redisgate_core::api;
use redisgate_core::store::DailyUsage;
use redisgate_gateway::quota::today;
use redisgate_gateway::ApiError;

use crate::Error;
use serde::Deserialize;
use uuid::Uuid;

use self::pages::Problems;
use self::session::Session;
use crate::api::extract::{ApiJson, ApiPath, Pagination};
use crate::api::usage::UsageQuery;
use crate::api::{auth, instances, organizations, usage, Platform};

const CSS: &str = include_str!("dashboard/assets/console.css");
const JS: &str = include_str!("dashboard/assets/console.js");
const DATA_JS: &str = include_str!("dashboard/assets/data.js");

/// The console's routes; nest them under `/console`.
pub fn router(platform: Platform) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login))
        .route("/signup", get(signup_page).post(signup))
        .route("/logout", post(logout))
        .route("/orgs", get(orgs).post(create_org))
        .route("/orgs/{org}/instances", get(instance_list).post(create_instance))
        .route("/orgs/{org}/instances/{id}", get(instance_page))
        .route("/orgs/{org}/instances/{id}/rotate", post(rotate))
        .route("/orgs/{org}/instances/{id}/settings", post(settings::update))
        .route("/orgs/{org}/instances/{id}/delete", post(delete))
        .route("/orgs/{org}/instances/{id}/backups", get(backups::list).post(backups::take))
        .route("/orgs/{org}/instances/{id}/backups/restore", post(backups::restore))
        .route("/orgs/{org}/instances/{id}/backups/{backup}/rdb", get(backups::download))
        .route("/orgs/{org}/keys", get(organization::keys).post(organization::create_key))
        .route("/orgs/{org}/keys/{key}/revoke", post(organization::revoke_key))
        .route("/orgs/{org}/audit", get(organization::audit))
        .route("/orgs/{org}/members", get(organization::members).post(organization::invite))
        .route("/orgs/{org}/members/{user}/role", post(organization::change_role))
        .route("/orgs/{org}/members/{user}/remove", post(organization::remove_member))
        .route("/invitations", get(organization::accept_page).post(organization::accept))
        .route("/static/console.css", get(|| async { ([(CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }))
        .route("/static/console.js", get(|| async { ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], JS) }))
        .route("/static/data.js", get(|| async { ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], DATA_JS) }))
        .route("/orgs/{org}/instances/{id}/data", get(data::data_page))
        .route("/orgs/{org}/instances/{id}/data-token", post(data::data_token))
        .fallback(|| async {
            (StatusCode::NOT_FOUND, Html(pages::failure("Not found", "No such page.", None).into_string()))
        })
        .layer(middleware::from_fn(session::same_origin_only))
        .layer(middleware::from_fn(session::security_headers))
        .with_state(platform)
}

/// What an API refusal shows on a form: an error per field for a validation failure, else one message.
pub(super) fn problems(error: &Error) -> Problems {
    match error {
        Error::Gateway(ApiError::Protocol(redisgate_core::Error::Validation(fields))) => {
            Problems { fields: fields.clone(), general: None }
        }
        other => Problems { fields: Default::default(), general: Some(other.to_string()) },
    }
}

/// A page that only says why `title` could not be done.
pub(super) fn failed(title: &str, error: &Error, session: &Session) -> Response {
    page(error.status(), pages::failure(title, &error.to_string(), Some(&session.csrf())))
}

/// The organization and one of its instances, as the caller may see them.
pub(super) async fn org_and_instance(
    platform: &Platform,
    session: &Session,
    org: Uuid,
    id: Uuid,
) -> Result<(api::Organization, api::Instance), Error> {
    let found = find_org(platform, session, org).await?;
    let principal = session.principal.clone();
    let axum::Json(instance) = instances::get_instance(State(platform.clone()), principal, ApiPath((org, id))).await?;
    Ok((found, instance))
}

pub(super) fn page(status: StatusCode, markup: maud::Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A refusal's status on a re-rendered form (a validation failure is a 422, as in the API).
fn refused(error: &Error) -> StatusCode {
    error.status()
}

type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

async fn index(session: Result<Session, session::SignIn>) -> Redirect {
    Redirect::to(if session.is_ok() { "/console/orgs" } else { "/console/login" })
}

async fn login_page() -> Response {
    page(StatusCode::OK, pages::account_form(false, "", &Problems::default()))
}

async fn signup_page() -> Response {
    page(StatusCode::OK, pages::account_form(true, "", &Problems::default()))
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

/// Starts a session: the cookie, then the organizations.
fn signed_in(platform: &Platform, session: &api::Session) -> Response {
    let secure = platform.urls.base.starts_with("https://");
    let mut response = Redirect::to("/console/orgs").into_response();
    response.headers_mut().insert(SET_COOKIE, session::set_cookie(&session.token, secure, platform.jwt_ttl_secs));
    response
}

async fn login(State(platform): State<Platform>, peer: Peer, Form(form): Form<Credentials>) -> Response {
    let body = api::Login { email: form.email.clone(), password: form.password };
    match auth::login(State(platform.clone()), peer, ApiJson(body)).await {
        Ok(axum::Json(session)) => signed_in(&platform, &session),
        Err(e) => page(refused(&e), pages::account_form(false, &form.email, &problems(&e))),
    }
}

async fn signup(State(platform): State<Platform>, peer: Peer, Form(form): Form<Credentials>) -> Response {
    let body = api::Login { email: form.email.clone(), password: form.password.clone() };
    if let Err(e) = auth::register(State(platform.clone()), peer, ApiJson(body.clone())).await {
        return page(refused(&e), pages::account_form(true, &form.email, &problems(&e)));
    }
    match auth::login(State(platform.clone()), peer, ApiJson(body)).await {
        Ok(axum::Json(session)) => signed_in(&platform, &session),
        Err(e) => page(refused(&e), pages::account_form(false, &form.email, &problems(&e))),
    }
}

#[derive(Deserialize)]
pub(super) struct Csrf {
    pub(super) csrf: String,
}

pub(super) fn bad_csrf(session: &Session) -> Response {
    let message = "This form has expired or did not come from this console. Go back and try again.";
    page(StatusCode::FORBIDDEN, pages::failure("Refused", message, Some(&session.csrf())))
}

/// Ends every session of the user (as `POST /api/auth/logout`) and forgets the cookie.
async fn logout(State(platform): State<Platform>, session: Session, Form(form): Form<Csrf>) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let _ = auth::logout(State(platform), session.principal).await;
    let mut response = Redirect::to("/console/login").into_response();
    response.headers_mut().insert(SET_COOKIE, session::clear_cookie());
    response
}

async fn list_orgs(platform: &Platform, session: &Session) -> Result<Vec<api::Organization>, Error> {
    let page =
        organizations::list_organizations(State(platform.clone()), session.principal.clone(), Pagination::default())
            .await?;
    Ok(page.0.items)
}

async fn orgs(State(platform): State<Platform>, session: Session) -> Response {
    match list_orgs(&platform, &session).await {
        Ok(orgs) => page(StatusCode::OK, pages::organizations(&orgs, &session.csrf(), &Problems::default(), "")),
        Err(e) => failed("Organizations", &e, &session),
    }
}

#[derive(Deserialize)]
struct NewOrg {
    csrf: String,
    name: String,
    slug: String,
}

async fn create_org(State(platform): State<Platform>, session: Session, Form(form): Form<NewOrg>) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let body = api::NewOrganization { name: form.name.clone(), slug: form.slug };
    match organizations::create_organization(State(platform.clone()), session.principal.clone(), ApiJson(body)).await {
        Ok((_, axum::Json(org))) => Redirect::to(&format!("/console/orgs/{}/instances", org.id)).into_response(),
        Err(e) => {
            let orgs = list_orgs(&platform, &session).await.unwrap_or_default();
            page(refused(&e), pages::organizations(&orgs, &session.csrf(), &problems(&e), &form.name))
        }
    }
}

/// The organization `org` as the caller sees it (404 when the caller is not a member, as in the API).
pub(super) async fn find_org(platform: &Platform, session: &Session, org: Uuid) -> Result<api::Organization, Error> {
    let principal = session.principal.clone();
    Ok(organizations::get_organization(State(platform.clone()), principal, ApiPath(org)).await?.0)
}

pub(super) async fn list_instances(
    platform: &Platform,
    session: &Session,
    org: Uuid,
) -> Result<Vec<api::Instance>, Error> {
    let page = instances::list_instances(
        State(platform.clone()),
        session.principal.clone(),
        ApiPath(org),
        Pagination::default(),
    )
    .await?;
    Ok(page.0.items)
}

/// Each instance (already listed for the caller) with the commands it ran today, read in one query
/// (`None` when the database cannot tell).
async fn with_today(platform: &Platform, items: Vec<api::Instance>) -> Vec<(api::Instance, Option<u64>)> {
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    let counts = match platform.pool.get().await {
        Ok(mut conn) => DailyUsage::of_day(&mut conn, crate::usage::date(today()), &ids).await.ok(),
        Err(_) => None,
    };
    items
        .into_iter()
        .map(|item| {
            let today = counts.as_ref().map(|counts| {
                counts.iter().find(|(id, _)| *id == item.id).map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
            });
            (item, today)
        })
        .collect()
}

async fn instance_list(State(platform): State<Platform>, session: Session, ApiPath(org): ApiPath<Uuid>) -> Response {
    let listed = async {
        let found = find_org(&platform, &session, org).await?;
        Ok::<_, Error>((list_instances(&platform, &session, org).await?, found))
    };
    match listed.await {
        Ok((items, org)) => {
            let rows = with_today(&platform, items).await;
            page(StatusCode::OK, pages::instances(&org, &rows, &session.csrf(), &Problems::default(), ""))
        }
        Err(e) => failed("Instances", &e, &session),
    }
}

#[derive(Deserialize)]
struct NewInstance {
    csrf: String,
    name: String,
    memory_mib: i64,
    replicas: u8,
    #[serde(default)]
    min_replicas_to_write: u8,
    /// More than 0: a Redis Cluster of this many shards, `replicas` replicas each.
    #[serde(default)]
    shards: u8,
}

async fn create_instance(
    State(platform): State<Platform>,
    session: Session,
    ApiPath(org): ApiPath<Uuid>,
    Form(form): Form<NewInstance>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let found = match find_org(&platform, &session, org).await {
        Ok(found) => found,
        Err(e) => return failed("Instances", &e, &session),
    };
    let mut body = api::NewInstance::new(&form.name, form.memory_mib.saturating_mul(1 << 20), "7.2");
    if form.shards > 0 {
        body = body.with_topology(api::Topology::Cluster { shards: form.shards, replicas_per_shard: form.replicas });
    } else if form.replicas > 0 {
        body = body.with_topology(api::Topology::Replicated {
            replicas: form.replicas,
            min_replicas_to_write: form.min_replicas_to_write,
        });
    }
    let principal = session.principal.clone();
    match instances::create_instance(State(platform.clone()), principal, ApiPath(org), ApiJson(body)).await {
        Ok((status, axum::Json(created))) => page(
            status,
            pages::instance(
                &found,
                &created.instance,
                Some(&created.credentials),
                None,
                &session.csrf(),
                &Problems::default(),
            ),
        ),
        Err(e) => {
            let items = list_instances(&platform, &session, org).await.unwrap_or_default();
            let rows = with_today(&platform, items).await;
            page(refused(&e), pages::instances(&found, &rows, &session.csrf(), &problems(&e), &form.name))
        }
    }
}

async fn instance_page(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
) -> Response {
    let shown = async {
        let (found, instance) = org_and_instance(&platform, &session, org, id).await?;
        let principal = session.principal.clone();
        let week = Ok(axum::extract::Query(UsageQuery { days: Some(7) }));
        let used = usage::get_usage(State(platform.clone()), principal, ApiPath((org, id)), week).await.ok();
        Ok::<_, Error>((found, instance, used.map(|u| u.0)))
    };
    match shown.await {
        Ok((org, instance, used)) => page(
            StatusCode::OK,
            pages::instance(&org, &instance, None, used.as_ref(), &session.csrf(), &Problems::default()),
        ),
        Err(e) => failed("Instance", &e, &session),
    }
}

async fn rotate(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
    Form(form): Form<Csrf>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let rotated = async {
        let found = find_org(&platform, &session, org).await?;
        let principal = session.principal.clone();
        let axum::Json(secrets) =
            instances::rotate_credentials(State(platform.clone()), principal.clone(), ApiPath((org, id))).await?;
        let axum::Json(instance) =
            instances::get_instance(State(platform.clone()), principal, ApiPath((org, id))).await?;
        Ok::<_, Error>((found, instance, secrets))
    };
    match rotated.await {
        Ok((org, instance, secrets)) => page(
            StatusCode::OK,
            pages::instance(&org, &instance, Some(&secrets), None, &session.csrf(), &Problems::default()),
        ),
        Err(e) => failed("Rotate tokens", &e, &session),
    }
}

#[derive(Deserialize)]
struct Delete {
    csrf: String,
    confirm: String,
}

/// Deletes the instance once its name was typed again.
async fn delete(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
    Form(form): Form<Delete>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let deleted = async {
        let (found, instance) = org_and_instance(&platform, &session, org, id).await?;
        let principal = session.principal.clone();
        if form.confirm.trim() != instance.name {
            return Ok(Some((found, instance)));
        }
        let _deleting = instances::delete_instance(State(platform.clone()), principal, ApiPath((org, id))).await?;
        Ok::<_, Error>(None)
    };
    match deleted.await {
        Ok(None) => Redirect::to(&format!("/console/orgs/{org}/instances")).into_response(),
        Ok(Some((found, instance))) => {
            page(StatusCode::UNPROCESSABLE_ENTITY, pages::confirm_delete(&found, &instance, &session.csrf()))
        }
        Err(e) => failed("Delete", &e, &session),
    }
}
