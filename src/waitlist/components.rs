//! A sold-out pass's waiting-list box in the shop: join, my place, my offer, leave.
use super::{JoinWaitlist, LeaveWaitlist, MyWait, WaitStatus};
use crate::ui::prelude::*;
use uuid::Uuid;

/// Buttons, not forms: the box sits inside the shop's checkout form.
#[component]
pub fn WaitlistBox(
    pass: Uuid,
    wait: Option<MyWait>,
    logged_in: bool,
    join: ServerAction<JoinWaitlist>,
    leave: ServerAction<LeaveWaitlist>,
) -> impl IntoView {
    let i18n = use_i18n();
    let join_error = action_error(join);
    // The action is shared by every sold-out card: its error shows on the card clicked.
    let clicked = RwSignal::new(false);
    let leave_button = move || {
        view! {
            <button type="button" class="button-small button-secondary waitlist-leave"
                disabled=move || leave.pending().get()
                on:click=move |_| { leave.dispatch(LeaveWaitlist { ticket_type_id: pass }); }>
                {move || i18n.t("waitlist.leave")}
            </button>
        }
    };
    let body = match wait {
        Some(MyWait { status: WaitStatus::Waiting, position, .. }) => view! {
            <p class="waitlist-position">{move || i18n.t_with("waitlist.position", &[("n", &position.to_string())])}</p>
            {leave_button()}
        }
        .into_any(),
        Some(MyWait { status: WaitStatus::Offered, offer_code, offered_until, .. }) => {
            let href = format!("/tickets?voucher={}", offer_code.unwrap_or_default());
            let until = offered_until.unwrap_or_default();
            view! {
                <p class="notice notice-success waitlist-offered">{move || i18n.t_with("waitlist.offered", &[("date", &until)])}</p>
                <a class="button-primary waitlist-take" href=href rel="external">{move || i18n.t("waitlist.take")}</a>
                {leave_button()}
            }
            .into_any()
        }
        other => {
            let expired = other.is_some();
            view! {
                {expired.then(|| view! { <p class="waitlist-expired">{move || i18n.t("waitlist.expired")}</p> })}
                {if logged_in {
                    view! {
                        <button type="button" class="button-secondary waitlist-join"
                            disabled=move || join.pending().get()
                            on:click=move |_| { clicked.set(true); join.dispatch(JoinWaitlist { ticket_type_id: pass }); }>
                            {move || i18n.t("waitlist.join")}
                        </button>
                    }
                    .into_any()
                } else {
                    view! { <p class="waitlist-login"><a href="/login?next=%2Ftickets">{move || i18n.t("waitlist.login")}</a></p> }.into_any()
                }}
            }
            .into_any()
        }
    };
    view! {
        <div class="waitlist-box" data-waitlist=pass.to_string()>
            <p class="waitlist-title">{move || i18n.t("waitlist.title")}</p>
            {body}
            {move || join_error.get().filter(|_| clicked.get()).map(|e| view! { <p class="field-error" role="alert">{e.message(i18n.locale.get())}</p> })}
        </div>
    }
}
