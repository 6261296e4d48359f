//! Vouchers on the server: finding a code, counting its uses inside an order's transaction and
//! giving them back, the seats a voucher holds on its pass, and the back office's edits.
//!
//! Held seats: while a seat-holding voucher's hold runs (`hold_released_at` NULL), its pass's
//! `held_count` includes its unused uses (`max_uses - uses`). Every statement that changes one
//! changes the other in the same transaction, so the public never buys a held seat and the
//! database's CHECK (`reserved + sold + held <= capacity`) guards the sum.
use super::{AppliedVoucher, VoucherEffect, VoucherRow, MAX_BATCH};
use crate::{
    server::audit::audit,
    db_run,
    error::AppError,
    server::{
        config::Config,
        db::{Db, Tx},
        state::now, state::AppState,
    },
    tx_run,
};
use chrono::{DateTime, Utc};
use rand::Rng;
use uuid::Uuid;

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
const ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
/// A generated code: 10 characters of [`ALPHABET`], about 46 bits: guessing one takes far more
/// tries than the rate limit allows.
const GENERATED_LEN: usize = 10;

/// Failed code lookups one address may make in [`GUESS_WINDOW_SECS`] before every lookup of that
/// address is refused for a while.
pub const GUESSES_PER_IP: usize = 10;
pub const GUESS_WINDOW_SECS: u64 = 10 * 60;

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

const COLUMNS: &str = "id, code, tag, ticket_type_id, effect, value, max_uses, uses, valid_from, valid_until, unlocks_hidden, holds_seats, hold_released_at, user_id, version";

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

/// The voucher of a code typed in the shop, usable now by `user`. Unknown, not yet or no longer
/// valid, used up and someone else's codes all get the same answer (`voucher.error.invalid`), so
/// that a guesser learns nothing from it; failed lookups are rate limited per address, and past
/// the budget every lookup from that address is refused for a while.
pub async fn lookup(state: &AppState, raw: &str, user: Option<Uuid>) -> Result<Voucher, AppError> {
    let key = format!(
        "voucher:fail:ip:{}",
        crate::accounts::service::ip_key(state)
    );
    let window = std::time::Duration::from_secs(GUESS_WINDOW_SECS);
    // Counted before the lookup (parallel guesses cannot all slip in before the first is counted),
    // and taken back when the code was good.
    state
        .rate_limiter
        .hit(&key, GUESSES_PER_IP, window)
        .map_err(|secs| AppError::RateLimited {
            minutes: secs.div_ceil(60),
        })?;
    let found = match normalise_code(raw) {
        Some(code) => by_code(&state.db, &code).await?,
        None => None,
    };
    match found {
        Some(v) if v.usable_by(user, now()) => {
            state.rate_limiter.forgive(&key);
            Ok(v)
        }
        _ => Err(AppError::invalid("voucher", "voucher.error.invalid")),
    }
}

/// What the shop tells about a valid code.
pub async fn applied(db: &Db, config: &Config, v: &Voucher) -> Result<AppliedVoucher, sqlx::Error> {
    let pass_name = match v.ticket_type_id {
        Some(id) => db_run!(db, pool => sqlx::query_as::<_, (String,)>("SELECT name FROM ticket_types WHERE id = $1").bind(id).fetch_optional(pool).await)?.map(|r| r.0),
        None => None,
    };
    Ok(AppliedVoucher {
        code: v.code.clone(),
        effect: v.effect,
        value: v.value,
        pass_name,
        uses_left: v.uses_left(),
        personal_until: v.user_id.and(v.valid_until).map(|u| config.short_local(u)),
    })
}

/// Counts `n` uses of `v` in the order's transaction, as one conditional UPDATE: the voucher must
/// still be as it was read (`version`), valid now, with `n` uses left. Returns whether its hold
/// still runs (the seats then come out of it), or the error to show on the code field.
pub async fn take(tx: &mut Tx, v: &Voucher, n: i64) -> Result<bool, AppError> {
    let at = now();
    let row: Option<(Option<DateTime<Utc>>,)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET uses = uses + $1, updated_at = $2 WHERE id = $3 AND version = $4 AND uses + $1 <= max_uses \
         AND (valid_from IS NULL OR valid_from <= $2) AND (valid_until IS NULL OR valid_until > $2) RETURNING hold_released_at")
        .bind(n).bind(at).bind(v.id).bind(v.version).fetch_optional(c).await)?;
    match row {
        Some((released,)) => Ok(v.holds_seats && released.is_none()),
        None => {
            let changed = by_id(tx, v.id)
                .await?
                .is_none_or(|now| now.version != v.version);
            Err(AppError::invalid(
                "voucher",
                if changed {
                    "voucher.error.changed"
                } else {
                    "voucher.error.invalid"
                },
            ))
        }
    }
}

/// A late payment (after the order was released) takes its uses again, whatever the voucher's
/// dates: the buyer paid the price it gave. Returns `None` when they are gone (the payment is
/// refunded), else whether the hold runs.
pub async fn retake(
    tx: &mut Tx,
    id: Uuid,
    n: i64,
) -> Result<Option<(bool, Option<Uuid>)>, sqlx::Error> {
    let row: Option<(bool, Option<DateTime<Utc>>, Option<Uuid>)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET uses = uses + $1, updated_at = $2 WHERE id = $3 AND uses + $1 <= max_uses RETURNING holds_seats, hold_released_at, ticket_type_id")
        .bind(n).bind(now()).bind(id).fetch_optional(c).await)?;
    Ok(row.map(|(holds, released, pass)| (holds && released.is_none(), pass)))
}

/// Gives back `n` uses of voucher `id` (an order released or refunded). Called before the order's
/// seats are given back, so that every transaction locks a voucher before its pass (PostgreSQL then
/// cannot deadlock a release against an order). Returns the pass whose hold the seats go back to
/// while the voucher's hold runs: the caller adds them with [`rehold`] once it has freed them.
pub async fn return_uses(tx: &mut Tx, id: Uuid, n: i64) -> Result<Option<Uuid>, sqlx::Error> {
    if n <= 0 {
        return Ok(None);
    }
    let row: Option<(bool, Option<DateTime<Utc>>, Option<Uuid>)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET uses = CASE WHEN uses >= $1 THEN uses - $1 ELSE 0 END, updated_at = $2 WHERE id = $3 RETURNING holds_seats, hold_released_at, ticket_type_id")
        .bind(n).bind(now()).bind(id).fetch_optional(c).await)?;
    Ok(match row {
        Some((true, None, pass)) => pass,
        _ => None,
    })
}

/// The seats of [`return_uses`] back in their voucher's hold. A voucher's pass cannot change once
/// an order used it, so these are seats the same transaction just freed on that pass.
pub async fn rehold(tx: &mut Tx, pass: Uuid, n: i64) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET held_count = held_count + $1 WHERE id = $2")
        .bind(n).bind(pass).execute(c).await.map(|_| ()))
}

/// Ends the holds of vouchers whose end date passed (their unused seats go back on sale, or to the
/// waiting list), and marks the waiting-list offers among them expired. Returns how many ended.
pub async fn release_lapsed_holds(db: &Db) -> Result<usize, AppError> {
    let at = now();
    let lapsed: Vec<(Uuid,)> = db_run!(db, pool => sqlx::query_as(
        "SELECT id FROM vouchers WHERE holds_seats AND hold_released_at IS NULL AND valid_until IS NOT NULL AND valid_until <= $1 LIMIT 200")
        .bind(at).fetch_all(pool).await)?;
    let mut n = 0;
    for (id,) in lapsed {
        let mut tx = db.begin().await?;
        if end_hold(&mut tx, id).await? {
            expire_offer(&mut tx, id).await?;
            n += 1;
        }
        tx.commit().await?;
    }
    Ok(n)
}

/// The waiting-list entry a voucher was offered to, if it is still OFFERED, becomes EXPIRED (its
/// seat goes to the next person).
pub async fn expire_offer(tx: &mut Tx, voucher: Uuid) -> Result<(), sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE waitlist_entries SET status = 'EXPIRED' WHERE voucher_id = $1 AND status = 'OFFERED'")
        .bind(voucher).execute(c).await.map(|_| ()))
}

/// Ends a voucher's hold now (once: the UPDATE is conditional), giving its seats back to its pass.
pub async fn end_hold(tx: &mut Tx, id: Uuid) -> Result<bool, sqlx::Error> {
    let row: Option<(i64, Option<Uuid>)> = tx_run!(tx, c => sqlx::query_as(
        "UPDATE vouchers SET hold_released_at = $1 WHERE id = $2 AND holds_seats AND hold_released_at IS NULL RETURNING max_uses - uses, ticket_type_id")
        .bind(now()).bind(id).fetch_optional(c).await)?;
    match row {
        Some((seats, Some(pass))) => {
            tx_run!(tx, c => sqlx::query("UPDATE ticket_types SET held_count = held_count - $1 WHERE id = $2")
                .bind(seats.max(0)).bind(pass).execute(c).await.map(|_| ()))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Takes `seats` of `pass` for a hold, only if the public could still buy them (people waiting
/// on the pass count as taken): false when they are not free.
pub async fn take_hold(tx: &mut Tx, pass: Uuid, seats: i64) -> Result<bool, sqlx::Error> {
    if seats <= 0 {
        return Ok(true);
    }
    let n = tx_run!(tx, c => sqlx::query(
        "UPDATE ticket_types SET held_count = held_count + $1 WHERE id = $2 AND reserved_count + sold_count + held_count + $1 \
         + (SELECT COUNT(*) FROM waitlist_entries w WHERE w.ticket_type_id = $2 AND w.status = 'WAITING') <= capacity")
        .bind(seats).bind(pass).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
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

// ---------------------------------------------------------------------------------------------
// The back office.

#[derive(sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    v: Voucher,
    pass_name: Option<String>,
    orders: i64,
}

fn money_text(cents: i64) -> String {
    crate::money::price_text(cents)
}

fn row_view(config: &Config, r: ListRow) -> VoucherRow {
    let local = |t: Option<DateTime<Utc>>| t.map(|t| config.local_input(t)).unwrap_or_default();
    let v = r.v;
    VoucherRow {
        held: v.held(),
        id: v.id,
        code: v.code,
        tag: v.tag,
        ticket_type_id: v.ticket_type_id,
        pass_name: r.pass_name,
        effect: v.effect,
        value: match v.effect {
            VoucherEffect::Percent => v.value.to_string(),
            _ => money_text(v.value),
        },
        max_uses: v.max_uses,
        uses: v.uses,
        valid_from: local(v.valid_from),
        valid_until: local(v.valid_until),
        unlocks_hidden: v.unlocks_hidden,
        holds_seats: v.holds_seats,
        personal: v.user_id.is_some(),
        orders: r.orders,
        version: v.version,
    }
}

const LIST: &str = "SELECT v.id, v.code, v.tag, v.ticket_type_id, v.effect, v.value, v.max_uses, v.uses, v.valid_from, v.valid_until, v.unlocks_hidden, \
     v.holds_seats, v.hold_released_at, v.user_id, v.version, t.name AS pass_name, \
     (SELECT COUNT(*) FROM orders o WHERE o.voucher_id = v.id) AS orders \
     FROM vouchers v LEFT JOIN ticket_types t ON t.id = v.ticket_type_id";

/// Vouchers, newest first (the first 1 000), of one tag when `tag` is not empty.
pub async fn list(db: &Db, config: &Config, tag: &str) -> Result<Vec<VoucherRow>, AppError> {
    let tag = tag.trim();
    let sql = if tag.is_empty() {
        format!("{LIST} ORDER BY v.created_at DESC, v.code LIMIT 1000")
    } else {
        format!("{LIST} WHERE v.tag = $1 ORDER BY v.created_at DESC, v.code LIMIT 1000")
    };
    let rows: Vec<ListRow> = db_run!(db, pool => {
        let mut q = sqlx::query_as(&sql);
        if !tag.is_empty() {
            q = q.bind(tag);
        }
        q.fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(|r| row_view(config, r)).collect())
}

async fn one(tx: &mut Tx, config: &Config, id: Uuid) -> Result<VoucherRow, AppError> {
    let sql = format!("{LIST} WHERE v.id = $1");
    let row: Option<ListRow> =
        tx_run!(tx, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)?;
    row.map(|r| row_view(config, r)).ok_or(AppError::NotFound)
}

pub async fn passes(db: &Db) -> Result<Vec<(Uuid, String, bool)>, AppError> {
    Ok(
        db_run!(db, pool => sqlx::query_as("SELECT id, name, is_hidden FROM ticket_types ORDER BY name, id").fetch_all(pool).await)?,
    )
}

fn clean_tag(raw: &str) -> Result<String, AppError> {
    let tag = raw.trim();
    if tag.chars().count() > 60 || tag.chars().any(char::is_control) {
        return Err(AppError::invalid("tag", "vouchers.error.tag"));
    }
    Ok(tag.to_string())
}

/// What the create form sends: every field as typed (empty: the default).
pub struct Batch<'a> {
    pub count: &'a str,
    pub code: &'a str,
    pub tag: &'a str,
    pub effect: &'a str,
    pub value: &'a str,
    pub pass: &'a str,
    pub max_uses: &'a str,
}

fn parse_value(effect: VoucherEffect, raw: &str) -> Result<i64, AppError> {
    match effect {
        VoucherEffect::Percent => raw
            .trim()
            .trim_end_matches('%')
            .trim()
            .parse()
            .ok()
            .filter(|p| (0..=100).contains(p))
            .ok_or_else(|| AppError::invalid("value", "vouchers.error.percent")),
        _ => crate::money::parse_price(raw)
            .ok_or_else(|| AppError::invalid("value", "admin.error.price_invalid")),
    }
}

fn parse_max_uses(raw: &str, field: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| AppError::invalid(field, "vouchers.error.max_uses"))
}

/// One voucher (a code typed, or generated) or a batch of generated codes under one tag, all
/// with the form's effect, pass and uses (defaults: 0 % off every pass, once). Audited
/// `CREATE_VOUCHER` (a batch as one entry). Holding seats and unlocking a hidden pass are set
/// afterwards in the table, voucher by voucher.
pub async fn create(
    db: &Db,
    config: &Config,
    admin: Uuid,
    batch: &Batch<'_>,
) -> Result<Vec<VoucherRow>, AppError> {
    let count: i64 = match batch.count.trim() {
        "" => 1,
        raw => raw
            .parse()
            .ok()
            .filter(|n| (1..=MAX_BATCH).contains(n))
            .ok_or_else(|| AppError::invalid("count", "vouchers.error.count"))?,
    };
    let tag = clean_tag(batch.tag)?;
    let typed = match batch.code.trim() {
        "" => None,
        raw => Some(
            normalise_code(raw).ok_or_else(|| AppError::invalid("code", "vouchers.error.code"))?,
        ),
    };
    if typed.is_some() && count > 1 {
        return Err(AppError::invalid("code", "vouchers.error.code_with_batch"));
    }
    let effect = match batch.effect.trim() {
        "" => VoucherEffect::Percent,
        raw => raw
            .parse()
            .map_err(|_| AppError::invalid("effect", "vouchers.error.effect"))?,
    };
    let value = match batch.value.trim() {
        "" => 0,
        raw => parse_value(effect, raw)?,
    };
    let max_uses = match batch.max_uses.trim() {
        "" => 1,
        raw => parse_max_uses(raw, "max_uses")?,
    };
    let mut tx = db.begin().await?;
    let pass = match batch.pass.trim() {
        "" => None,
        raw => {
            let id = Uuid::parse_str(raw)
                .map_err(|_| AppError::invalid("ticket_type_id", "shop.error.unknown_pass"))?;
            let known: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT id FROM ticket_types WHERE id = $1").bind(id).fetch_optional(c).await)?;
            Some(
                known
                    .ok_or_else(|| AppError::invalid("ticket_type_id", "shop.error.unknown_pass"))?
                    .0,
            )
        }
    };
    let mut ids = vec![];
    let mut codes = vec![];
    while (ids.len() as i64) < count {
        let id = Uuid::new_v4();
        let code = typed.clone().unwrap_or_else(generate_code);
        let added = insert(
            &mut tx, id, &code, &tag, pass, effect, value, max_uses, None, false, None,
        )
        .await?;
        if added {
            ids.push(id);
            codes.push(code);
        } else if typed.is_some() {
            return Err(AppError::invalid("code", "vouchers.error.code_taken"));
        }
    }
    audit(
        &mut tx,
        admin,
        "CREATE_VOUCHER",
        "voucher",
        &ids.first().map(Uuid::to_string).unwrap_or_default(),
        serde_json::json!({ "count": count, "tag": tag, "codes": codes, "effect": effect.as_str(), "value": value, "ticket_type_id": pass, "max_uses": max_uses }),
    )
    .await?;
    let mut rows = vec![];
    for id in &ids {
        rows.push(one(&mut tx, config, *id).await?);
    }
    tx.commit().await?;
    Ok(rows)
}

/// A voucher as the audit log records it, before and after a change.
fn snapshot(v: &Voucher) -> serde_json::Value {
    serde_json::json!({
        "code": v.code, "tag": v.tag, "ticket_type_id": v.ticket_type_id, "effect": v.effect.as_str(),
        "value": v.value, "max_uses": v.max_uses, "uses": v.uses, "valid_from": v.valid_from,
        "valid_until": v.valid_until, "unlocks_hidden": v.unlocks_hidden, "holds_seats": v.holds_seats,
    })
}

/// Reads a voucher for a change, after a no-op write on its row: on PostgreSQL no order can count
/// a use between the read and the change (SQLite's writers take turns already).
async fn locked(tx: &mut Tx, id: Uuid) -> Result<Option<Voucher>, sqlx::Error> {
    tx_run!(tx, c => sqlx::query("UPDATE vouchers SET version = version WHERE id = $1").bind(id).execute(c).await.map(|_| ()))?;
    by_id(tx, id).await
}

/// Saves one field. The voucher's hold is recomputed: released from the pass it held (if any),
/// then taken again as the voucher now says (only seats the public could still buy), all in one
/// transaction with the version check.
pub async fn update(
    db: &Db,
    config: &Config,
    admin: Uuid,
    id: Uuid,
    field: &str,
    raw: &str,
    version: i64,
) -> Result<VoucherRow, AppError> {
    let bad = |key: &'static str| AppError::invalid(field, key);
    let mut tx = db.begin().await?;
    let before = locked(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if before.version != version {
        return Err(AppError::invalid(field, "vouchers.error.changed_meanwhile"));
    }
    let mut after = before.clone();
    let value = raw.trim();
    match field {
        "code" => after.code = normalise_code(value).ok_or_else(|| bad("vouchers.error.code"))?,
        "tag" => after.tag = clean_tag(value)?,
        "ticket_type_id" => {
            after.ticket_type_id = match value {
                "" => None,
                v => {
                    let id = Uuid::parse_str(v).map_err(|_| bad("shop.error.unknown_pass"))?;
                    let known: Option<(Uuid,)> = tx_run!(&mut tx, c => sqlx::query_as("SELECT id FROM ticket_types WHERE id = $1").bind(id).fetch_optional(c).await)?;
                    Some(known.ok_or_else(|| bad("shop.error.unknown_pass"))?.0)
                }
            }
        }
        "effect" => {
            after.effect = value.parse().map_err(|_| bad("vouchers.error.effect"))?;
            if after.effect == VoucherEffect::Percent && after.value > 100 {
                after.value = 100;
            }
        }
        "value" => {
            after.value = parse_value(after.effect, value)
                .map_err(|e| AppError::invalid(field, e.message_key()))?
        }
        "max_uses" => {
            after.max_uses = parse_max_uses(value, field)?;
            if after.max_uses < before.uses {
                return Err(bad("vouchers.error.below_uses"));
            }
        }
        "valid_from" | "valid_until" => {
            let t = match value {
                "" => None,
                v => Some(
                    config
                        .parse_local_input(v)
                        .ok_or_else(|| bad("admin.error.datetime_invalid"))?,
                ),
            };
            if field == "valid_from" {
                after.valid_from = t;
            } else {
                after.valid_until = t;
            }
            if let (Some(s), Some(e)) = (after.valid_from, after.valid_until) {
                if e <= s {
                    return Err(bad("admin.error.end_before_start"));
                }
            }
        }
        "unlocks_hidden" => after.unlocks_hidden = value == "true",
        "holds_seats" => after.holds_seats = value == "true",
        _ => return Err(AppError::invalid("field", "admin.error.field_unknown")),
    }
    if matches!(field, "ticket_type_id" | "holds_seats") {
        // Its orders' seats are on the pass it named: uses given back later go to that pass's hold.
        let (orders,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT COUNT(*) FROM orders WHERE voucher_id = $1").bind(id).fetch_one(c).await)?;
        if orders > 0 {
            return Err(bad("vouchers.error.used"));
        }
        if after.holds_seats && after.ticket_type_id.is_none() {
            return Err(bad("vouchers.error.hold_needs_pass"));
        }
        if before.user_id.is_some() && matches!(field, "ticket_type_id" | "holds_seats" | "code") {
            return Err(bad("vouchers.error.personal"));
        }
    }
    // The seats held follow the voucher: on the same pass, only the difference is taken (from
    // seats the public could buy) or given back; on another pass, or when the hold starts or
    // stops, the old hold goes back and the new one is taken. A hold that ended starts again only
    // if the end date moved on.
    let hold_runs = after.holds_seats && after.valid_until.is_none_or(|u| u > now());
    let old_held = before.held();
    let new_held = if hold_runs { after.uses_left() } else { 0 };
    let old_runs = before.holds_seats && before.hold_released_at.is_none();
    if old_runs && hold_runs && before.ticket_type_id == after.ticket_type_id {
        let pass = after.ticket_type_id.expect("a hold names its pass");
        let delta = new_held - old_held;
        if delta > 0 && !take_hold(&mut tx, pass, delta).await? {
            return Err(bad("vouchers.error.not_enough_seats"));
        }
        if delta < 0 {
            tx_run!(&mut tx, c => sqlx::query("UPDATE ticket_types SET held_count = held_count - $1 WHERE id = $2")
                .bind(-delta).bind(pass).execute(c).await.map(|_| ()))?;
        }
    } else {
        end_hold(&mut tx, id).await?;
        if hold_runs {
            let pass = after.ticket_type_id.expect("checked above");
            if !take_hold(&mut tx, pass, new_held).await? {
                return Err(bad("vouchers.error.not_enough_seats"));
            }
        }
    }
    let n = tx_run!(&mut tx, c => sqlx::query(
        "UPDATE vouchers SET code = $1, tag = $2, ticket_type_id = $3, effect = $4, value = $5, max_uses = $6, valid_from = $7, valid_until = $8, \
         unlocks_hidden = $9, holds_seats = $10, hold_released_at = $11, version = version + 1, updated_at = $12 \
         WHERE id = $13 AND version = $14")
        .bind(&after.code).bind(&after.tag).bind(after.ticket_type_id).bind(after.effect.as_str()).bind(after.value).bind(after.max_uses)
        .bind(after.valid_from).bind(after.valid_until).bind(after.unlocks_hidden).bind(after.holds_seats)
        .bind(if hold_runs { None } else { Some(now()) }).bind(now()).bind(id).bind(version)
        .execute(c).await.map(|r| r.rows_affected()));
    match n {
        Ok(1) => {}
        Ok(_) => return Err(bad("vouchers.error.changed_meanwhile")),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(bad("vouchers.error.code_taken"))
        }
        Err(e) => return Err(e.into()),
    }
    if !hold_runs && before.user_id.is_some() {
        expire_offer(&mut tx, id).await?;
    }
    audit(
        &mut tx,
        admin,
        "UPDATE_VOUCHER",
        "voucher",
        &id.to_string(),
        serde_json::json!({ "field": field, "before": snapshot(&before), "after": snapshot(&after) }),
    )
    .await?;
    let row = one(&mut tx, config, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes a voucher no order ever used (its hold goes back); one that was used is ended instead
/// (end date now, hold released), so that its orders keep naming it.
pub async fn delete(db: &Db, admin: Uuid, id: Uuid, version: i64) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let before = locked(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if before.version != version {
        return Err(AppError::invalid(
            "voucher",
            "vouchers.error.changed_meanwhile",
        ));
    }
    end_hold(&mut tx, id).await?;
    let (orders,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT COUNT(*) FROM orders WHERE voucher_id = $1").bind(id).fetch_one(c).await)?;
    let (offers,): (i64,) = tx_run!(&mut tx, c => sqlx::query_as("SELECT COUNT(*) FROM waitlist_entries WHERE voucher_id = $1").bind(id).fetch_one(c).await)?;
    // A waiting-list offer ended by hand: its entry is marked expired (the seat goes to the next).
    expire_offer(&mut tx, id).await?;
    let action = if orders == 0 && offers == 0 {
        tx_run!(&mut tx, c => sqlx::query("DELETE FROM vouchers WHERE id = $1").bind(id).execute(c).await.map(|_| ()))?;
        "DELETE_VOUCHER"
    } else {
        tx_run!(&mut tx, c => sqlx::query("UPDATE vouchers SET valid_until = $1, version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(now()).bind(id).execute(c).await.map(|_| ()))?;
        "END_VOUCHER"
    };
    audit(
        &mut tx,
        admin,
        action,
        "voucher",
        &id.to_string(),
        serde_json::json!({ "before": snapshot(&before) }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The CSV of one tag's vouchers (every voucher when the tag is empty): code, tag, pass, effect,
/// value, uses, validity. Admins only; no personal data in it.
pub async fn csv(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> axum::response::Response {
    use axum::{
        http::{header, StatusCode},
        response::IntoResponse,
    };
    let admin = crate::accounts::session::user_from_headers(&state.db, &headers).await;
    if !admin.is_some_and(|u| u.role == crate::accounts::Role::Admin) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let tag = q.get("tag").map(String::as_str).unwrap_or("");
    let rows = match list(&state.db, &state.config, tag).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "vouchers CSV");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut out = String::from("\u{feff}");
    out.push_str(&crate::server::csv::csv_line(&[
        "code",
        "tag",
        "pass",
        "effect",
        "value",
        "max_uses",
        "uses",
        "valid_from",
        "valid_until",
        "unlocks_hidden",
        "holds_seats",
    ]));
    for r in rows {
        out.push_str(&crate::server::csv::csv_line(&[
            r.code,
            r.tag,
            r.pass_name.unwrap_or_default(),
            r.effect.as_str().to_string(),
            r.value,
            r.max_uses.to_string(),
            r.uses.to_string(),
            r.valid_from,
            r.valid_until,
            r.unlocks_hidden.to_string(),
            r.holds_seats.to_string(),
        ]));
    }
    let name = if tag.is_empty() {
        "vouchers".to_string()
    } else {
        format!(
            "vouchers-{}",
            tag.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        )
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_never_go_below_zero_nor_above_the_list_price() {
        use VoucherEffect::*;
        assert_eq!(Percent.unit_price(100, 12_000), Some(0));
        assert_eq!(Percent.unit_price(25, 12_000), Some(9_000));
        assert_eq!(Percent.unit_price(33, 1_001), Some(671)); // 330.33 off, rounded half up: 330
        assert_eq!(Percent.unit_price(50, 1), Some(0)); // 0.5 cent off rounds up to 1
        assert_eq!(Amount.unit_price(5_000, 3_000), Some(0));
        assert_eq!(Amount.unit_price(500, 3_000), Some(2_500));
        assert_eq!(Price.unit_price(0, 3_000), Some(0));
        assert_eq!(Price.unit_price(9_000, 3_000), Some(3_000));
        assert_eq!(Percent.unit_price(100, i64::MAX), None);
    }

    #[test]
    fn codes_are_normalised_and_generated_without_look_alikes() {
        assert_eq!(
            normalise_code("  speaker-2027 ").as_deref(),
            Some("SPEAKER-2027")
        );
        assert_eq!(normalise_code("ab"), None);
        assert_eq!(normalise_code("a b c"), None);
        assert_eq!(normalise_code("ÉTÉ2027"), None);
        let c = generate_code();
        assert_eq!(c.len(), GENERATED_LEN);
        assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
        assert!(!c.contains(['0', 'O', '1', 'I', 'L']));
    }
}
