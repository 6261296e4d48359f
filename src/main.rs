//! The server binary: `tessera` (serve), `tessera seed-demo`, `tessera create-admin EMAIL`,
//! `tessera backup FILE`, `tessera restore FILE [--force]`, `tessera qr-video TOKEN FILE.y4m` (a
//! test tool).
use tessera::{
    accounts::{service as accounts, Role},
    error::AppError,
    server::{self, config::Config, demo},
};

const USAGE: &str = "usage: tessera [serve | seed-demo | create-admin EMAIL | backup FILE | restore FILE [--force] | qr-video TOKEN FILE.y4m]";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A test tool that needs no configuration: a camera video of a ticket's QR code (the door e2e
    // test feeds it to Chromium's fake camera).
    if args.first().map(String::as_str) == Some("qr-video") {
        let (Some(token), Some(file)) = (args.get(1), args.get(2)) else {
            eprintln!("{USAGE}");
            std::process::exit(2);
        };
        let video = tessera::ticketing::qr::y4m_video(token, 20);
        if let Err(e) = std::fs::write(file, video) {
            eprintln!("error: cannot write {file}: {e}");
            std::process::exit(1);
        }
        return;
    }
    // Backups need the database's address only (not the site's secrets).
    if let Some(command @ ("backup" | "restore")) = args.first().map(String::as_str) {
        std::process::exit(backup_command(command, &args[1..]).await);
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    server::init_tracing(config.log_json);
    if let Err(e) = run(config, &args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(config: Config, args: &[String]) -> Result<(), String> {
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if !matches!(command, "serve" | "seed-demo" | "create-admin") {
        return Err(USAGE.into());
    }
    let seed_on_start = config.seed_demo;
    let state = server::prepare(config).await?;
    if command == "serve" {
        return serve(state, seed_on_start).await;
    }
    let done = one_shot(&state, command, args).await;
    // The workers prepare() started (mail, sweeps) stop cleanly: a mail this process claimed from
    // the outbox is sent or handed back, not left leased until its lease runs out.
    state.shutdown.begin();
    state
        .shutdown
        .stop_workers(std::time::Duration::from_secs(
            state.config.shutdown_grace_seconds,
        ))
        .await;
    state.db.close().await;
    done
}

/// `tessera seed-demo` and `tessera create-admin EMAIL`.
async fn one_shot(state: &server::AppState, command: &str, args: &[String]) -> Result<(), String> {
    let (db, config) = (&state.db, &state.config);
    let err = |e: AppError| e.to_string();
    match command {
        "seed-demo" => {
            if demo::is_empty(db).await.map_err(err)? {
                demo::seed(db, config).await.map_err(err)?;
                println!(
                    "Loaded the demo conference ({} talks, 5 passes, speakers' code {}).",
                    demo::talk_count(),
                    demo::SPEAKER_CODE
                );
            } else {
                println!("The database already has talks: demo conference not loaded again.");
            }
            print!("{}", demo::accounts_banner(config));
            Ok(())
        }
        "create-admin" => {
            let email = args.get(1).ok_or(USAGE)?;
            if accounts::set_role_by_email(db, email, Role::Admin)
                .await
                .map_err(err)?
            {
                println!("{email} is now an admin (password unchanged).");
            } else {
                let password = random_password();
                accounts::create_user(
                    db,
                    accounts::NewUser {
                        email,
                        password: &password,
                        role: Role::Admin,
                        first_name: None,
                        last_name: None,
                        verified: true,
                    },
                )
                .await
                .map_err(|e| match e {
                    AppError::Invalid { key, .. } => {
                        format!("{email}: {}", tessera::i18n::tr(Default::default(), &key))
                    }
                    e => e.to_string(),
                })?;
                println!("Created admin {email} with password: {password}");
            }
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

/// `tessera` / `tessera serve`: loads the demo when asked and the database is empty, then serves
/// until SIGTERM or Ctrl-C.
async fn serve(state: server::AppState, seed_on_start: bool) -> Result<(), String> {
    let (db, config) = (state.db.clone(), state.config.clone());
    let err = |e: AppError| e.to_string();
    if seed_on_start && demo::is_empty(&db).await.map_err(err)? {
        demo::seed(&db, &config).await.map_err(err)?;
        tracing::info!(talks = demo::talk_count(), "loaded the demo conference");
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on ADDR={}: {e}", config.addr))?;
    println!(
        "\nTessera is running at {}  (database: {})",
        config.base_url,
        db.engine()
    );
    if config.is_dev() && !demo::is_empty(&db).await.map_err(err)? {
        print!("{}", demo::accounts_banner(&config));
    }
    server::serve(state, listener)
        .await
        .map_err(|e| e.to_string())
}

/// `tessera backup FILE` / `tessera restore FILE [--force]`: the exit code (2: use the PostgreSQL
/// tools, or a usage error).
async fn backup_command(command: &str, rest: &[String]) -> i32 {
    use tessera::server::backup;
    let _ = dotenvy::dotenv();
    let force = rest.iter().any(|a| a == "--force");
    let files: Vec<&String> = rest
        .iter()
        .filter(|a| *a != "--force" && !a.trim().is_empty())
        .collect();
    let ([file], Ok(url)) = (files.as_slice(), std::env::var("DATABASE_URL")) else {
        eprintln!("{USAGE}\n(DATABASE_URL names the database, as for the server)");
        return 2;
    };
    let path = std::path::Path::new(file.as_str());
    let postgres = url.starts_with("postgres");
    let done = match command {
        "backup" => backup::backup(&url, path).await,
        _ => backup::restore(&url, path, force).await,
    };
    match done {
        Ok(summary) if command == "backup" => {
            println!("Backed up to {file}: {summary}");
            0
        }
        Ok(summary) => {
            println!("Restored {file} into {}: {summary}", summary.at.display());
            0
        }
        Err(message) => {
            eprintln!("{message}");
            if postgres {
                2
            } else {
                1
            }
        }
    }
}

fn random_password() -> String {
    use rand::Rng;
    let alphabet = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}
