//! Who a message goes to: the tickets of paid (or refunded) orders the filter chooses, one mail per
//! address (the holder's, else the buyer's), in the language of the account with that address (else
//! the buyer's); a promotional message only to addresses whose account currently opts in.
use super::*;
use std::collections::HashMap;

/// One address a message goes to.
pub struct Recipient {
    pub email: String,
    /// The account with that address, if any.
    pub user_id: Option<Uuid>,
    pub locale: Locale,
}

/// A ticket of a paid or refunded order, with what the filter looks at and who it would mail.
#[derive(sqlx::FromRow)]
pub(super) struct HolderRow {
    ticket_type_id: Uuid,
    order_status: String,
    ticket_status: String,
    refunded_cents: i64,
    /// The holder's address, else the buyer's.
    email: String,
    /// The account of that address: the one that claimed the ticket, the one with the holder's
    /// address, or the buyer's when the buyer holds it.
    account_id: Option<Uuid>,
    /// No account, or one not deleted nor disabled.
    account_ok: bool,
    /// That account's language, else the buyer's.
    locale: String,
    checked_in: bool,
    answer: Option<String>,
    /// The account's latest marketing choice is an opt-in.
    marketing: bool,
}

/// `$1`: the question whose answer is read (nil: none); `$2`: false.
const HOLDERS: &str = "SELECT t.ticket_type_id, o.status AS order_status, t.status AS ticket_status, t.refunded_cents, \
     CASE WHEN t.holder_email IS NOT NULL AND t.holder_user_id IS NOT NULL THEN r.email ELSE COALESCE(t.holder_email, b.email) END AS email, \
     r.id AS account_id, \
     (r.id IS NULL OR (r.deleted_at IS NULL AND r.status = 'ACTIVE')) AS account_ok, \
     COALESCE(r.locale, b.locale) AS locale, \
     (t.status = 'USED' OR EXISTS (SELECT 1 FROM checkins k WHERE k.ticket_id = t.id AND k.direction = 'IN')) AS checked_in, \
     (SELECT a.answer FROM ticket_answers a WHERE a.ticket_id = t.id AND a.question_id = $1) AS answer, \
     COALESCE((SELECT c.granted FROM user_consents c WHERE c.user_id = r.id AND c.type = 'MARKETING_OPTIN' \
     ORDER BY c.accepted_at DESC LIMIT 1), $2) AS marketing \
     FROM tickets t JOIN orders o ON o.id = t.order_id JOIN users b ON b.id = t.user_id \
     LEFT JOIN users r ON r.id = CASE WHEN t.holder_email IS NULL THEN t.user_id \
     ELSE COALESCE(t.holder_user_id, (SELECT e.id FROM users e WHERE e.email = LOWER(t.holder_email))) END \
     WHERE o.status IN ('PAID', 'REFUNDED') ORDER BY t.issued_at, t.id";

pub(super) async fn holders(
    db: &Db,
    question: Option<Uuid>,
) -> Result<Vec<HolderRow>, sqlx::Error> {
    db_run!(db, pool => sqlx::query_as(HOLDERS).bind(question.unwrap_or_default()).bind(false).fetch_all(pool).await)
}

/// An answer matches the one asked for when it is that answer (or one of its lines: several
/// choices), case aside; an empty one asked for matches any answer given.
fn answer_matches(answer: &str, wanted: &str) -> bool {
    if wanted.is_empty() {
        return !answer.trim().is_empty();
    }
    let wanted = wanted.to_lowercase();
    answer.lines().any(|l| l.trim().to_lowercase() == wanted)
}

fn chosen_by(f: &Filter, r: &HolderRow) -> bool {
    let canceled = r.ticket_status == "CANCELED";
    let order = match f.order_status {
        OrderFilter::Paid => r.order_status == "PAID" && !canceled,
        OrderFilter::Refunded => r.order_status == "REFUNDED" || (canceled && r.refunded_cents > 0),
        OrderFilter::All => true,
    };
    let checked_in = match f.checked_in {
        CheckedIn::Any => true,
        CheckedIn::Yes => r.checked_in,
        CheckedIn::No => !r.checked_in,
    };
    let answered = f.question_id.is_none()
        || r.answer
            .as_deref()
            .is_some_and(|a| answer_matches(a, &f.answer));
    order && checked_in && answered && (f.passes.is_empty() || f.passes.contains(&r.ticket_type_id))
}

/// The addresses a message goes to, in the tickets' order, once each; and how many of the
/// addresses chosen it leaves out for want of a marketing opt-in (promotional messages).
pub(super) struct Chosen {
    pub(super) recipients: Vec<Recipient>,
    pub(super) without_consent: i64,
}

pub(super) fn pick(rows: Vec<HolderRow>, kind: MessageKind, filter: &Filter) -> Chosen {
    let mut list: Vec<(Recipient, bool)> = vec![];
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows
        .into_iter()
        .filter(|r| r.account_ok && chosen_by(filter, r))
    {
        let email = row.email.trim().to_lowercase();
        if !email.contains('@') || email.ends_with("@invalid") {
            continue;
        }
        let consent = row.marketing && row.account_id.is_some();
        let candidate = Recipient {
            email: email.clone(),
            user_id: row.account_id,
            locale: Locale::from_code(&row.locale).unwrap_or_default(),
        };
        match index.get(&email).copied() {
            None => {
                index.insert(email, list.len());
                list.push((candidate, consent));
            }
            Some(i) => {
                // The ticket of an account that opts in speaks for the address (its language).
                let (kept, kept_consent) = &list[i];
                let better = (consent, candidate.user_id.is_some())
                    > (*kept_consent, kept.user_id.is_some());
                if better {
                    list[i] = (candidate, consent);
                }
            }
        }
    }
    let total = list.len();
    let recipients: Vec<Recipient> = list
        .into_iter()
        .filter(|(_, consent)| kind == MessageKind::Practical || *consent)
        .map(|(r, _)| r)
        .collect();
    Chosen {
        without_consent: (total - recipients.len()) as i64,
        recipients,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_match_a_line_case_aside_and_any_answer_an_empty_one() {
        assert!(answer_matches("Végétarien\nSans gluten", "sans gluten"));
        assert!(!answer_matches("Végétarien", "Vegan"));
        assert!(answer_matches("yes", ""));
        assert!(!answer_matches("  ", ""));
    }
}
