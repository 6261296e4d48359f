//! The demo conference: two days in Lyon, 34 talks over four rooms, five passes (one hidden, for the
//! speakers, with their code) and three accounts.
//! Loaded on an empty database by the run command (`SEED_DEMO`), or on demand by `tessera seed-demo`.
use crate::{
    accounts::{service as accounts, Role},
    db_run,
    error::AppError,
    programme::service::{insert_talk, NewTalk},
    server::{config::Config, db::Db, state::now},
};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

pub const DAY1: (i32, u32, u32) = (2027, 6, 10);
/// The speakers' code of the demo: unlocks their hidden pass, free (`/tickets?voucher=ORATEUR-2027`).
pub const SPEAKER_CODE: &str = "ORATEUR-2027";
pub const DAY2: (i32, u32, u32) = (2027, 6, 11);

/// (day 1|2, start "HH:MM", minutes, room, theme, title, speaker, description)
type DemoTalk = (
    u8,
    &'static str,
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const TALKS: &[DemoTalk] = &[
    (1, "09:00", 45, "Amphithéâtre", "Société", "Ouverture : quelle ville voulons-nous en 2040 ?", "Claire Morel", "Une plénière d'ouverture pour poser les questions des deux jours : logement, mobilités, climat et démocratie locale.\n\nAvec les résultats de la consultation citoyenne menée cet hiver dans six quartiers."),
    (1, "10:00", 45, "Amphithéâtre", "Écologie", "Sobriété énergétique : ce que les collectivités ont appris", "Hugo Bernard", "Retour d'expérience de trois métropoles qui ont réduit de 15 % leur consommation en deux hivers, sans fermer de services publics."),
    (1, "10:00", 45, "Salle Lumière", "Tech", "Rust en production : trois ans après la réécriture", "Inès Lambert", "Pourquoi une équipe de huit personnes a réécrit son service de paiement en Rust, ce qui a marché, ce qui a coûté cher."),
    (1, "10:00", 45, "Salle Curie", "Société", "Les tiers-lieux, nouveaux services publics ?", "Mamadou Diallo", "Cafés associatifs, fablabs, maisons France Services : enquête sur les lieux où se réinvente l'accueil du public."),
    (1, "10:00", 90, "Atelier", "Tech", "Atelier : accessibilité web, on corrige ensemble", "Sophie Garnier", "Apportez votre site : on passe au lecteur d'écran, au clavier et au contraste, et on corrige en direct.\n\nOrdinateur portable conseillé."),
    (1, "11:00", 45, "Amphithéâtre", "Économie", "Financer la transition : le rôle des banques régionales", "Paul Lefèvre", "Prêts verts, obligations municipales, épargne citoyenne : qui paie la rénovation thermique de 600 000 logements ?"),
    (1, "11:00", 45, "Salle Lumière", "Tech", "WebAssembly côté client : mythes et mesures", "Julien Roux", "Taille des bundles, temps d'hydratation, mémoire : des chiffres mesurés sur des applications réelles plutôt que des promesses."),
    (1, "11:00", 45, "Salle Curie", "Culture", "Le patrimoine industriel, matière à projets", "Élodie Fontaine", "Friches textiles, usines de soie, halles ferroviaires : comment les reconvertir sans effacer leur histoire."),
    (1, "12:00", 30, "Amphithéâtre", "Société", "Table ronde : jeunes et engagement local", "Collectif Jeunes Lyon", "Cinq bénévoles de moins de 25 ans racontent pourquoi ils s'engagent, et ce qui les en décourage."),
    (1, "12:00", 30, "Salle Lumière", "Écologie", "Mesurer l'empreinte carbone d'un site web", "Nora Benali", "Méthodes, outils open source et limites des calculateurs d'empreinte numérique."),
    (1, "14:00", 45, "Amphithéâtre", "Écologie", "Biodiversité urbaine : les toits qui changent tout", "Antoine Mercier", "Dix ans de suivi de toitures végétalisées : oiseaux, insectes, températures et coûts d'entretien."),
    (1, "14:00", 45, "Salle Lumière", "Tech", "Bases de données embarquées : SQLite jusqu'où ?", "Camille Durand", "WAL, verrous et transactions immédiates : jusqu'à quel trafic une base embarquée tient-elle, et quand passer à PostgreSQL."),
    (1, "14:00", 45, "Salle Curie", "Économie", "L'économie sociale et solidaire face à l'inflation", "Rachid Haddad", "Coopératives, associations employeuses et mutuelles : comment tenir les prix sans sacrifier les salaires."),
    (1, "14:00", 90, "Atelier", "Culture", "Atelier d'écriture : raconter son quartier", "Lucie Perrin", "Un atelier pour écrire, à plusieurs mains, un récit de quartier qui sera lu en clôture du festival."),
    (1, "14:00", 180, "Salle Atelier Leptos", "Tech", WORKSHOP, "Yasmine Cohen", "Trois heures pour construire une application Leptos de bout en bout : rendu serveur, hydratation, fonctions serveur et base de données.\n\n12 places, sur réservation depuis cette page ou votre programme. Ordinateur portable indispensable."),
    (1, "15:00", 45, "Amphithéâtre", "Société", "Santé mentale au travail : ce que disent les données", "Dr Anne Chevalier", "Arrêts maladie, télétravail, charge mentale : lecture critique des grandes enquêtes nationales."),
    (1, "15:00", 45, "Salle Lumière", "Tech", "Vie privée par conception : le RGPD dans le code", "Thomas Girard", "Minimisation, pseudonymisation, droit à l'effacement : comment traduire le RGPD en schéma de base de données et en tests."),
    (1, "15:30", 45, "Salle Curie", "Écologie", "Eau : partager une ressource qui se raréfie", "Margaux Blanc", "Agriculture, industrie, habitants : retour sur les arbitrages de l'été 2026 dans la vallée du Rhône."),
    (1, "16:00", 45, "Amphithéâtre", "Économie", "Le commerce de centre-ville peut-il revivre ?", "Karim Saïdi", "Loyers, foncières publiques, vélos-cargos : les leviers qui ont fonctionné à Roubaix, Albi et Besançon."),
    (1, "16:00", 45, "Salle Lumière", "Tech", "Paiements en ligne : idempotence et webhooks", "Léa Marchand", "Comment ne jamais encaisser deux fois ni perdre une commande payée : clés d'idempotence, signatures et rejouabilité."),
    (1, "17:00", 60, "Amphithéâtre", "Culture", "Concert-conférence : la musique des villes", "Ensemble Traboules", "Une heure de musique et d'histoire sur les sons qui ont façonné Lyon, des canuts à l'électro."),
    (2, "09:00", 45, "Amphithéâtre", "Écologie", "Mobilités : le vélo après la crise de l'énergie", "Baptiste Robin", "Pistes cyclables, vélos à assistance, logistique urbaine : bilan chiffré de cinq années de politique cyclable."),
    (2, "09:00", 45, "Salle Lumière", "Tech", "Leptos et le rendu serveur hydraté", "Yasmine Cohen", "Rendu côté serveur, hydratation et fonctions serveur : une application complète en un seul langage, démonstration à l'appui."),
    (2, "10:00", 45, "Amphithéâtre", "Société", "Démocratie participative : budgets citoyens, bilan", "Olivier Fabre", "Ce que cinq ans de budgets participatifs ont réellement financé, et qui a voté."),
    (2, "10:00", 45, "Salle Lumière", "Tech", "Sécurité des applications web : l'essentiel en 2027", "Manon Lemoine", "CSP, cookies SameSite, CSRF, limitation de débit : la liste courte des protections qui évitent 90 % des incidents."),
    (2, "10:00", 45, "Salle Curie", "Écologie", "Alimentation locale : les cantines montrent la voie", "Gérard Noël", "Comment une ville de 40 000 habitants sert 70 % de produits locaux dans ses cantines, au même prix."),
    (2, "10:00", 90, "Atelier", "Économie", "Atelier : monter une coopérative d'habitants", "Association Habicoop", "Statuts, financement, gouvernance : un atelier pratique pour les porteurs de projets d'habitat participatif."),
    (2, "11:00", 45, "Amphithéâtre", "Culture", "Bibliothèques : troisièmes lieux du XXIe siècle", "Hélène Dupuis", "Horaires élargis, prêts d'outils, ateliers numériques : la bibliothèque comme maison commune."),
    (2, "11:00", 45, "Salle Lumière", "Tech", "Observabilité sans se ruiner", "Maxime Faure", "Logs structurés, métriques et traces : un socle d'observabilité pour une petite équipe, sans abonnement hors de prix."),
    (2, "11:30", 45, "Salle Curie", "Société", "Vieillir chez soi : domotique et lien social", "Brigitte Arnaud", "Capteurs, visites, voisinage : ce qui permet vraiment de rester chez soi après 85 ans."),
    (2, "14:00", 45, "Amphithéâtre", "Écologie", "Adapter la ville aux canicules", "Samuel Giraud", "Îlots de fraîcheur, arbres, cours d'école : le plan chaleur d'une métropole passé au crible."),
    (2, "14:00", 45, "Salle Lumière", "Tech", "Concurrence sans surréservation : quotas et verrous", "Chloé Renard", "Deux cents acheteurs pour cinquante places : mises à jour conditionnelles, verrous de ligne et tests de charge."),
    (2, "14:00", 45, "Salle Curie", "Culture", "Festivals et sobriété : le grand virage", "Étienne Morin", "Transport des publics, énergie des scènes, restauration : comment les festivals réduisent leur empreinte."),
    (2, "15:00", 45, "Amphithéâtre", "Économie", "Emploi et transition : les métiers qui viennent", "Fatima Zerrouki", "Rénovation, réparation, énergie : les besoins en compétences de la décennie et les formations qui y répondent."),
    (2, "15:00", 45, "Salle Lumière", "Tech", "Tester avec de vrais navigateurs", "Romain Caron", "Tests de bout en bout avec Chromium sans tête : fiables, rapides, et utiles aux personnes qui lisent les captures."),
    (2, "16:00", 60, "Amphithéâtre", "Société", "Clôture : récits de quartiers et engagements", "Claire Morel", "Lecture des récits écrits pendant l'atelier, et engagements des élus présents pour l'année qui vient."),
];

fn local(tz: chrono_tz::Tz, (y, m, d): (i32, u32, u32), hm: &str) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(y, m, d).expect("demo date");
    let time = NaiveTime::parse_from_str(hm, "%H:%M").expect("demo time");
    tz.from_local_datetime(&date.and_time(time))
        .single()
        .expect("unambiguous demo time")
        .with_timezone(&Utc)
}

/// The demo accounts: (role, email, first name, last name).
pub const ACCOUNTS: [(Role, &str, &str, &str); 3] = [
    (Role::Admin, "admin@tessera.localhost", "Alice", "Admin"),
    (Role::StaffScan, "staff@tessera.localhost", "Samir", "Staff"),
    (
        Role::User,
        "attendee@tessera.localhost",
        "Anne",
        "Participante",
    ),
];

/// Demo passwords: `DEMO_PASSWORD` if set, else derived from the secret key (so they never sit in
/// the repository and stay the same from one start to the next on one machine).
pub fn demo_password(config: &Config, email: &str) -> String {
    if let Ok(p) = std::env::var("DEMO_PASSWORD") {
        if !p.trim().is_empty() {
            return p;
        }
    }
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&config.secret_key).expect("any key length");
    mac.update(b"tessera demo password\0");
    mac.update(email.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let alphabet = b"abcdefghijkmnpqrstuvwxyz23456789";
    let word: String = bytes
        .iter()
        .take(12)
        .map(|b| alphabet[(*b as usize) % alphabet.len()] as char)
        .collect();
    format!("{}-{}-{}", &word[..4], &word[4..8], &word[8..])
}

pub async fn is_empty(db: &Db) -> Result<bool, AppError> {
    let (n,): (i64,) = db_run!(db, pool => sqlx::query_as("SELECT COUNT(*) FROM conferences").fetch_one(pool).await)?;
    Ok(n == 0)
}

/// Loads the demo conference, and gives the demo attendee a paid Pass Jour 1.
pub async fn seed(db: &Db, config: &Config) -> Result<(), AppError> {
    seed_conference(db, config).await?;
    seed_attendee_pass(db, config).await
}

/// Gives the demo attendee a paid Pass Jour 1 unless they hold a ticket already.
pub async fn seed_attendee_pass(db: &Db, config: &Config) -> Result<(), AppError> {
    let attendee: Option<(Uuid,)> = db_run!(db, pool => sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(ACCOUNTS[2].1).fetch_optional(pool).await)?;
    if let Some((id,)) = attendee {
        let held = db_run!(db, pool => sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM tickets WHERE user_id = $1").bind(id).fetch_one(pool).await)?;
        if held.0 == 0 {
            give_day_one_pass(db, config, id).await?;
        }
    }
    Ok(())
}

/// The demo's workshop: 12 seats, booked by attendees; its own check-in list lets in only them.
pub const WORKSHOP: &str = "Atelier Leptos : une application de bout en bout";

/// The workshop's check-in list.
pub const WORKSHOP_LIST: Uuid = Uuid::from_u128(0xe1);

/// Talks, passes and accounts (no orders). Accounts that already exist are left as they are.
pub async fn seed_conference(db: &Db, config: &Config) -> Result<(), AppError> {
    let tz = config.timezone;
    for &(day, start, minutes, room, theme, title, speaker, description) in TALKS {
        let start_at = local(tz, if day == 1 { DAY1 } else { DAY2 }, start);
        insert_talk(
            db,
            &NewTalk {
                title,
                description,
                theme,
                start_at,
                end_at: start_at + chrono::Duration::minutes(minutes),
                speaker_name: Some(speaker),
                location: Some(room),
            },
        )
        .await?;
    }
    crate::db_write!(db, pool => sqlx::query(
        "INSERT INTO workshops (talk_id, capacity) SELECT id, 12 FROM conferences WHERE title = $1 ON CONFLICT (talk_id) DO NOTHING")
        .bind(WORKSHOP).execute(pool).await.map(|_| ()))?;
    crate::db_write!(db, pool => sqlx::query(
        "INSERT INTO checkin_lists (id, name, rule, all_passes, talk_id, created_at) \
         SELECT $1, 'Atelier Leptos', 'ONCE', $2, w.talk_id, $3 FROM workshops w JOIN conferences c ON c.id = w.talk_id WHERE c.title = $4 \
         ON CONFLICT (id) DO NOTHING")
        .bind(WORKSHOP_LIST).bind(true).bind(now()).bind(WORKSHOP).execute(pool).await.map(|_| ()))?;
    let passes = [
        (
            "Pass 2 jours",
            "Accès aux deux journées, ateliers compris.",
            12_000_i64,
            300_i64,
            (DAY1, "00:00"),
            (DAY2, "23:59"),
        ),
        (
            "Pass Jour 1",
            "Accès à la journée du jeudi 10 juin.",
            7_000,
            150,
            (DAY1, "00:00"),
            (DAY1, "23:59"),
        ),
        (
            "Pass Jour 2",
            "Accès à la journée du vendredi 11 juin.",
            7_000,
            150,
            (DAY2, "00:00"),
            (DAY2, "23:59"),
        ),
        (
            "Atelier Leptos",
            "Jeudi 10 juin, 14 h – 17 h : construire une application Leptos de bout en bout. 12 places.",
            4_000,
            12,
            (DAY1, "00:00"),
            (DAY1, "23:59"),
        ),
        (
            "Pass orateur·rice",
            "Accès aux deux journées pour les intervenant·es : obtenu avec le code reçu par e-mail.",
            12_000,
            40,
            (DAY1, "00:00"),
            (DAY2, "23:59"),
        ),
    ];
    let now = now();
    // Sales end at noon on day 2, or a day from now when the demo is loaded later than that (the
    // demo must still load, and its attendee still get a pass, after the event's dates).
    let sales_end = local(tz, DAY2, "12:00").max(now + chrono::Duration::days(1));
    for (name, description, price, capacity, (from_day, from), (until_day, until)) in passes {
        crate::db_write!(db, pool => sqlx::query(
            "INSERT INTO ticket_types (id, name, description, price_cents, currency, capacity, is_active, sales_start_at, sales_end_at, valid_from, valid_until, created_at, updated_at, door_no) \
             VALUES ($1, $2, $3, $4, 'eur', $5, $6, $7, $8, $9, $10, $11, $11, (SELECT COALESCE(MAX(door_no), 0) + 1 FROM ticket_types))")
            .bind(Uuid::new_v4()).bind(name).bind(description).bind(price).bind(capacity).bind(true)
            .bind(now).bind(sales_end)
            .bind(local(tz, from_day, from)).bind(local(tz, until_day, until)).bind(now)
            .execute(pool).await.map(|_| ()))?;
    }
    // The speakers' pass is sold only through their code, which makes it free.
    crate::db_write!(db, pool => sqlx::query("UPDATE ticket_types SET is_hidden = $1 WHERE name = 'Pass orateur·rice'")
        .bind(true).execute(pool).await.map(|_| ()))?;
    let (speaker_pass,): (Uuid,) = db_run!(db, pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = 'Pass orateur·rice'").fetch_one(pool).await)?;
    let mut tx = db.begin().await?;
    let id = Uuid::new_v4();
    if crate::vouchers::service::insert(
        &mut tx,
        id,
        SPEAKER_CODE,
        "orateurs",
        Some(speaker_pass),
        crate::vouchers::VoucherEffect::Price,
        0,
        40,
        None,
        false,
        None,
    )
    .await?
    {
        crate::tx_run!(&mut tx, c => sqlx::query("UPDATE vouchers SET unlocks_hidden = $1 WHERE id = $2").bind(true).bind(id).execute(c).await.map(|_| ()))?;
    }
    tx.commit().await?;
    for (role, email, first, last) in ACCOUNTS {
        let password = demo_password(config, email);
        match accounts::create_user(
            db,
            accounts::NewUser {
                email,
                password: &password,
                role,
                first_name: Some(first),
                last_name: Some(last),
                verified: true,
            },
        )
        .await
        {
            Ok(_) | Err(AppError::Invalid { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The lines printed at start so a newcomer can log in.
pub fn accounts_banner(config: &Config) -> String {
    let mut s = String::from("Demo accounts (email / password):\n");
    for (role, email, _, _) in ACCOUNTS {
        s.push_str(&format!(
            "  {:<11} {:<28} {}\n",
            role.as_str(),
            email,
            demo_password(config, email)
        ));
    }
    s.push_str(&format!(
        "Speakers' code (hidden pass, free): {}/tickets?voucher={SPEAKER_CODE}\n",
        config.base_url
    ));
    if config.is_dev() && config.smtp_url.is_none() {
        s.push_str(&format!(
            "Mails sent: {}/dev/mailbox (log in as the ADMIN account)\n",
            config.base_url
        ));
    }
    s
}

pub fn talk_count() -> usize {
    TALKS.len()
}

/// The demo attendee holds a paid Pass Jour 1, bought through the ordinary order functions.
async fn give_day_one_pass(db: &Db, config: &Config, user_id: Uuid) -> Result<(), AppError> {
    let (pass,): (Uuid,) = db_run!(db, pool => sqlx::query_as("SELECT id FROM ticket_types WHERE name = 'Pass Jour 1'").fetch_one(pool).await)?;
    let line = crate::ticketing::CartLine {
        ticket_type_id: pass,
        quantity: "1".into(),
    };
    let order =
        crate::ticketing::service::create_pending_order(db, config, user_id, &[line]).await?;
    let mut tx = db.begin().await?;
    crate::ticketing::service::mark_paid(&mut tx, config, order).await?;
    tx.commit().await?;
    Ok(())
}
