//! Every page but the programme, each in its own WASM chunk (`cargo leptos build --split`): the
//! first download of the site (the programme, `/`) holds only what `/` needs, and each other page
//! adds its own chunk when it is visited. Nobody but staff downloads the back office or the door
//! scanner (with its QR decoder). The server renders these pages as usual, and the page preloads
//! its chunk alongside the main WASM.
//!
//! A chunk that fails to download (a flaky venue network) ends the WASM client (Leptos 0.8's lazy
//! views panic on a failed load); `crate::ui::show_reload_notice` then tells the person and offers
//! to reload, which downloads the chunk again.
use crate::ui::prelude::*;
use crate::{
    accounts::components::AccountPage, accounts::components::ForgotPasswordPage,
    accounts::components::ForgotSentPage, accounts::components::LegalPage,
    accounts::components::LoginPage, accounts::components::ResetPasswordPage,
    accounts::components::SignupPage, accounts::components::SignupSentPage,
    accounts::components::VerifyEmailPage, admin::attendees_page::AdminAttendeesPage,
    admin::audit_page::AdminAuditPage, admin::dashboard::components::AdminDashboardPage,
    admin::mail_page::AdminMailPage, admin::orders_page::AdminOrdersPage,
    admin::passes_page::AdminPassesPage, admin::programme_page::AdminProgrammePage,
    admin::users_page::AdminUsersPage, api::admin_page::AdminApiPage,
    attendees::admin_page::AdminQuestionsPage, devtools::DevPanicPage,
    invoicing::admin_page::AdminInvoicesPage, mail::components::DevMailboxPage,
    messages::admin_page::AdminMessagesPage, messages::unsubscribe_page::UnsubscribePage,
    privacy::admin_page::AdminPrivacyPage, privacy::components::ConsentPage,
    privacy::components::DeletedPage, privacy::components::PrivacySection,
    programme::my_programme_page::MyProgrammePage, programme::talk_page::TalkPage,
    scanning::admin_page::AdminDoorPage, scanning::components::ScanPage,
    schedule::admin_page::AdminSchedulePage, ticketing::components::ClaimTicketPage,
    ticketing::components::MyOrdersPage, ticketing::components::MyTicketsPage,
    ticketing::components::OrderConfirmationPage, ticketing::components::ShopPage,
    ticketing::test_checkout::TestCheckoutPage, ui::Hydrated,
    vouchers::admin_page::AdminVouchersPage, waitlist::admin_page::AdminWaitlistPage,
};
use leptos_router::{lazy_route, LazyRoute};

/// `/account`: the account's settings, then the person's data (the privacy domain's section).
#[component]
fn AccountAndPrivacyPage() -> impl IntoView {
    view! { <AccountPage privacy=ViewFn::from(|| view! { <PrivacySection/> })/> }
}

/// `lazy_page!(Route, Page)`: a route whose view is the page component, loaded from its own chunk.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                view! { <$page/> <Hydrated/> }.into_any()
            }
        }
    };
}

lazy_page!(AdminDashboard, AdminDashboardPage);
lazy_page!(AdminUsers, AdminUsersPage);
lazy_page!(AdminAudit, AdminAuditPage);
lazy_page!(AdminOrders, AdminOrdersPage);
lazy_page!(AdminPasses, AdminPassesPage);
lazy_page!(AdminProgramme, AdminProgrammePage);
lazy_page!(AdminAttendees, AdminAttendeesPage);
lazy_page!(AdminMail, AdminMailPage);
lazy_page!(AdminPrivacy, AdminPrivacyPage);
lazy_page!(AdminVouchers, AdminVouchersPage);
lazy_page!(AdminWaitlist, AdminWaitlistPage);
lazy_page!(AdminInvoices, AdminInvoicesPage);
lazy_page!(AdminDoor, AdminDoorPage);
lazy_page!(Consent, ConsentPage);
lazy_page!(Deleted, DeletedPage);
lazy_page!(Scan, ScanPage);
lazy_page!(DevMailbox, DevMailboxPage);
lazy_page!(TestCheckout, TestCheckoutPage);
lazy_page!(DevPanic, DevPanicPage);
lazy_page!(Talk, TalkPage);
lazy_page!(Signup, SignupPage);
lazy_page!(SignupSent, SignupSentPage);
lazy_page!(Login, LoginPage);
lazy_page!(ForgotPassword, ForgotPasswordPage);
lazy_page!(ForgotSent, ForgotSentPage);
lazy_page!(ResetPassword, ResetPasswordPage);
lazy_page!(VerifyEmail, VerifyEmailPage);
lazy_page!(Account, AccountAndPrivacyPage);
lazy_page!(Legal, LegalPage);
lazy_page!(Shop, ShopPage);
lazy_page!(MyProgramme, MyProgrammePage);
lazy_page!(MyOrders, MyOrdersPage);
lazy_page!(MyTickets, MyTicketsPage);
lazy_page!(OrderConfirmation, OrderConfirmationPage);
lazy_page!(ClaimTicket, ClaimTicketPage);
lazy_page!(AdminQuestions, AdminQuestionsPage);
lazy_page!(AdminMessages, AdminMessagesPage);
lazy_page!(AdminSchedule, AdminSchedulePage);
lazy_page!(AdminApi, AdminApiPage);
lazy_page!(UnsubscribeLink, UnsubscribePage);
