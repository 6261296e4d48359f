//! The answers: the full-screen result, its details, undo, and the last answers.
use super::*;

/// The full-screen answer: its colour, the big word, who, which pass; tap to go on.
#[component]
pub(crate) fn ResultScreen(door: Door, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        match door.screen.get() {
        Screen::Idle => ().into_any(),
        Screen::Checking(_) => view! {
            <div class="scan-result scan-checking" data-outcome="CHECKING" role="status">
                <p class="scan-result-title">{move || i18n.t("scan.checking")}</p>
            </div>
        }
        .into_any(),
        Screen::Unconfirmed(_) => view! {
            <div class="scan-result scan-unconfirmed" data-outcome="UNCONFIRMED" role="alert" on:click=move |_| door.screen.set(Screen::Idle)>
                <p class="scan-result-title">{move || i18n.t("scan.unconfirmed")}</p>
                <p>{move || i18n.t("scan.unconfirmed_hint")}</p>
            </div>
        }
        .into_any(),
        Screen::Answer(a) => {
            let class = format!("scan-result scan-{}", a.outcome.as_str().to_lowercase().replace('_', "-"));
            view! {
                <div class=class data-outcome=a.outcome.as_str() data-answer-ms=move || door.answer_ms.get().map(|ms| format!("{ms:.0}"))
                    role="alert" on:click=move |_| door.screen.set(Screen::Idle)>
                    <p class="scan-result-title">{move || i18n.t(a.outcome.title_key())}</p>
                    <AnswerDetails answer=a.clone()/>
                    <UndoButton door answer=a.clone() is_admin/>
                    {a.ticket_id.filter(|_| is_admin && a.outcome == Outcome::Ok).map(|t| view! {
                        <a class="button-secondary scan-badge" href=format!("/admin/badges.pdf?ticket={t}") target="_blank"
                            on:click=|ev| ev.stop_propagation()>{move || i18n.t("checkin.badge")}</a>
                    })}
                    <p class="scan-result-hint">{move || i18n.t("scan.tap_to_continue")}</p>
                </div>
            }
            .into_any()
        }
    }
    }
}

#[component]
pub(crate) fn AnswerDetails(answer: ScanAnswer) -> impl IntoView {
    let i18n = use_i18n();
    let ScanAnswer {
        holder,
        pass,
        used_at_local,
        used_by,
        valid_days,
        repeated,
        offline,
        list,
        ..
    } = answer;
    view! {
        {holder.map(|h| view! { <p class="scan-holder">{h}</p> })}
        {list.map(|l| view! { <p class="scan-list">{l}</p> })}
        {pass.map(|p| view! { <p class="scan-pass">{p}</p> })}
        {used_at_local.map(|at| {
            let by = used_by.unwrap_or_default();
            view! { <p class="scan-used">{move || i18n.t_with("scan.used_at_by", &[("when", &at), ("who", &by)])}</p> }
        })}
        {valid_days.map(|(from, until)| view! {
            <p class="scan-valid-days">{move || {
                if from == until {
                    i18n.t_with("scan.valid_on", &[("day", &i18n.date_long(from))])
                } else {
                    i18n.t_with("scan.valid_between", &[("from", &i18n.date_long(from)), ("until", &i18n.date_long(until))])
                }
            }}</p>
        })}
        {repeated.then(|| view! { <p class="scan-repeated">{move || i18n.t("scan.repeated")}</p> })}
        {offline.then(|| view! { <p class="scan-offline-answer">{move || i18n.t("scan.offline_answer")}</p> })}
    }
}

/// Undo of an entry: by the staff member who made it within the window, by an admin any time
/// (the server decides; this only offers it).
#[component]
pub(crate) fn UndoButton(door: Door, answer: ScanAnswer, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    let (Some(ticket_id), true) = (
        answer.ticket_id,
        !answer.offline
            && (answer.outcome == Outcome::Ok
                || (is_admin && answer.outcome == Outcome::AlreadyUsed)),
    ) else {
        return ().into_any();
    };
    let undone = RwSignal::new(false);
    view! {
        <button type="button" class="button-secondary scan-undo" disabled=move || undone.get() on:click=move |ev| {
            ev.stop_propagation();
            undone.set(true);
            spawn_local(async move {
                match crate::scanning::scan_undo(ticket_id, door.current_list_id()).await {
                    Ok(()) => {
                        door.history.update(|h| h.retain(|a| a.ticket_id != Some(ticket_id) || a.outcome != Outcome::Ok));
                        door.counters.update(|v| *v += 1);
                        door.screen.set(Screen::Idle);
                        door.last_seen.set_value(None);
                        door.notice.set(None);
                    }
                    Err(e) => {
                        undone.set(false);
                        door.notice.set(Some(e));
                        door.screen.set(Screen::Idle);
                    }
                }
            });
        }>{move || i18n.t("scan.undo")}</button>
    }
    .into_any()
}

/// The last answers, newest first, each with its undo while allowed.
#[component]
pub(crate) fn History(door: Door, is_admin: bool) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let history = door.history.get();
        (!history.is_empty()).then(|| view! {
            <section class="scan-history">
                <h2>{move || i18n.t("scan.history")}</h2>
                <ul>
                    {history.into_iter().map(|a| {
                        let outcome = a.outcome;
                        view! {
                            <li class=format!("scan-history-{}", outcome.as_str().to_lowercase().replace('_', "-")) data-outcome=outcome.as_str()>
                                <strong>{move || i18n.t(outcome.title_key())}</strong>
                                " "{a.holder.clone().unwrap_or_default()}" "<small>{a.pass.clone().unwrap_or_default()}</small>
                                " "<UndoButton door answer=a.clone() is_admin/>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}
