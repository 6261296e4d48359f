//! The voucher as stored: its row, its code (as typed, or generated), reading and inserting it.
use super::*;

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
pub(crate) const ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
/// A generated code: 10 characters of [`ALPHABET`], about 46 bits: guessing one takes far more
/// tries than the rate limit allows.
pub(crate) const GENERATED_LEN: usize = 10;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Voucher {
    pub id: Uuid,
    pub code: String,
    pub tag: String,
    pub ticket_type_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub effect: VoucherEffect,
    pub value: i64,
    pub max_uses: i64,
    pub uses: i64,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub unlocks_hidden: bool,
    pub holds_seats: bool,
    pub hold_released_at: Option<DateTime<Utc>>,
    pub user_id: Option<Uuid>,
    pub version: i64,
}

pub(crate) const COLUMNS: &str = "id, code, tag, ticket_type_id, effect, value, max_uses, uses, valid_from, valid_until, unlocks_hidden, holds_seats, hold_released_at, user_id, version";

impl Voucher {
    pub fn applies_to(&self, pass: Uuid) -> bool {
        self.ticket_type_id.is_none_or(|p| p == pass)
    }

    /// Seats its hold keeps from the public now.
    pub fn held(&self) -> i64 {
        if self.holds_seats && self.hold_released_at.is_none() {
            self.max_uses.saturating_sub(self.uses).max(0)
        } else {
            0
        }
    }

    pub fn uses_left(&self) -> i64 {
        self.max_uses.saturating_sub(self.uses).max(0)
    }

    /// Valid now, not used up, and, when personal, for this account.
    pub fn usable_by(&self, user: Option<Uuid>, at: DateTime<Utc>) -> bool {
        self.valid_from.is_none_or(|f| f <= at)
            && self.valid_until.is_none_or(|u| u > at)
            && self.uses_left() > 0
            && self.user_id.is_none_or(|owner| Some(owner) == user)
    }

    pub fn unit_price(&self, list: i64) -> Option<i64> {
        self.effect.unit_price(self.value, list)
    }
}

/// A code as typed: trimmed, upper case; letters, digits, `-` and `_`, 3 to 40 of them.
pub fn normalise_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_uppercase();
    let ok = (3..=40).contains(&code.chars().count())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    ok.then_some(code)
}

pub fn generate_code() -> String {
    let mut rng = rand::thread_rng();
    (0..GENERATED_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub async fn by_code(db: &Db, code: &str) -> Result<Option<Voucher>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM vouchers WHERE code = $1");
    db_run!(db, pool => sqlx::query_as(&sql).bind(code).fetch_optional(pool).await)
}

pub async fn by_id(tx: &mut Tx, id: Uuid) -> Result<Option<Voucher>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM vouchers WHERE id = $1");
    tx_run!(tx, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// Inserts a voucher (the caller has taken its held seats).
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut Tx,
    id: Uuid,
    code: &str,
    tag: &str,
    pass: Option<Uuid>,
    effect: VoucherEffect,
    value: i64,
    max_uses: i64,
    valid_until: Option<DateTime<Utc>>,
    holds_seats: bool,
    user_id: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    let at = now();
    let n = tx_run!(tx, c => sqlx::query(
        "INSERT INTO vouchers (id, code, tag, ticket_type_id, effect, value, max_uses, valid_until, holds_seats, user_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT (code) DO NOTHING")
        .bind(id).bind(code).bind(tag).bind(pass).bind(effect.as_str()).bind(value).bind(max_uses).bind(valid_until).bind(holds_seats).bind(user_id).bind(at)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
