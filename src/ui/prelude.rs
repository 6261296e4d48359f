//! What a page file uses: `use crate::ui::prelude::*;` (Leptos, the page title, translations, the
//! shared widgets) instead of the same import block in each of them.
pub use super::{
    action_error, form_action, loaded, ActionErrorNotice, ErrorNotice, Field, FieldError,
    FormError, Labelled, Loading, PageSection, ScrollTable, SubmitButton, Table, TokenSubmit,
};
pub use crate::{
    error::AppError,
    i18n::{page_title, use_i18n},
};
pub use leptos::prelude::*;
pub use leptos_meta::Title;
