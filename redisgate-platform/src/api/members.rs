//! `/api/organizations/{org_id}/members` (list, change role, remove) and invitations: an admin invites an
//! email and passes the code on; the user with that email accepts with the code (`POST /api/invitations/accept`).
//!
//! Nobody is added without consent, and inviting answers the same whether or not the email has an account.
//! Admins and owners manage members; only owners make or unmake owners; the last owner cannot leave or be
//! demoted (checked with the owners locked, so two changes at once cannot both pass). A member who leaves
//! takes the API keys they made with them.

use crate::Error;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use diesel_async::AsyncConnection as _;
use redisgate_core::api::{self, Page, Role};
use redisgate_core::auth::token::{generate, INVITATION_PREFIX};
use redisgate_core::auth::TokenHash;
use redisgate_core::store::{ApiKey, Invitation, Membership, Organization, User};
use serde_json::json;
use uuid::Uuid;

use super::auth::normalize_email;
use super::extract::{ApiJson, ApiPath, Pagination};
use super::principal::{Need, OrgAccess, Principal};
use super::Platform;

/// How long an invitation can be accepted.
const INVITATION_DAYS: u64 = 7;

fn check_role(role: Role, access: &OrgAccess) -> Result<(), Error> {
    if role == Role::Owner && access.role != Some(Role::Owner) {
        return Err(Error::Forbidden("only owners can make owners"));
    }
    Ok(())
}

/// The organization's members.
#[utoipa::path(get, path = "/organizations/{org_id}/members", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::Member>), (status = 404, description = "no such organization")))]
pub async fn list_members(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    pagination: Pagination,
) -> Result<Json<Page<api::Member>>, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Read).await?;
    principal.user()?;
    let page = pagination.page();
    let items = Membership::list(&mut conn, org_id, page)
        .await?
        .into_iter()
        .map(|(m, email)| api::Member { user_id: m.user_id, email, role: m.role, joined_at: m.created_at })
        .collect();
    Ok(Json(page.answer(items)))
}

/// Invites an email; the answer carries the code, once, and is the same whether or not the email has an
/// account. Inviting the same email again replaces the invitation.
#[utoipa::path(post, path = "/organizations/{org_id}/invitations", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)), request_body = api::NewInvitation,
    responses((status = 201, body = api::CreatedInvitation), (status = 403, description = "not an admin"), (status = 404, description = "no such organization"), (status = 422, description = "invalid fields")))]
pub async fn invite(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<api::NewInvitation>,
) -> Result<(StatusCode, Json<api::CreatedInvitation>), Error> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Administer).await?;
    let email = normalize_email(&body.email).map_err(|e| Error::field("email", e))?;
    check_role(body.role, &access)?;
    let (code, hash) = generate(INVITATION_PREFIX);
    let now = Utc::now();
    let invitation = Invitation {
        id: Uuid::new_v4(),
        organization_id: org_id,
        email,
        role: body.role,
        code_hash: hash.as_bytes().to_vec(),
        invited_by: principal.user().ok().map(|u| u.id),
        created_at: now,
        expires_at: now + chrono::Days::new(INVITATION_DAYS),
    }
    .upsert(&mut conn)
    .await?;
    let details = json!({"role": invitation.role});
    principal.audit(&mut conn, Some(org_id), "invitation.create", "invitation", Some(invitation.id), details).await?;
    Ok((StatusCode::CREATED, Json(api::CreatedInvitation { invitation: invitation.into(), code })))
}

/// The organization's pending invitations.
#[utoipa::path(get, path = "/organizations/{org_id}/invitations", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::Invitation>), (status = 403, description = "not an admin"), (status = 404, description = "no such organization")))]
pub async fn list_invitations(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    pagination: Pagination,
) -> Result<Json<Page<api::Invitation>>, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Administer).await?;
    let page = pagination.page();
    let items = Invitation::list_in(&mut conn, org_id, page).await?.into_iter().map(api::Invitation::from).collect();
    Ok(Json(page.answer(items)))
}

/// Withdraws an invitation.
#[utoipa::path(delete, path = "/organizations/{org_id}/invitations/{invitation_id}", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "not an admin"), (status = 404, description = "no such invitation")))]
pub async fn withdraw_invitation(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Administer).await?;
    if !Invitation::delete(&mut conn, org_id, id).await? {
        return Err(Error::NotFound("invitation"));
    }
    principal.audit(&mut conn, Some(org_id), "invitation.withdraw", "invitation", Some(id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepts an invitation made for the caller's email: the caller joins its organization.
#[utoipa::path(post, path = "/invitations/accept", tag = "members", security(("bearer" = [])),
    request_body = api::InvitationCode,
    responses((status = 201, body = api::Organization), (status = 403, description = "an API key, not a session"), (status = 404, description = "no such invitation for this account, or it lapsed"), (status = 409, description = "already a member")))]
pub async fn accept_invitation(
    State(platform): State<Platform>,
    principal: Principal,
    ApiJson(body): ApiJson<api::InvitationCode>,
) -> Result<(StatusCode, Json<api::Organization>), Error> {
    let user = principal.user()?;
    let hash = TokenHash::of(body.code.as_bytes());
    let mut conn = platform.pool.get().await?;
    let (invitation, org) = conn
        .transaction(async |conn| {
            let invitation =
                Invitation::take(conn, hash.as_bytes(), &user.email).await?.ok_or(Error::NotFound("invitation"))?;
            if invitation.role == Role::Owner {
                owner_room(conn, user.id, platform.max_organizations_per_user).await?;
            }
            Membership::insert(conn, invitation.organization_id, user.id, invitation.role)
                .await
                .map_err(|e| super::duplicate(e, "already a member"))?;
            let org =
                Organization::find(conn, invitation.organization_id).await?.ok_or(Error::NotFound("invitation"))?;
            Ok::<_, Error>((invitation, org))
        })
        .await?;
    let details = json!({"role": invitation.role, "invitation": invitation.id});
    principal.audit(&mut conn, Some(org.id), "member.join", "user", Some(user.id), details).await?;
    Ok((StatusCode::CREATED, Json(org.into_api(Some(invitation.role)))))
}

/// Changes a member's role. A demotion revokes the API keys the member made in the organization: a key
/// could otherwise keep rights its maker no longer has (they make new ones within their new role).
#[utoipa::path(patch, path = "/organizations/{org_id}/members/{user_id}", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = api::RoleChange,
    responses((status = 200, body = api::Member), (status = 403, description = "not allowed"), (status = 404, description = "no such member"), (status = 409, description = "last owner")))]
pub async fn update_member(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, user_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<api::RoleChange>,
) -> Result<Json<api::Member>, Error> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Administer).await?;
    check_role(body.role, &access)?;
    let (membership, revoked) = conn
        .transaction(async |conn| {
            let owners = Membership::lock_owners(conn, org_id).await?;
            let current = Membership::find(conn, org_id, user_id).await?.ok_or(Error::NotFound("member"))?;
            if current.role == Role::Owner && access.role != Some(Role::Owner) {
                return Err(Error::Forbidden("only owners can change an owner's role"));
            }
            if current.role == Role::Owner && body.role != Role::Owner && owners <= 1 {
                return Err(Error::Conflict("the last owner cannot be demoted".into()));
            }
            if body.role == Role::Owner && current.role != Role::Owner {
                owner_room(conn, user_id, platform.max_organizations_per_user).await?;
            }
            let membership = Membership::set_role(conn, org_id, user_id, body.role).await?;
            let revoked =
                if body.role < current.role { ApiKey::revoke_made_by(conn, org_id, user_id).await? } else { 0 };
            Ok((membership, revoked))
        })
        .await?;
    let email = User::find(&mut conn, user_id).await?.map(|u| u.email).unwrap_or_default();
    let details = json!({"role": body.role, "revoked_api_keys": revoked});
    principal.audit(&mut conn, Some(org_id), "member.update", "user", Some(user_id), details).await?;
    Ok(Json(api::Member { user_id, email, role: membership.role, joined_at: membership.created_at }))
}

/// Removes a member (members may remove themselves); the API keys they made in the organization are revoked.
#[utoipa::path(delete, path = "/organizations/{org_id}/members/{user_id}", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "not allowed"), (status = 404, description = "no such member"), (status = 409, description = "last owner")))]
pub async fn remove_member(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, user_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    let mut conn = platform.pool.get().await?;
    let me = principal.user().ok().map(|u| u.id);
    let need = if me == Some(user_id) { Need::Read } else { Need::Administer };
    let access = principal.authorize(&mut conn, org_id, need).await?;
    let revoked = conn
        .transaction(async |conn| {
            let owners = Membership::lock_owners(conn, org_id).await?;
            let current = Membership::find(conn, org_id, user_id).await?.ok_or(Error::NotFound("member"))?;
            if current.role == Role::Owner {
                if access.role != Some(Role::Owner) {
                    return Err(Error::Forbidden("only owners can remove an owner"));
                }
                if owners <= 1 {
                    return Err(Error::Conflict("the last owner cannot leave".into()));
                }
            }
            Membership::delete(conn, org_id, user_id).await?;
            Ok(ApiKey::revoke_made_by(conn, org_id, user_id).await?)
        })
        .await?;
    let details = json!({"revoked_api_keys": revoked});
    principal.audit(&mut conn, Some(org_id), "member.remove", "user", Some(user_id), details).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses to make `user` an owner of one more organization when they own as many as a user may (the same
/// cap as creating one).
async fn owner_room(conn: &mut diesel_async::AsyncPgConnection, user: Uuid, max: i64) -> Result<(), Error> {
    if Organization::may_own_another(conn, user, max).await? {
        return Ok(());
    }
    Err(Error::PlanExceeded(format!("a user may own at most {max} organizations")))
}
