//! The profile: read, and updated (names, company, phone, language).
use super::*;

pub async fn profile(db: &Db, user_id: Uuid) -> Result<Profile, AppError> {
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let row: Option<Row> = db_run!(db, pool => sqlx::query_as(
        "SELECT u.email, p.first_name, p.last_name, p.phone, u.locale, u.email_verified_at, p.company FROM users u LEFT JOIN profiles p ON p.user_id = u.id WHERE u.id = $1")
        .bind(user_id).fetch_optional(pool).await)?;
    let (email, first_name, last_name, phone, locale, verified, company) =
        row.ok_or(AppError::NotFound)?;
    Ok(Profile {
        email,
        first_name,
        last_name,
        phone,
        company,
        locale: Locale::from_code(&locale).unwrap_or_default(),
        verified: verified.is_some(),
    })
}

/// Normalises a phone number to E.164 (`+33612345678`); French national numbers get `+33`.
pub fn normalise_phone(raw: &str) -> Result<String, AppError> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
        .collect();
    let e164 = if let Some(rest) = compact.strip_prefix("00") {
        format!("+{rest}")
    } else if compact.starts_with('0') && compact.len() == 10 {
        format!("+33{}", &compact[1..])
    } else {
        compact
    };
    let digits = e164.strip_prefix('+').unwrap_or("");
    let valid = digits.len() >= 8
        && digits.len() <= 15
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(e164)
    } else {
        Err(AppError::invalid("phone", "accounts.error.phone_invalid"))
    }
}

/// The names a profile form sets.
pub struct ProfileNames {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The company printed on the badge (one line, at most 120 characters).
    pub company: Option<String>,
}

pub async fn update_profile(
    db: &Db,
    user_id: Uuid,
    names: ProfileNames,
    phone: Option<String>,
    locale: &str,
) -> Result<(), AppError> {
    let ProfileNames {
        first_name,
        last_name,
        company,
    } = names;
    if company
        .as_ref()
        .is_some_and(|c| c.trim().chars().count() > 120)
    {
        return Err(AppError::invalid("company", "accounts.error.company_long"));
    }
    let company = company.map(|c| crate::text::one_line(&c));
    let phone = match clean(phone) {
        Some(p) => Some(normalise_phone(&p)?),
        None => None,
    };
    let locale = Locale::from_code(locale)
        .ok_or_else(|| AppError::invalid("locale", "accounts.error.locale_invalid"))?;
    let now = now();
    let mut tx = db.begin().await?;
    tx_run!(&mut tx, c => {
        sqlx::query("UPDATE profiles SET first_name = $1, last_name = $2, phone = $3, updated_at = $4, company = $6 WHERE user_id = $5")
            .bind(clean(first_name)).bind(clean(last_name)).bind(phone).bind(now).bind(user_id)
            .bind(company.filter(|c| !c.is_empty())).execute(&mut *c).await?;
        sqlx::query("UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3").bind(locale.code()).bind(now).bind(user_id).execute(&mut *c).await?;
    });
    tx.commit().await?;
    Ok(())
}
