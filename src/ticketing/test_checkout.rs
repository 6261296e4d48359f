//! The built-in test checkout (`/checkout/test/:session`), clearly marked TEST: the stand-in for
//! the provider's payment page when no Stripe keys are set (dev only). Its buttons become the events
//! Stripe would send (`payment_events`).
use super::OrderView;
use crate::money::format_money;
use crate::ui::prelude::*;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCheckoutInfo {
    pub session_id: String,
    pub order: OrderView,
}

#[server(prefix = "/api", endpoint = "test_checkout")]
pub async fn test_checkout(session_id: String) -> Result<TestCheckoutInfo, AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    super::payment_events::test_checkout(&state, user.id, &session_id).await
}

/// The tester's choice on the test checkout page: `pay`, `fail` or `abandon`.
#[server(prefix = "/api", endpoint = "test_checkout_act")]
pub async fn test_checkout_act(session_id: String, outcome: String) -> Result<(), AppError> {
    let (user, state) = crate::accounts::session::user_state().await?;
    let next =
        super::payment_events::test_checkout_act(&state, user.id, &session_id, &outcome).await?;
    leptos_axum::redirect(&next);
    Ok(())
}

#[component]
pub fn TestCheckoutPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let act = ServerAction::<TestCheckoutAct>::new();
    let info = Resource::new(
        move || params.read().get("session").unwrap_or_default(),
        test_checkout,
    );
    view! {
        <Title text=page_title(move || i18n.t("testpay.title"))/>
        <section class="test-checkout">
            <p class="test-banner">{move || i18n.t("testpay.banner")}</p>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(tc) => {
                            let currency = tc.order.currency.clone();
                            let total = tc.order.total_cents;
                            view! {
                                <h1>{move || i18n.t("testpay.title")}</h1>
                                <ul class="order-items">
                                    {tc.order.items.iter().map(|it| view! { <li>{format!("{} × {}", it.quantity, it.name)}</li> }).collect_view()}
                                </ul>
                                <p class="order-total">{move || i18n.t("testpay.total")}" "<strong>{move || format_money(total, &currency, i18n.locale.get())}</strong></p>
                                <div class="test-actions">
                                    {[("pay", "testpay.pay", "button-primary"), ("fail", "testpay.fail", "button-danger"), ("abandon", "testpay.abandon", "button-secondary")]
                                        .into_iter()
                                        .map(|(outcome, key, class)| {
                                            let session = tc.session_id.clone();
                                            view! {
                                                <ActionForm action=act attr:class="inline-form">
                                                    <input type="hidden" name="session_id" value=session/>
                                                    <input type="hidden" name="outcome" value=outcome/>
                                                    <button type="submit" class=class data-outcome=outcome disabled=move || act.pending().get()>{move || i18n.t(key)}</button>
                                                </ActionForm>
                                            }
                                        })
                                        .collect_view()}
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
