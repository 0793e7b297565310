//! The console's session and its protections.
//!
//! - The session is the management API's own session token, kept in the `rg_session` cookie:
//!   `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it), `Path=/console`,
//!   and `Secure` when the platform's public URL is HTTPS. Logging out ends it on the server as
//!   `POST /api/auth/logout` does, so a copied cookie stops working too.
//! - Every form that changes something carries a CSRF token derived from the session token (a SHA-256 that
//!   only the session's holder can compute), compared in constant time. Independently, a request that a
//!   browser marks as cross-site (`Sec-Fetch-Site`), or whose `Origin` is another host, is refused before any
//!   handler runs.

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::api::principal::Principal;
use crate::api::Platform;

/// The session cookie.
pub const COOKIE_NAME: &str = "rg_session";

/// A signed-in user of the console.
pub struct Session {
    /// Who they are (always a user: keys do not log in here).
    pub principal: Principal,
    /// The session token (the cookie's value).
    pub token: String,
}

impl Session {
    /// The CSRF token of this session's forms.
    #[must_use]
    pub fn csrf(&self) -> String {
        csrf_for(&self.token)
    }

    /// Whether `presented` is this session's CSRF token.
    #[must_use]
    pub fn csrf_ok(&self, presented: &str) -> bool {
        bool::from(presented.as_bytes().ct_eq(self.csrf().as_bytes()))
    }
}

fn csrf_for(token: &str) -> String {
    let digest = Sha256::digest(format!("redisgate-console-csrf\0{token}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The cookie's value in `headers`, if any.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('=').map(str::to_owned))
        .filter(|value| !value.is_empty())
}

/// Not signed in (or the session ended): the login page.
pub struct SignIn;

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        let mut response = Redirect::to("/console/login").into_response();
        response.headers_mut().insert(SET_COOKIE, clear_cookie());
        response
    }
}

impl FromRequestParts<Platform> for Session {
    type Rejection = SignIn;

    async fn from_request_parts(parts: &mut Parts, platform: &Platform) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers).ok_or(SignIn)?;
        match Principal::from_token(platform, &token).await {
            Ok(principal @ Principal::User(_)) => Ok(Self { principal, token }),
            _ => Err(SignIn),
        }
    }
}

/// The `Set-Cookie` that starts a session with `token` (`secure` over HTTPS).
#[must_use]
pub fn set_cookie(token: &str, secure: bool, max_age: i64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| clear_cookie())
}

/// The `Set-Cookie` that forgets the session.
#[must_use]
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("rg_session=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Refuses a state-changing request that comes from another site, whatever it carries: `Sec-Fetch-Site`
/// other than `same-origin` or `none`, or an `Origin` whose host is not the request's.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD && !same_origin(request.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(request).await
}

fn same_origin(headers: &HeaderMap) -> bool {
    // Browsers set `Sec-Fetch-Site` themselves (no page can forge it); older ones only send `Origin`.
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match (headers.get(ORIGIN).and_then(|v| v.to_str().ok()), headers.get(HOST).and_then(|v| v.to_str().ok())) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, authority)| authority == host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Headers on every console response: a strict Content-Security-Policy (scripts and styles from the console
/// only, nothing inline, no framing), no referrer to other sites, no MIME sniffing, no caching of pages that may hold a
/// token.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    // `same-origin`, not `no-referrer`: with the latter a browser sends `Origin: null` on the console's own forms.
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.entry("cache-control").or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_csrf_follows_the_session() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; rg_session=tok; b=2"));
        assert_eq!(cookie(&headers).as_deref(), Some("tok"));
        assert_ne!(csrf_for("one"), csrf_for("two"));
        assert_eq!(csrf_for("one").len(), 32);
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            pairs.iter().map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v))).collect::<HeaderMap>()
        };
        assert!(same_origin(&headers(&[("host", "gw:8080"), ("origin", "http://gw:8080")])));
        assert!(!same_origin(&headers(&[("host", "gw:8080"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        // A browser's own word wins over an `Origin: null` (sent under some referrer policies).
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin"), ("origin", "null"), ("host", "gw")])));
        assert!(!same_origin(&headers(&[("origin", "null"), ("host", "gw")])));
        assert!(same_origin(&headers(&[])));
    }
}
