//! The list picker (list, entry or exit) and the list's counters.
use super::*;

/// The list the steward scans for (kept on the phone) and, on an in/out list, entry or exit.
#[component]
pub(crate) fn ListPicker(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let lists = door.lists.get();
        let current = door.current_list();
        let inout = current.as_ref().is_some_and(|l| l.rule == Rule::InOut);
        let current_id = current.map(|l| l.id);
        (!lists.is_empty()).then(|| view! {
            <div class="scan-list-picker">
                <label>
                    {move || i18n.t("checkin.pick_list")}" "
                    <select name="list" on:change=move |ev| {
                        let id = Uuid::parse_str(&event_target_value(&ev)).ok();
                        door.list.set(id);
                        door.direction.set(Direction::In);
                        // The person in front of the camera is scanned again, for this list.
                        door.last_seen.set_value(None);
                        store::set_chosen_list(id);
                        door.counters.update(|v| *v += 1);
                    }>
                        {lists.into_iter().map(|l| {
                            let selected = Some(l.id) == current_id;
                            view! { <option value=l.id.to_string() selected=selected>{l.name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                {inout.then(|| view! {
                    <div class="scan-direction" role="group">
                        <button type="button" class="scan-direction-in" aria-pressed=move || (door.direction.get() == Direction::In).to_string()
                            on:click=move |_| { door.direction.set(Direction::In); door.last_seen.set_value(None) }>{move || i18n.t("checkin.direction.in")}</button>
                        <button type="button" class="scan-direction-out" aria-pressed=move || (door.direction.get() == Direction::Out).to_string()
                            on:click=move |_| { door.direction.set(Direction::Out); door.last_seen.set_value(None) }>{move || i18n.t("checkin.direction.out")}</button>
                    </div>
                })}
            </div>
        })
    }
}

/// The list's counters today: checked in / expected per pass, who is inside; refreshed after each
/// answer and every few seconds.
#[component]
pub(crate) fn Counters(door: Door) -> impl IntoView {
    let i18n = use_i18n();
    let counts = Resource::new(
        move || (door.counters.get(), door.current_list_id()),
        |(_, list)| async move {
            match list {
                Some(list) => crate::checkin::checkin_counters(list).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <section class="scan-counters">
            <h2>{move || i18n.t("scan.counters")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match counts.await {
                        Ok(None) => ().into_any(),
                        Ok(Some(c)) => {
                            let (checked, expected) = (c.checked_in, c.expected);
                            view! {
                                <p class="scan-total" data-checked-in=checked.to_string() data-expected=expected.to_string()
                                    data-inside=c.inside.map(|n| n.to_string())>
                                    {move || i18n.t_with("scan.checked_in", &[("in", &checked.to_string()), ("expected", &expected.to_string())])}
                                    {c.inside.map(|n| view! { " · " {move || i18n.t_with("checkin.inside", &[("n", &n.to_string())])} })}
                                </p>
                                <ul class="scan-per-pass">
                                    {c.rows.into_iter().map(|c| view! {
                                        <li>
                                            <span>{c.pass}</span>
                                            <meter min="0" max=c.expected.max(1).to_string() value=c.checked_in.to_string()></meter>
                                            <span>{format!("{} / {}", c.checked_in, c.expected)}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }
                            .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
