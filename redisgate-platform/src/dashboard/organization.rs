//! An organization's members (invited with a code shown once, roles changed, removed), its API keys
//! (created with their scopes, the secret shown once; revoked) and its audit log, through the management
//! API's handlers (so only admins and owners change them, as in the API).

use crate::Error;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use redisgate_core::api;
use redisgate_core::limits::Limits;
use uuid::Uuid;

use super::pages::{self, Problems};
use super::session::Session;
use super::{bad_csrf, failed, find_org, list_instances, page, problems, Csrf};
use crate::api::extract::{ApiJson, ApiPath, Pagination};
use crate::api::{api_keys, members as member_api, plans, Platform};

async fn list_keys(platform: &Platform, session: &Session, org: Uuid) -> Result<Vec<api::ApiKey>, Error> {
    let page = api_keys::list_api_keys(
        State(platform.clone()),
        session.principal.clone(),
        ApiPath(org),
        Pagination::default(),
    )
    .await?;
    Ok(page.0.items)
}

pub(super) async fn keys(State(platform): State<Platform>, session: Session, ApiPath(org): ApiPath<Uuid>) -> Response {
    let listed = async {
        let found = find_org(&platform, &session, org).await?;
        let keys = list_keys(&platform, &session, org).await?;
        Ok::<_, Error>((found, keys, list_instances(&platform, &session, org).await?))
    };
    match listed.await {
        Ok((found, items, instances)) => {
            page(StatusCode::OK, pages::keys(&found, &items, &instances, None, &session.csrf(), &Problems::default()))
        }
        Err(e) => failed("API keys", &e, &session),
    }
}

/// The key form: a name, any number of `scope` checkboxes (a repeated field, so parsed by hand), and the
/// one instance it is limited to, if any.
fn key_form(body: &str) -> (Option<String>, Result<api::NewApiKey, Problems>) {
    let (mut csrf, mut name, mut scopes, mut instance, mut bad_scope) = (None, String::new(), Vec::new(), None, None);
    let fields = form_urlencoded(body);
    let limits = super::settings::limits_of(&fields);
    for (key, value) in fields {
        match key.as_str() {
            "csrf" => csrf = Some(value),
            "name" => name = value,
            "scope" => match value.parse::<api::Scope>() {
                Ok(scope) => scopes.push(scope),
                Err(problem) => bad_scope = Some(problem),
            },
            "instance" => instance = Uuid::parse_str(&value).ok(),
            _ => {}
        }
    }
    let mut new = api::NewApiKey::new(name, scopes);
    new.instance_id = instance;
    let new = match (limits, bad_scope) {
        (Ok(limits), None) => {
            new.limits = (limits != Limits::default()).then_some(limits);
            Ok(new)
        }
        // Every problem at once: the limits' and the scopes'.
        (limits, bad_scope) => {
            let mut problems = limits.err().unwrap_or_default();
            problems.fields.extend(bad_scope.map(|problem| ("scopes".to_owned(), problem)));
            Err(problems)
        }
    };
    (csrf, new)
}

fn form_urlencoded(body: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(body).unwrap_or_default()
}

pub(super) async fn create_key(
    State(platform): State<Platform>,
    session: Session,
    ApiPath(org): ApiPath<Uuid>,
    body: String,
) -> Response {
    let (csrf, new) = key_form(&body);
    if !csrf.is_some_and(|csrf| session.csrf_ok(&csrf)) {
        return bad_csrf(&session);
    }
    let found = match find_org(&platform, &session, org).await {
        Ok(found) => found,
        Err(e) => return failed("API keys", &e, &session),
    };
    let created = match new {
        Ok(new) => {
            api_keys::create_api_key(State(platform.clone()), session.principal.clone(), ApiPath(org), ApiJson(new))
                .await
                .map_err(|e| (e.status(), problems(&e)))
        }
        Err(refused) => Err((StatusCode::UNPROCESSABLE_ENTITY, refused)),
    };
    let items = list_keys(&platform, &session, org).await.unwrap_or_default();
    let instances = list_instances(&platform, &session, org).await.unwrap_or_default();
    match created {
        Ok((status, axum::Json(created))) => {
            page(status, pages::keys(&found, &items, &instances, Some(&created), &session.csrf(), &Problems::default()))
        }
        Err((status, refused)) => {
            page(status, pages::keys(&found, &items, &instances, None, &session.csrf(), &refused))
        }
    }
}

pub(super) async fn revoke_key(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, key)): ApiPath<(Uuid, Uuid)>,
    Form(form): Form<Csrf>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    match api_keys::revoke_api_key(State(platform), session.principal.clone(), ApiPath((org, key))).await {
        Ok(_) => Redirect::to(&format!("/console/orgs/{org}/keys")).into_response(),
        Err(e) => failed("Revoke", &e, &session),
    }
}

pub(super) async fn audit(State(platform): State<Platform>, session: Session, ApiPath(org): ApiPath<Uuid>) -> Response {
    let listed = async {
        let found = find_org(&platform, &session, org).await?;
        let principal = session.principal.clone();
        let entries =
            plans::get_audit_log(State(platform.clone()), principal, ApiPath(org), Pagination::default()).await?;
        Ok::<_, Error>((found, entries.0.items))
    };
    match listed.await {
        Ok((found, entries)) => page(StatusCode::OK, pages::audit(&found, &entries, &session.csrf())),
        Err(e) => failed("Audit log", &e, &session),
    }
}

async fn list_members(platform: &Platform, session: &Session, org: Uuid) -> Result<Vec<api::Member>, Error> {
    let principal = session.principal.clone();
    let page =
        member_api::list_members(State(platform.clone()), principal, ApiPath(org), Pagination::default()).await?;
    Ok(page.0.items)
}

pub(super) async fn members(
    State(platform): State<Platform>,
    session: Session,
    ApiPath(org): ApiPath<Uuid>,
) -> Response {
    let listed = async {
        Ok::<_, Error>((find_org(&platform, &session, org).await?, list_members(&platform, &session, org).await?))
    };
    match listed.await {
        Ok((found, items)) => {
            page(StatusCode::OK, pages::members(&found, &items, None, &session.csrf(), &Problems::default()))
        }
        Err(e) => failed("Members", &e, &session),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct Invite {
    csrf: String,
    email: String,
    role: api::Role,
}

pub(super) async fn invite(
    State(platform): State<Platform>,
    session: Session,
    ApiPath(org): ApiPath<Uuid>,
    Form(form): Form<Invite>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let found = match find_org(&platform, &session, org).await {
        Ok(found) => found,
        Err(e) => return failed("Members", &e, &session),
    };
    let body = api::NewInvitation { email: form.email, role: form.role };
    let made =
        member_api::invite(State(platform.clone()), session.principal.clone(), ApiPath(org), ApiJson(body)).await;
    let items = list_members(&platform, &session, org).await.unwrap_or_default();
    match made {
        Ok((status, axum::Json(invited))) => {
            page(status, pages::members(&found, &items, Some(&invited), &session.csrf(), &Problems::default()))
        }
        Err(e) => page(e.status(), pages::members(&found, &items, None, &session.csrf(), &problems(&e))),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct Role {
    csrf: String,
    role: api::Role,
}

pub(super) async fn change_role(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, user)): ApiPath<(Uuid, Uuid)>,
    Form(form): Form<Role>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let change = ApiJson(api::RoleChange { role: form.role });
    match member_api::update_member(State(platform), session.principal.clone(), ApiPath((org, user)), change).await {
        Ok(_) => Redirect::to(&format!("/console/orgs/{org}/members")).into_response(),
        Err(e) => failed("Change a role", &e, &session),
    }
}

pub(super) async fn remove_member(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, user)): ApiPath<(Uuid, Uuid)>,
    Form(form): Form<Csrf>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    match member_api::remove_member(State(platform), session.principal.clone(), ApiPath((org, user))).await {
        Ok(_) => Redirect::to("/console/orgs").into_response(),
        Err(e) => failed("Remove a member", &e, &session),
    }
}

pub(super) async fn accept_page(session: Session) -> Response {
    page(StatusCode::OK, pages::accept(&session.csrf(), &Problems::default()))
}

#[derive(serde::Deserialize)]
pub(super) struct Code {
    csrf: String,
    code: String,
}

pub(super) async fn accept(State(platform): State<Platform>, session: Session, Form(form): Form<Code>) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return bad_csrf(&session);
    }
    let code = ApiJson(api::InvitationCode { code: form.code.trim().to_owned() });
    match member_api::accept_invitation(State(platform), session.principal.clone(), code).await {
        Ok((_, axum::Json(org))) => Redirect::to(&format!("/console/orgs/{}/instances", org.id)).into_response(),
        Err(e) => page(e.status(), pages::accept(&session.csrf(), &problems(&e))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_form_names_every_problem_at_once() {
        let (csrf, new) = super::key_form("csrf=c&name=k&scope=data%3Aread&scope=root&max_key_size=abc");
        assert_eq!(csrf.as_deref(), Some("c"));
        let problems = new.expect_err("a bad scope and a bad limit");
        assert!(problems.fields.contains_key("scopes") && problems.fields.contains_key("max_key_size"), "{problems:?}");
        let (_, new) = super::key_form("csrf=c&name=k&scope=data%3Aread&max_key_size=64");
        let new = new.expect("a valid key");
        assert_eq!(new.scopes, [redisgate_core::api::Scope::DataRead]);
        assert_eq!(new.limits.and_then(|l| l.max_key_size).map(u64::from), Some(64));
    }
}
