//! The door's rules, one function for the server (online scans and the offline entries it takes
//! in later) and the phone answering alone: what a list says of a ticket presented now, given
//! where the ticket stands (`Gate`) and its entries on that list (`History`).
use super::{Direction, Rule};
use serde::{Deserialize, Serialize};

/// An entry or exit already recorded: when (ms since the epoch), on which conference day, by whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub at_ms: i64,
    pub day: String,
    pub direction: Direction,
    /// "Samir Staff" or "Samir Staff · Porte A".
    pub by: Option<String>,
}

/// A ticket's entries on one list, as the rule needs them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The first entry ever on this list.
    pub first_in: Option<Mark>,
    /// The first entry on the day asked about.
    pub today_in: Option<Mark>,
    /// The last entry, when the last mark is an entry (the person is inside).
    pub inside: Option<Mark>,
}

impl History {
    /// From a ticket's marks on one list, in any order, for conference day `today`.
    pub fn of<'a>(marks: impl IntoIterator<Item = &'a Mark>, today: &str) -> History {
        let mut marks: Vec<&Mark> = marks.into_iter().collect();
        marks.sort_by_key(|m| m.at_ms);
        let ins = || marks.iter().filter(|m| m.direction == Direction::In);
        History {
            first_in: ins().next().map(|m| (*m).clone()),
            today_in: ins().find(|m| m.day == today).map(|m| (*m).clone()),
            inside: marks
                .last()
                .filter(|m| m.direction == Direction::In)
                .map(|m| (*m).clone()),
        }
    }
}

/// Where the ticket stands before the list's rule is asked, in the order the door checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    Unknown,
    /// Canceled, or a code replaced by a reissue.
    Canceled,
    Refunded,
    /// Its pass is not on the list, or the list is a workshop's and the ticket has no seat.
    NotOnList,
    /// Outside its pass's days (or the list's hours) at this instant.
    NotValidNow,
    Open,
}

/// What the door does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    LetIn,
    LetOut,
    /// Already in: today (DAILY), ever (ONCE), or inside now (INOUT); the entry that counts.
    Already(Mark),
    Refuse(Gate),
}

/// The list's rule applied to a ticket. An exit is only for in/out lists (elsewhere a scan is an
/// entry), and is recorded for any ticket the list admits, even past its pass's hours.
pub fn decide(rule: Rule, direction: Direction, gate: Gate, history: &History) -> Decision {
    let exit = rule == Rule::InOut && direction == Direction::Out;
    match gate {
        Gate::Open => {}
        Gate::NotValidNow if exit => {}
        refused => return Decision::Refuse(refused),
    }
    if exit {
        return Decision::LetOut;
    }
    let already = match rule {
        Rule::Once => &history.first_in,
        Rule::Daily => &history.today_in,
        Rule::InOut => &history.inside,
    };
    match already {
        Some(mark) => Decision::Already(mark.clone()),
        None => Decision::LetIn,
    }
}

/// The conference day of an instant, from the zone's offset (minutes east of UTC): `YYYY-MM-DD`.
/// The phone uses the offset of its last sync; the server its time zone.
pub fn day_of(at_ms: i64, offset_minutes: i32) -> String {
    let local_ms = at_ms.saturating_add(i64::from(offset_minutes).saturating_mul(60_000));
    let days = local_ms.div_euclid(86_400_000);
    i32::try_from(days)
        .ok()
        .and_then(|d| d.checked_add(719_163))
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
        .map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(at_ms: i64, day: &str, direction: Direction) -> Mark {
        Mark {
            at_ms,
            day: day.into(),
            direction,
            by: None,
        }
    }

    #[test]
    fn a_two_day_pass_on_a_daily_list_is_let_in_once_each_day() {
        let day1 = [mark(1, "2027-06-10", Direction::In)];
        let in_day1 = History::of(&day1, "2027-06-10");
        assert!(matches!(
            decide(Rule::Daily, Direction::In, Gate::Open, &in_day1),
            Decision::Already(m) if m.day == "2027-06-10"
        ));
        let on_day2 = History::of(&day1, "2027-06-11");
        assert_eq!(
            decide(Rule::Daily, Direction::In, Gate::Open, &on_day2),
            Decision::LetIn
        );
        // Once for the whole event: day 2 is refused too.
        assert!(matches!(
            decide(Rule::Once, Direction::In, Gate::Open, &on_day2),
            Decision::Already(_)
        ));
    }

    #[test]
    fn in_out_lists_let_in_out_and_in_again() {
        let rule = Rule::InOut;
        let mut marks = vec![];
        let h = History::of(&marks, "d");
        assert_eq!(decide(rule, Direction::In, Gate::Open, &h), Decision::LetIn);
        marks.push(mark(1, "d", Direction::In));
        let h = History::of(&marks, "d");
        assert!(matches!(
            decide(rule, Direction::In, Gate::Open, &h),
            Decision::Already(_)
        ));
        assert_eq!(
            decide(rule, Direction::Out, Gate::Open, &h),
            Decision::LetOut
        );
        marks.push(mark(2, "d", Direction::Out));
        let h = History::of(&marks, "d");
        assert_eq!(h.inside, None);
        assert_eq!(decide(rule, Direction::In, Gate::Open, &h), Decision::LetIn);
        // An exit scan on a list without exits is an entry.
        assert_eq!(
            decide(Rule::Daily, Direction::Out, Gate::Open, &History::default()),
            Decision::LetIn
        );
    }

    #[test]
    fn refusals_come_before_the_rule() {
        let h = History::default();
        for gate in [
            Gate::Unknown,
            Gate::Canceled,
            Gate::Refunded,
            Gate::NotOnList,
            Gate::NotValidNow,
        ] {
            assert_eq!(
                decide(Rule::Daily, Direction::In, gate, &h),
                Decision::Refuse(gate)
            );
        }
        assert_eq!(
            decide(Rule::InOut, Direction::Out, Gate::NotValidNow, &h),
            Decision::LetOut
        );
        assert_eq!(
            decide(Rule::InOut, Direction::Out, Gate::NotOnList, &h),
            Decision::Refuse(Gate::NotOnList)
        );
    }

    #[test]
    fn days_follow_the_conference_offset() {
        // 2027-06-10 22:30 UTC is the 11th in Paris (UTC+2).
        let ms = 1_812_666_600_000;
        assert_eq!(day_of(ms, 0), "2027-06-10");
        assert_eq!(day_of(ms, 120), "2027-06-11");
        assert_eq!(day_of(0, 0), "1970-01-01");
        assert_eq!(day_of(i64::MAX, i32::MAX), "");
        assert_eq!(day_of(i64::MIN, i32::MIN), "");
    }
}
