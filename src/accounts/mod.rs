//! Accounts: users, their roles and status, credentials. (Sign-up, sessions and the rest of the
//! identity issue build on these types.)
pub mod components;
#[cfg(feature = "ssr")]
pub mod hashing;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;

use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($text => Ok($name::$variant),)+ other => Err(format!("unknown {}: {other}", stringify!($name))) }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> { s.parse() }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use text_enum;

text_enum!(
    /// What a user may do: `USER` buys and builds a programme, `STAFF_SCAN` scans at the door, `ADMIN` runs the conference.
    Role { User => "USER", Admin => "ADMIN", StaffScan => "STAFF_SCAN" }
);

text_enum!(UserStatus { Active => "ACTIVE", Disabled => "DISABLED" });

text_enum!(ConsentType { Terms => "TERMS_ACCEPTED", Privacy => "PRIVACY_ACCEPTED", Marketing => "MARKETING_OPTIN" });

/// The logged-in user, as the pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub role: Role,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub verified: bool,
    pub locale: crate::i18n::Locale,
}

impl AuthUser {
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => format!("{f} {l}"),
            (Some(f), None) => f.clone(),
            _ => self.email.clone(),
        }
    }
}

/// One of my active sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: uuid::Uuid,
    pub user_agent: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    pub current: bool,
}

/// My profile, for `/account`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// Printed on the badge.
    #[serde(default)]
    pub company: Option<String>,
    pub locale: crate::i18n::Locale,
    pub verified: bool,
}

/// Where a form or a link may send the reader afterwards (`next=`): a path of this site only, else
/// `/`. The login form and `/lang/xx` both go through it.
///
/// A browser reads `//host`, `/\host` and `/<tab>/host` (it drops tabs and newlines) as another
/// site. So `next` must start with `/` and hold no control character, no `//` and no backslash,
/// neither as given nor once percent-decoded (as many times as it decodes); its path (before `?` or
/// `#`) may not hold an encoded `/` or `\` either. What passes has its non-ASCII bytes and spaces
/// percent-encoded, so it is always a valid `Location` header.
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| is_safe_next(n))
        .map(encode_unsafe_bytes)
        .unwrap_or_else(|| "/".to_string())
}

fn is_safe_next(next: &str) -> bool {
    if !next.starts_with('/') || next.len() > 2000 {
        return false;
    }
    let mut layer = next.to_string();
    // Each round checks one layer of encoding; a value still encoded after a few is refused.
    for _ in 0..4 {
        let path = layer
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if layer.chars().any(char::is_control)
            || layer.contains("//")
            || layer.contains('\\')
            || path.contains("%2f")
            || path.contains("%5c")
        {
            return false;
        }
        let decoded = percent_decode(&layer);
        if decoded == layer {
            return true;
        }
        layer = decoded;
    }
    false
}

/// `%XX` sequences to their bytes (anything else as is); invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode_unsafe_bytes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The password rules, checked on the server (and shown next to the field).
pub fn check_password(password: &str, email: &str) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    let n = password.chars().count();
    if n < 10 {
        return Err(AppError::invalid(
            "password",
            "accounts.error.password_short",
        ));
    }
    if n > 256 {
        return Err(AppError::invalid(
            "password",
            "accounts.error.password_long",
        ));
    }
    let lower = password.to_lowercase();
    let local = email.trim().to_lowercase();
    let local = local.split('@').next().unwrap_or("");
    if COMMON_PASSWORDS.contains(&lower.as_str())
        || (!local.is_empty() && lower == local)
        || lower
            .chars()
            .all(|c| c == lower.chars().next().unwrap_or(' '))
    {
        return Err(AppError::invalid(
            "password",
            "accounts.error.password_common",
        ));
    }
    Ok(())
}

/// Frequent passwords of 10 characters or more (from public breach corpora), French ones included.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "0123456789",
    "12345678910",
    "123456789a",
    "1234567890a",
    "qwertyuiop",
    "azertyuiop",
    "password123",
    "password1234",
    "password12",
    "motdepasse",
    "motdepasse1",
    "motdepasse123",
    "iloveyou123",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwerty1234",
    "qwerty12345",
    "azerty1234",
    "azerty123456",
    "abcdefghij",
    "abc1234567",
    "aaaaaaaaaa",
    "0987654321",
    "9876543210",
    "1111111111",
    "123123123123",
    "football123",
    "baseball123",
    "sunshine123",
    "princess123",
    "welcome123",
    "welcome1234",
    "letmein123",
    "administrator",
    "admin12345",
    "admin123456",
    "changeme123",
    "passw0rd123",
    "p@ssw0rd123",
    "soleil1234",
    "bonjour123",
    "doudou1234",
    "chouchou123",
    "marseille13",
    "loulou1234",
    "tessera2027",
    "conference",
    "conference2027",
    "qwertyuiop123",
    "zaq12wsxcde",
    "trustno1234",
    "dragon12345",
    "monkey12345",
    "superman123",
    "starwars123",
    "passwordpassword",
    "jetaime1234",
    "nicolas1234",
    "camille1234",
    "1234554321",
    "1122334455",
    "5555555555",
];

/// Where login sends a person whose accepted terms or privacy policy are older than
/// `CONSENT_VERSION`; the page posts `privacy::accept_current_terms` with the `next` it was given.
pub const CONSENT_PAGE: &str = "/account/consent";

/// The consent page's address, carrying where to go afterwards (`next`, already a safe path of
/// this site: see [`crate::accounts::safe_next`]), percent-encoded as one query value.
pub fn consent_path(next: &str) -> String {
    let encoded: String = next
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{CONSENT_PAGE}?next={encoded}")
}

/// A person's name as SQL over a profiles alias and a users alias: "first last", else the email
/// (NULL when both aliases come from a LEFT JOIN that found nobody).
#[macro_export]
macro_rules! person_name_sql {
    ($p:ident, $u:ident) => {
        concat!(
            "COALESCE(NULLIF(TRIM(COALESCE(",
            stringify!($p),
            ".first_name, '') || ' ' || COALESCE(",
            stringify!($p),
            ".last_name, '')), ''), ",
            stringify!($u),
            ".email)"
        )
    };
}

#[server(prefix = "/api", endpoint = "me")]
pub async fn get_me() -> Result<Option<AuthUser>, crate::error::AppError> {
    Ok(session::current_user().await?.map(|(u, _)| u))
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "signup")]
pub async fn signup(
    email: String,
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
    terms: Option<String>,
    privacy: Option<String>,
    marketing: Option<String>,
) -> Result<(), crate::error::AppError> {
    let state = crate::server::state()?;
    let form = service::SignupForm {
        email,
        password,
        first_name,
        last_name,
        terms: terms.is_some(),
        privacy: privacy.is_some(),
        marketing: marketing.is_some(),
        locale: crate::i18n::initial_locale(),
    };
    service::signup(&state, form).await?;
    leptos_axum::redirect("/signup/sent");
    Ok(())
}

#[server(prefix = "/api", endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), crate::error::AppError> {
    let state = crate::server::state()?;
    let user_id = service::login(&state, &email, &password).await?;
    let next = safe_next(next.as_deref());
    // Terms or privacy policy accepted in an older version than `CONSENT_VERSION`: the person
    // accepts the current ones (the consent page) before going on to `next`.
    let target = if service::needs_consent(&state.db, &state.config, user_id).await? {
        consent_path(&next)
    } else {
        next
    };
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), crate::error::AppError> {
    let state = crate::server::state()?;
    service::logout(&state).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/api", endpoint = "logout_everywhere")]
pub async fn logout_everywhere() -> Result<(), crate::error::AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::end_all_sessions(&state.db, user.id).await?;
    session::clear_session_cookie(&state.config);
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/api", endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionInfo>, crate::error::AppError> {
    let user = session::require_user().await?;
    let current = session::current_user().await?.map(|(_, s)| s);
    let state = crate::server::state()?;
    service::sessions_of(&state.db, user.id, current).await
}

#[server(prefix = "/api", endpoint = "revoke_session")]
pub async fn revoke_session(id: uuid::Uuid) -> Result<(), crate::error::AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::revoke_session(&state.db, user.id, id).await
}

#[server(prefix = "/api", endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), crate::error::AppError> {
    let state = crate::server::state()?;
    service::request_password_reset(&state, &email).await?;
    leptos_axum::redirect("/forgot-password/sent");
    Ok(())
}

#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), crate::error::AppError> {
    let state = crate::server::state()?;
    service::reset_password(&state, &token, &password).await?;
    leptos_axum::redirect("/account?reset=1");
    Ok(())
}

#[server(prefix = "/api", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<(), crate::error::AppError> {
    let state = crate::server::state()?;
    let signed_in = service::verify_email(&state, &token).await?;
    // Confirmed; whoever is not (now) logged in as the link's account is asked to log in.
    leptos_axum::redirect(if signed_in {
        "/account?verified=1"
    } else {
        "/login?verified=1"
    });
    Ok(())
}

#[server(prefix = "/api", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), crate::error::AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::send_verification(&state, &user).await
}

#[server(prefix = "/api", endpoint = "my_profile")]
pub async fn my_profile() -> Result<Profile, crate::error::AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::profile(&state.db, user.id).await
}

#[server(prefix = "/api", endpoint = "update_profile")]
pub async fn update_profile(
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    locale: String,
    company: Option<String>,
) -> Result<(), crate::error::AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    let names = service::ProfileNames {
        first_name,
        last_name,
        company,
    };
    service::update_profile(&state.db, user.id, names, phone, &locale).await
}

#[server(prefix = "/api", endpoint = "change_email")]
pub async fn change_email(
    new_email: String,
    password: String,
) -> Result<(), crate::error::AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    service::request_email_change(&state, &user, &new_email, &password).await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_keeps_paths_of_this_site() {
        for ok in [
            "/",
            "/talks/42",
            "/admin/users",
            "/me/programme?day=2#t1",
            "/login?next=%2Fme%2Ftickets",
            "/search?q=a%20b",
        ] {
            assert_eq!(safe_next(Some(ok)), ok, "{ok}");
        }
        assert_eq!(safe_next(Some("/talks/é t")), "/talks/%C3%A9%20t");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn next_refuses_what_a_browser_reads_as_another_site() {
        for bad in [
            "",
            "https://example.org",
            "example.org",
            "//example.org",
            "///example.org",
            "/\\example.org",
            "\\\\example.org",
            "/\t/example.org/phish",
            "/\n/example.org",
            "/\r/example.org",
            "/\u{0}/example.org",
            "/\u{1b}/example.org",
            "/\u{7f}/example.org",
            "/\u{85}/example.org",
            "/%09/example.org/phish",
            "/%0A",
            "/%0d/example.org",
            "/%7F",
            "/%2F/example.org",
            "/%2f%2fexample.org",
            "/%5Cexample.org",
            "/%5c/example.org",
            "/%252F%252Fexample.org",
            "/%2509/example.org",
            "/%25252509/example.org",
            "/talks//example.org",
            "/talks?x=%2F%2Fexample.org",
            "/talks?x=%5C",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
    }

    #[test]
    fn what_passes_is_a_valid_location_header() {
        for raw in ["/café", "/a b", "/ü?x=ÿ", "/%FF", "/%E9t%C3%A9"] {
            let next = safe_next(Some(raw));
            assert!(
                next.starts_with('/') && !next.starts_with("//"),
                "{raw:?} → {next}"
            );
            assert!(
                next.bytes().all(|b| b.is_ascii_graphic()),
                "{raw:?} → {next}"
            );
        }
    }
}
