//! Accounts: users, their roles and status, credentials. (Sign-up, sessions and the rest of the
//! identity issue build on these types.)
#[cfg(feature = "ssr")]
pub mod service;

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
