//! Ticketing pages: the shop (`/tickets`), my orders, my tickets, and the confirmation page that
//! waits for the payment.
use super::{
    Availability, CancelOrder, Checkout, ClaimTicket, OrderStatus, OrderView, SetTicketHolder,
    ShopItem, TicketStatus, TicketView, TransferTicket,
};
use crate::ui::prelude::*;
use crate::{accounts::components::use_auth, i18n::I18n, money::format_money, ui::LoginRequired};
use chrono::NaiveDate;
use leptos_router::hooks::{use_params_map, use_query_map};

fn date_range(i18n: I18n, days: Option<(NaiveDate, NaiveDate)>) -> String {
    match days {
        Some((f, u)) if f == u => i18n.date_long(f),
        Some((f, u)) => i18n.t_with(
            "shop.valid_range",
            &[("from", &i18n.date_long(f)), ("until", &i18n.date_long(u))],
        ),
        None => i18n.t("shop.valid_always"),
    }
}

#[component]
pub fn ShopPage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let query = use_query_map();
    let join = ServerAction::<crate::waitlist::JoinWaitlist>::new();
    let leave = ServerAction::<crate::waitlist::LeaveWaitlist>::new();
    let code = move || query.read().get("voucher").filter(|c| !c.trim().is_empty());
    let shop = Resource::new(
        move || (code(), join.version().get(), leave.version().get()),
        |(code, _, _)| super::shop(code),
    );
    let (checkout, error) = form_action::<Checkout>();
    view! {
        <PageSection title="shop.title" class="shop">
            <p class="lede">{move || i18n.t("shop.lede")}</p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    let logged_in = matches!(auth.me.await, Ok(Some(_)));
                    match shop.await {
                        Ok(view) => {
                            let code = view.voucher.as_ref().map(|v| v.code.clone());
                            let waits = view.waits.clone();
                            view! {
                                <crate::vouchers::components::VoucherBox applied=view.voucher.clone() refused=view.voucher_error.clone() typed=query.read_untracked().get("voucher").unwrap_or_default()/>
                                <ActionForm action=checkout attr:class="shop-form">
                                    <FormError error fields=&["voucher", "billing[company]", "billing[address]", "billing[country]", "billing[vat_number]", "billing[reference]", "attendees["]/>
                                    <FieldError error field="voucher"/>
                                    {code.map(|c| view! { <input type="hidden" name="voucher" value=c/> })}
                                    <ul class="pass-list">
                                        {view.items.into_iter().enumerate().map(|(i, item)| {
                                            let wait = waits.iter().find(|w| w.ticket_type_id == item.id).cloned();
                                            view! { <PassCard index=i item error wait logged_in join leave/> }
                                        }).collect_view()}
                                    </ul>
                                    {logged_in.then(|| view! { <crate::invoicing::components::CheckoutBilling error/> })}
                                    {if logged_in {
                                        view! { <button type="submit" class="button-primary pay-button" disabled=move || checkout.pending().get()>{move || i18n.t("shop.pay")}</button> }.into_any()
                                    } else {
                                        view! { <LoginRequired/> }.into_any()
                                    }}
                                </ActionForm>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </PageSection>
    }
}

#[component]
fn PassCard(
    index: usize,
    item: ShopItem,
    error: Signal<Option<AppError>>,
    wait: Option<crate::waitlist::MyWait>,
    logged_in: bool,
    join: ServerAction<crate::waitlist::JoinWaitlist>,
    leave: ServerAction<crate::waitlist::LeaveWaitlist>,
) -> impl IntoView {
    let i18n = use_i18n();
    let price = item.price_cents;
    let list_price = item.list_price_cents.filter(|l| *l != price);
    let currency = item.currency.clone();
    let list_currency = item.currency.clone();
    let validity = move || date_range(i18n, item.valid_days);
    let sold_out = item.availability == Availability::SoldOut;
    let (on_sale, availability) = match item.availability.clone() {
        Availability::OnSale { left } => (
            true,
            Signal::derive(move || i18n.t_with("shop.left", &[("n", &left.to_string())])),
        ),
        Availability::SoldOut => (false, Signal::derive(move || i18n.t("shop.sold_out"))),
        Availability::NotYet { opens } => (
            false,
            Signal::derive(move || {
                i18n.t_with(
                    "shop.opens",
                    &[("date", &i18n.date_long(opens.date_naive()))],
                )
            }),
        ),
        Availability::Ended => (false, Signal::derive(move || i18n.t("shop.ended"))),
    };
    let field = item.id.to_string();
    let pass = item.id;
    // Each seat's holder and answers, when the pass asks for them (shown as the quantity changes).
    let quantity = RwSignal::new(0usize);
    let asks = item.names_required || !item.questions.is_empty();
    let (questions, needs_names, pass_name) = (
        item.questions.clone(),
        item.names_required,
        item.name.clone(),
    );
    view! {
        <li class="pass-card" class:pass-unavailable=!on_sale class:pass-unlocked=item.hidden data-pass=item.name.clone()>
            <div class="pass-head">
                <h2>{item.name.clone()}</h2>
                <span class="pass-price">
                    {list_price.map(|l| view! { <del class="pass-list-price">{move || format_money(l, &list_currency, i18n.locale.get())}</del>" " })}
                    {move || format_money(price, &currency, i18n.locale.get())}
                </span>
            </div>
            {item.hidden.then(|| view! { <p class="badge pass-unlocked-badge">{move || i18n.t("voucher.unlocked")}</p> })}
            {item.description.clone().map(|d| view! { <p class="pass-description">{d}</p> })}
            <p class="pass-validity">{move || i18n.t("shop.access")}" "{validity}</p>
            <p class="pass-availability">{availability}</p>
            <input type="hidden" name=format!("lines[{index}][ticket_type_id]") value=item.id.to_string()/>
            <label class="pass-qty">
                {move || i18n.t("shop.quantity")}
                <input type="number" name=format!("lines[{index}][quantity]") min="0" max="10" value="0" inputmode="numeric" disabled=!on_sale
                    on:input=move |ev| quantity.set(event_target_value(&ev).trim().parse::<usize>().unwrap_or(0).min(10))/>
            </label>
            <PassFieldError error field/>
            {asks.then(|| view! {
                <div class="seats">
                    <For each=move || 0..quantity.get() key=|n| *n let:n>
                        <crate::attendees::components::SeatFields key=format!("p{index}s{n}") pass pass_name=pass_name.clone() number=n
                            needs_names questions=questions.clone() error/>
                    </For>
                </div>
            })}
            {(sold_out || wait.is_some()).then(|| view! { <crate::waitlist::components::WaitlistBox pass wait logged_in join leave/> })}
        </li>
    }
}

/// The message of an error on one pass's quantity: its field is the pass's id, an owned string
/// (the shared `FieldError` takes `&'static str`, which a per-render id is not).
#[component]
fn PassFieldError(error: Signal<Option<AppError>>, field: String) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error
            .get()
            .filter(|e| e.field() == Some(field.as_str()))
            .map(|e| {
                view! { <p class="field-error" role="alert" data-field=field.clone()>{e.message(i18n.locale.get())}</p> }
            })
    }
}

fn status_key(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Draft => "orders.status.draft",
        OrderStatus::PendingPayment => "orders.status.pending_payment",
        OrderStatus::Paid => "orders.status.paid",
        OrderStatus::Canceled => "orders.status.canceled",
        OrderStatus::Refunded => "orders.status.refunded",
    }
}

#[component]
pub fn MyOrdersPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let cancel = ServerAction::<CancelOrder>::new();
    let reload = RwSignal::new(0u32);
    let orders = Resource::new(
        move || (cancel.version().get(), reload.get()),
        |_| super::my_orders(),
    );
    view! {
        <PageSection title="orders.title" class="orders-page">
            {move || query.read().get("failed").map(|_| view! { <p class="notice notice-warning">{move || i18n.t("orders.payment_failed")}</p> })}
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{move || i18n.t("orders.none")}" "<a href="/tickets">{move || i18n.t("nav.tickets")}</a></p> }.into_any(),
                        Ok(list) => list.into_iter().map(|order| view! { <OrderCard order cancel reload/> }).collect_view().into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </PageSection>
    }
}

#[component]
fn OrderCard(
    order: OrderView,
    cancel: ServerAction<CancelOrder>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let currency = order.currency.clone();
    let total = order.total_cents;
    let reference = order.id.simple().to_string()[..8].to_uppercase();
    let pending = order.status == OrderStatus::PendingPayment;
    view! {
        <article class="card order" data-order=order.id.to_string() data-status=order.status.as_str()>
            <header class="order-head">
                <strong>{move || i18n.t_with("orders.reference", &[("ref", &reference)])}</strong>
                <span class=format!("badge status-{}", order.status.as_str().to_lowercase())>{move || i18n.t(status_key(order.status))}</span>
                <span class="order-total">{move || format_money(total, &currency, i18n.locale.get())}</span>
            </header>
            <ul class="order-items">
                {order.items.iter().map(|it| {
                    let (q, name, c, line) = (it.quantity, it.name.clone(), order.currency.clone(), it.line_total_cents);
                    view! { <li>{format!("{q} × {name}")}" — "{move || format_money(line, &c, i18n.locale.get())}</li> }
                }).collect_view()}
            </ul>
            {order.voucher_code.clone().map(|code| {
                let (c, off) = (order.currency.clone(), order.discount_cents);
                view! { <p class="order-voucher">{move || i18n.t_with("orders.voucher", &[("code", &code), ("amount", &format_money(off, &c, i18n.locale.get()))])}</p> }
            })}
            {pending.then(|| view! {
                <div class="order-actions">
                    {order.checkout_url.clone().map(|url| view! { <a class="button-primary" href=url rel="external">{move || i18n.t("orders.finish_payment")}</a> })}
                    <ActionForm action=cancel attr:class="inline-form">
                        <input type="hidden" name="order_id" value=order.id.to_string()/>
                        <button type="submit" class="button-secondary">{move || i18n.t("orders.cancel")}</button>
                    </ActionForm>
                </div>
            })}
            {(order.ticket_count > 0).then(|| view! { <a href="/me/tickets">{move || i18n.t("orders.see_tickets")}</a> })}
            <crate::invoicing::components::OrderDocuments order_id=order.id invoices=order.invoices.clone() billing=order.billing.clone()
                currency=order.currency.clone() editable=matches!(order.status, OrderStatus::Paid | OrderStatus::PendingPayment) reload/>
        </article>
    }
}

/// The success URL of the payment page: waits (polling) until the order is paid.
#[component]
pub fn OrderConfirmationPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let tick = RwSignal::new(0u32);
    let order = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), tick.get()),
        |(id, _)| async move {
            match uuid::Uuid::parse_str(&id) {
                Ok(id) => super::my_order(id).await,
                Err(_) => Err(AppError::NotFound),
            }
        },
    );
    // Poll every second while the payment is not confirmed (browser only; at most 2 minutes).
    Effect::new(move |_| {
        if let Some(Ok(o)) = order.get() {
            if o.status == OrderStatus::PendingPayment && tick.get_untracked() < 120 {
                set_timeout(
                    move || tick.update(|t| *t += 1),
                    std::time::Duration::from_secs(1),
                );
            }
        }
    });
    view! {
        <Title text=page_title(move || i18n.t("confirmation.title"))/>
        <section class="confirmation">
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match order.await {
                        Ok(o) if o.status == OrderStatus::Paid => view! {
                            <div class="notice notice-success confirmation-paid" data-order=o.id.to_string()>
                                <h1>{move || i18n.t("confirmation.paid")}</h1>
                                <p>{move || i18n.t_with("confirmation.tickets_sent", &[("n", &o.ticket_count.to_string())])}</p>
                                <a class="button-primary" href="/me/tickets">{move || i18n.t("orders.see_tickets")}</a>
                            </div>
                        }
                            .into_any(),
                        Ok(o) if o.status == OrderStatus::PendingPayment => view! {
                            <div class="notice confirmation-waiting" aria-busy="true">
                                <h1>{move || i18n.t("confirmation.waiting")}</h1>
                                <p>{move || i18n.t("confirmation.waiting_body")}</p>
                            </div>
                        }
                            .into_any(),
                        Ok(o) => view! { <p class="notice notice-warning">{move || i18n.t(status_key(o.status))}</p> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn MyTicketsPage() -> impl IntoView {
    let i18n = use_i18n();
    let holder = ServerAction::<SetTicketHolder>::new();
    let transfer = ServerAction::<TransferTicket>::new();
    let query = use_query_map();
    let tickets = Resource::new(
        move || (holder.version().get(), transfer.version().get()),
        |_| super::my_tickets(),
    );
    view! {
        <PageSection title="tickets.title" class="tickets-page">
            {move || query.read().get("claimed").map(|_| view! { <p class="notice notice-success" role="status">{move || i18n.t("tickets.claim_done")}</p> })}
            <p class="no-print"><button type="button" class="button-secondary" on:click=move |_| crate::ui::print_page()>{move || i18n.t("tickets.print")}</button></p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match tickets.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{move || i18n.t("tickets.none")}" "<a href="/tickets">{move || i18n.t("nav.tickets")}</a></p> }.into_any(),
                        Ok(list) => view! { <div class="ticket-grid">{list.into_iter().map(|ticket| view! { <TicketCard ticket holder transfer/> }).collect_view()}</div> }.into_any(),
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Transition>
        </PageSection>
    }
}

#[component]
fn TicketCard(
    ticket: TicketView,
    holder: ServerAction<SetTicketHolder>,
    transfer: ServerAction<TransferTicket>,
) -> impl IntoView {
    let i18n = use_i18n();
    let error = action_error(holder);
    let status_key = match ticket.status {
        TicketStatus::Valid => "tickets.status.valid",
        TicketStatus::Used => "tickets.status.used",
        TicketStatus::Canceled => "tickets.status.canceled",
    };
    let validity = move || date_range(i18n, ticket.valid_days);
    let valid = ticket.status == TicketStatus::Valid;
    view! {
        <article class="ticket card" data-ticket=ticket.id.to_string() data-status=ticket.status.as_str() data-token=ticket.token.clone() data-code=ticket.code.clone()>
            <header>
                <h2>{ticket.type_name.clone()}</h2>
                <span class="badge">{move || i18n.t(status_key)}</span>
            </header>
            <p class="ticket-validity">{move || i18n.t("shop.access")}" "{validity}</p>
            {valid.then(|| view! { <div class="ticket-qr" inner_html=ticket.qr_svg.clone()></div> })}
            {valid.then(|| view! { <p class="ticket-code"><small>{move || i18n.t("tickets.code")}</small><code>{ticket.token.clone()}</code></p> })}
            <p class="ticket-holder">{move || i18n.t("tickets.holder")}" "<strong>{ticket.holder_name.clone().unwrap_or_else(|| i18n.t("tickets.holder_buyer"))}</strong></p>
            {(!ticket.bought).then(|| view! { <p class="ticket-claimed hint">{move || i18n.t("tickets.claimed")}</p> })}
            <crate::attendees::components::TicketAnswersBox ticket_id=ticket.id/>
            {valid.then(|| view! { <TransferBox ticket_id=ticket.id transfer/> })}
            {(valid && ticket.bought).then(|| view! {
                <details class="no-print">
                    <summary>{move || i18n.t("tickets.name_holder")}</summary>
                    <ActionForm action=holder attr:class="stack-form">
                        <input type="hidden" name="ticket_id" value=ticket.id.to_string()/>
                        <Labelled label="tickets.holder_name"><input type="text" name="holder_name" value=ticket.holder_name.clone() required/></Labelled>
                        <FieldError error field="holder_name"/>
                        <Labelled label="form.email"><input type="email" name="holder_email" value=ticket.holder_email.clone() required/></Labelled>
                        <FieldError error field="holder_email"/>
                        <button type="submit" class="button-small">{move || i18n.t("form.save")}</button>
                    </ActionForm>
                </details>
            })}
        </article>
    }
}

/// "Give this ticket to a colleague": a new holder, a new code (the old one no longer gets in).
#[component]
fn TransferBox(ticket_id: uuid::Uuid, transfer: ServerAction<TransferTicket>) -> impl IntoView {
    let i18n = use_i18n();
    let error = action_error(transfer);
    view! {
        <details class="no-print ticket-transfer">
            <summary>{move || i18n.t("tickets.transfer")}</summary>
            <p class="hint">{move || i18n.t("tickets.transfer_hint")}</p>
            <ActionForm action=transfer attr:class="stack-form">
                <input type="hidden" name="ticket_id" value=ticket_id.to_string()/>
                <Labelled label="tickets.holder_name"><input type="text" name="holder_name" maxlength="120"/></Labelled>
                <FieldError error field="holder_name"/>
                <Labelled label="form.email"><input type="email" name="holder_email" maxlength="254"/></Labelled>
                <FieldError error field="holder_email"/>
                <button type="submit" class="button-small">{move || i18n.t("tickets.transfer_submit")}</button>
            </ActionForm>
        </details>
    }
}

/// `/tickets/claim?token=…`, the link of a holder's ticket mail: claims the ticket into the
/// reader's account with a button (a POST: mail scanners that open links do not use it up).
#[component]
pub fn ClaimTicketPage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let (claim, error) = form_action::<ClaimTicket>();
    let token = crate::ui::query_token();
    let here = move || {
        format!(
            "/tickets/claim?token={}",
            crate::ui::encode_query(&token.get())
        )
    };
    view! {
        <PageSection title="tickets.claim_title" class="claim-page narrow">
            <p>{move || i18n.t("tickets.claim_intro")}</p>
            <Transition fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    if matches!(auth.me.await, Ok(Some(_))) {
                        view! {
                            <ActionForm action=claim attr:class="stack-form">
                                <TokenSubmit error token label="tickets.claim_submit" pending=claim.pending()/>
                            </ActionForm>
                        }
                        .into_any()
                    } else {
                        let next = crate::ui::encode_query(&here());
                        view! {
                            <p class="notice notice-warning">{move || i18n.t("tickets.claim_login")}</p>
                            <p>
                                <a class="button-primary" href=format!("/login?next={next}")>{move || i18n.t("nav.login")}</a>" "
                                <a class="button-secondary" href="/signup">{move || i18n.t("nav.signup")}</a>
                            </p>
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </PageSection>
    }
}
