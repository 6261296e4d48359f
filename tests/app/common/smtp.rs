//! A small SMTP sink for tests: speaks enough SMTP for lettre (EHLO, MAIL, RCPT, DATA, QUIT) and
//! keeps every message it receives. It can be stopped and started again on the same port.
use std::sync::{Arc, Mutex};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    task::JoinHandle,
};

#[derive(Clone, Debug)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

pub struct SmtpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// Starts on a free port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut sink = SmtpSink {
            port,
            received: Default::default(),
            task: None,
        };
        sink.task = Some(tokio::spawn(serve(
            listener,
            sink.received.clone(),
            std::time::Duration::ZERO,
        )));
        sink
    }

    /// A port nothing listens on yet (for "the SMTP server is down").
    pub async fn reserve_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    }

    /// Starts on a given port (after `reserve_port`).
    pub async fn start_on(port: u16) -> SmtpSink {
        SmtpSink::start_slow(port, std::time::Duration::ZERO).await
    }

    /// Starts on a given port, taking `delay` to accept each message (a slow SMTP server).
    pub async fn start_slow(port: u16, delay: std::time::Duration) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let mut sink = SmtpSink {
            port,
            received: Default::default(),
            task: None,
        };
        sink.task = Some(tokio::spawn(serve(listener, sink.received.clone(), delay)));
        sink
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until a message has arrived for `to` (or panics after `secs`).
    pub async fn wait_for(&self, to: &str, secs: u64) -> Received {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            {
                return m;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no mail for {to} reached the SMTP sink within {secs}s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn serve(
    listener: TcpListener,
    received: Arc<Mutex<Vec<Received>>>,
    delay: std::time::Duration,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let received = received.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut lines = BufReader::new(r).lines();
            let _ = w.write_all(b"220 sink.test ESMTP ready\r\n").await;
            let mut to = vec![];
            while let Ok(Some(line)) = lines.next_line().await {
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") {
                    b"250-sink.test\r\n250 8BITMIME\r\n"
                } else if upper.starts_with("HELO")
                    || upper.starts_with("MAIL FROM")
                    || upper.starts_with("RSET")
                    || upper.starts_with("NOOP")
                {
                    b"250 OK\r\n"
                } else if upper.starts_with("RCPT TO") {
                    to.push(
                        line[8..]
                            .trim()
                            .trim_start_matches(':')
                            .trim()
                            .trim_matches(|c| c == '<' || c == '>')
                            .to_string(),
                    );
                    b"250 OK\r\n"
                } else if upper.starts_with("DATA") {
                    let _ = w.write_all(b"354 go ahead\r\n").await;
                    let mut data = String::new();
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l == "." {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        data.push('\n');
                    }
                    tokio::time::sleep(delay).await;
                    received.lock().unwrap().push(Received {
                        to: std::mem::take(&mut to),
                        data,
                    });
                    b"250 OK queued\r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = w.write_all(b"221 bye\r\n").await;
                    return;
                } else {
                    b"502 not implemented\r\n"
                };
                if w.write_all(reply).await.is_err() {
                    return;
                }
            }
        });
    }
}
