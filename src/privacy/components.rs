//! The person's side of their data: the "My personal data" part of `/account` (download, marketing
//! consent, consent history, account deletion), the new-terms page (`/account/consent`) and the
//! page shown once the account is gone (`/account/deleted`).
use super::{AcceptCurrentTerms, ConsentView, DeleteMyAccount, PrivacyStatus, SetMarketingConsent};
use crate::accounts::ConsentType;
use crate::ui::prelude::*;
use leptos_router::hooks::use_query_map;

/// "My personal data" on `/account`.
#[component]
pub fn PrivacySection() -> impl IntoView {
    let i18n = use_i18n();
    let marketing = ServerAction::<SetMarketingConsent>::new();
    let status = Resource::new(move || marketing.version().get(), |_| super::my_privacy());
    view! {
        <section class="card privacy-section">
            <h2>{move || i18n.t("privacy.title")}</h2>
            <p>
                <a class="button-secondary" href="/me/data.json" download="tessera-my-data.json" rel="external">
                    {move || i18n.t("privacy.download")}
                </a>
            </p>
            <p class="hint">{move || i18n.t("privacy.download_hint")}</p>
            {loaded(status, move |s| view! {
                <MarketingChoice granted=s.marketing action=marketing/>
                <ConsentHistory consents=s.consents.clone()/>
                <DeleteAccount status=s/>
            })}
        </section>
    }
}

#[component]
fn MarketingChoice(granted: bool, action: ServerAction<SetMarketingConsent>) -> impl IntoView {
    let i18n = use_i18n();
    let error = action_error(action);
    view! {
        <ActionForm action attr:class="marketing-form">
            <input type="hidden" name="granted" value=(!granted).to_string()/>
            <label class="checkbox">
                <input type="checkbox" checked=granted disabled=true/>
                <span>{move || i18n.t("privacy.marketing")}</span>
            </label>
            <button type="submit" class="button-secondary" data-marketing=granted.to_string()>
                {move || i18n.t(if granted { "privacy.marketing_withdraw" } else { "privacy.marketing_give" })}
            </button>
            <p class="hint">{move || i18n.t("privacy.marketing_hint")}</p>
            <FieldError error field="granted"/>
        </ActionForm>
    }
}

fn consent_label(c: &ConsentView) -> &'static str {
    match (c.kind, c.granted) {
        (ConsentType::Terms, _) => "privacy.consents.terms_accepted",
        (ConsentType::Privacy, _) => "privacy.consents.privacy_accepted",
        (ConsentType::Marketing, true) => "privacy.consents.marketing_optin",
        (ConsentType::Marketing, false) => "privacy.consents.marketing_withdrawn",
    }
}

#[component]
fn ConsentHistory(consents: Vec<ConsentView>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h3>{move || i18n.t("privacy.consents")}</h3>
        <ul class="consent-history">
            {consents
                .into_iter()
                .map(|c| {
                    let label = consent_label(&c);
                    let at = c.accepted_at.format("%Y-%m-%d %H:%M UTC").to_string();
                    let version = c.version.clone();
                    view! {
                        <li>
                            {move || i18n.t(label)}" · "
                            {move || i18n.t_with("privacy.consents.version", &[("version", &version)])}" · "
                            <time>{at}</time>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn DeleteAccount(status: PrivacyStatus) -> impl IntoView {
    let i18n = use_i18n();
    let (delete, error) = form_action::<DeleteMyAccount>();
    let years = status.accounting_retention_years.to_string();
    let at_risk = status.tickets_at_risk;
    let count = at_risk.to_string();
    view! {
        <h3>{move || i18n.t("privacy.delete.title")}</h3>
        {if status.must_be_demoted {
            view! { <p class="notice notice-warning">{move || i18n.t("privacy.error.demote_first")}</p> }.into_any()
        } else {
            view! {
                <p>{move || i18n.t("privacy.delete.erased")}</p>
                <p>{move || i18n.t_with("privacy.delete.kept", &[("years", &years)])}</p>
                <ActionForm action=delete attr:class="stack-form delete-account-form">
                    {(at_risk > 0).then(|| view! {
                        <p class="notice notice-warning">{move || i18n.t_with("privacy.delete.tickets_warning", &[("count", &count)])}</p>
                        <label class="checkbox">
                            <input type="checkbox" name="cancel_tickets" value="yes" required/>
                            <span>{move || i18n.t("privacy.delete.cancel_tickets")}</span>
                        </label>
                        <FieldError error field="cancel_tickets"/>
                    })}
                    <label>
                        {move || i18n.t("privacy.delete.password")}
                        <input type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    <FieldError error field="password"/>
                    // Whatever is not about a field (busy, rate limited, a failure) shows here.
                    <FormError error fields=&["password", "cancel_tickets"]/>
                    <button type="submit" class="button-danger">{move || i18n.t("privacy.delete.submit")}</button>
                </ActionForm>
            }
                .into_any()
        }}
    }
}

/// `/account/consent`: the terms or privacy policy changed since the person accepted them.
#[component]
pub fn ConsentPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let (accept, error) = form_action::<AcceptCurrentTerms>();
    let status = Resource::new(|| (), |_| super::my_privacy());
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    view! {
        <PageSection title="privacy.consent.title" class="consent-page narrow">
            {loaded(status, move |s| {
                let version = s.consent_version.clone();
                view! {
                    <p>{move || i18n.t_with("privacy.consent.intro", &[("version", &version)])}</p>
                    <ul>
                        <li><a href="/legal/terms" target="_blank">{move || i18n.t("legal.terms.title")}</a></li>
                        <li><a href="/legal/privacy" target="_blank">{move || i18n.t("legal.privacy.title")}</a></li>
                    </ul>
                }
                    .into_any()
            })}
            <ActionForm action=accept attr:class="consent-form">
                <input type="hidden" name="next" value=next/>
                <FieldError error field="form"/>
                <button type="submit" class="button-primary">{move || i18n.t("privacy.consent.accept")}</button>
            </ActionForm>
        </PageSection>
    }
}

/// `/account/deleted`: shown once, after the account was deleted (the person is logged out).
#[component]
pub fn DeletedPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageSection title="privacy.deleted.title" class="deleted-page narrow">
            <p class="notice notice-success">{move || i18n.t("privacy.deleted.body")}</p>
            <a href="/" rel="external">{move || i18n.t("nav.programme")}</a>
        </PageSection>
    }
}
