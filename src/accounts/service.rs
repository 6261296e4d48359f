//! Server-only account services: creating users and hashing passwords.
//!
//! Children: `passwords` hashing and checking passwords; `users` creating users; `links` the
//! one-time links mailed; `limits` rate limiting; `signup` sign-up and address verification;
//! `login` login and sessions; `password_reset`; `profile`; `email_change`; `consent` whether
//! login asks for consent to new terms.
use super::{
    check_password, hashing::hashers, session, AuthUser, ConsentType, Profile, Role, SessionInfo,
    UserStatus,
};
use crate::server::prelude::*;
use crate::{
    i18n::Locale,
    mail::{
        service::{enqueue, Mail},
        MailKind,
    },
};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use chrono::Duration;
use std::time::Duration as StdDuration;

fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().chars().take(100).collect::<String>())
        .filter(|v| !v.is_empty())
}

mod consent;
mod email_change;
mod limits;
mod links;
mod login;
mod password_reset;
mod passwords;
mod profile;
mod signup;
mod users;
pub use consent::*;
pub use email_change::*;
pub(crate) use limits::*;
pub(crate) use links::*;
pub use login::*;
pub use password_reset::*;
pub use passwords::*;
pub use profile::*;
pub use signup::*;
pub use users::*;

#[cfg(test)]
mod tests;
