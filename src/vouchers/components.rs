//! The shop's code field: a plain GET form to `/tickets?voucher=CODE` (the same address a
//! speaker's or sponsor's link opens), and what the code does or why it was refused.
use super::{AppliedVoucher, VoucherEffect};
use crate::money::format_money;
use crate::ui::prelude::*;

#[component]
pub fn VoucherBox(
    applied: Option<AppliedVoucher>,
    refused: Option<AppError>,
    typed: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = applied.is_some() || refused.is_some();
    view! {
        <details class="card voucher-box" open=open>
            <summary>{move || i18n.t("voucher.have_code")}</summary>
            <form method="get" action="/tickets" class="inline-form voucher-form">
                <label>
                    {move || i18n.t("voucher.code")}
                    <input type="text" name="voucher" value=typed autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="40" required/>
                </label>
                <button type="submit" class="button-secondary">{move || i18n.t("voucher.apply")}</button>
            </form>
            {refused.map(|e| view! { <p class="field-error" role="alert" data-field="voucher">{move || e.message(i18n.locale.get())}</p> })}
            {applied.map(|v| view! { <AppliedNotice v/> })}
        </details>
    }
}

#[component]
fn AppliedNotice(v: AppliedVoucher) -> impl IntoView {
    let i18n = use_i18n();
    let what = move || {
        let locale = i18n.locale.get();
        match v.effect {
            VoucherEffect::Percent if v.value == 0 => i18n.t("voucher.effect_none"),
            VoucherEffect::Percent => {
                i18n.t_with("voucher.effect_percent", &[("n", &v.value.to_string())])
            }
            VoucherEffect::Amount => i18n.t_with(
                "voucher.effect_amount",
                &[("amount", &format_money(v.value, "eur", locale))],
            ),
            VoucherEffect::Price => i18n.t_with(
                "voucher.effect_price",
                &[("amount", &format_money(v.value, "eur", locale))],
            ),
        }
    };
    let pass = v.pass_name.clone();
    let until = v.personal_until.clone();
    let code = v.code.clone();
    view! {
        <div class="notice notice-success voucher-applied" data-voucher=v.code.clone()>
            <p><strong>{move || i18n.t_with("voucher.applied", &[("code", &code)])}</strong>" "{what}</p>
            <p>{move || match &pass {
                Some(p) => i18n.t_with("voucher.for_pass", &[("pass", p)]),
                None => i18n.t("voucher.for_all"),
            }}" "{move || i18n.t_with("voucher.uses_left", &[("n", &v.uses_left.to_string())])}</p>
            {until.map(|u| view! { <p>{move || i18n.t_with("voucher.held_until", &[("date", &u)])}</p> })}
        </div>
    }
}
