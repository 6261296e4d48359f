//! Account pages: sign-up, login, verification, password reset, and `/account` (profile, email,
//! sessions). Every form is a plain `<form>` that works without JavaScript (`ActionForm`); once
//! hydrated, errors appear next to their field without a page load.
use super::{
    AuthUser, ChangeEmail, ForgotPassword, Login, Logout, LogoutEverywhere, Profile,
    ResendVerification, ResetPassword, RevokeSession, SessionInfo, Signup, UpdateProfile,
    VerifyEmail,
};
use crate::i18n::LOCALES;
use crate::ui::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

/// Who is logged in, refreshed on every navigation and after login/logout.
#[derive(Clone, Copy)]
pub struct Auth {
    pub me: Resource<Result<Option<AuthUser>, AppError>>,
    pub version: RwSignal<usize>,
}

pub fn provide_auth() -> Auth {
    let location = use_location();
    let version = RwSignal::new(0usize);
    let me = Resource::new(
        move || (location.pathname.get(), version.get()),
        |_| super::get_me(),
    );
    let auth = Auth { me, version };
    provide_context(auth);
    auth
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// The header's account area: login/sign-up links, or the user's name, role links and logout.
#[component]
pub fn AccountNav() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let logout = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if logout.version().get() > 0 {
            auth.version.update(|v| *v += 1);
            // The door's tickets (and names) do not stay on a device nobody is logged in on.
            leptos::task::spawn_local(crate::scanning::store::wipe());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(user)) => {
                        let is_admin = user.role == super::Role::Admin;
                        let at_door = matches!(user.role, super::Role::Admin | super::Role::StaffScan);
                        view! {
                            <div class="account-nav" data-user=user.email.clone()>
                                {is_admin.then(|| view! { <a href="/admin">{move || i18n.t("nav.admin")}</a> })}
                                {at_door.then(|| view! { <a href="/scan">{move || i18n.t("nav.scan")}</a> })}
                                <a href="/me/programme">{move || i18n.t("nav.my_programme")}</a>
                                <a href="/me/tickets">{move || i18n.t("nav.my_tickets")}</a>
                                <a href="/me/orders">{move || i18n.t("nav.my_orders")}</a>
                                <a href="/account" class="account-link">{user.display_name()}</a>
                                <ActionForm action=logout attr:class="inline-form">
                                    <button type="submit" class="link-button">{move || i18n.t("nav.logout")}</button>
                                </ActionForm>
                            </div>
                        }
                            .into_any()
                    }
                    _ => view! {
                        <div class="account-nav">
                            <a href="/login">{move || i18n.t("nav.login")}</a>
                            <a href="/signup" class="nav-cta">{move || i18n.t("nav.signup")}</a>
                        </div>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let i18n = use_i18n();
    let (action, error) = form_action::<Signup>();
    view! {
        <PageSection title="signup.title" class="auth-page">
            <ActionForm action attr:class="stack-form" attr:novalidate=true>
                <FormError error fields=&["email", "password", "terms", "privacy"]/>
                <Labelled label="form.email"><input type="email" name="email" autocomplete="email" required/></Labelled>
                <FieldError error field="email"/>
                <label>
                    {move || i18n.t("form.password")}
                    <input type="password" name="password" autocomplete="new-password" minlength="10" required/>
                    <small class="hint">{move || i18n.t("signup.password_hint")}</small>
                </label>
                <FieldError error field="password"/>
                <div class="row">
                    <Labelled label="form.first_name"><input type="text" name="first_name" autocomplete="given-name"/></Labelled>
                    <Labelled label="form.last_name"><input type="text" name="last_name" autocomplete="family-name"/></Labelled>
                </div>
                <fieldset class="consents">
                    <legend>{move || i18n.t("signup.consents")}</legend>
                    <label class="check">
                        <input type="checkbox" name="terms" value="on" required/>
                        <span>{move || i18n.t("signup.terms")}" "<a href="/legal/terms" target="_blank">{move || i18n.t("signup.read")}</a></span>
                    </label>
                    <FieldError error field="terms"/>
                    <label class="check">
                        <input type="checkbox" name="privacy" value="on" required/>
                        <span>{move || i18n.t("signup.privacy")}" "<a href="/legal/privacy" target="_blank">{move || i18n.t("signup.read")}</a></span>
                    </label>
                    <FieldError error field="privacy"/>
                    <label class="check">
                        <input type="checkbox" name="marketing" value="on"/>
                        <span>{move || i18n.t("signup.marketing")}</span>
                    </label>
                </fieldset>
                <SubmitButton label="signup.submit" pending=action.pending()/>
            </ActionForm>
            <p class="aside">{move || i18n.t("signup.have_account")}" "<a href="/login">{move || i18n.t("nav.login")}</a></p>
        </PageSection>
    }
}

/// The answer after sign-up or a reset request: the same whether or not the address has an account.
#[component]
pub fn MailSentPage(title_key: &'static str, body_key: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text=page_title(move || i18n.t(title_key))/>
        <section class="auth-page mail-sent">
            <h1>{move || i18n.t(title_key)}</h1>
            <p>{move || i18n.t(body_key)}</p>
        </section>
    }
}

#[component]
pub fn SignupSentPage() -> impl IntoView {
    view! { <MailSentPage title_key="signup.sent_title" body_key="signup.sent_body"/> }
}

#[component]
pub fn ForgotSentPage() -> impl IntoView {
    view! { <MailSentPage title_key="forgot.sent_title" body_key="forgot.sent_body"/> }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let (action, error) = form_action::<Login>();
    let auth = use_auth();
    Effect::new(move |_| {
        if action.version().get() > 0 {
            auth.version.update(|v| *v += 1);
        }
    });
    let next = move || super::safe_next(query.read().get_str("next"));
    view! {
        <PageSection title="login.title" class="auth-page">
            {move || query.read().get("verified").map(|_| view! { <p class="notice notice-success login-verified">{move || i18n.t("login.verified")}</p> })}
            <ActionForm action attr:class="stack-form">
                <FormError error fields=&["email", "password"]/>
                <input type="hidden" name="next" value=next/>
                <Labelled label="form.email"><input type="email" name="email" autocomplete="username" required/></Labelled>
                <FieldError error field="email"/>
                <Labelled label="form.password"><input type="password" name="password" autocomplete="current-password" required/></Labelled>
                <FieldError error field="password"/>
                <SubmitButton label="login.submit" pending=action.pending()/>
            </ActionForm>
            <p class="aside">
                <a href="/forgot-password">{move || i18n.t("login.forgot")}</a>
                " · "
                <a href="/signup">{move || i18n.t("nav.signup")}</a>
            </p>
        </PageSection>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let (action, error) = form_action::<ForgotPassword>();
    view! {
        <PageSection title="forgot.title" class="auth-page">
            <p>{move || i18n.t("forgot.intro")}</p>
            <ActionForm action attr:class="stack-form">
                <FormError error fields=&["email"]/>
                <Labelled label="form.email"><input type="email" name="email" autocomplete="email" required/></Labelled>
                <FieldError error field="email"/>
                <SubmitButton label="forgot.submit" pending=action.pending()/>
            </ActionForm>
        </PageSection>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let (action, error) = form_action::<ResetPassword>();
    let token = crate::ui::query_token();
    view! {
        <PageSection title="reset.title" class="auth-page">
            <ActionForm action attr:class="stack-form">
                <FormError error fields=&["password"]/>
                <input type="hidden" name="token" value=token/>
                <label>
                    {move || i18n.t("reset.new_password")}
                    <input type="password" name="password" autocomplete="new-password" minlength="10" required/>
                    <small class="hint">{move || i18n.t("signup.password_hint")}</small>
                </label>
                <FieldError error field="password"/>
                <SubmitButton label="reset.submit" pending=action.pending()/>
            </ActionForm>
        </PageSection>
    }
}

/// The link in a verification mail lands here; the address is confirmed by a button (a POST), so
/// that mail scanners that open links do not use the token up.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let i18n = use_i18n();
    let (action, error) = form_action::<VerifyEmail>();
    let token = crate::ui::query_token();
    view! {
        <PageSection title="verify.title" class="auth-page">
            <p>{move || i18n.t("verify.intro")}</p>
            <ActionForm action attr:class="stack-form">
                <TokenSubmit error token label="verify.submit" pending=action.pending()/>
            </ActionForm>
        </PageSection>
    }
}

/// `/account`: the profile, e-mail, sessions, then `privacy` (the personal-data section, which
/// the privacy domain renders: `lazy_pages` puts the two together).
#[component]
pub fn AccountPage(privacy: ViewFn) -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let profile = Resource::new(|| (), |_| super::my_profile());
    view! {
        <PageSection title="account.title" class="account-page">
            {move || query.read().get("verified").map(|_| view! { <p class="notice notice-success">{move || i18n.t("account.verified")}</p> })}
            {move || query.read().get("reset").map(|_| view! { <p class="notice notice-success">{move || i18n.t("account.password_changed")}</p> })}
            {loaded(profile, move |p| view! {
                <VerificationBanner verified=p.verified/>
                <ProfileForm profile=p.clone()/>
                <EmailForm current=p.email/>
                <SessionsList/>
                {privacy.run()}
            })}
        </PageSection>
    }
}

#[component]
fn VerificationBanner(verified: bool) -> impl IntoView {
    let i18n = use_i18n();
    let resend = ServerAction::<ResendVerification>::new();
    (!verified).then(|| {
        view! {
            <div class="notice notice-warning verify-banner">
                <p>{move || i18n.t("account.unverified")}</p>
                <ActionForm action=resend attr:class="inline-form">
                    <button type="submit" class="button-secondary">{move || i18n.t("account.resend")}</button>
                </ActionForm>
                {move || resend.value().get().map(|r| match r {
                    Ok(()) => view! { <p class="notice notice-success">{move || i18n.t("account.resent")}</p> }.into_any(),
                    Err(e) => view! { <p class="field-error">{e.message(i18n.locale.get())}</p> }.into_any(),
                })}
            </div>
        }
    })
}

#[component]
fn ProfileForm(profile: Profile) -> impl IntoView {
    let i18n = use_i18n();
    let (action, error) = form_action::<UpdateProfile>();
    let saved = move || matches!(action.value().get(), Some(Ok(())));
    let Profile {
        first_name,
        last_name,
        phone,
        locale,
        company,
        ..
    } = profile;
    view! {
        <section class="card">
            <h2>{move || i18n.t("account.profile")}</h2>
            <ActionForm action attr:class="stack-form" attr:id="profile-form">
                <FormError error fields=&["phone", "locale", "company"]/>
                <div class="row">
                    <Labelled label="form.first_name"><input type="text" name="first_name" value=first_name autocomplete="given-name"/></Labelled>
                    <Labelled label="form.last_name"><input type="text" name="last_name" value=last_name autocomplete="family-name"/></Labelled>
                </div>
                <label>
                    {move || i18n.t("form.phone")}
                    <input type="tel" name="phone" value=phone autocomplete="tel"/>
                    <small class="hint">{move || i18n.t("account.phone_hint")}</small>
                </label>
                <FieldError error field="phone"/>
                <label>
                    {move || i18n.t("form.company")}
                    <input type="text" name="company" value=company autocomplete="organization" maxlength="120"/>
                    <small class="hint">{move || i18n.t("account.company_hint")}</small>
                </label>
                <FieldError error field="company"/>
                <label>
                    {move || i18n.t("form.language")}
                    <select name="locale">
                        {LOCALES.into_iter().map(|l| view! {
                            <option value=l.code() selected=l == locale>{crate::i18n::tr(l, "lang.self")}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button-primary">{move || i18n.t("form.save")}</button>
                {move || saved().then(|| view! { <p class="notice notice-success" role="status">{move || i18n.t("form.saved")}</p> })}
            </ActionForm>
        </section>
    }
}

#[component]
fn EmailForm(current: String) -> impl IntoView {
    let i18n = use_i18n();
    let (action, error) = form_action::<ChangeEmail>();
    let sent = move || matches!(action.value().get(), Some(Ok(())));
    view! {
        <section class="card">
            <h2>{move || i18n.t("account.email")}</h2>
            <p>{move || i18n.t("account.current_email")}" "<strong class="current-email">{current.clone()}</strong></p>
            <ActionForm action attr:class="stack-form">
                <FormError error fields=&["new_email", "password"]/>
                <Labelled label="account.new_email"><input type="email" name="new_email" required/></Labelled>
                <FieldError error field="new_email"/>
                <Labelled label="form.password"><input type="password" name="password" autocomplete="current-password" required/></Labelled>
                <FieldError error field="password"/>
                <button type="submit" class="button-secondary">{move || i18n.t("account.change_email")}</button>
                {move || sent().then(|| view! { <p class="notice notice-success" role="status">{move || i18n.t("account.email_sent")}</p> })}
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsList() -> impl IntoView {
    let i18n = use_i18n();
    let revoke = ServerAction::<RevokeSession>::new();
    let everywhere = ServerAction::<LogoutEverywhere>::new();
    let sessions = Resource::new(move || revoke.version().get(), |_| super::my_sessions());
    view! {
        <section class="card sessions">
            <h2>{move || i18n.t("account.sessions")}</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    sessions.await.map(|list| view! {
                        <ul class="session-list">
                            {list.into_iter().map(|s| view! { <SessionItem session=s revoke/> }).collect_view()}
                        </ul>
                    })
                })}
            </Transition>
            <ActionForm action=everywhere attr:class="inline-form">
                <button type="submit" class="button-danger">{move || i18n.t("account.logout_everywhere")}</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionItem(session: SessionInfo, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let i18n = use_i18n();
    let device = describe_device(session.user_agent.as_deref());
    let last_seen = session
        .last_seen_at
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    view! {
        <li class="session" class:session-current=session.current>
            <span class="session-device">{device}</span>
            <span class="session-seen">{move || i18n.t_with("account.last_seen", &[("when", &last_seen)])}</span>
            {if session.current {
                view! { <span class="badge">{move || i18n.t("account.this_device")}</span> }.into_any()
            } else {
                view! {
                    <ActionForm action=revoke attr:class="inline-form">
                        <input type="hidden" name="id" value=session.id.to_string()/>
                        <button type="submit" class="link-button">{move || i18n.t("account.revoke")}</button>
                    </ActionForm>
                }
                    .into_any()
            }}
        </li>
    }
}

/// "Chrome on Linux" from a user agent: enough to recognise one's devices.
pub fn describe_device(ua: Option<&str>) -> String {
    let Some(ua) = ua else { return "?".into() };
    let browser = ["Firefox", "Edg", "OPR", "Chrome", "Safari"]
        .into_iter()
        .find(|b| ua.contains(b))
        .map(|b| match b {
            "Edg" => "Edge",
            "OPR" => "Opera",
            other => other,
        });
    let os = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .into_iter()
        .find(|o| ua.contains(o))
        .map(|o| match o {
            "Mac OS" => "macOS",
            other => other,
        });
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} · {o}"),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => o.to_string(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// The terms and privacy policy, from the translation files.
#[component]
pub fn LegalPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = leptos_router::hooks::use_params_map();
    let doc = move || match params.read().get("doc").as_deref() {
        Some("privacy") => "privacy",
        _ => "terms",
    };
    view! {
        <Title text=page_title(move || i18n.t(&format!("legal.{}.title", doc())))/>
        <article class="legal">
            <h1>{move || i18n.t(&format!("legal.{}.title", doc()))}</h1>
            {move || i18n.t(&format!("legal.{}.body", doc())).split("\n\n").map(|p| view! { <p>{p.to_string()}</p> }).collect_view()}
        </article>
    }
}
