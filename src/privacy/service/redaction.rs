//! Finding a person's details where they were copied (audit entries' meta) and redacting them.
use super::*;

/// The personal values of a person, to find them where they were copied (audit entries' meta).
/// The keys of audit details that name people, in entries about someone else.
pub(crate) const PERSONAL_KEYS: [&str; 10] = [
    "to",
    "query",
    "who",
    "email",
    "holder",
    "holder_name",
    "holder_email",
    "name",
    "phone",
    "used_by",
];

/// [`redact`], only under [`PERSONAL_KEYS`] (at any depth).
pub(crate) fn redact_personal_keys(value: &mut Value, needles: &Needles) -> bool {
    let mut changed = false;
    match value {
        Value::Array(items) => {
            for v in items {
                changed |= redact_personal_keys(v, needles);
            }
        }
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                changed |= if PERSONAL_KEYS.contains(&key.as_str()) {
                    redact(v, needles)
                } else {
                    redact_personal_keys(v, needles)
                };
            }
        }
        _ => {}
    }
    changed
}

pub(crate) struct Needles {
    /// Found anywhere in a text: the email, the phone, the full name.
    pub(crate) whole: Vec<String>,
    /// Found as a word of a text: each word of the first and last names (3 letters or more).
    pub(crate) words: Vec<String>,
    /// Every needle as typed and lowercased, for the database's first pass (`LIKE`).
    pub(crate) patterns: Vec<String>,
}

impl Needles {
    pub(crate) fn new(
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        phone: Option<&str>,
    ) -> Needles {
        let names: Vec<&str> = [first_name, last_name]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        let mut whole: Vec<String> = vec![email.to_lowercase()];
        whole.extend(
            phone
                .map(|p| p.trim().to_lowercase())
                .filter(|p| p.len() >= 6),
        );
        if names.len() == 2 {
            whole.push(format!("{} {}", names[0], names[1]).to_lowercase());
            whole.push(format!("{} {}", names[1], names[0]).to_lowercase());
        }
        let words: Vec<String> = names
            .iter()
            .flat_map(|n| n.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect();
        // SQLite lowers ASCII letters only: each needle is also looked for as typed (`Élodie`).
        let mut patterns: Vec<String> = vec![];
        for n in whole.iter().chain(&words) {
            patterns.push(contains_pattern(n));
        }
        for n in names
            .iter()
            .flat_map(|n| n.split(|c: char| !c.is_alphanumeric()))
        {
            if n.chars().count() >= 3 && n.to_lowercase() != n {
                patterns.push(contains_pattern(n));
            }
        }
        patterns.sort();
        patterns.dedup();
        Needles {
            whole,
            words,
            patterns,
        }
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        self.whole.iter().any(|n| lower.contains(n.as_str()))
            || lower
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| !w.is_empty() && self.words.iter().any(|n| n == w))
    }
}

/// A `LIKE` pattern finding `s` anywhere, its `%`, `_` and backslash taken literally (with
/// `ESCAPE '\'`). Unlike `db::like_pattern`, the case is kept.
pub(crate) fn contains_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Replaces every string of `value` that holds a needle by [`REDACTED`]; answers whether any did.
pub(crate) fn redact(value: &mut Value, needles: &Needles) -> bool {
    match value {
        Value::String(s) if needles.matches(s.as_str()) => {
            *s = REDACTED.to_string();
            true
        }
        // Every value is visited (no short circuit): all of them are redacted, not the first.
        Value::Array(items) => {
            items
                .iter_mut()
                .map(|v| redact(v, needles))
                .filter(|changed| *changed)
                .count()
                > 0
        }
        Value::Object(map) => {
            map.values_mut()
                .map(|v| redact(v, needles))
                .filter(|changed| *changed)
                .count()
                > 0
        }
        _ => false,
    }
}

/// Redacts the person's details in every audit entry's meta (entries are kept, never deleted).
///
/// In the entries about them (they did it, or it is about their account) every value is looked at;
/// in the others only the values that name people ([`PERSONAL_KEYS`]: a door search, a mail's
/// address): a person who names themselves "stripe admin" must not blank other people's entries.
pub(crate) async fn redact_audit(
    tx: &mut Tx,
    needles: &Needles,
    user_id: Uuid,
) -> Result<u64, sqlx::Error> {
    if needles.patterns.is_empty() {
        return Ok(0);
    }
    let n = needles.patterns.len();
    let filter = (1..=n)
        .map(|i| format!("LOWER(CAST(meta AS TEXT)) LIKE ${i} ESCAPE '\\'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT id, meta, CASE WHEN actor_user_id = ${} OR entity_id = ${} THEN 1 ELSE 0 END FROM audit_logs WHERE {filter}",
        n + 1,
        n + 2
    );
    let rows: Vec<(Uuid, Json<Value>, i32)> = tx_run!(tx, c => {
        let mut q = sqlx::query_as(&sql);
        for p in &needles.patterns {
            q = q.bind(p.as_str());
        }
        q.bind(user_id).bind(user_id.to_string()).fetch_all(c).await
    })?;
    let mut changed = 0;
    for (id, Json(mut meta), about_them) in rows {
        let changed_meta = if about_them == 1 {
            redact(&mut meta, needles)
        } else {
            redact_personal_keys(&mut meta, needles)
        };
        if changed_meta {
            tx_run!(tx, c => sqlx::query("UPDATE audit_logs SET meta = $1 WHERE id = $2")
                .bind(Json(&meta)).bind(id).execute(c).await.map(|_| ()))?;
            changed += 1;
        }
    }
    Ok(changed)
}
